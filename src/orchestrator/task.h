#pragma once
// One task: what the client asked, where it stands, and its event log. The log keeps every SSE
// frame (started, token, metrics, end | error) until the task ends plus a retention period, so a
// reader may connect before the task starts, late, or again with Last-Event-ID, and several
// readers may follow one task. Owned by task_table; used on the control plane's thread only.
//
//   queued → running → completed
//      │        ├────→ failed     (terminal `error` event)
//      └────────┴────→ cancelled  (terminal `error` event, code CANCELLED)

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "api/error.h"
#include "http/message.h"
#include "orchestrator/task_metrics.h"
#include "orchestrator/task_spec.h"
#include "placement/placement_request.h"

namespace llorch::pool {
class infer_stream;
}

namespace llorch::orchestrator {
namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

enum class task_state { queued, running, completed, failed, cancelled };
std::string_view to_string(task_state s);

struct task {
    explicit task(asio::io_context& io) : io_(io) {}
    task_spec spec;
    task_state state = task_state::queued;
    clock::time_point created{}, started{}, first_token{}, last_token{}, ended{};
    std::chrono::system_clock::time_point created_wall{};
    std::string node_id, pool_id;
    int attempts = 0;
    // Pools an earlier attempt failed on before its first token: avoided while another pool can
    // run the task, tried again (up to the attempt bound) when none can.
    std::vector<std::string> retry_avoid;
    long long tokens = 0;      // token events sent
    long long tokens_out = 0;  // the engine's count, from its end event
    std::optional<api::error> error;
    placement::pool_ref pool;
    pool::infer_stream* upstream = nullptr;  // while running; cancel() goes through it
    const task_series* series = nullptr;     // of the pool it runs on; set when placed

    // Its labels in the task metrics: the model, and the pool and node once placed.
    series_key metrics_key() const { return {spec.model, pool_id, node_id, spec.priority}; }

    // Readers.
    int readers = 0;
    bool ever_read = false;
    std::unique_ptr<asio::steady_timer> grace_timer;

    bool finished() const {
        return state == task_state::completed || state == task_state::failed ||
               state == task_state::cancelled;
    }

    // The log. token_index is the event's `i` for token frames, -1 for the others.
    struct frame {
        std::string text;
        long long token_index;
        std::string verbose_text;  // what ?verbose=true readers get instead, when not empty
    };
    const std::vector<frame>& frames() const { return frames_; }
    size_t bytes() const { return bytes_; }
    void append(std::string text, long long token_index = -1, std::string verbose_text = {});
    // Wakes every reader waiting for a frame.
    void notify();
    // A reader's wait for the next frame (used by task_reader).
    void add_waiter(asio::steady_timer* t) { waiters_.push_back(t); }
    void remove_waiter(asio::steady_timer* t);
    asio::io_context& io() { return io_; }

  private:
    asio::io_context& io_;
    std::vector<frame> frames_;
    size_t bytes_ = 0;
    std::vector<asio::steady_timer*> waiters_;
};

// A token event's SSE frame in a task's log:
//   id: N\nevent: token\ndata: {"t":"<text, JSON-escaped>","i":N}\n\n
std::string token_frame(std::string_view text, long long index);
// The still-escaped text of a token frame's data (`{"t":"...","i":N}`, as token_frame writes
// it), or nullopt when the data has another shape.
std::optional<std::string_view> token_frame_text(std::string_view data);

// The SSE body of GET /v2/tasks/{id}/events: replays the log from the start (or after
// Last-Event-ID), then follows it as frames arrive; ends after the terminal frame.
class task_reader final : public http::body_stream {
  public:
    task_reader(std::shared_ptr<task> t, std::optional<long long> last_event_id,
                std::function<void(task&)> on_gone, bool verbose = false);
    ~task_reader() override;
    asio::awaitable<std::optional<std::string>> next(std::chrono::milliseconds max_wait) override;
    void on_disconnect() override;
    bool ended() const override;

  private:
    void leave();
    std::shared_ptr<task> t_;
    size_t cursor_ = 0;
    bool left_ = false;
    bool disconnected_ = false;
    bool verbose_ = false;
    asio::steady_timer timer_;
    std::function<void(task&)> on_gone_;
};

}  // namespace llorch::orchestrator
