#include "sim/sim_config.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "http/auth.h"

namespace llorch::sim {
namespace {

constexpr std::string_view description =
    "llorch-sim: an engine simulator that speaks llama.cpp llama-server's HTTP API (GET /health, "
    "/slots, /props, /v1/models, /metrics; POST /completion, /v1/chat/completions, "
    "/v1/completions; SSE streaming) and Ollama's (GET /api/tags, /api/version; POST "
    "/api/generate, /api/chat; NDJSON streaming) with configurable latency, slots and faults. One "
    "process "
    "hosts many simulated engines, one per port, all on one thread. Prints one line "
    "'listening HOST:PORT' per engine on stdout.";

constexpr std::string_view footer =
    "Latency specs: 20ms | fixed:20ms | uniform:10ms..30ms | exp:20ms (units us, ms, s; a bare "
    "number is ms; exponential draws are capped at 20x the mean).\n"
    "Token text: alternatives separated by '|' are cycled through; {i} becomes the token's index, "
    "e.g. --token-text ' the| quick| fox' or ' w{i}'.\n"
    "Examples:\n"
    "  llorch-sim --port 9000 --slots 8 --itl uniform:5ms..15ms\n"
    "  llorch-sim --count 100 --base-port 0 --ttft exp:50ms --error-rate 0.01";

sim_result<std::vector<uint16_t>> port_range(std::string_view spec) {
    auto dash = spec.find('-');
    if (dash == std::string_view::npos)
        return sim_error{sim_errc::bad_port_range,
                         fmt::format("--ports '{}': expected FIRST-LAST, e.g. 9000-9099", spec)};
    unsigned lo = 0, hi = 0;
    auto a = std::from_chars(spec.data(), spec.data() + dash, lo);
    auto b = std::from_chars(spec.data() + dash + 1, spec.data() + spec.size(), hi);
    if (a.ec != std::errc() || a.ptr != spec.data() + dash || b.ec != std::errc() ||
        b.ptr != spec.data() + spec.size()) {
        return sim_error{sim_errc::bad_port_range,
                         fmt::format("--ports '{}': expected FIRST-LAST, e.g. 9000-9099", spec)};
    }
    if (lo == 0 || hi > 65535 || lo > hi) {
        return sim_error{sim_errc::bad_port_range,
                         fmt::format("--ports '{}': needs 1 <= FIRST <= LAST <= 65535", spec)};
    }
    std::vector<uint16_t> out;
    for (unsigned p = lo; p <= hi; ++p) out.push_back(static_cast<uint16_t>(p));
    return out;
}

}  // namespace

sim_args parse_sim_args(const std::vector<std::string>& args) {
    sim_args out;
    sim_config& c = out.config;
    CLI::App app{std::string(description), "llorch-sim"};
    app.footer(std::string(footer));
    app.set_help_flag("-h,--help", "Print this help and exit");

    int port = -1;
    std::string ports;
    int count = 0;
    int base_port = -1;
    std::string ttft = c.ttft.describe(), itl = c.itl.describe(), slow_start = "0ms";
    std::string api_key, model, alias;

    app.add_option("--host", c.host, "Address to listen on")->default_val(c.host);
    app.add_option("--port", port, "One engine on this port (0: any free port; default 8080)");
    app.add_option("--ports", ports, "One engine per port in FIRST-LAST, e.g. 9000-9099");
    app.add_option("--count", count, "Number of engines, on --base-port and up");
    app.add_option("--base-port", base_port,
                   "First port for --count (0: free ports, as many as --count)");
    app.add_option("--slots,--parallel", c.slots,
                   "Parallel generations per engine; further requests wait in a FIFO")
        ->default_val(c.slots);
    app.add_option("-c,--ctx-size", c.ctx, "Context size per slot reported by /slots and /props")
        ->default_val(c.ctx);
    app.add_option("--ttft", ttft, "Time to first token (latency spec)")->default_val(ttft);
    app.add_option("--itl", itl, "Inter-token latency (latency spec)")->default_val(itl);
    app.add_option("--tokens", c.tokens,
                   "Tokens per request when the request sets no n_predict/max_tokens")
        ->default_val(c.tokens);
    app.add_option("--token-text", c.token_text, "Text of each token (see below)")
        ->default_val(c.token_text);
    app.add_option("-a,--alias", alias,
                   "Model name reported (default: the --model file name, else llorch-sim)");
    app.add_option("-m,--model", model,
                   "Accepted for llama-server compatibility; only names the model");
    app.add_option("--models", c.models,
                   "More model names the Ollama API (/api/generate, /api/chat, /api/tags) serves "
                   "besides the alias, comma-separated")
        ->delimiter(',');
    app.add_option("--api-key", api_key,
                   "Require 'Authorization: Bearer KEY' on all but /health (comma-separated list)")
        ->envname("LLAMA_API_KEY");
    app.add_option("--error-rate", c.error_rate,
                   "Fault: fraction of generation requests answered 500 (0..1)")
        ->default_val(c.error_rate);
    app.add_option("--crash-after-tokens", c.crash_after_tokens,
                   "Fault: the process exits (status 1) once one engine has sent this many tokens "
                   "in all (0: never)")
        ->default_val(c.crash_after_tokens);
    app.add_option("--hang-after-tokens", c.hang_after_tokens,
                   "Fault: a hanging request stops after this many tokens and never ends; its slot "
                   "stays busy until the client goes away (-1: never)")
        ->default_val(c.hang_after_tokens);
    app.add_option("--hang-rate", c.hang_rate,
                   "Fault: fraction of requests that hang when --hang-after-tokens is set (0..1)")
        ->default_val(c.hang_rate);
    app.add_option("--slow-start", slow_start,
                   "Fault: every endpoint answers 503 'Loading model' for this long after start")
        ->default_val(slow_start);
    app.add_option("--seed", c.seed, "Seed of all random draws (engine i uses seed + i)")
        ->default_val(c.seed);

    try {
        std::vector<std::string> reversed(args.rbegin(), args.rend());
        app.parse(reversed);
    } catch (const CLI::CallForHelp&) {
        out.what = sim_args::action::help;
        out.text = app.help();
        return out;
    } catch (const CLI::ParseError& e) {
        out.what = sim_args::action::error;
        out.text = e.what();
        return out;
    }

    auto bad = [&](std::string msg) {
        out.what = sim_args::action::error;
        out.text = std::move(msg);
        return out;
    };

    const int placements = (port >= 0) + !ports.empty() + (count > 0 || base_port >= 0);
    if (placements > 1) return bad("use one of --port, --ports, or --count/--base-port");
    if (port >= 0) {
        if (port > 65535) return bad(fmt::format("--port {}: must be 0..65535", port));
        c.ports = {static_cast<uint16_t>(port)};
    } else if (!ports.empty()) {
        auto r = port_range(ports);
        if (!r) return bad(r.error().message);
        c.ports = std::move(*r);
    } else if (count > 0 || base_port >= 0) {
        if (count < 1 || count > 65535)
            return bad(fmt::format("--count {}: must be 1..65535", count));
        if (base_port < 0) return bad("--count needs --base-port (0 for free ports)");
        if (base_port > 0 && base_port + count - 1 > 65535) {
            return bad(
                fmt::format("--base-port {} --count {}: runs past port 65535", base_port, count));
        }
        c.ports.clear();
        for (int i = 0; i < count; ++i)
            c.ports.push_back(base_port == 0 ? 0 : static_cast<uint16_t>(base_port + i));
    }
    if (c.slots < 1 || c.slots > 65536)
        return bad(fmt::format("--slots {}: must be 1..65536", c.slots));
    if (c.ctx < 1) return bad(fmt::format("--ctx-size {}: must be positive", c.ctx));
    if (c.tokens < 0) return bad(fmt::format("--tokens {}: must be 0 or more", c.tokens));
    auto t = latency_model::parse(ttft);
    if (!t) return bad("--ttft " + t.error().message);
    c.ttft = *t;
    auto i = latency_model::parse(itl);
    if (!i) return bad("--itl " + i.error().message);
    c.itl = *i;
    auto s = parse_duration(slow_start);
    if (!s) return bad("--slow-start " + s.error().message);
    c.slow_start = std::chrono::duration_cast<std::chrono::milliseconds>(*s);
    if (!(c.error_rate >= 0 && c.error_rate <= 1))
        return bad(fmt::format("--error-rate {}: must be between 0 and 1", c.error_rate));
    if (!(c.hang_rate >= 0 && c.hang_rate <= 1))
        return bad(fmt::format("--hang-rate {}: must be between 0 and 1", c.hang_rate));
    if (c.crash_after_tokens < 0)
        return bad(fmt::format("--crash-after-tokens {}: must be 0 or more", c.crash_after_tokens));
    if (c.hang_after_tokens < -1)
        return bad(fmt::format("--hang-after-tokens {}: must be -1 or more", c.hang_after_tokens));
    if (!api_key.empty()) c.api_keys = http::token_set::parse_list(api_key);
    if (!alias.empty()) {
        c.alias = alias;
    } else if (!model.empty()) {
        c.alias = std::filesystem::path(model).filename().string();
    }
    return out;
}

}  // namespace llorch::sim
