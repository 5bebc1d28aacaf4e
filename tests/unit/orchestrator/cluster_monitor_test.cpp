// The cluster monitor over a task service with a fake pool backend, on virtual time: a reader's
// snapshot, the task events as tasks move, pool changes from the listing, the stats tick with
// progress, the cut-off of a reader that fell out of the log, and readers that leave.
#include "orchestrator/cluster_monitor.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>

#include "fake_pool_backend.h"
#include "http/sse.h"
#include "orchestrator/task_service.h"

namespace llorch::orchestrator {
namespace {
using namespace std::chrono_literals;
namespace json = boost::json;

// Pools as a listing shows them; the test edits them.
class fake_pool_admin final : public pool::pool_admin {
  public:
    std::vector<pool::pool_view> views;
    std::vector<pool::pool_view> list() const override { return views; }
    asio::awaitable<api::api_result<pool::pool_view>> status(std::string) override {
        co_return api::make_error(api::error_code::not_found, "no");
    }
    asio::awaitable<api::api_result<pool::pool_view>> drain(std::string,
                                                            std::chrono::milliseconds) override {
        co_return api::make_error(api::error_code::not_found, "no");
    }
    asio::awaitable<api::api_result<pool::pool_view>> reload(std::string, std::string) override {
        co_return api::make_error(api::error_code::not_found, "no");
    }
    bool files_here() const override { return true; }
};

class cluster_monitor_test : public ::testing::Test {
  protected:
    common::manual_clock clock;
    asio::io_context io;
    placement::placement_index index;
    testing::fake_pool_backend backend{io};
    common::metrics_registry metrics;
    std::unique_ptr<task_service> svc;
    std::shared_ptr<fake_pool_admin> pools = std::make_shared<fake_pool_admin>();
    std::unique_ptr<cluster_monitor> mon;

    void SetUp() override {
        placement::pool_state st;
        st.models = {"tiny"};
        st.engine = "llamacpp";
        st.ready = true;
        st.slots_total = 1;
        st.slots_free = 1;
        index.upsert_pool("", "a", st);
        pool::pool_view v;
        v.pool.id = "a";
        v.pool.name = "tiny";
        v.pool.device = "cpu";
        v.pool.state = pool::pool_state::ready;
        v.pool.slots_total = 1;
        v.pool.slots_free = 1;
        pools->views = {v};
        svc = std::make_unique<task_service>(io, service_options{}, index, backend, metrics, clock);
        mon = std::make_unique<cluster_monitor>(
            io, cluster_monitor_options{.log = {.max_events = 8}}, *svc, nullptr, clock);
        mon->set_pools(pools);
        svc->set_observer(mon.get());
        svc->start();
        mon->start();
        poll();
    }
    void TearDown() override {
        svc->set_observer(nullptr);
        bool done = false;
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                co_await mon->stop();
                co_await svc->stop(0ms);
                done = true;
            },
            asio::detached);
        for (int i = 0; i < 100 && !done; ++i) io.run_one_for(10ms);
    }
    void poll() {
        io.restart();
        io.poll();
    }
    std::shared_ptr<task> submit(const std::string& id) {
        task_spec s;
        s.task_id = id;
        s.session_id = "s-" + id;
        s.model = "tiny";
        s.generation.prompt = "hello";
        auto r = svc->submit(std::move(s));
        EXPECT_TRUE(r);
        poll();
        return r ? r->t : nullptr;
    }
    // Everything the reader has now, parsed; `ended` says whether its stream ended.
    std::vector<http::sse_event> pull(http::body_stream& r, bool* ended = nullptr) {
        std::vector<http::sse_event> out;
        http::sse_parser p;
        for (;;) {
            std::optional<std::optional<std::string>> got;
            asio::co_spawn(io, r.next(0ms), [&](std::exception_ptr, std::optional<std::string> c) {
                got = std::move(c);
            });
            for (int i = 0; i < 100 && !got; ++i) io.run_one_for(10ms);
            if (!got || !*got) {
                if (ended) *ended = true;
                return out;
            }
            if ((*got)->empty()) return out;  // nothing more for now
            p.feed(**got, out);
        }
    }
    static json::object data(const http::sse_event& e) { return json::parse(e.data).as_object(); }
    static const http::sse_event* find(const std::vector<http::sse_event>& ev,
                                       const std::string& type) {
        for (const auto& e : ev)
            if (e.event == type) return &e;
        return nullptr;
    }
};

TEST_F(cluster_monitor_test, a_reader_starts_with_a_snapshot_of_pools_queue_and_running_tasks) {
    auto t = submit("t1");
    ASSERT_EQ(t->state, task_state::running);
    auto r = mon->open();
    auto ev = pull(*r);
    ASSERT_FALSE(ev.empty());
    EXPECT_EQ(ev[0].event, "snapshot");
    auto s = data(ev[0]);
    EXPECT_EQ(s.at("profile").as_string(), "home");
    ASSERT_EQ(s.at("pools").as_array().size(), 1u);
    auto p = s.at("pools").as_array()[0].as_object();
    EXPECT_EQ(p.at("id").as_string(), "a");
    EXPECT_EQ(p.at("state").as_string(), "ready");
    EXPECT_EQ(p.at("device").as_string(), "cpu");
    ASSERT_EQ(s.at("running").as_array().size(), 1u);
    EXPECT_EQ(s.at("running").as_array()[0].at("task_id").as_string(), "t1");
    EXPECT_EQ(s.at("queue").at("total").as_int64(), 0);
    EXPECT_EQ(mon->readers(), 1u);
}

TEST_F(cluster_monitor_test, a_pool_shows_the_mean_utilization_of_its_gpus_where_known) {
    auto& v = pools->views[0];
    v.pool.gpus = {gpu::gpu_info{.index = 0, .utilization = 0.5},
                   gpu::gpu_info{.index = 1, .utilization = 1.0}, gpu::gpu_info{.index = 2}};
    auto r = mon->open();
    auto ev = pull(*r);
    ASSERT_FALSE(ev.empty());
    auto p = data(ev[0]).at("pools").as_array()[0].as_object();
    EXPECT_DOUBLE_EQ(p.at("gpu_util_percent").to_number<double>(), 75.0);
}

TEST_F(cluster_monitor_test, task_events_follow_a_task_from_queue_to_its_end) {
    auto r = mon->open();
    pull(*r);
    auto t = submit("t1");
    auto q = submit("t2");  // waits: the pool has one slot
    auto ev = pull(*r);
    auto* queued = find(ev, "task_queued");
    ASSERT_NE(queued, nullptr);
    EXPECT_EQ(data(*queued).at("task_id").as_string(), "t1");
    auto* started = find(ev, "task_started");
    ASSERT_NE(started, nullptr);
    EXPECT_EQ(data(*started).at("pool").as_string(), "a");
    auto* queue = find(ev, "queue");
    ASSERT_NE(queue, nullptr);
    ASSERT_EQ(backend.opens.size(), 1u);
    auto& g = *backend.opens[0];
    clock.advance(40ms);
    g.token("a");
    g.token("b");
    g.end(2);
    poll();
    ev = pull(*r);
    auto* ended = find(ev, "task_ended");
    ASSERT_NE(ended, nullptr);
    auto e = data(*ended);
    EXPECT_EQ(e.at("task_id").as_string(), "t1");
    EXPECT_EQ(e.at("outcome").as_string(), "completed");
    EXPECT_EQ(e.at("tokens").as_int64(), 2);
    EXPECT_DOUBLE_EQ(e.at("ttft_ms").to_number<double>(), 40);
    EXPECT_TRUE(e.at("error_code").is_null());
    // The queued one got the slot; cancelling it is an end with its code, not an error listed.
    svc->cancel("t2");
    poll();
    ev = pull(*r);
    bool saw_cancel = false;
    for (const auto& x : ev)
        if (x.event == "task_ended" && data(x).at("task_id").as_string() == "t2") {
            saw_cancel = true;
            EXPECT_EQ(data(x).at("error_code").as_string(), "CANCELLED");
        }
    EXPECT_TRUE(saw_cancel);
    EXPECT_TRUE(mon->view().errors().empty());
}

TEST_F(cluster_monitor_test, with_no_reader_tasks_are_tracked_but_no_frame_is_encoded) {
    auto before = mon->frames_logged();
    submit("quiet");
    ASSERT_EQ(backend.opens.size(), 1u);
    EXPECT_EQ(mon->frames_logged(), before) << "frames written for nobody";
    EXPECT_EQ(mon->view().running().count("quiet"), 1u);
    // A reader that comes now sees the running task in its snapshot and its end as an event.
    auto r = mon->open();
    auto snap = pull(*r);
    auto* s = find(snap, "snapshot");
    ASSERT_NE(s, nullptr);
    EXPECT_NE(s->data.find("quiet"), std::string::npos) << s->data;
    backend.opens[0]->end(0);
    poll();
    auto ev = pull(*r);
    auto* ended = find(ev, "task_ended");
    ASSERT_NE(ended, nullptr);
    EXPECT_EQ(data(*ended).at("task_id").as_string(), "quiet");
}

TEST_F(cluster_monitor_test, a_failed_task_is_listed_with_its_code) {
    auto r = mon->open();
    pull(*r);
    submit("t1");
    // An error the engine reports after the first token ends the task (no retry).
    backend.opens[0]->token("x");
    backend.opens[0]->error("WORKER_RESET");
    poll();
    ASSERT_EQ(mon->view().errors().size(), 1u);
    // After the first token a reset is reported as UPSTREAM_FAILED (task_runner).
    EXPECT_EQ(mon->view().errors().front().code, "UPSTREAM_FAILED");
    EXPECT_EQ(mon->view().errors().front().task_id, "t1");
    auto ev = pull(*r);
    auto* ended = find(ev, "task_ended");
    ASSERT_NE(ended, nullptr);
    EXPECT_EQ(data(*ended).at("outcome").as_string(), "failed");
}

TEST_F(cluster_monitor_test, a_tick_sends_stats_with_progress_and_pool_changes) {
    auto r = mon->open();
    pull(*r);
    submit("t1");
    auto& g = *backend.opens[0];
    g.token("a");
    g.token("b");
    g.token("c");
    poll();
    pools->views[0].pool.state = pool::pool_state::draining;
    mon->tick();
    auto ev = pull(*r);
    auto* pool = find(ev, "pool");
    ASSERT_NE(pool, nullptr);
    EXPECT_EQ(data(*pool).at("state").as_string(), "draining");
    auto* stats = find(ev, "stats");
    ASSERT_NE(stats, nullptr);
    auto s = data(*stats);
    EXPECT_GT(s.at("tokens_per_s").to_number<double>(), 0);
    ASSERT_EQ(s.at("running_tasks").as_array().size(), 1u);
    EXPECT_EQ(s.at("running_tasks").as_array()[0].at("tokens").as_int64(), 3);
    EXPECT_EQ(s.at("running").as_int64(), 1);
}

TEST_F(cluster_monitor_test, a_reader_that_falls_out_of_the_log_is_cut_off) {
    auto& cut = metrics.counter("sse_slow_readers_cut_total", "cut");
    mon->count_cut_readers(&cut);
    auto slow = mon->open();
    pull(*slow);
    for (int i = 0; i < 20; ++i) mon->tick();  // more than the log's 8 events
    bool ended = false;
    auto ev = pull(*slow, &ended);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].event, "cut_off");
    EXPECT_EQ(data(ev[0]).at("code").as_string(), "READER_BEHIND");
    EXPECT_TRUE(slow->ended() || ended);
    EXPECT_EQ(mon->readers(), 0u);
    EXPECT_EQ(cut.Value(), 1.0);
}

TEST_F(cluster_monitor_test, a_departed_reader_costs_nothing_and_listings_stop) {
    auto r = mon->open();
    pull(*r);
    EXPECT_EQ(mon->readers(), 1u);
    r->on_disconnect();
    bool ended = false;
    pull(*r, &ended);
    EXPECT_TRUE(ended);
    EXPECT_EQ(mon->readers(), 0u);
    // With nobody reading, a pool change is not even read from the listing.
    pools->views[0].pool.state = pool::pool_state::draining;
    mon->tick();
    EXPECT_EQ(mon->view().pools().at("a").state, "ready");
}

TEST_F(cluster_monitor_test, stop_ends_every_reader) {
    auto r = mon->open();
    pull(*r);
    bool done = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            co_await mon->stop();
            done = true;
        },
        asio::detached);
    for (int i = 0; i < 100 && !done; ++i) io.run_one_for(10ms);
    bool ended = false;
    pull(*r, &ended);
    EXPECT_TRUE(ended);
}

}  // namespace
}  // namespace llorch::orchestrator
