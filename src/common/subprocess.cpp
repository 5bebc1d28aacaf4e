#include "common/subprocess.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace llorch::common {

subprocess::~subprocess() {
    if (pid_ > 0) stop(std::chrono::milliseconds(500));
}

subprocess& subprocess::operator=(subprocess&& o) noexcept {
    if (this != &o) {
        if (pid_ > 0) stop(std::chrono::milliseconds(500));
        pid_ = std::exchange(o.pid_, -1);
        status_ = o.status_;
    }
    return *this;
}

subprocess_result<subprocess> subprocess::spawn(const spawn_options& opts) {
    if (opts.argv.empty())
        return subprocess_error{subprocess_errc::no_program, std::string("no program to start")};
    // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
    std::vector<std::string> env_store;
    for (char** e = environ; *e; ++e) {
        std::string_view kv(*e);
        bool replaced = false;
        for (const auto& [k, v] : opts.env)
            if (kv.size() > k.size() && kv.substr(0, k.size()) == k && kv[k.size()] == '=')
                replaced = true;
        if (!replaced) env_store.emplace_back(kv);
    }
    for (const auto& [k, v] : opts.env) env_store.push_back(k + "=" + v);
    std::vector<char*> envp, argv;
    for (auto& s : env_store) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_store = opts.argv;
    for (auto& s : argv_store) argv.push_back(s.data());
    argv.push_back(nullptr);

    int log_fd = -1;
    if (!opts.log_file.empty()) {
        log_fd = ::open(opts.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (log_fd < 0)
            return subprocess_error{
                subprocess_errc::log_file,
                "cannot open log file " + opts.log_file.string() + ": " + std::strerror(errno)};
    }
    // The fallback's bound when close_range is missing (before Linux 5.11): sysconf is not
    // async-signal-safe, so it is asked before fork.
    long open_max = ::sysconf(_SC_OPEN_MAX);
    if (open_max < 0 || open_max > 65536) open_max = 65536;
    int errpipe[2];
    if (::pipe2(errpipe, O_CLOEXEC) != 0) {
        if (log_fd >= 0) ::close(log_fd);
        return subprocess_error{subprocess_errc::os_resources,
                                std::string("pipe: ") + std::strerror(errno)};
    }
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
        int err = errno;
        ::close(errpipe[0]);
        ::close(errpipe[1]);
        if (log_fd >= 0) ::close(log_fd);
        return subprocess_error{subprocess_errc::os_resources,
                                std::string("fork: ") + std::strerror(err)};
    }
    if (pid == 0) {
        ::setpgid(0, 0);
        if (opts.die_with_parent) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(127);
        }
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull >= 0) ::dup2(devnull, 0);
        if (log_fd >= 0) {
            ::dup2(log_fd, 1);
            ::dup2(log_fd, 2);
        }
        // Descriptors opened without O_CLOEXEC (Asio's sockets among them) would live on in the
        // engine: mark every one above stderr close-on-exec. errpipe[1] stays usable until exec.
        if (::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0)
            for (int fd = 3; fd < open_max; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        ::execve(argv[0], argv.data(), envp.data());
        int err = errno;
        [[maybe_unused]] auto n = ::write(errpipe[1], &err, sizeof err);
        ::_exit(127);
    }
    ::setpgid(pid, pid);  // also from the parent, so kill(-pid) works at once
    ::close(errpipe[1]);
    if (log_fd >= 0) ::close(log_fd);
    int child_err = 0;
    ssize_t n;
    do {
        n = ::read(errpipe[0], &child_err, sizeof child_err);
    } while (n < 0 && errno == EINTR);
    ::close(errpipe[0]);
    if (n == sizeof child_err) {
        int st;
        ::waitpid(pid, &st, 0);
        return subprocess_error{subprocess_errc::exec_failed,
                                "cannot run " + opts.argv[0] + ": " + std::strerror(child_err)};
    }
    return subprocess(pid);
}

bool subprocess::running() {
    if (pid_ <= 0) return false;
    int st;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
        status_ = st;
        ::kill(-pid_, SIGKILL);  // anything the engine left in its group goes too
        pid_ = -1;
        return false;
    }
    if (r < 0 && errno == ECHILD) {
        pid_ = -1;
        return false;
    }
    return true;
}

int subprocess::open_pidfd() const {
    if (pid_ <= 0) return -1;
    return static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
}

void subprocess::kill_group(int sig) {
    if (pid_ > 0) ::kill(-pid_, sig);
}

void subprocess::kill_now() {
    if (pid_ <= 0) return;
    kill_group(SIGKILL);
    int st;
    pid_t r;
    do {
        r = ::waitpid(pid_, &st, 0);
    } while (r < 0 && errno == EINTR);
    if (r == pid_) status_ = st;
    pid_ = -1;
}

void subprocess::stop(std::chrono::milliseconds grace) {
    if (pid_ <= 0) return;
    kill_group(SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + grace;
    int pidfd = open_pidfd();
    while (running()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            kill_now();
            break;
        }
        // Sleeps until the exit (a pidfd turns readable) rather than spinning.
        if (pidfd >= 0) {
            pollfd pfd{pidfd, POLLIN, 0};
            ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
    if (pidfd >= 0) ::close(pidfd);
}

std::string subprocess::describe(int status) {
    if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
        const char* name = ::strsignal(WTERMSIG(status));
        return "killed by signal " + std::to_string(WTERMSIG(status)) +
               (name ? std::string(" (") + name + ")" : std::string());
    }
    return "ended with status " + std::to_string(status);
}

}  // namespace llorch::common
