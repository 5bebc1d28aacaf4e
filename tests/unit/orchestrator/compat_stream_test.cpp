// A task's events as an OpenAI stream: the frames a reader finds ready go out together in one
// chunk (one write), in order, and the stream still ends with the closing chunk and [DONE].
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>

#include "orchestrator/compat_stream.h"
#include "orchestrator/task.h"
#include "poll_ready.h"

namespace llorch::orchestrator {
namespace {
using namespace std::chrono_literals;

// A next() of the stream, run by poll() only (nothing here waits for real time): `done` once it
// returned.
struct pending {
    bool done = false;
    std::optional<std::string> value;
};

using testing::poll;

std::shared_ptr<pending> start_next(asio::io_context& io, http::body_stream& s) {
    auto p = std::make_shared<pending>();
    asio::co_spawn(io, s.next(1h), [p](std::exception_ptr e, std::optional<std::string> v) {
        if (e) std::rethrow_exception(e);
        p->done = true;
        p->value = std::move(v);
    });
    poll(io);
    return p;
}

size_t count(const std::string& s, std::string_view what) {
    size_t n = 0;
    for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
}

TEST(compat_stream, the_frames_ready_together_go_out_in_one_chunk_in_order) {
    asio::io_context io;
    auto t = std::make_shared<task>(io);
    t->state = task_state::running;
    t->append("event: started\ndata: {}\n\n");
    for (int i = 0; i < 3; ++i) t->append(token_frame("w" + std::to_string(i), i), i);
    auto reader = std::make_shared<task_reader>(t, std::nullopt, nullptr);
    compat_ctx c{dialect::openai_text, "cmpl-1", "tiny"};
    auto s = make_compat_stream(c, reader);

    auto first = start_next(io, *s);
    ASSERT_TRUE(first->done && first->value);
    const auto& chunk = *first->value;
    EXPECT_EQ(count(chunk, "data: "), 3u) << chunk;
    auto w0 = chunk.find("\"text\":\"w0\""), w1 = chunk.find("\"text\":\"w1\""),
         w2 = chunk.find("\"text\":\"w2\"");
    ASSERT_NE(w2, std::string::npos) << chunk;
    EXPECT_LT(w0, w1);
    EXPECT_LT(w1, w2);
    EXPECT_FALSE(s->ended());

    // Nothing ready: the stream waits for the next frame, then ends with the closing chunk.
    auto next = start_next(io, *s);
    EXPECT_FALSE(next->done) << "a chunk although no frame was ready";
    t->append(token_frame("w3", 3), 3);
    t->append("event: end\ndata: {\"tokens_out\":4,\"finish_reason\":\"length\"}\n\n");
    t->state = task_state::completed;
    t->notify();
    poll(io);
    ASSERT_TRUE(next->done && next->value);
    EXPECT_EQ(count(*next->value, "data: "), 3u) << *next->value;  // w3, the closing chunk, [DONE]
    EXPECT_NE(next->value->find("\"text\":\"w3\""), std::string::npos);
    EXPECT_NE(next->value->find("\"finish_reason\":\"length\""), std::string::npos);
    EXPECT_TRUE(next->value->ends_with("data: [DONE]\n\n"));
    EXPECT_TRUE(s->ended());
    auto after = start_next(io, *s);
    EXPECT_TRUE(after->done && !after->value);
}

}  // namespace
}  // namespace llorch::orchestrator
