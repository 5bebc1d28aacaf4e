// The Accept header that decides whether GET / answers the dashboard page: any bytes never crash
// prefers_html, and a top-quality HTML range in front of any header makes it prefer HTML (no
// later range can outrank q=1).
#include <cstdint>
#include <string>
#include <string_view>

#include "dashboard/dashboard_assets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view accept(reinterpret_cast<const char*>(data), size);
    (void)llorch::dashboard::prefers_html(accept);
    if (!llorch::dashboard::prefers_html("text/html," + std::string(accept))) __builtin_trap();
    return 0;
}
