#pragma once
// replica_monitor: keeps one replica alive. It waits until the engine answers its health check
// (the pool turns ready with its first replica), then watches it: an exit is seen at once
// (engine_process::on_exit), a hung engine after health_failures_before_restart failed probes
// every health_interval. A replica that went down is restarted after restart_policy's backoff,
// or the pool goes failed after a crash loop; an engine run elsewhere is probed until it answers
// again. Each successful probe of a llama-server also cross-checks the slot count with the
// engine's own (GET /slots): ours stays authoritative, a persistent excess is logged and counted.
//
// Owner: the coroutine start() spawns (one per replica), holding the runtime, the pool and the
// replica. Thread: the io thread. Lifecycle: ends when the replica stops or retires, when the
// manager stops, or when the pool fails.

#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "pool/pool_runtime.h"

namespace llorch::pool {

class replica_monitor {
  public:
    static void start(std::shared_ptr<pool_runtime> rt, std::shared_ptr<pool_entry> p,
                      std::shared_ptr<replica> r);

    // Waits until the replica answers its health check; empty on success, else why not (the
    // engine exited, was stopped, or ready_timeout passed).
    static asio::awaitable<std::string> wait_ready(std::shared_ptr<pool_runtime> rt,
                                                   std::shared_ptr<pool_entry> p,
                                                   std::shared_ptr<replica> r);

  private:
    static asio::awaitable<void> run(std::shared_ptr<pool_runtime> rt,
                                     std::shared_ptr<pool_entry> p, std::shared_ptr<replica> r);
    // Watches a ready replica until it goes down (the reason) or is stopped (empty).
    static asio::awaitable<std::string> watch(std::shared_ptr<pool_runtime> rt,
                                              std::shared_ptr<pool_entry> p,
                                              std::shared_ptr<replica> r);
    static asio::awaitable<void> check_engine_slots(std::shared_ptr<pool_runtime> rt,
                                                    std::shared_ptr<pool_entry> p,
                                                    std::shared_ptr<replica> r);
};

}  // namespace llorch::pool
