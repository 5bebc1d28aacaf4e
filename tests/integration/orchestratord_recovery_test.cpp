// orchestratord (HOME) with a pool that failed: a task for its model gets a clear error at once
// (task API and OpenAI endpoint alike) instead of waiting without end, and the pool comes back
// through reload. The real daemon and llama-server on the tiny model, through the public API.
#include <gtest/gtest.h>

#include "orchestratord_fixture.h"

namespace llorch::test {
namespace {

TEST(orchestratord_recovery, a_task_for_a_model_whose_only_pool_failed_is_refused_at_once) {
    engine_or_skip();
    auto model = temp_dir("orch-failed-model") / "lost.gguf";
    auto toml = "[[pools]]\nid = \"lost\"\nname = \"lost\"\nengine = \"llamacpp\"\nmodel = \"" +
                model.string() + "\"\ndevice = \"cpu\"\nslots = 1\nctx = 512\nthreads = 1\n";
    orchestratord_process d("failed-pool", toml,
                            {"--pool-retry-base-ms", "3600000", "--pool-retry-max-ms", "3600000"});
    ASSERT_TRUE(wait_http_ok(d.url("/health"), 30s)) << d.log_text();
    ASSERT_TRUE(wait_until(
        [&] {
            auto p = d.pools();
            return p.size() == 1 && str_of(p[0].as_object(), "state") == "failed";
        },
        30s))
        << d.log_text();

    auto started = steady::now();
    auto r = d.submit(task_body("lost", 4));
    EXPECT_LT(ms_since(started), 2000);
    EXPECT_EQ(r.status, 503) << r.body;
    auto e = object_of(r.body);
    EXPECT_EQ(str_of(e, "code"), "POOL_UNAVAILABLE") << r.body;
    EXPECT_NE(str_of(e, "message").find("reload"), std::string::npos) << r.body;

    // The OpenAI endpoint answers too, rather than hanging.
    started = steady::now();
    auto chat = http_call("POST", d.url("/v1/chat/completions"),
                          R"({"model":"lost","messages":[{"role":"user","content":"Hi"}],)"
                          R"("max_tokens":4})",
                          {}, 20s);
    EXPECT_LT(ms_since(started), 5000);
    EXPECT_EQ(chat.status, 503) << chat.body;
    EXPECT_NE(chat.body.find("reload"), std::string::npos) << chat.body;

    // Back through reload: tasks for the model run again.
    auto part = model;
    part += ".part";
    fs::copy_file(tiny_model(), part);
    fs::rename(part, model);
    auto reload =
        http_call("POST", d.url("/v2/pools/lost/reload"),
                  json::serialize(json::object{{"new_model_ref", model.string()}}), {}, 120s);
    ASSERT_EQ(reload.status, 200) << reload.body << "\n" << d.log_text();
    auto id = d.submit_id(task_body("lost", 8));
    ASSERT_FALSE(id.empty());
    EXPECT_TRUE(well_formed_stream(d.events(id)));
}

}  // namespace
}  // namespace llorch::test
