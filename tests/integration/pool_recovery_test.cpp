// A failed or drained pool of pool-managerd comes back: by itself once its model file is back
// (the retry backoff is capped), or through POST /v2/pools/{id}/reload. The real daemon and
// llama-server on the tiny model, through the public HTTP API.
#include <gtest/gtest.h>

#include "pool_managerd_fixture.h"

namespace llorch::test {
namespace {

// Puts the tiny model at `to` in one step (copy beside it, then rename), so that the daemon
// never reads half a file.
void put_model_back(const fs::path& to) {
    auto part = to;
    part += ".part";
    fs::copy_file(tiny_model(), part, fs::copy_options::overwrite_existing);
    fs::rename(part, to);
}

std::string reload_body(const fs::path& model) {
    return json::serialize(json::object{{"new_model_ref", model.string()}});
}

TEST(pool_recovery, a_pool_whose_model_file_is_missing_starts_by_itself_once_it_is_back) {
    engine_or_skip();
    auto model = temp_dir("pmd-recover-model") / "tiny.gguf";
    daemon_process d("recover", pool_toml("p", model, 1, 512),
                     {"--pool-retry-base-ms", "200", "--pool-retry-max-ms", "1000"});
    ASSERT_TRUE(d.wait_healthy()) << d.log_text();
    // One snapshot: the pool retries meanwhile, so state and retry go together.
    json::object s;
    ASSERT_TRUE(wait_until(
        [&] {
            s = d.status("p");
            return str_of(s, "state") == "failed";
        },
        30s))
        << d.log_text();
    EXPECT_NE(str_of(s, "last_error").find("not found"), std::string::npos)
        << str_of(s, "last_error");
    ASSERT_TRUE(s.contains("retry_in_ms"));
    EXPECT_TRUE(s.at("retry_in_ms").is_int64()) << "a failed pool with no retry pending";
    EXPECT_LE(int_of(s, "retry_in_ms"), 1000);
    auto refused = http_call("POST", d.url("/v2/pools/p/infer"), infer_body(4));
    EXPECT_EQ(refused.status, 503) << refused.body;

    put_model_back(model);
    ASSERT_TRUE(d.wait_state("p", "ready", 90s)) << d.state("p") << "\n" << d.log_text();
    EXPECT_TRUE(d.status("p").at("retry_in_ms").is_null());
    EXPECT_TRUE(well_formed_stream(d.infer("p", infer_body(8))));
}

TEST(pool_recovery, reload_starts_a_failed_pool_and_a_drained_one_again) {
    engine_or_skip();
    auto model = temp_dir("pmd-reload-failed-model") / "tiny.gguf";
    // No retry within the test: only the reload can bring it back.
    daemon_process d("reload-failed", pool_toml("p", model, 1, 512),
                     {"--pool-retry-base-ms", "3600000", "--pool-retry-max-ms", "3600000"});
    ASSERT_TRUE(d.wait_healthy()) << d.log_text();
    ASSERT_TRUE(d.wait_state("p", "failed", 30s)) << d.state("p") << "\n" << d.log_text();

    // Still missing: refused with a reason, the pool stays failed.
    auto missing = http_call("POST", d.url("/v2/pools/p/reload"), reload_body(model), {}, 60s);
    EXPECT_EQ(missing.status, 400) << missing.body;
    EXPECT_EQ(str_of(object_of(missing.body), "code"), "INVALID_PARAMS") << missing.body;
    EXPECT_EQ(d.state("p"), "failed");

    put_model_back(model);
    auto r = http_call("POST", d.url("/v2/pools/p/reload"), reload_body(model), {}, 120s);
    ASSERT_EQ(r.status, 200) << r.body << "\n" << d.log_text();
    EXPECT_EQ(str_of(object_of(r.body), "state"), "ready") << r.body;
    EXPECT_EQ(d.state("p"), "ready");
    long first = d.pid_of("p");
    EXPECT_GT(first, 0);
    EXPECT_TRUE(well_formed_stream(d.infer("p", infer_body(8))));

    // Drained: offline, engine gone; a reload starts a new engine.
    auto drained = http_call("POST", d.url("/v2/pools/p/drain"), R"({"deadline_ms":0})");
    ASSERT_EQ(drained.status, 202) << drained.body;
    ASSERT_TRUE(d.wait_state("p", "offline", 30s)) << d.state("p");
    EXPECT_TRUE(wait_until([&] { return !process_alive(first); }, 10s));
    auto again = http_call("POST", d.url("/v2/pools/p/reload"), reload_body(model), {}, 120s);
    ASSERT_EQ(again.status, 200) << again.body << "\n" << d.log_text();
    EXPECT_EQ(d.state("p"), "ready");
    EXPECT_NE(d.pid_of("p"), first);
    EXPECT_TRUE(well_formed_stream(d.infer("p", infer_body(8))));
}

}  // namespace
}  // namespace llorch::test
