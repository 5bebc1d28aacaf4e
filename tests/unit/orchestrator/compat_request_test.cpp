// Translation of OpenAI and Ollama requests into task bodies: what is carried, what is checked,
// what is refused by name.
#include <cstdio>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "http/router.h"
#include "orchestrator/compat_errors.h"
#include "orchestrator/compat_request.h"

namespace llorch::orchestrator {
namespace {
namespace json = boost::json;

api::api_result<compat_request> translate(const char* body, dialect d) {
    return translate_request(json::parse(body).as_object(), d);
}

// The param an INVALID_PARAMS error names.
std::string refused_param(const char* body, dialect d) {
    auto r = translate(body, d);
    if (r) return "(accepted)";
    EXPECT_EQ(r.error().code, api::error_code::invalid_params);
    return std::string(error_param(r.error()));
}

TEST(compat_request, openai_checks_ranges_and_types_naming_the_param) {
    const auto chat = dialect::openai_chat;
    const std::string msgs = R"("messages":[{"role":"user","content":"Hi"}])";
    auto body = [&](const std::string& extra) { return R"({"model":"m",)" + msgs + extra + "}"; };
    EXPECT_EQ(refused_param(body(R"(,"stream":"true")").c_str(), chat), "stream");
    EXPECT_EQ(refused_param(body(R"(,"temperature":3)").c_str(), chat), "temperature");
    EXPECT_EQ(refused_param(body(R"(,"top_p":1.01)").c_str(), chat), "top_p");
    EXPECT_EQ(refused_param(body(R"(,"frequency_penalty":-2.5)").c_str(), chat),
              "frequency_penalty");
    EXPECT_EQ(refused_param(body(R"(,"n":2)").c_str(), chat), "n");
    EXPECT_EQ(refused_param(body(R"(,"tools":[{"type":"function"}])").c_str(), chat),
              "tools[0].function.name");
    EXPECT_EQ(refused_param(body(R"(,"tools":{"type":"function"})").c_str(), chat), "tools");
    EXPECT_EQ(refused_param(body(R"(,"tool_choice":"required")").c_str(), chat), "tool_choice");
    EXPECT_EQ(refused_param(body(R"(,"functions":[{"name":"f"}])").c_str(), chat), "functions");
    EXPECT_EQ(refused_param(body(R"(,"logprobs":true)").c_str(), chat), "logprobs");
    EXPECT_EQ(refused_param(body(R"(,"stream_options":{"include_usage":true})").c_str(), chat),
              "stream_options");
    EXPECT_EQ(refused_param(body(R"(,"logit_bias":{"5":101})").c_str(), chat), "logit_bias");
    EXPECT_EQ(
        refused_param(body(R"(,"temperature":2,"top_p":0,"n":1,"logprobs":false)").c_str(), chat),
        "(accepted)");
}

TEST(compat_request, openai_content_parts_are_read_as_text_and_images_refused) {
    auto r = translate(R"({"model":"m","messages":[{"role":"developer","content":"be brief"},)"
                       R"({"role":"user","content":[{"type":"text","text":"a"},)"
                       R"({"type":"text","text":"b"}]}]})",
                       dialect::openai_chat);
    ASSERT_TRUE(r) << r.error().message;
    const auto& m = r->task_body.at("messages").as_array();
    EXPECT_EQ(m[0].at("role").as_string(), "system");
    EXPECT_EQ(m[1].at("content").as_string(), "a\nb");
    EXPECT_EQ(refused_param(R"({"model":"m","messages":[{"role":"user","content":)"
                            R"([{"type":"image_url","image_url":{"url":"x"}}]}]})",
                            dialect::openai_chat),
              "messages[0].content[0].type");
    EXPECT_EQ(refused_param(R"({"model":"m","messages":[{"role":"tool","content":"x"}]})",
                            dialect::openai_chat),
              "messages[0].tool_call_id");
    EXPECT_EQ(refused_param(R"({"model":"m","messages":[{"role":"tool","content":"x",)"
                            R"("tool_call_id":"c"}]})",
                            dialect::ollama_chat),
              "messages[0].role");
}

const char* tool_body = R"({"model":"m","messages":[{"role":"user","content":"Weather?"},)"
                        R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_1",)"
                        R"("type":"function","function":{"name":"get_weather",)"
                        R"("arguments":"{\"city\":\"Oslo\"}"}}]},)"
                        R"({"role":"tool","tool_call_id":"call_1","content":"sunny"}],)"
                        R"("tools":[{"type":"function","function":{"name":"get_weather",)"
                        R"("parameters":{"type":"object"}}},)"
                        R"({"type":"function","function":{"name":"get_time"}}],%s})";

std::string with_choice(const char* choice) {
    char buf[1024];
    std::snprintf(buf, sizeof buf, tool_body, choice);
    return buf;
}

TEST(compat_request, openai_tools_and_the_tool_turn_travel_to_the_engine) {
    auto r =
        translate(with_choice(R"("tool_choice":"required","parallel_tool_calls":false)").c_str(),
                  dialect::openai_chat);
    ASSERT_TRUE(r) << r.error().message;
    const auto& ep = r->task_body.at("engine_params").as_object();
    EXPECT_EQ(ep.at("tools").as_array().size(), 2u);
    EXPECT_EQ(ep.at("tool_choice").as_string(), "required");
    EXPECT_EQ(ep.at("parallel_tool_calls").as_bool(), false);
    const auto& m = r->task_body.at("messages").as_array();
    ASSERT_EQ(m.size(), 3u);
    EXPECT_TRUE(m[1].at("content").is_null());
    EXPECT_EQ(m[1].at("tool_calls").at(0).at("function").at("name").as_string(), "get_weather");
    EXPECT_EQ(m[2].at("role").as_string(), "tool");
    EXPECT_EQ(m[2].at("tool_call_id").as_string(), "call_1");
}

TEST(compat_request, openai_tool_choice_naming_a_function_keeps_that_tool_alone) {
    auto r = translate(
        with_choice(R"("tool_choice":{"type":"function","function":{"name":"get_time"}})").c_str(),
        dialect::openai_chat);
    ASSERT_TRUE(r) << r.error().message;
    const auto& ep = r->task_body.at("engine_params").as_object();
    ASSERT_EQ(ep.at("tools").as_array().size(), 1u);
    EXPECT_EQ(ep.at("tools").at(0).at("function").at("name").as_string(), "get_time");
    EXPECT_EQ(ep.at("tool_choice").as_string(), "required");
    EXPECT_EQ(refused_param(with_choice(R"("tool_choice":{"type":"function","function":)"
                                        R"({"name":"nope"}})")
                                .c_str(),
                            dialect::openai_chat),
              "tool_choice.function.name");
    EXPECT_EQ(
        refused_param(with_choice(R"("tool_choice":"sometimes")").c_str(), dialect::openai_chat),
        "tool_choice");
}

TEST(compat_request, openai_sampling_extras_travel_as_engine_params) {
    auto r = translate(R"({"model":"m","messages":[{"role":"user","content":"Hi"}],)"
                       R"("presence_penalty":1,"logit_bias":{"7":-100},)"
                       R"("response_format":{"type":"json_object"},"stream":true,)"
                       R"("stream_options":{"include_usage":true}})",
                       dialect::openai_chat);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r->stream);
    EXPECT_TRUE(r->include_usage);
    const auto& ep = r->task_body.at("engine_params").as_object();
    EXPECT_EQ(ep.at("presence_penalty").to_number<int>(), 1);
    EXPECT_TRUE(ep.contains("logit_bias"));
    EXPECT_EQ(ep.at("response_format").at("type").as_string(), "json_object");
}

TEST(compat_request, ollama_generate_applies_system_unless_raw) {
    auto r = translate(R"({"model":"tiny:latest","prompt":"Hi","system":"S"})",
                       dialect::ollama_generate);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->task_body.at("model").as_string(), "tiny");
    EXPECT_EQ(r->model, "tiny:latest");
    EXPECT_TRUE(r->stream);
    const auto& m = r->task_body.at("messages").as_array();
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[0].at("content").as_string(), "S");
    EXPECT_EQ(m[1].at("content").as_string(), "Hi");
    auto raw = translate(R"({"model":"tiny","prompt":"Hi","raw":true,"format":"json"})",
                         dialect::ollama_generate);
    ASSERT_TRUE(raw);
    EXPECT_EQ(raw->task_body.at("prompt").as_string(), "Hi");
    EXPECT_TRUE(raw->task_body.at("engine_params").as_object().contains("json_schema"));
}

TEST(compat_request, ollama_idioms_run_no_generation) {
    auto load = translate(R"({"model":"tiny"})", dialect::ollama_generate);
    ASSERT_TRUE(load);
    EXPECT_EQ(load->ollama_idiom, compat_request::idiom::load);
    for (const char* ka : {"0", "\"0\"", "\"0s\""}) {
        auto body = std::string(R"({"model":"tiny","prompt":"","keep_alive":)") + ka + "}";
        auto unload = translate(body.c_str(), dialect::ollama_generate);
        ASSERT_TRUE(unload);
        EXPECT_EQ(unload->ollama_idiom, compat_request::idiom::unload) << ka;
    }
    auto chat = translate(R"({"model":"tiny","messages":[],"keep_alive":0})", dialect::ollama_chat);
    ASSERT_TRUE(chat);
    EXPECT_EQ(chat->ollama_idiom, compat_request::idiom::unload);
    auto gen =
        translate(R"({"model":"tiny","prompt":"x","keep_alive":0})", dialect::ollama_generate);
    ASSERT_TRUE(gen);
    EXPECT_EQ(gen->ollama_idiom, compat_request::idiom::none);
}

TEST(compat_request, ollama_keep_alive_becomes_the_tasks_keep_alive_ms) {
    auto ms = [](const char* ka) -> std::optional<long long> {
        auto body = std::string(R"({"model":"tiny","prompt":"x","keep_alive":)") + ka + "}";
        auto r = translate(body.c_str(), dialect::ollama_generate);
        if (!r) return std::nullopt;
        auto* v = r->task_body.if_contains("keep_alive_ms");
        return v ? std::optional<long long>(v->as_int64()) : std::optional<long long>(-2);
    };
    EXPECT_EQ(ms("300"), 300'000);
    EXPECT_EQ(ms("1.5"), 1'500);
    EXPECT_EQ(ms("\"5m\""), 300'000);
    EXPECT_EQ(ms("\"1h30m\""), 5'400'000);
    EXPECT_EQ(ms("\"250ms\""), 250);
    EXPECT_EQ(ms("\"10\""), 10'000);
    EXPECT_EQ(ms("0"), 0);
    EXPECT_EQ(ms("-1"), -1);
    EXPECT_EQ(ms("\"-5m\""), -1);
    EXPECT_EQ(ms("\"soon\""), std::nullopt);
    EXPECT_EQ(ms("\"5x\""), std::nullopt);
    EXPECT_EQ(ms("true"), std::nullopt);
    auto none = translate(R"({"model":"tiny","prompt":"x"})", dialect::ollama_generate);
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->task_body.contains("keep_alive_ms"));
}

TEST(compat_request, ollama_refuses_what_it_cannot_honour) {
    EXPECT_EQ(
        refused_param(R"({"model":"t","prompt":"x","images":["aGk="]})", dialect::ollama_generate),
        "images");
    EXPECT_EQ(refused_param(R"({"model":"t","prompt":"x","template":"{{ .Prompt }}"})",
                            dialect::ollama_generate),
              "template");
    EXPECT_EQ(
        refused_param(R"({"model":"t","prompt":"x","format":"yaml"})", dialect::ollama_generate),
        "format");
    EXPECT_EQ(
        refused_param(R"({"model":"t","prompt":"x","stream":"no"})", dialect::ollama_generate),
        "stream");
}

TEST(compat_errors, shapes_follow_the_dialect) {
    auto e = api::make_error(api::error_code::invalid_params, "temperature: must be a number");
    auto o = json::parse(openai_error(e, "cid").body).as_object();
    EXPECT_EQ(o.at("error").at("param").as_string(), "temperature");
    EXPECT_EQ(o.at("error").at("type").as_string(), "invalid_request_error");
    EXPECT_EQ(o.at("error").at("message").as_string(), "temperature: must be a number");
    auto n = api::make_error(api::error_code::not_found, "no such endpoint: GET /v1/x");
    EXPECT_TRUE(json::parse(openai_error(n, "cid").body).at("error").at("param").is_null());
    auto ol = json::parse(ollama_error(n, "cid").body).as_object();
    EXPECT_EQ(ol.size(), 1u);
    EXPECT_EQ(ol.at("error").as_string(), "no such endpoint: GET /v1/x");
    EXPECT_EQ(ollama_error(n, "cid").status, 404);
}

}  // namespace
}  // namespace llorch::orchestrator

namespace llorch::orchestrator {
namespace {

TEST(router_error_writers, the_longest_prefix_shapes_the_error_and_others_keep_the_envelope) {
    http::router r;
    r.set_error_writer("/v1", openai_error);
    r.set_error_writer("/", ollama_error);
    auto e = api::make_error(api::error_code::not_found, "no such endpoint");
    auto v1 = json::parse(r.error_response(e, "/v1/nope", "c").body).as_object();
    EXPECT_TRUE(v1.at("error").is_object());
    EXPECT_TRUE(json::parse(r.error_response(e, "/v1", "c").body).at("error").is_object());
    EXPECT_TRUE(json::parse(r.error_response(e, "/", "c").body).at("error").is_string());
    // Not under a prefix: "/v10" is not "/v1", and "/" names the root alone.
    for (const char* p : {"/v10/x", "/v2/tasks"}) {
        auto o = json::parse(r.error_response(e, p, "c").body).as_object();
        EXPECT_EQ(o.at("code").as_string(), "NOT_FOUND") << p;
        EXPECT_EQ(o.at("correlation_id").as_string(), "c") << p;
    }
}

}  // namespace
}  // namespace llorch::orchestrator
