#include "http/tls.h"

#include <boost/asio/ssl.hpp>

namespace llorch::http {
namespace ssl = boost::asio::ssl;

http_result<tls_context> make_server_tls(const std::string& cert, const std::string& key,
                                         const std::string& client_ca) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    ctx->use_certificate_chain_file(cert, ec);
    if (ec)
        return http_error{http_errc::tls_files,
                          "cannot load the certificate " + cert + ": " + ec.message()};
    ctx->use_private_key_file(key, ssl::context::pem, ec);
    if (ec)
        return http_error{http_errc::tls_files,
                          "cannot load the private key " + key + ": " + ec.message()};
    if (!client_ca.empty()) {
        ctx->load_verify_file(client_ca, ec);
        if (ec)
            return http_error{http_errc::tls_files,
                              "cannot load the CA " + client_ca + ": " + ec.message()};
        ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
    return ctx;
}

http_result<tls_context> make_client_tls(const std::string& ca, const std::string& cert,
                                         const std::string& key) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    if (!ca.empty())
        ctx->load_verify_file(ca, ec);
    else
        ctx->set_default_verify_paths(ec);
    if (ec)
        return http_error{http_errc::tls_files, "cannot load the CA " + ca + ": " + ec.message()};
    ctx->set_verify_mode(ssl::verify_peer);
    if (!cert.empty()) {
        ctx->use_certificate_chain_file(cert, ec);
        if (ec)
            return http_error{http_errc::tls_files,
                              "cannot load the client certificate " + cert + ": " + ec.message()};
        ctx->use_private_key_file(key, ssl::context::pem, ec);
        if (ec)
            return http_error{http_errc::tls_files,
                              "cannot load the client key " + key + ": " + ec.message()};
    }
    return ctx;
}

}  // namespace llorch::http
