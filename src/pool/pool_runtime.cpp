#include "pool/pool_runtime.h"

#include "engines/upstream_models.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/log.h"
#include "common/off_thread.h"
#include "http/client.h"
#include "pool/handoff.h"
#include "pool/process_launcher.h"

namespace llorch::pool {
using namespace std::chrono_literals;

engines::engine_kind_id adapter_kind(engine_kind k) {
    switch (k) {
        case engine_kind::openai:
            return engines::engine_kind_id::openai;
        case engine_kind::ollama:
            return engines::engine_kind_id::ollama;
        default:
            return engines::engine_kind_id::llamacpp;
    }
}

asio::awaitable<gpu::discovery_result> discover_gpus(
    std::shared_ptr<gpu::gpu_inventory> inventory) {
    co_return inventory ? inventory->discover() : gpu::discovery_result{};
}

namespace {
asio::awaitable<provision_facts> gather_facts(pool_config c, std::string model, bool runs_engine,
                                              std::shared_ptr<gpu::gpu_inventory> inventory) {
    co_return gather_provision_facts(c, model, runs_engine, inventory.get());
}
}  // namespace

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

pool_runtime::pool_runtime(asio::io_context& io, manager_options opts,
                           std::shared_ptr<gpu::gpu_inventory> gpus,
                           std::shared_ptr<engine_launcher> launcher)
    : io_(io),
      opts_(std::move(opts)),
      gpus_(std::move(gpus)),
      launcher_(std::move(launcher)),
      client_(std::make_unique<http::client>(io)),
      log_(common::logger("pool")) {
    if (!launcher_)
        launcher_ = std::make_shared<process_launcher>(io_, blocking_.get_executor(),
                                                       opts_.runtime_dir, opts_.log_rotate_bytes);
}

pool_runtime::~pool_runtime() { stop_blocking(); }

void pool_runtime::stop_blocking() {
    blocking_.stop();
    blocking_.join();
}

void pool_runtime::notify(const std::string& id) {
    if (capacity_cb_) capacity_cb_(id);
}

void pool_runtime::set_state(pool_entry& p, pool_state to, const std::string& why) {
    if (p.state == to) return;
    if (!can_transition(p.state, to)) {
        log_->warn("pool_id={} ignoring transition {} -> {}", p.cfg.id, to_string(p.state),
                   to_string(to));
        return;
    }
    log_->info("pool_id={} state {} -> {}{}{}", p.cfg.id, to_string(p.state), to_string(to),
               why.empty() ? "" : ": ", why);
    p.state = to;
    if (to == pool_state::failed) p.last_error = why;
    if (to == pool_state::ready && p.load_started) {
        p.load_time = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - *p.load_started);
    }
    if (to != pool_state::provisioning && to != pool_state::starting) p.load_started.reset();
    if (to == pool_state::ready) {
        p.recoveries = 0;
        p.last_used = std::chrono::steady_clock::now();  // an on-demand pool's idle clock
        p.ready_since = p.last_used;
        write_own_handoff(p);
    } else {
        remove_own_handoff(p);
    }
    notify(p.cfg.id);
    if (p.on_state_change) p.on_state_change();
    if (to == pool_state::failed && failed_cb_) failed_cb_(p.cfg.id);
}

void pool_runtime::write_own_handoff(pool_entry& p) {
    if (p.adopted || p.state != pool_state::ready) return;
    auto r = std::find_if(p.replicas.begin(), p.replicas.end(),
                          [](const auto& x) { return x->ready && !x->retired; });
    if (r == p.replicas.end()) return;
    handoff h;
    h.pool_id = p.cfg.id;
    h.engine = std::string(to_string(p.cfg.engine));
    h.endpoint = (*r)->base_url;
    for (int g : p.cfg.gpus) h.gpu_device += (h.gpu_device.empty() ? "" : ",") + std::to_string(g);
    if (h.gpu_device.empty()) h.gpu_device = "cpu";
    h.slots = p.slots_total();
    h.ready = true;
    h.model = p.cfg.name;
    h.model_path = (*r)->model;
    if ((*r)->pid() > 0) h.pid = static_cast<int>((*r)->pid());
    if (p.cfg.engine == engine_kind::llamacpp) h.engine_version = LLORCH_ENGINE_SOURCE_VERSION;
    h.replica_id = "r" + std::to_string((*r)->index);
    if (auto w = write_handoff_atomic(opts_.runtime_dir, h); !w)
        log_->warn("pool_id={} cannot write its handoff file: {}", p.cfg.id, w.error().message);
}

void pool_runtime::remove_own_handoff(pool_entry& p) {
    if (p.adopted) return;
    if (auto w = remove_handoff(opts_.runtime_dir, p.cfg.id); !w)
        log_->warn("pool_id={} cannot remove its handoff file: {}", p.cfg.id, w.error().message);
}

asio::awaitable<provision_result<provision_plan>> pool_runtime::provision(
    std::shared_ptr<pool_entry> p, std::string model) {
    // The facts are gathered off the io thread: GPU discovery may run nvidia-smi.
    auto facts = co_await common::off_thread(blocking_.get_executor(),
                                             gather_facts(p->cfg, model, p->runs_engine(), gpus_));
    if (facts.discovery) last_discovery = *facts.discovery;
    auto plan = check_provision(p->cfg, model, facts);
    if (plan && !p->cfg.gpus.empty()) p->gpus = plan->gpus;
    co_return plan;
}

asio::awaitable<pool_result<std::shared_ptr<replica>>> pool_runtime::start_replica(
    std::shared_ptr<pool_entry> p, int index, std::string model, long long generation) {
    const auto& c = p->cfg;
    auto r = std::make_shared<replica>();
    r->index = index;
    r->slots = std::max(1, c.slots / std::max(1, c.replicas));
    r->model = model;
    r->model_name = c.name;
    if (!p->runs_engine()) {
        r->base_url = c.endpoint;
        while (!r->base_url.empty() && r->base_url.back() == '/') r->base_url.pop_back();
        r->slots = c.slots;
        co_return r;
    }
    // Named, not temporaries of the co_await expression: g++ 12 destroys those twice.
    engine_spec spec{model, index, generation, r->slots};
    pool_config cfg = c;
    auto launched = co_await launcher_->launch(std::move(cfg), std::move(spec));
    if (!launched) co_return launched.error();
    r->engine = std::move(launched->process);
    r->base_url = std::move(launched->base_url);
    r->api_key = std::move(launched->api_key);
    co_return r;
}

void pool_runtime::stop_replica(replica& r) {
    r.stopped = true;
    r.ready = false;
    if (r.engine) r.engine->stop(engine_stop_grace);
    if (r.wake) r.wake();
}

asio::awaitable<void> pool_runtime::stop_replicas(std::shared_ptr<pool_entry> p) {
    auto replicas = p->replicas;
    for (auto& r : replicas) stop_replica(*r);
    for (auto& r : replicas)
        if (r->engine) co_await wait_exit(r->engine);
}

asio::awaitable<void> pool_runtime::wait_exit(std::shared_ptr<engine_process> e) {
    if (e->exited()) co_return;
    // Cancelled by the exit; shared, because the engine keeps its callback until it exits.
    auto exited = std::make_shared<asio::steady_timer>(io_);
    e->on_exit([w = std::weak_ptr(exited)] {
        if (auto t = w.lock()) t->cancel();
    });
    // SIGKILL follows the grace after SIGTERM, so this ends; the bound is a safety net.
    auto give_up = std::chrono::steady_clock::now() + engine_stop_grace + 10s;
    while (!e->exited() && std::chrono::steady_clock::now() < give_up) {
        exited->expires_at(give_up);
        boost::system::error_code ec;
        co_await exited->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

asio::awaitable<bool> pool_runtime::probe(std::shared_ptr<replica> r, engine_kind kind) {
    const auto& a = engines::adapter_for(adapter_kind(kind));
    http::client_request q;
    q.url = r->base_url + a.health_path();
    q.timeout = 2s;
    if (!r->api_key.empty()) q.headers.add("Authorization", "Bearer " + r->api_key);
    auto res = co_await client_->send(std::move(q));
    if (!res || res->status != 200) co_return false;
    if (kind != engine_kind::openai && kind != engine_kind::ollama) co_return true;
    auto listed = engines::parse_upstream_models(adapter_kind(kind), res->body);
    if (!listed) co_return true;  // answers, but lists nothing we can read: trust the answer
    r->upstream_models = std::move(*listed);
    const bool missing = !engines::lists_model(r->upstream_models, r->model);
    if (missing != r->model_missing)
        log_->warn("model={} endpoint={} {}", r->model, r->base_url,
                   missing ? "the server no longer lists the model: probes fail until it does"
                           : "the server lists the model again");
    r->model_missing = missing;
    co_return !missing;
}

}  // namespace llorch::pool
