// A failed or drained pool comes back: by itself after a capped backoff (the model file is back,
// the engine stopped crashing), or through reload. Through the fake engine launcher, on real
// timers with short settings; every wait is on a condition with a deadline.
#include "pool_manager_fixture.h"

namespace llorch::pool {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using testing::pool_manager_test;

TEST_F(pool_manager_test, a_failed_pool_starts_again_by_itself_once_its_model_file_is_back) {
    opts_.recovery = {.base = 20ms, .factor = 2.0, .cap = 100ms};
    fs::rename(model_, dir_ / "away.gguf");
    auto& m = start({pool("a")});
    ASSERT_TRUE(wait_state("a", pool_state::failed));
    EXPECT_NE(m.status("a")->last_error.find("model file not found"), std::string::npos);
    // It keeps trying, never waiting longer than the cap between tries.
    long long worst = -1;
    int failed_seen = 0;
    run_until(
        [&] {
            auto s = m.status("a");
            if (s->state == pool_state::failed) {
                ++failed_seen;
                worst = std::max(worst, s->retry_in_ms);
                EXPECT_GE(s->retry_in_ms, 0) << "failed with no retry pending";
            }
            return false;
        },
        500ms);
    EXPECT_GT(failed_seen, 0);
    EXPECT_LE(worst, 100);
    EXPECT_TRUE(launcher_->engines.empty());

    fs::rename(dir_ / "away.gguf", model_);
    ASSERT_TRUE(wait_state("a", pool_state::ready, 5s)) << state("a");
    EXPECT_EQ(m.status("a")->retry_in_ms, -1);
    EXPECT_TRUE(m.begin_infer("a", gen()));
}

TEST_F(pool_manager_test, a_crash_looping_pool_starts_again_after_the_backoff) {
    opts_.restart.max_crashes = 2;
    opts_.recovery = {.base = 300ms, .factor = 2.0, .cap = 300ms};
    launcher_->exit_on_start = "exited with 1";
    auto& m = start({pool("loop")});
    ASSERT_TRUE(wait_state("loop", pool_state::failed)) << state("loop");
    const auto launched = launcher_->engines.size();
    launcher_->exit_on_start.reset();  // whatever made it crash is fixed
    ASSERT_TRUE(wait_state("loop", pool_state::ready, 5s)) << state("loop");
    EXPECT_EQ(launcher_->engines.size(), launched + 1);
    auto s = m.status("loop");
    EXPECT_EQ(s->pids.size(), 1u);
    EXPECT_FALSE(engine_of("loop")->exited());
}

TEST_F(pool_manager_test, reload_starts_a_failed_pool_again) {
    auto away = dir_ / "away.gguf";
    fs::rename(model_, away);
    auto& m = start({pool("a")});
    ASSERT_TRUE(wait_state("a", pool_state::failed));
    auto refused = m.begin_infer("a", gen());
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, api::error_code::pool_unready);

    // A reload naming a file that is still missing is refused; the pool stays failed.
    auto missing = run_coro(m.reload("a", model_.string()));
    ASSERT_TRUE(missing.has_value());
    ASSERT_FALSE(*missing);
    EXPECT_EQ(missing->error().code, api::error_code::invalid_params);
    EXPECT_EQ(state("a"), "failed");

    // Named where it is now, it starts and the answer says it is ready.
    auto r = run_coro(m.reload("a", away.string()));
    ASSERT_TRUE(r.has_value());
    ASSERT_TRUE(*r) << r->error().message;
    EXPECT_EQ((*r)->state, pool_state::ready);
    EXPECT_EQ((*r)->model, away.string());
    EXPECT_EQ(state("a"), "ready");
    ASSERT_EQ(launcher_->specs.size(), 1u);
    EXPECT_EQ(launcher_->specs[0].model, away.string());
    EXPECT_TRUE(m.begin_infer("a", gen()));
}

TEST_F(pool_manager_test, reload_starts_a_drained_pool_again) {
    auto& m = start({pool("a")});
    ASSERT_TRUE(wait_state("a", pool_state::ready));
    auto first = launcher_->last();
    ASSERT_TRUE(m.drain("a", 0ms));
    ASSERT_TRUE(wait_state("a", pool_state::offline));
    EXPECT_TRUE(first->exited());

    auto r = run_coro(m.reload("a", model_.string()));
    ASSERT_TRUE(r.has_value());
    ASSERT_TRUE(*r) << r->error().message;
    EXPECT_EQ(state("a"), "ready");
    EXPECT_NE(launcher_->last(), first);
    EXPECT_FALSE(launcher_->last()->exited());
    EXPECT_TRUE(m.begin_infer("a", gen()));
    EXPECT_TRUE(fs::exists(opts_.runtime_dir / "a.json"));
}

TEST_F(pool_manager_test, a_reload_of_a_failed_pool_that_fails_again_leaves_it_retrying) {
    opts_.ready_timeout = 300ms;
    opts_.restart.max_crashes = 1;
    launcher_->exit_on_start = "exited with 1";
    auto& m = start({pool("a")});
    ASSERT_TRUE(wait_state("a", pool_state::failed));
    auto r = run_coro(m.reload("a", model_.string()));
    ASSERT_TRUE(r.has_value());
    ASSERT_FALSE(*r);
    EXPECT_NE(r->error().message.find("did not start"), std::string::npos) << r->error().message;
    auto s = m.status("a");
    EXPECT_EQ(s->state, pool_state::failed);
    EXPECT_GE(s->retry_in_ms, 0) << "no retry pending after the failed reload";
    EXPECT_FALSE(s->reloading);
}

TEST_F(pool_manager_test, a_pool_that_is_starting_cannot_be_reloaded) {
    launcher_->healthy_on_start = false;
    auto& m = start({pool("a")});
    ASSERT_TRUE(wait_state("a", pool_state::starting));
    auto r = run_coro(m.reload("a", model_.string()));
    ASSERT_TRUE(r.has_value());
    ASSERT_FALSE(*r);
    EXPECT_EQ(r->error().code, api::error_code::pool_unready);
}

TEST_F(pool_manager_test, stop_ends_a_pending_recovery_at_once) {
    fs::rename(model_, dir_ / "away.gguf");
    auto& m = start({pool("a")});
    ASSERT_TRUE(wait_state("a", pool_state::failed));
    ASSERT_GE(m.status("a")->retry_in_ms, 0);
    auto started = steady::now();
    ASSERT_TRUE(run_void(m.stop(1s)));
    EXPECT_LT(steady::now() - started, 1s);
    EXPECT_TRUE(launcher_->engines.empty());
}

}  // namespace
}  // namespace llorch::pool
