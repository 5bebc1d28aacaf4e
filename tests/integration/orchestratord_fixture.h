#pragma once
// orchestratord's HOME profile as a process: its pools in-process, real llama-server engines on
// the tiny model, and nothing but the public HTTP/SSE API (plus the process table, to see that
// no engine outlives a shutdown). One daemon with three pools is shared by most tests, which run
// one after another and leave no task behind; the admission policies and the shutdown each get a
// small daemon of their own.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>
#include <atomic>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include "support/test_support.h"

namespace llorch::test {
namespace fs = std::filesystem;
namespace json = boost::json;
using steady = std::chrono::steady_clock;

inline const std::string prompt = "Once upon a time";

inline std::string pool_toml(const std::string& id, int slots, int ctx,
                             const std::string& extra = {}) {
    return "[[pools]]\nid = \"" + id + "\"\nengine = \"llamacpp\"\nmodel = \"" +
           tiny_model().string() + "\"\ndevice = \"cpu\"\nslots = " + std::to_string(slots) +
           "\nctx = " + std::to_string(ctx) + "\nthreads = 1\n" + extra + "\n";
}

// A greedy request for `max_tokens` tokens (ignore_eos: exactly that many). `extra` is more JSON
// members, each starting with a comma.
inline std::string task_body(const std::string& model, int max_tokens,
                             const std::string& extra = {}) {
    return R"({"model":")" + model + R"(","prompt":")" + prompt + R"(","max_tokens":)" +
           std::to_string(max_tokens) + R"(,"temperature":0,"seed":7,"ignore_eos":true)" + extra +
           "}";
}

inline long long started_count(const sse_result& r) {
    return std::count_if(r.events.begin(), r.events.end(),
                         [](const auto& e) { return e.event == "started"; });
}

inline std::string token_text(const sse_result& r) {
    std::string out;
    for (const auto& e : r.events)
        if (e.event == "token") out += str_of(object_of(e.data), "t");
    return out;
}

// Token events carry i = 0, 1, 2, ... (also as their SSE id) and non-empty text.
inline ::testing::AssertionResult consecutive_tokens(const sse_result& r) {
    long long next_i = 0;
    for (const auto& e : r.events) {
        if (e.event != "token") continue;
        auto o = object_of(e.data);
        auto i = int_of(o, "i");
        if (i != next_i)
            return ::testing::AssertionFailure() << "token has i=" << i << ", expected " << next_i;
        if (!e.id || *e.id != std::to_string(i))
            return ::testing::AssertionFailure()
                   << "token i=" << i << " has SSE id " << e.id.value_or("(none)");
        if (str_of(o, "t").empty())
            return ::testing::AssertionFailure() << "token i=" << i << " has no text: " << e.data;
        ++next_i;
    }
    return ::testing::AssertionSuccess();
}

// started first, then only metrics and token events (tokens consecutive), then end as the last
// event, with the engine's count `tokens_out` when given.
inline ::testing::AssertionResult well_formed_stream(const sse_result& r,
                                                     long long tokens_out = -1) {
    if (r.status != 200)
        return ::testing::AssertionFailure() << "status " << r.status << ": " << r.raw << r.error;
    if (r.events.empty()) return ::testing::AssertionFailure() << "no events; " << r.error;
    if (r.events.front().event != "started")
        return ::testing::AssertionFailure()
               << "first event is '" << r.events.front().event << "': " << r.events.front().data;
    for (size_t k = 1; k + 1 < r.events.size(); ++k) {
        const auto& e = r.events[k];
        if (e.event != "token" && e.event != "metrics")
            return ::testing::AssertionFailure()
                   << "event " << k << " is '" << e.event << "': " << e.data;
    }
    if (r.events.back().event != "end")
        return ::testing::AssertionFailure()
               << "last event is '" << r.events.back().event << "': " << r.events.back().data;
    if (auto c = consecutive_tokens(r); !c) return c;
    if (token_count(r) == 0) return ::testing::AssertionFailure() << "no token event";
    auto end = object_of(r.events.back().data);
    if (tokens_out >= 0 && int_of(end, "tokens_out") != tokens_out)
        return ::testing::AssertionFailure() << "end says tokens_out " << int_of(end, "tokens_out")
                                             << ", expected " << tokens_out;
    if (int_of(end, "tokens_out") < token_count(r))
        return ::testing::AssertionFailure() << "end.tokens_out is below the token events' count";
    return ::testing::AssertionSuccess();
}

// A stream that ended with an `error` event of `code`; `may_have_run` allows started and tokens
// before it (a cancel while running), otherwise the error is the only event.
inline ::testing::AssertionResult ends_with_error(const sse_result& r, const std::string& code,
                                                  bool may_have_run = false) {
    if (r.status != 200)
        return ::testing::AssertionFailure() << "status " << r.status << ": " << r.raw << r.error;
    if (r.events.empty()) return ::testing::AssertionFailure() << "no events; " << r.error;
    const auto& last = r.events.back();
    if (last.event != "error")
        return ::testing::AssertionFailure()
               << "last event is '" << last.event << "': " << last.data;
    auto o = object_of(last.data);
    if (str_of(o, "code") != code)
        return ::testing::AssertionFailure()
               << "error code " << str_of(o, "code") << ", expected " << code << ": " << last.data;
    if (str_of(o, "message").empty())
        return ::testing::AssertionFailure() << "error without a message: " << last.data;
    for (size_t k = 0; k + 1 < r.events.size(); ++k) {
        if (!may_have_run)
            return ::testing::AssertionFailure()
                   << "event '" << r.events[k].event << "' before the error: " << r.events[k].data;
        if (r.events[k].event == "end" || r.events[k].event == "error")
            return ::testing::AssertionFailure() << "two terminal events";
    }
    return consecutive_tokens(r);
}

inline bool same_events(const std::vector<http::sse_event>& a,
                        const std::vector<http::sse_event>& b) {
    if (a.size() != b.size()) return false;
    for (size_t k = 0; k < a.size(); ++k)
        if (a[k].event != b[k].event || a[k].data != b[k].data || a[k].id != b[k].id) return false;
    return true;
}

// One orchestratord with its own config, runtime dir, port and log. Stopped (SIGTERM, then
// SIGKILL) when destroyed; its engines die with it.
class orchestratord_process {
  public:
    orchestratord_process(const std::string& name, const std::string& toml,
                          std::vector<std::string> args = {})
        : dir_(temp_dir("orch-" + name)) {
        log_ = dir_ / "daemon.log";
        auto config = dir_ / "pools.toml";
        std::ofstream(config) << toml;
        std::vector<std::string> argv{(bin_dir() / "orchestratord").string(),
                                      "--config",
                                      config.string(),
                                      "--addr",
                                      "127.0.0.1:0",
                                      "--runtime-dir",
                                      (dir_ / "run").string()};
        argv.insert(argv.end(), args.begin(), args.end());
        proc_ = start_process(argv, log_, no_tokens);
        port_ = listening_port(proc_, log_, "orchestratord");
    }
    ~orchestratord_process() { proc_.stop(std::chrono::milliseconds(3000)); }

    uint16_t port() const { return port_; }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }

    json::array pools() const {
        auto r = http_call("GET", url("/v2/pools"), {}, {}, 5s);
        if (r.status != 200) return {};
        return object_of(r.body)["pools"].as_array();
    }
    // Every configured pool ready; an empty string, or what went wrong.
    std::string wait_ready(std::chrono::milliseconds d = 90s) const {
        if (!wait_http_ok(url("/health"), 30s)) return "no /health: " + log_text();
        bool ready = wait_until(
            [&] {
                auto p = pools();
                if (p.empty()) return false;
                for (const auto& x : p)
                    if (str_of(x.as_object(), "state") != "ready") return false;
                return true;
            },
            d);
        return ready ? std::string() : "pools not ready: " + log_text();
    }
    long long slots_free(const std::string& pool) const {
        for (const auto& x : pools())
            if (str_of(x.as_object(), "id") == pool) return int_of(x.as_object(), "slots_free");
        return -1;
    }
    std::vector<long> engine_pids() const {
        std::vector<long> out;
        for (const auto& x : pools()) {
            auto* pids = x.as_object().if_contains("pids");
            if (pids && pids->is_array())
                for (const auto& p : pids->as_array()) out.push_back(p.to_number<long>());
        }
        return out;
    }

    http::client_response submit(const std::string& body, const header_pairs& h = {}) const {
        return http_call("POST", url("/v2/tasks"), body, h, 10s);
    }
    // Submits and returns the task id; an empty string (and a test failure) when refused.
    std::string submit_id(const std::string& body) const {
        auto r = submit(body);
        if (r.status != 202 && r.status != 200) {
            ADD_FAILURE() << "submit answered " << r.status << ": " << r.body;
            return {};
        }
        return str_of(object_of(r.body), "task_id");
    }
    json::object task(const std::string& id) const {
        auto r = http_call("GET", url("/v2/tasks/" + id), {}, {}, 5s);
        return r.status == 200 ? object_of(r.body) : json::object{};
    }
    std::string state(const std::string& id) const { return str_of(task(id), "state"); }
    bool wait_state(const std::string& id, const std::string& want,
                    std::chrono::milliseconds d = 30s) const {
        return wait_until([&] { return state(id) == want; }, d);
    }
    // Running and past its first token.
    bool wait_generating(const std::string& id, std::chrono::milliseconds d = 30s) const {
        return wait_until(
            [&] {
                auto t = task(id);
                return str_of(t, "state") == "running" && int_of(t, "tokens") > 0;
            },
            d);
    }
    sse_result events(const std::string& id,
                      const std::function<bool(const http::sse_event&)>& on_event = {},
                      const header_pairs& h = {}) const {
        return sse_call("GET", url("/v2/tasks/" + id + "/events"), {}, h, on_event, 120s);
    }
    int cancel(const std::string& id) const {
        return http_call("POST", url("/v2/tasks/" + id + "/cancel"), {}, {}, 5s).status;
    }
    std::string metrics() const { return http_call("GET", url("/metrics"), {}, {}, 5s).body; }

    std::string log_text() const { return read_file(log_); }
    common::subprocess& proc() { return proc_; }

  private:
    fs::path dir_, log_;
    uint16_t port_ = 0;
    common::subprocess proc_;
};

// Cancels its tasks on scope exit, so that a failed assertion leaves no slot busy for the next
// test on a shared daemon.
struct cancel_on_exit {
    const orchestratord_process& d;
    std::vector<std::string> ids;
    ~cancel_on_exit() {
        for (const auto& id : ids)
            if (!id.empty()) d.cancel(id);
    }
};

// ---------------------------------------------------------------------------------------------
// The shared daemon. Pools:
//   quad  model "tiny" (and alias "pair"), 4 slots
//   duo   model "pair",                     1 slot
//   solo  model "solo",                     1 slot, long context (for long tasks)
// Model "pair" thus has two pools (placement overrides); "tiny" and "solo" one each.
class orchestratord_home : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        try {
            engine_or_skip();
            std::string toml = pool_toml("quad", 4, 512, "aliases = [\"pair\"]") +
                               pool_toml("duo", 1, 512, "name = \"pair\"") +
                               pool_toml("solo", 1, 4096, "name = \"solo\"");
            d_ = std::make_unique<orchestratord_process>(
                "home", toml,
                std::vector<std::string>{"--disconnect-grace-ms", "200", "--drain-deadline-ms",
                                         "500"});
            setup_error_ = d_->wait_ready();
        } catch (const std::exception& e) {
            setup_error_ = e.what();
        }
    }
    static void TearDownTestSuite() { d_.reset(); }
    void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }
    void TearDown() override {
        if (!setup_error_.empty()) return;
        // Every test leaves every slot free for the next one.
        EXPECT_TRUE(wait_until(
            [] {
                return d_->slots_free("quad") == 4 && d_->slots_free("duo") == 1 &&
                       d_->slots_free("solo") == 1;
            },
            10s))
            << "a test left a slot busy";
    }

    // A task holding the one slot of `solo` for a few seconds (about 4000 tokens).
    static std::string hold_solo() {
        auto id = d_->submit_id(task_body("solo", 4000));
        if (!id.empty() && !d_->wait_generating(id))
            ADD_FAILURE() << "the holding task never started: " << d_->state(id);
        return id;
    }

    static inline std::unique_ptr<orchestratord_process> d_;
    static inline std::string setup_error_;
};

}  // namespace llorch::test
