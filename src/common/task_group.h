#pragma once
// A set of background coroutines that stop together, so that nothing an object started outlives
// it: spawn() starts one on the group's executor and tracks it; stop() asks every one still
// running to stop (terminal cancellation of whatever it awaits: a timer, a socket, a process
// exit) and completes when the last one has finished.
//
// Owner: an application object or a service, one group per owner, stopped in reverse order of
// start. Thread: the executor's (the control thread); spawn() and stop() are called there.
// Lifecycle: construct → spawn()… → co_await stop() → destroy. Destroying a group whose tasks
// still run is allowed only once its io_context has stopped (their handlers then never run).

#include <exception>
#include <list>
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
    explicit task_group(boost::asio::any_io_executor ex) : ex_(ex), idle_(ex) {}
    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;

    // Starts `task`; `name` names it in the log if it ends with an exception. Once stop() has
    // begun, nothing new starts: the task is dropped unstarted.
    void spawn(boost::asio::awaitable<void> task, std::string name) {
        if (stopping_) return;
        auto it = tasks_.emplace(tasks_.end());
        it->name = std::move(name);
        boost::asio::co_spawn(ex_, std::move(task),
                              boost::asio::bind_cancellation_slot(it->signal.slot(),
                                                                  [this, it](std::exception_ptr e) {
                                                                      if (e && !stopping_)
                                                                          log_failure(it->name, e);
                                                                      tasks_.erase(it);
                                                                      if (tasks_.empty())
                                                                          idle_.cancel();
                                                                  }));
    }

    // Cancels every task and waits until all have finished.
    boost::asio::awaitable<void> stop() {
        stopping_ = true;
        for (auto& t : tasks_) t.signal.emit(boost::asio::cancellation_type::terminal);
        while (!tasks_.empty()) {
            idle_.expires_at(boost::asio::steady_timer::time_point::max());
            boost::system::error_code ec;
            co_await idle_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
        }
    }

    size_t size() const { return tasks_.size(); }

  private:
    struct tracked {
        boost::asio::cancellation_signal signal;
        std::string name;
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
    boost::asio::steady_timer idle_;  // cancelled when the last task ends
    std::list<tracked> tasks_;        // list: iterators stay valid while others are erased
    bool stopping_ = false;
};

}  // namespace llorch::common
