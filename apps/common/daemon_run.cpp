#include "daemon_run.h"

#include <csignal>
#include <iostream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/signal_set.hpp>

#include "common/log.h"

namespace llorch::daemon {

int serve_until_signal(const std::string& name, boost::asio::io_context& io,
                       std::unique_ptr<http::io_threads>& threads, const daemon_steps& steps) {
    auto log = common::logger(name);
    if (auto r = steps.start(); !r) {
        std::cerr << name << ": " << r.error().message << "\n";
        return 2;
    }
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int sig) {
        if (ec) return;
        log->info("signal {}: {}", sig, steps.on_signal(sig));
        boost::asio::co_spawn(io, steps.stop(), [&io](std::exception_ptr) { io.stop(); });
    });
    std::signal(SIGPIPE, SIG_IGN);
    io.run();
    if (threads) threads->stop();
    log->info("stopped");
    return 0;
}

}  // namespace llorch::daemon
