// Tool calling through the engine layer: the messages of a tool turn survive the trip to a node,
// the engine's streamed tool_call deltas become tool_call events, and engines that cannot call
// tools are named.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "engines/engine_adapter.h"
#include "engines/generation.h"

namespace llorch::engines {
namespace {
namespace json = boost::json;

generation_request parse_request(const char* body) {
    auto g = parse_generation(json::parse(body).as_object());
    EXPECT_TRUE(g) << (g ? "" : g.error().message);
    return g ? *g : generation_request{};
}

const char* tool_turn =
    R"({"messages":[{"role":"user","content":"Weather?"},)"
    R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",)"
    R"("function":{"name":"get_weather","arguments":"{}"}}]},)"
    R"({"role":"tool","tool_call_id":"call_1","content":"sunny"}],)"
    R"("engine_params":{"tools":[{"type":"function","function":{"name":"get_weather"}}],)"
    R"("tool_choice":"auto"}})";

TEST(engine_tool_calls, a_tool_turn_survives_the_trip_to_a_node_and_reaches_the_engine_whole) {
    auto g = parse_request(tool_turn);
    ASSERT_EQ(g.messages.size(), 3u);
    EXPECT_TRUE(g.messages[1].content_null);
    EXPECT_EQ(g.messages[2].tool_call_id, "call_1");
    auto again = parse_request(to_json(g).c_str());  // orchestratord -> pool-managerd
    auto call = adapter_for(engine_kind_id::llamacpp).build(again, "tiny");
    EXPECT_EQ(call.path, "/v1/chat/completions");
    auto body = json::parse(call.body).as_object();
    const auto& m = body.at("messages").as_array();
    EXPECT_TRUE(m[1].at("content").is_null());
    EXPECT_EQ(m[1].at("tool_calls").at(0).at("function").at("name").as_string(), "get_weather");
    EXPECT_EQ(m[2].at("tool_call_id").as_string(), "call_1");
    EXPECT_EQ(body.at("tools").as_array().size(), 1u);
    EXPECT_EQ(body.at("tool_choice").as_string(), "auto");
}

TEST(engine_tool_calls, a_tool_message_without_its_call_id_is_refused) {
    auto g = parse_generation(
        json::parse(R"({"messages":[{"role":"tool","content":"x"}]})").as_object());
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().code, api::error_code::invalid_params);
}

TEST(engine_tool_calls, streamed_tool_call_deltas_become_tool_call_events) {
    generation_request g;
    g.messages.push_back({"user", "Weather?"});
    auto d = adapter_for(engine_kind_id::llamacpp).decoder(g);
    std::vector<engine_event> out;
    d->feed(R"(data: {"choices":[{"index":0,"delta":{"role":"assistant","content":null,)"
            R"("tool_calls":[{"index":0,"id":"call_x","type":"function",)"
            R"("function":{"name":"get_weather","arguments":""}}]}}]})"
            "\n\n"
            R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,)"
            R"("function":{"arguments":"{\"city\":"}}]}}]})"
            "\n\n"
            R"(data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})"
            "\n\n"
            R"(data: {"choices":[],"usage":{"completion_tokens":9,"prompt_tokens":30}})"
            "\n\ndata: [DONE]\n\n",
            out);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].type, engine_event::kind::tool_call);
    EXPECT_EQ(out[0].tool_id, "call_x");
    EXPECT_EQ(out[0].tool_name, "get_weather");
    EXPECT_EQ(out[1].type, engine_event::kind::tool_call);
    EXPECT_EQ(out[1].text, "{\"city\":");
    EXPECT_FALSE(is_terminal(out[1]));
    EXPECT_EQ(out[2].type, engine_event::kind::end);
    EXPECT_EQ(out[2].finish_reason, "tool_calls");
    EXPECT_EQ(out[2].tokens_out, 9);
    // The event travels between daemons as JSON and back.
    auto back = tool_call_of(tool_call_json(out[0], 4));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->tool_name, "get_weather");
    EXPECT_EQ(back->tool_id, "call_x");
    EXPECT_EQ(json::parse(tool_call_json(out[1], 5)).at("i").as_int64(), 5);
}

TEST(engine_tool_calls, ollama_and_sim_engines_are_named_as_unable_to_call_tools) {
    auto g = parse_request(tool_turn);
    EXPECT_FALSE(field_unsupported_by("llamacpp", g));
    EXPECT_FALSE(field_unsupported_by("openai", g));
    auto f = field_unsupported_by("sim", g);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->field, "tools");
    generation_request plain;
    plain.messages.push_back({"user", "hi"});
    EXPECT_FALSE(field_unsupported_by("ollama", plain));
    auto turn = parse_request(R"({"messages":[{"role":"tool","tool_call_id":"c","content":"x"}]})");
    f = field_unsupported_by("ollama", turn);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->field, "messages[0].role");
}

}  // namespace
}  // namespace llorch::engines
