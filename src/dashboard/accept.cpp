#include <algorithm>

#include "dashboard/dashboard_assets.h"
#include "http/accept.h"

namespace llorch::dashboard {

bool prefers_html(std::string_view accept) {
    double html = 0, other = 0;
    for (const auto& r : http::parse_accept(accept)) {
        if (r.type == "text/html" || r.type == "application/xhtml+xml")
            html = std::max(html, r.q);
        else if (r.type != "*/*" && r.type != "text/*")
            other = std::max(other, r.q);
    }
    return html > 0 && html >= other;
}

}  // namespace llorch::dashboard
