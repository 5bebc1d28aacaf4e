#pragma once
// A set of background coroutines that stop together, so that nothing an object started outlives
// it: spawn() starts one on the group's executor and tracks it; stop() asks every one still
// running to stop (terminal cancellation of whatever it awaits: a timer, a socket, a process
// exit) and completes when the last one has finished.
//
// Owner: an application object or a service, one group per owner, stopped in reverse order of
// start. Thread: the executor's (the control thread); spawn() and stop() are called there.
// Lifecycle: construct → spawn()… → co_await stop() → destroy. A group destroyed while its
// tasks run leaves them running untracked (their handlers keep the group's state alive).

#include <exception>
#include <list>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include "common/log.h"

namespace llorch::common {

class task_group {
  public:
    explicit task_group(boost::asio::any_io_executor ex)
        : ex_(ex), state_(std::make_shared<state>(ex)) {}
    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;

    // Starts `task`; `name` names it in the log if it ends with an exception. Once stop() has
    // begun, nothing new starts: the task is dropped unstarted.
    void spawn(boost::asio::awaitable<void> task, std::string name) {
        if (state_->stopping) return;
        auto it = state_->tasks.emplace(state_->tasks.end());
        it->name = std::move(name);
        // The handler holds the group's state, not the group: a task may hold the last reference
        // to the group's owner, which then goes before the handler runs.
        boost::asio::co_spawn(ex_, std::move(task),
                              boost::asio::bind_cancellation_slot(
                                  it->signal.slot(), [s = state_, it](std::exception_ptr e) {
                                      if (e && !s->stopping) log_failure(it->name, e);
                                      s->tasks.erase(it);
                                      if (s->tasks.empty()) s->idle.cancel();
                                  }));
    }

    // Cancels every task and waits until all have finished.
    boost::asio::awaitable<void> stop() {
        auto s = state_;
        s->stopping = true;
        for (auto& t : s->tasks) t.signal.emit(boost::asio::cancellation_type::terminal);
        while (!s->tasks.empty()) {
            s->idle.expires_at(boost::asio::steady_timer::time_point::max());
            boost::system::error_code ec;
            co_await s->idle.async_wait(
                boost::asio::redirect_error(boost::asio::use_awaitable, ec));
        }
    }

    size_t size() const { return state_->tasks.size(); }

  private:
    struct tracked {
        boost::asio::cancellation_signal signal;
        std::string name;
    };
    struct state {
        explicit state(boost::asio::any_io_executor ex) : idle(ex) {}
        boost::asio::steady_timer idle;  // cancelled when the last task ends
        std::list<tracked> tasks;        // list: iterators stay valid while others are erased
        bool stopping = false;
    };

    static void log_failure(const std::string& name, std::exception_ptr e) {
        try {
            std::rethrow_exception(e);
        } catch (const boost::system::system_error& se) {
            // A cancelled wait is how a task is asked to stop; nothing to report.
            if (se.code() == boost::asio::error::operation_aborted) return;
            logger("task_group")->error("background task {} ended: {}", name, se.what());
        } catch (const std::exception& x) {
            logger("task_group")->error("background task {} ended: {}", name, x.what());
        } catch (...) {
            logger("task_group")->error("background task {} ended with an unknown error", name);
        }
    }

    boost::asio::any_io_executor ex_;
    std::shared_ptr<state> state_;
};

}  // namespace llorch::common
