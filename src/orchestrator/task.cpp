#include "orchestrator/task.h"

#include <algorithm>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace llorch::orchestrator {

std::string_view to_string(task_state s) {
    switch (s) {
        case task_state::queued:
            return "queued";
        case task_state::running:
            return "running";
        case task_state::completed:
            return "completed";
        case task_state::failed:
            return "failed";
        case task_state::cancelled:
            return "cancelled";
    }
    return "unknown";
}

std::string token_frame(std::string_view text, long long index) {
    auto i = std::to_string(index);
    std::string f;
    f.reserve(text.size() + 2 * i.size() + 40);
    f += "id: ";
    f += i;
    f += "\nevent: token\ndata: {\"t\":\"";
    api::append_json_escaped(f, text);
    f += "\",\"i\":";
    f += i;
    f += "}\n\n";
    return f;
}

std::optional<std::string_view> token_frame_text(std::string_view data) {
    constexpr std::string_view open = "{\"t\":\"";
    if (!data.starts_with(open)) return std::nullopt;
    auto close = data.rfind("\",\"i\":");
    if (close == std::string_view::npos || close < open.size() || !data.ends_with('}'))
        return std::nullopt;
    return data.substr(open.size(), close - open.size());
}

void task::append(std::string text, long long token_index, std::string verbose_text) {
    bytes_ += text.size() + verbose_text.size();
    frames_.push_back({std::move(text), token_index, std::move(verbose_text)});
    notify();
}

void task::notify() {
    for (auto* w : waiters_) w->cancel();
}

void task::remove_waiter(asio::steady_timer* t) { std::erase(waiters_, t); }

task_reader::task_reader(std::shared_ptr<task> t, std::optional<long long> last_event_id,
                         std::function<void(task&)> on_gone, bool verbose)
    : t_(std::move(t)), verbose_(verbose), timer_(t_->io()), on_gone_(std::move(on_gone)) {
    ++t_->readers;
    t_->ever_read = true;
    if (t_->grace_timer) t_->grace_timer->cancel();
    if (last_event_id && *last_event_id >= 0) {
        // Resume right after the token the client saw last; an id the log does not hold
        // replays from the start. Non-token frames carry index -1, so a negative id matches none.
        const auto& f = t_->frames();
        for (size_t i = 0; i < f.size(); ++i) {
            if (f[i].token_index == *last_event_id) {
                cursor_ = i + 1;
                break;
            }
        }
    }
}

task_reader::~task_reader() { leave(); }

void task_reader::leave() {
    if (left_) return;
    left_ = true;
    t_->remove_waiter(&timer_);
    --t_->readers;
    if (on_gone_) on_gone_(*t_);
}

void task_reader::on_disconnect() {
    disconnected_ = true;
    timer_.cancel();
    leave();
}

bool task_reader::ended() const {
    return !disconnected_ && t_->finished() && cursor_ >= t_->frames().size();
}

asio::awaitable<std::optional<std::string>> task_reader::next(std::chrono::milliseconds max_wait) {
    for (;;) {
        if (disconnected_) co_return std::nullopt;
        const auto& f = t_->frames();
        if (cursor_ < f.size()) {
            // Everything available goes out as one chunk: fewer writes when a reader is behind.
            std::string out;
            while (cursor_ < f.size() && out.size() < 64 * 1024) {
                const auto& fr = f[cursor_++];
                out += verbose_ && !fr.verbose_text.empty() ? fr.verbose_text : fr.text;
            }
            co_return out;
        }
        if (t_->finished()) co_return std::nullopt;
        timer_.expires_after(max_wait);
        t_->add_waiter(&timer_);
        boost::system::error_code ec;
        co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        t_->remove_waiter(&timer_);
        if (!ec) co_return std::string();  // quiet for max_wait: a keep-alive comment goes out
    }
}

}  // namespace llorch::orchestrator
