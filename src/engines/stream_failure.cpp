#include "engines/stream_failure.h"

namespace llorch::engines {

std::string_view to_string(stream_failure f) {
    return f == stream_failure::decode_timeout ? "DECODE_TIMEOUT" : "WORKER_RESET";
}

stream_failure classify_stream_failure(const http::client_error& e) {
    // A timeout before the response head and one between pieces are the same to the client:
    // the peer holds the request and produces nothing.
    return e.code == http::client_errc::timeout ? stream_failure::decode_timeout
                                                : stream_failure::worker_reset;
}

engine_event stream_failure_event(const http::client_error& e, std::string_view peer,
                                  std::chrono::milliseconds stall) {
    engine_event ev;
    ev.type = engine_event::kind::error;
    auto kind = classify_stream_failure(e);
    ev.finish_reason = std::string(to_string(kind));
    if (kind == stream_failure::decode_timeout)
        ev.message =
            std::string(peer) + " sent nothing for " + std::to_string(stall.count()) + " ms";
    else
        ev.message = "lost " + std::string(peer) + ": " + e.message;
    return ev;
}

engine_event worker_reset_event(std::string message) {
    engine_event ev;
    ev.type = engine_event::kind::error;
    ev.finish_reason = std::string(to_string(stream_failure::worker_reset));
    ev.message = std::move(message);
    return ev;
}

}  // namespace llorch::engines
