// The circuit breaker as cloud_backend enforces it, against a node stand-in on loopback: after
// the cool-down exactly one trial request may go to the node; its failure opens the breaker for
// another cool-down, its success closes it. Cool-downs run on a manual clock.
#include "orchestrator/cloud_backend.h"

#include <gtest/gtest.h>

#include <deque>

#include <boost/asio/co_spawn.hpp>

#include "http/server.h"
#include "registry/node_registry.h"

namespace llorch::orchestrator {
namespace {
using namespace std::chrono_literals;
namespace asio = boost::asio;

class cloud_backend_test : public ::testing::Test {
  protected:
    common::manual_clock clock;
    asio::io_context io;
    placement::placement_index index;
    registry::node_registry registry{{}, index, clock.now()};
    std::deque<int> answers;  // the node's status for each infer request, in order
    int requests = 0;
    std::unique_ptr<http::server> node;
    std::unique_ptr<cloud_backend> backend;
    placement::pool_ref ref;
    placement::placement_decision where;

    void SetUp() override {
        http::router routes;
        routes.add("POST", "/v2/pools/{id}/infer", [this](http::request) { return answer(); });
        node = std::make_unique<http::server>(io, http::server_options{}, std::move(routes));
        ASSERT_TRUE(node->start());
        auto address = "http://127.0.0.1:" + std::to_string(node->port());
        index.upsert_node("n1", address);
        placement::pool_state st;
        st.models = {"tiny"};
        st.ready = true;
        st.slots_total = 8;
        st.slots_free = 8;
        ref = index.upsert_pool("n1", "p", st);
        where = {.node_id = "n1", .pool_id = "p", .node_address = address, .pool = ref};
        cloud_options co;
        co.breaker = {.failure_threshold = 1, .cool_down = 5s};
        backend = std::make_unique<cloud_backend>(io, co, registry, index, clock);
    }

    asio::awaitable<http::response> answer() {
        ++requests;
        int status = answers.empty() ? 500 : answers.front();
        if (!answers.empty()) answers.pop_front();
        if (status == 200) co_return http::response::text(200, "", "text/event-stream");
        co_return http::response::json(status, R"({"code":"INTERNAL","message":"scripted"})");
    }

    // One request to the node through the backend, run to its answer (real loopback I/O).
    bool open_once() {
        std::optional<bool> ok;
        asio::co_spawn(io, backend->open(where, {}), [&](std::exception_ptr e, auto r) {
            if (e) std::rethrow_exception(e);
            ok = r.has_value();
        });
        auto give_up = std::chrono::steady_clock::now() + 10s;
        while (!ok && std::chrono::steady_clock::now() < give_up) {
            io.restart();
            io.run_one_for(10ms);
        }
        EXPECT_TRUE(ok) << "no answer from the node stand-in";
        return ok.value_or(false);
    }
    void advance(common::clock::duration d) {
        clock.advance(d);
        io.restart();
        io.poll();
    }
    bool out_of_placement() const { return index.find(ref)->breaker_open; }
};

TEST_F(cloud_backend_test, lets_exactly_one_trial_through_after_the_cool_down) {
    EXPECT_TRUE(backend->admit(where));
    EXPECT_FALSE(open_once());  // 500: the breaker opens (threshold 1)
    EXPECT_TRUE(out_of_placement());

    advance(4999ms);
    EXPECT_TRUE(out_of_placement());
    advance(1ms);
    EXPECT_FALSE(out_of_placement()) << "half-open: placement may pick the node for the trial";

    EXPECT_TRUE(backend->admit(where));  // the trial
    EXPECT_TRUE(out_of_placement()) << "the trial is out: nothing else goes to the node";
    EXPECT_FALSE(backend->admit(where));
    EXPECT_FALSE(backend->admit(where));
}

TEST_F(cloud_backend_test, a_failed_trial_opens_the_breaker_for_another_cool_down) {
    EXPECT_FALSE(open_once());
    advance(5s);
    ASSERT_TRUE(backend->admit(where));
    int before = requests;
    EXPECT_FALSE(open_once());  // the trial fails
    EXPECT_EQ(requests, before + 1);
    EXPECT_TRUE(out_of_placement());
    EXPECT_FALSE(backend->admit(where));
    advance(4999ms);
    EXPECT_TRUE(out_of_placement());
    advance(1ms);
    EXPECT_FALSE(out_of_placement());
    EXPECT_TRUE(backend->admit(where));
}

TEST_F(cloud_backend_test, a_successful_trial_closes_the_breaker) {
    EXPECT_FALSE(open_once());
    advance(5s);
    ASSERT_TRUE(backend->admit(where));
    answers = {200};
    EXPECT_TRUE(open_once());
    EXPECT_FALSE(out_of_placement());
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(backend->admit(where)) << "closed: no limit";
    EXPECT_FALSE(out_of_placement());
}

TEST_F(cloud_backend_test, a_trial_whose_outcome_never_comes_is_given_up_after_a_cool_down) {
    EXPECT_FALSE(open_once());
    advance(5s);
    ASSERT_TRUE(backend->admit(where));  // and never opened
    advance(4999ms);
    EXPECT_TRUE(out_of_placement());
    EXPECT_FALSE(backend->admit(where));
    advance(1ms);
    EXPECT_FALSE(out_of_placement());
    EXPECT_TRUE(backend->admit(where)) << "a new trial";
}

}  // namespace
}  // namespace llorch::orchestrator
