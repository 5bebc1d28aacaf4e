#pragma once
// TLS set-up for the daemons: a server context (certificate, key, and optionally a CA that
// client certificates must chain to — mutual TLS) and a client context (a CA to verify servers,
// and optionally a certificate of our own). Errors name what failed, so the daemon's start-up
// message can name its configuration key.

#include <memory>
#include <string>

#include "http/http_error.h"

namespace boost::asio::ssl {
class context;
}

namespace llorch::http {

using tls_context = std::shared_ptr<boost::asio::ssl::context>;

// cert and key are PEM files; with `client_ca` set, clients must present a certificate it signed.
http_result<tls_context> make_server_tls(const std::string& cert, const std::string& key,
                                         const std::string& client_ca = {});
// With `ca` set, servers must present a certificate it signed (else the system's store);
// with cert/key set, we present ours (mutual TLS).
http_result<tls_context> make_client_tls(const std::string& ca, const std::string& cert = {},
                                         const std::string& key = {});

}  // namespace llorch::http
