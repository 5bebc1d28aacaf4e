#pragma once
// process_launcher: engine_launcher for real engine processes (llama-server, llorch-sim, a
// configured engine_path). launch() forks and execs on the blocking pool (common::subprocess:
// own process group, PR_SET_PDEATHSIG, no inherited descriptors, output appended to
// <runtime_dir>/logs/<pool>-<replica>[-g<generation>].log, rotated by size) and comes back to
// the io thread, where the engine's exit is awaited through its pidfd (a 100 ms WNOHANG poll
// on kernels without pidfd_open). stop() sends SIGTERM and arms a timer for SIGKILL: nothing
// waits on the io thread.
//
// Owner: the pool manager. Thread: launch() is called on the io thread; every callback of the
// engines it returns runs there. Lifecycle: lives as long as the manager; an engine object lives
// until its process exited and was reaped (its pending wait holds it).

#include <cstddef>
#include <filesystem>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "pool/engine_launcher.h"

namespace llorch::pool {

class process_launcher final : public engine_launcher {
  public:
    process_launcher(boost::asio::io_context& io, boost::asio::thread_pool::executor_type blocking,
                     std::filesystem::path runtime_dir, std::size_t log_rotate_bytes);

    boost::asio::awaitable<pool_result<launched_engine>> launch(pool_config pool,
                                                                engine_spec spec) override;

  private:
    boost::asio::io_context& io_;
    boost::asio::thread_pool::executor_type blocking_;
    std::filesystem::path runtime_dir_;
    std::size_t log_rotate_bytes_;
};

// The last `n` lines of a log file joined with " | ", reading at most its last 8 KiB.
std::string tail_lines(const std::filesystem::path& p, std::size_t n);

// Copy-and-truncate rotation once the file reaches `limit`: the engine keeps its O_APPEND
// descriptor and writes on at 0. Blocks on disk.
void rotate_log(const std::filesystem::path& p, std::size_t limit);

}  // namespace llorch::pool
