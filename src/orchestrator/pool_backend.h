#pragma once
// Where tasks run. The HOME profile's backend is the in-process pool manager; the CLOUD
// profile's sends POST /v2/pools/{id}/infer to the owning node. Both keep the placement index
// current with their pools, so the dispatcher never needs to know which one it has.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "api/error.h"
#include "engines/generation.h"
#include "placement/placement_request.h"
#include "pool/pool_manager.h"

namespace llorch::orchestrator {

// A pool's state as placement takes it, from what its manager reports; `models` every name it
// answers to (pool::model_names).
placement::pool_state placement_state(const pool::pool_snapshot& s,
                                      std::vector<std::string> models);

struct model_limits {
    int max_tokens_default = 256;
    int max_tokens_cap = 4096;
    int ctx = 0;  // per-request context of the smallest pool serving the model
};

// What waits for a model, for deciding whether another instance of it should load
// (placement::choose_load): tasks queued for it, the new one included, and the mean generation
// time.
struct model_demand {
    size_t waiting = 1;
    std::chrono::milliseconds service_time{1'000};
};

class pool_backend {
  public:
    virtual ~pool_backend() = default;
    // The dispatcher placed a task on `where` and opens it there next. False when the pool's
    // node may not take it after all (its circuit breaker is half-open and its one trial request
    // is already out): the backend has then taken the node out of placement, and the dispatcher
    // places the task again.
    virtual bool admit(const placement::placement_decision& where) {
        (void)where;
        return true;
    }
    // Opens one generation on the placed pool. A failure says whether trying another pool may
    // help (retriable) — e.g. POOL_UNAVAILABLE when a slot was taken meanwhile.
    virtual boost::asio::awaitable<api::api_result<std::unique_ptr<pool::infer_stream>>> open(
        placement::placement_decision where, engines::generation_request g) = 0;
    // Limits of the pools serving `model`; nullopt when none does.
    virtual std::optional<model_limits> limits(const std::string& model) const = 0;
    // Models loaded on demand (docs/models.md). A task for `model` was admitted: an on-demand
    // model that is not loaded starts loading (one load for every task), and `keep_alive`
    // (negative: never unload; 0: unload when the request ends) replaces its idle TTL. The pool
    // that is loading, or nullopt when the model is loaded or served by fixed pools. `demand`
    // lets a backend with several nodes load a second instance when waiting costs more.
    virtual std::optional<std::string> ensure_loaded(
        const std::string& model, std::optional<std::chrono::milliseconds> keep_alive,
        const model_demand& demand) {
        (void)model;
        (void)keep_alive;
        (void)demand;
        return std::nullopt;
    }
    // Tasks for `model` wait in the queue and no pool can take them now: an on-demand model
    // that is not loaded, or that yields its memory to another model's load, loads (again).
    virtual void want(const std::string& model) { (void)model; }
    // A task for `model` is coming: a failed on-demand load of it may be tried again.
    virtual void revive(const std::string& model) { (void)model; }
    // Why the on-demand load of `model` failed; empty when it did not.
    virtual std::string load_failure(const std::string& model) const {
        (void)model;
        return {};
    }
    // Unloads an on-demand model (idle at once, busy when its last request ends). NOT_FOUND
    // when no on-demand model of that name is here.
    virtual api::api_result<void> unload(const std::string& model) {
        return api::make_error(api::error_code::not_found,
                               "no on-demand model '" + model + "' here");
    }
    // The token count of `text` for `model`, when the backend can ask an engine; nullopt else.
    virtual boost::asio::awaitable<std::optional<int>> count_tokens(std::string model,
                                                                    std::string text) {
        (void)model;
        (void)text;
        co_return std::nullopt;
    }
};

}  // namespace llorch::orchestrator
