#pragma once
// Why a daemon could not start. Returned as a value (startup_result<T>); serve_until_signal
// prints the message after the daemon's name. The message starts with the configuration key to
// fix (ORCHESTRATORD_ADDR: ..., POOL_MANAGERD_TLS_CA: ..., --config: ...), or says it.

#include <string>

#include <boost/system/result.hpp>

#include "common/module_error.h"

namespace llorch::daemon {

enum class startup_errc {
    invalid_option,  // a flag or variable out of range or contradicting another
    bad_address,     // the listen address is not HOST:PORT
    bad_token,       // a token variable holds no token or a short one
    insecure_bind,   // a non-loopback address without a token
    tls_files,       // a certificate, key or CA that is missing, half set or unreadable
    pools_config,    // the pools file cannot be read, or names no such pool
    listen_failed,   // the address cannot be listened on
};

using startup_error = common::module_error<startup_errc>;

template <class T>
using startup_result = boost::system::result<T, startup_error>;

// `key: why`, the shape of every start-up error that a lower layer did not already word.
inline startup_error at_key(startup_errc code, const std::string& key, const std::string& why) {
    return {code, key + ": " + why};
}

}  // namespace llorch::daemon
