#pragma once
// Counts live sequence numbers below a given one in O(log n): a Fenwick tree over a window
// [base, base + capacity) of sequence numbers. When a new number falls outside the window the
// owner renumbers its live entries and calls reset(); see admission_queue::compact().
// Single-threaded, owned by admission_queue.

#include <cstdint>
#include <vector>

namespace llorch::admission {

class rank_index {
  public:
    bool fits(uint64_t seq) const { return seq >= base_ && seq - base_ < capacity_; }
    void insert(uint64_t seq) { add(seq, 1); }
    void erase(uint64_t seq) { add(seq, -1); }
    uint32_t count_below(uint64_t seq) const;      // live numbers in [base, seq)
    void reset(uint64_t base, uint32_t capacity);  // empty window of `capacity` numbers

  private:
    void add(uint64_t seq, int32_t delta);

    uint64_t base_ = 0;
    uint32_t capacity_ = 0;
    std::vector<int32_t> tree_;
};

}  // namespace llorch::admission
