#pragma once
// The CLOUD profile's backend: tasks run on remote nodes through their
// POST /v2/pools/{id}/infer, with the service token, over pooled keep-alive connections.
// Node failures feed the registry (connection refused or reset: offline at once) and a per-node
// circuit breaker (timeouts, 5xx), mirrored into the placement index. POOL_UNAVAILABLE from a
// node is backpressure, never a breaker failure; 401/403 is a configuration error.
// After a breaker's cool-down exactly one trial request goes to the node (admit() takes the node
// out of placement while the trial is out): its success closes the breaker, its failure opens it
// for another cool-down, and a trial whose outcome never arrives is given up after one.
// Thread: the control plane's io thread.

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "common/clock.h"
#include "common/task_group.h"
#include "dispatch/circuit_breaker.h"
#include "http/tls.h"
#include "orchestrator/pool_backend.h"
#include "placement/placement_index.h"
#include "registry/node_registry.h"

namespace llorch::http {
class client;
}

namespace llorch::orchestrator {

class cloud_loads;
class remote_stream;
struct pending_open;

struct cloud_options {
    std::string service_token;  // sent to nodes; empty: none
    std::chrono::milliseconds connect_timeout{1'000};
    std::chrono::milliseconds request_timeout{10'000};  // node's response head
    std::chrono::milliseconds stall_timeout{30'000};    // silence mid-stream
    dispatch::circuit_breaker_config breaker;
    http::tls_context tls;  // for nodes with https:// addresses
};

class cloud_backend final : public pool_backend {
  public:
    cloud_backend(boost::asio::io_context& io, cloud_options opts, registry::node_registry& reg,
                  placement::placement_index& index);
    // With the clock that circuit-breaker cool-downs run on.
    cloud_backend(boost::asio::io_context& io, cloud_options opts, registry::node_registry& reg,
                  placement::placement_index& index, common::clock& clock);
    ~cloud_backend() override;

    bool admit(const placement::placement_decision& where) override;

    boost::asio::awaitable<api::api_result<std::unique_ptr<pool::infer_stream>>> open(
        placement::placement_decision where, engines::generation_request g) override;
    std::optional<model_limits> limits(const std::string& model) const override;
    // Models on demand across nodes (cloud_loads).
    std::optional<std::string> ensure_loaded(const std::string& model,
                                             std::optional<std::chrono::milliseconds> keep_alive,
                                             const model_demand& demand) override;
    void want(const std::string& model) override;
    void revive(const std::string& model) override;
    std::string load_failure(const std::string& model) const override;
    api::api_result<void> unload(const std::string& model) override;
    cloud_loads& loads() { return *loads_; }

    // What a node reported of its pools beyond what placement needs (limits per pool).
    void set_pool_limits(const std::string& node_id, const std::string& pool_id,
                         std::vector<std::string> models, model_limits l);
    void forget_node(const std::string& node_id);
    // Hears each failure to reach a node (a connection or 5xx counted by its breaker, the node
    // found unreachable or offline) as a failed probe of the node: the server monitor.
    void on_node_probe(std::function<void(const std::string&, bool)> cb) {
        node_probe_ = std::move(cb);
    }
    // A stream to the node broke or never connected: out of placement at once.
    void node_unreachable(const std::string& node_id, const std::string& why);
    // The node went offline (no heartbeat within its timeout): every connection to it ends now.
    // Streams end with a WORKER_RESET error and requests still waiting for the node's answer
    // fail with a retriable NODE_UNAVAILABLE, so the dispatcher's rules apply as for a broken
    // connection: retried elsewhere before the first token, a terminal error after it.
    void node_offline(const std::string& node_id, const std::string& why);
    // Forwards an operator call (drain, reload) to the node that owns a pool.
    boost::asio::awaitable<api::api_result<std::pair<int, std::string>>> forward(
        std::string node_id, std::string method, std::string path, std::string body);

    http::client& client() { return *client_; }

    // Ends the breakers' cool-down timers; called once no task runs any more.
    boost::asio::awaitable<void> stop();

  private:
    dispatch::circuit_breaker& breaker(const std::string& node_id);
    void breaker_result(const std::string& node_id, bool ok);
    // At `at`, placement may pick the node again if its breaker is half-open by then (its
    // cool-down ended, or a trial whose outcome never came was given up).
    boost::asio::awaitable<void> readmit_at(std::string node_id,
                                            std::chrono::steady_clock::time_point at);

    boost::asio::io_context& io_;
    common::clock& clock_;
    cloud_options opts_;
    registry::node_registry& reg_;
    placement::placement_index& index_;
    std::unique_ptr<http::client> client_;
    std::map<std::string, std::unique_ptr<dispatch::circuit_breaker>, std::less<>> breakers_;
    std::function<void(const std::string&, bool)> node_probe_;
    struct pool_limits {
        std::vector<std::string> models;
        model_limits limits;
    };
    std::map<std::string, pool_limits> limits_;  // "node/pool"
    // What is in flight to each node, so that node_offline can end it. Entries remove
    // themselves when they end.
    std::multimap<std::string, remote_stream*> streams_;
    std::multimap<std::string, std::shared_ptr<pending_open>> opening_;
    common::task_group background_;  // readmit_at timers
    std::unique_ptr<cloud_loads> loads_;

    friend class remote_stream;
};

}  // namespace llorch::orchestrator
