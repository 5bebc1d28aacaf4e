#pragma once
// request_limits: what a request for a model may ask, folded over every pool that serves the
// model: the first pool's default max_tokens, the largest cap (some pool will take it), the
// smallest context (a prompt must fit wherever it lands). The one rule for the in-process pools
// (pool_manager::limits_for) and for the pools nodes report (the control plane's CLOUD backend).
// Pure; no owner, any thread.

#include <algorithm>
#include <optional>

namespace llorch::pool {

struct request_limits {
    int max_tokens_default = 0;
    int max_tokens_cap = 0;
    int ctx = 0;
};

// Folds one more pool's limits into `acc` (empty before the first pool). Any struct with the
// fields max_tokens_default, max_tokens_cap and ctx folds the same way.
template <class Limits>
void fold_limits(std::optional<Limits>& acc, const Limits& pool) {
    if (!acc) {
        acc = pool;
        return;
    }
    acc->max_tokens_cap = std::max(acc->max_tokens_cap, pool.max_tokens_cap);
    acc->ctx = std::min(acc->ctx, pool.ctx);
}

}  // namespace llorch::pool
