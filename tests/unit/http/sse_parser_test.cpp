#include <gtest/gtest.h>

#include "http/sse.h"

using namespace llorch::http;

namespace {

const std::string stream =
    ": keep-alive\r\n"
    "event: token\r\n"
    "id: 7\r\n"
    "data: {\"t\":\"a\"}\r\n"
    "\r\n"
    "data: line one\n"
    "data: line two\n"
    "\n"
    "event: end\r"
    "data:{}\r"
    "\r"
    "data: [DONE]\n\n"
    "data: unfinished";

void expect_events(const std::vector<sse_event>& ev) {
    ASSERT_EQ(ev.size(), 4u);
    EXPECT_EQ(ev[0].event, "token");
    EXPECT_EQ(ev[0].data, "{\"t\":\"a\"}");
    ASSERT_TRUE(ev[0].id);
    EXPECT_EQ(*ev[0].id, "7");
    EXPECT_EQ(ev[1].event, "");
    EXPECT_EQ(ev[1].data, "line one\nline two");
    EXPECT_FALSE(ev[1].id);
    EXPECT_EQ(ev[2].event, "end");
    EXPECT_EQ(ev[2].data, "{}");
    EXPECT_EQ(ev[3].data, "[DONE]");
}

}  // namespace

TEST(sse_parser, reads_events_with_lf_crlf_and_cr_line_ends_comments_and_multi_line_data) {
    sse_parser p;
    std::vector<sse_event> ev;
    p.feed(stream, ev);
    expect_events(ev);
    EXPECT_EQ(p.pending_bytes(), std::string("data: unfinished").size());
}

TEST(sse_parser, gives_the_same_events_however_the_stream_is_cut) {
    for (size_t piece = 1; piece <= 7; ++piece) {
        sse_parser p;
        std::vector<sse_event> ev;
        for (size_t i = 0; i < stream.size(); i += piece)
            p.feed(std::string_view(stream).substr(i, piece), ev);
        SCOPED_TRACE("pieces of " + std::to_string(piece));
        expect_events(ev);
    }
    // A CR at the end of one piece and its LF at the start of the next end one line, not two.
    sse_parser p;
    std::vector<sse_event> ev;
    p.feed("data: x\r", ev);
    p.feed("\n\r", ev);
    p.feed("\ndata: y\n\n", ev);
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].data, "x");
    EXPECT_EQ(ev[1].data, "y");
}
