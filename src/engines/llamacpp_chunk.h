#pragma once
// The token chunk of llama-server's native /completion stream, read in place: one pass over the
// bytes finds `content` and `stop` without a JSON parser, for the chunk that arrives once per
// token (`{"index":0,"content":"…","tokens":[…],"stop":false,"id_slot":-1,…}`). It answers only
// for the shape it knows fully — one object of keys without escapes whose values are strings,
// integers, true, false, null or arrays of integers, with `stop` false or absent and no `error` —
// and says `other` for anything else (the last chunk with its timings, an error, fractions,
// nested objects, invalid JSON or UTF-8, a lone surrogate), which the decoder then reads with
// api::json_pick. Whatever it accepts, json_pick accepts with the same content (the fuzz target
// llamacpp_chunk checks this).
//
// Cost: one pass over the chunk, a few instructions a byte; the content is copied once (decoded
// when it holds escapes). Pure; no state between chunks.

#include <string>
#include <string_view>

namespace llorch::engines {

enum class llamacpp_chunk { token, other };

// Reads `data` (one SSE data line); on `token`, `content` holds the decoded text (possibly
// empty). On `other`, `content` is unspecified.
llamacpp_chunk scan_llamacpp_chunk(std::string_view data, std::string& content);

}  // namespace llorch::engines
