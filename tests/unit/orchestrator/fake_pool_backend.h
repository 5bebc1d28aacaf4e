#pragma once
// A pool_backend for unit tests: every open() is recorded as a `generation` whose events the
// test pushes one by one, and the next open() on a pool can be made to fail. Nothing waits for
// real time: a stream with no event waits until the test pushes one or the task cancels it.

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "orchestrator/pool_backend.h"
#include "placement/placement_index.h"

namespace llorch::orchestrator::testing {

// One open() of the fake backend: where it went, and the events its stream yields.
struct generation {
    explicit generation(asio::io_context& io) : wake(io, asio::steady_timer::time_point::max()) {}
    placement::placement_decision where;
    engines::generation_request request;
    std::deque<engines::engine_event> events;
    bool cancelled = false;
    bool closed = false;  // the stream object is gone
    asio::steady_timer wake;

    void push(engines::engine_event ev) {
        events.push_back(std::move(ev));
        wake.cancel();
    }
    void token(std::string text) { push({.text = std::move(text)}); }
    void end(int tokens_out) {
        push({.type = engines::engine_event::kind::end,
              .tokens_out = tokens_out,
              .finish_reason = "stop"});
    }
    void error(std::string code) {
        push({.type = engines::engine_event::kind::error,
              .finish_reason = std::move(code),
              .message = "scripted failure"});
    }
};

class fake_stream final : public pool::infer_stream {
  public:
    explicit fake_stream(std::shared_ptr<generation> g) : g_(std::move(g)), model_("tiny") {}
    ~fake_stream() override { g_->closed = true; }

    asio::awaitable<std::optional<engines::engine_event>> next() override {
        for (;;) {
            if (g_->cancelled) co_return std::nullopt;
            if (!g_->events.empty()) {
                auto ev = std::move(g_->events.front());
                g_->events.pop_front();
                co_return ev;
            }
            g_->wake.expires_at(asio::steady_timer::time_point::max());
            boost::system::error_code ec;
            co_await g_->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
    }
    void cancel() override {
        g_->cancelled = true;
        g_->wake.cancel();
    }
    const std::string& pool_id() const override { return g_->where.pool_id; }
    const std::string& model_name() const override { return model_; }

  private:
    std::shared_ptr<generation> g_;
    std::string model_;
};

class fake_pool_backend final : public pool_backend {
  public:
    explicit fake_pool_backend(asio::io_context& io) : io_(io) {}

    std::vector<std::shared_ptr<generation>> opens;
    std::map<std::string, api::error> fail_next_open;  // pool id → the error its next open gets
    int admitted = 0;
    // Nodes whose tasks admit() refuses, as a breaker whose trial is out does: the node leaves
    // placement in `index`.
    std::vector<std::string> refuse_nodes;
    placement::placement_index* index = nullptr;

    boost::asio::awaitable<api::api_result<std::unique_ptr<pool::infer_stream>>> open(
        placement::placement_decision where, engines::generation_request g) override {
        auto gen = std::make_shared<generation>(io_);
        gen->where = where;
        gen->request = std::move(g);
        opens.push_back(gen);
        if (auto it = fail_next_open.find(where.pool_id); it != fail_next_open.end()) {
            auto e = it->second;
            fail_next_open.erase(it);
            co_return e;
        }
        co_return std::unique_ptr<pool::infer_stream>(std::make_unique<fake_stream>(gen));
    }
    bool admit(const placement::placement_decision& where) override {
        if (std::find(refuse_nodes.begin(), refuse_nodes.end(), where.node_id) !=
            refuse_nodes.end()) {
            if (index) index->set_node_breaker_open(where.node_id, true);
            return false;
        }
        ++admitted;
        return true;
    }
    std::optional<model_limits> limits(const std::string& model) const override {
        if (model != "tiny") return std::nullopt;
        return model_limits{.max_tokens_default = 16, .max_tokens_cap = 64, .ctx = 512};
    }

  private:
    asio::io_context& io_;
};

}  // namespace llorch::orchestrator::testing
