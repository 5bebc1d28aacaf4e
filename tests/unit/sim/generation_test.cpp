#include "sim/generation.h"

#include <exception>
#include <optional>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "sim/sim_engine.h"

namespace llorch::sim {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;

// Zero latencies make every token due at once, so nothing here waits on the clock; a one-hour
// inter-token latency holds the second token back for the length of any test.
class generation_test : public ::testing::Test {
  protected:
    std::shared_ptr<sim_engine> engine(int slots, std::chrono::microseconds itl = 0us,
                                       long long crash_after = 0) {
        sim_config c;
        c.slots = slots;
        c.ttft = latency_model::fixed(0us);
        c.itl = latency_model::fixed(itl);
        c.crash_after_tokens = crash_after;
        return std::make_shared<sim_engine>(io_, c, 0, 0);  // never started: no socket
    }
    std::shared_ptr<generation> start(const std::shared_ptr<sim_engine>& e, int tokens,
                                      int hang_after = -1) {
        generation::plan p;
        p.tokens = tokens;
        p.hang_after = hang_after;
        auto g = std::make_shared<generation>(e, p);
        g->start();
        return g;
    }
    // One advance() that does not wait: what is due now, or an empty step.
    generation::step poll(const std::shared_ptr<generation>& g) {
        std::optional<generation::step> out;
        asio::co_spawn(io_, g->advance(0ms), [&](std::exception_ptr ex, generation::step s) {
            if (ex) std::rethrow_exception(ex);
            out = s;
        });
        io_.restart();
        io_.run();
        return out.value();
    }
    asio::io_context io_;
};

TEST_F(generation_test, produces_all_due_tokens_and_finishes) {
    auto e = engine(1);
    auto g = start(e, 3);
    auto s = poll(g);
    EXPECT_EQ(s.first, 0);
    EXPECT_EQ(s.count, 3);
    EXPECT_TRUE(s.finished);
    EXPECT_TRUE(poll(g).gone);
    EXPECT_EQ(e->slots().busy(), 0);
    EXPECT_EQ(g->summary().tokens_predicted, 3);
}

TEST_F(generation_test, paces_tokens_by_the_inter_token_latency) {
    auto e = engine(1, std::chrono::hours(1));
    auto g = start(e, 5);
    auto s = poll(g);
    EXPECT_EQ(s.count, 1);
    EXPECT_FALSE(s.finished);
    auto later = poll(g);
    EXPECT_EQ(later.count, 0);
    EXPECT_FALSE(later.finished);
    EXPECT_FALSE(later.gone);
}

TEST_F(generation_test, waits_in_fifo_until_a_slot_frees) {
    auto e = engine(1);
    auto a = start(e, 2);
    auto b = start(e, 2);
    auto c = start(e, 2);
    EXPECT_EQ(e->slots().waiting(), 2u);
    EXPECT_EQ(poll(b).count, 0);
    EXPECT_EQ(poll(c).count, 0);
    EXPECT_TRUE(poll(a).finished);
    EXPECT_EQ(poll(c).count, 0);  // b came first
    EXPECT_TRUE(poll(b).finished);
    EXPECT_TRUE(poll(c).finished);
}

TEST_F(generation_test, cancel_frees_the_slot_at_once) {
    auto e = engine(1, std::chrono::hours(1));
    auto a = start(e, 100);
    auto b = start(e, 100);
    EXPECT_EQ(poll(a).count, 1);
    a->cancel();
    EXPECT_TRUE(poll(a).gone);
    EXPECT_EQ(e->slots().busy(), 1);
    EXPECT_EQ(e->slots().waiting(), 0u);
    EXPECT_EQ(poll(b).count, 1);
}

TEST_F(generation_test, cancel_while_queued_leaves_the_queue) {
    auto e = engine(1, std::chrono::hours(1));
    auto a = start(e, 100);
    auto b = start(e, 100);
    b->cancel();
    EXPECT_EQ(e->slots().waiting(), 0u);
    a->cancel();
    EXPECT_EQ(e->slots().busy(), 0);
}

TEST_F(generation_test, dropping_a_generation_releases_its_slot) {
    auto e = engine(1);
    {
        auto a = start(e, 100);
        EXPECT_EQ(e->slots().busy(), 1);
    }
    EXPECT_EQ(e->slots().busy(), 0);
}

TEST_F(generation_test, hangs_after_the_planned_tokens_keeping_its_slot) {
    auto e = engine(1);
    auto g = start(e, 10, 2);
    auto s = poll(g);
    EXPECT_EQ(s.count, 2);
    EXPECT_FALSE(s.finished);
    auto idle = poll(g);
    EXPECT_EQ(idle.count, 0);
    EXPECT_FALSE(idle.finished || idle.gone);
    EXPECT_EQ(e->slots().busy(), 1);
    g->cancel();
    EXPECT_EQ(e->slots().busy(), 0);
}

TEST_F(generation_test, zero_tokens_finishes_empty) {
    auto e = engine(1);
    auto g = start(e, 0);
    auto s = poll(g);
    EXPECT_EQ(s.count, 0);
    EXPECT_TRUE(s.finished);
}

TEST_F(generation_test, crash_fault_sends_the_last_token_then_exits) {
    auto e = engine(1, 0us, 2);
    auto g = start(e, 5);
    auto s = poll(g);
    EXPECT_EQ(s.count, 2);
    EXPECT_FALSE(s.finished);
    EXPECT_EXIT(poll(g), ::testing::ExitedWithCode(1), "crash fault");
}

}  // namespace
}  // namespace llorch::sim
