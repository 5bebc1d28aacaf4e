#include "admission/rank_index.h"

namespace llorch::admission {

void rank_index::reset(uint64_t base, uint32_t capacity) {
    base_ = base;
    capacity_ = capacity;
    tree_.assign(capacity_ + 1, 0);
}

void rank_index::add(uint64_t seq, int32_t delta) {
    if (!fits(seq)) return;
    for (auto i = static_cast<uint32_t>(seq - base_) + 1; i <= capacity_; i += i & (~i + 1)) {
        tree_[i] += delta;
    }
}

uint32_t rank_index::count_below(uint64_t seq) const {
    if (seq <= base_) return 0;
    const uint64_t end = seq - base_;
    auto i = static_cast<uint32_t>(end < capacity_ ? end : capacity_);
    int64_t sum = 0;
    for (; i > 0; i -= i & (~i + 1)) sum += tree_[i];
    return static_cast<uint32_t>(sum);
}

}  // namespace llorch::admission
