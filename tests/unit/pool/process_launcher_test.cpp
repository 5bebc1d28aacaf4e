// process_launcher with real processes (shell scripts standing in for an engine): the exit is
// seen without polling, a stop escalates to SIGKILL after the grace while the io thread keeps
// running, and an engine inherits no descriptor of the daemon.
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "io_loop.h"
#include "pool/process_launcher.h"

namespace llorch::pool {
namespace {
namespace fs = std::filesystem;
namespace asio = boost::asio;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

class process_launcher_test : public ::testing::Test {
  protected:
    void SetUp() override {
        static std::atomic<unsigned> counter{0};
        dir_ = fs::temp_directory_path() /
               ("llorch-process-launcher-test-" + std::to_string(::getpid()) + "-" +
                std::to_string(counter.fetch_add(1)));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    fs::path script(const std::string& name, const std::string& body) {
        auto p = dir_ / name;
        std::ofstream(p) << "#!/bin/sh\n" << body;
        fs::permissions(p, fs::perms::owner_all);
        return p;
    }

    std::shared_ptr<engine_process> launch(const fs::path& engine) {
        pool_config c;
        c.id = "p";
        c.engine = engine_kind::llamacpp;
        c.model = "unused.gguf";
        c.engine_path = engine.string();
        std::optional<pool_result<launched_engine>> out;
        asio::co_spawn(
            io_, launcher_.launch(c, engine_spec{c.model, 0, 0, 1}),
            [&](std::exception_ptr, pool_result<launched_engine> r) { out.emplace(std::move(r)); });
        run_until([&] { return out.has_value(); });
        if (!out || !*out) {
            ADD_FAILURE() << (out ? out->error().message : std::string("launch never completed"));
            return nullptr;
        }
        return (*out)->process;
    }

    bool run_until(const std::function<bool()>& cond, std::chrono::milliseconds deadline = 10s) {
        return testing::run_until(io_, cond, deadline);
    }

    fs::path dir_;
    asio::io_context io_;
    asio::thread_pool blocking_{1};
    process_launcher launcher_{io_, blocking_.get_executor(), dir_ / "run", 1 << 20};
};

TEST_F(process_launcher_test, an_exit_is_reported_with_its_status_and_last_log_lines) {
    auto e = launch(script("crash.sh", "echo 'fake engine: cannot open the GPU'\nexit 3\n"));
    ASSERT_TRUE(e);
    EXPECT_GT(e->pid(), 0);
    bool told = false;
    e->on_exit([&] { told = true; });
    ASSERT_TRUE(run_until([&] { return told; }));
    EXPECT_TRUE(e->exited());
    EXPECT_NE(e->exit_reason().find("exited with 3"), std::string::npos) << e->exit_reason();
    EXPECT_NE(e->exit_reason().find("cannot open the GPU"), std::string::npos) << e->exit_reason();
}

TEST_F(process_launcher_test,
       an_engine_ignoring_sigterm_is_killed_after_the_grace_off_the_io_thread) {
    auto e = launch(script("stubborn.sh", "trap '' TERM\nwhile :; do sleep 0.05; done\n"));
    ASSERT_TRUE(e);
    // Let the shell install its trap before the stop arrives.
    asio::steady_timer settle(io_, 200ms);
    bool settled = false;
    settle.async_wait([&](boost::system::error_code) { settled = true; });
    run_until([&] { return settled; });
    ASSERT_FALSE(e->exited());

    testing::lag_meter lag(io_);
    auto asked = steady::now();
    e->stop(700ms);
    run_until([&] { return steady::now() - asked > 300ms; });
    EXPECT_FALSE(e->exited()) << "the script was meant to ignore SIGTERM";
    ASSERT_TRUE(run_until([&] { return e->exited(); }, 5s));
    auto took = steady::now() - asked;
    EXPECT_GE(took, 650ms);
    EXPECT_LT(took, 3s);
    EXPECT_NE(e->exit_reason().find("signal 9"), std::string::npos) << e->exit_reason();
    EXPECT_LT(lag.worst(), 300ms) << "the io thread was blocked";
}

TEST_F(process_launcher_test, an_engine_inherits_no_descriptor_but_stdin_stdout_and_stderr) {
    // Descriptors without close-on-exec, as Asio opens its sockets.
    int sock = ::socket(AF_INET, SOCK_STREAM, 0);
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    ASSERT_GE(sock, 0);
    auto target = [](int fd) {
        return fs::read_symlink("/proc/self/fd/" + std::to_string(fd)).string();
    };
    const std::vector<std::string> ours{target(sock), target(fds[0]), target(fds[1])};
    auto list = dir_ / "fds.txt";
    auto e = launch(script("fds.sh", "exec ls -l /proc/self/fd > '" + list.string() + "'\n"));
    ASSERT_TRUE(e);
    ASSERT_TRUE(run_until([&] { return e->exited(); }));
    ::close(sock);
    ::close(fds[0]);
    ::close(fds[1]);
    std::ifstream in(list);
    std::string listing, line;
    int open = 0;
    while (std::getline(in, line)) {
        listing += line + "\n";
        if (line.find(" -> ") != std::string::npos) ++open;
    }
    // 0, 1, 2 and the descriptor ls reads /proc/self/fd through.
    EXPECT_GT(open, 0) << listing;
    EXPECT_LE(open, 4) << listing;
    for (const auto& t : ours)
        EXPECT_EQ(listing.find(t), std::string::npos) << t << " leaked:\n" << listing;
}

}  // namespace
}  // namespace llorch::pool
