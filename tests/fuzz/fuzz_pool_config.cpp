// The [[pools]] TOML an operator writes (and POOL_MANAGERD_POOLS selects from).
#include <cstdint>
#include <string_view>

#include "pool/pool_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto pools = llorch::pool::parse_pools_toml(text);
    if (pools) (void)llorch::pool::select_pools(std::move(*pools), "a,b");
    return 0;
}
