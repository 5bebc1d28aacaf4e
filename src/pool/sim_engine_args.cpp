#include "pool/sim_engine_args.h"

#include <charconv>
#include <optional>
#include <string_view>

namespace llorch::pool {

namespace {
std::optional<long long> to_number(std::string_view s) {
    long long v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}
}  // namespace

std::vector<std::string> sim_engine_argv(const std::vector<std::string>& in) {
    std::vector<std::string> out;
    std::optional<long long> slots, ctx;
    std::string ctx_raw;
    for (size_t i = 0; i < in.size(); ++i) {
        std::string_view a = in[i];
        bool has_value = i + 1 < in.size();
        if (i > 0 && has_value && (a == "-np" || a == "--parallel")) {
            slots = to_number(in[i + 1]);
            out.push_back("--slots");
            out.push_back(in[++i]);
        } else if (i > 0 && has_value && (a == "-c" || a == "--ctx-size")) {
            ctx = to_number(in[i + 1]);
            ctx_raw = in[++i];
        } else if (i > 0 && has_value &&
                   (a == "-t" || a == "--threads" || a == "-ngl" || a == "--n-gpu-layers")) {
            ++i;
        } else if (i > 0 && a == "--no-webui") {
            // llorch-sim serves no web UI.
        } else {
            out.push_back(in[i]);
        }
    }
    if (ctx) {
        long long per_slot = slots && *slots > 0 ? *ctx / *slots : *ctx;
        out.push_back("-c");
        out.push_back(std::to_string(per_slot > 0 ? per_slot : 1));
    } else if (!ctx_raw.empty()) {
        out.push_back("-c");
        out.push_back(ctx_raw);  // not a number: llorch-sim reports the error itself
    }
    return out;
}

}  // namespace llorch::pool
