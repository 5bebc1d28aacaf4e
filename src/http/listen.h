#pragma once
// Start-up helpers both daemons share: the listen address and the tokens from the environment.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "http/auth.h"
#include "http/http_error.h"

namespace llorch::http {

// "HOST:PORT", "[::1]:PORT" or ":PORT" (loopback) → host and port.
http_result<std::pair<std::string, uint16_t>> parse_listen_address(const std::string& s);

// Tokens from the first of `env_names` that is set (comma-separated list); each must have at
// least 16 characters. The error names the variable.
http_result<token_set> tokens_from_env(const std::vector<std::string>& env_names);

// The token to send to a peer: the first of the list in the first of `env_names` that is set and
// not empty (the same rule tokens_from_env applies, so both sides agree); empty when none is.
std::string outgoing_token_from_env(const std::vector<std::string>& env_names);

}  // namespace llorch::http
