#include "placement/weighted_sampler.h"

#include <algorithm>

namespace llorch::placement {

void weighted_sampler::add(uint32_t pos, int64_t delta) {
    for (uint32_t i = pos + 1; i <= capacity_; i += i & (~i + 1)) tree_[i] += delta;
}

void weighted_sampler::rebuild(uint32_t capacity) {
    capacity_ = capacity;
    tree_.assign(capacity_ + 1, 0);
    // Linear-time Fenwick construction: push each node's sum to its parent.
    for (uint32_t i = 1; i <= capacity_; ++i) {
        if (i - 1 < weights_.size()) tree_[i] += weights_[i - 1];
        uint32_t parent = i + (i & (~i + 1));
        if (parent <= capacity_) tree_[parent] += tree_[i];
    }
}

void weighted_sampler::insert(uint32_t id, int64_t weight) {
    if (pos_.contains(id)) return;
    weight = std::max<int64_t>(weight, 0);
    const auto pos = static_cast<uint32_t>(ids_.size());
    ids_.push_back(id);
    weights_.push_back(weight);
    pos_.emplace(id, pos);
    total_ += weight;
    if (pos >= capacity_) {
        rebuild(capacity_ == 0 ? 16 : capacity_ * 2);
    } else {
        add(pos, weight);
    }
}

void weighted_sampler::erase(uint32_t id) {
    auto it = pos_.find(id);
    if (it == pos_.end()) return;
    const uint32_t pos = it->second;
    const uint32_t last = static_cast<uint32_t>(ids_.size()) - 1;
    const int64_t removed = weights_[pos];
    total_ -= removed;
    pos_.erase(it);
    if (pos != last) {
        // Swap-remove: the last element takes the freed position.
        const uint32_t moved = ids_[last];
        const int64_t moved_weight = weights_[last];
        add(pos, moved_weight - removed);
        add(last, -moved_weight);
        ids_[pos] = moved;
        weights_[pos] = moved_weight;
        pos_[moved] = pos;
    } else {
        add(pos, -removed);
    }
    ids_.pop_back();
    weights_.pop_back();
}

std::optional<int64_t> weighted_sampler::set_weight(uint32_t id, int64_t weight) {
    auto it = pos_.find(id);
    if (it == pos_.end()) return std::nullopt;
    weight = std::max<int64_t>(weight, 0);
    const uint32_t pos = it->second;
    const int64_t old = weights_[pos];
    if (old != weight) {
        add(pos, weight - old);
        weights_[pos] = weight;
        total_ += weight - old;
    }
    return old;
}

uint32_t weighted_sampler::pick(uint64_t u) const {
    // Descend the Fenwick tree to the first position whose prefix sum exceeds u.
    uint32_t idx = 0;
    auto rest = static_cast<int64_t>(u);
    for (uint32_t step = capacity_; step > 0; step >>= 1) {
        const uint32_t next = idx + step;
        if (next <= capacity_ && tree_[next] <= rest) {
            idx = next;
            rest -= tree_[next];
        }
    }
    return ids_[std::min<uint32_t>(idx, static_cast<uint32_t>(ids_.size()) - 1)];
}

}  // namespace llorch::placement
