#pragma once
// Command-line pieces orchestratord and pool-managerd share: logging options, the runtime
// directory's default, and the certificate that serves HTTPS. Each daemon names its own
// environment variables with its prefix (ORCHESTRATORD_, POOL_MANAGERD_).

#include <string>

#include <CLI/CLI.hpp>

#include "common/expected.h"
#include "http/tls.h"

namespace llorch::daemon {

struct logging_options {
    std::string format = "text";  // text | json
    std::string level = "info";
};
// --log-format and --log-level (LLORCH_LOG_FORMAT, LLORCH_LOG_LEVEL).
void add_logging_options(CLI::App& app, logging_options& o);
void start_logging(const logging_options& o);

// $XDG_RUNTIME_DIR/llama-orch, else /tmp/llama-orch.
std::string default_runtime_dir();

struct serve_tls_options {
    std::string cert, key;  // PEM files
};
// --tls-cert and --tls-key (PREFIX_TLS_CERT, PREFIX_TLS_KEY).
void add_serve_tls_options(CLI::App& app, serve_tls_options& o, const std::string& env_prefix);
// The context that serves HTTPS, null when no certificate is set; with `client_ca`, callers
// must present a certificate it signed. The error names the variable to fix.
expected<http::tls_context, std::string> serve_tls(const serve_tls_options& o,
                                                   const std::string& env_prefix,
                                                   const std::string& client_ca = {});

}  // namespace llorch::daemon
