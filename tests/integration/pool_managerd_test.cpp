// pool-managerd as a process: real daemons, real llama-server engines on the tiny model, and
// nothing but the public HTTP API (plus the process table and the runtime dir, which are the
// daemon's public effects). Each fixture runs one daemon kind shared by its tests; a test that
// breaks its daemon's state on purpose owns a pool of its own in it.
#include <gtest/gtest.h>

#include "pool_managerd_fixture.h"

namespace llorch::test {
namespace {

// ---------------------------------------------------------------------------------------------
// A daemon that serves: pool `main` (2 slots) and pool `one` (1 slot, long context for long
// streams), watching its runtime dir with auto-delete of adopted handoff files.
class pool_managerd_serving : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        try {
            engine_or_skip();
            std::string toml =
                pool_toml("main", tiny_model(), 2, 1024) + pool_toml("one", tiny_model(), 1, 4096);
            d_ = std::make_unique<daemon_process>(
                "serving", toml,
                std::vector<std::string>{"--watch-interval-ms", "100", "--health-interval-ms",
                                         "300", "--auto-delete-handoff"});
            if (!d_->wait_healthy())
                setup_error_ = "no /health: " + d_->log_text();
            else if (!d_->wait_state("main", "ready") || !d_->wait_state("one", "ready"))
                setup_error_ = "pools not ready: " + d_->log_text();
        } catch (const std::exception& e) {
            setup_error_ = e.what();
        }
    }
    static void TearDownTestSuite() { d_.reset(); }
    void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

    static inline std::unique_ptr<daemon_process> d_;
    static inline std::string setup_error_;
};

TEST_F(pool_managerd_serving, infer_streams_started_then_consecutive_tokens_then_end) {
    auto r = d_->infer("main", infer_body(24));
    ASSERT_TRUE(well_formed_stream(r));
    auto started = parse_json(r.events.front().data).as_object();
    EXPECT_EQ(started.at("pool_id").as_string(), "main");
    EXPECT_EQ(started.at("task_id").as_string(), "t-1");
    EXPECT_EQ(token_count(r), 24) << "ignore_eos with max_tokens 24 gives 24 tokens (one each)";
    auto end = parse_json(r.events.back().data).as_object();
    EXPECT_EQ(end.at("tokens_out").to_number<long long>(), 24);
    EXPECT_EQ(d_->status("main").at("slots_free").to_number<int>(), 2);
}

TEST_F(pool_managerd_serving, malformed_or_mistyped_infer_body_is_400_invalid_params_envelope) {
    const header_pairs corr{{"X-Correlation-Id", "corr-pmd-400"}};
    for (std::string body :
         {std::string("{not json"), std::string(R"({"prompt":5})"),
          std::string(R"({"prompt":"hi","max_tokens":"many"})"), std::string("[1,2]")}) {
        SCOPED_TRACE(body);
        auto r = http_call("POST", d_->url("/v2/pools/main/infer"), body, corr);
        ASSERT_EQ(r.status, 400) << r.body;
        auto e = parse_json(r.body).as_object();
        EXPECT_EQ(e.at("code").as_string(), "INVALID_PARAMS");
        EXPECT_FALSE(e.at("message").as_string().empty());
        EXPECT_EQ(e.at("correlation_id").as_string(), "corr-pmd-400");
        EXPECT_EQ(r.headers.find("X-Correlation-Id").value_or(""), "corr-pmd-400");
    }
    // Nothing of the bad requests holds a slot.
    EXPECT_EQ(d_->status("main").at("slots_free").to_number<int>(), 2);
}

TEST_F(pool_managerd_serving, unknown_pool_is_404_with_envelope) {
    auto r = http_call("POST", d_->url("/v2/pools/nope/infer"), infer_body(4));
    ASSERT_EQ(r.status, 404) << r.body;
    auto e = parse_json(r.body).as_object();
    EXPECT_EQ(e.at("code").as_string(), "NOT_FOUND");
    EXPECT_FALSE(e.at("correlation_id").as_string().empty());
    EXPECT_FALSE(r.headers.find("X-Correlation-Id").value_or("").empty());
    EXPECT_EQ(http_call("GET", d_->url("/v2/pools/nope/status")).status, 404);
}

TEST_F(pool_managerd_serving, exhausted_slots_answer_503_pool_unavailable_with_retry_after) {
    std::atomic<bool> holding{false}, release{false};
    sse_result held;
    joined_thread t(release, [&] {
        held = d_->infer("one", infer_body(4000), [&](const http::sse_event& e) {
            if (e.event == "token" && !holding) {
                holding = true;
                wait_until([&] { return release.load(); }, 60s);
            }
            return true;
        });
    });
    ASSERT_TRUE(wait_until([&] { return holding.load(); }, 30s)) << "the long stream never started";

    auto r = http_call("POST", d_->url("/v2/pools/one/infer"), infer_body(4));
    EXPECT_EQ(r.status, 503) << r.body;
    if (r.status == 503) {
        EXPECT_EQ(parse_json(r.body).at("code").as_string(), "POOL_UNAVAILABLE");
        auto retry = r.headers.find("Retry-After");
        ASSERT_TRUE(retry.has_value());
        EXPECT_GE(std::stoi(std::string(*retry)), 1);
    }
    t.join();
    EXPECT_TRUE(well_formed_stream(held));
    EXPECT_TRUE(
        wait_until([&] { return d_->status("one").at("slots_free").to_number<int>() == 1; }, 10s));
}

TEST_F(pool_managerd_serving, client_disconnect_frees_the_slot_and_the_engine) {
    auto before = d_->status("one");
    ASSERT_EQ(before.at("slots_total").to_number<int>(), 1);
    long engine = before.at("pid").to_number<long>();
    auto key = arg_after(engine, "--api-key");
    auto endpoint = std::string(before.at("endpoints").as_array().at(0).as_string());

    int tokens = 0;
    auto r = d_->infer("one", infer_body(4000), [&](const http::sse_event& e) {
        return !(e.event == "token" && ++tokens == 2);  // read two tokens, then hang up
    });
    auto closed = steady::now();
    ASSERT_EQ(r.status, 200) << r.raw;
    ASSERT_EQ(tokens, 2);

    bool freed =
        wait_until([&] { return d_->status("one").at("slots_free").to_number<int>() == 1; }, 10s);
    auto free_ms = ms_since(closed);
    std::cout << "[ measure  ] slot free " << free_ms << " ms after the client disconnected\n";
    RecordProperty("slot_free_after_disconnect_ms", std::to_string(free_ms));
    ASSERT_TRUE(freed) << "slot still taken 10 s after the disconnect";
    EXPECT_LT(free_ms, 2000) << "the target is 100 ms";

    // The engine itself stopped generating (its own slot is idle), not just our count: left
    // alone it would generate for about two seconds more.
    bool engine_idle = wait_until(
        [&] {
            auto s =
                http_call("GET", endpoint + "/slots", {}, {{"Authorization", "Bearer " + key}}, 2s);
            if (s.status != 200) return false;
            auto slots = parse_json(s.body);
            for (const auto& slot : slots.as_array())
                if (slot.as_object().at("is_processing").as_bool()) return false;
            return true;
        },
        5s);
    auto idle_ms = ms_since(closed);
    std::cout << "[ measure  ] engine slot idle " << idle_ms
              << " ms after the client disconnected\n";
    EXPECT_TRUE(engine_idle) << "the engine still generates for the client that left";
    EXPECT_LT(idle_ms, 1000) << "the engine finished the generation instead of cancelling it";

    EXPECT_TRUE(well_formed_stream(d_->infer("one", infer_body(8))));
}

TEST_F(pool_managerd_serving, engine_busier_than_the_count_is_logged_and_the_count_kept) {
    auto st = d_->status("one");
    long engine = st.at("pid").to_number<long>();
    auto endpoint = std::string(st.at("endpoints").as_array().at(0).as_string());
    // A request that bypasses pool-managerd (with the key from the engine's command line) takes
    // an engine slot pool-managerd does not know of.
    std::atomic<bool> holding{false}, release{false};
    joined_thread bypass(release, [&] {
        sse_call("POST", endpoint + "/completion",
                 R"({"prompt":"Once","n_predict":4000,"ignore_eos":true,"stream":true})",
                 {{"Authorization", "Bearer " + arg_after(engine, "--api-key")}},
                 [&](const http::sse_event&) {
                     holding = true;
                     wait_until([&] { return release.load(); }, 60s);
                     return false;
                 });
    });
    ASSERT_TRUE(wait_until([&] { return holding.load(); }, 10s));
    const std::string series = R"(pool_slot_mismatch_total{pool_id="one"})";
    auto mismatches = [&] {
        return metric_value(http_call("GET", d_->url("/metrics")).body, series);
    };
    double before = mismatches();
    bool seen = wait_until([&] { return mismatches() > before; }, 5s);
    auto now = d_->status("one");
    bypass.join();
    ASSERT_TRUE(seen) << json::serialize(now) << "\n" << d_->log_text();
    EXPECT_EQ(now.at("engine_slots_busy").to_number<int>(), 1);
    EXPECT_EQ(now.at("in_flight").to_number<int>(), 0);
    EXPECT_EQ(now.at("slots_free").to_number<int>(), 1) << "the engine's count replaced ours";
    EXPECT_NE(d_->log_text().find("engine reports 1 busy slots but pool-managerd counts 0"),
              std::string::npos);
}

TEST_F(pool_managerd_serving, writes_its_own_handoff_file_when_ready_without_the_engine_key) {
    auto st = d_->status("main");
    long pid = st.at("pid").to_number<long>();
    auto file = d_->runtime() / "main.json";
    ASSERT_TRUE(wait_until([&] { return fs::exists(file); }, 5s)) << "no " << file;
    auto text = read_file(file);
    auto h = parse_json(text).as_object();
    EXPECT_EQ(h.at("pool_id").as_string(), "main");
    EXPECT_EQ(h.at("engine").as_string(), "llamacpp");
    EXPECT_EQ(h.at("endpoint").as_string(), st.at("endpoints").as_array().at(0).as_string());
    EXPECT_EQ(h.at("gpu_device").as_string(), "cpu");
    EXPECT_EQ(h.at("slots").to_number<int>(), 2);
    EXPECT_TRUE(h.at("ready").as_bool());
    EXPECT_EQ(h.at("pid").to_number<long>(), pid);
    auto key = arg_after(pid, "--api-key");
    ASSERT_GE(key.size(), 16u) << "engine started without --api-key: " << cmdline_of(pid);
    EXPECT_EQ(text.find(key), std::string::npos) << "the engine's API key is in the handoff file";
    // Auto-delete is on, and still the daemon's own file stays (three watch intervals).
    EXPECT_FALSE(wait_until([&] { return !fs::exists(file); }, 400ms)) << "own file deleted";
    // And the daemon did not adopt its own file as a second pool.
    auto list = parse_json(http_call("GET", d_->url("/v2/pools")).body).at("pools").as_array();
    EXPECT_EQ(1, std::count_if(list.begin(), list.end(), [](const json::value& p) {
                  return p.at("id").as_string() == "main";
              }));
    EXPECT_FALSE(d_->status("main").at("adopted").as_bool());
}

TEST_F(pool_managerd_serving, adopts_a_foreign_handoff_file_once_its_engine_answers) {
    auto engine_port = free_port();
    auto engine_url = "http://127.0.0.1:" + std::to_string(engine_port);
    auto dir = temp_dir("pmd-foreign");

    // Written as another tool would (a temporary file renamed into place), before the engine
    // listens: reported as unreachable, and adopted as soon as it answers.
    auto file = d_->runtime() / "ext.json";
    std::ofstream(d_->runtime() / ".ext.json.tmp")
        << R"({"pool_id":"ext","engine":"llamacpp","endpoint":")" << engine_url
        << R"(","gpu_device":"cpu","slots":1,"ready":true,"model":"tiny"})";
    fs::rename(d_->runtime() / ".ext.json.tmp", file);
    const std::string unreachable =
        R"(pool_handoff_files_processed_total{outcome="unreachable",pool_id="ext"})";
    EXPECT_TRUE(wait_until(
        [&] { return metric_value(http_call("GET", d_->url("/metrics")).body, unreachable) >= 1; },
        10s));
    EXPECT_EQ(http_call("GET", d_->url("/v2/pools/ext/status")).status, 404)
        << "adopted before its engine answered";

    auto engine = start_process(
        {engine_or_skip().string(), "-m", tiny_model().string(), "--host", "127.0.0.1", "--port",
         std::to_string(engine_port), "-t", "1", "-c", "1024", "-np", "1"},
        dir / "engine.log");
    ASSERT_TRUE(d_->wait_state("ext", "ready", 15s)) << d_->log_text();
    auto st = d_->status("ext");
    EXPECT_TRUE(st.at("adopted").as_bool());
    EXPECT_EQ(st.at("engine").as_string(), "llamacpp");
    EXPECT_EQ(st.at("slots_total").to_number<int>(), 1);
    auto list = parse_json(http_call("GET", d_->url("/v2/pools")).body).at("pools").as_array();
    bool listed = std::any_of(list.begin(), list.end(), [](const json::value& p) {
        return p.at("id").as_string() == "ext" && p.at("adopted").as_bool();
    });
    EXPECT_TRUE(listed) << json::serialize(list);

    auto r = d_->infer("ext", infer_body(12));
    EXPECT_TRUE(well_formed_stream(r));
    EXPECT_EQ(token_count(r), 12);

    // Auto-delete: the adopted file goes once processed.
    EXPECT_TRUE(wait_until([&] { return !fs::exists(file); }, 5s)) << "adopted file still there";
    auto m = http_call("GET", d_->url("/metrics")).body;
    EXPECT_GE(
        metric_value(m, R"(pool_handoff_files_processed_total{outcome="adopted",pool_id="ext"})"),
        1)
        << m;
}

TEST_F(pool_managerd_serving, malformed_handoff_file_is_reported_and_skipped) {
    std::ofstream(d_->runtime() / "broken.json") << "{\"pool_id\": \"broken\", \"endpoint\": 42";
    const std::string series =
        R"(pool_handoff_files_processed_total{outcome="malformed",pool_id="broken"})";
    std::string m;
    EXPECT_TRUE(wait_until(
        [&] {
            m = http_call("GET", d_->url("/metrics")).body;
            return metric_value(m, series) >= 1;
        },
        10s))
        << m;
    EXPECT_NE(d_->log_text().find("broken.json"), std::string::npos) << "not reported in the log";
    EXPECT_EQ(http_call("GET", d_->url("/v2/pools/broken/status")).status, 404);
    EXPECT_TRUE(fs::exists(d_->runtime() / "broken.json")) << "a malformed file is not deleted";
    EXPECT_EQ(http_call("GET", d_->url("/health")).status, 200);
    EXPECT_TRUE(well_formed_stream(d_->infer("main", infer_body(6))));
}

}  // namespace
}  // namespace llorch::test
