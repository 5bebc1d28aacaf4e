#pragma once
// A streamed body made on the control thread, read by a connection on another io thread: each
// pull runs the inner stream's next() on the control executor and brings the chunk back, a
// disconnect is posted there, and the inner stream is released there. So a body_stream (a task
// reader, a compatible stream) only ever runs on the control thread, whichever thread serves its
// connection.
//
// Owner: the connection's session (through response::stream). Thread: next() and ended() on the
// session's io thread; the inner stream on the control thread only.

#include <memory>

#include <boost/asio/any_io_executor.hpp>

#include "http/message.h"

namespace llorch::http {

class control_stream final : public body_stream {
  public:
    control_stream(boost::asio::any_io_executor control, std::shared_ptr<body_stream> inner);
    ~control_stream() override;

    asio::awaitable<std::optional<std::string>> next(std::chrono::milliseconds max_wait) override;
    void on_disconnect() override;
    bool ended() const override { return ended_; }

  private:
    boost::asio::any_io_executor control_;
    std::shared_ptr<body_stream> inner_;
    bool ended_ = false;  // inner's ended() as read on the control thread after the last pull
};

}  // namespace llorch::http
