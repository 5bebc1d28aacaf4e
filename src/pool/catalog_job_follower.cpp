#include "pool/catalog_job_follower.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

namespace llorch::pool {
namespace asio = boost::asio;
namespace json = boost::json;

asio::awaitable<catalog_job_follower::step> catalog_job_follower::next(
    std::chrono::milliseconds max_wait) {
    const auto until = std::chrono::steady_clock::now() + max_wait;
    for (;;) {
        if (gone_) co_return step{step::kind::gone, {}, {}};
        auto j = co_await files_->job(id_);
        if (gone_) co_return step{step::kind::gone, {}, {}};
        if (!j) co_return step{step::kind::error, {}, j.error()};
        auto key = std::string(j->at("state").as_string()) + "/" + json::serialize(j->at("bytes"));
        if (key != last_) {
            last_ = std::move(key);
            co_return step{step::kind::moved, std::move(*j), {}};
        }
        if (std::chrono::steady_clock::now() >= until) co_return step{};
        timer_.emplace(co_await asio::this_coro::executor, poll_);
        boost::system::error_code ec;
        co_await timer_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

void catalog_job_follower::stop() {
    gone_ = true;
    if (timer_) timer_->cancel();
}

}  // namespace llorch::pool
