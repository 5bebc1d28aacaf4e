#include "orchestratord_app.h"

#include <algorithm>
#include <iostream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/log.h"
#include "daemon_run.h"
#include "gpu/system_gpu_inventory.h"
#include "http/io_threads.h"
#include "http/listen.h"
#include "http/server.h"
#include "orchestrator/cloud_backend.h"
#include "orchestrator/cluster_metrics.h"
#include "orchestrator/cluster_monitor.h"
#include "orchestrator/job_service.h"
#include "orchestrator/local_backend.h"
#include "orchestrator/orchestratord_routes.h"
#include "orchestrator/placement_rules.h"
#include "orchestrator/servers_service.h"
#include "orchestrator/task_service.h"
#include "placement/placement_config.h"
#include "placement/placement_index.h"
#include "pool/catalog_service.h"
#include "pool/pool_config.h"
#include "registry/node_registry.h"

namespace llorch::daemon {
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {
auto log() {
    static auto l = common::logger("orchestratord");
    return l;
}
}  // namespace

orchestratord_app::orchestratord_app(orchestratord_config cfg) : cfg_(std::move(cfg)) {}

orchestratord_app::~orchestratord_app() {
    if (threads_) threads_->stop();
}

uint16_t orchestratord_app::port() const { return server_ ? server_->port() : 0; }

int orchestratord_app::run() {
    return serve_until_signal("orchestratord", io_, threads_,
                              {.start = [this] { return start(); },
                               .stop = [this] { return stop(); },
                               .on_signal =
                                   [this](int) {
                                       return fmt::format(
                                           "no new tasks; running streams may finish for {} ms",
                                           cfg_.drain_deadline_ms);
                                   }});
}

startup_result<void> orchestratord_app::start() {
    if (auto why = cfg_.validate(); !why.empty())
        return startup_error{startup_errc::invalid_option, why};
    auto listen = http::parse_listen_address(cfg_.addr);
    if (!listen)
        return at_key(startup_errc::bad_address, "ORCHESTRATORD_ADDR", listen.error().message);
    auto tokens = http::tokens_from_env({"LLORCH_API_TOKEN"});
    if (!tokens) return startup_error{startup_errc::bad_token, tokens.error().message};
    if (auto why = http::check_bind(listen->first, *tokens, "LLORCH_API_TOKEN"); !why.empty())
        return startup_error{startup_errc::insecure_bind, why};
    auto service_tokens = http::tokens_from_env({"LLORCH_SERVICE_TOKEN", "LLORCH_API_TOKEN"});
    if (!service_tokens)
        return startup_error{startup_errc::bad_token, service_tokens.error().message};
    auto served = serve_tls(cfg_.https, "ORCHESTRATORD");
    if (!served) return served.error();

    placement::placement_config pc;
    pc.strategy = *placement::parse_strategy(cfg_.placement_strategy);
    orchestrator::placement_rules rules;
    if (!cfg_.placement_rules.empty()) {
        if (auto why = orchestrator::load_placement_rules(cfg_.placement_rules, rules);
            !why.empty())
            return startup_error{startup_errc::invalid_option,
                                 "ORCHESTRATORD_PLACEMENT_RULES: " + why};
        if (!rules.affinity.empty() && pc.strategy != placement::placement_strategy::hybrid)
            return startup_error{
                startup_errc::invalid_option,
                "ORCHESTRATORD_PLACEMENT_RULES: [[affinity]] rules apply in the "
                "hybrid strategy only; set ORCHESTRATORD_PLACEMENT_STRATEGY=hybrid"};
        pc.rules = rules.affinity;
    }
    index_ = std::make_unique<placement::placement_index>(pc);
    auto backend = cfg_.cloud ? start_cloud() : start_home();
    if (!backend) return backend.error();

    orchestrator::service_options so;
    so.admission.capacity = cfg_.admission_capacity;
    so.admission.policy = *admission::parse_full_policy(cfg_.admission_policy);
    so.disconnect_grace = milliseconds(cfg_.disconnect_grace_ms);
    so.retention = milliseconds(cfg_.retention_ms);
    so.task_types = std::move(rules.task_types);
    orchestrator::pool_backend& pools =
        cfg_.cloud ? static_cast<orchestrator::pool_backend&>(*remote_) : *local_;
    tasks_ = std::make_unique<orchestrator::task_service>(io_, so, *index_, pools, metrics_);
    servers_ = std::make_unique<orchestrator::servers_service>(
        monitor::monitor_config{.fall = cfg_.monitor_fall, .rise = cfg_.monitor_rise}, *index_);
    tasks_->set_server_monitor(&servers_->monitor());
    metrics_.add_collector([this](common::scrape& s) {
        servers_->report_metrics(s, std::chrono::steady_clock::now());
    });
    if (remote_)
        remote_->on_node_probe(
            [this](const std::string& node, bool ok) { servers_->node_probe(node, ok); });
    orchestrator::job_service_options jo;
    jo.retention = so.retention;
    jobs_ = std::make_unique<orchestrator::job_service>(io_, jo, *tasks_);
    if (registry_)
        metrics_.add_collector([this](common::scrape& s) {
            orchestrator::report_cluster_metrics(s, *registry_, *index_,
                                                 std::chrono::steady_clock::now());
        });
    if (manager_) {
        manager_->add_metrics(metrics_);
        manager_->on_capacity_change([this](const std::string& pool_id) {
            local_->sync(pool_id);
            tasks_->wake();
        });
        manager_->on_probe(
            [this](const std::string& pool_id, bool ok) { servers_->pool_probe("", pool_id, ok); });
        local_->sync();
    }
    events_ = std::make_unique<orchestrator::cluster_monitor>(
        io_, orchestrator::cluster_monitor_options{.profile = cfg_.cloud ? "cloud" : "home"},
        *tasks_, registry_.get());
    tasks_->set_observer(events_.get());

    auto routes = orchestrator::orchestratord_routes({.tasks = tasks_.get(),
                                                      .jobs = jobs_.get(),
                                                      .metrics = &metrics_,
                                                      .index = index_.get(),
                                                      .local_pools = manager_.get(),
                                                      .local_files = catalog_,
                                                      .nodes = registry_.get(),
                                                      .remote = remote_.get(),
                                                      .cors_origins = cfg_.cors_origins,
                                                      .events = events_.get(),
                                                      .servers = servers_.get()});
    http::server_options hso;
    hso.name = "orchestratord";
    hso.address = listen->first;
    hso.port = listen->second;
    hso.tokens = *tokens;
    hso.service_tokens = *service_tokens;
    hso.tls = *served;
    apply_serve_limits(cfg_.limits, hso);
    count_streams(metrics_, hso);
    events_->count_cut_readers(hso.slow_readers_cut);
    threads_ = std::make_unique<http::io_threads>(cfg_.io_threads);
    hso.connection_executors = threads_->executors();
    server_ = std::make_unique<http::server>(io_, hso, std::move(routes));
    if (auto r = server_->start(); !r)
        return at_key(startup_errc::listen_failed, "ORCHESTRATORD_ADDR", r.error().message);
    threads_->start();

    if (manager_) manager_->start();
    if (catalog_) catalog_->start();
    tasks_->start();
    events_->start();
    if (cfg_.cloud) background_.spawn(stale_check_loop(), "stale node check");
    started_ = true;
    log()->info("listening on {}:{} ({} profile, {} auth, {})", listen->first, server_->port(),
                cfg_.cloud ? "CLOUD" : "HOME", tokens->empty() ? "no" : "token",
                *served ? "https" : "http");
    std::cout << "orchestratord listening on " << listen->first << ":" << server_->port()
              << std::endl;
    return {};
}

startup_result<void> orchestratord_app::start_home() {
    auto pools = cfg_.config_file.empty()
                     ? boost::system::result<std::vector<pool::pool_config>, pool::config_error>(
                           std::vector<pool::pool_config>{})
                     : pool::load_pools_file(cfg_.config_file);
    if (!pools) return startup_error{startup_errc::pools_config, pools.error().message};
    pool::manager_options mo;
    mo.runtime_dir = cfg_.runtime_dir;
    mo.stall_timeout = milliseconds(cfg_.stall_timeout_ms);
    mo.ready_timeout = milliseconds(cfg_.ready_timeout_ms);
    mo.health_interval = milliseconds(cfg_.health_interval_ms);
    mo.recovery.base = milliseconds(cfg_.pool_retry_base_ms);
    mo.recovery.cap = milliseconds(std::max(cfg_.pool_retry_max_ms, cfg_.pool_retry_base_ms));
    mo.on_demand = on_demand_settings(cfg_.on_demand, pools->empty() && !cfg_.models_dir.empty());
    manager_ = std::make_unique<pool::pool_manager>(io_, mo, std::move(*pools),
                                                    std::make_shared<gpu::system_gpu_inventory>());
    local_ = std::make_unique<orchestrator::local_backend>(*manager_, *index_);
    pool::catalog_options co;
    if (auto why = pool::make_catalog_options(co, cfg_.models_dir, cfg_.runtime_dir, "");
        !why.empty())
        return at_key(startup_errc::invalid_option, "ORCHESTRATORD_MODELS_DIR", why);
    catalog_ =
        std::make_shared<pool::catalog_service>(io_, std::move(co), manager_.get(), &metrics_);
    catalog_->on_change([this] { manager_->sync_catalog(catalog_->catalog().entries()); });
    return {};
}

startup_result<void> orchestratord_app::start_cloud() {
    http::tls_context client_tls;
    if (!cfg_.tls_ca.empty() || !cfg_.tls_client_cert.empty()) {
        auto t = http::make_client_tls(cfg_.tls_ca, cfg_.tls_client_cert, cfg_.tls_client_key);
        if (!t) return at_key(startup_errc::tls_files, "ORCHESTRATORD_TLS_CA", t.error().message);
        client_tls = *t;
    }
    registry::registry_config rc;
    rc.node_timeout = milliseconds(cfg_.node_timeout_ms);
    rc.max_pools_per_node = static_cast<size_t>(cfg_.max_pools_per_node);
    rc.stale_check_interval = std::chrono::seconds(cfg_.stale_check_interval_secs);
    rc.control_plane_version = LLORCH_VERSION;
    registry_ =
        std::make_unique<registry::node_registry>(rc, *index_, std::chrono::steady_clock::now());
    orchestrator::cloud_options co;
    // The token sent to nodes comes from the variable the service routes take theirs from.
    co.service_token = http::outgoing_token_from_env({"LLORCH_SERVICE_TOKEN", "LLORCH_API_TOKEN"});
    co.stall_timeout = milliseconds(cfg_.stall_timeout_ms);
    co.breaker.failure_threshold = static_cast<uint32_t>(cfg_.breaker_failures);
    co.breaker.cool_down = milliseconds(cfg_.breaker_cooldown_ms);
    co.tls = client_tls;
    remote_ = std::make_unique<orchestrator::cloud_backend>(io_, co, *registry_, *index_);
    return {};
}

// Nodes silent past their timeout go offline and every connection to them ends, as if it
// broke: the dispatcher retries what had not reached its client yet and ends the other streams
// with a retriable error.
asio::awaitable<void> orchestratord_app::stale_check_loop() {
    asio::steady_timer t(io_);
    for (;;) {
        t.expires_after(std::chrono::seconds(cfg_.stale_check_interval_secs));
        boost::system::error_code ec;
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        for (const auto& node : registry_->check_stale(std::chrono::steady_clock::now())) {
            log()->warn("node_id={} offline: no heartbeat within its timeout", node);
            remote_->node_offline(node, "no heartbeat within its timeout");
            tasks_->wake();
        }
    }
}

asio::awaitable<void> orchestratord_app::stop() {
    if (!started_) co_return;
    started_ = false;
    co_await background_.stop();
    if (jobs_) co_await jobs_->stop();
    co_await tasks_->stop(milliseconds(cfg_.drain_deadline_ms));
    // The event streams never end by themselves: end them before the server waits for its
    // exchanges.
    tasks_->set_observer(nullptr);
    co_await events_->stop();
    if (remote_) co_await remote_->stop();
    server_->stop();
    // Closing the acceptor queued its aborted accept: let the accept loop take it and end now.
    // Otherwise (CLOUD with no exchange left: nothing below waits) run() returns with the accept
    // still pending, and io_ destroys it after the io threads' contexts are gone, the accepted
    // socket's service with them (heap-use-after-free under ASan).
    co_await asio::post(io_, asio::use_awaitable);
    // Streams that ended during the drain still have their last frames to write.
    co_await server_->wait_exchanges(milliseconds(2000));
    if (catalog_) co_await catalog_->stop();
    if (manager_) co_await manager_->stop(milliseconds(1000));
}

}  // namespace llorch::daemon
