#pragma once
// Random identifiers: UUIDv4 for correlation and task ids, hex keys for engine API keys.

#include <string>

namespace llorch::http {

std::string new_correlation_id();      // UUIDv4
std::string random_hex(size_t bytes);  // from the OS's CSPRNG

}  // namespace llorch::http
