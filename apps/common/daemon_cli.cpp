#include "daemon_cli.h"

#include <cstdlib>

#include "common/log.h"

namespace llorch::daemon {

void add_logging_options(CLI::App& app, logging_options& o) {
    app.add_option("--log-format", o.format, "text or json")
        ->envname("LLORCH_LOG_FORMAT")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    app.add_option("--log-level", o.level, "trace, debug, info, warn, error")
        ->envname("LLORCH_LOG_LEVEL")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
        ->capture_default_str();
}

void start_logging(const logging_options& o) {
    common::init_logging(o.format == "json" ? common::log_format::json : common::log_format::text,
                         o.level);
}

std::string default_runtime_dir() {
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    return std::string(xdg && *xdg ? xdg : "/tmp") + "/llama-orch";
}

void add_serve_tls_options(CLI::App& app, serve_tls_options& o, const std::string& env_prefix) {
    app.add_option("--tls-cert", o.cert, "serve HTTPS with this PEM certificate (with --tls-key)")
        ->envname(env_prefix + "_TLS_CERT");
    app.add_option("--tls-key", o.key, "PEM private key of --tls-cert")
        ->envname(env_prefix + "_TLS_KEY");
}

startup_result<http::tls_context> serve_tls(const serve_tls_options& o,
                                            const std::string& env_prefix,
                                            const std::string& client_ca) {
    if (o.cert.empty() != o.key.empty())
        return startup_error{startup_errc::tls_files,
                             env_prefix + "_TLS_CERT and " + env_prefix +
                                 "_TLS_KEY go together; set both or neither"};
    if (o.cert.empty()) return http::tls_context{};
    auto t = http::make_server_tls(o.cert, o.key, client_ca);
    if (!t) return at_key(startup_errc::tls_files, env_prefix + "_TLS_CERT", t.error().message);
    return *t;
}

}  // namespace llorch::daemon
