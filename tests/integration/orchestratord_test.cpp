// orchestratord's HOME profile as a process: its pools in-process, real llama-server engines on
// the tiny model, and nothing but the public HTTP/SSE API (plus the process table, to see that
// no engine outlives a shutdown). One daemon with three pools is shared by most tests, which run
// one after another and leave no task behind; the admission policies and the shutdown each get a
// small daemon of their own.
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

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace llorch::test {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using steady = std::chrono::steady_clock;

const std::string prompt = "Once upon a time";

std::string pool_toml(const std::string& id, int slots, int ctx, const std::string& extra = {}) {
    return "[[pools]]\nid = \"" + id + "\"\nengine = \"llamacpp\"\nmodel = \"" +
           tiny_model().string() + "\"\ndevice = \"cpu\"\nslots = " + std::to_string(slots) +
           "\nctx = " + std::to_string(ctx) + "\nthreads = 1\n" + extra + "\n";
}

// A greedy request for `max_tokens` tokens (ignore_eos: exactly that many). `extra` is more JSON
// members, each starting with a comma.
std::string task_body(const std::string& model, int max_tokens, const std::string& extra = {}) {
    return R"({"model":")" + model + R"(","prompt":")" + prompt + R"(","max_tokens":)" +
           std::to_string(max_tokens) + R"(,"temperature":0,"seed":7,"ignore_eos":true)" + extra +
           "}";
}

long long started_count(const sse_result& r) {
    return std::count_if(r.events.begin(), r.events.end(),
                         [](const auto& e) { return e.event == "started"; });
}

std::string token_text(const sse_result& r) {
    std::string out;
    for (const auto& e : r.events)
        if (e.event == "token") out += str_of(object_of(e.data), "t");
    return out;
}

// Token events carry i = 0, 1, 2, ... (also as their SSE id) and non-empty text.
::testing::AssertionResult consecutive_tokens(const sse_result& r) {
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
::testing::AssertionResult well_formed_stream(const sse_result& r, long long tokens_out = -1) {
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
::testing::AssertionResult ends_with_error(const sse_result& r, const std::string& code,
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

bool same_events(const std::vector<http::sse_event>& a, const std::vector<http::sse_event>& b) {
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

TEST_F(orchestratord_home, streams_a_task_end_to_end_started_then_consecutive_tokens_then_end) {
    auto r = d_->submit(task_body("tiny", 24), {{"X-Correlation-Id", "corr-e2e"}});
    ASSERT_EQ(r.status, 202) << r.body;
    auto a = object_of(r.body);
    auto id = str_of(a, "task_id");
    ASSERT_FALSE(id.empty()) << r.body;
    EXPECT_FALSE(str_of(a, "session_id").empty());
    EXPECT_GE(int_of(a, "queue_position"), 0);
    EXPECT_GE(int_of(a, "predicted_start_ms"), 0);
    EXPECT_EQ(str_of(a, "events_url"), "/v2/tasks/" + id + "/events");
    EXPECT_EQ(str_of(a.at("streams").as_object(), "sse"), "/v2/tasks/" + id + "/events");

    auto s = d_->events(id);
    ASSERT_TRUE(well_formed_stream(s, 24));
    EXPECT_EQ(token_count(s), 24) << "every token of the tiny model is whole text";
    auto started = object_of(s.events.front().data);
    EXPECT_EQ(str_of(started, "pool_id"), "quad");
    auto end = object_of(s.events.back().data);
    EXPECT_EQ(str_of(end, "finish_reason"), "length");
    EXPECT_GE(int_of(end, "decode_ms"), 0);

    auto t = d_->task(id);
    EXPECT_EQ(str_of(t, "state"), "completed");
    EXPECT_EQ(str_of(t, "pool_id"), "quad");
    EXPECT_EQ(int_of(t, "tokens_out"), 24);
}

TEST_F(orchestratord_home, verbose_readers_get_human_readable_metrics_and_others_do_not) {
    auto id = d_->submit_id(task_body("tiny", 6));
    auto plain = d_->events(id);
    auto verbose = sse_call("GET", d_->url("/v2/tasks/" + id + "/events?verbose=true"));
    ASSERT_TRUE(well_formed_stream(plain, 6));
    ASSERT_TRUE(well_formed_stream(verbose, 6));
    ASSERT_EQ(plain.events.size(), verbose.events.size());
    int metrics = 0;
    for (size_t i = 0; i < plain.events.size(); ++i) {
        ASSERT_EQ(plain.events[i].event, verbose.events[i].event);
        if (plain.events[i].event != "metrics") {
            EXPECT_EQ(plain.events[i].data, verbose.events[i].data);
            continue;
        }
        ++metrics;
        EXPECT_FALSE(object_of(plain.events[i].data).contains("message"));
        EXPECT_FALSE(str_of(object_of(verbose.events[i].data), "message").empty());
    }
    EXPECT_GE(metrics, 2) << "one metrics frame at the start, one at the end";
}

TEST_F(orchestratord_home, thirty_two_concurrent_streams_on_four_slots_all_complete_in_order) {
    constexpr int n = 32, max_tokens = 48;
    std::vector<sse_result> results(n);
    std::vector<int> statuses(n, 0);
    std::vector<std::string> ids(n);
    cancel_on_exit guard{*d_, {}};
    {
        std::vector<std::thread> clients;
        for (int k = 0; k < n; ++k) {
            clients.emplace_back([&, k] {
                auto r = d_->submit(task_body("tiny", max_tokens));
                statuses[k] = r.status;
                if (r.status != 202) return;
                ids[k] = str_of(object_of(r.body), "task_id");
                results[k] = d_->events(ids[k]);
            });
        }
        for (auto& c : clients) c.join();
    }
    guard.ids = ids;
    std::set<std::string> distinct(ids.begin(), ids.end());
    EXPECT_EQ(distinct.size(), static_cast<size_t>(n)) << "task ids are not unique";
    for (int k = 0; k < n; ++k) {
        SCOPED_TRACE("stream " + std::to_string(k));
        ASSERT_EQ(statuses[k], 202);
        EXPECT_TRUE(well_formed_stream(results[k], max_tokens));
        EXPECT_EQ(str_of(object_of(results[k].events.front().data), "pool_id"), "quad");
    }
}

TEST_F(orchestratord_home, greedy_stream_equals_the_engines_own_completion) {
    // The same model in a llama-server of our own, asked the same question without streaming.
    auto port = free_port();
    auto base = "http://127.0.0.1:" + std::to_string(port);
    auto dir = temp_dir("orch-greedy");
    auto engine = start_process(
        {engine_or_skip().string(), "-m", tiny_model().string(), "--host", "127.0.0.1", "--port",
         std::to_string(port), "-t", "1", "-c", "4096", "-np", "1"},
        dir / "engine.log");
    ASSERT_TRUE(wait_http_ok(base + "/health")) << read_file(dir / "engine.log");
    for (int max_tokens : {40, 200}) {
        SCOPED_TRACE("max_tokens " + std::to_string(max_tokens));
        auto whole =
            http_call("POST", base + "/completion",
                      R"({"prompt":")" + prompt + R"(","n_predict":)" + std::to_string(max_tokens) +
                          R"(,"temperature":0,"seed":7,"stream":false})");
        ASSERT_EQ(whole.status, 200) << whole.body;
        auto expected = str_of(object_of(whole.body), "content");
        ASSERT_FALSE(expected.empty());

        auto id = d_->submit_id(R"({"model":"solo","prompt":")" + prompt + R"(","max_tokens":)" +
                                std::to_string(max_tokens) + R"(,"temperature":0,"seed":7})");
        ASSERT_FALSE(id.empty());
        auto s = d_->events(id);
        ASSERT_TRUE(well_formed_stream(s));
        EXPECT_EQ(token_text(s), expected) << "the stream lost, doubled or changed text";
        EXPECT_EQ(int_of(object_of(s.events.back().data), "tokens_out"),
                  int_of(object_of(whole.body), "tokens_predicted"));
    }
    engine.stop();
}

TEST_F(orchestratord_home, cancel_of_a_queued_task_ends_its_stream_with_cancelled_before_start) {
    auto hold = hold_solo();
    ASSERT_FALSE(hold.empty());
    cancel_on_exit guard{*d_, {hold}};
    auto queued = d_->submit_id(task_body("solo", 16));
    ASSERT_FALSE(queued.empty());
    guard.ids.push_back(queued);
    ASSERT_EQ(d_->state(queued), "queued");

    std::atomic<bool> release{false};
    sse_result s;
    joined_thread reader(release, [&] { s = d_->events(queued); });
    EXPECT_EQ(d_->cancel(queued), 204);
    EXPECT_EQ(d_->cancel(queued), 204) << "cancel is idempotent";
    reader.join();
    EXPECT_TRUE(ends_with_error(s, "CANCELLED")) << "a cancelled queued task never starts";
    EXPECT_EQ(d_->state(queued), "cancelled");
    EXPECT_EQ(d_->state(hold), "running") << "cancelling a queued task touched the running one";
    EXPECT_EQ(d_->cancel("no-such-task"), 404);
}

TEST_F(orchestratord_home, cancel_of_a_running_task_stops_its_tokens_and_frees_the_slot_at_once) {
    auto running = d_->submit_id(task_body("solo", 4000));
    ASSERT_FALSE(running.empty());
    cancel_on_exit guard{*d_, {running}};
    auto next = d_->submit_id(task_body("solo", 16));
    ASSERT_FALSE(next.empty());
    guard.ids.push_back(next);

    std::atomic<bool> release{false}, generating{false};
    sse_result live, next_stream;
    steady::time_point next_started{}, next_first_token{};
    joined_thread reader(release, [&] {
        live = d_->events(running, [&](const http::sse_event& e) {
            if (e.event == "token" && e.id == "3") generating = true;
            return true;
        });
    });
    joined_thread next_reader(release, [&] {
        next_stream = d_->events(next, [&](const http::sse_event& e) {
            if (e.event == "started") next_started = steady::now();
            if (e.event == "token" && next_first_token == steady::time_point{})
                next_first_token = steady::now();
            return true;
        });
    });
    ASSERT_TRUE(wait_until([&] { return generating.load(); }, 30s)) << "never generated";
    ASSERT_EQ(d_->state(next), "queued");

    auto cancel_sent = steady::now();
    ASSERT_EQ(d_->cancel(running), 204);
    auto tokens_at_ack = int_of(d_->task(running), "tokens");
    reader.join();
    next_reader.join();

    ASSERT_NE(next_started, steady::time_point{}) << "the next task never started";
    ASSERT_NE(next_first_token, steady::time_point{}) << "the next task never generated";
    auto ms = [&](steady::time_point t) {
        return std::chrono::duration<double, std::milli>(t - cancel_sent).count();
    };
    // The first token shows that the engine itself gave the slot up, not only our accounting.
    std::cout << "[ measure  ] cancel of a running task -> next task started " << ms(next_started)
              << " ms, its first token " << ms(next_first_token) << " ms\n";
    RecordProperty("cancel_to_next_start_ms", std::to_string(ms(next_started)));
    RecordProperty("cancel_to_next_first_token_ms", std::to_string(ms(next_first_token)));
    EXPECT_LT(ms(next_started), 2000) << "the target is 100 ms";
    EXPECT_LT(ms(next_first_token), 2000);
    EXPECT_TRUE(well_formed_stream(next_stream, 16));

    // The live reader saw tokens, then CANCELLED; nothing was added to the task after the ack,
    // which a late reader confirms.
    EXPECT_TRUE(ends_with_error(live, "CANCELLED", true));
    EXPECT_EQ(started_count(live), 1);
    EXPECT_EQ(token_count(live), tokens_at_ack) << "tokens went out after the cancel was acked";
    EXPECT_LT(tokens_at_ack, 4000);
    auto replay = d_->events(running);
    EXPECT_TRUE(same_events(replay.events, live.events));
    EXPECT_EQ(int_of(d_->task(running), "tokens"), tokens_at_ack);
    EXPECT_EQ(d_->state(running), "cancelled");
}

TEST_F(orchestratord_home, last_reader_gone_cancels_the_running_task_after_the_grace_period) {
    auto id = d_->submit_id(task_body("solo", 4000));
    ASSERT_FALSE(id.empty());
    cancel_on_exit guard{*d_, {id}};
    int tokens = 0;
    auto first = d_->events(id, [&](const http::sse_event& e) {
        return !(e.event == "token" && ++tokens == 2);  // two tokens, then hang up
    });
    auto gone = steady::now();
    ASSERT_EQ(tokens, 2) << first.error;

    ASSERT_TRUE(d_->wait_state(id, "cancelled", 10s)) << "still " << d_->state(id);
    auto ms = ms_since(gone);
    std::cout << "[ measure  ] cancelled " << ms << " ms after the last reader left (grace 200)\n";
    EXPECT_GE(ms, 190) << "cancelled before the grace period was over";
    EXPECT_LT(ms, 3000);
    auto replay = d_->events(id);
    EXPECT_TRUE(ends_with_error(replay, "CANCELLED", true));
    EXPECT_LT(token_count(replay), 4000);
}

TEST_F(orchestratord_home, a_reconnect_within_the_grace_period_keeps_the_task_alive) {
    auto id = d_->submit_id(task_body("solo", 3000));
    ASSERT_FALSE(id.empty());
    cancel_on_exit guard{*d_, {id}};
    int tokens = 0;
    d_->events(id,
               [&](const http::sse_event& e) { return !(e.event == "token" && ++tokens == 2); });
    auto gone = steady::now();
    ASSERT_EQ(tokens, 2);
    // The daemon saw the reader leave (the grace period runs) before we come back.
    ASSERT_TRUE(wait_until([&] { return int_of(d_->task(id), "readers") == 0; }, 150ms));
    auto back = d_->events(id);
    auto ended_after = ms_since(gone);
    EXPECT_TRUE(well_formed_stream(back, 3000)) << "the reconnect did not keep the task alive";
    EXPECT_GT(ended_after, 400) << "the task ended too soon after the disconnect for the grace "
                                   "period to matter; make it longer";
}

TEST_F(orchestratord_home, a_task_with_cancel_on_disconnect_off_outlives_its_last_reader) {
    auto id = d_->submit_id(task_body("solo", 1500, R"(,"cancel_on_disconnect":false)"));
    ASSERT_FALSE(id.empty());
    cancel_on_exit guard{*d_, {id}};
    int tokens = 0;
    d_->events(id,
               [&](const http::sse_event& e) { return !(e.event == "token" && ++tokens == 2); });
    ASSERT_EQ(tokens, 2);
    ASSERT_TRUE(d_->wait_state(id, "completed", 30s)) << "state " << d_->state(id);
    EXPECT_TRUE(well_formed_stream(d_->events(id), 1500));
}

TEST_F(orchestratord_home, a_task_nobody_reads_runs_to_its_end) {
    auto id = d_->submit_id(task_body("solo", 600));
    ASSERT_FALSE(id.empty());
    cancel_on_exit guard{*d_, {id}};
    ASSERT_TRUE(d_->wait_state(id, "completed", 30s)) << "state " << d_->state(id);
    EXPECT_EQ(int_of(d_->task(id), "tokens_out"), 600);
    EXPECT_TRUE(well_formed_stream(d_->events(id), 600));
}

TEST_F(orchestratord_home, a_task_that_cannot_start_before_its_deadline_ends_with_deadline_unmet) {
    auto hold = hold_solo();
    ASSERT_FALSE(hold.empty());
    cancel_on_exit guard{*d_, {hold}};
    auto submitted = steady::now();
    auto late = d_->submit_id(task_body("solo", 8, R"(,"deadline_ms":300)"));
    ASSERT_FALSE(late.empty());
    guard.ids.push_back(late);
    auto s = d_->events(late);
    auto ms = ms_since(submitted);
    EXPECT_TRUE(ends_with_error(s, "DEADLINE_UNMET")) << "it must not start late";
    EXPECT_GE(ms, 290);
    EXPECT_LT(ms, 2000) << "the deadline was noticed late";
    EXPECT_EQ(d_->state(hold), "running") << "the slot freed up meanwhile: inconclusive";
    EXPECT_EQ(d_->state(late), "failed");
}

TEST_F(orchestratord_home, the_same_task_id_twice_is_one_task) {
    auto started_before = metric_value(d_->metrics(), "tasks_started_total");
    std::string id = "idem-" + std::to_string(::getpid()) + "-" +
                     std::to_string(steady::now().time_since_epoch().count());
    auto body = task_body("tiny", 32, R"(,"task_id":")" + id + "\"");
    auto a = d_->submit(body);
    auto b = d_->submit(body);
    ASSERT_EQ(a.status, 202) << a.body;
    ASSERT_TRUE(b.status == 200 || b.status == 202) << b.status << " " << b.body;
    EXPECT_EQ(str_of(object_of(a.body), "task_id"), id);
    EXPECT_EQ(str_of(object_of(b.body), "task_id"), id);
    auto first = d_->events(id);
    ASSERT_TRUE(well_formed_stream(first, 32));
    // Once more after it finished: still the same task, not a new run.
    auto c = d_->submit(body);
    ASSERT_TRUE(c.status == 200 || c.status == 202) << c.body;
    EXPECT_EQ(str_of(object_of(c.body), "task_id"), id);
    auto again = d_->events(id);
    EXPECT_TRUE(same_events(first.events, again.events));
    EXPECT_EQ(started_count(again), 1);
    EXPECT_EQ(int_of(d_->task(id), "attempts"), 1);
    EXPECT_EQ(metric_value(d_->metrics(), "tasks_started_total"), started_before + 1);
}

TEST_F(orchestratord_home, a_late_reader_gets_every_event_from_the_start) {
    auto id = d_->submit_id(task_body("tiny", 24));
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(d_->wait_state(id, "completed"));
    EXPECT_TRUE(well_formed_stream(d_->events(id), 24));
}

TEST_F(orchestratord_home, last_event_id_resumes_right_after_that_token) {
    auto id = d_->submit_id(task_body("tiny", 24));
    ASSERT_FALSE(id.empty());
    auto full = d_->events(id);
    ASSERT_TRUE(well_formed_stream(full, 24));
    for (int k : {0, 5, 23}) {
        SCOPED_TRACE("Last-Event-ID " + std::to_string(k));
        auto at = std::find_if(full.events.begin(), full.events.end(), [&](const auto& e) {
            return e.event == "token" && e.id == std::to_string(k);
        });
        ASSERT_NE(at, full.events.end());
        std::vector<http::sse_event> rest(at + 1, full.events.end());
        auto resumed = d_->events(id, {}, {{"Last-Event-ID", std::to_string(k)}});
        ASSERT_EQ(resumed.status, 200) << resumed.raw;
        EXPECT_TRUE(same_events(resumed.events, rest))
            << "got " << resumed.events.size() << " events, expected " << rest.size();
    }
    // While it runs, too: a reader that saw tokens up to 9 resumes at 10 and follows the rest.
    auto live = d_->submit_id(task_body("solo", 2000));
    ASSERT_FALSE(live.empty());
    cancel_on_exit guard{*d_, {live}};
    ASSERT_TRUE(wait_until([&] {
        auto t = d_->task(live);
        return str_of(t, "state") != "queued" && int_of(t, "tokens") >= 10;
    }));
    auto resumed = d_->events(live, {}, {{"Last-Event-ID", "9"}});
    ASSERT_EQ(resumed.status, 200) << resumed.raw;
    ASSERT_FALSE(resumed.events.empty());
    EXPECT_EQ(resumed.events.front().event, "token");
    long long next_i = 10;
    for (const auto& e : resumed.events) {
        if (e.event != "token") continue;
        ASSERT_EQ(e.id, std::to_string(next_i)) << "resumed tokens are not consecutive from 10";
        ++next_i;
    }
    EXPECT_EQ(resumed.events.back().event, "end");
    EXPECT_EQ(next_i, token_count(d_->events(live)));
}

TEST_F(orchestratord_home, two_readers_of_one_task_get_identical_streams) {
    auto id = d_->submit_id(task_body("solo", 1500));
    ASSERT_FALSE(id.empty());
    cancel_on_exit guard{*d_, {id}};
    std::atomic<bool> release{false};
    sse_result a, b;
    {
        joined_thread ra(release, [&] { a = d_->events(id); });
        joined_thread rb(release, [&] { b = d_->events(id); });
    }
    ASSERT_TRUE(well_formed_stream(a, 1500));
    EXPECT_TRUE(same_events(a.events, b.events));
}

TEST_F(orchestratord_home,
       bad_requests_get_their_status_and_code_and_a_stream_beside_is_unaffected) {
    // A stream runs beside the bad requests for their whole duration.
    auto id = d_->submit_id(task_body("tiny", 300));
    ASSERT_FALSE(id.empty());
    cancel_on_exit guard{*d_, {id}};
    std::atomic<bool> release{false}, reading{false};
    sse_result beside;
    joined_thread reader(release, [&] {
        beside = d_->events(id, [&](const http::sse_event& e) {
            if (e.event == "token") reading = true;
            return true;
        });
    });
    ASSERT_TRUE(wait_until([&] { return reading.load(); }, 30s));

    std::string invalid_utf8 = R"({"model":"tiny","prompt":"bad )" + std::string("\xC3\x28\xFF") +
                               R"( bytes","max_tokens":4})";
    std::string oversized =
        R"({"model":"tiny","prompt":")" + std::string(1100 * 1024, 'a') + R"(","max_tokens":4})";
    struct bad_case {
        std::string what, body;
        int status;
        std::string code;
    };
    std::vector<bad_case> cases{
        {"malformed JSON", R"({"model":"tiny","prompt":)", 400, "INVALID_PARAMS"},
        {"not an object", R"(["tiny"])", 400, "INVALID_PARAMS"},
        {"empty body", "", 400, "INVALID_PARAMS"},
        {"max_tokens a string", task_body("tiny", 4, R"(,"max_tokens":"ten")"), 400,
         "INVALID_PARAMS"},
        {"priority a number", task_body("tiny", 4, R"(,"priority":5)"), 400, "INVALID_PARAMS"},
        {"missing model", R"({"prompt":"hi","max_tokens":4})", 400, "INVALID_PARAMS"},
        {"missing prompt", R"({"model":"tiny","max_tokens":4})", 400, "INVALID_PARAMS"},
        {"unknown model", task_body("no-such-model", 4), 404, "MODEL_NOT_AVAILABLE"},
        {"negative max_tokens", R"({"model":"tiny","prompt":"hi","max_tokens":-5})", 400,
         "INVALID_PARAMS"},
        {"zero max_tokens", R"({"model":"tiny","prompt":"hi","max_tokens":0})", 400,
         "INVALID_PARAMS"},
        {"max_tokens over the cap", R"({"model":"tiny","prompt":"hi","max_tokens":5000})", 400,
         "INVALID_PARAMS"},
        {"absurd max_tokens", R"({"model":"tiny","prompt":"hi","max_tokens":100000000000})", 400,
         "INVALID_PARAMS"},
        {"unknown priority", task_body("tiny", 4, R"(,"priority":"urgent")"), 400,
         "INVALID_PARAMS"},
        {"invalid UTF-8 in the prompt", invalid_utf8, 400, "INVALID_PARAMS"},
        {"escaped lone surrogate in the prompt",
         R"({"model":"tiny","prompt":"bad \udc80 half","max_tokens":4})", 400, "INVALID_PARAMS"},
        {"workload embedding", task_body("tiny", 4, R"(,"workload":"embedding")"), 400,
         "INVALID_PARAMS"},
        {"bad task_id", task_body("tiny", 4, R"(,"task_id":"has spaces/and slash")"), 400,
         "INVALID_PARAMS"},
        {"prompt longer than the context",
         R"({"model":"tiny","prompt":")" + std::string(512 * 9, 'a') + R"(","max_tokens":4})", 400,
         "INVALID_PARAMS"},
        {"oversized body", oversized, 413, "PAYLOAD_TOO_LARGE"},
    };
    auto enqueued_before = metric_value(d_->metrics(), "tasks_enqueued_total");
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        auto corr = "corr-bad-" + std::to_string(&c - cases.data());
        auto r = d_->submit(c.body, {{"X-Correlation-Id", corr}});
        ASSERT_EQ(r.status, c.status) << r.body;
        auto e = object_of(r.body);
        EXPECT_EQ(str_of(e, "code"), c.code) << r.body;
        EXPECT_FALSE(str_of(e, "message").empty()) << r.body;
        EXPECT_FALSE(str_of(e, "correlation_id").empty()) << r.body;
        EXPECT_EQ(std::string(r.headers.find("X-Correlation-Id").value_or("")),
                  str_of(e, "correlation_id"));
        if (c.status != 413) {
            EXPECT_EQ(str_of(e, "correlation_id"), corr);
        }
    }
    EXPECT_EQ(metric_value(d_->metrics(), "tasks_enqueued_total"), enqueued_before)
        << "a bad request was queued";
    EXPECT_EQ(http_call("GET", d_->url("/health")).status, 200);
    reader.join();
    EXPECT_TRUE(well_formed_stream(beside, 300));
}

TEST_F(orchestratord_home, a_prompt_longer_than_the_context_is_invalid_params_and_never_runs) {
    // About 600 tokens for a 512-token context: more bytes than the context has tokens, so
    // orchestratord asks the engine's tokenizer and refuses the task at submit.
    std::string words;
    for (int k = 0; k < 300; ++k) words += "hello world ";
    auto r = d_->submit(R"({"model":"tiny","prompt":")" + words + R"(","max_tokens":8})");
    ASSERT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(str_of(object_of(r.body), "code"), "INVALID_PARAMS");
    EXPECT_NE(str_of(object_of(r.body), "message").find("context"), std::string::npos) << r.body;
}

TEST_F(orchestratord_home, placement_pin_runs_on_the_pinned_pool) {
    for (const std::string pool : {"duo", "quad", "duo"}) {
        SCOPED_TRACE(pool);
        auto id = d_->submit_id(
            task_body("pair", 8, R"(,"placement":{"mode":"pin","pin_pool_id":")" + pool + "\"}"));
        ASSERT_FALSE(id.empty());
        auto s = d_->events(id);
        ASSERT_TRUE(well_formed_stream(s, 8));
        EXPECT_EQ(str_of(object_of(s.events.front().data), "pool_id"), pool);
    }
}

TEST_F(orchestratord_home, placement_pin_to_a_missing_pool_fails_unless_allow_fallback) {
    for (const std::string pool : {"missing", "solo"}) {  // unknown; serves another model
        SCOPED_TRACE(pool);
        auto pin = R"(,"placement":{"mode":"pin","pin_pool_id":")" + pool + "\"";
        auto r = d_->submit(task_body("pair", 8, pin + "}"));
        if (r.status == 202) {
            auto s = d_->events(str_of(object_of(r.body), "task_id"));
            EXPECT_TRUE(ends_with_error(s, "POOL_UNAVAILABLE")) << "it ran somewhere else";
        } else {
            EXPECT_GE(r.status, 400) << r.body;
            EXPECT_FALSE(str_of(object_of(r.body), "code").empty()) << r.body;
        }
        auto id = d_->submit_id(task_body("pair", 8, pin + R"(,"allow_fallback":true})"));
        ASSERT_FALSE(id.empty());
        auto s = d_->events(id);
        ASSERT_TRUE(well_formed_stream(s, 8));
        auto ran_on = str_of(object_of(s.events.front().data), "pool_id");
        EXPECT_TRUE(ran_on == "quad" || ran_on == "duo") << ran_on;
    }
}

TEST_F(orchestratord_home, catalog_lists_each_model_with_the_pools_that_serve_it) {
    auto r = http_call("GET", d_->url("/v2/catalog/models"));
    ASSERT_EQ(r.status, 200) << r.body;
    std::map<std::string, std::set<std::string>> pools_of;
    auto catalog = parse_json(r.body);
    for (const auto& m : catalog.at("models").as_array()) {
        auto& o = m.as_object();
        EXPECT_GT(int_of(o, "size_bytes"), 0) << "the model file's size";
        for (const auto& p : o.at("pools").as_array())
            pools_of[str_of(o, "name")].insert(std::string(p.as_string()));
    }
    EXPECT_EQ(pools_of["tiny"], (std::set<std::string>{"quad"}));
    EXPECT_EQ(pools_of["pair"], (std::set<std::string>{"duo"}));
    EXPECT_EQ(pools_of["solo"], (std::set<std::string>{"solo"}));
    auto a = http_call("GET", d_->url("/v2/catalog/availability"));
    ASSERT_EQ(a.status, 200) << a.body;
    auto availability = parse_json(a.body);
    auto models = availability.at("models").as_object();
    ASSERT_TRUE(models.contains("solo")) << a.body;
    EXPECT_EQ(str_of(models.at("solo").as_array()[0].as_object(), "pool_id"), "solo");
    EXPECT_TRUE(models.at("solo").as_array()[0].at("ready").as_bool());
}

TEST_F(orchestratord_home, placement_avoid_pools_are_honoured) {
    for (const std::string avoid : {"quad", "duo"}) {
        for (int k = 0; k < 3; ++k) {  // round-robin would alternate without the avoid list
            SCOPED_TRACE(avoid);
            auto id = d_->submit_id(
                task_body("pair", 8, R"(,"placement":{"avoid_pools":[")" + avoid + "\"]}"));
            ASSERT_FALSE(id.empty());
            auto s = d_->events(id);
            ASSERT_TRUE(well_formed_stream(s, 8));
            EXPECT_EQ(str_of(object_of(s.events.front().data), "pool_id"),
                      avoid == "quad" ? "duo" : "quad");
        }
    }
    auto r = d_->submit(task_body("pair", 8, R"(,"placement":{"avoid_pools":["quad","duo"]})"));
    if (r.status == 202) {
        EXPECT_TRUE(
            ends_with_error(d_->events(str_of(object_of(r.body), "task_id")), "POOL_UNAVAILABLE"));
    } else {
        EXPECT_GE(r.status, 400) << r.body;
    }
}

TEST_F(orchestratord_home, correlation_id_is_echoed_or_generated_on_every_response) {
    auto echoed = d_->submit(task_body("tiny", 4), {{"X-Correlation-Id", "corr-echo-1"}});
    ASSERT_EQ(echoed.status, 202);
    EXPECT_EQ(echoed.headers.find("X-Correlation-Id").value_or(""), "corr-echo-1");
    auto id = str_of(object_of(echoed.body), "task_id");

    const std::regex uuid4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    std::set<std::string> generated;
    for (auto [method, path] :
         std::vector<std::pair<std::string, std::string>>{{"GET", "/v2/tasks/" + id},
                                                          {"GET", "/v2/tasks/" + id + "/events"},
                                                          {"GET", "/v2/tasks/nope"},
                                                          {"GET", "/v2/pools"},
                                                          {"GET", "/health"},
                                                          {"GET", "/v2/meta/capabilities"}}) {
        SCOPED_TRACE(method + " " + path);
        auto r = http_call(method, d_->url(path), {}, {}, 30s);
        ASSERT_NE(r.status, 0) << r.body;
        auto corr = std::string(r.headers.find("X-Correlation-Id").value_or(""));
        EXPECT_TRUE(std::regex_match(corr, uuid4)) << "'" << corr << "'";
        generated.insert(corr);
        auto with = http_call(method, d_->url(path), {}, {{"X-Correlation-Id", "corr-echo-2"}});
        EXPECT_EQ(with.headers.find("X-Correlation-Id").value_or(""), "corr-echo-2");
    }
    EXPECT_EQ(generated.size(), 6u) << "generated ids repeat";
}

// ---------------------------------------------------------------------------------------------
// Admission policies and shutdown: a small daemon each, one slot, a queue of two.

std::string one_slot_toml() { return pool_toml("one", 1, 4096); }

TEST(orchestratord_admission,
     a_task_for_a_pool_still_starting_waits_and_one_past_its_deadline_fails) {
    // An engine that takes two seconds to start: tasks arrive while its pool is `starting`.
    auto dir = temp_dir("slow-engine");
    auto script = dir / "slow-llama-server";
    std::ofstream(script) << "#!/bin/sh\nsleep 2\nexec " << engine_or_skip().string()
                          << " \"$@\"\n";
    std::filesystem::permissions(script, std::filesystem::perms::owner_all);
    orchestratord_process d("slow",
                            pool_toml("slow", 1, 512, "engine_path = \"" + script.string() + "\""));
    ASSERT_TRUE(wait_http_ok(d.url("/health"), 30s));
    ASSERT_NE(d.wait_ready(1ms), "") << "the pool must still be starting for this test";
    auto patient = d.submit_id(task_body("tiny", 4));
    auto hasty = d.submit_id(task_body("tiny", 4, R"(,"deadline_ms":300)"));
    ASSERT_FALSE(patient.empty());
    ASSERT_FALSE(hasty.empty());
    auto h = d.events(hasty);
    EXPECT_TRUE(ends_with_error(h, "DEADLINE_UNMET"));
    auto p = d.events(patient);
    EXPECT_TRUE(well_formed_stream(p, 4)) << "the waiting task runs once the pool is ready";
}

TEST(orchestratord_admission, a_full_queue_rejects_with_429_retry_after_and_backoff) {
    engine_or_skip();
    orchestratord_process d("reject", one_slot_toml(),
                            {"--admission-capacity", "2", "--admission-policy", "reject",
                             "--drain-deadline-ms", "500"});
    ASSERT_EQ(d.wait_ready(), "");
    auto hold = d.submit_id(task_body("tiny", 4000));
    cancel_on_exit guard{d, {hold}};
    ASSERT_TRUE(d.wait_generating(hold));
    for (int k = 0; k < 2; ++k) {
        auto r = d.submit(task_body("tiny", 4000));
        ASSERT_EQ(r.status, 202) << r.body;
        auto a = object_of(r.body);
        guard.ids.push_back(str_of(a, "task_id"));
        EXPECT_EQ(int_of(a, "queue_position"), k) << r.body;
        EXPECT_GE(int_of(a, "predicted_start_ms"), 0);
    }
    auto r = d.submit(task_body("tiny", 4), {{"X-Correlation-Id", "corr-429"}});
    EXPECT_EQ(d.state(hold), "running") << "the slot freed up meanwhile: inconclusive";
    ASSERT_EQ(r.status, 429) << r.body;
    auto e = object_of(r.body);
    EXPECT_EQ(str_of(e, "code"), "ADMISSION_REJECT");
    EXPECT_FALSE(str_of(e, "message").empty());
    EXPECT_EQ(str_of(e, "correlation_id"), "corr-429");
    auto retry = r.headers.find("Retry-After");
    ASSERT_TRUE(retry.has_value());
    EXPECT_GE(std::stoi(std::string(*retry)), 1);
    auto backoff = r.headers.find("X-Backoff-Ms");
    ASSERT_TRUE(backoff.has_value());
    EXPECT_GT(std::stoll(std::string(*backoff)), 0);
    EXPECT_EQ(int_of(e, "retry_after_ms"), std::stoll(std::string(*backoff)));
    // The queued tasks are untouched.
    for (size_t k = 1; k < guard.ids.size(); ++k) EXPECT_EQ(d.state(guard.ids[k]), "queued");
}

TEST(orchestratord_admission, drop_lru_evicts_the_oldest_batch_task_with_queue_full_drop_lru) {
    engine_or_skip();
    orchestratord_process d("droplru", one_slot_toml(),
                            {"--admission-capacity", "2", "--admission-policy", "drop-lru",
                             "--drain-deadline-ms", "500"});
    ASSERT_EQ(d.wait_ready(), "");
    auto hold = d.submit_id(task_body("tiny", 4000));
    cancel_on_exit guard{d, {hold}};
    ASSERT_TRUE(d.wait_generating(hold));
    auto oldest = d.submit_id(task_body("tiny", 8, R"(,"priority":"batch")"));
    auto younger = d.submit_id(task_body("tiny", 8, R"(,"priority":"batch")"));
    ASSERT_FALSE(oldest.empty());
    ASSERT_FALSE(younger.empty());
    guard.ids.insert(guard.ids.end(), {oldest, younger});

    auto r = d.submit(task_body("tiny", 8));
    ASSERT_EQ(r.status, 202) << "drop-lru makes room instead of refusing: " << r.body;
    auto newest = str_of(object_of(r.body), "task_id");
    guard.ids.push_back(newest);
    EXPECT_EQ(d.state(hold), "running") << "the slot freed up meanwhile: inconclusive";

    EXPECT_TRUE(ends_with_error(d.events(oldest), "QUEUE_FULL_DROP_LRU"));
    EXPECT_EQ(d.state(oldest), "failed");
    EXPECT_EQ(d.state(younger), "queued");
    EXPECT_EQ(d.state(newest), "queued");
    // The interactive task goes first once the slot frees, the younger batch task after it.
    EXPECT_EQ(d.cancel(hold), 204);
    auto n = d.events(newest);
    auto y = d.events(younger);
    EXPECT_TRUE(well_formed_stream(n, 8));
    EXPECT_TRUE(well_formed_stream(y, 8));
}

TEST(orchestratord_shutdown, sigterm_finishes_running_streams_refuses_new_tasks_and_stops_engines) {
    engine_or_skip();
    orchestratord_process d("drain", one_slot_toml(), {"--drain-deadline-ms", "60000"});
    ASSERT_EQ(d.wait_ready(), "");
    auto engines = d.engine_pids();
    ASSERT_EQ(engines.size(), 1u);
    ASSERT_TRUE(process_alive(engines[0]));

    auto id = d.submit_id(task_body("tiny", 4000));
    ASSERT_FALSE(id.empty());
    std::atomic<bool> release{false}, generating{false};
    sse_result s;
    joined_thread reader(release, [&] {
        s = d.events(id, [&](const http::sse_event& e) {
            if (e.event == "token") generating = true;
            return true;
        });
    });
    ASSERT_TRUE(wait_until([&] { return generating.load(); }, 30s));
    // A task still queued behind it is told at once, with an error it may retry elsewhere.
    auto queued = d.submit_id(task_body("tiny", 8));
    ASSERT_FALSE(queued.empty());
    ASSERT_EQ(d.state(queued), "queued");
    sse_result q;
    joined_thread queued_reader(release, [&] { q = d.events(queued); });
    ASSERT_TRUE(wait_until([&] { return int_of(d.task(queued), "readers") == 1; }, 5s));
    ASSERT_EQ(::kill(d.proc().pid(), SIGTERM), 0);

    // The signal arrives asynchronously: /health says when the drain began.
    ASSERT_TRUE(wait_until(
        [&] {
            auto h = http_call("GET", d.url("/health"), {}, {}, 2s);
            return h.status == 0 || str_of(object_of(h.body), "status") == "draining";
        },
        5s));
    // Refused while draining (or, once the listener closed, not connected at all).
    bool saw_503 = false;
    for (int k = 0; k < 5; ++k) {
        auto r = d.submit(task_body("tiny", 4));
        if (r.status == 0) break;
        ASSERT_EQ(r.status, 503) << r.body;
        EXPECT_FALSE(str_of(object_of(r.body), "code").empty());
        saw_503 = true;
    }
    EXPECT_TRUE(saw_503) << "no submit was answered during the drain";

    queued_reader.join();
    EXPECT_TRUE(ends_with_error(q, "SHUTTING_DOWN"));
    if (!q.events.empty()) {
        EXPECT_EQ(object_of(q.events.back().data).at("retriable"), true);
    }
    reader.join();
    EXPECT_TRUE(well_formed_stream(s, 4000)) << "the running stream did not finish";
    EXPECT_TRUE(wait_until([&] { return !d.proc().running(); }, 15s)) << "still running";
    if (auto st = d.proc().status()) {
        EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << *st;
    }
    EXPECT_TRUE(wait_until([&] { return !process_alive(engines[0]); }, 5s))
        << "llama-server " << engines[0] << " outlived orchestratord";
}

}  // namespace
}  // namespace llorch::test
