#include "sim/generation.h"

#include <algorithm>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "sim/sim_engine.h"

namespace llorch::sim {
namespace asio = boost::asio;

namespace {
// Tokens that came due while the reader was slow go out together, up to this many per chunk.
constexpr int max_batch = 64;

double ms_between(generation::clock::time_point a, generation::clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}
}  // namespace

generation::generation(std::shared_ptr<sim_engine> engine, plan p)
    : engine_(std::move(engine)), plan_(p), timer_(engine_->executor()) {}

generation::~generation() { release(); }

void generation::start() {
    if (admitted_) return;
    admitted_ = true;
    ticket_ = engine_->admit(*this);  // may call grant() before returning
}

void generation::grant(int slot) {
    slot_ = slot;
    granted_at_ = clock::now();
    next_due_ = granted_at_ + engine_->draw_ttft();
    timer_.cancel();
}

void generation::release() {
    if (!admitted_ || released_) return;
    released_ = true;
    engine_->release(ticket_);
}

void generation::cancel() {
    if (cancelled_) return;
    cancelled_ = true;
    release();
    timer_.cancel();
    // The token that reached the crash point was already handed out; crash now rather than wait
    // for a next() that will not come.
    if (crash_pending_) engine_->crash();
}

generation::step generation::produce(clock::time_point now) {
    step s;
    s.first = produced_;
    int limit = plan_.tokens - produced_;
    if (plan_.hang_after >= 0) limit = std::min(limit, plan_.hang_after - produced_);
    int n = 0;
    while (n < limit && n < max_batch && next_due_ <= now) {
        if (produced_ + n == 0) first_at_ = next_due_;
        last_at_ = next_due_;
        ++n;
        next_due_ += engine_->draw_itl();
    }
    if (n > 0) {
        if (engine_->crash_due()) engine_->crash();
        n = engine_->count_tokens(n);
        // This batch holds the engine's last token: it goes out, then the process exits.
        if (engine_->crash_due()) crash_pending_ = true;
    }
    produced_ += n;
    s.count = n;
    if (crash_pending_) return s;
    if (produced_ >= plan_.tokens) {
        if (plan_.tokens == 0) first_at_ = last_at_ = next_due_;
        s.finished = true;
        done_ = true;
        release();
    } else if (plan_.hang_after >= 0 && produced_ >= plan_.hang_after) {
        hung_ = true;
    }
    return s;
}

asio::awaitable<generation::step> generation::advance(std::chrono::milliseconds max_wait) {
    if (crash_pending_) engine_->crash();
    const auto deadline = clock::now() + max_wait;
    for (;;) {
        if (cancelled_ || done_) co_return step{.gone = true};
        const auto now = clock::now();
        const bool running = slot_ >= 0 && !hung_;
        if (running && now >= next_due_) {
            step s = produce(now);
            if (s.count > 0 || s.finished || crash_pending_) co_return s;
            continue;  // e.g. reached the hang point exactly: nothing to send
        }
        if (now >= deadline) co_return step{};
        timer_.expires_at(running ? std::min(next_due_, deadline) : deadline);
        boost::system::error_code ec;
        co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

gen_summary generation::summary() const {
    gen_summary s;
    s.tokens_predicted = produced_;
    s.tokens_evaluated = plan_.prompt_tokens;
    s.eos = plan_.eos;
    s.slot = slot_;
    if (slot_ >= 0 && produced_ > 0) {
        s.prompt_ms = ms_between(granted_at_, first_at_);
        s.predicted_ms = ms_between(first_at_, last_at_);
    } else if (slot_ >= 0) {
        s.prompt_ms = ms_between(granted_at_, first_at_);
    }
    return s;
}

}  // namespace llorch::sim
