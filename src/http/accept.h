#pragma once
// The Accept header read as its media ranges: what a client says it takes, and how much. One
// reading for every route that answers differently by Accept (the dashboard page, the task API's
// one-exchange event stream).

#include <string>
#include <string_view>
#include <vector>

namespace llorch::http {

struct media_range {
    std::string type;  // lower case, without parameters: "text/html", "*/*"
    double q = 1.0;    // its quality, 0–1 (1 when the range has none)
};

// Every media range of an Accept value, in order. Cost: O(length of the value).
std::vector<media_range> parse_accept(std::string_view accept);

// Whether the value names `type` itself (not through a wildcard) with a quality above 0.
bool names_media_type(std::string_view accept, std::string_view type);

}  // namespace llorch::http
