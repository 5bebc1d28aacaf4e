// POST /v2/jobs bodies: options, tasks as task bodies with id and depends_on, defaults, and an
// INVALID_PARAMS error naming the task and the field.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "orchestrator/job_spec.h"

namespace llorch::orchestrator {
namespace {
namespace json = boost::json;

api::api_result<job_spec> parse_job(const std::string& text, jobs::job_limits l = {}) {
    return parse_job_spec(json::parse(text).as_object(), l);
}

TEST(job_spec, reads_options_tasks_and_defaults) {
    auto j =
        parse_job(R"({"job_id": "j-1", "max_parallel": 3, "fail_fast": true, "deadline_ms": 9000,
        "task_retries": 2,
        "defaults": {"model": "tiny", "max_tokens": 4, "temperature": 0},
        "tasks": [{"id": "plan", "prompt": "p"},
                  {"id": "do", "depends_on": ["plan"], "model": "other", "task_id": "ignored",
                   "messages": [{"role": "system", "content": "s"},
                                {"role": "user", "content": "u {{tasks.plan.output}}"}]}]})");
    ASSERT_TRUE(j) << j.error().message;
    EXPECT_EQ(j->job_id, "j-1");
    EXPECT_EQ(j->options.max_parallel, 3u);
    EXPECT_TRUE(j->options.fail_fast);
    EXPECT_EQ(j->options.deadline, std::chrono::milliseconds(9000));
    EXPECT_EQ(j->options.task_retries, 2);
    ASSERT_EQ(j->tasks.size(), 2u);
    EXPECT_EQ(j->tasks[0].task_id, "j-1.plan");
    EXPECT_EQ(j->tasks[0].model, "tiny");
    EXPECT_EQ(j->tasks[0].generation.max_tokens, 4);
    EXPECT_EQ(j->tasks[1].task_id, "j-1.do");
    EXPECT_EQ(j->tasks[1].model, "other");
    EXPECT_FALSE(j->tasks[1].cancel_on_disconnect);
    EXPECT_NE(j->tasks[0].session_id, j->tasks[1].session_id);
    EXPECT_EQ(j->graph.deps(1), (std::vector<size_t>{0}));
    EXPECT_EQ(j->graph.task(1).texts, (std::vector<std::string>{"s", "u {{tasks.plan.output}}"}));
}

TEST(job_spec, generates_a_job_id) {
    auto j = parse_job(R"({"tasks": [{"id": "a", "model": "tiny", "prompt": "p"}]})");
    ASSERT_TRUE(j);
    EXPECT_EQ(j->job_id.size(), 36u);
    EXPECT_EQ(j->tasks[0].task_id, j->job_id + ".a");
}

TEST(job_spec, puts_substituted_texts_back_in_place) {
    auto j = parse_job(R"({"tasks": [{"id": "a", "model": "tiny", "prompt": "p",
        "messages": [{"role": "user", "content": "m"}]}]})");
    ASSERT_TRUE(j);
    auto t = j->tasks[0];
    EXPECT_EQ(job_texts(t), (std::vector<std::string>{"p", "m"}));
    set_job_texts(t, {"P", "M"});
    EXPECT_EQ(*t.generation.prompt, "P");
    EXPECT_EQ(t.generation.messages[0].content, "M");
}

TEST(job_spec, names_the_task_and_field_of_what_is_wrong) {
    struct c {
        const char* body;
        const char* says;
    };
    for (auto [body, says] : std::initializer_list<c>{
             {R"({"tasks": []})", "tasks"},
             {R"({"tasks": {}})", "tasks"},
             {R"({"tasks": [1]})", "tasks[0]"},
             {R"({"tasks": [{"prompt": "p", "model": "m"}]})", "tasks[0].id"},
             {R"({"tasks": [{"id": "a.b", "prompt": "p", "model": "m"}]})", "tasks[0].id"},
             {R"({"tasks": [{"id": "a", "prompt": "p"}]})", "tasks.a: model_ref"},
             {R"({"tasks": [{"id": "a", "model": "m", "depends_on": "b"}]})", "tasks.a.depends_on"},
             {R"({"tasks": [{"id": "a", "model": "m", "prompt": "p", "max_tokens": "x"}]})",
              "tasks.a: max_tokens"},
             {R"({"max_parallel": -1, "tasks": [{"id": "a", "model": "m"}]})", "max_parallel"},
             {R"({"fail_fast": 1, "tasks": [{"id": "a", "model": "m"}]})", "fail_fast"},
             {R"({"task_retries": 6, "tasks": [{"id": "a", "model": "m"}]})", "task_retries"},
             {R"({"deadline_ms": 0, "tasks": [{"id": "a", "model": "m"}]})", "deadline_ms"},
             {R"({"job_id": "a b", "tasks": [{"id": "a", "model": "m"}]})", "job_id"},
             {R"({"defaults": 3, "tasks": [{"id": "a", "model": "m"}]})", "defaults"},
             {R"({"tasks": [{"id": "a", "model": "m", "prompt": "p", "depends_on": ["a"]}]})",
              "dependency cycle: a -> a"},
         }) {
        auto j = parse_job(body);
        ASSERT_FALSE(j) << body;
        EXPECT_EQ(j.error().code, api::error_code::invalid_params) << body;
        EXPECT_NE(j.error().message.find(says), std::string::npos)
            << body << " → " << j.error().message;
    }
}

TEST(job_spec, bounds_the_number_of_tasks) {
    jobs::job_limits l;
    l.max_tasks = 2;
    auto j = parse_job(R"({"tasks": [{"id": "a", "model": "m"}, {"id": "b", "model": "m"},
        {"id": "c", "model": "m"}]})",
                       l);
    ASSERT_FALSE(j);
    EXPECT_NE(j.error().message.find("at most 2"), std::string::npos);
}

}  // namespace
}  // namespace llorch::orchestrator
