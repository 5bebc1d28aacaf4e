// systemd readiness (Type=notify) with the real daemons: started with NOTIFY_SOCKET pointing at a
// datagram socket the test binds, each sends READY=1 once it serves (/health answers at once),
// STOPPING=1 on SIGTERM, nothing when it cannot start; no engine it starts inherits the socket.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>
#include <random>

#include "pool_managerd_fixture.h"

namespace llorch::test {
namespace {

// The service manager's end: a bound unix datagram socket (a path, or an @abstract name).
class manager_socket {
  public:
    explicit manager_socket(std::string address)
        : address_(std::move(address)), fd_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::memcpy(sa.sun_path, address_.data(), address_.size());
        bool abstract = address_.front() == '@';
        if (abstract) sa.sun_path[0] = '\0';
        auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size() +
                                          (abstract ? 0 : 1));
        bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), len) == 0;
    }
    ~manager_socket() {
        ::close(fd_);
        if (address_.front() == '/') ::unlink(address_.c_str());
    }
    const std::string& address() const { return address_; }
    bool bound() const { return bound_; }
    // The next datagram; nullopt when none came within `deadline`.
    std::optional<std::string> receive(std::chrono::milliseconds deadline) const {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(deadline.count())) != 1) return std::nullopt;
        char buf[4096];
        auto n = ::recv(fd_, buf, sizeof buf, 0);
        if (n < 0) return std::nullopt;
        return std::string(buf, static_cast<size_t>(n));
    }

  private:
    std::string address_;
    int fd_;
    bool bound_ = false;
};

std::string abstract_name() {
    return "@llorch-notify-" + std::to_string(::getpid()) + "-" +
           std::to_string(std::random_device{}());
}

bool has_line(const std::string& datagram, const std::string& line) {
    return ("\n" + datagram + "\n").find("\n" + line + "\n") != std::string::npos;
}

header_pairs notify_env(const std::string& address) {
    auto env = no_tokens;
    env.emplace_back("NOTIFY_SOCKET", address);
    return env;
}

// The environment a process was started with, as NUL-separated VAR=value entries.
std::string environ_of(long pid) { return read_file("/proc/" + std::to_string(pid) + "/environ"); }

// READY=1 arrives; at that moment the daemon already answers /health; SIGTERM brings STOPPING=1
// and a clean exit.
void expect_ready_then_stopping(const manager_socket& manager, common::subprocess& p,
                                const fs::path& log, const std::string& daemon) {
    auto ready = manager.receive(60s);
    ASSERT_TRUE(ready) << "no READY=1 from " << daemon << ": " << read_file(log);
    EXPECT_TRUE(has_line(*ready, "READY=1")) << *ready;
    // Read at once, without waiting: the daemon prints its port once the listener is bound.
    EXPECT_NE(read_file(log).find(daemon + " listening on"), std::string::npos)
        << "READY=1 before the listener was bound: " << read_file(log);
    auto port = listening_port(p, log, daemon, 5s);
    ASSERT_NE(port, 0) << read_file(log);
    // One try, no retry: ready means serving.
    auto health =
        http_call("GET", "http://127.0.0.1:" + std::to_string(port) + "/health", {}, {}, 5s);
    EXPECT_EQ(health.status, 200) << health.body;
    EXPECT_FALSE(manager.receive(200ms)) << "READY sent twice or something else";

    ::kill(p.pid(), SIGTERM);
    auto stopping = manager.receive(30s);
    ASSERT_TRUE(stopping) << "no STOPPING=1 after SIGTERM: " << read_file(log);
    EXPECT_TRUE(has_line(*stopping, "STOPPING=1")) << *stopping;
    ASSERT_TRUE(wait_until([&] { return !p.running(); }, 60s)) << read_file(log);
    ASSERT_TRUE(p.status());
    EXPECT_TRUE(WIFEXITED(*p.status()) && WEXITSTATUS(*p.status()) == 0)
        << common::subprocess::describe(*p.status());
}

TEST(sd_notify, orchestratord_says_ready_once_it_serves_and_stopping_on_sigterm) {
    engine_or_skip();
    manager_socket manager((temp_dir("notify-orch") / "notify.sock").string());
    ASSERT_TRUE(manager.bound()) << manager.address();
    auto dir = temp_dir("notify-orch-daemon");
    auto config = dir / "pools.toml";
    std::ofstream(config) << pool_toml("tiny", tiny_model(), 1, 512);
    auto log = dir / "daemon.log";
    auto p = start_process(
        {(bin_dir() / "orchestratord").string(), "--config", config.string(), "--addr",
         "127.0.0.1:0", "--runtime-dir", (dir / "run").string(), "--drain-deadline-ms", "200"},
        log, notify_env(manager.address()));
    expect_ready_then_stopping(manager, p, log, "orchestratord");
}

TEST(sd_notify, pool_managerd_says_ready_and_its_engines_do_not_inherit_the_socket) {
    engine_or_skip();
    manager_socket manager(abstract_name());
    ASSERT_TRUE(manager.bound()) << manager.address();
    daemon_process d("notify", pool_toml("tiny", tiny_model(), 1, 512),
                     {"--drain-deadline-ms", "200"}, notify_env(manager.address()));
    ASSERT_TRUE(d.wait_state("tiny", "ready")) << d.log_text();
    auto engine = d.pid_of("tiny");
    ASSERT_GT(engine, 0);
    auto env = environ_of(engine);
    ASSERT_FALSE(env.empty()) << "cannot read the engine's environment";
    EXPECT_EQ(env.find("NOTIFY_SOCKET="), std::string::npos)
        << "the engine could speak for pool-managerd";
    expect_ready_then_stopping(manager, d.proc(), d.dir() / "daemon.log", "pool-managerd");
}

TEST(sd_notify, a_daemon_that_cannot_start_never_says_ready) {
    manager_socket manager(abstract_name());
    ASSERT_TRUE(manager.bound()) << manager.address();
    // The address is taken: the bind fails after the configuration was read.
    auto blocker_log = temp_dir("notify-blocker") / "out.log";
    auto blocker = start_process(
        {(bin_dir() / "orchestratord").string(), "--cloud-profile", "--addr", "127.0.0.1:0"},
        blocker_log, no_tokens);
    auto taken = listening_port(blocker, blocker_log, "orchestratord");
    ASSERT_NE(taken, 0);
    auto dir = temp_dir("notify-refused");
    auto p = start_process({(bin_dir() / "orchestratord").string(), "--cloud-profile", "--addr",
                            "127.0.0.1:" + std::to_string(taken)},
                           dir / "out.log", notify_env(manager.address()));
    ASSERT_TRUE(wait_until([&] { return !p.running(); }, 30s)) << read_file(dir / "out.log");
    ASSERT_TRUE(p.status());
    EXPECT_EQ(WEXITSTATUS(*p.status()), 2) << read_file(dir / "out.log");
    EXPECT_FALSE(manager.receive(300ms)) << "READY from a daemon that did not start";
}

}  // namespace
}  // namespace llorch::test
