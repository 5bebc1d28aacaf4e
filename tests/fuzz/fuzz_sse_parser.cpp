// The SSE parser that reads engines and nodes: any bytes, cut into pieces anywhere, never crash
// it, and what it holds for an unfinished event stays bounded by what it was given.
#include <cstdint>
#include <string_view>
#include <vector>

#include "http/sse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    std::string_view all(reinterpret_cast<const char*>(data) + 1, size - 1);
    size_t step = 1 + data[0] % 64;  // the first byte picks how the stream is cut
    llorch::http::sse_parser p;
    std::vector<llorch::http::sse_event> out;
    for (size_t i = 0; i < all.size(); i += step) p.feed(all.substr(i, step), out);
    if (p.pending_bytes() > all.size()) __builtin_trap();
    return 0;
}
