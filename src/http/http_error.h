#pragma once
// Why a daemon's HTTP set-up failed: the listen address, the tokens, the TLS files, a URL.
// Returned as a value (http_result<T>); the message names what failed so that the daemon's
// start-up error can put its configuration key in front.

#include <string>

#include <boost/system/result.hpp>

#include "common/module_error.h"

namespace llorch::http {

enum class http_errc {
    invalid_address,  // a listen address that is not HOST:PORT or not an IP address
    bind_failed,      // the address is valid but cannot be listened on (in use, no permission)
    bad_token,        // a token variable that is set but holds no token or a short one
    tls_files,        // a certificate, key or CA that cannot be loaded
    bad_url,          // a URL without scheme or host, or with a bad port
};

using http_error = common::module_error<http_errc>;

template <class T>
using http_result = boost::system::result<T, http_error>;

}  // namespace llorch::http
