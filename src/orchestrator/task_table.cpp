#include "orchestrator/task_table.h"

#include <boost/json.hpp>

#include "http/sse.h"

namespace llorch::orchestrator {
namespace json = boost::json;

namespace {
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
}  // namespace

std::shared_ptr<task> task_table::find(const std::string& id) const {
    auto it = tasks_.find(id);
    return it == tasks_.end() ? nullptr : it->second;
}

void task_table::add(std::shared_ptr<task> t) {
    auto id = t->spec.task_id;
    tasks_[id] = std::move(t);
}

std::vector<std::shared_ptr<task>> task_table::select(
    const std::function<bool(const task&)>& keep) const {
    std::vector<std::shared_ptr<task>> out;
    for (const auto& [id, t] : tasks_)
        if (keep(*t)) out.push_back(t);
    return out;
}

void task_table::finish(task& t, task_state s, std::optional<api::error> e, clock::time_point now) {
    if (t.finished()) return;
    const bool held_slot = t.state == task_state::running;
    t.state = s;
    t.ended = now;
    if (held_slot && on_release_) on_release_(now - t.started);
    metrics_.ended(t.metrics_key(), to_string(s), e ? api::to_string(e->code) : "");
    if (e) {
        t.error = e;
        t.append(error_frame(*e));
    }
    if (t.grace_timer) t.grace_timer->cancel();
    if (auto it = tasks_.find(t.spec.task_id); it != tasks_.end()) ended_.push_back(it->second);
    t.notify();
    if (on_finish_) on_finish_(t);
}

void task_table::sweep(clock::time_point now, std::chrono::milliseconds retention,
                       size_t max_retained) {
    for (size_t n = ended_.size(); n > 0 && !ended_.empty(); --n) {
        auto t = ended_.front().lock();
        if (t && now - t->ended <= retention && tasks_.size() <= max_retained) break;
        ended_.pop_front();
        if (!t) continue;
        if (t->readers > 0) {
            ended_.push_back(t);
            continue;
        }
        if (auto it = tasks_.find(t->spec.task_id); it != tasks_.end() && it->second == t)
            tasks_.erase(it);
    }
}

}  // namespace llorch::orchestrator
