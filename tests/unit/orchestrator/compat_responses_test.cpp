// The Responses API's request as the chat it means, and what it refuses by name.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "orchestrator/compat_errors.h"
#include "orchestrator/compat_responses.h"

namespace llorch::orchestrator {
namespace {
namespace json = boost::json;

api::api_result<compat_request> translate(const char* body) {
    return translate_responses_request(json::parse(body).as_object());
}

std::string refused_param(const char* body) {
    auto r = translate(body);
    if (r) return "(accepted)";
    EXPECT_EQ(r.error().code, api::error_code::invalid_params);
    return std::string(error_param(r.error()));
}

TEST(compat_responses, text_input_and_instructions_become_a_chat) {
    auto r = translate(R"({"model":"m","input":"Hi","instructions":"Be brief",)"
                       R"("max_output_tokens":7,"temperature":0.5,"stream":true})");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r->stream);
    const auto& t = r->task_body;
    EXPECT_EQ(t.at("max_tokens").to_number<int>(), 7);
    EXPECT_EQ(t.at("temperature").to_number<double>(), 0.5);
    const auto& m = t.at("messages").as_array();
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[0].at("role").as_string(), "system");
    EXPECT_EQ(m[0].at("content").as_string(), "Be brief");
    EXPECT_EQ(m[1].at("role").as_string(), "user");
    EXPECT_EQ(m[1].at("content").as_string(), "Hi");
}

TEST(compat_responses, message_input_reads_text_parts) {
    auto r = translate(R"({"model":"m","input":[{"role":"user","content":[)"
                       R"({"type":"input_text","text":"a"},{"type":"input_text","text":"b"}]},)"
                       R"({"type":"message","role":"assistant","content":"c"}]})");
    ASSERT_TRUE(r) << r.error().message;
    const auto& m = r->task_body.at("messages").as_array();
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[0].at("content").as_string(), "a\nb");
    EXPECT_EQ(m[1].at("role").as_string(), "assistant");
}

TEST(compat_responses, what_is_not_offered_is_refused_by_name) {
    EXPECT_EQ(refused_param(R"({"model":"m"})"), "input");
    EXPECT_EQ(refused_param(R"({"model":"m","input":"x","previous_response_id":"r"})"),
              "previous_response_id");
    EXPECT_EQ(refused_param(R"({"model":"m","input":"x","tools":[{"type":"function"}]})"),
              "tools[0].name");
    EXPECT_EQ(refused_param(R"({"model":"m","input":"x","tools":[{"type":"web_search"}]})"),
              "tools[0].type");
    EXPECT_EQ(
        refused_param(R"({"model":"m","input":"x","text":{"format":{"type":"json_schema"}}})"),
        "text.format.schema");
    EXPECT_EQ(refused_param(R"({"model":"m","input":"x","text":{"format":{"type":"xml"}}})"),
              "text.format.type");
    EXPECT_EQ(refused_param(R"({"model":"m","input":[{"type":"function_call_output"}]})"),
              "input[0].call_id");
    EXPECT_EQ(refused_param(R"({"model":"m","input":[{"type":"reasoning"}]})"), "input[0].type");
    EXPECT_EQ(refused_param(R"({"model":"m","input":[{"role":"user","content":[)"
                            R"({"type":"input_image","image_url":"x"}]}]})"),
              "input[0].content[0].type");
    EXPECT_EQ(refused_param(R"({"model":"m","input":"x","temperature":3})"), "temperature");
    EXPECT_EQ(refused_param(R"({"model":"m","input":"x","tools":[],"background":false,)"
                            R"("text":{"format":{"type":"text"}}})"),
              "(accepted)");
}

TEST(compat_responses, tools_format_and_function_items_become_the_chats) {
    auto r = translate(
        R"({"model":"m","tools":[{"type":"function","name":"f","parameters":{"type":"object"}}],)"
        R"("tool_choice":{"type":"function","name":"f"},)"
        R"("text":{"format":{"type":"json_schema","name":"n","schema":{"type":"object"}}},)"
        R"("input":[{"role":"user","content":"q"},)"
        R"({"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},)"
        R"({"type":"function_call","call_id":"c2","name":"f","arguments":"{\"a\":1}"},)"
        R"({"type":"function_call_output","call_id":"c1","output":"r1"},)"
        R"({"type":"function_call_output","call_id":"c2","output":"r2"}]})");
    ASSERT_TRUE(r) << r.error().message;
    const auto& p = r->task_body.at("engine_params").as_object();
    // A named tool_choice is that tool alone, required (as for chat completions).
    EXPECT_EQ(p.at("tools").as_array().at(0).at("function").at("name").as_string(), "f");
    EXPECT_EQ(p.at("tool_choice").as_string(), "required");
    EXPECT_EQ(p.at("response_format").at("type").as_string(), "json_schema");
    EXPECT_EQ(p.at("response_format").at("json_schema").at("name").as_string(), "n");
    const auto& m = r->task_body.at("messages").as_array();
    ASSERT_EQ(m.size(), 4u);
    // Consecutive calls are one assistant message.
    EXPECT_TRUE(m[1].at("content").is_null());
    ASSERT_EQ(m[1].at("tool_calls").as_array().size(), 2u);
    EXPECT_EQ(m[1].at("tool_calls").at(1).at("id").as_string(), "c2");
    EXPECT_EQ(m[2].at("role").as_string(), "tool");
    EXPECT_EQ(m[3].at("tool_call_id").as_string(), "c2");
}

}  // namespace
}  // namespace llorch::orchestrator
