#include "daemon_run.h"

#include <sys/resource.h>

#include <csignal>
#include <iostream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include "common/log.h"
#include "sd_notify.h"

namespace llorch::daemon {

namespace {

// A server holds a descriptor per connection: take the whole allowance the system gives (the
// soft limit up to the hard one), as servers do; the connection limit derives from it.
void raise_open_files_limit() {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
}

}  // namespace

int serve_until_signal(const std::string& name, boost::asio::io_context& io,
                       std::unique_ptr<http::io_threads>& threads, const daemon_steps& steps) {
    auto log = common::logger(name);
    raise_open_files_limit();
    // Before start() makes any thread or child: NOTIFY_SOCKET leaves the environment here.
    const auto notifier = sd_notifier::from_environment();
    auto tell_manager = [&](std::string_view state) {
        if (auto why = notifier.notify(state); !why.empty())
            log->warn("cannot notify the service manager: {}", why);
    };
    if (auto r = steps.start(); !r) {
        std::cerr << name << ": " << r.error().message << "\n";
        return 2;
    }
    // Ready once the loop runs: the listeners are bound and their accept loops wait on `io`.
    boost::asio::post(io, [&] { tell_manager("READY=1\nSTATUS=serving"); });
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int sig) {
        if (ec) return;
        log->info("signal {}: {}", sig, steps.on_signal(sig));
        tell_manager("STOPPING=1\nSTATUS=stopping");
        boost::asio::co_spawn(io, steps.stop(), [&io](std::exception_ptr) { io.stop(); });
    });
    std::signal(SIGPIPE, SIG_IGN);
    io.run();
    if (threads) threads->stop();
    log->info("stopped");
    return 0;
}

}  // namespace llorch::daemon
