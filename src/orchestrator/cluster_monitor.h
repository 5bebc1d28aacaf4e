#pragma once
// The live cluster events of GET /v2/events. Feeds a cluster::cluster_view from the task
// service (as its task_observer: queued, started, ended), from the pool listing (local pools in
// HOME, every node's pools in CLOUD) and the node registry (CLOUD); encodes each change as an
// SSE frame into a bounded cluster::event_log; and every `tick` reads the running tasks'
// progress and appends a `stats` frame. Readers (cluster_reader) get a snapshot, then follow the
// log with a cursor: one integer per reader, a reader that falls out of the log is cut off, and
// one that leaves costs nothing more. Pools and nodes are read only while someone reads.
//
// Owner: orchestratord_app. Thread: the control plane's io thread, like everything it reads.
// Lifecycle: construct → set_pools() → start() → ... → co_await stop() (ends every reader).

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "cluster/cluster_view.h"
#include "cluster/event_log.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/task_group.h"
#include "http/message.h"
#include "orchestrator/task_observer.h"
#include "pool/pool_admin.h"

namespace llorch::registry {
class node_registry;
}

namespace llorch::orchestrator {
namespace asio = boost::asio;
class task_service;

struct cluster_monitor_options {
    std::string profile = "home";
    std::chrono::milliseconds tick{1'000};
    cluster::event_log_limits log;
    cluster::view_config view;
};

// What readers share with the monitor: the log, the waiting readers, whether it closed. Kept
// alive by every reader, so a reader that outlives the monitor only sees it closed.
struct cluster_event_hub {
    explicit cluster_event_hub(cluster::event_log_limits limits) : log(limits) {}
    cluster::event_log log;
    std::vector<boost::asio::steady_timer*> waiters;
    size_t readers = 0;
    bool closed = false;
    common::counter* readers_cut = nullptr;  // readers cut off for falling behind the log
    void append(std::string frame);
};

class cluster_monitor final : public task_observer {
  public:
    cluster_monitor(boost::asio::io_context& io, cluster_monitor_options opts, task_service& tasks,
                    const registry::node_registry* nodes,
                    common::clock& clock = common::real_clock::instance());
    ~cluster_monitor() override;

    // Where the pools are listed (the route table's pool_admin).
    void set_pools(std::shared_ptr<pool::pool_admin> pools) { pools_ = std::move(pools); }
    void start();
    asio::awaitable<void> stop();

    // A new reader: the snapshot, then every event from now on.
    std::shared_ptr<http::body_stream> open();
    size_t readers() const { return hub_->readers; }
    // Counts the readers cut off for falling behind the log (sse_slow_readers_cut_total, with
    // the streams the server cuts for a write that waited too long).
    void count_cut_readers(common::counter* c) { hub_->readers_cut = c; }
    // How many frames have been logged since the start (tests: nothing is encoded unread).
    uint64_t frames_logged() const { return hub_->log.next_seq() - 1; }
    const cluster::cluster_view& view() const { return view_; }
    // One tick now (tests; the loop calls it every `tick`).
    void tick();

    void on_queued(const task& t) override;
    void on_started(const task& t) override;
    void on_ended(const task& t) override;

  private:
    asio::awaitable<void> loop();
    void refresh_listings();
    void refresh_queue();
    long long wall_ms() const;
    long long wall_ms(common::clock::time_point t) const;

    boost::asio::io_context& io_;
    cluster_monitor_options opts_;
    task_service& tasks_;
    const registry::node_registry* nodes_;
    common::clock& clock_;
    std::shared_ptr<pool::pool_admin> pools_;
    cluster::cluster_view view_;
    std::shared_ptr<cluster_event_hub> hub_;
    // Wall-clock ms at the steady clock's epoch, fixed at construction, so that a steady time
    // (a node's last heartbeat) converts to the same wall time on every tick.
    long long wall_offset_ms_ = 0;
    boost::asio::steady_timer timer_;
    common::task_group background_;
    bool stopped_ = false;
};

}  // namespace llorch::orchestrator
