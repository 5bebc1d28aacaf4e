#include "orchestrator/dispatcher.h"

namespace llorch::orchestrator {
using namespace std::chrono_literals;

api::error no_pool_can_start(std::string_view model, const std::string& load_failure) {
    if (!load_failure.empty()) {
        auto e =
            api::make_error(api::error_code::pool_unavailable,
                            "model '" + std::string(model) + "' failed to load: " + load_failure);
        e.retriable = true;
        return e;
    }
    auto e = api::make_error(
        api::error_code::pool_unavailable,
        "no pool serving model '" + std::string(model) +
            "' can start: each one is failed, drained or draining. GET /v2/pools says why; "
            "POST /v2/pools/{id}/reload starts a failed or drained pool again (a failed pool "
            "also retries by itself)");
    e.retriable = true;
    return e;
}

dispatcher::dispatcher(asio::io_context& io, common::clock& clock,
                       admission::admission_queue& queue, placement::placement_index& index,
                       pool_backend& backend, task_table& tasks, const session_table& sessions,
                       task_metrics& metrics, start_fn start)
    : clock_(clock),
      queue_(queue),
      index_(index),
      backend_(backend),
      tasks_(tasks),
      sessions_(sessions),
      metrics_(metrics),
      start_(std::move(start)),
      wake_timer_(io) {}

void dispatcher::wake() {
    woken_ = true;
    wake_timer_.cancel();
}

void dispatcher::requeue_front(std::shared_ptr<task> t) {
    parked_.push_front(std::move(t));
    wake();
}

void dispatcher::stop() {
    stopped_ = true;
    wake_timer_.cancel();
}

asio::awaitable<void> dispatcher::run() {
    for (;;) {
        if (!woken_) {
            // Woken by every event that can let a task start; the timeout only bounds how late
            // a waiting task's deadline is noticed.
            bool idle = queue_.empty() && parked_.empty();
            co_await clock_.wait_for(wake_timer_, idle ? 3600s : 50ms);
        }
        woken_ = false;
        if (stopped_) co_return;
        pass();
    }
}

void dispatcher::pass() {
    auto now = clock_.now();
    expire(now);
    for (size_t i = 0; i < parked_.size();) {
        auto t = parked_[i];
        bool done = t->finished() || fail_if_unstartable(*t, now);
        if (!done && t->spec.deadline && now > t->created + *t->spec.deadline) {
            tasks_.finish(*t, task_state::failed,
                          api::make_error(api::error_code::deadline_unmet,
                                          "no pool could start the task before its deadline"),
                          now);
            done = true;
        }
        if (done || try_dispatch(t, now))
            parked_.erase(parked_.begin() + static_cast<long>(i));
        else
            ++i;
    }
    // Tasks of a model that no pool can start are taken too, to fail them.
    auto takes = [this](std::string_view m) {
        return index_.can_serve_now(m) || (index_.serves(m) && !index_.can_start(m));
    };
    while (auto q = queue_.take_next(takes)) {
        auto t = tasks_.find(q->task_id);
        if (!t || t->finished() || fail_if_unstartable(*t, now)) continue;
        if (!try_dispatch(t, now)) parked_.push_back(t);
    }
    // Models whose tasks wait with no pool able to take them: an on-demand one that was
    // unloaded meanwhile (swapped out for another model) loads again.
    queue_.for_each_model([this](std::string_view m) {
        if (!index_.can_serve_now(m) && index_.can_start(m))
            backend_.want(std::string(placement::model_of_key(m)));
    });
}

bool dispatcher::fail_if_unstartable(task& t, clock::time_point now) {
    const auto& m = t.spec.placement_model;
    if (!index_.serves(m) || index_.can_start(m)) return false;
    tasks_.finish(t, task_state::failed,
                  no_pool_can_start(t.spec.model, backend_.load_failure(t.spec.model)), now);
    return true;
}

void dispatcher::expire(clock::time_point now) {
    for (auto& q : queue_.expire(now)) {
        if (auto t = tasks_.find(q.task_id)) {
            tasks_.finish(*t, task_state::failed,
                          api::make_error(api::error_code::deadline_unmet,
                                          "no pool could start the task before its deadline (" +
                                              std::to_string(t->spec.deadline->count()) + " ms)"),
                          now);
        }
    }
}

bool dispatcher::try_dispatch(const std::shared_ptr<task>& t, clock::time_point now) {
    // A pool the backend refuses (its node's half-open trial is out) has left placement, so the
    // next decision looks elsewhere; the bound only guards against a backend that never agrees.
    for (int tries = 0; tries < 4; ++tries) {
        // Timed on the real clock: the decision's cost, whatever clock the service runs on.
        const auto began = std::chrono::steady_clock::now();
        auto d = place(*t, now);
        const double took =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
        if (!d) {
            if (d.error() == placement::placement_errc::no_capacity) return false;
            metrics_.placement_decided(took, false);
            fail_placement(*t, d.error(), now);
            return true;
        }
        metrics_.placement_decided(took, true);
        if (!backend_.admit(*d)) continue;
        index_.on_dispatch(d->pool, t->spec.job_id);
        start_(t, std::move(*d));
        return true;
    }
    return false;
}

placement::placement_result<placement::placement_decision> dispatcher::place(
    const task& t, clock::time_point now) {
    placement::placement_request req;
    req.model = t.spec.placement_model;
    req.overrides = t.spec.placement;
    req.priority = admission::to_string(t.spec.priority);
    req.job_id = t.spec.job_id;
    for (const auto& p : t.retry_avoid) req.overrides.avoid_pools.push_back(p);
    if (auto* s = sessions_.find(t.spec.session_id, now)) req.session_pool = s->pool;
    auto d = index_.place(req);
    if (!d && d.error() == placement::placement_errc::all_avoided && !t.retry_avoid.empty()) {
        // Only the pools that failed it serve the model: try them again rather than giving up
        // with an avoid-list error the client never asked for.
        req.overrides = t.spec.placement;
        d = index_.place(req);
    }
    return d;
}

void dispatcher::fail_placement(task& t, placement::placement_errc why, clock::time_point now) {
    api::error e;
    switch (why) {
        case placement::placement_errc::no_capacity:
            return;  // not a failure: the task waits
        case placement::placement_errc::model_not_available:
            e = api::make_error(api::error_code::model_not_available,
                                "no pool serves model '" + t.spec.model + "' any more");
            break;
        case placement::placement_errc::pin_unsatisfiable:
            e = api::make_error(api::error_code::pool_unavailable,
                                "pinned pool '" + t.spec.placement.pin_pool_id +
                                    "' cannot run this task (unknown, draining, or serving "
                                    "another model); set allow_fallback to run it elsewhere");
            break;
        case placement::placement_errc::all_avoided:
            e = api::make_error(
                api::error_code::pool_unavailable,
                "every pool serving '" + t.spec.model + "' is on the task's avoid list");
            break;
    }
    tasks_.finish(t, task_state::failed, std::move(e), now);
}

}  // namespace llorch::orchestrator
