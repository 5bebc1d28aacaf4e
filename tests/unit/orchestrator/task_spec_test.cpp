// POST /v2/tasks bodies: the original contract's fields and ours, and an INVALID_PARAMS error
// naming the field for anything wrong.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "orchestrator/task_spec.h"

namespace llorch::orchestrator {
namespace {
namespace json = boost::json;

api::api_result<task_spec> parse_spec(const std::string& text) {
    return parse_task_spec(json::parse(text).as_object());
}

TEST(task_spec, reads_the_original_contract_fields) {
    auto t = parse_spec(R"({
        "task_id": "t-1", "session_id": "s-1", "workload": "completion", "model_ref": "tiny",
        "engine": "llamacpp", "ctx": 2048, "priority": "batch", "max_tokens": 12,
        "deadline_ms": 5000, "seed": 42, "determinism": "strict", "inputs": ["Hello"],
        "expected_tokens": 12, "kv_hint": "reuse",
        "placement": {"mode": "pin", "pin_pool_id": "p1", "prefer_pools": ["p2"],
                      "avoid_pools": ["p3", "p4"], "require_device_mask": "0x1",
                      "allow_fallback": true}})");
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(t->task_id, "t-1");
    EXPECT_EQ(t->session_id, "s-1");
    EXPECT_EQ(t->model, "tiny");
    EXPECT_EQ(t->engine, "llamacpp");
    EXPECT_EQ(t->priority, admission::task_priority::batch);
    ASSERT_TRUE(t->deadline);
    EXPECT_EQ(t->deadline->count(), 5000);
    EXPECT_EQ(t->determinism, "strict");
    EXPECT_EQ(t->generation.max_tokens, 12);
    EXPECT_EQ(t->generation.seed, 42);
    ASSERT_TRUE(t->generation.prompt);
    EXPECT_NE(t->generation.prompt->find("Hello"), std::string::npos);
    EXPECT_EQ(t->generation.task_id, "t-1") << "the engine request carries the task id";
    EXPECT_EQ(t->placement.mode, placement::placement_mode::pin);
    EXPECT_EQ(t->placement.pin_pool_id, "p1");
    EXPECT_EQ(t->placement.prefer_pools, std::vector<std::string>{"p2"});
    EXPECT_EQ(t->placement.avoid_pools, (std::vector<std::string>{"p3", "p4"}));
    EXPECT_TRUE(t->placement.allow_fallback);
    EXPECT_TRUE(t->cancel_on_disconnect);
}

TEST(task_spec, takes_model_as_well_as_model_ref_and_ours_sampling_fields) {
    auto t = parse_spec(R"({"model": "tiny", "messages": [{"role": "user", "content": "hi"}],
                       "temperature": 0.5, "top_p": 0.9, "top_k": 40, "stop": ["\n"],
                       "cancel_on_disconnect": false})");
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(t->model, "tiny");
    ASSERT_EQ(t->generation.messages.size(), 1u);
    EXPECT_EQ(t->generation.messages[0].content, "hi");
    EXPECT_EQ(t->generation.temperature, 0.5);
    EXPECT_EQ(t->generation.top_k, 40);
    EXPECT_EQ(t->generation.stop, std::vector<std::string>{"\n"});
    EXPECT_FALSE(t->cancel_on_disconnect);
    EXPECT_EQ(t->priority, admission::task_priority::interactive) << "the default class";
    EXPECT_EQ(t->generation.max_tokens, 0) << "0 means the pool's default";
}

TEST(task_spec, takes_a_task_type_instead_of_a_model) {
    auto t = parse_spec(R"({"task_type": "coding", "prompt": "x"})");
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(t->task_type, "coding");
    EXPECT_TRUE(t->model.empty());
}

TEST(task_spec, generates_distinct_task_and_session_ids_when_absent) {
    auto a = parse_spec(R"({"model": "tiny", "prompt": "x"})");
    auto b = parse_spec(R"({"model": "tiny", "prompt": "x"})");
    ASSERT_TRUE(a && b);
    EXPECT_TRUE(valid_client_id(a->task_id)) << a->task_id;
    EXPECT_TRUE(valid_client_id(a->session_id)) << a->session_id;
    EXPECT_NE(a->task_id, b->task_id);
    EXPECT_NE(a->task_id, a->session_id);
}

TEST(task_spec, each_bad_field_is_invalid_params_naming_the_field) {
    struct bad_case {
        const char* body;
        const char* field;
    };
    const bad_case cases[] = {
        {R"({"prompt": "x"})", "model_ref"},
        {R"({"model": 5, "prompt": "x"})", "model"},
        {R"({"model": "tiny", "task_type": "coding", "prompt": "x"})", "task_type"},
        {R"({"task_type": 3, "prompt": "x"})", "task_type"},
        {R"({"model": "tiny"})", "prompt"},
        {R"({"model": "tiny", "prompt": 7})", "prompt"},
        {R"({"model": "tiny", "prompt": "x", "max_tokens": "ten"})", "max_tokens"},
        {R"({"model": "tiny", "prompt": "x", "max_tokens": -1})", "max_tokens"},
        {R"({"model": "tiny", "prompt": "x", "max_tokens": 0})", "max_tokens"},
        {R"({"model": "tiny", "prompt": "x", "max_tokens": 1e12})", "max_tokens"},
        {R"({"model": "tiny", "prompt": "x", "max_tokens": 100000000000})", "max_tokens"},
        {R"({"model": "tiny", "prompt": "x", "priority": 5})", "priority"},
        {R"({"model": "tiny", "prompt": "x", "priority": "urgent"})", "priority"},
        {R"({"model": "tiny", "prompt": "x", "workload": "embedding"})", "workload"},
        {R"({"model": "tiny", "prompt": "x", "workload": "rerank"})", "workload"},
        {R"({"model": "tiny", "prompt": "x", "workload": 1})", "workload"},
        {R"({"model": "tiny", "prompt": "x", "deadline_ms": 0})", "deadline_ms"},
        {R"({"model": "tiny", "prompt": "x", "deadline_ms": "soon"})", "deadline_ms"},
        {R"({"model": "tiny", "prompt": "x", "determinism": "maybe"})", "determinism"},
        {R"({"model": "tiny", "prompt": "x", "task_id": "a b"})", "task_id"},
        {R"({"model": "tiny", "prompt": "x", "task_id": ""})", "task_id"},
        {R"({"model": "tiny", "prompt": "x", "session_id": "../etc"})", "session_id"},
        {R"({"model": "tiny", "prompt": "x", "ctx": -3})", "ctx"},
        {R"({"model": "tiny", "prompt": "x", "cancel_on_disconnect": "no"})",
         "cancel_on_disconnect"},
        {R"({"model": "tiny", "prompt": "x", "placement": []})", "placement"},
        {R"({"model": "tiny", "prompt": "x", "placement": {"mode": "nearest"}})", "placement.mode"},
        {R"({"model": "tiny", "prompt": "x", "placement": {"mode": "pin"}})",
         "placement.pin_pool_id"},
        {R"({"model": "tiny", "prompt": "x", "placement": {"avoid_pools": "p1"}})",
         "placement.avoid_pools"},
        {R"({"model": "tiny", "prompt": "x", "placement": {"allow_fallback": 1}})",
         "placement.allow_fallback"},
        {R"({"model": "tiny", "prompt": "x", "temperature": -1})", "temperature"},
        {R"({"model": "tiny", "prompt": "x", "seed": "seven"})", "seed"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.body);
        auto t = parse_spec(c.body);
        ASSERT_FALSE(t);
        EXPECT_EQ(t.error().code, api::error_code::invalid_params);
        EXPECT_TRUE(t.error().message.starts_with(std::string(c.field) + ":")) << t.error().message;
    }
}

TEST(task_spec, rejects_a_prompt_that_is_not_valid_utf8) {
    json::object o{{"model", "tiny"}, {"prompt", json::string("bad \xC3\x28 bytes")}};
    auto t = parse_task_spec(o);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code, api::error_code::invalid_params);
    EXPECT_TRUE(t.error().message.starts_with("prompt:")) << t.error().message;
}

TEST(task_spec, ignores_unknown_fields) {
    auto t = parse_spec(R"({"model": "tiny", "prompt": "x", "future_field": {"a": 1}})");
    EXPECT_TRUE(t);
}

TEST(task_spec, client_ids_are_short_and_safe) {
    EXPECT_TRUE(valid_client_id("task-1.a_b:c"));
    EXPECT_TRUE(valid_client_id(std::string(128, 'a')));
    EXPECT_FALSE(valid_client_id(std::string(129, 'a')));
    EXPECT_FALSE(valid_client_id(""));
    EXPECT_FALSE(valid_client_id("a/b"));
    EXPECT_FALSE(valid_client_id("a\nb"));
}

}  // namespace
}  // namespace llorch::orchestrator
