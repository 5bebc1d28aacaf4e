// A node's registration and heartbeat bodies as orchestratord reads them.
#include <cstdint>
#include <string_view>

#include "api/json_body.h"
#include "pool/node_report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view body(reinterpret_cast<const char*>(data), size);
    auto o = llorch::api::parse_json_body(body);
    if (!o) return 0;
    (void)llorch::pool::parse_registration(*o);
    (void)llorch::pool::parse_heartbeat(*o);
    return 0;
}
