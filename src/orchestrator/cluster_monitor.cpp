#include "orchestrator/cluster_monitor.h"

#include "admission/admission_config.h"
#include "orchestrator/cluster_events_json.h"
#include "orchestrator/cluster_reader.h"
#include "orchestrator/task_service.h"
#include "registry/node_registry.h"

namespace llorch::orchestrator {
namespace {

long long ms_of(std::chrono::nanoseconds d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

cluster::pool_row pool_row_of(const pool::pool_view& v) {
    cluster::pool_row r;
    r.id = v.name();
    r.node_id = v.placement ? v.placement->node_id : std::string();
    r.state = std::string(pool::to_string(v.pool.state));
    r.model = v.pool.name.empty() && !v.models.empty() ? v.models.front() : v.pool.name;
    r.engine = v.pool.engine;
    r.device = v.pool.device;
    r.slots_total = v.pool.slots_total;
    // The control plane's own count where it has one (CLOUD), else the pool's.
    r.slots_free = v.placement ? v.placement->slots_free : v.pool.slots_free;
    r.slots_busy = v.placement ? v.placement->in_flight : v.pool.in_flight;
    r.vram_total_bytes = v.pool.vram_total_bytes;
    r.vram_free_bytes = v.pool.vram_free_bytes;
    // The mean over the pool's GPUs that report it (NVML discovery does).
    double busy = 0;
    int known = 0;
    for (const auto& g : v.pool.gpus)
        if (g.utilization) {
            busy += *g.utilization;
            ++known;
        }
    if (known > 0) r.gpu_util_percent = 100 * busy / known;
    r.last_error = v.pool.last_error;
    return r;
}

std::string pool_of(const task& t) {
    return t.node_id.empty() ? t.pool_id : t.node_id + "/" + t.pool_id;
}

}  // namespace

cluster_monitor::cluster_monitor(boost::asio::io_context& io, cluster_monitor_options opts,
                                 task_service& tasks, const registry::node_registry* nodes,
                                 common::clock& clock)
    : io_(io),
      opts_(std::move(opts)),
      tasks_(tasks),
      nodes_(nodes),
      clock_(clock),
      view_(opts_.view),
      hub_(std::make_shared<cluster_event_hub>(opts_.log)),
      timer_(io),
      background_(io.get_executor()) {
    auto wall = std::chrono::system_clock::now().time_since_epoch();
    wall_offset_ms_ = ms_of(wall) - ms_of(clock_.now().time_since_epoch());
}

cluster_monitor::~cluster_monitor() { hub_->closed = true; }

long long cluster_monitor::wall_ms() const { return wall_ms(clock_.now()); }

long long cluster_monitor::wall_ms(common::clock::time_point t) const {
    return wall_offset_ms_ + ms_of(t.time_since_epoch());
}

void cluster_monitor::start() { background_.spawn(loop(), "cluster events"); }

asio::awaitable<void> cluster_monitor::stop() {
    if (stopped_) co_return;
    stopped_ = true;
    hub_->closed = true;
    for (auto* w : hub_->waiters) w->cancel();
    timer_.cancel();
    co_await background_.stop();
}

asio::awaitable<void> cluster_monitor::loop() {
    while (!stopped_) {
        bool due = co_await clock_.wait_for(timer_, opts_.tick);
        if (due && !stopped_) tick();
    }
}

void cluster_monitor::tick() {
    auto now = clock_.now();
    for (const auto& [id, row] : view_.running()) {
        auto t = tasks_.find(id);
        if (!t) continue;
        std::optional<cluster::time_point> first;
        if (t->tokens > 0) first = t->first_token;
        view_.task_progress(id, t->tokens, first, now);
    }
    refresh_queue();
    if (hub_->readers > 0) refresh_listings();
    auto s = view_.tick(now, wall_ms());
    hub_->append(cluster_json::stats(s, view_, now));
}

void cluster_monitor::refresh_queue() {
    cluster::queue_depths q{tasks_.queue_depth(admission::task_priority::interactive),
                            tasks_.queue_depth(admission::task_priority::batch)};
    if (view_.set_queue(q)) hub_->append(cluster_json::queue(q));
}

void cluster_monitor::refresh_listings() {
    if (nodes_) {
        std::vector<cluster::node_row> rows;
        for (const auto& [id, n] : nodes_->nodes()) {
            cluster::node_row r;
            r.node_id = n.node_id;
            r.state = std::string(registry::to_string(n.state));
            r.address = n.address;
            r.version = n.version;
            if (n.last_heartbeat != registry::time_point{})
                r.last_heartbeat_ms = wall_ms(n.last_heartbeat);
            r.pools = n.pools.size();
            rows.push_back(std::move(r));
        }
        auto c = view_.set_nodes(std::move(rows));
        for (const auto& n : c.changed) hub_->append(cluster_json::node(n));
        for (const auto& id : c.removed) hub_->append(cluster_json::node_removed(id));
    }
    if (pools_) {
        std::vector<cluster::pool_row> rows;
        for (const auto& v : pools_->list()) rows.push_back(pool_row_of(v));
        auto c = view_.set_pools(std::move(rows));
        for (const auto& p : c.changed) hub_->append(cluster_json::pool(p));
        for (const auto& id : c.removed) hub_->append(cluster_json::pool_removed(id));
    }
}

std::shared_ptr<http::body_stream> cluster_monitor::open() {
    // The listings are not read while nobody reads: bring them up to date for this snapshot.
    refresh_listings();
    refresh_queue();
    auto now = clock_.now();
    return std::make_shared<cluster_reader>(
        io_, hub_, cluster_json::snapshot(view_, opts_.profile, now, wall_ms(now)));
}

// The log is only ever read from the moment a reader opens (after its snapshot), so with no
// reader a task's frame would be written for nobody: the view is kept, the frames are not.
void cluster_monitor::on_queued(const task& t) {
    if (hub_->readers == 0) return;
    auto pos = tasks_.queue_position(t.spec.task_id).value_or(0);
    hub_->append(cluster_json::task_queued(t.spec.task_id, t.spec.model,
                                           admission::to_string(t.spec.priority), pos));
    refresh_queue();
}

void cluster_monitor::on_started(const task& t) {
    cluster::task_row r;
    r.task_id = t.spec.task_id;
    r.model = t.spec.model;
    r.priority = std::string(admission::to_string(t.spec.priority));
    r.pool = pool_of(t);
    r.node_id = t.node_id;
    r.started = clock_.now();
    const auto& row = view_.task_started(std::move(r));
    if (hub_->readers == 0) return;
    hub_->append(cluster_json::task_started(row, row.priority, t.attempts));
    refresh_queue();
}

void cluster_monitor::on_ended(const task& t) {
    auto now = clock_.now();
    cluster::task_end e;
    e.task_id = t.spec.task_id;
    e.model = t.spec.model;
    e.pool = pool_of(t);
    e.outcome = std::string(to_string(t.state));
    if (t.error) {
        e.error_code = std::string(api::to_string(t.error->code));
        e.message = t.error->message;
    }
    e.tokens = t.tokens;
    if (t.tokens > 0)
        e.ttft_ms = std::chrono::duration<double, std::milli>(t.first_token - t.started).count();
    e.duration_ms = ms_of(now - t.created);
    view_.task_ended(e, wall_ms(now), now);
    if (hub_->readers == 0) return;
    hub_->append(cluster_json::task_ended(e, wall_ms(now)));
    refresh_queue();
}

}  // namespace llorch::orchestrator
