#pragma once
// Where the control plane reads the time and waits for it: the test seam for deadlines, grace
// periods, retry backoff and circuit-breaker cool-downs. The daemons use real_clock (the steady
// clock and the timer's own expiry); unit tests use manual_clock, whose time moves only when the
// test advances it, so a 2 s grace or a 30 s deadline runs in microseconds and never flakes on a
// busy machine.
//
// A wait goes through a caller-owned asio::steady_timer so that the owner can end it early with
// timer.cancel(), exactly as with a plain timer. One wait per timer at a time.
//
// Thread: a clock is used on the thread of the io_context its timers belong to. real_clock is
// stateless; a manual_clock lives as long as the test that drives it (declare it before the
// io_context so that it outlives the coroutines waiting on it).

#include <algorithm>
#include <chrono>
#include <optional>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace llorch::common {

class clock {
  public:
    using time_point = std::chrono::steady_clock::time_point;
    using duration = std::chrono::steady_clock::duration;

    virtual ~clock() = default;
    virtual time_point now() const = 0;
    // Waits on `timer` until now() reaches `at`: true when the time came, false when
    // timer.cancel() ended the wait first.
    virtual boost::asio::awaitable<bool> wait_until(boost::asio::steady_timer& timer,
                                                    time_point at) = 0;
    boost::asio::awaitable<bool> wait_for(boost::asio::steady_timer& timer, duration d) {
        return wait_until(timer, now() + d);
    }
};

class real_clock final : public clock {
  public:
    time_point now() const override { return std::chrono::steady_clock::now(); }
    boost::asio::awaitable<bool> wait_until(boost::asio::steady_timer& timer,
                                            time_point at) override {
        timer.expires_at(at);
        boost::system::error_code ec;
        co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
        co_return !ec;
    }
    // The process's one real clock, for owners that were given none.
    static clock& instance() {
        static real_clock c;
        return c;
    }
};

// Time that moves only when advance() is called. A wait that falls due is woken through its
// timer; its coroutine resumes at the next run of the io_context (tests poll it).
class manual_clock final : public clock {
  public:
    explicit manual_clock(time_point start = time_point{} + std::chrono::hours(1)) : now_(start) {}

    time_point now() const override { return now_; }

    boost::asio::awaitable<bool> wait_until(boost::asio::steady_timer& timer,
                                            time_point at) override {
        if (at <= now_) co_return true;
        waiter w{&timer, at};
        listed guard{*this, w};
        timer.expires_at(time_point::max());
        boost::system::error_code ec;
        co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
        co_return w.due;
    }

    // Moves the time forward by `d` and wakes every wait that is due by then.
    void advance(duration d) {
        now_ += d;
        for (auto* w : waiters_) {
            if (w->due || w->at > now_) continue;
            w->due = true;
            w->timer->cancel();
        }
    }
    // The earliest time a pending wait falls due, so a test can step from one to the next.
    std::optional<time_point> next_due() const {
        std::optional<time_point> out;
        for (const auto* w : waiters_)
            if (!w->due && (!out || w->at < *out)) out = w->at;
        return out;
    }
    size_t waiting() const { return waiters_.size(); }

  private:
    struct waiter {
        boost::asio::steady_timer* timer;
        time_point at;
        bool due = false;
    };
    // Keeps a wait listed while its coroutine frame lives, also when the frame is destroyed
    // without resuming (its io_context went away first).
    struct listed {
        listed(manual_clock& c, waiter& w) : c(c), w(w) { c.waiters_.push_back(&w); }
        ~listed() { std::erase(c.waiters_, &w); }
        manual_clock& c;
        waiter& w;
    };

    time_point now_;
    std::vector<waiter*> waiters_;
};

}  // namespace llorch::common
