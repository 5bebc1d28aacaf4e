// llama-server's native /completion stream as the relay decodes it: tokens, the final chunk's
// counts and timings, errors, and a stream that stops early — whole and cut into pieces.
#include <gtest/gtest.h>

#include "engines/engine_adapter.h"

using namespace llorch::engines;
using kind = engine_event::kind;

namespace {

const std::string stream =
    "data: {\"index\":0,\"content\":\" Once\",\"tokens\":[1],\"stop\":false,\"id_slot\":-1,"
    "\"tokens_predicted\":1,\"tokens_evaluated\":3}\n\n"
    "data: {\"index\":0,\"content\":\" \\\"upon\\\"\\n\",\"stop\":false}\n\n"
    "data: {\"index\":0,\"content\":\"\",\"stop\":false}\n\n"
    "data: {\"index\":0,\"content\":\"\",\"tokens\":[],\"stop\":true,\"model\":\"m\","
    "\"tokens_predicted\":3,\"tokens_evaluated\":5,\"stop_type\":\"limit\","
    "\"timings\":{\"prompt_n\":5,\"predicted_ms\":12.5,\"predicted_n\":3}}\n\n";

std::vector<engine_event> decode(std::string_view body, size_t piece, bool finish = true) {
    auto d = adapter_for(engine_kind_id::llamacpp).decoder({});
    std::vector<engine_event> out;
    for (size_t i = 0; i < body.size(); i += piece) d->feed(body.substr(i, piece), out);
    if (finish) d->finish(out);
    return out;
}

}  // namespace

TEST(llamacpp_decoder, tokens_then_an_end_with_the_engine_counts_however_the_stream_is_cut) {
    for (size_t piece : {size_t{1}, size_t{7}, size_t{64}, stream.size()}) {
        SCOPED_TRACE("pieces of " + std::to_string(piece));
        auto ev = decode(stream, piece);
        ASSERT_EQ(ev.size(), 3u);
        EXPECT_EQ(ev[0].type, kind::token);
        EXPECT_EQ(ev[0].text, " Once");
        EXPECT_EQ(ev[1].text, " \"upon\"\n");
        EXPECT_EQ(ev[2].type, kind::end);
        EXPECT_EQ(ev[2].tokens_out, 3);
        EXPECT_EQ(ev[2].tokens_in, 5);
        EXPECT_EQ(ev[2].decode_ms, 12);
        EXPECT_EQ(ev[2].finish_reason, "length");
    }
}

TEST(llamacpp_decoder, an_end_without_counts_counts_the_pieces_and_a_word_stop_is_stop) {
    auto ev = decode(
        "data: {\"content\":\"a\",\"stop\":false}\n\n"
        "data: {\"content\":\"b\",\"stop\":true,\"stop_type\":\"word\"}\n\n",
        5);
    ASSERT_EQ(ev.size(), 3u);
    EXPECT_EQ(ev[1].text, "b");
    EXPECT_EQ(ev[2].type, kind::end);
    EXPECT_EQ(ev[2].tokens_out, 2);
    EXPECT_EQ(ev[2].tokens_in, -1);
    EXPECT_EQ(ev[2].decode_ms, -1);
    EXPECT_EQ(ev[2].finish_reason, "stop");
}

TEST(llamacpp_decoder, an_error_chunk_ends_the_stream_with_the_engines_message) {
    auto ev = decode(
        "data: {\"content\":\"a\",\"stop\":false}\n\n"
        "data: {\"error\":{\"code\":500,\"message\":\"slot lost\"}}\n\n"
        "data: {\"content\":\"late\",\"stop\":false}\n\n",
        3);
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[1].type, kind::error);
    EXPECT_EQ(ev[1].message, "slot lost");
    auto plain = decode("data: {\"error\":\"out of memory\"}\n\n", 100);
    ASSERT_EQ(plain.size(), 1u);
    EXPECT_EQ(plain[0].type, kind::error);
    EXPECT_NE(plain[0].message.find("out of memory"), std::string::npos);
}

TEST(llamacpp_decoder, a_stream_that_stops_early_is_an_error_and_junk_is_skipped) {
    auto ev =
        decode("data: not json\n\ndata: [1,2]\n\ndata: {\"content\":\"a\",\"stop\":false}\n\n", 4);
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].text, "a");
    EXPECT_EQ(ev[1].type, kind::error);
    EXPECT_NE(ev[1].message.find("without finishing"), std::string::npos);
}
