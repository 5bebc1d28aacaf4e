#pragma once
// A child process in its own process group: started with fork/exec, its output appended to a
// log file, killed (the whole group) when asked or when the owner goes away. The child also gets
// PR_SET_PDEATHSIG, so it never outlives its parent, even when the parent is SIGKILLed, and it
// inherits no descriptor but stdin, stdout and stderr: everything else is closed at exec (a
// socket of the parent held open by an engine would keep a client connection alive).
// Not thread-safe; owned by whoever started it. stop() and the destructor block: an event loop
// waits for the exit through open_pidfd() instead (pool::process_launcher does).

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/subprocess_error.h"

namespace llorch::common {

struct spawn_options {
    std::vector<std::string> argv;                         // argv[0] is the program path
    std::vector<std::pair<std::string, std::string>> env;  // added to (or replacing in) environ
    std::filesystem::path log_file;  // stdout+stderr appended here; empty: inherit
    bool die_with_parent = true;
};

class subprocess {
  public:
    subprocess() = default;
    ~subprocess();
    subprocess(subprocess&& o) noexcept : pid_(std::exchange(o.pid_, -1)), status_(o.status_) {}
    subprocess& operator=(subprocess&& o) noexcept;
    subprocess(const subprocess&) = delete;
    subprocess& operator=(const subprocess&) = delete;

    static subprocess_result<subprocess> spawn(const spawn_options& opts);

    pid_t pid() const { return pid_; }
    bool running();  // reaps without blocking
    // A pidfd of the process (readable once it exited), close-on-exec; -1 when the kernel has
    // none (before Linux 5.3) or the process is gone. The caller owns the descriptor.
    int open_pidfd() const;
    // Exit status as from waitpid, once the process ended.
    std::optional<int> status() const { return status_; }
    // SIGTERM to the group, then SIGKILL after `grace`; blocks until reaped (at most grace + 1 s).
    void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));
    void kill_group(int sig);
    // SIGKILL to the group and reap: for destructors, where nothing can wait any more.
    void kill_now();
    // Gives up ownership without stopping the process.
    pid_t release() { return std::exchange(pid_, -1); }

    // Describes a waitpid status: "exited with 1", "killed by signal 9".
    static std::string describe(int status);

  private:
    explicit subprocess(pid_t pid) : pid_(pid) {}
    pid_t pid_ = -1;
    std::optional<int> status_;
};

}  // namespace llorch::common
