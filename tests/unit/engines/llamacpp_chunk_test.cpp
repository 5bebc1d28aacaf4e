// llama-server's token chunk read in place: the fields of the chunk it knows, escapes and UTF-8
// decoded as JSON defines them, and every other shape handed to the general reader (`other`),
// whose answer for it is then the one that counts.
#include <gtest/gtest.h>

#include "api/json_pick.h"
#include "engines/engine_adapter.h"
#include "engines/llamacpp_chunk.h"

using namespace llorch::engines;

namespace {

std::optional<std::string> scan(std::string_view data) {
    std::string content = "left over";
    if (scan_llamacpp_chunk(data, content) != llamacpp_chunk::token) return std::nullopt;
    return content;
}

}  // namespace

TEST(llamacpp_chunk, reads_the_content_of_a_token_chunk_as_llama_server_sends_it) {
    EXPECT_EQ(scan("{\"index\":0,\"content\":\" Once\",\"tokens\":[1234],\"stop\":false,"
                   "\"id_slot\":-1,\"tokens_predicted\":1,\"tokens_evaluated\":3}"),
              " Once");
    EXPECT_EQ(scan("{\"content\":\"a\"}"), "a");
    EXPECT_EQ(scan("{\"content\":\"\",\"stop\":false}"), "");
    EXPECT_EQ(scan("{}"), "");
    EXPECT_EQ(scan(" { \"content\" : \"b\" , \"tokens\" : [ 1 , -2 ] , \"x\" : null ,"
                   " \"y\" : true , \"t\" : [ ] }\r\n "),
              "b");
}

TEST(llamacpp_chunk, decodes_every_escape_and_keeps_utf8) {
    EXPECT_EQ(scan(R"({"content":"\" \\ \/ \b \f \n \r \t"})"), "\" \\ / \b \f \n \r \t");
    EXPECT_EQ(scan(R"({"content":"caf\u00e9 \u20ac \u0041"})"), "caf\xc3\xa9 \xe2\x82\xac A");
    EXPECT_EQ(scan(R"({"content":"\ud83d\ude00!"})"), "\xf0\x9f\x98\x80!");
    EXPECT_EQ(scan("{\"content\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}"),
              "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    EXPECT_EQ(scan(R"({"content":"\u0000"})"), std::string(1, '\0'));
    EXPECT_EQ(scan("{\"content\":\"\xc3\xa9\",\"k\xc3\xa9y\":\"v\"}"), "\xc3\xa9");
}

TEST(llamacpp_chunk, a_key_seen_twice_keeps_the_last_value) {
    EXPECT_EQ(scan(R"({"content":"a","content":"b"})"), "b");
}

TEST(llamacpp_chunk, hands_every_other_shape_to_the_general_reader) {
    for (std::string_view s : {
             // Shapes it does not read itself.
             R"({"content":"","stop":true,"timings":{"predicted_ms":1.5}})",
             R"({"content":"a","stop":true})",
             R"({"error":{"code":500,"message":"boom"}})",
             R"({"content":"a","timings":{"predicted_ms":1}})",
             R"({"content":"a","p":0.5})",
             R"({"content":"a","p":1e3})",
             R"({"content":"a","p":1234567890123456789})",
             R"({"content":"a","p":[1,[2]]})",
             R"({"content":"a","p":["x"]})",
             R"({"content":"a","stop":"no"})",
             R"({"content":5})",
             R"({"content":null})",
             R"({"con\u0074ent":"a"})",
             R"({"content":"a","content":7})",
             // Invalid JSON or text.
             "{\"content\":\"a\x01\"}",
             "{\"content\":\"\xc0\x80\"}",
             "{\"content\":\"\xed\xa0\x80\"}",
             "{\"content\":\"\xf4\x90\x80\x80\"}",
             "{\"content\":\"\xe2\x82\"}",
             "{\"content\":\"\xff\"}",
             R"({"content":"\udc00"})",
             R"({"content":"\ud83d"})",
             R"({"content":"\ud83dx"})",
             R"({"content":"\ud83d\u0041"})",
             R"({"content":"\x"})",
             R"({"content":"\u12"})",
             R"({"content":"a"} x)",
             R"({"content":"a",})",
             R"({"content":"a")",
             R"({"content":"a)",
             R"({"content":"a\)",
             R"({"p":01})",
             R"({"p":-})",
             R"({"p":tru})",
             R"({"p":truex})",
             R"(["content"])",
             "",
             "[DONE]",
         }) {
        SCOPED_TRACE(std::string(s));
        EXPECT_EQ(scan(s), std::nullopt);
    }
}

// Whatever the scanner reads, json_pick reads the same; and what it leaves, the decoder still
// decodes through json_pick.
TEST(llamacpp_chunk, agrees_with_json_pick_wherever_it_answers) {
    llorch::api::json_pick pick({"content"});
    for (std::string_view s : {
             R"({"index":0,"content":" x","tokens":[1],"stop":false,"id_slot":-1})",
             R"({"content":"\ud83d\ude00 \u00e9 \n \"q\""})",
             "{\"content\":\"\xf0\x9f\x98\x80\"}",
             R"({"content":"a","content":"b"})",
         }) {
        SCOPED_TRACE(std::string(s));
        auto mine = scan(s);
        ASSERT_TRUE(mine);
        ASSERT_TRUE(pick.parse(s));
        EXPECT_EQ(*mine, pick[0].text);
    }
}

TEST(llamacpp_chunk, the_decoder_still_reads_a_token_chunk_of_an_unusual_shape) {
    auto d = adapter_for(engine_kind_id::llamacpp).decoder({});
    std::vector<engine_event> out;
    std::string body =
        "data: {\"content\":\"a\",\"probability\":0.25,\"stop\":false}\n\n"
        "data: {\"content\":\"b\",\"timings\":{\"predicted_ms\":1.5},\"stop\":false}\n\n"
        "data: {\"content\":\"c\\u00e9\",\"stop\":false}\n\n"
        "data: {\"content\":\"\",\"stop\":true,\"tokens_predicted\":3}\n\n";
    for (size_t i = 0; i < body.size(); i += 3) d->feed(std::string_view(body).substr(i, 3), out);
    ASSERT_EQ(out.size(), 4u);
    EXPECT_EQ(out[0].text, "a");
    EXPECT_EQ(out[1].text, "b");
    EXPECT_EQ(out[2].text, "c\xc3\xa9");
    EXPECT_EQ(out[3].type, engine_event::kind::end);
    EXPECT_EQ(out[3].tokens_out, 3);
}
