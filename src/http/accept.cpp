#include "http/accept.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace llorch::http {
namespace {

std::string_view trim_space(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// The q of one media range's parameters ("charset=utf-8;q=0.9"); 1 without one.
double quality(std::string_view params) {
    while (!params.empty()) {
        auto semi = params.find(';');
        auto p = trim_space(params.substr(0, semi));
        if (p.size() > 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            std::string v(p.substr(2));
            char* end = nullptr;
            double q = std::strtod(v.c_str(), &end);
            return end == v.c_str() ? 1.0 : std::clamp(q, 0.0, 1.0);
        }
        if (semi == std::string_view::npos) break;
        params.remove_prefix(semi + 1);
    }
    return 1.0;
}

}  // namespace

std::vector<media_range> parse_accept(std::string_view accept) {
    std::vector<media_range> out;
    while (!accept.empty()) {
        auto comma = accept.find(',');
        auto range = trim_space(accept.substr(0, comma));
        auto semi = range.find(';');
        auto type = lower(trim_space(range.substr(0, semi)));
        if (!type.empty())
            out.push_back({std::move(type),
                           semi == std::string_view::npos ? 1.0 : quality(range.substr(semi + 1))});
        if (comma == std::string_view::npos) break;
        accept.remove_prefix(comma + 1);
    }
    return out;
}

bool names_media_type(std::string_view accept, std::string_view type) {
    auto wanted = lower(type);
    for (const auto& r : parse_accept(accept))
        if (r.type == wanted && r.q > 0) return true;
    return false;
}

}  // namespace llorch::http
