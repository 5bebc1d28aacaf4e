#pragma once
// A fake engine_launcher for the pool manager's unit tests: each launch starts an in-process
// HTTP server on a free loopback port that answers GET /health (200 while healthy) and
// GET /slots, and an engine_process the test can crash, make unhealthy, or make ignore stop
// requests. Everything runs on the test's io_context (single thread).

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "http/server.h"
#include "pool/engine_launcher.h"

namespace llorch::pool::testing {

class fake_engine final : public engine_process, public std::enable_shared_from_this<fake_engine> {
  public:
    fake_engine(boost::asio::io_context& io, long pid, bool healthy)
        : io_(io), pid_(pid), healthy_(std::make_shared<bool>(healthy)), kill_timer_(io) {}

    // Starts the HTTP side; false when it cannot listen.
    bool listen() {
        http::router routes;
        auto healthy = healthy_;
        auto alive = alive_;
        routes.add("GET", "/health",
                   [healthy, alive](http::request) -> boost::asio::awaitable<http::response> {
                       co_return http::response::json(*healthy && *alive ? 200 : 503,
                                                      R"({"status":"ok"})");
                   });
        routes.add("GET", "/slots", [](http::request) -> boost::asio::awaitable<http::response> {
            co_return http::response::json(200, "[]");
        });
        http::server_options so;
        so.name = "fake-engine";
        server_ = std::make_unique<http::server>(io_, so, std::move(routes));
        return server_->start().has_value();
    }
    std::string base_url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

    long pid() const override { return pid_; }
    bool exited() const override { return exited_; }
    std::string exit_reason() const override { return reason_; }
    void on_exit(std::function<void()> cb) override {
        if (exited_)
            cb();
        else
            callbacks_.push_back(std::move(cb));
    }
    void stop(std::chrono::milliseconds grace) override {
        ++stop_requests;
        if (exited_) return;
        if (!ignores_sigterm) {
            boost::asio::post(io_, [self = shared_from_this()] { self->crash("stopped"); });
            return;
        }
        kill_timer_.expires_after(grace);
        kill_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (!ec) self->crash("killed after the grace");
        });
    }
    void kill_now() override { crash("killed"); }

    // The engine process ends (as a crash would).
    void crash(const std::string& why) {
        if (exited_) return;
        exited_ = true;
        *alive_ = false;
        reason_ = "engine " + why;
        if (server_) server_->stop();
        auto cbs = std::move(callbacks_);
        for (auto& cb : cbs) cb();
    }
    void set_healthy(bool h) { *healthy_ = h; }

    bool ignores_sigterm = false;
    int stop_requests = 0;

  private:
    boost::asio::io_context& io_;
    long pid_;
    std::shared_ptr<bool> healthy_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    boost::asio::steady_timer kill_timer_;
    std::unique_ptr<http::server> server_;
    std::vector<std::function<void()>> callbacks_;
    bool exited_ = false;
    std::string reason_;
};

class fake_launcher final : public engine_launcher {
  public:
    explicit fake_launcher(boost::asio::io_context& io) : io_(io) {}

    boost::asio::awaitable<pool_result<launched_engine>> launch(pool_config pool,
                                                                engine_spec spec) override {
        specs.push_back(spec);
        pools.push_back(pool.id);
        if (fail_launches > 0) {
            --fail_launches;
            co_return pool_error{pool_errc::launch_failed, "cannot run the fake engine"};
        }
        auto e = start_engine(healthy_on_start);
        if (!e) co_return pool_error{pool_errc::launch_failed, "the fake engine cannot listen"};
        if (exit_on_start) {
            // Like an engine that prints why and exits at once.
            boost::asio::post(io_, [e, why = *exit_on_start] { e->crash(why); });
        }
        launched_engine out{e, e->base_url(), ""};
        co_return out;
    }

    // A fake engine outside any pool (for handoff files).
    std::shared_ptr<fake_engine> start_engine(bool healthy = true) {
        auto e = std::make_shared<fake_engine>(io_, next_pid_++, healthy);
        if (!e->listen()) return nullptr;
        e->ignores_sigterm = engines_ignore_sigterm;
        engines.push_back(e);
        return e;
    }

    std::shared_ptr<fake_engine> last() const { return engines.empty() ? nullptr : engines.back(); }

    std::vector<std::shared_ptr<fake_engine>> engines;
    std::vector<engine_spec> specs;
    std::vector<std::string> pools;
    int fail_launches = 0;
    bool healthy_on_start = true;
    bool engines_ignore_sigterm = false;
    std::optional<std::string> exit_on_start;  // each engine exits right away with this reason

  private:
    boost::asio::io_context& io_;
    long next_pid_ = 90001;
};

}  // namespace llorch::pool::testing
