#include "orchestrator/task_service.h"

#include <algorithm>
#include <random>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "common/log.h"
#include "http/sse.h"

namespace llorch::orchestrator {
namespace json = boost::json;
using namespace std::chrono_literals;
using asio::use_awaitable;

namespace {
std::shared_ptr<spdlog::logger> log() {
    static auto l = common::logger("tasks");
    return l;
}

long long ms_between(clock::time_point a, clock::time_point b) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

std::string error_frame(const api::error& e) {
    json::object o{{"code", api::to_string(e.code)},
                   {"message", e.message},
                   {"retriable", e.retriable.value_or(false)}};
    if (e.engine) o["engine"] = *e.engine;
    if (e.retry_after_ms) o["retry_after_ms"] = *e.retry_after_ms;
    std::string out;
    http::append_sse(out, "error", json::serialize(o));
    return out;
}

api::error engine_error(const engines::engine_event& ev, const std::string& engine) {
    auto code =
        api::error_code_from_string(ev.finish_reason).value_or(api::error_code::upstream_failed);
    auto e = api::make_error(code, ev.message.empty() ? "the engine failed" : ev.message);
    e.engine = engine;
    e.retriable = code != api::error_code::invalid_params;
    return e;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}
}  // namespace

task_service::task_service(asio::io_context& io, service_options opts,
                           placement::placement_index& index, pool_backend& backend)
    : io_(io),
      opts_(std::move(opts)),
      index_(index),
      backend_(backend),
      queue_(opts_.admission),
      rate_(admission::service_rate_config{}, clock::now()),
      wake_timer_(io) {}

task_service::~task_service() = default;

void task_service::start() {
    asio::co_spawn(io_, dispatch_loop(), asio::detached);
    asio::co_spawn(io_, housekeeping_loop(), asio::detached);
}

void task_service::wake() {
    woken_ = true;
    wake_timer_.cancel();
}

long long task_service::predicted_start_ms(size_t position) const {
    return rate_.predicted_start_ms(position, clock::now());
}

expected<admission_info, api::error> task_service::submit(task_spec spec) {
    if (stopping_) {
        auto e = api::make_error(api::error_code::shutting_down,
                                 "orchestratord is shutting down and takes no new tasks");
        e.retriable = true;
        e.retry_after_ms = 1000;
        return fail(e);
    }
    if (auto it = tasks_.find(spec.task_id); it != tasks_.end()) {
        auto pos = queue_.position(spec.task_id);
        return admission_info{it->second, pos.value_or(0), predicted_start_ms(pos.value_or(0)),
                              true};
    }
    auto limits = backend_.limits(spec.model);
    if (!limits || !index_.serves(spec.model)) {
        auto e = api::make_error(api::error_code::model_not_available,
                                 "no pool serves model '" + spec.model +
                                     "'; GET /v2/pools lists the models this cluster has");
        return fail(e);
    }
    auto& g = spec.generation;
    if (g.max_tokens == 0) g.max_tokens = limits->max_tokens_default;
    if (g.max_tokens > limits->max_tokens_cap) {
        return fail(api::make_error(api::error_code::invalid_params,
                                    "max_tokens: " + std::to_string(g.max_tokens) +
                                        " is over the cap of model '" + spec.model + "' (" +
                                        std::to_string(limits->max_tokens_cap) + ")"));
    }
    // A token is at least one byte, so only prompts longer than the context in bytes can be over
    // it; those are refused when even the shortest possible tokenization (4 bytes per token on
    // average is generous for these vocabularies) cannot fit.
    if (limits->ctx > 0) {
        size_t bytes = g.prompt ? g.prompt->size() : 0;
        for (const auto& m : g.messages) bytes += m.content.size();
        if (bytes > static_cast<size_t>(limits->ctx) * 8) {
            return fail(api::make_error(api::error_code::invalid_params,
                                        "prompt: longer than the context of model '" + spec.model +
                                            "' (" + std::to_string(limits->ctx) + " tokens)"));
        }
    }
    auto t = std::make_shared<task>(io_);
    t->created = clock::now();
    t->created_wall = std::chrono::system_clock::now();
    t->spec = std::move(spec);
    admission::queued_task q;
    q.task_id = t->spec.task_id;
    q.priority = t->spec.priority;
    q.model = t->spec.model;
    q.enqueued_at = t->created;
    if (t->spec.deadline) q.deadline = t->created + *t->spec.deadline;
    auto pushed = queue_.push(q);
    if (!pushed) {
        ++rejected_;
        auto retry = std::max<long long>(100, predicted_start_ms(queue_.size()));
        auto e = api::make_error(api::error_code::admission_reject,
                                 "the queue is full (" + std::to_string(queue_.capacity()) +
                                     " tasks); retry after the suggested delay");
        e.retriable = true;
        e.retry_after_ms = retry;
        e.policy_label = std::string(admission::to_string(queue_.config().policy));
        return fail(e);
    }
    ++enqueued_;
    tasks_[t->spec.task_id] = t;
    if (pushed->evicted) {
        ++dropped_lru_;
        if (auto it = tasks_.find(pushed->evicted->task_id); it != tasks_.end()) {
            auto e = api::make_error(api::error_code::queue_full_drop_lru,
                                     "dropped from the full queue to make room for newer work");
            e.retriable = true;
            e.retry_after_ms = 1000;
            finish(*it->second, task_state::failed, e);
        }
    }
    auto pos = queue_.position(t->spec.task_id).value_or(0);
    log()->info("task_id={} session_id={} model={} queued at position {}", t->spec.task_id,
                t->spec.session_id, t->spec.model, pos);
    wake();
    return admission_info{t, pos, predicted_start_ms(pos), false};
}

asio::awaitable<expected<void, api::error>> task_service::check_prompt(const task_spec& spec) {
    auto limits = backend_.limits(spec.model);
    if (!limits || limits->ctx <= 0) co_return expected<void, api::error>{};
    const auto& g = spec.generation;
    std::string text = g.prompt.value_or("");
    for (const auto& m : g.messages) text += m.content + "\n";
    // A token is at least one byte, plus the start token.
    if (text.size() + 1 <= static_cast<size_t>(limits->ctx)) co_return expected<void, api::error>{};
    auto n = co_await backend_.count_tokens(spec.model, text);
    if (n && *n > limits->ctx) {
        co_return fail(api::make_error(
            api::error_code::invalid_params,
            "prompt: " + std::to_string(*n) + " tokens, longer than the context of model '" +
                spec.model + "' (" + std::to_string(limits->ctx) + " tokens per request)"));
    }
    co_return expected<void, api::error>{};
}

std::shared_ptr<task> task_service::find(const std::string& id) const {
    auto it = tasks_.find(id);
    return it == tasks_.end() ? nullptr : it->second;
}

std::optional<size_t> task_service::queue_position(const std::string& id) const {
    return queue_.position(id);
}

void task_service::finish(task& t, task_state s, std::optional<api::error> e) {
    if (t.finished()) return;
    t.state = s;
    t.ended = clock::now();
    if (e) {
        t.error = e;
        t.append(error_frame(*e));
    }
    if (s == task_state::cancelled)
        ++canceled_;
    else if (s == task_state::failed)
        ++failed_;
    else if (s == task_state::completed)
        ++completed_;
    if (t.grace_timer) t.grace_timer->cancel();
    if (auto it = tasks_.find(t.spec.task_id); it != tasks_.end()) ended_.push_back(it->second);
    t.notify();
}

expected<void, api::error> task_service::cancel(const std::string& id) {
    auto t = find(id);
    if (!t) {
        auto e = api::make_error(api::error_code::not_found, "no task '" + id + "'");
        return fail(e);
    }
    if (t->finished()) return {};
    queue_.remove(id);
    std::erase(parked_, t);
    auto* up = t->upstream;
    finish(*t, task_state::cancelled,
           api::make_error(api::error_code::cancelled, "the task was cancelled"));
    // The engine connection drops now, so the engine frees the slot at its next token.
    if (up) up->cancel();
    log()->info("task_id={} cancelled", id);
    return {};
}

void task_service::on_reader_gone(task& t) {
    if (t.readers > 0 || t.finished() || !t.spec.cancel_on_disconnect) return;
    if (!t.grace_timer) t.grace_timer = std::make_unique<asio::steady_timer>(io_);
    t.grace_timer->expires_after(opts_.disconnect_grace);
    std::weak_ptr<task> weak = find(t.spec.task_id);
    t.grace_timer->async_wait([this, weak](boost::system::error_code ec) {
        auto tp = weak.lock();
        if (ec || !tp || tp->readers > 0 || tp->finished()) return;
        log()->info("task_id={} cancelled: its last reader left", tp->spec.task_id);
        cancel(tp->spec.task_id);
    });
}

std::shared_ptr<http::body_stream> task_service::open_events(const std::shared_ptr<task>& t,
                                                             std::optional<long long> last_event_id,
                                                             bool verbose) {
    return std::make_shared<task_reader>(
        t, last_event_id, [this](task& x) { on_reader_gone(x); }, verbose);
}

const session_info* task_service::session(const std::string& id) const {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return nullptr;
    if (clock::now() - it->second.last_used > opts_.session_ttl) return nullptr;
    return &it->second;
}

bool task_service::drop_session(const std::string& id) { return sessions_.erase(id) > 0; }

// Returns false when the task must keep waiting (no capacity for its overrides).
bool task_service::try_dispatch(const std::shared_ptr<task>& t) {
    placement::placement_request req;
    req.model = t->spec.model;
    req.overrides = t->spec.placement;
    for (const auto& p : t->retry_avoid) req.overrides.avoid_pools.push_back(p);
    if (auto* s = session(t->spec.session_id)) req.session_pool = s->pool;
    auto d = index_.place(req);
    if (!d && d.error() == placement::placement_errc::all_avoided && !t->retry_avoid.empty()) {
        // Only the pools that failed it serve the model: try them again rather than giving up
        // with an avoid-list error the client never asked for.
        req.overrides = t->spec.placement;
        d = index_.place(req);
    }
    if (!d) {
        switch (d.error()) {
            case placement::placement_errc::no_capacity:
                return false;
            case placement::placement_errc::model_not_available:
                finish(*t, task_state::failed,
                       api::make_error(api::error_code::model_not_available,
                                       "no pool serves model '" + t->spec.model + "' any more"));
                return true;
            case placement::placement_errc::pin_unsatisfiable: {
                auto e = api::make_error(api::error_code::pool_unavailable,
                                         "pinned pool '" + t->spec.placement.pin_pool_id +
                                             "' cannot run this task (unknown, draining, or "
                                             "serving another model); set allow_fallback to "
                                             "run it elsewhere");
                finish(*t, task_state::failed, e);
                return true;
            }
            case placement::placement_errc::all_avoided:
                finish(*t, task_state::failed,
                       api::make_error(api::error_code::pool_unavailable,
                                       "every pool serving '" + t->spec.model +
                                           "' is on the task's avoid list"));
                return true;
        }
    }
    index_.on_dispatch(d->pool);
    t->state = task_state::running;
    t->pool = d->pool;
    t->node_id = d->node_id;
    t->pool_id = d->pool_id;
    ++running_;
    ++started_;
    rate_.observe(clock::now());
    auto& s = sessions_[t->spec.session_id];
    s.id = t->spec.session_id;
    s.last_used = clock::now();
    ++s.turns;
    s.pool = d->pool;
    s.pool_id = d->pool_id;
    s.node_id = d->node_id;
    asio::co_spawn(io_, run(t, *d), asio::detached);
    return true;
}

asio::awaitable<void> task_service::dispatch_loop() {
    for (;;) {
        if (!woken_) {
            // Woken by submit, cancel, and every capacity change; the timeout only bounds how
            // late a queued task's deadline is noticed.
            wake_timer_.expires_after(queue_.empty() ? 3600s : 50ms);
            boost::system::error_code ec;
            co_await wake_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
        }
        woken_ = false;
        if (stopped_) co_return;
        auto now = clock::now();
        for (auto& q : queue_.expire(now)) {
            if (auto t = find(q.task_id)) {
                ++deadline_unmet_;
                finish(*t, task_state::failed,
                       api::make_error(api::error_code::deadline_unmet,
                                       "no pool could start the task before its deadline (" +
                                           std::to_string(t->spec.deadline->count()) + " ms)"));
            }
        }
        for (size_t i = 0; i < parked_.size();) {
            auto t = parked_[i];
            if (t->finished()) {
                parked_.erase(parked_.begin() + static_cast<long>(i));
                continue;
            }
            if (t->spec.deadline && now > t->created + *t->spec.deadline) {
                parked_.erase(parked_.begin() + static_cast<long>(i));
                finish(*t, task_state::failed,
                       api::make_error(api::error_code::deadline_unmet,
                                       "no pool could start the task before its deadline"));
                continue;
            }
            if (try_dispatch(t))
                parked_.erase(parked_.begin() + static_cast<long>(i));
            else
                ++i;
        }
        while (auto q = queue_.take_next(
                   [this](std::string_view m) { return index_.can_serve_now(m); })) {
            auto t = find(q->task_id);
            if (!t || t->finished()) continue;
            if (!try_dispatch(t)) parked_.push_back(t);
        }
    }
}

asio::awaitable<void> task_service::run(std::shared_ptr<task> t, placement::placement_decision d) {
    auto engine_name = std::string("llamacpp");
    if (auto* pe = index_.find(d.pool)) engine_name = pe->state.engine;
    bool retry = false;
    do {
        retry = false;
        ++t->attempts;
        t->started = clock::now();
        auto g = t->spec.generation;
        g.attempt = t->attempts - 1;
        auto up = co_await backend_.open(d, g);
        bool success = false;
        std::optional<double> ttft;
        if (!up) {
            auto err = up.error();
            index_.on_complete(d.pool, err.code == api::error_code::pool_unavailable);
            --running_;
            if (t->finished()) co_return;
            if (err.retriable.value_or(false) && t->attempts < opts_.max_attempts) {
                // Not started anywhere yet: back to the queue's front, placed afresh.
                t->state = task_state::queued;
                parked_.push_front(t);
                wake();
                co_return;
            }
            finish(*t, task_state::failed, err);
            wake();
            co_return;
        }
        auto stream = std::move(*up);
        if (t->finished()) {  // cancelled while opening
            stream->cancel();
            index_.on_complete(d.pool, true);
            --running_;
            wake();
            co_return;
        }
        t->upstream = stream.get();
        {
            json::object o{{"queue_position", 0},        {"predicted_start_ms", 0},
                           {"node_id", d.node_id},       {"pool_id", d.pool_id},
                           {"task_id", t->spec.task_id}, {"model", t->spec.model},
                           {"attempt", t->attempts - 1}};
            std::string f;
            http::append_sse(f, "started", json::serialize(o));
            t->append(std::move(f));
            json::object m{{"queue_wait_ms", ms_between(t->created, t->started)},
                           {"attempt", t->attempts - 1},
                           {"queue_depth", queue_.size()}};
            std::string mf, vf;
            http::append_sse(mf, "metrics", json::serialize(m));
            m["message"] = "started on pool " + (d.node_id.empty() ? "" : d.node_id + "/") +
                           d.pool_id + " after " +
                           std::to_string(ms_between(t->created, t->started)) +
                           " ms in the queue (attempt " + std::to_string(t->attempts) + ", " +
                           std::to_string(queue_.size()) + " tasks still queued)";
            http::append_sse(vf, "metrics", json::serialize(m));
            t->append(std::move(mf), -1, std::move(vf));
        }
        for (;;) {
            auto ev = co_await stream->next();
            if (t->finished() || !ev) break;
            if (ev->type == engines::engine_event::kind::token) {
                if (t->tokens == 0) {
                    t->first_token = clock::now();
                    ttft = static_cast<double>(ms_between(t->started, t->first_token));
                }
                t->append(token_frame(ev->text, t->tokens), t->tokens);
                ++t->tokens;
                ++tokens_total_;
            } else if (ev->type == engines::engine_event::kind::end) {
                t->tokens_out = ev->tokens_out >= 0 ? ev->tokens_out : t->tokens;
                json::object o{
                    {"tokens_out", t->tokens_out},
                    {"decode_ms",
                     ev->decode_ms >= 0 ? ev->decode_ms : ms_between(t->started, clock::now())},
                    {"finish_reason", ev->finish_reason}};
                // A closing metrics frame: throughput of the generation as the client saw it.
                auto gen_ms = std::max<long long>(1, ms_between(t->started, clock::now()));
                json::object m{
                    {"tokens", t->tokens},
                    {"generation_ms", gen_ms},
                    {"ttft_ms", t->tokens > 0 ? ms_between(t->started, t->first_token) : 0}};
                std::string mf, vf;
                http::append_sse(mf, "metrics", json::serialize(m));
                m["message"] = std::to_string(t->tokens) + " tokens in " + std::to_string(gen_ms) +
                               " ms (" + std::to_string(t->tokens * 1000 / gen_ms) +
                               " tokens/s), first token after " +
                               std::to_string(m["ttft_ms"].as_int64()) + " ms";
                http::append_sse(vf, "metrics", json::serialize(m));
                t->append(std::move(mf), -1, std::move(vf));
                std::string f;
                http::append_sse(f, "end", json::serialize(o));
                t->append(std::move(f));
                success = true;
                finish(*t, task_state::completed);
                break;
            } else {
                auto err = engine_error(*ev, engine_name);
                if (t->tokens == 0 && err.retriable.value_or(false) &&
                    t->attempts < opts_.max_attempts) {
                    retry = true;  // nothing reached the client yet: try another pool
                    break;
                }
                if (t->tokens > 0 && err.code == api::error_code::worker_reset)
                    err.code = api::error_code::upstream_failed;
                finish(*t, task_state::failed, err);
                break;
            }
        }
        t->upstream = nullptr;
        stream.reset();
        index_.on_complete(d.pool, success || t->state == task_state::cancelled, ttft);
        if (success) {
            e2e_ms_.push_back(static_cast<double>(ms_between(t->created, t->ended)));
            if (ttft) ttft_ms_.push_back(*ttft);
            if (e2e_ms_.size() > 10'000) e2e_ms_.erase(e2e_ms_.begin(), e2e_ms_.begin() + 5'000);
            if (ttft_ms_.size() > 10'000)
                ttft_ms_.erase(ttft_ms_.begin(), ttft_ms_.begin() + 5'000);
            log()->info("task_id={} pool_id={} tokens_out={} decode_time_ms={} done",
                        t->spec.task_id, d.pool_id, t->tokens_out,
                        ms_between(t->started, t->ended));
        }
        if (retry && !t->finished()) {
            --running_;
            t->state = task_state::queued;
            t->retry_avoid.push_back(d.node_id.empty() ? d.pool_id : d.node_id + "/" + d.pool_id);
            asio::steady_timer backoff(io_, opts_.retry_base * (1 << std::min(t->attempts, 6)));
            boost::system::error_code ec;
            co_await backoff.async_wait(asio::redirect_error(use_awaitable, ec));
            if (!t->finished()) parked_.push_front(t);
            wake();
            co_return;
        }
    } while (retry);
    --running_;
    wake();
}

asio::awaitable<void> task_service::housekeeping_loop() {
    asio::steady_timer timer(io_);
    while (!stopped_) {
        timer.expires_after(5s);
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
        auto now = clock::now();
        // Finished tasks leave in the order they ended, from the front of ended_: those past the
        // retention, then the oldest while more than max_retained are kept. A task still being
        // read goes to the back and is looked at again on the next sweep.
        for (size_t n = ended_.size(); n > 0 && !ended_.empty(); --n) {
            auto t = ended_.front().lock();
            if (t && now - t->ended <= opts_.retention && tasks_.size() <= opts_.max_retained)
                break;
            ended_.pop_front();
            if (!t) continue;
            if (t->readers > 0) {
                ended_.push_back(t);
                continue;
            }
            if (auto it = tasks_.find(t->spec.task_id); it != tasks_.end() && it->second == t)
                tasks_.erase(it);
        }
        std::erase_if(sessions_, [&](const auto& kv) {
            return now - kv.second.last_used > opts_.session_ttl;
        });
    }
}

asio::awaitable<void> task_service::stop(std::chrono::milliseconds deadline) {
    stopping_ = true;
    auto end = clock::now() + deadline;
    asio::steady_timer timer(io_);
    // Queued tasks that never started end now; running ones get until the deadline.
    std::vector<std::string> queued;
    for (const auto& [id, t] : tasks_)
        if (t->state == task_state::queued) queued.push_back(id);
    for (const auto& id : queued) {
        queue_.remove(id);
        if (auto t = find(id)) {
            auto e = api::make_error(api::error_code::shutting_down,
                                     "orchestratord shut down before the task started");
            e.retriable = true;
            finish(*t, task_state::failed, e);
        }
    }
    parked_.clear();
    while (running_ > 0 && clock::now() < end) {
        timer.expires_after(20ms);
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    std::vector<std::string> left;
    for (const auto& [id, t] : tasks_)
        if (!t->finished()) left.push_back(id);
    for (const auto& id : left) cancel(id);
    stopped_ = true;
    wake_timer_.cancel();
}

std::string task_service::render_metrics() const {
    std::string o;
    auto c = [&](const char* name, const char* type, double v) {
        o += std::string("# TYPE ") + name + " " + type + "\n" + name + " " + std::to_string(v) +
             "\n";
    };
    c("tasks_enqueued_total", "counter", static_cast<double>(enqueued_));
    c("tasks_started_total", "counter", static_cast<double>(started_));
    c("tasks_canceled_total", "counter", static_cast<double>(canceled_));
    c("tasks_rejected_total", "counter", static_cast<double>(rejected_));
    c("tasks_completed_total", "counter", static_cast<double>(completed_));
    c("tasks_failed_total", "counter", static_cast<double>(failed_));
    c("tokens_out_total", "counter", static_cast<double>(tokens_total_));
    c("queue_depth", "gauge", static_cast<double>(queue_.size()));
    c("tasks_running", "gauge", static_cast<double>(running_));
    o += "# TYPE admission_backpressure_events_total counter\n";
    o += "admission_backpressure_events_total{policy=\"reject\"} " + std::to_string(rejected_) +
         "\n";
    o += "admission_backpressure_events_total{policy=\"drop-lru\"} " +
         std::to_string(dropped_lru_) + "\n";
    c("tasks_deadline_unmet_total", "counter", static_cast<double>(deadline_unmet_));
    o += "# TYPE latency_first_token_ms summary\n";
    o += "latency_first_token_ms{quantile=\"0.5\"} " + std::to_string(percentile(ttft_ms_, 0.5)) +
         "\n";
    o += "latency_first_token_ms{quantile=\"0.99\"} " + std::to_string(percentile(ttft_ms_, 0.99)) +
         "\n";
    o += "# TYPE latency_e2e_ms summary\n";
    o += "latency_e2e_ms{quantile=\"0.5\"} " + std::to_string(percentile(e2e_ms_, 0.5)) + "\n";
    o += "latency_e2e_ms{quantile=\"0.99\"} " + std::to_string(percentile(e2e_ms_, 0.99)) + "\n";
    return o;
}

}  // namespace llorch::orchestrator
