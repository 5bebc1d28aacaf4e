// Handoff files, written by engine provisioners into the runtime folder and adopted by
// pool-managerd.
#include <cstdint>
#include <string_view>

#include "pool/handoff.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto h = llorch::pool::parse_handoff(text);
    (void)h;
    return 0;
}
