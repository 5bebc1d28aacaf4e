#pragma once
// The fixture of the pool manager's unit tests: a pool_manager over a fake engine launcher in a
// temporary directory, real timers with short settings, and waits on conditions with deadlines.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

#include "fake_engine.h"
#include "io_loop.h"
#include "pool/handoff.h"
#include "pool/pool_manager.h"

namespace llorch::pool::testing {
namespace fs = std::filesystem;
namespace asio = boost::asio;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

class pool_manager_test : public ::testing::Test {
  protected:
    void SetUp() override {
        static std::atomic<unsigned> counter{0};
        dir_ =
            fs::temp_directory_path() / ("llorch-pool-manager-test-" + std::to_string(::getpid()) +
                                         "-" + std::to_string(counter.fetch_add(1)));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        model_ = dir_ / "tiny.gguf";
        std::ofstream(model_) << "not read: the fake engine loads nothing";
        engine_ = dir_ / "fake-engine";
        std::ofstream(engine_) << "#!/bin/sh\n";
        opts_.runtime_dir = dir_ / "run";
        opts_.health_interval = 50ms;
        opts_.health_failures_before_restart = 2;
        opts_.ready_timeout = 2s;
        opts_.watch_interval = 50ms;
        opts_.restart.backoff.base = 20ms;
        opts_.restart.backoff.cap = 200ms;
        opts_.restart.max_crashes = 5;
        // A failed pool stays failed unless a test asks for its recovery.
        opts_.recovery.base = std::chrono::hours(1);
        opts_.recovery.cap = std::chrono::hours(1);
    }
    void TearDown() override {
        manager_.reset();
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    pool_config pool(const std::string& id, int slots = 2) {
        pool_config c;
        c.id = id;
        c.engine = engine_kind::llamacpp;
        c.model = model_.string();
        c.name = id;
        c.device = "cpu";
        c.slots = slots;
        c.ctx = 512;
        c.engine_path = engine_.string();
        return c;
    }

    pool_manager& start(std::vector<pool_config> pools) {
        manager_ = std::make_unique<pool_manager>(io_, opts_, std::move(pools), nullptr, launcher_);
        manager_->start();
        return *manager_;
    }

    bool run_until(const std::function<bool()>& cond, std::chrono::milliseconds deadline = 5s) {
        return testing::run_until(io_, cond, deadline);
    }
    // Runs the io_context for `d` (to see that something does not happen).
    void run_for(std::chrono::milliseconds d) {
        io_.restart();
        io_.run_for(d);
    }

    std::string state(const std::string& id) {
        auto s = manager_->status(id);
        return s ? std::string(to_string(s->state)) : std::string("(none)");
    }
    bool wait_state(const std::string& id, pool_state want, std::chrono::milliseconds d = 5s) {
        return run_until(
            [&] {
                auto s = manager_->status(id);
                return s && s->state == want;
            },
            d);
    }

    template <class T>
    std::optional<T> run_coro(asio::awaitable<T> aw, std::chrono::milliseconds deadline = 10s) {
        std::optional<T> out;
        asio::co_spawn(io_, std::move(aw), [&](std::exception_ptr e, T v) {
            if (!e) out.emplace(std::move(v));
        });
        run_until([&] { return out.has_value(); }, deadline);
        return out;
    }
    bool run_void(asio::awaitable<void> aw, std::chrono::milliseconds deadline = 10s) {
        bool done = false;
        asio::co_spawn(io_, std::move(aw), [&](std::exception_ptr) { done = true; });
        return run_until([&] { return done; }, deadline);
    }

    // The fake engine serving the pool now (pools start side by side, in any order).
    std::shared_ptr<fake_engine> engine_of(const std::string& id) {
        auto s = manager_->status(id);
        if (!s || s->pids.empty()) return nullptr;
        for (auto& e : launcher_->engines)
            if (e->pid() == s->pids[0]) return e;
        return nullptr;
    }

    engines::generation_request gen() {
        engines::generation_request g;
        g.prompt = "Hi";
        g.max_tokens = 4;
        return g;
    }

    fs::path dir_, model_, engine_;
    manager_options opts_;
    asio::io_context io_;
    std::shared_ptr<fake_launcher> launcher_ = std::make_shared<fake_launcher>(io_);
    std::unique_ptr<pool_manager> manager_;
};

}  // namespace llorch::pool::testing
