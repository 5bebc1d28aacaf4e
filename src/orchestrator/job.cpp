#include "orchestrator/job.h"

#include <algorithm>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace llorch::orchestrator {

void job::append(std::string text, bool token) {
    frames_.push_back({std::move(text), token});
    for (auto* w : waiters_) w->cancel();
}

void job::remove_waiter(asio::steady_timer* t) { std::erase(waiters_, t); }

job_reader::job_reader(std::shared_ptr<job> j, bool tokens)
    : j_(std::move(j)), tokens_(tokens), timer_(j_->io()) {}

job_reader::~job_reader() { j_->remove_waiter(&timer_); }

void job_reader::on_disconnect() {
    disconnected_ = true;
    timer_.cancel();
}

void job_reader::skip_unwanted() {
    const auto& f = j_->frames();
    while (!tokens_ && cursor_ < f.size() && f[cursor_].token) ++cursor_;
}

bool job_reader::ended() const {
    if (disconnected_ || !j_->ended_reported) return false;
    const auto& f = j_->frames();
    size_t c = cursor_;
    while (!tokens_ && c < f.size() && f[c].token) ++c;
    return c >= f.size();
}

asio::awaitable<std::optional<std::string>> job_reader::next(std::chrono::milliseconds max_wait) {
    for (;;) {
        if (disconnected_) co_return std::nullopt;
        skip_unwanted();
        const auto& f = j_->frames();
        if (cursor_ < f.size()) {
            std::string out;
            while (cursor_ < f.size() && out.size() < 64 * 1024) {
                const auto& fr = f[cursor_++];
                if (!fr.token || tokens_) out += fr.text;
            }
            co_return out;
        }
        if (j_->ended_reported) co_return std::nullopt;
        timer_.expires_after(max_wait);
        j_->add_waiter(&timer_);
        boost::system::error_code ec;
        co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        j_->remove_waiter(&timer_);
        if (!ec) co_return std::string();  // quiet for max_wait: a keep-alive comment goes out
    }
}

}  // namespace llorch::orchestrator
