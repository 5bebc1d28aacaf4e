// The placement rules file: [task_types] and [[affinity]], with errors naming the key.
#include "orchestrator/placement_rules.h"

#include <gtest/gtest.h>

namespace llorch::orchestrator {
namespace {

TEST(placement_rules, reads_task_types_and_affinity_rules) {
    placement_rules r;
    ASSERT_EQ(parse_placement_rules(R"(
[task_types]
planning = "qwen2.5:14b"
coding = "qwen2.5-coder:32b"

[[affinity]]
model = "*:32b"
label = "big"
required = true

[[affinity]]
priority = "interactive"
label = "fast"
weight = 0.75
)",
                                    r),
              "");
    EXPECT_EQ(r.task_types.size(), 2u);
    EXPECT_EQ(r.task_types["coding"], "qwen2.5-coder:32b");
    ASSERT_EQ(r.affinity.size(), 2u);
    EXPECT_EQ(r.affinity[0].model, "*:32b");
    EXPECT_EQ(r.affinity[0].label, "big");
    EXPECT_TRUE(r.affinity[0].required);
    EXPECT_EQ(r.affinity[1].priority, "interactive");
    EXPECT_FALSE(r.affinity[1].required);
    EXPECT_DOUBLE_EQ(r.affinity[1].weight, 0.75);
}

TEST(placement_rules, an_empty_file_has_no_rules) {
    placement_rules r;
    EXPECT_EQ(parse_placement_rules("", r), "");
    EXPECT_TRUE(r.task_types.empty());
    EXPECT_TRUE(r.affinity.empty());
}

TEST(placement_rules, each_mistake_names_its_key) {
    const std::pair<const char*, const char*> cases[] = {
        {"[task_types]\ncoding = 5\n", "task_types.coding: "},
        {"[task_types]\ncoding = \"\"\n", "task_types.coding: "},
        {"task_types = 1\n", "task_types: "},
        {"[[affinity]]\nmodel = \"*\"\n", "affinity[0].label: required"},
        {"[[affinity]]\nlabel = \"big\"\nrequired = \"yes\"\n", "affinity[0].required: "},
        {"[[affinity]]\nlabel = \"big\"\npriority = \"high\"\n", "affinity[0].priority: "},
        {"[[affinity]]\nlabel = \"big\"\nweight = \"x\"\n", "affinity[0].weight: "},
        {"[[affinity]]\nlabel = \"big\"\nrequired = true\nweight = 1\n", "affinity[0].weight: "},
        {"[[affinity]]\nlabel = \"big\"\n[[affinity]]\nlabl = \"x\"\n",
         "affinity[1].labl: unknown"},
        {"[pools]\n", "pools: unknown table"},
        {"[task_types\n", "TOML syntax error at line 1"},
    };
    for (const auto& [text, prefix] : cases) {
        placement_rules r;
        const auto why = parse_placement_rules(text, r);
        EXPECT_EQ(why.rfind(prefix, 0), 0u) << text << " → " << why;
    }
}

TEST(placement_rules, a_missing_file_names_its_path) {
    placement_rules r;
    EXPECT_EQ(load_placement_rules("/nonexistent/rules.toml", r),
              "/nonexistent/rules.toml: cannot read");
}

}  // namespace
}  // namespace llorch::orchestrator
