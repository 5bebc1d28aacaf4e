#include "jobs/job_run.h"

#include <gtest/gtest.h>

#include "task_def_for_tests.h"

namespace llorch::jobs {
namespace {
using namespace std::chrono_literals;
using v = std::vector<size_t>;

job_graph graph(std::vector<task_def> d, job_limits l = {}) {
    auto g = job_graph::make(std::move(d), l);
    EXPECT_TRUE(g);
    return std::move(*g);
}

const clock::time_point t0{};

// plan(0) → a(1), b(2) → merge(3); c(4) independent.
job_run diamond(job_options o = {}) {
    return job_run(
        graph({t("plan", {}, {"plan it"}), t("a", {"plan"}, {"A: {{tasks.plan.output}}"}),
               t("b", {"plan"}),
               t("merge", {"a", "b"}, {"{{tasks.a.output}}+{{tasks.b.output}}", "x"}), t("c")}),
        o, t0);
}

TEST(job_run, starts_every_task_without_dependencies_at_once) {
    auto r = diamond();
    EXPECT_EQ(r.begin().start, (v{0, 4}));
    EXPECT_EQ(r.state(0), task_state::running);
    EXPECT_EQ(r.state(1), task_state::pending);
    EXPECT_EQ(r.running(), 2u);
}

TEST(job_run, a_task_waits_only_for_its_own_dependencies) {
    auto r = diamond();
    r.begin();
    auto s = r.complete(0, "P");
    EXPECT_EQ(s.start, (v{1, 2}));  // c still running does not hold them back
    EXPECT_TRUE(r.complete(1, "A").start.empty());
    EXPECT_EQ(r.complete(2, "B").start, (v{3}));
    EXPECT_FALSE(r.finished());
    r.complete(3, "AB");
    r.complete(4, "C");
    EXPECT_TRUE(r.finished());
    EXPECT_EQ(r.state(), job_state::completed);
}

TEST(job_run, substitutes_outputs_of_dependencies) {
    auto r = diamond();
    r.begin();
    r.complete(0, "the plan");
    auto a = r.substitute(1);
    ASSERT_TRUE(a);
    EXPECT_EQ(*a, (std::vector<std::string>{"A: the plan"}));
    r.complete(1, "{{tasks.plan.output}}");  // an output is never expanded again
    r.complete(2, "bee");
    auto m = r.substitute(3);
    ASSERT_TRUE(m);
    EXPECT_EQ(*m, (std::vector<std::string>{"{{tasks.plan.output}}+bee", "x"}));
}

TEST(job_run, substitution_is_bounded) {
    job_limits l;
    l.max_prompt_bytes = 8;
    job_run r(graph({t("a"), t("b", {"a"}, {"<{{tasks.a.output}}>"})}, l), {}, t0);
    r.begin();
    r.complete(0, "123456");
    EXPECT_TRUE(r.substitute(1));
    job_run r2(graph({t("a"), t("b", {"a"}, {"<{{tasks.a.output}}>"})}, l), {}, t0);
    r2.begin();
    r2.complete(0, "1234567");
    auto s = r2.substitute(1);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, jobs_errc::too_large);
}

TEST(job_run, keeps_outputs_within_the_bound_at_a_character_boundary) {
    job_limits l;
    l.max_output_bytes = 4;
    job_run r(graph({t("a")}, l), {}, t0);
    r.begin();
    r.complete(0, "ab\xC3\xA9\xC3\xA9");  // "abéé": the cut falls inside the second é
    EXPECT_EQ(r.output(0), "ab\xC3\xA9");
    EXPECT_TRUE(r.output_truncated(0));
}

TEST(job_run, a_failure_skips_its_dependents_and_independent_branches_go_on) {
    auto r = diamond();
    r.begin();
    r.complete(0, "P");
    auto s = r.fail(1, "UPSTREAM_FAILED: boom");
    EXPECT_EQ(s.ended, (v{3}));
    EXPECT_TRUE(s.cancel.empty());
    EXPECT_EQ(r.state(3), task_state::skipped);
    EXPECT_EQ(r.cause(3), "dependency 'a' failed");
    EXPECT_EQ(r.state(2), task_state::running);
    r.complete(2, "B");
    EXPECT_FALSE(r.finished());
    r.complete(4, "C");
    EXPECT_TRUE(r.finished());
    EXPECT_EQ(r.state(), job_state::failed);
    EXPECT_EQ(r.state(4), task_state::completed);
    EXPECT_NE(r.cause().find("task 'a' failed"), std::string::npos);
}

TEST(job_run, skipping_is_transitive_and_names_the_nearest_cause) {
    job_run r(graph({t("a"), t("b", {"a"}), t("c", {"b"}), t("d")}), {}, t0);
    EXPECT_EQ(r.begin().start, (v{0, 3}));
    auto s = r.fail(0, "x");
    EXPECT_EQ(s.ended, (v{1, 2}));
    EXPECT_EQ(r.cause(1), "dependency 'a' failed");
    EXPECT_EQ(r.cause(2), "dependency 'b' was skipped");
}

TEST(job_run, fail_fast_cancels_the_rest) {
    job_options o;
    o.fail_fast = true;
    auto r = diamond(o);
    r.begin();
    auto s = r.fail(4, "boom");
    EXPECT_EQ(s.cancel, (v{0}));
    EXPECT_EQ(s.ended, (v{1, 2, 3}));
    EXPECT_EQ(r.state(1), task_state::cancelled);
    EXPECT_FALSE(r.finished());
    EXPECT_TRUE(r.complete(0, "late").start.empty());  // no new work once stopping
    EXPECT_TRUE(r.finished());
    EXPECT_EQ(r.state(), job_state::failed);
    EXPECT_EQ(r.cause(), "task 'c' failed: boom");
    EXPECT_NE(r.cause(1).find("fail_fast"), std::string::npos);
}

TEST(job_run, max_parallel_bounds_running_tasks) {
    job_options o;
    o.max_parallel = 2;
    job_run r(graph({t("a"), t("b"), t("c"), t("d", {"a"})}), o, t0);
    EXPECT_EQ(r.begin().start, (v{0, 1}));
    EXPECT_EQ(r.complete(0, "").start, (v{2}));  // c was ready before d
    EXPECT_EQ(r.complete(1, "").start, (v{3}));
    EXPECT_EQ(r.running(), 2u);
}

TEST(job_run, cancel_ends_pending_tasks_and_asks_to_cancel_running_ones) {
    auto r = diamond();
    r.begin();
    auto s = r.cancel("cancelled by the client");
    EXPECT_EQ(s.cancel, (v{0, 4}));
    EXPECT_EQ(s.ended, (v{1, 2, 3}));
    EXPECT_TRUE(r.cancel("again").cancel.empty());  // idempotent
    r.cancelled(0, "CANCELLED");
    EXPECT_FALSE(r.finished());
    r.cancelled(4, "CANCELLED");
    EXPECT_TRUE(r.finished());
    EXPECT_EQ(r.state(), job_state::cancelled);
    EXPECT_EQ(r.cause(), "cancelled by the client");
}

TEST(job_run, cancelling_a_finished_job_changes_nothing) {
    job_run r(graph({t("a")}), {}, t0);
    r.begin();
    r.complete(0, "x");
    auto s = r.cancel("late");
    EXPECT_TRUE(s.cancel.empty() && s.ended.empty());
    EXPECT_EQ(r.state(), job_state::completed);
}

TEST(job_run, a_task_cancelled_alone_skips_its_dependents) {
    job_run r(graph({t("a"), t("b", {"a"})}), {}, t0);
    r.begin();
    auto s = r.cancelled(0, "CANCELLED");
    EXPECT_EQ(s.ended, (v{1}));
    EXPECT_EQ(r.cause(1), "dependency 'a' was cancelled");
    EXPECT_EQ(r.state(), job_state::failed);
}

TEST(job_run, the_deadline_fails_the_job) {
    job_options o;
    o.deadline = 1000ms;
    auto r = diamond(o);
    r.begin();
    ASSERT_TRUE(r.deadline());
    EXPECT_EQ(*r.deadline(), t0 + 1000ms);
    EXPECT_TRUE(r.expire(t0 + 999ms).cancel.empty());
    auto s = r.expire(t0 + 1000ms);
    EXPECT_EQ(s.cancel, (v{0, 4}));
    r.cancelled(0, "c");
    r.cancelled(4, "c");
    EXPECT_TRUE(r.finished());
    EXPECT_EQ(r.state(), job_state::failed);
    EXPECT_NE(r.cause().find("deadline of 1000 ms"), std::string::npos);
}

TEST(job_run, reports_for_tasks_not_running_are_ignored) {
    job_run r(graph({t("a"), t("b", {"a"})}), {}, t0);
    r.begin();
    EXPECT_TRUE(r.complete(1, "x").start.empty());
    EXPECT_EQ(r.state(1), task_state::pending);
    r.complete(0, "x");
    r.complete(0, "again");
    EXPECT_EQ(r.output(0), "x");
}

}  // namespace
}  // namespace llorch::jobs
