#include "orchestrator/task_runner.h"

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "api/flat_json.h"
#include "api/json_body.h"
#include "common/log.h"
#include "engines/embeddings.h"
#include "http/sse.h"

namespace llorch::orchestrator {
using namespace std::chrono_literals;

namespace {
std::shared_ptr<spdlog::logger> runner_log() {
    static auto l = common::logger("tasks");
    return l;
}

long long ms_between(clock::time_point a, clock::time_point b) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

double seconds_between(clock::time_point a, clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

api::error engine_error(const engines::engine_event& ev, const std::string& engine) {
    auto code =
        api::error_code_from_string(ev.finish_reason).value_or(api::error_code::upstream_failed);
    auto e = api::make_error(code, ev.message.empty() ? "the engine failed" : ev.message);
    e.engine = engine;
    e.retriable = code != api::error_code::invalid_params;
    return e;
}

std::string pool_name(const placement::placement_decision& d) {
    return d.node_id.empty() ? d.pool_id : d.node_id + "/" + d.pool_id;
}

// A metrics frame and its ?verbose=true twin, which adds `message`.
void append_metrics(task& t, api::flat_json m, const std::string& message) {
    std::string plain, verbose;
    http::append_sse(plain, "metrics", m.closed());
    http::append_sse(verbose, "metrics", m.str("message", message).closed());
    t.append(std::move(plain), -1, std::move(verbose));
}
}  // namespace

task_runner::task_runner(asio::io_context& io, common::clock& clock, runner_options opts,
                         placement::placement_index& index, pool_backend& backend,
                         task_table& tasks, task_metrics& metrics, dispatcher& dispatch,
                         const admission::admission_queue& queue)
    : io_(io),
      clock_(clock),
      opts_(opts),
      index_(index),
      backend_(backend),
      tasks_(tasks),
      metrics_(metrics),
      dispatch_(dispatch),
      queue_(queue),
      backoff_({.base = opts.retry_base,
                .cap = opts.retry_cap,
                .max_retries = static_cast<uint32_t>(std::max(opts.max_attempts - 1, 0))},
               opts.seed),
      idle_(io) {}

void task_runner::start(std::shared_ptr<task> t, placement::placement_decision d) {
    ++running_;
    asio::co_spawn(io_, run(std::move(t), std::move(d)), asio::detached);
}

void task_runner::run_ended() {
    if (--running_ == 0) idle_.cancel();
    dispatch_.wake();
}

asio::awaitable<void> task_runner::wait_idle(clock::time_point deadline) {
    while (running_ > 0 && clock_.now() < deadline) co_await clock_.wait_until(idle_, deadline);
}

bool task_runner::may_retry(const task& t, const api::error& e) const {
    return e.retriable.value_or(false) && t.attempts < opts_.max_attempts;
}

asio::awaitable<void> task_runner::run(std::shared_ptr<task> t, placement::placement_decision d) {
    std::string engine = "llamacpp";
    if (auto* pe = index_.find(d.pool)) engine = pe->state.engine;
    ++t->attempts;
    t->started = clock_.now();
    auto g = t->spec.generation;
    g.attempt = t->attempts - 1;
    if (auto f = engines::field_unsupported_by(engine, g)) {
        // Another pool of the model might run another engine, but placement chose this one:
        // refused by name rather than sent to an engine that would drop the field.
        index_.on_complete(d.pool, true, std::nullopt, t->spec.job_id);
        tasks_.finish(*t, task_state::failed,
                      api::invalid_field(f->field, f->why + " (pool " + d.pool_id + ")"),
                      clock_.now());
        run_ended();
        co_return;
    }
    t->series = &metrics_.series(t->metrics_key());
    auto up = co_await backend_.open(d, g);
    if (!up) {
        const auto& err = up.error();
        // A full pool is backpressure, not a failure of the pool.
        bool full = err.code == api::error_code::pool_unavailable;
        index_.on_complete(d.pool, full, std::nullopt, t->spec.job_id);
        // A full pool answered; only a pool that failed to take the request counts against it.
        if (!full) attempt_ended(*t, d, monitor::request_outcome::failed, std::nullopt);
        if (t->finished()) {
            run_ended();
        } else if (may_retry(*t, err)) {
            co_await retry_later(t, pool_name(d), !full);  // not started anywhere yet
        } else {
            tasks_.finish(*t, task_state::failed, err, clock_.now());
            run_ended();
        }
        co_return;
    }
    auto stream = std::move(*up);
    metrics_.routed(seconds_between(t->started, clock_.now()));
    if (t->finished()) {  // cancelled while opening
        stream->cancel();
        index_.on_complete(d.pool, true, std::nullopt, t->spec.job_id);
        attempt_ended(*t, d, monitor::request_outcome::cancelled, std::nullopt);
        run_ended();
        co_return;
    }
    t->upstream = stream.get();
    append_started(*t, d);
    auto r = co_await relay(t, stream.get(), engine);
    t->upstream = nullptr;
    stream.reset();
    index_.on_complete(d.pool, r.completed || t->state == task_state::cancelled, r.ttft_ms,
                       t->spec.job_id);
    attempt_ended(*t, d,
                  r.completed                         ? monitor::request_outcome::completed
                  : t->state == task_state::cancelled ? monitor::request_outcome::cancelled
                                                      : monitor::request_outcome::failed,
                  r.ttft_ms);
    if (r.completed) {
        t->series->e2e->Observe(seconds_between(t->created, t->ended));
        runner_log()->info("task_id={} pool_id={} tokens_out={} decode_time_ms={} done",
                           t->spec.task_id, d.pool_id, t->tokens_out,
                           ms_between(t->started, t->ended));
    }
    if (r.retry && !t->finished()) {
        co_await retry_later(t, pool_name(d), true);  // nothing reached the client yet
        co_return;
    }
    run_ended();
}

asio::awaitable<task_runner::relay_result> task_runner::relay(std::shared_ptr<task> t,
                                                              pool::infer_stream* s,
                                                              std::string engine) {
    relay_result r;
    for (;;) {
        auto ev = co_await s->next();
        if (t->finished() || !ev) break;
        if (ev->type == engines::engine_event::kind::token ||
            ev->type == engines::engine_event::kind::tool_call ||
            ev->type == engines::engine_event::kind::embedding) {
            const auto now = clock_.now();
            if (t->tokens == 0) {
                t->first_token = now;
                r.ttft_ms = static_cast<double>(ms_between(t->started, t->first_token));
                t->series->ttft->Observe(seconds_between(t->started, now));
            } else {
                t->series->inter_token->Observe(seconds_between(t->last_token, now));
            }
            t->last_token = now;
            if (ev->type == engines::engine_event::kind::token) {
                t->append(token_frame(ev->text, t->tokens), t->tokens);
            } else if (ev->type == engines::engine_event::kind::embedding) {
                std::string f;
                http::append_sse(f, "embedding", engines::embedding_json(*ev, t->tokens),
                                 t->tokens);
                t->append(std::move(f), t->tokens);
            } else {
                std::string f;
                http::append_sse(f, "tool_call", engines::tool_call_json(*ev, t->tokens),
                                 t->tokens);
                t->append(std::move(f), t->tokens);
            }
            ++t->tokens;
            t->series->tokens_out->Increment();
        } else if (ev->type == engines::engine_event::kind::end) {
            append_end(*t, *ev);
            tasks_.finish(*t, task_state::completed, std::nullopt, clock_.now());
            r.completed = true;
            break;
        } else {
            auto err = engine_error(*ev, engine);
            if (t->tokens == 0 && may_retry(*t, err)) {
                r.retry = true;
                break;
            }
            if (t->tokens > 0 && err.code == api::error_code::worker_reset)
                err.code = api::error_code::upstream_failed;
            tasks_.finish(*t, task_state::failed, err, clock_.now());
            break;
        }
    }
    co_return r;
}

asio::awaitable<void> task_runner::retry_later(std::shared_ptr<task> t, std::string failed_pool,
                                               bool avoid) {
    run_ended();
    metrics_.retried(t->spec.model, avoid ? "pool_failed" : "pool_full");
    t->state = task_state::queued;
    if (avoid) t->retry_avoid.push_back(std::move(failed_pool));
    auto delay = backoff_.delay(static_cast<uint32_t>(t->attempts)).value_or(0ms);
    asio::steady_timer timer(io_);
    co_await clock_.wait_for(timer, delay);
    if (!t->finished()) dispatch_.requeue_front(t);
}

void task_runner::attempt_ended(const task& t, const placement::placement_decision& d,
                                monitor::request_outcome outcome, std::optional<double> ttft_ms) {
    if (!monitor_) return;
    const auto now = clock_.now();
    const double e2e_ms = std::chrono::duration<double, std::milli>(now - t.started).count();
    monitor_->on_request(d.node_id, d.pool_id, outcome, ttft_ms, e2e_ms, now);
}

void task_runner::append_started(task& t, const placement::placement_decision& d) {
    api::flat_json o;
    o.num("queue_position", 0)
        .num("predicted_start_ms", 0)
        .str("node_id", d.node_id)
        .str("pool_id", d.pool_id)
        .str("task_id", t.spec.task_id)
        .str("model", t.spec.model)
        .num("attempt", t.attempts - 1);
    std::string f;
    http::append_sse(f, "started", o.closed());
    t.append(std::move(f));
    auto waited = ms_between(t.created, t.started);
    auto depth = static_cast<long long>(queue_.size());
    append_metrics(t,
                   std::move(api::flat_json()
                                 .num("queue_wait_ms", waited)
                                 .num("attempt", t.attempts - 1)
                                 .num("queue_depth", depth)),
                   "started on pool " + (d.node_id.empty() ? "" : d.node_id + "/") + d.pool_id +
                       " after " + std::to_string(waited) + " ms in the queue (attempt " +
                       std::to_string(t.attempts) + ", " + std::to_string(depth) +
                       " tasks still queued)");
}

void task_runner::append_end(task& t, const engines::engine_event& ev) {
    auto now = clock_.now();
    t.tokens_out = ev.tokens_out >= 0 ? ev.tokens_out : t.tokens;
    // A closing metrics frame: throughput of the generation as the client saw it.
    auto gen_ms = std::max<long long>(1, ms_between(t.started, now));
    auto ttft = t.tokens > 0 ? ms_between(t.started, t.first_token) : 0;
    append_metrics(t,
                   std::move(api::flat_json()
                                 .num("tokens", t.tokens)
                                 .num("generation_ms", gen_ms)
                                 .num("ttft_ms", ttft)),
                   std::to_string(t.tokens) + " tokens in " + std::to_string(gen_ms) + " ms (" +
                       std::to_string(t.tokens * 1000 / gen_ms) + " tokens/s), first token after " +
                       std::to_string(ttft) + " ms");
    api::flat_json o;
    o.num("tokens_out", t.tokens_out)
        .num("decode_ms", ev.decode_ms >= 0 ? ev.decode_ms : ms_between(t.started, now))
        .str("finish_reason", ev.finish_reason);
    if (ev.tokens_in >= 0) {
        o.num("tokens_in", ev.tokens_in);
        if (t.series) t.series->tokens_in->Increment(static_cast<double>(ev.tokens_in));
    }
    std::string f;
    http::append_sse(f, "end", o.closed());
    t.append(std::move(f));
}

}  // namespace llorch::orchestrator
