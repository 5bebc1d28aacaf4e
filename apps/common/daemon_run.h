#pragma once
// The run loop both daemons share: start, serve on this thread until SIGINT or SIGTERM, stop.

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "http/io_threads.h"
#include "startup_error.h"

namespace llorch::daemon {

struct daemon_steps {
    std::function<startup_result<void>()> start;
    std::function<boost::asio::awaitable<void>()> stop;
    std::function<std::string(int)> on_signal;  // the log line that says what stopping will do
};

// Runs `steps.start`; on an error prints "NAME: error" on one line and returns 2. Otherwise runs
// `io` on this thread until a signal, then `steps.stop`, then ends `io` and joins `threads`
// (made by start). Returns 0 after a clean stop.
int serve_until_signal(const std::string& name, boost::asio::io_context& io,
                       std::unique_ptr<http::io_threads>& threads, const daemon_steps& steps);

}  // namespace llorch::daemon
