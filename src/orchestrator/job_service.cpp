#include "orchestrator/job_service.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "common/log.h"
#include "http/sse.h"

namespace llorch::orchestrator {
namespace json = boost::json;

namespace {

std::shared_ptr<spdlog::logger> jobs_log() {
    static auto l = common::logger("jobs");
    return l;
}

std::string describe(const api::error& e) {
    return std::string(api::to_string(e.code)) + ": " + e.message;
}

// Keeps a follower's timer on the task's waiter list exactly while it waits, however the wait
// ends (a wake, a time-out, or the coroutine cancelled by stop()).
struct waiting {
    waiting(task& t, asio::steady_timer& timer) : t_(t), timer_(timer) { t_.add_waiter(&timer_); }
    ~waiting() { t_.remove_waiter(&timer_); }
    waiting(const waiting&) = delete;
    waiting& operator=(const waiting&) = delete;
    task& t_;
    asio::steady_timer& timer_;
};

}  // namespace

job_service::job_service(asio::io_context& io, job_service_options opts, task_service& tasks,
                         common::clock& clock)
    : io_(io),
      opts_(std::move(opts)),
      tasks_(tasks),
      clock_(clock),
      background_(io.get_executor()) {}

job_service::~job_service() = default;

std::shared_ptr<job> job_service::find(const std::string& id) const {
    auto it = jobs_.find(id);
    return it == jobs_.end() ? nullptr : it->second;
}

api::api_result<job_service::submitted> job_service::submit(job_spec spec) {
    sweep();
    if (stopping_) {
        auto e = api::make_error(api::error_code::shutting_down,
                                 "orchestratord is shutting down and takes no new jobs");
        e.retriable = true;
        e.retry_after_ms = 1000;
        return e;
    }
    if (auto j = find(spec.job_id)) return submitted{j, true};
    if (active_ >= opts_.max_active) {
        auto e =
            api::make_error(api::error_code::admission_reject,
                            std::to_string(active_) + " jobs are running, the most allowed (" +
                                std::to_string(opts_.max_active) + "); retry when one has ended");
        e.retriable = true;
        e.retry_after_ms = 1000;
        return e;
    }
    auto now = clock_.now();
    auto j = std::make_shared<job>(io_, spec.job_id,
                                   jobs::job_run(std::move(spec.graph), spec.options, now));
    j->created = now;
    j->created_wall = std::chrono::system_clock::now();
    j->tasks.reserve(spec.tasks.size());
    for (auto& t : spec.tasks) j->tasks.push_back(job_task{std::move(t), {}, {}, {}, {}, false});
    jobs_.emplace(j->id, j);
    ++active_;
    jobs_log()->info("job_id={} submitted with {} tasks", j->id, j->tasks.size());
    if (j->run.deadline()) background_.spawn(watch_deadline(j), "job deadline");
    apply(j, j->run.begin());
    return submitted{j, false};
}

api::api_result<void> job_service::cancel(const std::string& id) {
    auto j = find(id);
    if (!j) return api::make_error(api::error_code::not_found, "no job '" + id + "'");
    if (!j->run.finished()) jobs_log()->info("job_id={} cancelled", id);
    apply(j, j->run.cancel("the job was cancelled"));
    return {};
}

std::shared_ptr<http::body_stream> job_service::open_events(const std::shared_ptr<job>& j,
                                                            bool tokens) {
    return std::make_shared<job_reader>(j, tokens);
}

void job_service::apply(const std::shared_ptr<job>& j, jobs::job_step s) {
    for (size_t i : s.ended) report_task_ended(*j, i);
    for (size_t i : s.cancel) {
        auto& jt = j->tasks[i];
        if (jt.t)
            tasks_.cancel(jt.t->spec.task_id);  // its follower reports the end
        else
            jt.cancel_requested = true;  // still on its way to the task service
        if (jt.retry_timer) jt.retry_timer->cancel();
    }
    for (size_t i : s.start) background_.spawn(run_task(j, i), "job task");
    maybe_end(*j);
}

asio::awaitable<void> job_service::run_task(std::shared_ptr<job> j, size_t i) {
    auto& jt = j->tasks[i];
    const auto& id = j->run.graph().task(i).id;
    auto texts = j->run.substitute(i);
    if (!texts) {
        start_failed(j, i, api::make_error(api::error_code::invalid_params, texts.error().message));
        co_return;
    }
    set_job_texts(jt.spec, std::move(*texts));
    jt.submitted = clock_.now();
    auto fits = co_await tasks_.check_prompt(jt.spec);
    if (jt.cancel_requested) co_return cancelled_before_submit(j, i);
    if (!fits) co_return start_failed(j, i, fits.error());
    const std::string base_id = jt.spec.task_id;
    for (int run = 0;; ++run) {
        if (run > 0) {
            // A fresh task: the same task_id would name the one that failed.
            jt.spec.task_id = base_id + ".retry" + std::to_string(run);
            jt.spec.generation.task_id = jt.spec.task_id;
            jt.output.clear();
        }
        if (!co_await follow_task(j, i)) co_return;
        const auto& t = *jt.t;
        const bool broke = t.state == task_state::failed && t.error &&
                           (t.error->code == api::error_code::upstream_failed ||
                            t.error->code == api::error_code::worker_reset);
        if (!broke || run >= j->run.options().task_retries || stopping_ || jt.cancel_requested ||
            j->run.finished())
            break;
        jobs_log()->warn("job_id={} task {} broke mid-stream on pool {} ({}): running it again",
                         j->id, id, t.pool_id, t.error->message);
        j->append(http::sse_frame("task_retried",
                                  json::object{{"task", id},
                                               {"task_id", t.spec.task_id},
                                               {"pool_id", t.pool_id},
                                               {"node_id", t.node_id},
                                               {"error", api::to_string(t.error->code)}}));
    }
    task_ended(j, i);
}

// Submits task i (again after a full queue's Retry-After) and follows its log until it ends;
// false when it never reached the task service (its end is reported already).
asio::awaitable<bool> job_service::follow_task(std::shared_ptr<job> j, size_t i) {
    auto& jt = j->tasks[i];
    const auto& id = j->run.graph().task(i).id;
    auto a = tasks_.submit(jt.spec);
    // A full queue is back-pressure, not a failure of the task: submit again when it said.
    while (!a && a.error().code == api::error_code::admission_reject && !stopping_) {
        if (!jt.retry_timer) jt.retry_timer = std::make_unique<asio::steady_timer>(io_);
        auto wait = std::chrono::milliseconds(a.error().retry_after_ms.value_or(1000));
        co_await clock_.wait_for(*jt.retry_timer, wait);
        if (jt.cancel_requested) {
            cancelled_before_submit(j, i);
            co_return false;
        }
        a = tasks_.submit(jt.spec);
    }
    if (!a) {
        start_failed(j, i, a.error());
        co_return false;
    }
    auto t = a->t;
    jt.t = t;
    // Follow the task's log: its token text is the task's output.
    http::sse_parser parser;
    std::vector<http::sse_event> events;
    size_t cursor = 0;
    bool started = false;
    asio::steady_timer timer(io_);
    for (;;) {
        const auto& frames = t->frames();
        while (cursor < frames.size()) {
            events.clear();
            parser.feed(frames[cursor++].text, events);
            for (const auto& e : events) {
                if (e.event == "started" && !started) {
                    started = true;
                    j->append(
                        http::sse_frame("task_started", json::object{{"task", id},
                                                                     {"task_id", t->spec.task_id},
                                                                     {"pool_id", t->pool_id},
                                                                     {"node_id", t->node_id}}));
                } else if (e.event == "token") {
                    boost::system::error_code ec;
                    auto v = json::parse(e.data, ec);
                    const auto* o = ec ? nullptr : v.if_object();
                    const auto* text = o ? o->if_contains("t") : nullptr;
                    if (!text || !text->is_string()) continue;
                    jt.output += text->get_string();
                    j->append(http::sse_frame("task_token", json::object{{"task", id},
                                                                         {"t", text->get_string()},
                                                                         {"i", o->at("i")}}),
                              true);
                }
            }
        }
        if (t->finished()) break;
        timer.expires_after(std::chrono::seconds(30));
        waiting w(*t, timer);
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return true;
}

void job_service::task_ended(const std::shared_ptr<job>& j, size_t i) {
    auto& jt = j->tasks[i];
    const auto& t = *jt.t;
    jobs::job_step s;
    if (t.state == task_state::completed) {
        s = j->run.complete(i, jt.output);
    } else {
        jt.error = t.error.value_or(api::make_error(api::error_code::internal, "no cause known"));
        s = t.state == task_state::cancelled ? j->run.cancelled(i, describe(*jt.error))
                                             : j->run.fail(i, describe(*jt.error));
    }
    report_task_ended(*j, i);
    apply(j, std::move(s));
}

void job_service::cancelled_before_submit(const std::shared_ptr<job>& j, size_t i) {
    auto& jt = j->tasks[i];
    jt.error = api::make_error(api::error_code::cancelled, "the task was cancelled");
    auto s = j->run.cancelled(i, describe(*jt.error));
    report_task_ended(*j, i);
    apply(j, std::move(s));
}

void job_service::start_failed(const std::shared_ptr<job>& j, size_t i, api::error e) {
    auto& jt = j->tasks[i];
    jt.error = std::move(e);
    jobs_log()->warn("job_id={} task {} failed to start: {}", j->id, j->run.graph().task(i).id,
                     describe(*jt.error));
    auto s = j->run.fail(i, describe(*jt.error));
    report_task_ended(*j, i);
    apply(j, std::move(s));
}

void job_service::report_task_ended(job& j, size_t i) {
    const auto& jt = j.tasks[i];
    auto st = j.run.state(i);
    json::object o{{"task", j.run.graph().task(i).id},
                   {"task_id", jt.spec.task_id},
                   {"state", jobs::to_string(st)}};
    if (!j.run.cause(i).empty()) o["cause"] = j.run.cause(i);
    if (jt.error)
        o["error"] =
            json::object{{"code", api::to_string(jt.error->code)}, {"message", jt.error->message}};
    if (jt.t) o["tokens_out"] = jt.t->tokens_out;
    if (st == jobs::task_state::completed) o["output"] = jt.output;
    j.append(http::sse_frame("task_ended", o));
}

void job_service::maybe_end(job& j) {
    if (j.ended_reported || !j.run.finished()) return;
    j.ended = clock_.now();
    j.ended_reported = true;
    j.deadline_timer.cancel();
    --active_;
    ended_.push_back(j.id);
    json::object o{
        {"job_id", j.id},
        {"state", jobs::to_string(j.run.state())},
        {"elapsed_ms",
         std::chrono::duration_cast<std::chrono::milliseconds>(j.ended - j.created).count()}};
    if (!j.run.cause().empty()) o["cause"] = j.run.cause();
    j.append(http::sse_frame("job_ended", o));
    jobs_log()->info("job_id={} ended {}{}{}", j.id, jobs::to_string(j.run.state()),
                     j.run.cause().empty() ? "" : ": ", j.run.cause());
}

asio::awaitable<void> job_service::watch_deadline(std::shared_ptr<job> j) {
    bool due = co_await clock_.wait_until(j->deadline_timer, *j->run.deadline());
    if (!due || j->run.finished()) co_return;
    jobs_log()->info("job_id={} passed its deadline", j->id);
    apply(j, j->run.expire(clock_.now()));
}

void job_service::sweep() {
    auto now = clock_.now();
    while (!ended_.empty()) {
        auto it = jobs_.find(ended_.front());
        if (it != jobs_.end() && now - it->second->ended < opts_.retention &&
            ended_.size() <= opts_.max_retained)
            break;
        if (it != jobs_.end()) jobs_.erase(it);
        ended_.pop_front();
    }
}

asio::awaitable<void> job_service::stop() {
    stopping_ = true;
    std::vector<std::shared_ptr<job>> running;
    for (const auto& [id, j] : jobs_)
        if (!j->run.finished()) running.push_back(j);
    for (const auto& j : running) apply(j, j->run.cancel("orchestratord is shutting down"));
    co_await background_.stop();
}

}  // namespace llorch::orchestrator
