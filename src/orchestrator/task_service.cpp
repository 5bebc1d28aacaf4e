#include "orchestrator/task_service.h"

#include <algorithm>
#include <set>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "api/flat_json.h"
#include "common/log.h"
#include "http/sse.h"

namespace llorch::orchestrator {
using namespace std::chrono_literals;

namespace {
std::shared_ptr<spdlog::logger> tasks_log() {
    static auto l = common::logger("tasks");
    return l;
}
}  // namespace

task_service::task_service(asio::io_context& io, service_options opts,
                           placement::placement_index& index, pool_backend& backend,
                           common::metrics_registry& metrics)
    : task_service(io, std::move(opts), index, backend, metrics, common::real_clock::instance()) {}

task_service::task_service(asio::io_context& io, service_options opts,
                           placement::placement_index& index, pool_backend& backend,
                           common::metrics_registry& metrics, common::clock& clock)
    : io_(io),
      clock_(clock),
      opts_(std::move(opts)),
      index_(index),
      backend_(backend),
      queue_(opts_.admission),
      rate_(opts_.rate),
      metrics_(metrics),
      tasks_(metrics_, [this](std::chrono::nanoseconds held) { rate_.observe(held); }),
      sessions_(opts_.session_ttl),
      dispatcher_(io, clock_, queue_, index_, backend_, tasks_, sessions_, metrics_,
                  [this](std::shared_ptr<task> t, placement::placement_decision d) {
                      on_placed(std::move(t), std::move(d));
                  }),
      runner_(io, clock_,
              {.max_attempts = opts_.max_attempts,
               .retry_base = opts_.retry_base,
               .retry_cap = opts_.retry_cap,
               .seed = opts_.retry_seed},
              index_, backend_, tasks_, metrics_, dispatcher_, queue_),
      sweep_timer_(io),
      background_(io.get_executor()) {
    metrics.add_collector([this](common::scrape& s) { report_metrics(s); });
}

task_service::~task_service() = default;

void task_service::start() {
    background_.spawn(dispatcher_.run(), "dispatcher");
    background_.spawn(housekeeping_loop(), "retention sweep");
}

void task_service::wake() { dispatcher_.wake(); }

void task_service::set_observer(task_observer* o) {
    observer_ = o;
    if (o)
        tasks_.on_finish([o](const task& t) { o->on_ended(t); });
    else
        tasks_.on_finish({});
}

void task_service::finish(task& t, task_state s, std::optional<api::error> e) {
    tasks_.finish(t, s, std::move(e), clock_.now());
}

long long task_service::predicted_start_ms(size_t position) const {
    return rate_.predicted_start_ms(position, runner_.running());
}

long long task_service::retry_after_ms() const {
    return rate_.retry_after_ms(queue_.size(), runner_.running());
}

// The `loading` event: the task waits for its model's engine to load (docs/models.md).
void task_service::append_loading(task& t, const std::string& pool_id) {
    std::string f;
    http::append_sse(f, "loading",
                     api::flat_json().str("model", t.spec.model).str("pool_id", pool_id).closed());
    t.append(std::move(f));
    tasks_log()->info("task_id={} model={} waits for pool_id={} to load", t.spec.task_id,
                      t.spec.model, pool_id);
}

model_demand task_service::demand_for(const std::string& placement_model) const {
    return {.waiting = std::max<size_t>(1, queue_.waiting(placement_model)),
            .service_time = std::chrono::milliseconds(
                static_cast<int64_t>(std::max(0.001, rate_.service_s()) * 1000))};
}

api::api_result<void> task_service::unload_model(const std::string& model) {
    return backend_.unload(model);
}

std::optional<std::string> task_service::load_model(
    const std::string& model, std::optional<std::chrono::milliseconds> keep_alive) {
    backend_.revive(model);
    return backend_.ensure_loaded(model, keep_alive, demand_for(model));
}

api::api_result<admission_info> task_service::submit(task_spec spec) {
    if (stopping_) {
        auto e = api::make_error(api::error_code::shutting_down,
                                 "orchestratord is shutting down and takes no new tasks");
        e.retriable = true;
        e.retry_after_ms = 1000;
        return e;
    }
    if (auto t = tasks_.find(spec.task_id)) {
        auto pos = queue_.position(spec.task_id);
        return admission_info{t, pos.value_or(0), predicted_start_ms(pos.value_or(0)), true};
    }
    if (auto ok = resolve_task_type(spec); !ok) return ok.error();
    spec.placement_model = spec.is_embedding() ? placement::embeddings_key(spec.model) : spec.model;
    backend_.revive(spec.model);  // a failed on-demand load is tried again by a new task
    if (auto ok = check_limits(spec); !ok) return ok.error();
    auto t = std::make_shared<task>(io_);
    t->created = clock_.now();
    t->created_wall = std::chrono::system_clock::now();
    t->spec = std::move(spec);
    admission::queued_task q;
    q.task_id = t->spec.task_id;
    q.priority = t->spec.priority;
    q.model = t->spec.placement_model;
    q.enqueued_at = t->created;
    if (t->spec.deadline) q.deadline = t->created + *t->spec.deadline;
    auto pushed = queue_.push(q);
    if (!pushed) {
        metrics_.rejected("queue_full", admission::to_string(queue_.config().policy));
        auto retry = retry_after_ms();
        auto e = api::make_error(api::error_code::admission_reject,
                                 "the queue is full (" + std::to_string(queue_.capacity()) +
                                     " tasks); retry after the suggested delay");
        e.retriable = true;
        e.retry_after_ms = retry;
        e.policy_label = std::string(admission::to_string(queue_.config().policy));
        return e;
    }
    metrics_.enqueued(t->spec.priority);
    tasks_.add(t);
    if (observer_) observer_->on_queued(*t);
    if (auto loading = backend_.ensure_loaded(t->spec.model, t->spec.keep_alive,
                                              demand_for(t->spec.placement_model)))
        append_loading(*t, *loading);
    if (pushed->evicted) {
        metrics_.rejected("dropped_lru", admission::to_string(queue_.config().policy));
        if (auto evicted = tasks_.find(pushed->evicted->task_id)) {
            auto e = api::make_error(api::error_code::queue_full_drop_lru,
                                     "dropped from the full queue to make room for newer work");
            e.retriable = true;
            e.retry_after_ms = 1000;
            finish(*evicted, task_state::failed, e);
        }
    }
    auto pos = queue_.position(t->spec.task_id).value_or(0);
    tasks_log()->info("task_id={} session_id={} model={} queued at position {}", t->spec.task_id,
                      t->spec.session_id, t->spec.model, pos);
    wake();
    return admission_info{t, pos, predicted_start_ms(pos), false};
}

// The checks that need the model's pools: the model is served, max_tokens within its cap (a
// default when absent), and the prompt not surely longer than the context.
// What the task asks of the cluster that the cluster cannot give, ever: an engine kind no pool
// runs, a pinned pool that does not exist (without fallback).
std::optional<api::error> task_service::check_against_cluster(const task_spec& spec) const {
    if (!spec.engine.empty()) {
        std::set<std::string> kinds;
        index_.for_each_pool([&](placement::pool_ref, const placement::pool_entry& e) {
            kinds.insert(e.state.engine);
        });
        if (!kinds.contains(spec.engine)) {
            std::string have;
            for (const auto& k : kinds) have += (have.empty() ? "" : ", ") + k;
            return api::make_error(api::error_code::invalid_params,
                                   "engine: no pool runs '" + spec.engine +
                                       "' (pools run: " + have + "); leave it out to take any");
        }
    }
    const auto& pl = spec.placement;
    if (pl.mode == placement::placement_mode::pin && !pl.allow_fallback &&
        !index_.find(pl.pin_pool_id)) {
        return api::make_error(api::error_code::invalid_params,
                               "placement.pin_pool_id: no pool '" + pl.pin_pool_id +
                                   "' in this cluster (GET /v2/pools lists them); set "
                                   "placement.allow_fallback to run elsewhere");
    }
    return std::nullopt;
}

api::api_result<void> task_service::resolve_task_type(task_spec& spec) const {
    if (spec.task_type.empty()) return {};
    if (auto it = opts_.task_types.find(spec.task_type); it != opts_.task_types.end()) {
        spec.model = it->second;
        return {};
    }
    std::string known;
    for (const auto& [type, model] : opts_.task_types) known += (known.empty() ? "" : ", ") + type;
    return api::make_error(api::error_code::invalid_params,
                           "task_type: unknown type '" + spec.task_type +
                               "'; known types: " + (known.empty() ? "none configured" : known));
}

api::api_result<void> task_service::check_limits(task_spec& spec) const {
    auto limits = backend_.limits(spec.model);
    if (!limits || !index_.serves(spec.model)) {
        return api::make_error(api::error_code::model_not_available,
                               "no pool serves model '" + spec.model +
                                   "'; GET /v2/pools lists the models this cluster has");
    }
    if (spec.is_embedding() && !index_.serves(spec.placement_model)) {
        return api::make_error(api::error_code::model_not_available,
                               "no pool serves embeddings of model '" + spec.model +
                                   "'; a pool answers embedding requests when its table says "
                                   "embeddings = true");
    }
    if (!index_.can_start(spec.placement_model))
        return no_pool_can_start(spec.model, backend_.load_failure(spec.model));
    if (auto bad = check_against_cluster(spec)) return *bad;
    auto& g = spec.generation;
    if (spec.is_embedding()) {
        // A text over the context in bytes may still fit in tokens; one over it 8 times cannot.
        for (size_t i = 0; limits->ctx > 0 && i < g.embed.size(); ++i)
            if (g.embed[i].size() > static_cast<size_t>(limits->ctx) * 8)
                return api::make_error(api::error_code::invalid_params,
                                       "embed[" + std::to_string(i) +
                                           "]: longer than the context of model '" + spec.model +
                                           "' (" + std::to_string(limits->ctx) + " tokens)");
        return {};
    }
    if (g.max_tokens == 0) g.max_tokens = limits->max_tokens_default;
    if (g.max_tokens > limits->max_tokens_cap) {
        return api::make_error(api::error_code::invalid_params,
                               "max_tokens: " + std::to_string(g.max_tokens) +
                                   " is over the cap of model '" + spec.model + "' (" +
                                   std::to_string(limits->max_tokens_cap) + ")");
    }
    // A token is at least one byte, so only prompts longer than the context in bytes can be over
    // it; those are refused when even the shortest possible tokenization (4 bytes per token on
    // average is generous for these vocabularies) cannot fit.
    if (limits->ctx > 0) {
        size_t bytes = g.prompt ? g.prompt->size() : 0;
        for (const auto& m : g.messages) bytes += m.content.size();
        if (bytes > static_cast<size_t>(limits->ctx) * 8) {
            return api::make_error(api::error_code::invalid_params,
                                   "prompt: longer than the context of model '" + spec.model +
                                       "' (" + std::to_string(limits->ctx) + " tokens)");
        }
    }
    return {};
}

asio::awaitable<api::api_result<void>> task_service::check_prompt(const task_spec& spec) {
    auto limits = backend_.limits(spec.model);
    if (!limits || limits->ctx <= 0) co_return api::api_result<void>{};
    const auto& g = spec.generation;
    std::string text = g.prompt.value_or("");
    for (const auto& m : g.messages) text += m.content + "\n";
    // A token is at least one byte, plus the start token.
    if (text.size() + 1 <= static_cast<size_t>(limits->ctx)) co_return api::api_result<void>{};
    auto n = co_await backend_.count_tokens(spec.model, text);
    if (n && *n > limits->ctx) {
        co_return api::make_error(api::error_code::invalid_params,
                                  "prompt: " + std::to_string(*n) +
                                      " tokens, longer than the context of model '" + spec.model +
                                      "' (" + std::to_string(limits->ctx) + " tokens per request)");
    }
    co_return api::api_result<void>{};
}

std::shared_ptr<task> task_service::find(const std::string& id) const { return tasks_.find(id); }

std::optional<size_t> task_service::queue_position(const std::string& id) const {
    return queue_.position(id);
}

api::api_result<void> task_service::cancel(const std::string& id) {
    auto t = find(id);
    if (!t) return api::make_error(api::error_code::not_found, "no task '" + id + "'");
    if (t->finished()) return {};
    queue_.remove(id);
    dispatcher_.forget(t);
    auto* up = t->upstream;
    finish(*t, task_state::cancelled,
           api::make_error(api::error_code::cancelled, "the task was cancelled"));
    // The engine connection drops now, so the engine frees the slot at its next token.
    if (up) up->cancel();
    tasks_log()->info("task_id={} cancelled", id);
    return {};
}

void task_service::on_placed(std::shared_ptr<task> t, placement::placement_decision d) {
    auto now = clock_.now();
    t->state = task_state::running;
    t->pool = d.pool;
    t->node_id = d.node_id;
    t->pool_id = d.pool_id;
    metrics_.started(t->spec.priority, t->spec.model,
                     std::chrono::duration<double>(now - t->created).count());
    sessions_.record_turn(t->spec.session_id, d, now);
    if (observer_) observer_->on_started(*t);
    runner_.start(std::move(t), std::move(d));
}

void task_service::on_reader_gone(task& t) {
    if (t.readers > 0 || t.finished() || !t.spec.cancel_on_disconnect) return;
    if (t.grace_timer)
        t.grace_timer->cancel();  // a grace already running starts over
    else
        t.grace_timer = std::make_unique<asio::steady_timer>(io_);
    background_.spawn(cancel_after_grace(find(t.spec.task_id)), "disconnect grace");
}

// Holds the task for the grace period; a reader that comes back (task_reader) or the task's end
// (task_table::finish) cancels the wait through the task's grace timer.
asio::awaitable<void> task_service::cancel_after_grace(std::shared_ptr<task> t) {
    if (!t) co_return;
    bool due = co_await clock_.wait_for(*t->grace_timer, opts_.disconnect_grace);
    if (!due || t->readers > 0 || t->finished()) co_return;
    tasks_log()->info("task_id={} cancelled: its last reader left", t->spec.task_id);
    cancel(t->spec.task_id);
}

std::shared_ptr<http::body_stream> task_service::open_events(const std::shared_ptr<task>& t,
                                                             std::optional<long long> last_event_id,
                                                             bool verbose) {
    return std::make_shared<task_reader>(
        t, last_event_id, [this](task& x) { on_reader_gone(x); }, verbose);
}

const session_info* task_service::session(const std::string& id) const {
    return sessions_.find(id, clock_.now());
}

bool task_service::drop_session(const std::string& id) { return sessions_.drop(id); }

asio::awaitable<void> task_service::housekeeping_loop() {
    while (!stopped_) {
        co_await clock_.wait_for(sweep_timer_, opts_.sweep_interval);
        auto now = clock_.now();
        tasks_.sweep(now, opts_.retention, opts_.max_retained);
        sessions_.sweep(now);
    }
}

asio::awaitable<void> task_service::stop(std::chrono::milliseconds deadline) {
    stopping_ = true;
    auto end = clock_.now() + deadline;
    // Queued tasks that never started end now; running ones get until the deadline.
    for (const auto& t :
         tasks_.select([](const task& x) { return x.state == task_state::queued; })) {
        queue_.remove(t->spec.task_id);
        auto e = api::make_error(api::error_code::shutting_down,
                                 "orchestratord shut down before the task started");
        e.retriable = true;
        finish(*t, task_state::failed, e);
    }
    dispatcher_.forget_all();
    co_await runner_.wait_idle(end);
    for (const auto& t : tasks_.select([](const task& x) { return !x.finished(); }))
        cancel(t->spec.task_id);
    stopped_ = true;
    dispatcher_.stop();
    sweep_timer_.cancel();
    co_await background_.stop();
}

void task_service::report_metrics(common::scrape& s) const {
    s.gauge("queue_depth", "Tasks waiting in the queue.", {}, static_cast<double>(queue_.size()));
    for (auto p : {admission::task_priority::interactive, admission::task_priority::batch})
        s.gauge("queue_tasks", "Tasks waiting in the queue, by priority.",
                {{"priority", std::string(admission::to_string(p))}},
                static_cast<double>(queue_.size(p)));
    s.gauge("tasks_running", "Tasks running on an engine.", {},
            static_cast<double>(runner_.running()));
}

}  // namespace llorch::orchestrator
