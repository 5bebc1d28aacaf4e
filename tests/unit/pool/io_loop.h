#pragma once
// What the pool unit tests need of an io_context: run it until a condition holds (never a bare
// sleep), and measure how long its thread was kept from running a 10 ms ticker (a blocked io
// thread shows as a long lag).

#include <algorithm>
#include <chrono>
#include <functional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace llorch::pool::testing {

// Runs `io` until `cond` holds; false once `deadline` passed.
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& cond,
                      std::chrono::milliseconds deadline) {
    auto end = std::chrono::steady_clock::now() + deadline;
    while (!cond()) {
        if (std::chrono::steady_clock::now() >= end) return false;
        io.restart();
        io.run_one_for(std::chrono::milliseconds(10));
    }
    return true;
}

// Ticks every 10 ms on the io thread while it lives and keeps the longest gap between ticks.
class lag_meter {
  public:
    explicit lag_meter(boost::asio::io_context& io) : timer_(io) { arm(); }
    ~lag_meter() { timer_.cancel(); }
    std::chrono::nanoseconds worst() const { return worst_; }

  private:
    void arm() {
        timer_.expires_after(std::chrono::milliseconds(10));
        timer_.async_wait([this](boost::system::error_code ec) {
            if (ec) return;
            auto now = std::chrono::steady_clock::now();
            worst_ = std::max(worst_, std::chrono::nanoseconds(now - last_));
            last_ = now;
            arm();
        });
    }

    boost::asio::steady_timer timer_;
    std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
    std::chrono::nanoseconds worst_{0};
};

}  // namespace llorch::pool::testing
