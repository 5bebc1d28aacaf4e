#pragma once
// pool-managerd's side of the CLOUD profile: registers this node with orchestratord (retrying
// with backoff until it answers), heartbeats every pool's real snapshot at the node's own
// interval, re-registers at once when orchestratord no longer knows the node (it restarted),
// reports pool state changes without waiting for the next beat, and deregisters on stop.
// Thread: the pool manager's io thread.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/metrics.h"
#include "common/task_group.h"
#include "http/tls.h"
#include "pool/node_report.h"
#include "pool/pool_manager.h"

namespace llorch::http {
class client;
}

namespace llorch::pool {

class catalog_service;

struct node_agent_options {
    std::string orchestratord_url;  // e.g. http://10.0.0.1:8080
    std::string node_id;
    std::string machine_id;
    std::string address;  // this node's URL as orchestratord reaches it
    std::chrono::milliseconds heartbeat_interval{10'000};
    std::string service_token;  // sent to orchestratord; empty: none
    http::tls_context tls;      // for an https:// orchestratord
    // node_heartbeats_total{outcome} and node_heartbeat_seconds go here when set.
    common::metrics_registry* metrics = nullptr;
    // This node's model files: reported at registration, and in a heartbeat when they changed.
    catalog_service* catalog = nullptr;
};

class node_agent {
  public:
    node_agent(asio::io_context& io, node_agent_options opts, pool_manager& pools);
    ~node_agent();
    void start();
    // Stops beating and deregisters (best effort, bounded).
    asio::awaitable<void> stop();
    // A pool's state changed: send a heartbeat soon.
    void poke();
    bool registered() const { return epoch_ > 0; }

  private:
    asio::awaitable<void> run();
    asio::awaitable<bool> register_once();
    asio::awaitable<int> heartbeat_once();
    std::vector<reported_pool> pool_reports() const;
    void count_heartbeat(bool ok, std::chrono::steady_clock::time_point sent);

    asio::io_context& io_;
    node_agent_options opts_;
    pool_manager& pools_;
    std::unique_ptr<http::client> client_;
    asio::steady_timer timer_;
    uint64_t epoch_ = 0;
    bool stopping_ = false;
    bool poked_ = false;
    bool auth_refused_ = false;      // the last call was refused for its token (logged once)
    common::task_group background_;  // run()
    std::map<std::string, pool_state> last_states_;
    // The catalog version orchestratord last accepted (registration or heartbeat).
    std::optional<uint64_t> catalog_sent_;
};

}  // namespace llorch::pool
