#pragma once
// The bounded admission queue: tasks waiting for a pool, in two classes. Dispatch order:
// interactive before batch, FIFO within a class, and after `batch_every` consecutive interactive
// dispatches while a batch task waits, the oldest batch task goes next (batch never starves).
// take_next() skips tasks whose model cannot be served now, so one model's busy pools never
// block another model's tasks; within one model the order stays FIFO.
//
// Owned by the control plane's admission service; single-threaded, used on the control plane's
// io_context thread only. Holds no clock: callers pass `now`.

#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "admission/admission_config.h"
#include "admission/admission_error.h"
#include "admission/queued_task.h"
#include "admission/rank_index.h"

namespace llorch::admission {

struct push_accepted {
    // drop_lru only: the batch task evicted to make room; the caller ends it with
    // QUEUE_FULL_DROP_LRU.
    std::optional<queued_task> evicted;
};

class admission_queue {
  public:
    explicit admission_queue(admission_config config);
    admission_queue(const admission_queue&) = delete;
    admission_queue& operator=(const admission_queue&) = delete;

    admission_result<push_accepted> push(queued_task task);
    std::optional<queued_task> remove(std::string_view task_id);  // cancel
    // 0-based place in the order tasks would be dispatched if every model could be served.
    std::optional<size_t> position(std::string_view task_id) const;
    // The first task in dispatch order whose model `can_serve(model)` accepts; the predicate is
    // asked once per model at the head of a class, not once per task.
    std::optional<queued_task> take_next(const std::function<bool(std::string_view)>& can_serve);
    std::optional<queued_task> take_next();  // every model servable
    // Removes and returns the tasks whose deadline is at or before `now`, earliest first.
    std::vector<queued_task> expire(time_point now);

    // Calls `f` with each model that has queued tasks (once per priority class that has some).
    // O(models).
    void for_each_model(const std::function<void(std::string_view)>& f) const;
    const queued_task* find(std::string_view task_id) const;
    bool contains(std::string_view task_id) const { return tasks_.contains(task_id); }
    size_t size() const { return tasks_.size(); }
    size_t size(task_priority p) const { return classes_[cls(p)].size; }
    // Tasks of `model` waiting, both classes. O(1).
    size_t waiting(std::string_view model) const;
    bool empty() const { return tasks_.empty(); }
    size_t capacity() const { return config_.capacity; }
    const admission_config& config() const { return config_; }

  private:
    struct entry;
    struct model_fifo {
        std::string model;
        std::list<entry*> tasks;
    };
    struct entry {
        queued_task task;
        uint64_t seq = 0;  // per class, increasing with arrival
        model_fifo* fifo = nullptr;
        std::list<entry*>::iterator pos;
    };
    struct string_hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    template <class V>
    using string_map = std::unordered_map<std::string, V, string_hash, std::equal_to<>>;
    struct class_queue {
        string_map<model_fifo> by_model;
        std::set<std::pair<uint64_t, model_fifo*>> heads;  // oldest task of each model
        rank_index ranks;
        uint64_t next_seq = 0;
        size_t size = 0;
    };

    static size_t cls(task_priority p) { return p == task_priority::interactive ? 0 : 1; }
    void insert(queued_task task);
    queued_task erase(string_map<entry>::iterator it);
    void compact(class_queue& q);
    entry* first_servable(const class_queue& q,
                          const std::function<bool(std::string_view)>* can_serve) const;
    uint32_t batch_every() const { return config_.batch_every < 1 ? 1 : config_.batch_every; }

    admission_config config_;
    string_map<entry> tasks_;
    class_queue classes_[2];
    std::set<std::pair<time_point, entry*>> deadlines_;
    uint32_t interactive_streak_ = 0;  // interactive dispatches in a row while batch waited
};

}  // namespace llorch::admission
