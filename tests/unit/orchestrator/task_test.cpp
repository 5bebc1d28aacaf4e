// A task's event log and its readers: replay from the start, resume after Last-Event-ID, wake on
// new frames, end after the terminal frame, and reader accounting for the disconnect grace.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>

#include "orchestrator/task.h"
#include "poll_ready.h"

namespace llorch::orchestrator {
namespace {
using namespace std::chrono_literals;

const std::string started = "event: started\ndata: {}\n\n";
const std::string end_frame = "event: end\ndata: {\"tokens_out\":3}\n\n";
std::string token(int i) { return token_frame("w" + std::to_string(i), i); }

using testing::poll;

// A pending next() of a reader, run on `io` by poll() only: nothing here waits for real time.
struct pending_next {
    bool done = false;
    std::optional<std::string> value;
};

std::shared_ptr<pending_next> start_next(asio::io_context& io, task_reader& r,
                                         std::chrono::milliseconds max_wait = 1h) {
    auto p = std::make_shared<pending_next>();
    asio::co_spawn(io, r.next(max_wait), [p](std::exception_ptr e, std::optional<std::string> v) {
        if (e) std::rethrow_exception(e);
        p->done = true;
        p->value = std::move(v);
    });
    poll(io);
    return p;
}

class task_log : public ::testing::Test {
  protected:
    void SetUp() override { t = std::make_shared<task>(io); }
    // started, tokens 0..2, end; completed.
    void fill_completed() {
        t->state = task_state::running;
        t->append(started);
        for (int i = 0; i < 3; ++i) t->append(token(i), i);
        t->append(end_frame);
        t->state = task_state::completed;
        t->notify();
    }
    // Everything the reader yields until its end.
    std::string drain(task_reader& r) {
        std::string out;
        for (int k = 0; k < 100; ++k) {
            auto p = start_next(io, r);
            EXPECT_TRUE(p->done) << "the reader waits although the task has ended";
            if (!p->done || !p->value) return out;
            out += *p->value;
        }
        ADD_FAILURE() << "the reader never ended";
        return out;
    }
    task_reader reader(std::optional<long long> last = std::nullopt) {
        return task_reader(t, last, [this](task&) { ++gone_calls; });
    }

    asio::io_context io;
    std::shared_ptr<task> t;
    int gone_calls = 0;
};

TEST_F(task_log, a_late_reader_gets_every_frame_then_the_end) {
    fill_completed();
    auto r = reader();
    EXPECT_EQ(drain(r), started + token(0) + token(1) + token(2) + end_frame);
}

TEST_F(task_log, last_event_id_resumes_right_after_that_token) {
    fill_completed();
    auto r1 = reader(1);
    EXPECT_EQ(drain(r1), token(2) + end_frame);
    auto r2 = reader(2);
    EXPECT_EQ(drain(r2), end_frame);
    auto r0 = reader(0);
    EXPECT_EQ(drain(r0), token(1) + token(2) + end_frame);
}

TEST_F(task_log, a_last_event_id_that_names_no_token_replays_from_the_start) {
    fill_completed();
    for (long long id : {-1LL, -2LL, 3LL, 99LL}) {
        SCOPED_TRACE(id);
        auto r = reader(id);
        EXPECT_EQ(drain(r), started + token(0) + token(1) + token(2) + end_frame);
    }
}

TEST_F(task_log, a_waiting_reader_is_woken_by_each_new_frame_and_ends_with_the_task) {
    t->state = task_state::running;
    t->append(started);
    auto r = reader();
    auto first = start_next(io, r);
    ASSERT_TRUE(first->done);
    EXPECT_EQ(first->value, started);

    auto waiting = start_next(io, r);
    EXPECT_FALSE(waiting->done) << "nothing new yet: the reader must wait";
    t->append(token(0), 0);
    poll(io);
    ASSERT_TRUE(waiting->done);
    EXPECT_EQ(waiting->value, token(0));

    auto last = start_next(io, r);
    EXPECT_FALSE(last->done);
    t->append(end_frame);
    t->state = task_state::completed;
    t->notify();
    poll(io);
    ASSERT_TRUE(last->done);
    EXPECT_EQ(last->value, end_frame);
    auto after = start_next(io, r);
    ASSERT_TRUE(after->done);
    EXPECT_FALSE(after->value) << "nothing follows the terminal frame";
}

TEST_F(task_log, a_quiet_task_gives_its_reader_an_empty_chunk_for_a_keepalive) {
    t->state = task_state::running;
    auto r = reader();
    auto p = start_next(io, r, 0ms);
    io.restart();
    io.run_one_for(1s);  // the zero timer's completion
    ASSERT_TRUE(p->done);
    ASSERT_TRUE(p->value);
    EXPECT_EQ(*p->value, "");
}

TEST_F(task_log, readers_are_counted_and_the_last_one_leaving_is_reported_once) {
    t->state = task_state::running;
    {
        auto a = reader();
        EXPECT_EQ(t->readers, 1);
        EXPECT_TRUE(t->ever_read);
        {
            auto b = reader();
            EXPECT_EQ(t->readers, 2);
        }
        EXPECT_EQ(t->readers, 1);
        EXPECT_EQ(gone_calls, 1);
        a.on_disconnect();
        EXPECT_EQ(t->readers, 0);
        EXPECT_EQ(gone_calls, 2);
        auto p = start_next(io, a);
        ASSERT_TRUE(p->done);
        EXPECT_FALSE(p->value) << "a disconnected reader yields nothing more";
    }
    EXPECT_EQ(t->readers, 0) << "a disconnected reader is not counted again when destroyed";
    EXPECT_EQ(gone_calls, 2);
}

TEST_F(task_log, a_disconnect_wakes_a_waiting_reader) {
    t->state = task_state::running;
    auto r = reader();
    auto p = start_next(io, r);
    EXPECT_FALSE(p->done);
    r.on_disconnect();
    poll(io);
    ASSERT_TRUE(p->done);
    EXPECT_FALSE(p->value);
}

TEST_F(task_log, a_new_reader_stops_the_disconnect_grace_timer) {
    t->state = task_state::running;
    t->grace_timer = std::make_unique<asio::steady_timer>(io, 1h);
    boost::system::error_code fired{};
    bool called = false;
    t->grace_timer->async_wait([&](boost::system::error_code ec) {
        called = true;
        fired = ec;
    });
    auto r = reader();
    poll(io);
    ASSERT_TRUE(called);
    EXPECT_EQ(fired, asio::error::operation_aborted);
}

TEST(token_frames, carry_the_index_as_event_id_and_the_text_escaped) {
    EXPECT_EQ(token_frame("a\"b\n", 7),
              "id: 7\nevent: token\ndata: {\"t\":\"a\\\"b\\n\",\"i\":7}\n\n");
}

TEST(token_frames, give_back_the_escaped_text_of_their_data) {
    auto f = token_frame("say \"hi\",\"i\":", 12);
    auto data = f.substr(f.find("data: ") + 6);
    data = data.substr(0, data.find('\n'));
    auto t = token_frame_text(data);
    ASSERT_TRUE(t);
    EXPECT_EQ(*t, "say \\\"hi\\\",\\\"i\\\":");
    EXPECT_EQ(token_frame_text("{\"t\":\"\",\"i\":0}"), std::string_view{});
}

TEST(token_frames, refuse_data_of_another_shape) {
    EXPECT_FALSE(token_frame_text("{\"tokens_out\":3}"));
    EXPECT_FALSE(token_frame_text("{\"t\":\"x\"}"));
    EXPECT_FALSE(token_frame_text("{\"t\":\"x\",\"i\":1"));
    EXPECT_FALSE(token_frame_text(""));
}

}  // namespace
}  // namespace llorch::orchestrator
