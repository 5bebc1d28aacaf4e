// The task service against a fake pool backend, on virtual time: relay to the end, retries
// before the first token (on another pool, after the jittered backoff), none after it, queued
// deadlines, the disconnect grace, cancellation, session affinity and retention.
#include "orchestrator/task_service.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>

#include "dispatch/retry_backoff.h"
#include "fake_pool_backend.h"

namespace llorch::orchestrator {
namespace {
using namespace std::chrono_literals;

class task_service_test : public ::testing::Test {
  protected:
    common::manual_clock clock;
    asio::io_context io;
    placement::placement_index index;
    testing::fake_pool_backend backend{io};
    service_options opts;
    common::metrics_registry metrics;
    std::unique_ptr<task_service> svc;

    placement::pool_ref add_pool(const std::string& id, int slots = 1, bool ready = true,
                                 const std::string& node = "") {
        placement::pool_state st;
        st.models = {"tiny"};
        st.engine = "llamacpp";
        st.ready = ready;
        st.slots_total = slots;
        st.slots_free = slots;
        return index.upsert_pool(node, id, st);
    }
    void start() {
        svc = std::make_unique<task_service>(io, opts, index, backend, metrics, clock);
        svc->start();
        poll();
    }
    void poll() {
        io.restart();
        io.poll();
    }
    // Lets `d` of virtual time pass, running every wait that falls due on the way in order.
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
    std::shared_ptr<task> submit(const std::string& id, const std::string& session = "") {
        task_spec s;
        s.task_id = id;
        s.session_id = session.empty() ? "session-" + id : session;
        s.model = "tiny";
        s.generation.prompt = "hello";
        return submit(std::move(s));
    }
    std::shared_ptr<task> submit(task_spec s) {
        auto r = svc->submit(std::move(s));
        EXPECT_TRUE(r) << (r ? "" : r.error().message);
        poll();
        return r ? r->t : nullptr;
    }
    static std::string log_of(const task& t) {
        std::string out;
        for (const auto& f : t.frames()) out += f.text;
        return out;
    }
};

TEST_F(task_service_test, relays_a_task_to_its_end) {
    auto ref = add_pool("a");
    start();
    auto t = submit("t1");
    ASSERT_EQ(backend.opens.size(), 1u);
    EXPECT_EQ(t->state, task_state::running);
    EXPECT_EQ(index.find(ref)->in_flight, 1);
    auto& g = *backend.opens[0];
    g.token("Hel");
    g.token("lo");
    g.end(2);
    poll();
    EXPECT_EQ(t->state, task_state::completed);
    EXPECT_EQ(t->tokens, 2);
    EXPECT_EQ(t->tokens_out, 2);
    auto log = log_of(*t);
    auto started = log.find("event: started");
    auto first = log.find("\"t\":\"Hel\"");
    auto second = log.find("\"t\":\"lo\"");
    auto end = log.find("event: end");
    ASSERT_NE(started, std::string::npos);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LT(started, first);
    EXPECT_LT(first, second);
    EXPECT_LT(second, end);
    EXPECT_EQ(index.find(ref)->in_flight, 0);
    EXPECT_TRUE(g.closed);
}

TEST_F(task_service_test, retries_a_retriable_open_failure_on_another_pool_after_the_backoff) {
    opts.retry_base = 1000ms;
    opts.retry_seed = 7;
    auto expected_delay = *dispatch::retry_backoff({1000ms, 2000ms, 2}, 7).delay(1);
    ASSERT_GT(expected_delay, 0ms);
    add_pool("a");
    add_pool("b");
    auto e = api::make_error(api::error_code::node_unavailable, "connection refused");
    e.retriable = true;
    backend.fail_next_open["a"] = e;
    start();
    task_spec s;
    s.task_id = "t1";
    s.model = "tiny";
    s.placement.prefer_pools = {"a"};
    auto t = submit(std::move(s));
    ASSERT_EQ(backend.opens.size(), 1u);
    EXPECT_EQ(backend.opens[0]->where.pool_id, "a");
    EXPECT_EQ(t->state, task_state::queued);

    run_for(expected_delay - 1ms);
    EXPECT_EQ(backend.opens.size(), 1u) << "retried before its backoff ended";
    run_for(1ms);
    ASSERT_EQ(backend.opens.size(), 2u);
    EXPECT_EQ(backend.opens[1]->where.pool_id, "b");  // the pool that failed is avoided
    EXPECT_EQ(backend.opens[1]->request.attempt, 1);
    backend.opens[1]->token("ok");
    backend.opens[1]->end(1);
    poll();
    EXPECT_EQ(t->state, task_state::completed);
}

TEST_F(task_service_test, retries_a_stream_error_before_the_first_token) {
    add_pool("a");
    add_pool("b");
    start();
    auto t = submit("t1");
    ASSERT_EQ(backend.opens.size(), 1u);
    auto first = backend.opens[0]->where.pool_id;
    backend.opens[0]->error("WORKER_RESET");
    run_for(opts.retry_base);  // the first retry waits at most retry_base
    ASSERT_EQ(backend.opens.size(), 2u);
    EXPECT_NE(backend.opens[1]->where.pool_id, first);
    EXPECT_EQ(log_of(*t).find("event: error"), std::string::npos);
}

TEST_F(task_service_test, does_not_retry_after_the_first_token) {
    add_pool("a");
    add_pool("b");
    start();
    auto t = submit("t1");
    ASSERT_EQ(backend.opens.size(), 1u);
    backend.opens[0]->token("partial");
    backend.opens[0]->error("WORKER_RESET");
    run_for(10s);
    EXPECT_EQ(backend.opens.size(), 1u);
    EXPECT_EQ(t->state, task_state::failed);
    ASSERT_TRUE(t->error);
    // The client already has tokens: the worker's reset is an upstream failure to it.
    EXPECT_EQ(t->error->code, api::error_code::upstream_failed);
}

TEST_F(task_service_test, reports_each_attempts_outcome_and_timings_to_the_server_monitor) {
    monitor::server_monitor m;
    add_pool("a");
    add_pool("b");
    start();
    svc->set_server_monitor(&m);
    task_spec s;
    s.task_id = "t1";
    s.model = "tiny";
    s.placement.prefer_pools = {"a"};
    auto t = submit(std::move(s));
    ASSERT_EQ(backend.opens.size(), 1u);
    backend.opens[0]->error("WORKER_RESET");  // before the first token: retried elsewhere
    run_for(opts.retry_base);
    ASSERT_EQ(backend.opens.size(), 2u);
    ASSERT_EQ(backend.opens[1]->where.pool_id, "b");
    run_for(50ms);
    backend.opens[1]->token("ok");
    poll();
    run_for(30ms);
    backend.opens[1]->end(1);
    poll();
    ASSERT_EQ(t->state, task_state::completed);
    auto a = m.view("", "a", {}, clock.now());
    EXPECT_EQ(a.failures_total, 1u);
    EXPECT_DOUBLE_EQ(a.error_rate, 1.0);
    EXPECT_FALSE(a.ttft_ewma_ms);
    auto b = m.view("", "b", {}, clock.now());
    EXPECT_EQ(b.requests_total, 1u);
    EXPECT_EQ(b.failures_total, 0u);
    // Timed from the attempt's start on b (after the retry's jittered backoff).
    const double ttft =
        std::chrono::duration<double, std::milli>(t->first_token - t->started).count();
    EXPECT_GE(ttft, 50.0);
    EXPECT_DOUBLE_EQ(*b.ttft_ewma_ms, ttft);
    EXPECT_DOUBLE_EQ(*b.e2e_ewma_ms, ttft + 30.0);
    // A cancelled task is not the server's failure.
    auto c = submit("t2");
    ASSERT_EQ(backend.opens.size(), 3u);
    svc->cancel("t2");
    poll();
    EXPECT_EQ(c->state, task_state::cancelled);
    const auto& where = backend.opens[2]->where.pool_id;
    auto v = m.view("", where, {}, clock.now());
    EXPECT_EQ(v.window_failures, where == "a" ? 1u : 0u);
    EXPECT_EQ(v.requests_total, 2u);  // counted, but not in the error window
}

TEST_F(task_service_test, gives_up_after_max_attempts) {
    opts.max_attempts = 2;
    add_pool("a");
    start();
    auto t = submit("t1");
    backend.opens[0]->error("WORKER_RESET");
    run_for(opts.retry_cap);
    ASSERT_EQ(backend.opens.size(), 2u);
    backend.opens[1]->error("WORKER_RESET");
    run_for(10s);
    EXPECT_EQ(backend.opens.size(), 2u);
    EXPECT_EQ(t->state, task_state::failed);
    EXPECT_EQ(t->error->code, api::error_code::worker_reset);
}

TEST_F(task_service_test, a_task_the_backend_refuses_on_a_pool_is_placed_elsewhere) {
    index.upsert_node("n1", "http://n1");
    index.upsert_node("n2", "http://n2");
    add_pool("p", 1, true, "n1");
    add_pool("p", 1, true, "n2");
    backend.index = &index;
    backend.refuse_nodes = {"n1"};  // its breaker's one trial is out
    start();
    task_spec s;
    s.task_id = "t1";
    s.model = "tiny";
    s.placement.prefer_pools = {"n1/p"};
    auto t = submit(std::move(s));
    ASSERT_EQ(backend.opens.size(), 1u);
    EXPECT_EQ(backend.opens[0]->where.node_id, "n2");
    EXPECT_EQ(t->attempts, 1) << "a refusal is no attempt";
}

TEST_F(task_service_test, a_queued_task_past_its_deadline_fails_with_deadline_unmet) {
    add_pool("a", 1, /*ready=*/false);
    start();
    task_spec s;
    s.task_id = "t1";
    s.model = "tiny";
    s.deadline = 1000ms;
    auto t = submit(std::move(s));
    run_for(999ms);
    EXPECT_EQ(t->state, task_state::queued);
    run_for(1ms);
    EXPECT_EQ(t->state, task_state::failed);
    ASSERT_TRUE(t->error);
    EXPECT_EQ(t->error->code, api::error_code::deadline_unmet);
    EXPECT_EQ(svc->queue_depth(), 0u);
    EXPECT_TRUE(backend.opens.empty());
}

TEST_F(task_service_test, a_task_whose_model_has_only_failed_or_drained_pools_fails_at_once) {
    placement::pool_state down;
    down.models = {"tiny"};
    down.engine = "llamacpp";
    down.down = true;  // failed
    index.upsert_pool("", "a", down);
    placement::pool_state drained = down;
    index.upsert_pool("", "b", drained);
    start();
    task_spec s;
    s.task_id = "t1";
    s.model = "tiny";
    auto r = svc->submit(std::move(s));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, api::error_code::pool_unavailable);
    EXPECT_EQ(r.error().http_status(), 503);
    EXPECT_NE(r.error().message.find("reload"), std::string::npos) << r.error().message;
    EXPECT_EQ(svc->queue_depth(), 0u);
}

TEST_F(task_service_test, a_pool_still_starting_keeps_its_models_tasks_waiting) {
    add_pool("a", 1, /*ready=*/false);  // provisioning or starting: not down
    placement::pool_state failed;
    failed.models = {"tiny"};
    failed.down = true;
    index.upsert_pool("", "b", failed);
    start();
    auto t = submit("t1");
    run_for(5s);
    EXPECT_EQ(t->state, task_state::queued);
}

TEST_F(task_service_test, queued_tasks_fail_when_the_last_pool_of_their_model_goes_down) {
    auto ref = add_pool("a", 1, /*ready=*/false);
    start();
    auto t1 = submit("t1");
    task_spec s;
    s.task_id = "t2";
    s.model = "tiny";
    s.placement.prefer_pools = {"a"};
    auto t2 = submit(std::move(s));
    run_for(1s);
    ASSERT_EQ(t1->state, task_state::queued);
    auto st = index.find(ref)->state;
    st.down = true;  // the pool failed
    index.update_pool(ref, st);
    svc->wake();
    poll();
    for (auto& t : {t1, t2}) {
        EXPECT_EQ(t->state, task_state::failed);
        ASSERT_TRUE(t->error);
        EXPECT_EQ(t->error->code, api::error_code::pool_unavailable);
    }
    EXPECT_EQ(svc->queue_depth(), 0u);
    EXPECT_TRUE(backend.opens.empty());
}

TEST_F(task_service_test, cancels_a_task_the_grace_after_its_last_reader_left) {
    opts.disconnect_grace = 2000ms;
    add_pool("a");
    start();
    auto t = submit("t1");
    auto reader = svc->open_events(t, std::nullopt);
    reader->on_disconnect();
    run_for(1999ms);
    EXPECT_EQ(t->state, task_state::running);
    run_for(1ms);
    EXPECT_EQ(t->state, task_state::cancelled);
    EXPECT_TRUE(backend.opens[0]->cancelled);
}

TEST_F(task_service_test, a_reader_back_within_the_grace_keeps_the_task) {
    opts.disconnect_grace = 2000ms;
    add_pool("a");
    start();
    auto t = submit("t1");
    svc->open_events(t, std::nullopt)->on_disconnect();
    run_for(1000ms);
    auto back = svc->open_events(t, std::nullopt);
    run_for(5s);
    EXPECT_EQ(t->state, task_state::running);
}

TEST_F(task_service_test, cancels_queued_and_running_tasks) {
    auto ref = add_pool("a");
    start();
    auto running = submit("t1");
    auto queued = submit("t2");
    EXPECT_EQ(running->state, task_state::running);
    EXPECT_EQ(queued->state, task_state::queued);
    EXPECT_EQ(svc->queue_position("t2"), 0u);

    ASSERT_TRUE(svc->cancel("t2"));
    EXPECT_EQ(queued->state, task_state::cancelled);
    EXPECT_FALSE(svc->queue_position("t2"));
    ASSERT_TRUE(svc->cancel("t1"));
    poll();
    EXPECT_EQ(running->state, task_state::cancelled);
    EXPECT_TRUE(backend.opens[0]->cancelled);
    EXPECT_EQ(index.find(ref)->in_flight, 0);
    EXPECT_TRUE(svc->cancel("t1")) << "cancel is idempotent";
    EXPECT_FALSE(svc->cancel("nope"));
    EXPECT_EQ(backend.opens.size(), 1u) << "the cancelled queued task never ran";
}

TEST_F(task_service_test, keeps_a_session_on_the_pool_of_its_last_turn) {
    add_pool("a", 4);
    add_pool("b", 4);
    start();
    submit("t1", "s");
    auto home = backend.opens[0]->where.pool_id;
    submit("t2", "other");  // round-robin moves on to the other pool
    EXPECT_NE(backend.opens[1]->where.pool_id, home);
    submit("t3", "s");
    EXPECT_EQ(backend.opens[2]->where.pool_id, home);
    auto* s = svc->session("s");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->turns, 2);
    EXPECT_EQ(s->pool_id, home);
}

TEST_F(task_service_test, forgets_finished_tasks_after_the_retention) {
    opts.retention = 10s;
    opts.sweep_interval = 1s;
    opts.session_ttl = 60s;
    add_pool("a");
    start();
    submit("t1");
    backend.opens[0]->end(0);
    poll();
    run_for(9s);
    EXPECT_NE(svc->find("t1"), nullptr);
    run_for(2s);
    EXPECT_EQ(svc->find("t1"), nullptr);
    EXPECT_NE(svc->session("session-t1"), nullptr);
    run_for(60s);
    EXPECT_EQ(svc->session("session-t1"), nullptr);
}

TEST_F(task_service_test, keeps_a_finished_task_while_it_is_read) {
    opts.retention = 10s;
    opts.sweep_interval = 1s;
    add_pool("a");
    start();
    auto t = submit("t1");
    backend.opens[0]->end(0);
    poll();
    auto reader = svc->open_events(t, std::nullopt);
    run_for(30s);
    EXPECT_NE(svc->find("t1"), nullptr);
    reader.reset();
    run_for(2s);
    EXPECT_EQ(svc->find("t1"), nullptr);
}

TEST_F(task_service_test, stop_ends_queued_tasks_and_waits_for_running_ones) {
    add_pool("a");
    start();
    auto running = submit("t1");
    auto queued = submit("t2");
    bool stopped = false;
    asio::co_spawn(io, svc->stop(5000ms), [&](std::exception_ptr) { stopped = true; });
    poll();
    EXPECT_EQ(queued->state, task_state::failed);
    EXPECT_FALSE(svc->admitting());
    run_for(4s);
    EXPECT_FALSE(stopped);
    EXPECT_EQ(running->state, task_state::running);
    run_for(1s);
    EXPECT_TRUE(stopped);
    EXPECT_EQ(running->state, task_state::cancelled);
}

// Retry-After after an idle hour: tasks that held their slot 0.6 s each, then nothing for an hour,
// then a burst onto the full queue. The hint is the queue's length over the recent completion
// rate (2 slots / 0.6 s), not a rate decayed by the idle hour.
TEST_F(task_service_test, retry_after_of_a_full_queue_ignores_an_idle_period) {
    opts.admission.capacity = 6;
    opts.rate.max_retry = 30'000ms;
    add_pool("a", 2);
    start();
    int n = 0;
    auto burst = [&](int count) {
        std::vector<std::shared_ptr<task>> out;
        for (int i = 0; i < count; ++i) out.push_back(submit("t" + std::to_string(n++)));
        return out;
    };
    // Eight tasks, two at a time, 0.6 s each.
    auto first = burst(8);
    for (size_t i = 0; i < first.size(); ++i) {
        run_for(600ms);
        for (auto& g : backend.opens)
            if (!g->closed && g->events.empty()) g->end(1);
        poll();
    }
    for (auto& t : first) ASSERT_EQ(t->state, task_state::completed);

    run_for(std::chrono::hours(1));
    auto second = burst(8);  // 2 running, 6 queued: the queue is full
    task_spec s;
    s.task_id = "over";
    s.model = "tiny";
    auto r = svc->submit(std::move(s));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, api::error_code::admission_reject);
    ASSERT_TRUE(r.error().retry_after_ms);
    const double expected_ms = 6 / (2 / 0.6) * 1000.0;  // 1.8 s
    EXPECT_NEAR(static_cast<double>(*r.error().retry_after_ms), expected_ms, 50.0);
    EXPECT_LE(*r.error().retry_after_ms, 30'000);
}

}  // namespace
}  // namespace llorch::orchestrator
