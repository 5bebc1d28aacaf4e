#pragma once
// The one error envelope of llama-orch: every error before a stream starts, and every terminal
// `error` event, carries a machine-readable code from this list and a message for a person.

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

namespace llorch::api {

enum class error_code {
    invalid_params,
    admission_reject,
    queue_full_drop_lru,
    pool_unready,
    pool_unavailable,
    replica_exhausted,
    decode_timeout,
    worker_reset,
    deadline_unmet,
    model_not_available,
    node_unavailable,
    missing_token,
    bad_token,
    non_loopback_without_token,
    internal,
    cancelled,
    upstream_failed,
    not_found,
    conflict,
    payload_too_large,
    method_not_allowed,
    shutting_down,
    forbidden,        // the request is understood and refused (e.g. a browser origin not allowed)
    not_implemented,  // an endpoint of another API that llama-orch answers without doing it
};

std::string_view to_string(error_code c);
std::optional<error_code> error_code_from_string(std::string_view s);

// The HTTP status that goes with a code when it is answered before a stream starts: the one
// place a status is chosen for an error.
int http_status(error_code c);

struct error {
    error_code code = error_code::internal;
    std::string message;
    std::optional<std::string> engine;
    std::optional<bool> retriable;
    std::optional<long long> retry_after_ms;
    std::optional<std::string> policy_label;

    int http_status() const { return api::http_status(code); }
};

inline error make_error(error_code code, std::string message) {
    return error{code, std::move(message), {}, {}, {}, {}};
}

// What the service layer returns: a value or the error to answer with.
template <class T>
using api_result = boost::system::result<T, error>;

// Lets `result.value()` work with api::error (found by argument-dependent lookup); code tests
// results instead of calling value().
[[noreturn]] inline void throw_exception_from_error(const error& e, const boost::source_location&) {
    throw std::runtime_error(e.message);
}

// `{code, message, engine?, retriable?, retry_after_ms?, policy_label?, correlation_id}`.
std::string to_json(const error& e, std::string_view correlation_id);

// Escapes a string for inclusion inside JSON quotes (used by hand-built hot-path frames).
void append_json_escaped(std::string& out, std::string_view s);

}  // namespace llorch::api
