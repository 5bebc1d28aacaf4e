#include "http/io_threads.h"

#include "common/log.h"

namespace llorch::http {

io_threads::io_threads(unsigned total) {
    for (unsigned i = 1; i < total; ++i)
        contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
}

io_threads::~io_threads() {
    stop();
    // Sessions still suspended on these contexts are destroyed with them, here, on the thread
    // that owns the daemon.
    contexts_.clear();
}

void io_threads::start() {
    if (!threads_.empty()) return;
    for (auto& c : contexts_) {
        guards_.emplace_back(c->get_executor());
        threads_.emplace_back([ctx = c.get()] {
            try {
                ctx->run();
            } catch (const std::exception& e) {
                common::logger("http")->error("io thread ended: {}", e.what());
            }
        });
    }
}

void io_threads::stop() {
    guards_.clear();
    for (auto& c : contexts_) c->stop();
    for (auto& t : threads_)
        if (t.joinable()) t.join();
    threads_.clear();
}

std::vector<boost::asio::any_io_executor> io_threads::executors() const {
    std::vector<boost::asio::any_io_executor> out;
    for (const auto& c : contexts_) out.push_back(c->get_executor());
    return out;
}

unsigned default_io_threads(unsigned cores) { return cores <= 2 ? 1 : cores; }

unsigned default_io_threads() { return default_io_threads(std::thread::hardware_concurrency()); }

}  // namespace llorch::http
