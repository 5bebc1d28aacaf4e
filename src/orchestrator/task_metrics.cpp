#include "orchestrator/task_metrics.h"

namespace llorch::orchestrator {

namespace {
std::string priority_of(admission::task_priority p) { return std::string(admission::to_string(p)); }
constexpr const char* enqueued_help = "Tasks accepted into the queue.";
constexpr const char* started_help = "Tasks placed on a pool (each attempt).";
constexpr const char* deadline_help = "Tasks that failed because their deadline could not be met.";

// Placement decisions take microseconds: 1 µs to 100 ms.
std::vector<double> decision_buckets() {
    return {1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 1e-2, 1e-1};
}
}  // namespace

task_metrics::task_metrics(common::metrics_registry& r)
    : registry_(r),
      routing_(&r.histogram("task_routing_seconds",
                            "From the placement decision to the engine accepting the request.",
                            common::default_latency_buckets())),
      placement_(&r.histogram("placement_decision_seconds", "Time to take a placement decision.",
                              decision_buckets())),
      placed_ok_(
          &r.counter("placements_total", "Placement decisions by outcome.", {{"outcome", "ok"}})),
      placed_failed_(&r.counter("placements_total", "Placement decisions by outcome.",
                                {{"outcome", "failed"}})) {
    // Present from the start, so that rates and alerts have series before the first event.
    for (auto p : {admission::task_priority::interactive, admission::task_priority::batch}) {
        enqueued_[index(p)] =
            &r.counter("tasks_enqueued_total", enqueued_help, {{"priority", priority_of(p)}});
        started_[index(p)] =
            &r.counter("tasks_started_total", started_help, {{"priority", priority_of(p)}});
    }
    const char* totals_help = "Tasks that ended so (all models).";
    canceled_ = &r.counter("tasks_canceled_total", totals_help);
    completed_ = &r.counter("tasks_completed_total", totals_help);
    failed_ = &r.counter("tasks_failed_total", totals_help);
    deadline_unmet_ = &r.counter("tasks_deadline_unmet_total", deadline_help);
}

void task_metrics::enqueued(admission::task_priority p) { enqueued_[index(p)]->Increment(); }

void task_metrics::rejected(std::string_view reason, std::string_view policy) {
    registry_
        .counter("tasks_rejected_total", "Tasks admission refused or dropped, by reason.",
                 {{"reason", std::string(reason)}})
        .Increment();
    registry_
        .counter("admission_backpressure_events_total", "Full-queue events, by the queue's policy.",
                 {{"policy", std::string(policy)}})
        .Increment();
}

void task_metrics::started(admission::task_priority p, std::string_view model,
                           double queue_wait_s) {
    started_[index(p)]->Increment();
    std::string key;
    key.reserve(model.size() + 12);
    key.append(model).push_back('\0');
    key.append(admission::to_string(p));
    auto [it, fresh] = queue_wait_.try_emplace(std::move(key), nullptr);
    if (fresh)
        it->second =
            &registry_.histogram("queue_wait_seconds", "Time from admission to placement.",
                                 common::default_latency_buckets(),
                                 {{"model", std::string(model)}, {"priority", priority_of(p)}});
    it->second->Observe(queue_wait_s);
}

const task_series& task_metrics::series(const series_key& k) {
    std::string id;
    id.reserve(k.model.size() + k.pool.size() + k.node.size() + 16);
    id.append(k.model).push_back('\0');
    id.append(k.pool).push_back('\0');
    id.append(k.node).push_back('\0');
    id.append(admission::to_string(k.priority));
    auto [it, fresh] = series_.try_emplace(std::move(id));
    if (!fresh) return it->second;
    const common::labels l{{"model", std::string(k.model)},
                           {"pool", std::string(k.pool)},
                           {"node", std::string(k.node)},
                           {"priority", priority_of(k.priority)}};
    const common::labels tl{l[0], l[1], l[2]};
    const auto b = common::default_latency_buckets();
    auto& s = it->second;
    s.ttft = &registry_.histogram("time_to_first_token_seconds",
                                  "From placement to the first token.", b, l);
    s.inter_token = &registry_.histogram("inter_token_latency_seconds",
                                         "Time between consecutive tokens of a task.", b, l);
    s.e2e = &registry_.histogram("task_e2e_seconds",
                                 "From admission to the end of a completed task.", b, l);
    s.tokens_in = &registry_.counter("tokens_in_total", "Prompt tokens the engines reported.", tl);
    s.tokens_out = &registry_.counter("tokens_out_total", "Tokens streamed to clients.", tl);
    return s;
}

void task_metrics::placement_decided(double seconds, bool placed) {
    placement_->Observe(seconds);
    (placed ? placed_ok_ : placed_failed_)->Increment();
}

void task_metrics::retried(std::string_view model, std::string_view why) {
    registry_
        .counter("task_retries_total",
                 "Attempts started again before the first token, by why the last one ended.",
                 {{"model", std::string(model)}, {"reason", std::string(why)}})
        .Increment();
}

void task_metrics::ended(const series_key& k, std::string_view outcome, std::string_view code) {
    std::string key;
    key.reserve(k.model.size() + k.pool.size() + k.node.size() + outcome.size() + code.size() + 16);
    for (auto part : {k.model, k.pool, k.node, admission::to_string(k.priority), outcome})
        key.append(part).push_back('\0');
    key.append(code);
    auto [it, fresh] = ended_.try_emplace(std::move(key), nullptr);
    if (fresh)
        it->second = &registry_.counter("tasks_ended_total",
                                        "Tasks by how they ended (completed, failed, cancelled).",
                                        {{"model", std::string(k.model)},
                                         {"pool", std::string(k.pool)},
                                         {"node", std::string(k.node)},
                                         {"priority", priority_of(k.priority)},
                                         {"outcome", std::string(outcome)},
                                         {"code", std::string(code)}});
    it->second->Increment();
    auto* total = outcome == "cancelled"   ? canceled_
                  : outcome == "completed" ? completed_
                                           : failed_;
    total->Increment();
    if (code == api::to_string(api::error_code::deadline_unmet)) deadline_unmet_->Increment();
}

}  // namespace llorch::orchestrator
