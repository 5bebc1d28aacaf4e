#include "http/control_stream.h"

#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace llorch::http {
namespace {

struct pulled {
    std::optional<std::string> chunk;
    bool ended = false;
};

// Runs on the control thread.
asio::awaitable<pulled> pull(std::shared_ptr<body_stream> s, std::chrono::milliseconds max_wait) {
    pulled out;
    out.chunk = co_await s->next(max_wait);
    out.ended = s->ended();
    co_return out;
}

}  // namespace

control_stream::control_stream(boost::asio::any_io_executor control,
                               std::shared_ptr<body_stream> inner)
    : control_(std::move(control)), inner_(std::move(inner)) {}

control_stream::~control_stream() {
    // The last reference goes on the control thread: a stream's destructor may touch its task.
    boost::asio::post(control_, [s = std::move(inner_)]() mutable { s.reset(); });
}

asio::awaitable<std::optional<std::string>> control_stream::next(
    std::chrono::milliseconds max_wait) {
    auto p = co_await boost::asio::co_spawn(control_, pull(inner_, max_wait), asio::use_awaitable);
    ended_ = p.ended;
    co_return std::move(p.chunk);
}

void control_stream::on_disconnect() {
    boost::asio::post(control_, [s = inner_] { s->on_disconnect(); });
}

}  // namespace llorch::http
