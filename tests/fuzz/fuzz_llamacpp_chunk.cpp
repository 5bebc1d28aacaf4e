// llama-server's token chunks read in place by engines::scan_llamacpp_chunk (once per token, from
// the engine's stream): any bytes never crash it, and whenever it reads a chunk itself,
// api::json_pick (the general reader) accepts the same text with the same content, and a text
// with `error` or a true `stop` is never read as a token.
#include <cstdint>
#include <string>
#include <string_view>

#include "api/json_pick.h"
#include "engines/llamacpp_chunk.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using llorch::api::json_pick;
    static json_pick pick({"content", "stop", "error"});
    static std::string content;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    if (llorch::engines::scan_llamacpp_chunk(text, content) !=
        llorch::engines::llamacpp_chunk::token)
        return 0;
    if (!pick.parse(text)) __builtin_trap();
    const auto& c = pick[0];
    if (c.k == json_pick::kind::string ? c.text != content : !content.empty()) __builtin_trap();
    if (c.k != json_pick::kind::string && c.k != json_pick::kind::absent) __builtin_trap();
    if (pick[1].k == json_pick::kind::boolean && pick[1].boolean) __builtin_trap();
    if (pick[1].k != json_pick::kind::boolean && pick[1].k != json_pick::kind::absent)
        __builtin_trap();
    if (pick[2].k != json_pick::kind::absent) __builtin_trap();
    return 0;
}
