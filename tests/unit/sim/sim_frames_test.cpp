#include "sim/sim_frames.h"

#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "http/sse.h"

namespace llorch::sim {
namespace {
namespace json = boost::json;

std::vector<http::sse_event> events(const std::string& stream) {
    http::sse_parser p;
    std::vector<http::sse_event> out;
    p.feed(stream, out);
    return out;
}

json::object object_of(const http::sse_event& e) { return json::parse(e.data).as_object(); }

gen_summary summary(int predicted, bool eos = false) {
    gen_summary s;
    s.tokens_predicted = predicted;
    s.tokens_evaluated = 5;
    s.eos = eos;
    s.slot = 1;
    s.prompt_ms = 50;
    s.predicted_ms = 20;
    return s;
}

TEST(sim_frames, completion_token_frame_matches_llama_server) {
    sim_frames f(api_kind::completion, "m", "id", 1, false, 5);
    std::string out;
    f.append_start(out);
    EXPECT_EQ(out, "");
    f.append_token(out, " tok", 1234, 1);
    EXPECT_EQ(out,
              "data: {\"index\":0,\"content\":\" tok\",\"tokens\":[1234],\"stop\":false,"
              "\"id_slot\":-1,\"tokens_predicted\":1,\"tokens_evaluated\":5}\n\n");
}

TEST(sim_frames, completion_final_frame_reports_counts_stop_type_and_timings) {
    sim_frames f(api_kind::completion, "m", "id", 1, false, 5);
    std::string out;
    f.append_finish(out, summary(3));
    auto ev = events(out);
    ASSERT_EQ(ev.size(), 1u);  // no [DONE] in the native API
    auto o = object_of(ev[0]);
    EXPECT_EQ(o.at("stop"), true);
    EXPECT_EQ(o.at("content"), "");
    EXPECT_EQ(o.at("tokens_predicted"), 3);
    EXPECT_EQ(o.at("tokens_evaluated"), 5);
    EXPECT_EQ(o.at("id_slot"), 1);
    EXPECT_EQ(o.at("stop_type"), "limit");
    EXPECT_EQ(o.at("model"), "m");
    EXPECT_DOUBLE_EQ(o.at("timings").at("predicted_ms").to_number<double>(), 20.0);
    EXPECT_DOUBLE_EQ(o.at("timings").at("predicted_per_second").to_number<double>(), 150.0);
    out.clear();
    f.append_finish(out, summary(3, true));
    EXPECT_EQ(object_of(events(out)[0]).at("stop_type"), "eos");
}

TEST(sim_frames, token_text_is_escaped) {
    sim_frames f(api_kind::chat, "m", "id", 1, false, 5);
    std::string out;
    f.append_token(out, "a\"b\\c\nd", 1, 1);
    auto ev = events(out);
    ASSERT_EQ(ev.size(), 1u);
    auto o = object_of(ev[0]);
    EXPECT_EQ(o.at("choices").at(0).at("delta").at("content"), "a\"b\\c\nd");
}

TEST(sim_frames, chat_stream_has_role_tokens_finish_usage_and_done) {
    sim_frames f(api_kind::chat, "m", "chatcmpl-x", 1700000000, true, 5);
    std::string out;
    f.append_start(out);
    f.append_token(out, " a", 1, 1);
    f.append_finish(out, summary(1));
    auto ev = events(out);
    ASSERT_EQ(ev.size(), 5u);
    auto role = object_of(ev[0]);
    EXPECT_EQ(role.at("object"), "chat.completion.chunk");
    EXPECT_EQ(role.at("id"), "chatcmpl-x");
    EXPECT_EQ(role.at("created"), 1700000000);
    EXPECT_EQ(role.at("choices").at(0).at("delta").at("role"), "assistant");
    EXPECT_TRUE(role.at("choices").at(0).at("finish_reason").is_null());
    EXPECT_EQ(object_of(ev[1]).at("choices").at(0).at("delta").at("content"), " a");
    auto fin = object_of(ev[2]);
    EXPECT_EQ(fin.at("choices").at(0).at("finish_reason"), "length");
    EXPECT_TRUE(fin.at("choices").at(0).at("delta").as_object().empty());
    auto usage = object_of(ev[3]);
    EXPECT_TRUE(usage.at("choices").as_array().empty());
    EXPECT_EQ(usage.at("usage").at("completion_tokens"), 1);
    EXPECT_EQ(usage.at("usage").at("prompt_tokens"), 5);
    EXPECT_EQ(usage.at("usage").at("total_tokens"), 6);
    EXPECT_TRUE(usage.contains("timings"));
    EXPECT_EQ(ev[4].data, "[DONE]");
}

TEST(sim_frames, chat_stream_without_usage_puts_timings_on_the_finish_chunk) {
    sim_frames f(api_kind::chat, "m", "id", 1, false, 5);
    std::string out;
    f.append_finish(out, summary(2, true));
    auto ev = events(out);
    ASSERT_EQ(ev.size(), 2u);
    auto fin = object_of(ev[0]);
    EXPECT_EQ(fin.at("choices").at(0).at("finish_reason"), "stop");
    EXPECT_TRUE(fin.contains("timings"));
    EXPECT_FALSE(fin.contains("usage"));
    EXPECT_EQ(ev[1].data, "[DONE]");
}

TEST(sim_frames, text_completion_stream_ends_with_usage_and_done) {
    sim_frames f(api_kind::text_completion, "m", "id", 1, true, 5);
    std::string out;
    f.append_token(out, " a", 1, 1);
    f.append_finish(out, summary(1));
    auto ev = events(out);
    ASSERT_EQ(ev.size(), 3u);
    auto tok = object_of(ev[0]);
    EXPECT_EQ(tok.at("object"), "text_completion");
    EXPECT_EQ(tok.at("choices").at(0).at("text"), " a");
    auto fin = object_of(ev[1]);
    EXPECT_EQ(fin.at("choices").at(0).at("finish_reason"), "length");
    EXPECT_EQ(fin.at("usage").at("completion_tokens"), 1);
    EXPECT_EQ(ev[2].data, "[DONE]");
}

TEST(sim_frames, whole_responses_carry_the_content) {
    auto s = summary(2);
    auto c = json::parse(sim_frames(api_kind::completion, "m", "id", 1, false, 5).whole(s, " a b"));
    EXPECT_EQ(c.at("content"), " a b");
    EXPECT_EQ(c.at("stop"), true);
    EXPECT_EQ(c.at("tokens_predicted"), 2);
    auto chat = json::parse(sim_frames(api_kind::chat, "m", "id", 1, false, 5).whole(s, " a b"));
    EXPECT_EQ(chat.at("object"), "chat.completion");
    EXPECT_EQ(chat.at("choices").at(0).at("message").at("content"), " a b");
    EXPECT_EQ(chat.at("usage").at("completion_tokens"), 2);
    auto text =
        json::parse(sim_frames(api_kind::text_completion, "m", "id", 1, false, 5).whole(s, " a b"));
    EXPECT_EQ(text.at("choices").at(0).at("text"), " a b");
}

TEST(sim_frames, error_bodies_match_llama_server) {
    EXPECT_EQ(error_body({500, "boom", "server_error"}),
              R"({"error":{"code":500,"message":"boom","type":"server_error"}})");
    EXPECT_EQ(
        middleware_error_body(401, "Invalid API Key", "authentication_error"),
        R"({"error":{"message":"Invalid API Key","type":"authentication_error","code":401}})");
}

TEST(sim_frames, parses_completion_requests) {
    auto r =
        parse_gen_request(api_kind::completion,
                          R"({"prompt":"hi there","n_predict":7,"stream":true,"ignore_eos":true})");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->n_predict, 7);
    EXPECT_TRUE(r->stream);
    EXPECT_TRUE(r->ignore_eos);
    EXPECT_EQ(r->prompt_tokens, 4);
    auto unbounded = parse_gen_request(api_kind::completion, R"({"prompt":"x","n_predict":-1})");
    ASSERT_TRUE(unbounded);
    EXPECT_FALSE(unbounded->n_predict);
    auto by_max = parse_gen_request(api_kind::completion, R"({"prompt":[1,2,3],"max_tokens":4})");
    ASSERT_TRUE(by_max);
    EXPECT_EQ(by_max->n_predict, 4);
    EXPECT_EQ(by_max->prompt_tokens, 4);
}

TEST(sim_frames, parses_openai_requests) {
    auto chat = parse_gen_request(
        api_kind::chat,
        R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":3,"stream":true,"stream_options":{"include_usage":true}})");
    ASSERT_TRUE(chat);
    EXPECT_EQ(chat->n_predict, 3);
    EXPECT_TRUE(chat->include_usage);
    auto newer = parse_gen_request(api_kind::chat, R"({"messages":[],"max_completion_tokens":9})");
    ASSERT_TRUE(newer);
    EXPECT_EQ(newer->n_predict, 9);
    auto text = parse_gen_request(api_kind::text_completion, R"({"prompt":"x","max_tokens":2})");
    ASSERT_TRUE(text);
    EXPECT_EQ(text->n_predict, 2);
    EXPECT_TRUE(text->include_usage);
}

TEST(sim_frames, rejects_bad_requests_as_llama_server_does) {
    auto bad_json = parse_gen_request(api_kind::completion, "{bad");
    ASSERT_FALSE(bad_json);
    EXPECT_EQ(bad_json.error().status, 500);
    auto no_prompt = parse_gen_request(api_kind::completion, R"({"n_predict":1})");
    ASSERT_FALSE(no_prompt);
    EXPECT_EQ(no_prompt.error().status, 400);
    EXPECT_EQ(no_prompt.error().type, "invalid_request_error");
    auto no_messages = parse_gen_request(api_kind::chat, R"({"max_tokens":1})");
    ASSERT_FALSE(no_messages);
    EXPECT_EQ(no_messages.error().status, 400);
    EXPECT_FALSE(parse_gen_request(api_kind::completion, "[1]"));
}

}  // namespace
}  // namespace llorch::sim
