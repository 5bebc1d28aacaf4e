// The job service over the task service and a fake pool backend, on virtual time: waves with
// outputs substituted into what the engine receives, a failure skipping only its branch,
// fail_fast, the deadline, cancel of queued and running tasks, the cap on running jobs and
// retention.
#include "orchestrator/job_service.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>

#include "fake_pool_backend.h"

namespace llorch::orchestrator {
namespace {
using namespace std::chrono_literals;
namespace json = boost::json;

asio::awaitable<void> stop_both(job_service& jobs, task_service& tasks) {
    co_await jobs.stop();
    co_await tasks.stop(0ms);
}

class job_service_test : public ::testing::Test {
  protected:
    common::manual_clock clock;
    asio::io_context io;
    placement::placement_index index;
    testing::fake_pool_backend backend{io};
    service_options opts;
    job_service_options jopts;
    common::metrics_registry metrics;
    std::unique_ptr<task_service> tasks;
    std::unique_ptr<job_service> jobs;

    void SetUp() override { jopts.retention = 10s; }
    void TearDown() override {
        if (!jobs) return;
        asio::co_spawn(io, stop_both(*jobs, *tasks), asio::detached);
        run_for(1s);
    }
    void add_pool(const std::string& id, int slots) {
        placement::pool_state st;
        st.models = {"tiny"};
        st.engine = "llamacpp";
        st.ready = true;
        st.slots_total = slots;
        st.slots_free = slots;
        index.upsert_pool("", id, st);
    }
    void start(int slots = 4) {
        add_pool("a", slots);
        tasks = std::make_unique<task_service>(io, opts, index, backend, metrics, clock);
        tasks->start();
        jobs = std::make_unique<job_service>(io, jopts, *tasks, clock);
        poll();
    }
    void poll() {
        io.restart();
        io.poll();
    }
    void run_for(common::clock::duration d) {
        auto end = clock.now() + d;
        poll();
        while (auto due = clock.next_due()) {
            if (*due > end) break;
            clock.advance(*due - clock.now());
            poll();
        }
        clock.advance(end - clock.now());
        poll();
    }
    std::shared_ptr<job> submit(const std::string& body) {
        auto spec = parse_job_spec(json::parse(body).as_object(), jopts.limits);
        EXPECT_TRUE(spec) << (spec ? "" : spec.error().message);
        if (!spec) return nullptr;
        auto r = jobs->submit(std::move(*spec));
        EXPECT_TRUE(r) << (r ? "" : r.error().message);
        poll();
        return r ? r->j : nullptr;
    }
    // The engine stream opened for the job's task `id`, or nullptr.
    std::shared_ptr<testing::generation> gen(const std::string& job_id, const std::string& id) {
        for (const auto& g : backend.opens)
            if (g->request.task_id == job_id + "." + id) return g;
        return nullptr;
    }
    void finish(const std::shared_ptr<testing::generation>& g, std::vector<std::string> toks) {
        ASSERT_TRUE(g);
        for (auto& t : toks) g->token(t);
        g->end(static_cast<int>(toks.size()));
        poll();
    }
    static size_t at(const job& j, const std::string& id) { return j.run.graph().index_of(id); }
    static std::string log_of(const job& j) {
        std::string out;
        for (const auto& f : j.frames()) out += f.text;
        return out;
    }
};

constexpr const char* three_levels = R"({"job_id": "j", "defaults": {"model": "tiny"},
    "tasks": [{"id": "plan", "prompt": "plan"},
              {"id": "l", "depends_on": ["plan"], "prompt": "L {{tasks.plan.output}}"},
              {"id": "r", "depends_on": ["plan"],
               "messages": [{"role": "user", "content": "R {{tasks.plan.output}}"}]},
              {"id": "m", "depends_on": ["l", "r"],
               "prompt": "{{tasks.l.output}}+{{tasks.r.output}}"}]})";

TEST_F(job_service_test, runs_waves_and_sends_the_engine_the_substituted_prompts) {
    start();
    auto j = submit(three_levels);
    ASSERT_TRUE(j);
    ASSERT_EQ(backend.opens.size(), 1u);
    finish(gen("j", "plan"), {"Hel", "lo"});
    ASSERT_EQ(backend.opens.size(), 3u) << "both dependents start together";
    EXPECT_EQ(gen("j", "l")->request.prompt, "L Hello");
    ASSERT_EQ(gen("j", "r")->request.messages.size(), 1u);
    EXPECT_EQ(gen("j", "r")->request.messages[0].content, "R Hello");
    finish(gen("j", "l"), {"x"});
    EXPECT_FALSE(gen("j", "m")) << "m waits for r too";
    finish(gen("j", "r"), {"y", "z"});
    ASSERT_TRUE(gen("j", "m"));
    EXPECT_EQ(gen("j", "m")->request.prompt, "x+yz");
    EXPECT_EQ(j->run.state(), jobs::job_state::running);
    finish(gen("j", "m"), {"done"});
    EXPECT_EQ(j->run.state(), jobs::job_state::completed);
    EXPECT_EQ(j->tasks[at(*j, "m")].output, "done");
    EXPECT_EQ(jobs->active(), 0u);
    auto log = log_of(*j);
    EXPECT_NE(log.find("event: job_ended\ndata: {\"job_id\":\"j\",\"state\":\"completed\""),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("event: task_token\ndata: {\"task\":\"plan\",\"t\":\"Hel\",\"i\":0}"),
              std::string::npos)
        << log;
}

TEST_F(job_service_test, a_failure_skips_its_branch_and_the_rest_completes) {
    start();
    auto j = submit(R"({"job_id": "j", "defaults": {"model": "tiny"}, "tasks": [
        {"id": "bad", "prompt": "p"}, {"id": "dep", "depends_on": ["bad"], "prompt": "p"},
        {"id": "ok", "prompt": "p"}]})");
    ASSERT_TRUE(j);
    auto bad = gen("j", "bad");
    bad->token("a");  // past the first token: no retry
    bad->error("UPSTREAM_FAILED");
    poll();
    EXPECT_EQ(j->run.state(at(*j, "bad")), jobs::task_state::failed);
    EXPECT_EQ(j->run.state(at(*j, "dep")), jobs::task_state::skipped);
    EXPECT_FALSE(gen("j", "dep"));
    EXPECT_FALSE(gen("j", "ok")->cancelled);
    finish(gen("j", "ok"), {"fine"});
    EXPECT_EQ(j->run.state(), jobs::job_state::failed);
    EXPECT_EQ(j->run.state(at(*j, "ok")), jobs::task_state::completed);
}

TEST_F(job_service_test, a_task_whose_stream_broke_runs_again_with_task_retries) {
    start();
    auto j = submit(R"({"job_id": "j", "task_retries": 1, "defaults": {"model": "tiny"},
        "tasks": [{"id": "a", "prompt": "p"}, {"id": "b", "depends_on": ["a"],
                   "prompt": "{{tasks.a.output}}"}]})");
    ASSERT_TRUE(j);
    auto first = gen("j", "a");
    first->token("half");
    first->error("UPSTREAM_FAILED");  // its engine died mid-stream
    poll();
    ASSERT_EQ(backend.opens.size(), 2u);
    auto again = backend.opens[1];
    EXPECT_EQ(again->request.task_id, "j.a.retry1");
    EXPECT_EQ(j->run.state(at(*j, "a")), jobs::task_state::running);
    finish(again, {"whole"});
    // The dependent gets the second run's output only.
    ASSERT_TRUE(gen("j", "b"));
    EXPECT_EQ(gen("j", "b")->request.prompt, "whole");
    finish(gen("j", "b"), {"ok"});
    EXPECT_EQ(j->run.state(), jobs::job_state::completed);
    EXPECT_NE(log_of(*j).find("event: task_retried\ndata: {\"task\":\"a\""), std::string::npos)
        << log_of(*j);
}

TEST_F(job_service_test, a_broken_run_is_run_again_only_as_often_as_task_retries_says) {
    start();
    auto j = submit(R"({"job_id": "j", "task_retries": 1, "defaults": {"model": "tiny"},
        "tasks": [{"id": "a", "prompt": "p"}]})");
    ASSERT_TRUE(j);
    for (int run = 0; run < 2; ++run) {
        ASSERT_EQ(backend.opens.size(), static_cast<size_t>(run + 1));
        backend.opens.back()->token("x");
        backend.opens.back()->error("UPSTREAM_FAILED");
        poll();
    }
    EXPECT_EQ(backend.opens.size(), 2u);
    EXPECT_EQ(j->run.state(at(*j, "a")), jobs::task_state::failed);
    EXPECT_EQ(j->run.state(), jobs::job_state::failed);
}

TEST_F(job_service_test, fail_fast_cancels_the_running_sibling_in_the_engine) {
    start();
    auto j = submit(R"({"job_id": "j", "fail_fast": true, "defaults": {"model": "tiny"},
        "tasks": [{"id": "bad", "prompt": "p"}, {"id": "other", "prompt": "p"}]})");
    ASSERT_TRUE(j);
    auto bad = gen("j", "bad");
    bad->token("a");
    bad->error("UPSTREAM_FAILED");
    poll();
    EXPECT_TRUE(gen("j", "other")->cancelled);
    EXPECT_EQ(j->run.state(at(*j, "other")), jobs::task_state::cancelled);
    EXPECT_EQ(j->run.state(), jobs::job_state::failed);
}

TEST_F(job_service_test, the_deadline_cancels_running_and_pending_tasks) {
    start();
    auto j = submit(R"({"job_id": "j", "deadline_ms": 5000, "defaults": {"model": "tiny"},
        "tasks": [{"id": "a", "prompt": "p"}, {"id": "b", "depends_on": ["a"], "prompt": "p"}]})");
    ASSERT_TRUE(j);
    run_for(4900ms);
    EXPECT_EQ(j->run.state(), jobs::job_state::running);
    run_for(200ms);
    EXPECT_TRUE(gen("j", "a")->cancelled);
    EXPECT_EQ(j->run.state(), jobs::job_state::failed);
    EXPECT_EQ(j->run.state(at(*j, "b")), jobs::task_state::cancelled);
    EXPECT_NE(j->run.cause().find("deadline of 5000 ms"), std::string::npos);
}

TEST_F(job_service_test, cancel_ends_queued_and_running_tasks) {
    start(1);
    auto j = submit(R"({"job_id": "j", "defaults": {"model": "tiny"},
        "tasks": [{"id": "a", "prompt": "p"}, {"id": "b", "prompt": "p"},
                  {"id": "c", "depends_on": ["a"], "prompt": "p"}]})");
    ASSERT_TRUE(j);
    ASSERT_EQ(backend.opens.size(), 1u) << "one slot: the other task waits in the queue";
    EXPECT_EQ(tasks->queue_depth(), 1u);
    ASSERT_TRUE(jobs->cancel("j"));
    poll();
    EXPECT_TRUE(backend.opens[0]->cancelled);
    EXPECT_EQ(tasks->queue_depth(), 0u);
    EXPECT_EQ(j->run.state(), jobs::job_state::cancelled);
    for (const char* t : {"a", "b", "c"})
        EXPECT_EQ(j->run.state(at(*j, t)), jobs::task_state::cancelled) << t;
    EXPECT_EQ(backend.opens.size(), 1u) << "nothing started after the cancel";
    EXPECT_TRUE(jobs->cancel("j"));
    EXPECT_EQ(jobs->cancel("nope").error().code, api::error_code::not_found);
}

TEST_F(job_service_test, a_full_queue_is_waited_out_and_a_cancel_ends_the_wait) {
    opts.admission.capacity = 1;
    start(1);
    auto body = [](const char* id) {
        return std::string(R"({"job_id": ")") + id + R"(", "defaults": {"model": "tiny"},
            "tasks": [{"id": "a", "prompt": "p"}, {"id": "b", "prompt": "p"},
                      {"id": "c", "prompt": "p"}]})";
    };
    auto j = submit(body("j"));
    ASSERT_TRUE(j);
    // One slot and one place in the queue: a got in, the others were refused and wait to try
    // again; none of them failed.
    ASSERT_EQ(backend.opens.size(), 1u);
    size_t waiting = 0;
    for (const char* t : {"a", "b", "c"}) {
        EXPECT_EQ(j->run.state(at(*j, t)), jobs::task_state::running) << t;
        waiting += j->tasks[at(*j, t)].t ? 0 : 1;
    }
    EXPECT_EQ(waiting, 2u);
    for (int round = 0; round < 10 && !j->run.finished(); ++round) {
        for (const auto& g : backend.opens)
            if (g->events.empty() && !g->closed) g->end(1);
        run_for(31s);  // Retry-After is at most 30 s
    }
    EXPECT_EQ(j->run.state(), jobs::job_state::completed);
    EXPECT_EQ(backend.opens.size(), 3u);

    auto k = submit(body("k"));
    ASSERT_TRUE(k);
    EXPECT_FALSE(k->tasks[at(*k, "c")].t);
    ASSERT_TRUE(jobs->cancel("k"));
    poll();
    EXPECT_EQ(k->run.state(at(*k, "c")), jobs::task_state::cancelled);
    EXPECT_EQ(k->run.state(), jobs::job_state::cancelled) << "no wait outlives the cancel";
}

TEST_F(job_service_test, refuses_jobs_past_the_running_cap_and_forgets_finished_ones) {
    jopts.max_active = 1;
    start();
    auto j = submit(R"({"job_id": "one", "tasks": [{"id": "a", "model": "tiny", "prompt": "p"}]})");
    ASSERT_TRUE(j);
    auto second = parse_job_spec(
        json::parse(R"({"job_id": "two", "tasks": [{"id": "a", "model": "tiny", "prompt": "p"}]})")
            .as_object());
    ASSERT_TRUE(second);
    auto refused = jobs->submit(*second);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, api::error_code::admission_reject);
    EXPECT_TRUE(refused.error().retriable.value_or(false));
    // The same job id again is the same job, not a new one.
    auto again = parse_job_spec(
        json::parse(R"({"job_id": "one", "tasks": [{"id": "a", "model": "tiny", "prompt": "p"}]})")
            .as_object());
    auto same = jobs->submit(*again);
    ASSERT_TRUE(same);
    EXPECT_TRUE(same->existing);
    EXPECT_EQ(same->j, j);
    finish(gen("one", "a"), {"x"});
    EXPECT_TRUE(jobs->submit(*second));
    poll();
    run_for(11s);
    finish(gen("two", "a"), {"y"});
    auto third = parse_job_spec(
        json::parse(
            R"({"job_id": "three", "tasks": [{"id": "a", "model": "tiny", "prompt": "p"}]})")
            .as_object());
    EXPECT_TRUE(jobs->submit(*third));
    EXPECT_FALSE(jobs->find("one")) << "past retention";
    EXPECT_TRUE(jobs->find("two")) << "ended just now";
}

}  // namespace
}  // namespace llorch::orchestrator
