#pragma once
// A set of ids with non-negative integer weights that draws one id with probability
// weight / total in O(log n). Insert, erase and reweight are O(log n) (amortised: the Fenwick
// tree is rebuilt in O(n) when it doubles). Used by the random (all weights 1) and weighted
// strategies, one instance per model. Single-threaded, owned by placement_index.

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

namespace llorch::placement {

class weighted_sampler {
  public:
    bool contains(uint32_t id) const { return pos_.contains(id); }
    uint32_t size() const { return static_cast<uint32_t>(ids_.size()); }
    int64_t total() const { return total_; }

    void insert(uint32_t id, int64_t weight);  // no-op when present
    void erase(uint32_t id);                   // no-op when absent
    // Returns the previous weight, or nullopt when the id is absent.
    std::optional<int64_t> set_weight(uint32_t id, int64_t weight);
    // `u` uniform in [0, total()); total() must be > 0.
    uint32_t pick(uint64_t u) const;

  private:
    void add(uint32_t pos, int64_t delta);
    void rebuild(uint32_t capacity);

    std::vector<uint32_t> ids_;     // dense: position -> id
    std::vector<int64_t> weights_;  // position -> weight
    std::vector<int64_t> tree_;     // Fenwick tree over positions, 1-based, size capacity + 1
    uint32_t capacity_ = 0;         // power of two (or 0)
    int64_t total_ = 0;
    std::unordered_map<uint32_t, uint32_t> pos_;  // id -> position
};

}  // namespace llorch::placement
