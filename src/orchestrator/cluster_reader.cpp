#include "orchestrator/cluster_reader.h"

#include <algorithm>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "orchestrator/cluster_events_json.h"

namespace llorch::orchestrator {

void cluster_event_hub::append(std::string frame) {
    log.append(std::move(frame));
    for (auto* w : waiters) w->cancel();
}

cluster_reader::cluster_reader(boost::asio::io_context& io, std::shared_ptr<cluster_event_hub> hub,
                               std::string snapshot)
    : hub_(std::move(hub)),
      pending_(std::move(snapshot)),
      cursor_(hub_->log.next_seq()),
      timer_(io) {
    ++hub_->readers;
}

cluster_reader::~cluster_reader() { leave(); }

void cluster_reader::leave() {
    if (left_) return;
    left_ = true;
    std::erase(hub_->waiters, &timer_);
    --hub_->readers;
}

void cluster_reader::on_disconnect() {
    disconnected_ = true;
    timer_.cancel();
    leave();
}

asio::awaitable<std::optional<std::string>> cluster_reader::next(
    std::chrono::milliseconds max_wait) {
    for (;;) {
        if (disconnected_ || done_) co_return std::nullopt;
        if (!pending_.empty()) co_return std::exchange(pending_, {});
        auto r = hub_->log.read(cursor_);
        if (!r) {
            done_ = true;
            if (hub_->readers_cut) hub_->readers_cut->Increment();
            leave();
            co_return cluster_json::cut_off(r.error().message + "; reconnect for a fresh snapshot");
        }
        if (!r->empty()) co_return std::move(*r);
        if (hub_->closed) {
            leave();
            co_return std::nullopt;
        }
        timer_.expires_after(max_wait);
        hub_->waiters.push_back(&timer_);
        boost::system::error_code ec;
        co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        std::erase(hub_->waiters, &timer_);
        if (!ec) co_return std::string();  // quiet for max_wait: a keep-alive comment goes out
    }
}

}  // namespace llorch::orchestrator
