#pragma once
// Runs the handlers ready on an io_context without waiting for real time, for the tests that step
// a stream by hand.

#include <boost/asio/io_context.hpp>

namespace llorch::orchestrator::testing {

// Runs what is ready on `io` (restarting it: a poll that ran out of work leaves it stopped).
inline void poll(boost::asio::io_context& io) {
    io.restart();
    io.poll();
}

}  // namespace llorch::orchestrator::testing
