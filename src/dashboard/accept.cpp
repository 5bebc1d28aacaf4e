#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>

#include "dashboard/dashboard_assets.h"

namespace llorch::dashboard {
namespace {

std::string_view trim(std::string_view s) {
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

// The q of one media range ("text/html;q=0.9"); 1 without one.
double quality(std::string_view params) {
    while (!params.empty()) {
        auto semi = params.find(';');
        auto p = trim(params.substr(0, semi));
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

bool prefers_html(std::string_view accept) {
    double html = 0, other = 0;
    while (!accept.empty()) {
        auto comma = accept.find(',');
        auto range = trim(accept.substr(0, comma));
        auto semi = range.find(';');
        auto type = lower(trim(range.substr(0, semi)));
        double q = semi == std::string_view::npos ? 1.0 : quality(range.substr(semi + 1));
        if (type == "text/html" || type == "application/xhtml+xml")
            html = std::max(html, q);
        else if (type != "*/*" && type != "text/*")
            other = std::max(other, q);
        if (comma == std::string_view::npos) break;
        accept.remove_prefix(comma + 1);
    }
    return html > 0 && html >= other;
}

}  // namespace llorch::dashboard
