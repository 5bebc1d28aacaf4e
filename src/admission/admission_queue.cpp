#include "admission/admission_queue.h"

#include <algorithm>
#include <bit>

namespace llorch::admission {

admission_queue::admission_queue(admission_config config) : config_(config) {}

admission_result<push_accepted> admission_queue::push(queued_task task) {
    if (tasks_.contains(task.task_id)) return admission_errc::duplicate_task;
    push_accepted accepted;
    if (tasks_.size() >= config_.capacity) {
        class_queue& batch = classes_[cls(task_priority::batch)];
        if (config_.policy != full_policy::drop_lru || batch.heads.empty()) {
            return admission_errc::queue_full;
        }
        const entry* oldest = batch.heads.begin()->second->tasks.front();
        accepted.evicted = erase(tasks_.find(oldest->task.task_id));
    }
    insert(std::move(task));
    return accepted;
}

void admission_queue::insert(queued_task task) {
    class_queue& q = classes_[cls(task.priority)];
    if (!q.ranks.fits(q.next_seq)) compact(q);
    const uint64_t seq = q.next_seq++;
    std::string id = task.task_id;
    auto [it, inserted] = tasks_.emplace(std::move(id), entry{});
    entry& e = it->second;
    e.task = std::move(task);
    e.seq = seq;
    auto [fit, created] = q.by_model.try_emplace(e.task.model);
    model_fifo& fifo = fit->second;
    if (created) fifo.model = e.task.model;
    const bool was_empty = fifo.tasks.empty();
    e.fifo = &fifo;
    e.pos = fifo.tasks.insert(fifo.tasks.end(), &e);
    if (was_empty) q.heads.emplace(seq, &fifo);
    q.ranks.insert(seq);
    if (e.task.deadline) deadlines_.emplace(*e.task.deadline, &e);
    ++q.size;
}

queued_task admission_queue::erase(string_map<entry>::iterator it) {
    entry& e = it->second;
    class_queue& q = classes_[cls(e.task.priority)];
    model_fifo* fifo = e.fifo;
    const bool was_head = fifo->tasks.front() == &e;
    if (was_head) q.heads.erase({e.seq, fifo});
    fifo->tasks.erase(e.pos);
    if (fifo->tasks.empty()) {
        q.by_model.erase(q.by_model.find(fifo->model));
    } else if (was_head) {
        q.heads.emplace(fifo->tasks.front()->seq, fifo);
    }
    q.ranks.erase(e.seq);
    if (e.task.deadline) deadlines_.erase({*e.task.deadline, &e});
    --q.size;
    if (&q == &classes_[cls(task_priority::batch)] && q.size == 0) interactive_streak_ = 0;
    queued_task out = std::move(e.task);
    tasks_.erase(it);
    return out;
}

void admission_queue::compact(class_queue& q) {
    // Renumber the class's live tasks 0..n-1 (keeping their order) into a window twice as large,
    // so that compaction happens at most once per n pushes: amortised O(log n) per push.
    std::vector<entry*> live;
    live.reserve(q.size);
    for (auto& [model, fifo] : q.by_model) {
        for (entry* e : fifo.tasks) live.push_back(e);
    }
    std::sort(live.begin(), live.end(),
              [](const entry* a, const entry* b) { return a->seq < b->seq; });
    const auto capacity =
        std::bit_ceil(std::max<uint32_t>(64, 2 * static_cast<uint32_t>(live.size() + 1)));
    q.ranks.reset(0, capacity);
    for (uint64_t i = 0; i < live.size(); ++i) {
        live[i]->seq = i;
        q.ranks.insert(i);
    }
    q.next_seq = live.size();
    q.heads.clear();
    for (auto& [model, fifo] : q.by_model) q.heads.emplace(fifo.tasks.front()->seq, &fifo);
}

std::optional<queued_task> admission_queue::remove(std::string_view task_id) {
    auto it = tasks_.find(task_id);
    if (it == tasks_.end()) return std::nullopt;
    return erase(it);
}

std::optional<size_t> admission_queue::position(std::string_view task_id) const {
    const auto it = tasks_.find(task_id);
    if (it == tasks_.end()) return std::nullopt;
    const entry& e = it->second;
    const size_t k = batch_every();
    const size_t interactive = classes_[0].size;
    const size_t batch = classes_[1].size;
    // Interactive tasks dispatched before the next batch turn.
    const size_t lead = interactive_streak_ >= k ? 0 : k - interactive_streak_;
    const size_t rank = classes_[cls(e.task.priority)].ranks.count_below(e.seq);
    if (e.task.priority == task_priority::interactive) {
        const size_t batch_before = rank < lead ? 0 : 1 + (rank - lead) / k;
        return rank + std::min(batch, batch_before);
    }
    return rank + std::min(interactive, lead + rank * k);
}

admission_queue::entry* admission_queue::first_servable(
    const class_queue& q, const std::function<bool(std::string_view)>* can_serve) const {
    for (const auto& [seq, fifo] : q.heads) {
        if (can_serve == nullptr || (*can_serve)(fifo->model)) return fifo->tasks.front();
    }
    return nullptr;
}

std::optional<queued_task> admission_queue::take_next(
    const std::function<bool(std::string_view)>& can_serve) {
    const auto* predicate = can_serve ? &can_serve : nullptr;
    const bool batch_waiting = classes_[1].size > 0;
    entry* batch = nullptr;
    if (batch_waiting && interactive_streak_ >= batch_every()) {
        batch = first_servable(classes_[1], predicate);
        if (batch != nullptr) {
            interactive_streak_ = 0;
            return erase(tasks_.find(batch->task.task_id));
        }
    }
    if (entry* interactive = first_servable(classes_[0], predicate)) {
        interactive_streak_ = batch_waiting ? interactive_streak_ + 1 : 0;
        return erase(tasks_.find(interactive->task.task_id));
    }
    if (batch == nullptr && batch_waiting) batch = first_servable(classes_[1], predicate);
    if (batch != nullptr) {
        interactive_streak_ = 0;
        return erase(tasks_.find(batch->task.task_id));
    }
    return std::nullopt;
}

std::optional<queued_task> admission_queue::take_next() { return take_next({}); }

std::vector<queued_task> admission_queue::expire(time_point now) {
    std::vector<queued_task> expired;
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
        const entry* e = deadlines_.begin()->second;
        expired.push_back(erase(tasks_.find(e->task.task_id)));
    }
    return expired;
}

const queued_task* admission_queue::find(std::string_view task_id) const {
    const auto it = tasks_.find(task_id);
    return it != tasks_.end() ? &it->second.task : nullptr;
}

size_t admission_queue::waiting(std::string_view model) const {
    size_t n = 0;
    for (const auto& q : classes_)
        if (auto it = q.by_model.find(model); it != q.by_model.end()) n += it->second.tasks.size();
    return n;
}

void admission_queue::for_each_model(const std::function<void(std::string_view)>& f) const {
    for (const auto& q : classes_)
        for (const auto& [model, fifo] : q.by_model) f(model);
}

}  // namespace llorch::admission
