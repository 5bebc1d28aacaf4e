#include "loadgen/stream_protocol.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace llorch::bench {
namespace json = boost::json;

namespace {
http::sse_event ev(std::string name, std::string data) {
    return http::sse_event{std::move(name), std::move(data), std::nullopt};
}
json::object body_of(const http_call& c) { return json::parse(c.body).as_object(); }
}  // namespace

TEST(stream_protocol, target_names_round_trip) {
    for (auto k :
         {target_kind::orch, target_kind::orch_stream, target_kind::pool, target_kind::llamacpp,
          target_kind::openai_chat, target_kind::openai_completions})
        EXPECT_EQ(parse_target_kind(to_string(k)), k);
    EXPECT_EQ(to_string(target_kind::orch_stream), "orch-stream");
    EXPECT_FALSE(parse_target_kind("vllm"));
}

TEST(stream_protocol, every_request_asks_for_a_fixed_token_count_ignoring_eos) {
    request_shape r;
    r.model = "tiny";
    r.pool_id = "p0";
    r.max_tokens = 17;
    auto orch = body_of(start_call(target_kind::orch, r, ""));
    EXPECT_EQ(orch.at("max_tokens").as_int64(), 17);
    EXPECT_TRUE(orch.at("ignore_eos").as_bool());
    EXPECT_EQ(orch.at("model").as_string(), "tiny");
    auto lcpp = start_call(target_kind::llamacpp, r, "");
    EXPECT_EQ(lcpp.path, "/completion");
    EXPECT_EQ(body_of(lcpp).at("n_predict").as_int64(), 17);
    EXPECT_TRUE(body_of(lcpp).at("stream").as_bool());
    auto chat = start_call(target_kind::openai_chat, r, "");
    EXPECT_EQ(chat.path, "/v1/chat/completions");
    EXPECT_EQ(body_of(chat).at("messages").as_array().size(), 1u);
    auto pool = start_call(target_kind::pool, r, "lg-1");
    EXPECT_EQ(pool.path, "/v2/pools/p0/infer");
    EXPECT_EQ(body_of(pool).at("task_id").as_string(), "lg-1");
}

TEST(stream_protocol, prompt_is_json_escaped) {
    request_shape r;
    r.prompt = "say \"hi\"\n";
    auto b = body_of(start_call(target_kind::openai_completions, r, ""));
    EXPECT_EQ(b.at("prompt").as_string(), "say \"hi\"\n");
}

TEST(stream_protocol, events_path_comes_from_events_url_or_task_id) {
    EXPECT_EQ(*events_path_from_submit(R"({"task_id":"t1","events_url":"/v2/tasks/t1/events"})"),
              "/v2/tasks/t1/events");
    EXPECT_EQ(*events_path_from_submit(R"({"task_id":"t2"})"), "/v2/tasks/t2/events");
    EXPECT_FALSE(events_path_from_submit("{}"));
    EXPECT_FALSE(events_path_from_submit("not json"));
}

TEST(stream_protocol, llorch_events_count_tokens_and_end_with_the_reported_count) {
    auto started = interpret(target_kind::orch, ev("started", R"({"pool_id":"a"})"));
    EXPECT_EQ(started.tokens, 0);
    EXPECT_EQ(started.pool_id, "a");
    EXPECT_EQ(interpret(target_kind::orch, ev("metrics", "{}")).tokens, 0);
    EXPECT_EQ(interpret(target_kind::orch, ev("token", R"({"t":"x","i":0})")).tokens, 1);
    auto end = interpret(target_kind::pool, ev("end", R"({"tokens_out":32})"));
    EXPECT_TRUE(end.done);
    EXPECT_TRUE(end.error.empty());
    EXPECT_EQ(end.tokens_reported, 32);
    auto err = interpret(target_kind::orch, ev("error", R"({"code":"UPSTREAM_FAILED"})"));
    EXPECT_TRUE(err.done);
    EXPECT_EQ(err.error, "UPSTREAM_FAILED");
}

TEST(stream_protocol, llamacpp_chunks_with_content_are_tokens_and_stop_ends) {
    auto t = interpret(target_kind::llamacpp, ev("", R"({"content":" a","stop":false})"));
    EXPECT_EQ(t.tokens, 1);
    EXPECT_FALSE(t.done);
    auto empty = interpret(target_kind::llamacpp, ev("", R"({"content":"","stop":false})"));
    EXPECT_EQ(empty.tokens, 0);
    auto last = interpret(target_kind::llamacpp,
                          ev("", R"({"content":"","stop":true,"tokens_predicted":8})"));
    EXPECT_TRUE(last.done);
    EXPECT_EQ(last.tokens_reported, 8);
    auto err = interpret(target_kind::llamacpp, ev("", R"({"error":{"code":500,"message":"x"}})"));
    EXPECT_TRUE(err.done);
    EXPECT_EQ(err.error, "error_500");
}

TEST(stream_protocol, openai_streams_end_at_done_marker) {
    auto role = interpret(target_kind::openai_chat,
                          ev("", R"({"choices":[{"delta":{"role":"assistant","content":null}}]})"));
    EXPECT_EQ(role.tokens, 0);
    auto tok =
        interpret(target_kind::openai_chat, ev("", R"({"choices":[{"delta":{"content":"hi"}}]})"));
    EXPECT_EQ(tok.tokens, 1);
    auto usage = interpret(target_kind::openai_chat,
                           ev("", R"({"choices":[],"usage":{"completion_tokens":5}})"));
    EXPECT_EQ(usage.tokens_reported, 5);
    EXPECT_FALSE(usage.done);
    auto text = interpret(target_kind::openai_completions, ev("", R"({"choices":[{"text":"x"}]})"));
    EXPECT_EQ(text.tokens, 1);
    EXPECT_TRUE(interpret(target_kind::openai_completions, ev("", "[DONE]")).done);
    auto bad = interpret(target_kind::openai_chat, ev("", "{oops"));
    EXPECT_TRUE(bad.done);
    EXPECT_EQ(bad.error, "bad_json");
}

}  // namespace llorch::bench
