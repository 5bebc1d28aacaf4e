// pool-managerd as a process, continued: drain, reload, restarts, crash loops, stalls, its own
// death, start-up refusals and service tokens, through the public HTTP API and the process table.
#include <gtest/gtest.h>

#include "pool_managerd_fixture.h"

namespace llorch::test {
namespace {

// ---------------------------------------------------------------------------------------------
// A daemon whose pools are taken through their lifecycle: `drain`, `reload`, `restart`, one pool
// per test because each test changes its pool for good.
class pool_managerd_lifecycle : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        try {
            engine_or_skip();
            std::string toml = pool_toml("drain", tiny_model(), 1, 512) +
                               pool_toml("reload", tiny_model(), 2, 4096) +
                               pool_toml("restart", tiny_model(), 1, 512);
            d_ = std::make_unique<daemon_process>(
                "lifecycle", toml,
                std::vector<std::string>{"--restart-backoff-ms", "100", "--health-interval-ms",
                                         "500"});
            if (!d_->wait_healthy()) setup_error_ = "no /health: " + d_->log_text();
            for (auto id : {"drain", "reload", "restart"})
                if (setup_error_.empty() && !d_->wait_state(id, "ready"))
                    setup_error_ = std::string(id) + " not ready: " + d_->log_text();
        } catch (const std::exception& e) {
            setup_error_ = e.what();
        }
    }
    static void TearDownTestSuite() { d_.reset(); }
    void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

    static inline std::unique_ptr<daemon_process> d_;
    static inline std::string setup_error_;
};

TEST_F(pool_managerd_lifecycle, ready_pool_serves_then_drain_stops_its_engine_and_handoff) {
    long engine = d_->pid_of("drain");
    ASSERT_GT(engine, 0);
    ASSERT_TRUE(process_alive(engine));
    auto handoff = d_->runtime() / "drain.json";
    EXPECT_TRUE(fs::exists(handoff));

    EXPECT_TRUE(well_formed_stream(d_->infer("drain", infer_body(16))));

    auto r = http_call("POST", d_->url("/v2/pools/drain/drain"), R"({"deadline_ms":5000})");
    ASSERT_EQ(r.status, 202) << r.body;
    EXPECT_TRUE(d_->wait_state("drain", "offline", 15s)) << d_->state("drain");
    EXPECT_TRUE(wait_until([&] { return !process_alive(engine); }, 5s))
        << "engine " << engine << " still runs after the drain";
    EXPECT_FALSE(fs::exists(handoff)) << "handoff file left behind by a drained pool";

    auto refused = http_call("POST", d_->url("/v2/pools/drain/infer"), infer_body(4));
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_EQ(d_->state("reload"), "ready") << "draining one pool touched another";
}

TEST_F(pool_managerd_lifecycle, reload_switches_model_while_running_stream_completes) {
    auto dir = temp_dir("pmd-reload");
    auto model2 = dir / "tiny-seed7.gguf";
    auto cmd = (bin_dir() / "llorch").string() + " model make-tiny --seed 7 --out " +
               model2.string() + " > /dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    auto before = d_->status("reload");
    long old_pid = before.at("pid").to_number<long>();
    auto old_gen = before.at("generation").to_number<long long>();

    // A stream that is still running while the reload happens.
    std::atomic<bool> holding{false}, release{false};
    sse_result held;
    joined_thread stream(release, [&] {
        held = d_->infer("reload", infer_body(4000), [&](const http::sse_event& e) {
            if (e.event == "token" && !holding) {
                holding = true;
                wait_until([&] { return release.load(); }, 60s);
            }
            return true;
        });
    });
    ASSERT_TRUE(wait_until([&] { return holding.load(); }, 30s));

    // Two reloads at once: whichever arrives first runs, the other is a conflict.
    const std::string body = R"({"new_model_ref":")" + model2.string() + R"("})";
    std::atomic<bool> unused{false};
    http::client_response other;
    joined_thread reloader(unused, [&] {
        other = http_call("POST", d_->url("/v2/pools/reload/reload"), body, {}, 120s);
    });
    auto mine = http_call("POST", d_->url("/v2/pools/reload/reload"), body, {}, 120s);
    reloader.join();
    auto& ran = mine.status == 200 ? mine : other;
    auto& refused = mine.status == 200 ? other : mine;
    ASSERT_EQ(ran.status, 200) << mine.body << other.body;
    EXPECT_EQ(refused.status, 409) << refused.body;
    if (refused.status == 409) {
        EXPECT_EQ(parse_json(refused.body).at("code").as_string(), "CONFLICT");
    }
    EXPECT_EQ(parse_json(ran.body).at("model").as_string(), model2.string());

    auto after = d_->status("reload");
    EXPECT_EQ(after.at("model").as_string(), model2.string());
    EXPECT_EQ(after.at("generation").to_number<long long>(), old_gen + 1);
    long new_pid = after.at("pid").to_number<long>();
    EXPECT_NE(new_pid, old_pid);
    EXPECT_GE(after.at("in_flight").to_number<int>(), 1) << "the stream ended before the reload";
    EXPECT_TRUE(process_alive(old_pid)) << "the old engine stopped under a running stream";
    auto handoff = parse_json(read_file(d_->runtime() / "reload.json"));
    EXPECT_EQ(handoff.at("pid").to_number<long>(), new_pid) << "handoff file not rewritten";
    EXPECT_EQ(handoff.at("model_path").as_string(), model2.string());

    stream.join();
    EXPECT_TRUE(well_formed_stream(held));
    EXPECT_EQ(token_count(held), 4000);
    EXPECT_TRUE(wait_until([&] { return !process_alive(old_pid); }, 10s))
        << "the retired engine still runs after its last stream";
    EXPECT_TRUE(well_formed_stream(d_->infer("reload", infer_body(8))));

    // A reload that cannot work leaves the running engine serving.
    auto bad = http_call("POST", d_->url("/v2/pools/reload/reload"),
                         R"({"new_model_ref":")" + (dir / "missing.gguf").string() + R"("})");
    EXPECT_GE(bad.status, 400) << bad.body;
    EXPECT_NE(bad.body.find("missing.gguf"), std::string::npos) << bad.body;
    auto kept = d_->status("reload");
    EXPECT_EQ(kept.at("state").as_string(), "ready");
    EXPECT_EQ(kept.at("pid").to_number<long>(), new_pid);
    EXPECT_EQ(kept.at("model").as_string(), model2.string());
    EXPECT_TRUE(well_formed_stream(d_->infer("reload", infer_body(8))));
}

TEST_F(pool_managerd_lifecycle, engine_killed_with_sigkill_is_restarted_and_serves_again) {
    auto before = d_->status("restart");
    long old_pid = before.at("pid").to_number<long>();
    int old_restarts = before.at("restarts").to_number<int>();
    ASSERT_EQ(::kill(static_cast<pid_t>(old_pid), SIGKILL), 0);
    auto killed = steady::now();

    long new_pid = -1;
    bool back = wait_until(
        [&] {
            auto s = d_->status("restart");
            if (s.empty() || s.at("state").as_string() != "ready" || !s.at("pid").is_int64())
                return false;
            new_pid = static_cast<long>(s.at("pid").get_int64());
            return new_pid != old_pid && s.at("restarts").to_number<int>() >= old_restarts + 1;
        },
        60s);
    auto restart_ms = ms_since(killed);
    std::cout << "[ measure  ] engine ready again " << restart_ms << " ms after kill -9\n";
    RecordProperty("restart_after_kill_ms", std::to_string(restart_ms));
    ASSERT_TRUE(back) << d_->log_text();
    EXPECT_TRUE(process_alive(new_pid));
    EXPECT_EQ(parse_json(read_file(d_->runtime() / "restart.json")).at("pid").to_number<long>(),
              new_pid)
        << "handoff file still names the killed engine";
    EXPECT_TRUE(well_formed_stream(d_->infer("restart", infer_body(8))));
}

// ---------------------------------------------------------------------------------------------

TEST(pool_managerd, crash_loop_ends_failed_with_the_engines_last_output) {
    auto dir = temp_dir("pmd-crashloop");
    auto script = dir / "fake-engine.sh";
    std::ofstream(script) << "#!/bin/sh\necho \"fake engine: cannot open the GPU\"\nexit 1\n";
    fs::permissions(script, fs::perms::owner_all);
    auto toml =
        pool_toml("loop", tiny_model(), 1, 512, "engine_path = \"" + script.string() + "\"");
    // No retry of the failed pool within the test (pool_recovery_test covers the retries).
    daemon_process d("crashloop", toml,
                     {"--restart-max-crashes", "2", "--restart-backoff-ms", "50",
                      "--pool-retry-base-ms", "3600000", "--pool-retry-max-ms", "3600000"});
    ASSERT_TRUE(d.wait_healthy()) << d.log_text();
    ASSERT_TRUE(d.wait_state("loop", "failed", 30s)) << d.state("loop") << "\n" << d.log_text();
    auto st = d.status("loop");
    auto last_error = std::string(st.at("last_error").as_string());
    EXPECT_NE(last_error.find("fake engine: cannot open the GPU"), std::string::npos) << last_error;
    auto h = parse_json(http_call("GET", d.url("/v2/pools/loop/health")).body).as_object();
    EXPECT_FALSE(h.at("live").as_bool());
    EXPECT_FALSE(h.at("ready").as_bool());
    auto r = http_call("POST", d.url("/v2/pools/loop/infer"), infer_body(4));
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(http_call("GET", d.url("/health")).status, 200) << "a failed pool took the daemon";
}

TEST(pool_managerd, sigkilled_daemon_leaves_no_engine_running) {
    engine_or_skip();
    daemon_process d("sigkill", pool_toml("k", tiny_model(), 1, 512));
    ASSERT_TRUE(d.wait_healthy()) << d.log_text();
    ASSERT_TRUE(d.wait_state("k", "ready")) << d.log_text();
    long engine = d.pid_of("k");
    ASSERT_TRUE(process_alive(engine));

    ASSERT_EQ(::kill(d.proc().pid(), SIGKILL), 0);
    auto killed = steady::now();
    bool gone = wait_until([&] { return !process_alive(engine); }, 10s);
    std::cout << "[ measure  ] engine gone " << ms_since(killed) << " ms after pool-managerd\n";
    if (!gone) ::kill(static_cast<pid_t>(engine), SIGKILL);  // do not leak it past the test
    EXPECT_TRUE(gone) << "engine " << engine << " outlived its pool-managerd";
}

TEST(pool_managerd, a_stalled_engine_ends_the_stream_with_decode_timeout) {
    engine_or_skip();
    // Health probes far apart, so the supervisor does not restart the stopped engine first.
    daemon_process d("stall", pool_toml("st", tiny_model(), 1, 4096),
                     {"--stall-timeout-ms", "500", "--health-interval-ms", "60000"});
    ASSERT_TRUE(d.wait_healthy()) << d.log_text();
    ASSERT_TRUE(d.wait_state("st", "ready")) << d.log_text();
    long engine = d.pid_of("st");
    ASSERT_GT(engine, 0);
    bool stopped = false;
    steady::time_point stopped_at;
    auto r = d.infer("st", R"({"prompt":"Hi","max_tokens":4000,"ignore_eos":true})",
                     [&](const http::sse_event& e) {
                         if (e.event == "token" && !stopped) {
                             // The engine freezes mid-generation: no byte comes any more.
                             stopped = ::kill(static_cast<pid_t>(engine), SIGSTOP) == 0;
                             stopped_at = steady::now();
                         }
                         return true;
                     });
    ::kill(static_cast<pid_t>(engine), SIGCONT);
    ASSERT_TRUE(stopped);
    ASSERT_FALSE(r.events.empty());
    EXPECT_EQ(r.events.back().event, "error") << r.events.back().data;
    auto o = object_of(r.events.back().data);
    EXPECT_EQ(str_of(o, "code"), "DECODE_TIMEOUT") << r.events.back().data;
    auto waited = ms_since(stopped_at);
    std::cout << "[ measure  ] stream ended " << waited << " ms after the engine stalled\n";
    EXPECT_GE(waited, 400) << "ended before the stall timeout";
    EXPECT_LT(waited, 10'000);
}

// ---------------------------------------------------------------------------------------------
// Configurations that must not start: exit 2 and one line that names the key.

refusal refuse_config(const std::string& toml, const header_pairs& env = no_tokens) {
    auto dir = temp_dir("pmd-badcfg");
    std::ofstream(dir / "pools.toml") << toml;
    return run_to_exit({"--config", (dir / "pools.toml").string(), "--addr", "127.0.0.1:0",
                        "--runtime-dir", (dir / "run").string()},
                       env);
}

void expect_one_line_naming(const refusal& r, const std::string& key) {
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_EQ(r.lines.size(), 1u) << r.output;
    EXPECT_NE(r.output.find(key), std::string::npos) << "does not name " << key << ": " << r.output;
}

TEST(pool_managerd_config, missing_config_file_exits_2_naming_it) {
    auto r = run_to_exit({"--config", "/nonexistent/pools.toml", "--addr", "127.0.0.1:0"});
    expect_one_line_naming(r, "--config");
    EXPECT_NE(r.output.find("/nonexistent/pools.toml"), std::string::npos) << r.output;
}

TEST(pool_managerd_config, unknown_key_exits_2_naming_it) {
    expect_one_line_naming(refuse_config(pool_toml("a", tiny_model(), 1, 512, "colour = \"blue\"")),
                           "pools[0].colour");
}

TEST(pool_managerd_config, bad_slots_exit_2_naming_the_key) {
    expect_one_line_naming(refuse_config(pool_toml("a", tiny_model(), 0, 512)), "pools[0].slots");
}

TEST(pool_managerd_config, duplicate_pool_id_exits_2_naming_the_key) {
    auto r =
        refuse_config(pool_toml("a", tiny_model(), 1, 512) + pool_toml("a", tiny_model(), 1, 512));
    expect_one_line_naming(r, "pools[1].id");
    EXPECT_NE(r.output.find("duplicate"), std::string::npos) << r.output;
}

TEST(pool_managerd_config, pools_selection_naming_an_unknown_pool_exits_2) {
    auto env = no_tokens;
    env.emplace_back("POOL_MANAGERD_POOLS", "a,ghost");
    auto r = refuse_config(pool_toml("a", tiny_model(), 1, 512), env);
    expect_one_line_naming(r, "POOL_MANAGERD_POOLS");
    EXPECT_NE(r.output.find("ghost"), std::string::npos) << r.output;
}

TEST(pool_managerd_config, non_loopback_bind_without_token_refuses_to_start) {
    auto dir = temp_dir("pmd-bind");
    std::ofstream(dir / "pools.toml") << "";
    auto r = run_to_exit({"--config", (dir / "pools.toml").string(), "--addr", "0.0.0.0:0",
                          "--runtime-dir", (dir / "run").string()});
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.lines.size(), 1u) << r.output;
    EXPECT_NE(r.output.find("NON_LOOPBACK_WITHOUT_TOKEN"), std::string::npos) << r.output;
}

// ---------------------------------------------------------------------------------------------
// A daemon with two service tokens (rotation) and no pools: auth needs no engine.
class pool_managerd_auth : public ::testing::Test {
  protected:
    static constexpr const char* token_a = "pmd-token-alpha-0123456789";
    static constexpr const char* token_b = "pmd-token-bravo-9876543210";
    static constexpr const char* token_wrong = "pmd-token-wrong-5555555555";

    static void SetUpTestSuite() {
        d_ = std::make_unique<daemon_process>(
            "auth", "", std::vector<std::string>{"--log-level", "debug"},
            header_pairs{{"LLORCH_SERVICE_TOKEN", std::string(token_a) + "," + token_b},
                         {"LLORCH_API_TOKEN", ""}});
        if (!d_->wait_healthy()) setup_error_ = "no /health: " + d_->log_text();
    }
    static void TearDownTestSuite() { d_.reset(); }
    void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

    static http::client_response get(const std::string& path, const std::string& token = {}) {
        header_pairs h;
        if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
        return http_call("GET", d_->url(path), {}, h);
    }

    static inline std::unique_ptr<daemon_process> d_;
    static inline std::string setup_error_;
};

TEST_F(pool_managerd_auth, no_token_is_401_missing_token) {
    auto r = get("/v2/pools");
    ASSERT_EQ(r.status, 401) << r.body;
    auto e = parse_json(r.body).as_object();
    EXPECT_EQ(e.at("code").as_string(), "MISSING_TOKEN");
    EXPECT_TRUE(e.contains("correlation_id"));
    EXPECT_EQ(http_call("POST", d_->url("/v2/pools/x/infer"), infer_body(4)).status, 401);
}

TEST_F(pool_managerd_auth, wrong_token_is_401_bad_token) {
    auto r = get("/v2/pools", token_wrong);
    ASSERT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(parse_json(r.body).at("code").as_string(), "BAD_TOKEN");
    EXPECT_EQ(r.body.find(token_wrong), std::string::npos);
}

TEST_F(pool_managerd_auth, both_rotated_tokens_are_accepted) {
    EXPECT_EQ(get("/v2/pools", token_a).status, 200);
    EXPECT_EQ(get("/v2/pools", token_b).status, 200);
    EXPECT_EQ(get("/ready", token_b).status, 200);
}

TEST_F(pool_managerd_auth, health_and_metrics_need_no_token) {
    EXPECT_EQ(get("/health").status, 200);
    EXPECT_EQ(get("/metrics").status, 200);
}

TEST_F(pool_managerd_auth, tokens_never_reach_the_log) {
    get("/v2/pools", token_a);
    get("/v2/pools", token_b);
    get("/v2/pools", token_wrong);
    get("/v2/pools");
    auto log = d_->log_text();
    ASSERT_FALSE(log.empty()) << "the daemon logged nothing at debug level";
    for (auto t : {token_a, token_b, token_wrong})
        EXPECT_EQ(log.find(t), std::string::npos) << "token " << t << " is in the log:\n" << log;
}

}  // namespace
}  // namespace llorch::test
