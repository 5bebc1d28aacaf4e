#pragma once
// The SSE body of one GET /v2/events reader: the snapshot it was opened with, then the frames of
// the cluster event log from its cursor on. A reader that fell out of the log gets a `cut_off`
// frame and its stream ends; a reader whose client left stops waiting at once. Holds the hub, so
// it stays valid after the monitor stopped (it then ends).
//
// Owner: the HTTP session (through response::stream). Thread: the control plane's io thread.

#include <memory>
#include <string>

#include <boost/asio/steady_timer.hpp>

#include "http/message.h"
#include "orchestrator/cluster_monitor.h"

namespace llorch::orchestrator {
namespace asio = boost::asio;

class cluster_reader final : public http::body_stream {
  public:
    cluster_reader(boost::asio::io_context& io, std::shared_ptr<cluster_event_hub> hub,
                   std::string snapshot);
    ~cluster_reader() override;
    asio::awaitable<std::optional<std::string>> next(std::chrono::milliseconds max_wait) override;
    void on_disconnect() override;
    bool ended() const override { return done_; }

  private:
    void leave();
    std::shared_ptr<cluster_event_hub> hub_;
    std::string pending_;  // the snapshot, until sent
    uint64_t cursor_;
    boost::asio::steady_timer timer_;
    bool left_ = false;
    bool disconnected_ = false;
    bool done_ = false;
};

}  // namespace llorch::orchestrator
