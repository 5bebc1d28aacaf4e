#pragma once
// One simulated generation: it waits for a slot of its engine, then produces tokens on the
// schedule drawn from the engine's latency models (time to first token, then one inter-token
// latency per token), and ends, hangs or triggers the crash fault as planned.
//
// Owned (shared) by the response that streams it or the handler that waits for it; its engine
// knows it by ticket while it holds or waits for a slot. Used on the io thread only. One timer,
// armed only while advance() waits: thousands of them cost little.
//
// States: queued → running → finished, with cancel() possible from any of them; a hanging
// generation stops in running with no further tokens until it is cancelled.

#include <chrono>
#include <memory>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "sim/sim_frames.h"
#include "sim/slot_table.h"

namespace llorch::sim {

class sim_engine;

class generation {
  public:
    using clock = std::chrono::steady_clock;

    struct plan {
        int tokens = 0;       // to generate
        bool eos = false;     // the end is end-of-sequence (no limit was asked for)
        int hang_after = -1;  // stop for good after this many tokens; -1: never
        int prompt_tokens = 1;
    };

    // What advance() brings: new tokens [first, first + count), the end, or nothing yet.
    struct step {
        int first = 0;
        int count = 0;
        bool finished = false;  // the generation is complete (after these tokens)
        bool gone = false;      // cancelled or already finished: nothing more will come
    };

    generation(std::shared_ptr<sim_engine> engine, plan p);
    ~generation();
    generation(const generation&) = delete;
    generation& operator=(const generation&) = delete;

    // Asks the engine for a slot; the generation runs at once or waits in its FIFO.
    void start();
    // Waits up to max_wait for the next tokens. Returns an empty step (no tokens, not finished,
    // not gone) when nothing came in time.
    boost::asio::awaitable<step> advance(std::chrono::milliseconds max_wait);
    // The client went away: frees the slot (or the place in the queue) now, and wakes advance().
    void cancel();
    // Called by the engine when a slot becomes ours.
    void grant(int slot);

    gen_summary summary() const;
    sim_engine& engine() const { return *engine_; }

  private:
    step produce(clock::time_point now);
    void release();

    std::shared_ptr<sim_engine> engine_;
    plan plan_;
    boost::asio::steady_timer timer_;
    slot_table::ticket ticket_ = 0;
    bool admitted_ = false;
    bool released_ = false;
    bool cancelled_ = false;
    bool done_ = false;
    bool hung_ = false;
    bool crash_pending_ = false;
    int slot_ = -1;
    int produced_ = 0;
    clock::time_point granted_at_{};
    clock::time_point next_due_{};
    clock::time_point first_at_{};
    clock::time_point last_at_{};
};

}  // namespace llorch::sim
