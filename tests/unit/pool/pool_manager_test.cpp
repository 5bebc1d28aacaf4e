// pool_manager through a fake engine launcher: restart after an exit, crash loop -> failed,
// drain, reload, adoption of a handoff file, and stops that never block the io thread. Real
// timers with short settings; every wait is on a condition with a deadline.
#include <limits>

#include "pool_manager_fixture.h"

namespace llorch::pool {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using testing::fake_engine;
using testing::lag_meter;
using testing::pool_manager_test;

TEST_F(pool_manager_test, a_pool_turns_ready_once_its_engine_answers_and_writes_its_handoff) {
    auto& m = start({pool("a", 2)});
    ASSERT_TRUE(wait_state("a", pool_state::ready)) << state("a");
    auto s = m.status("a");
    EXPECT_EQ(s->slots_total, 2);
    EXPECT_EQ(s->slots_free, 2);
    ASSERT_EQ(launcher_->specs.size(), 1u);
    EXPECT_EQ(launcher_->specs[0].slots, 2);
    EXPECT_EQ(launcher_->specs[0].model, model_.string());
    EXPECT_TRUE(fs::exists(opts_.runtime_dir / "a.json"));
}

TEST_F(pool_manager_test, an_engine_that_exits_is_restarted_within_the_backoff_and_counted) {
    auto& m = start({pool("a")});
    ASSERT_TRUE(wait_state("a", pool_state::ready));
    auto first = launcher_->last();
    first->crash("exited with 1");
    auto crashed = steady::now();
    ASSERT_TRUE(run_until([&] { return launcher_->engines.size() == 2; })) << state("a");
    auto waited = steady::now() - crashed;
    // The first restart waits a random delay up to the backoff's first ceiling (its base).
    EXPECT_LE(waited, opts_.restart.backoff.base + 500ms);
    ASSERT_TRUE(wait_state("a", pool_state::ready));
    auto s = m.status("a");
    EXPECT_EQ(s->restarts, 1);
    EXPECT_NE(s->last_error.find("exited with 1"), std::string::npos) << s->last_error;
    ASSERT_EQ(s->pids.size(), 1u);
    EXPECT_EQ(s->pids[0], launcher_->last()->pid());
}

TEST_F(pool_manager_test, an_engine_failing_its_health_checks_is_stopped_and_restarted) {
    auto& m = start({pool("a")});
    ASSERT_TRUE(wait_state("a", pool_state::ready));
    auto first = launcher_->last();
    first->set_healthy(false);
    ASSERT_TRUE(run_until([&] { return launcher_->engines.size() == 2; })) << state("a");
    EXPECT_GE(first->stop_requests, 1);
    EXPECT_TRUE(first->exited());
    ASSERT_TRUE(wait_state("a", pool_state::ready));
    EXPECT_NE(m.status("a")->last_error.find("health checks"), std::string::npos);
}

TEST_F(pool_manager_test, a_crash_loop_ends_failed_with_the_engines_reason) {
    opts_.restart.max_crashes = 3;
    launcher_->exit_on_start = "exited with 1; last log lines: cannot open the GPU";
    auto& m = start({pool("loop")});
    ASSERT_TRUE(wait_state("loop", pool_state::failed)) << state("loop");
    auto s = m.status("loop");
    EXPECT_NE(s->last_error.find("crash loop"), std::string::npos) << s->last_error;
    EXPECT_NE(s->last_error.find("cannot open the GPU"), std::string::npos) << s->last_error;
    // The first start and two restarts; the third crash within the window gives up.
    EXPECT_EQ(launcher_->engines.size(), 3u);
    run_for(200ms);
    EXPECT_EQ(launcher_->engines.size(), 3u) << "restarted after giving up";
    auto refused = m.begin_infer("loop", gen());
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, api::error_code::pool_unready);
    EXPECT_EQ(refused.error().retriable, false);
}

TEST_F(pool_manager_test, an_engine_that_cannot_start_fails_the_pool) {
    launcher_->fail_launches = 1;
    auto& m = start({pool("a")});
    ASSERT_TRUE(wait_state("a", pool_state::failed));
    EXPECT_NE(m.status("a")->last_error.find("cannot run"), std::string::npos);
}

TEST_F(pool_manager_test, provisioning_refuses_a_missing_model_file) {
    auto c = pool("a");
    c.model = (dir_ / "missing.gguf").string();
    auto& m = start({c});
    ASSERT_TRUE(wait_state("a", pool_state::failed));
    EXPECT_NE(m.status("a")->last_error.find("model file not found"), std::string::npos);
    EXPECT_TRUE(launcher_->engines.empty());
}

TEST_F(pool_manager_test, drain_takes_no_new_request_lets_the_running_one_finish_then_stops) {
    auto& m = start({pool("a", 2), pool("b", 1)});
    ASSERT_TRUE(wait_state("a", pool_state::ready));
    ASSERT_TRUE(wait_state("b", pool_state::ready));
    auto engine = engine_of("a");
    ASSERT_TRUE(engine);
    auto running = m.begin_infer("a", gen());
    ASSERT_TRUE(running);

    ASSERT_TRUE(m.drain("a", 10s));
    ASSERT_TRUE(wait_state("a", pool_state::draining));
    auto refused = m.begin_infer("a", gen());
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, api::error_code::pool_unready);
    run_for(200ms);
    EXPECT_EQ(engine->stop_requests, 0) << "stopped under a running stream";
    EXPECT_EQ(state("a"), "draining");

    running->reset();  // the stream ends: its slot frees
    ASSERT_TRUE(wait_state("a", pool_state::offline)) << state("a");
    EXPECT_TRUE(engine->exited());
    EXPECT_FALSE(fs::exists(opts_.runtime_dir / "a.json"));
    EXPECT_EQ(state("b"), "ready") << "draining one pool touched another";
}

TEST_F(pool_manager_test, a_drain_deadline_of_the_largest_integer_does_not_overflow) {
    auto& m = start({pool("a")});
    ASSERT_TRUE(wait_state("a", pool_state::ready));
    auto running = m.begin_infer("a", gen());
    ASSERT_TRUE(running);
    ASSERT_TRUE(m.drain("a", std::chrono::milliseconds(std::numeric_limits<int64_t>::max())));
    run_for(200ms);
    EXPECT_EQ(state("a"), "draining") << "an overflowed deadline ended the drain at once";
    running->reset();
    EXPECT_TRUE(wait_state("a", pool_state::offline));
}

TEST_F(pool_manager_test, an_engine_ignoring_stop_is_killed_after_the_grace_without_blocking) {
    launcher_->engines_ignore_sigterm = true;
    auto& m = start({pool("a")});
    ASSERT_TRUE(wait_state("a", pool_state::ready));
    ASSERT_TRUE(m.drain("a", 0ms));
    // The io thread stays free: a 10 ms ticker keeps its pace while the engine will not stop.
    lag_meter lag(io_);
    ASSERT_TRUE(wait_state("a", pool_state::offline, 10s)) << state("a");
    EXPECT_TRUE(launcher_->last()->exited());
    EXPECT_LT(lag.worst(), 500ms);
}

TEST_F(pool_manager_test, reload_serves_from_new_engines_once_ready_and_retires_the_old_ones) {
    auto& m = start({pool("a")});
    ASSERT_TRUE(wait_state("a", pool_state::ready));
    auto old_engine = launcher_->last();
    auto running = m.begin_infer("a", gen());
    ASSERT_TRUE(running);
    auto model2 = dir_ / "tiny2.gguf";
    std::ofstream(model2) << "another";

    auto r = run_coro(m.reload("a", model2.string()));
    ASSERT_TRUE(r.has_value());
    ASSERT_TRUE(*r) << r->error().message;
    EXPECT_EQ((*r)->model, model2.string());
    EXPECT_EQ((*r)->generation, 1);
    ASSERT_EQ(launcher_->specs.size(), 2u);
    EXPECT_EQ(launcher_->specs[1].generation, 1);
    EXPECT_EQ(launcher_->specs[1].model, model2.string());
    auto s = m.status("a");
    EXPECT_EQ(s->state, pool_state::ready);
    ASSERT_EQ(s->pids.size(), 1u);
    EXPECT_EQ(s->pids[0], launcher_->last()->pid());
    EXPECT_FALSE(old_engine->exited()) << "the old engine stopped under a running stream";
    EXPECT_EQ(s->in_flight, 1);

    running->reset();
    EXPECT_TRUE(run_until([&] { return old_engine->exited(); }));
    EXPECT_FALSE(launcher_->last()->exited());
    auto next = m.begin_infer("a", gen());
    EXPECT_TRUE(next);
}

TEST_F(pool_manager_test, a_reload_whose_engine_never_gets_ready_keeps_the_old_one) {
    opts_.ready_timeout = 300ms;
    auto& m = start({pool("a")});
    ASSERT_TRUE(wait_state("a", pool_state::ready));
    auto old_engine = launcher_->last();
    launcher_->healthy_on_start = false;
    auto model2 = dir_ / "tiny2.gguf";
    std::ofstream(model2) << "another";

    auto r = run_coro(m.reload("a", model2.string()));
    ASSERT_TRUE(r.has_value());
    ASSERT_FALSE(*r);
    EXPECT_NE(r->error().message.find("not ready"), std::string::npos) << r->error().message;
    EXPECT_TRUE(run_until([&] { return launcher_->last()->exited(); }))
        << "the failed reload's engine still runs";
    auto s = m.status("a");
    EXPECT_EQ(s->state, pool_state::ready);
    EXPECT_EQ(s->model, model_.string());
    EXPECT_EQ(s->generation, 0);
    EXPECT_FALSE(old_engine->exited());
    EXPECT_TRUE(m.begin_infer("a", gen()));

    // A reload to a missing file is refused before anything starts.
    auto missing = run_coro(m.reload("a", (dir_ / "missing.gguf").string()));
    ASSERT_TRUE(missing.has_value());
    ASSERT_FALSE(*missing);
    EXPECT_EQ(missing->error().code, api::error_code::invalid_params);
    EXPECT_EQ(launcher_->engines.size(), 2u);
}

TEST_F(pool_manager_test, a_foreign_handoff_file_is_adopted_once_its_engine_answers) {
    auto& m = start({pool("mine")});
    ASSERT_TRUE(wait_state("mine", pool_state::ready));
    auto foreign = launcher_->start_engine(false);  // still loading
    handoff h;
    h.pool_id = "ext";
    h.engine = "llamacpp";
    h.endpoint = foreign->base_url();
    h.slots = 3;
    h.ready = true;
    h.model = "ext-model";
    h.pid = 4242;
    ASSERT_TRUE(write_handoff_atomic(opts_.runtime_dir, h));
    run_for(300ms);
    EXPECT_FALSE(m.has_pool("ext")) << "adopted before its engine answered";
    common::metrics_registry metrics;
    m.add_metrics(metrics);
    EXPECT_NE(metrics.render().find(
                  R"(pool_handoff_files_processed_total{outcome="unreachable",pool_id="ext"} 1)"),
              std::string::npos);

    foreign->set_healthy(true);
    ASSERT_TRUE(wait_state("ext", pool_state::ready)) << state("ext");
    auto s = m.status("ext");
    EXPECT_TRUE(s->adopted);
    EXPECT_EQ(s->slots_total, 3);
    EXPECT_EQ(s->name, "ext-model");
    ASSERT_EQ(s->pids.size(), 1u);
    EXPECT_EQ(s->pids[0], 4242);
    EXPECT_TRUE(m.begin_infer("ext", gen()));
    EXPECT_EQ(launcher_->specs.size(), 1u) << "an adopted engine is never started here";

    fs::remove(opts_.runtime_dir / "ext.json");
    EXPECT_TRUE(run_until([&] { return !m.has_pool("ext"); })) << "released after removal";
    EXPECT_EQ(state("mine"), "ready");
}

TEST_F(pool_manager_test, stop_drains_every_pool_and_returns_once_engines_exited) {
    launcher_->engines_ignore_sigterm = true;
    auto& m = start({pool("a"), pool("b")});
    ASSERT_TRUE(wait_state("a", pool_state::ready));
    ASSERT_TRUE(wait_state("b", pool_state::ready));
    auto started = steady::now();
    ASSERT_TRUE(run_void(m.stop(1s)));
    // Both engines wait out their grace side by side, not one after the other.
    EXPECT_LT(steady::now() - started, 2 * 2s);
    for (auto& e : launcher_->engines) EXPECT_TRUE(e->exited());
    EXPECT_EQ(state("a"), "offline");
    EXPECT_EQ(state("b"), "offline");
}

TEST_F(pool_manager_test, limits_fold_over_the_pools_serving_a_model) {
    auto a = pool("a");
    a.name = "tiny";
    a.max_tokens_default = 64;
    a.max_tokens_cap = 100;
    a.ctx = 2048;
    auto b = pool("b");
    b.name = "tiny";
    b.max_tokens_default = 32;
    b.max_tokens_cap = 500;
    b.ctx = 1024;
    auto& m = start({a, b});
    auto l = m.limits_for("tiny");
    ASSERT_TRUE(l);
    EXPECT_EQ(l->max_tokens_default, 64);
    EXPECT_EQ(l->max_tokens_cap, 500);
    EXPECT_EQ(l->ctx, 1024);
    EXPECT_FALSE(m.limits_for("other"));
}

}  // namespace
}  // namespace llorch::pool
