#pragma once
// Blocking work (disks, processes, GPUs) awaited from an io thread: off_thread(pool, work) runs
// the coroutine `work` on a small thread pool and resumes the awaiter on its own executor with
// the result (or the exception).
//
// The awaiter's cancellation is not forwarded to `work`. Blocking work has nothing to interrupt
// (it awaits nothing; a stop waits for it to end), and forwarding it raced: Asio posts the
// forwarding handler to the pool, where a second pool thread can run it while `work` reads its
// cancellation state on the first. ThreadSanitizer reported that at every pool-managerd stop
// that came during a catalog scan. (A strand per call would serialize the two, but the executor
// of a strand is freed from the pool thread with a fence that TSan does not model.)

#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace llorch::common {

template <class T, class PoolExecutor>
boost::asio::awaitable<T> off_thread(PoolExecutor pool, boost::asio::awaitable<T> work) {
    return boost::asio::co_spawn(pool, std::move(work),
                                 boost::asio::bind_cancellation_slot(
                                     boost::asio::cancellation_slot(), boost::asio::use_awaitable));
}

}  // namespace llorch::common
