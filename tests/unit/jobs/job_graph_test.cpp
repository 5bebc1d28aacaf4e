#include "jobs/job_graph.h"

#include <gtest/gtest.h>

#include "task_def_for_tests.h"

namespace llorch::jobs {
namespace {

TEST(job_graph, accepts_a_diamond_and_indexes_both_directions) {
    auto g = job_graph::make(
        {t("plan"), t("a", {"plan"}), t("b", {"plan"}), t("merge", {"a", "b"})}, {});
    ASSERT_TRUE(g) << g.error().message;
    EXPECT_EQ(g->size(), 4u);
    EXPECT_EQ(g->index_of("merge"), 3u);
    EXPECT_EQ(g->index_of("nope"), 4u);
    EXPECT_EQ(g->deps(3), (std::vector<size_t>{1, 2}));
    EXPECT_EQ(g->dependents(0), (std::vector<size_t>{1, 2}));
}

TEST(job_graph, rejects_duplicate_ids) {
    auto g = job_graph::make({t("a"), t("b"), t("a")}, {});
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().code, jobs_errc::duplicate_id);
    EXPECT_NE(g.error().message.find("tasks[2].id: duplicate id 'a'"), std::string::npos);
}

TEST(job_graph, rejects_invalid_ids) {
    for (const std::string& id :
         std::vector<std::string>{"", "a.b", "with space", std::string(65, 'x')}) {
        auto g = job_graph::make({t(id)}, {});
        ASSERT_FALSE(g) << id;
        EXPECT_EQ(g.error().code, jobs_errc::invalid_id);
    }
    EXPECT_TRUE(job_graph::make({t(std::string(64, 'x'))}, {}));
}

TEST(job_graph, rejects_an_unknown_dependency_naming_it) {
    auto g = job_graph::make({t("a"), t("b", {"a", "zz"})}, {});
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().code, jobs_errc::unknown_dependency);
    EXPECT_EQ(g.error().message, "tasks.b.depends_on: unknown task 'zz'");
}

TEST(job_graph, rejects_a_cycle_naming_its_tasks_in_order) {
    auto g = job_graph::make(
        {t("root"), t("a", {"root", "c"}), t("b", {"a"}), t("c", {"b"}), t("leaf", {"c"})}, {});
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().code, jobs_errc::cycle);
    EXPECT_NE(g.error().message.find("a -> c -> b -> a"), std::string::npos) << g.error().message;
    EXPECT_EQ(g.error().message.find("root"), std::string::npos);
    EXPECT_EQ(g.error().message.find("leaf"), std::string::npos);
}

TEST(job_graph, rejects_a_task_depending_on_itself) {
    auto g = job_graph::make({t("a", {"a"})}, {});
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().code, jobs_errc::cycle);
    EXPECT_NE(g.error().message.find("a -> a"), std::string::npos);
}

TEST(job_graph, a_dependency_named_twice_counts_once) {
    auto g = job_graph::make({t("a"), t("b", {"a", "a"})}, {});
    ASSERT_TRUE(g);
    EXPECT_EQ(g->deps(1).size(), 1u);
    EXPECT_EQ(g->dependents(0).size(), 1u);
}

TEST(job_graph, rejects_a_substitution_outside_the_tasks_dependencies) {
    auto g = job_graph::make(
        {t("a"), t("b"), t("c", {"a"}, {"use {{tasks.a.output}} and {{tasks.b.output}}"})}, {});
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().code, jobs_errc::bad_substitution);
    EXPECT_NE(g.error().message.find("tasks.c: {{tasks.b.output}} names 'b', which is not in"),
              std::string::npos)
        << g.error().message;
}

TEST(job_graph, rejects_malformed_placeholders) {
    for (std::string text : {"{{tasks.a.outptu}}", "{{tasks.a.output", "{{tasks.}}",
                             "{{tasks.a b.output}}", "{{tasks.a.output}"}) {
        auto g = job_graph::make({t("a"), t("b", {"a"}, {text})}, {});
        ASSERT_FALSE(g) << text;
        EXPECT_EQ(g.error().code, jobs_errc::bad_substitution) << text;
    }
    // Braces that are not placeholders are plain text.
    EXPECT_TRUE(job_graph::make({t("a"), t("b", {"a"}, {"{{x}} {tasks.a.output}"})}, {}));
}

TEST(job_graph, finds_placeholders_with_positions) {
    auto p = find_placeholders("x{{tasks.a.output}}y{{tasks.b-2.output}}");
    ASSERT_TRUE(p);
    ASSERT_EQ(p->size(), 2u);
    EXPECT_EQ((*p)[0].pos, 1u);
    EXPECT_EQ((*p)[0].len, 18u);
    EXPECT_EQ((*p)[0].task, "a");
    EXPECT_EQ((*p)[1].task, "b-2");
}

TEST(job_graph, enforces_its_bounds) {
    job_limits l;
    l.max_tasks = 3;
    l.max_dependencies = 1;
    l.max_template_bytes = 10;
    EXPECT_EQ(job_graph::make({t("a"), t("b"), t("c"), t("d")}, l).error().code,
              jobs_errc::too_large);
    EXPECT_EQ(job_graph::make({t("a"), t("b"), t("c", {"a", "b"})}, l).error().code,
              jobs_errc::too_large);
    EXPECT_EQ(job_graph::make({t("a", {}, {"0123456", "7890"})}, l).error().code,
              jobs_errc::too_large);
    EXPECT_TRUE(job_graph::make({t("a", {}, {"012345", "6789"})}, l));
    EXPECT_EQ(job_graph::make({}, l).error().code, jobs_errc::too_large);
}

}  // namespace
}  // namespace llorch::jobs
