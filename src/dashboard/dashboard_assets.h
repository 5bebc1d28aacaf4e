#pragma once
// The web dashboard's files, built into the binary (src/dashboard/assets/, embedded by
// embed.cmake): the page at `/`, its script and style under `/ui/`. They hold no data; the page
// reads everything from GET /v2/events with the token the operator gives it. Plain lookups over
// constant data, any thread.

#include <optional>
#include <string_view>

namespace llorch::dashboard {

struct asset {
    std::string_view name;          // "index.html", "dashboard.js", ...
    std::string_view content_type;  // from the name's extension
    std::string_view body;
};

// The file called `name` (no directories), or nullopt.
std::optional<asset> find_asset(std::string_view name);
// The page itself (index.html).
asset index_page();

// Whether an Accept header prefers an HTML page to anything else it lists (a browser's
// navigation does; curl's "*/*", an API client's "application/json" and no header do not).
bool prefers_html(std::string_view accept);

}  // namespace llorch::dashboard
