#pragma once
// Identifiers: UUIDv4 for correlation and task ids, hex keys for engine API keys, and the rule
// for ids that clients and nodes choose.

#include <string>
#include <string_view>

namespace llorch::http {

std::string new_correlation_id();      // UUIDv4
std::string random_hex(size_t bytes);  // from the OS's CSPRNG

// An id a client or a node chooses (task, session, node): 1-128 characters of letters, digits,
// '.', '_', ':' or '-'. It is echoed in answers, logs and metrics, so nothing else is taken.
bool valid_id(std::string_view id);
inline constexpr std::string_view valid_id_rule =
    "must be 1-128 characters of letters, digits, '.', '_', ':' or '-'";

}  // namespace llorch::http
