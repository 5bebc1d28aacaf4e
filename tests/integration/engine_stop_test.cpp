// Stopping engines never stalls pool-managerd: an engine that ignores SIGTERM is stopped (and
// killed after its grace) while /health answers at once and another pool keeps streaming. And
// an engine holds no descriptor of the daemon: not its listening socket, not its clients'
// connections. Real pool-managerd processes, llorch-sim engines and shell-script engines;
// nothing but the public HTTP API and the process table.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace llorch::test {
namespace {
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

std::string sim_pool(const std::string& id, const std::string& extra = {}) {
    return "[[pools]]\nid = \"" + id + "\"\nengine = \"sim\"\nmodel = \"" + id +
           "-model\"\ndevice = \"cpu\"\nslots = 2\nctx = 4096\n" + extra + "\n";
}

fs::path executable(const fs::path& p, const std::string& body) {
    std::ofstream(p) << "#!/bin/sh\n" << body;
    fs::permissions(p, fs::perms::owner_all);
    return p;
}

// One pool-managerd with its own config, runtime dir and port; SIGTERM, then SIGKILL, at the end.
class daemon {
  public:
    daemon(const std::string& name, const std::string& toml, std::vector<std::string> args = {})
        : dir_(temp_dir("engine-stop-" + name)) {
        std::ofstream(dir_ / "pools.toml") << toml;
        std::vector<std::string> argv{(bin_dir() / "pool-managerd").string(),
                                      "--config",
                                      (dir_ / "pools.toml").string(),
                                      "--addr",
                                      "127.0.0.1:0",
                                      "--runtime-dir",
                                      (dir_ / "run").string(),
                                      "--node-id",
                                      "test-node"};
        argv.insert(argv.end(), args.begin(), args.end());
        proc_ = start_process(argv, dir_ / "daemon.log", no_tokens);
        port_ = listening_port(proc_, dir_ / "daemon.log", "pool-managerd");
    }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }
    uint16_t port() const { return port_; }
    long pid() const { return proc_.pid(); }
    const fs::path& dir() const { return dir_; }
    std::string log_text() const { return read_file(dir_ / "daemon.log"); }
    boost::json::object status(const std::string& pool) const {
        auto r = http_call("GET", url("/v2/pools/" + pool + "/status"), {}, {}, 5s);
        return r.status == 200 ? object_of(r.body) : boost::json::object{};
    }
    std::string state(const std::string& pool) const { return str_of(status(pool), "state"); }
    long engine_pid(const std::string& pool) const {
        return static_cast<long>(int_of(status(pool), "pid"));
    }
    bool wait_state(const std::string& pool, const std::string& want,
                    std::chrono::milliseconds d = 60s) const {
        return wait_until([&] { return state(pool) == want; }, d);
    }

  private:
    fs::path dir_;
    uint16_t port_ = 0;
    common::subprocess proc_;
};

// The inodes of the sockets a process holds ("socket:[123]" links in /proc/<pid>/fd).
std::set<std::string> socket_inodes(long pid) {
    std::set<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        auto target = fs::read_symlink(e.path(), ec);
        if (!ec && target.string().starts_with("socket:")) out.insert(target.string());
    }
    return out;
}

std::vector<std::string> fd_targets(long pid) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        auto target = fs::read_symlink(e.path(), ec);
        out.push_back(e.path().filename().string() + " -> " + (ec ? "?" : target.string()));
    }
    return out;
}

TEST(engine_stop,
     an_engine_ignoring_sigterm_is_stopped_while_health_and_other_streams_stay_prompt) {
    auto dir = temp_dir("engine-stop-wrapper");
    // The engine runs under a shell that ignores SIGTERM and stays after its engine ended, so
    // only SIGKILL after the stop's grace (2 s) ends it.
    auto wrapper = executable(dir / "stubborn-engine.sh", "trap '' TERM\n\"" +
                                                              (bin_dir() / "llorch-sim").string() +
                                                              "\" \"$@\" &\nwait $!\nsleep 60\n");
    auto toml = sim_pool("stubborn", "engine_path = \"" + wrapper.string() + "\"") +
                sim_pool("other", "extra_args = [\"--itl\", \"10ms\"]");
    daemon d("stubborn", toml);
    ASSERT_TRUE(wait_http_ok(d.url("/health"), 30s)) << d.log_text();
    ASSERT_TRUE(d.wait_state("stubborn", "ready")) << d.log_text();
    ASSERT_TRUE(d.wait_state("other", "ready")) << d.log_text();
    long stubborn = d.engine_pid("stubborn");
    ASSERT_GT(stubborn, 0);

    // A stream on the other pool that runs through the whole stop (600 tokens, 10 ms apart).
    std::atomic<bool> streaming{false}, release{false};
    std::vector<steady::time_point> token_times;
    sse_result streamed;
    joined_thread reader(release, [&] {
        streamed = sse_call(
            "POST", d.url("/v2/pools/other/infer"),
            R"({"prompt":"Hi","max_tokens":600,"ignore_eos":true,"task_id":"t-1","attempt":0})", {},
            [&](const http::sse_event& e) {
                if (e.event == "token") {
                    token_times.push_back(steady::now());
                    streaming = true;
                }
                return !release.load();
            });
    });
    ASSERT_TRUE(wait_until([&] { return streaming.load(); }, 30s)) << d.log_text();

    auto r = http_call("POST", d.url("/v2/pools/stubborn/drain"), R"({"deadline_ms":0})");
    ASSERT_EQ(r.status, 202) << r.body;
    auto asked = steady::now();
    long long worst_health_ms = 0, gone_after = -1;
    int answered = 0;
    while (steady::now() - asked < 3s) {
        auto sent = steady::now();
        auto h = http_call("GET", d.url("/health"), {}, {}, 10s);
        worst_health_ms = std::max(worst_health_ms, ms_since(sent));
        if (h.status == 200) ++answered;
        if (gone_after < 0 && d.state("stubborn") == "offline") gone_after = ms_since(asked);
        std::this_thread::sleep_for(50ms);
    }
    auto stop_window_end = steady::now();
    EXPECT_TRUE(d.wait_state("stubborn", "offline", 15s)) << d.state("stubborn");
    if (gone_after < 0) gone_after = ms_since(asked);
    EXPECT_TRUE(wait_until([&] { return !process_alive(stubborn); }, 5s))
        << "the stubborn engine outlived its SIGKILL";
    reader.join();

    std::cout << "[ measure  ] slowest /health " << worst_health_ms << " ms while an engine "
              << "ignored SIGTERM; offline after " << gone_after << " ms\n";
    EXPECT_GT(answered, 10);
    EXPECT_LT(worst_health_ms, 500) << "the io thread waited for the engine";
    EXPECT_GE(gone_after, 1500) << "the engine was meant to outlast SIGTERM";
    long long worst_gap_ms = 0;
    for (size_t i = 1; i < token_times.size(); ++i)
        if (token_times[i] >= asked && token_times[i - 1] <= stop_window_end)
            worst_gap_ms = std::max<long long>(
                worst_gap_ms, std::chrono::duration_cast<std::chrono::milliseconds>(
                                  token_times[i] - token_times[i - 1])
                                  .count());
    EXPECT_GT(token_times.size(), 100u) << streamed.error;
    EXPECT_LT(worst_gap_ms, 500) << "the other pool's stream stalled during the stop";
    EXPECT_EQ(d.state("other"), "ready");
}

TEST(engine_stop, an_engine_holds_no_descriptor_of_the_daemon) {
    auto dir = temp_dir("engine-stop-fds");
    // An engine that never answers and exits after a while: each restart is a fresh spawn.
    auto engine = executable(dir / "sleepy-engine.sh", "exec sleep 2\n");
    auto toml = sim_pool("fds", "engine_path = \"" + engine.string() + "\"");
    daemon d("fds", toml,
             {"--restart-max-crashes", "1000", "--restart-backoff-ms", "50", "--ready-timeout-ms",
              "60000"});
    ASSERT_TRUE(wait_http_ok(d.url("/health"), 30s)) << d.log_text();

    // Client connections the daemon holds open while it spawns the next engine.
    std::vector<int> clients;
    for (int i = 0; i < 5; ++i) {
        int s = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(d.port());
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ASSERT_EQ(::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        clients.push_back(s);
    }
    ASSERT_TRUE(wait_until([&] { return socket_inodes(d.pid()).size() >= 6; }, 10s))
        << "the daemon did not accept the connections";
    long first = d.engine_pid("fds");
    long engine_pid = -1;
    ASSERT_TRUE(wait_until(
        [&] {
            engine_pid = d.engine_pid("fds");
            return engine_pid > 0 && engine_pid != first && process_alive(engine_pid);
        },
        15s))
        << d.log_text();
    auto fds = fd_targets(engine_pid);
    auto daemon_sockets = socket_inodes(d.pid());
    auto engine_sockets = socket_inodes(engine_pid);
    for (int s : clients) ::close(s);

    std::string listing;
    for (const auto& f : fds) listing += f + "\n";
    ASSERT_FALSE(fds.empty()) << "no /proc entry for pid " << engine_pid;
    EXPECT_LE(fds.size(), 4u) << listing;
    for (const auto& s : engine_sockets)
        EXPECT_EQ(daemon_sockets.count(s), 0u) << "the engine holds the daemon's " << s;
}

}  // namespace
}  // namespace llorch::test
