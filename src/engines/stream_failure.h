#pragma once
// stream_failure: the one rule for a generation stream that broke before its terminal event.
// Nothing within the stall timeout is DECODE_TIMEOUT (the peer is alive but stuck: another
// attempt may be worth it later); anything else that breaks the connection is WORKER_RESET (the
// peer or the path to it is gone). Used by the pool manager's replica stream (peer: the engine)
// and by the control plane's relay of a node's stream (peer: the node).
// Pure functions; no owner, any thread.

#include <chrono>
#include <string>
#include <string_view>

#include "engines/engine_adapter.h"
#include "http/client.h"

namespace llorch::engines {

enum class stream_failure {
    decode_timeout,  // DECODE_TIMEOUT: no byte within the stall timeout
    worker_reset,    // WORKER_RESET: the connection broke, or the peer went away
};

// The error code clients see: "DECODE_TIMEOUT", "WORKER_RESET".
std::string_view to_string(stream_failure f);

// Which failure a transport error of a stream (opening it, or reading a piece) is.
stream_failure classify_stream_failure(const http::client_error& e);

// The terminal error event for a transport error: "<peer> sent nothing for <stall> ms" or
// "lost <peer>: <reason>". `peer` names the other side ("the engine", "node n1").
engine_event stream_failure_event(const http::client_error& e, std::string_view peer,
                                  std::chrono::milliseconds stall);

// The terminal error event of a stream that failed for a reason of its owner's (a node marked
// offline, a body that ended without a terminal event): WORKER_RESET with `message`.
engine_event worker_reset_event(std::string message);

}  // namespace llorch::engines
