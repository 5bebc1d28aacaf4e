#pragma once
// The extra threads that serve connections. A daemon with N io threads runs its control
// io_context on the main thread and N - 1 more io_contexts here, one thread each; the server
// spreads connections over all N (see server_options::connection_executors) and runs every
// handler and streamed body on the control thread, so control state never needs a lock.
//
// Owner: the application object. Thread: constructed, started and stopped on the main thread.
// Lifecycle: construct(n) → start() → … → stop() (joins); the destructor stops too.

#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace llorch::http {

class io_threads {
  public:
    // `total`: the daemon's io threads, the control thread included (1: none here).
    explicit io_threads(unsigned total);
    ~io_threads();
    io_threads(const io_threads&) = delete;
    io_threads& operator=(const io_threads&) = delete;

    void start();
    // Lets each thread finish what it runs now, then ends and joins them; connections still
    // open on them are closed when their io_context goes away.
    void stop();
    // Executors of the extra contexts (empty when total is 1).
    std::vector<boost::asio::any_io_executor> executors() const;
    unsigned size() const { return static_cast<unsigned>(contexts_.size()); }

  private:
    using guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
    std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
    std::vector<guard> guards_;
    std::vector<std::thread> threads_;
};

// The default number of io threads for a machine of `cores` cores: one per core, but only one
// on a machine of two cores or fewer. Every request's handler and engine exchange run on the
// control thread (82-85 % of the work per request, bench/results/scaling-2026-12-02.md), so a
// second io thread there only takes the connections' reads and writes off it, and pays for that
// with a cross-thread hand-off per streamed piece; with two cores shared with engines, clients
// or other work, that costs more than it gains (bench/results/io-threads-2026-12-02.md: 7-20 %
// less CPU per request with one, requests/s the same within the noise).
unsigned default_io_threads(unsigned cores);
// The same for this machine (std::thread::hardware_concurrency; 1 when it cannot tell).
unsigned default_io_threads();

}  // namespace llorch::http
