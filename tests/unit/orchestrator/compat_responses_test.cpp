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
    EXPECT_EQ(refused_param(R"({"model":"m","input":"x","tools":[{"type":"function"}]})"), "tools");
    EXPECT_EQ(
        refused_param(R"({"model":"m","input":"x","text":{"format":{"type":"json_object"}}})"),
        "text.format");
    EXPECT_EQ(refused_param(R"({"model":"m","input":[{"type":"function_call_output"}]})"),
              "input[0].type");
    EXPECT_EQ(refused_param(R"({"model":"m","input":[{"role":"user","content":[)"
                            R"({"type":"input_image","image_url":"x"}]}]})"),
              "input[0].content[0].type");
    EXPECT_EQ(refused_param(R"({"model":"m","input":"x","temperature":3})"), "temperature");
    EXPECT_EQ(refused_param(R"({"model":"m","input":"x","tools":[],"background":false,)"
                            R"("text":{"format":{"type":"text"}}})"),
              "(accepted)");
}

}  // namespace
}  // namespace llorch::orchestrator
