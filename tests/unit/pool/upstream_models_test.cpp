#include "engines/upstream_models.h"

#include <gtest/gtest.h>

namespace llorch::engines {
namespace {

TEST(upstream_models, reads_ollama_tags) {
    auto m =
        parse_upstream_models(engine_kind_id::ollama,
                              R"({"models":[{"name":"qwen2.5:14b","model":"qwen2.5:14b","size":1},)"
                              R"({"name":"llama3:latest","model":"llama3:latest"},{"nope":1},7]})");
    ASSERT_TRUE(m);
    EXPECT_EQ(*m, (std::vector<std::string>{"qwen2.5:14b", "llama3:latest"}));
}

TEST(upstream_models, reads_openai_model_list) {
    auto m = parse_upstream_models(engine_kind_id::openai,
                                   R"({"object":"list","data":[{"id":"gpt-x"},{"id":"tiny"}]})");
    ASSERT_TRUE(m);
    EXPECT_EQ(*m, (std::vector<std::string>{"gpt-x", "tiny"}));
}

TEST(upstream_models, refuses_other_shapes) {
    EXPECT_FALSE(parse_upstream_models(engine_kind_id::ollama, "not json"));
    EXPECT_FALSE(parse_upstream_models(engine_kind_id::ollama, R"({"data":[]})"));
    EXPECT_FALSE(parse_upstream_models(engine_kind_id::openai, R"({"data":{}})"));
    EXPECT_FALSE(parse_upstream_models(engine_kind_id::llamacpp, R"({"data":[]})"));
}

TEST(upstream_models, an_untagged_name_is_the_latest_tag) {
    const std::vector<std::string> listed{"llama3:latest", "qwen2.5:14b"};
    EXPECT_TRUE(lists_model(listed, "llama3"));
    EXPECT_TRUE(lists_model(listed, "llama3:latest"));
    EXPECT_TRUE(lists_model(listed, "qwen2.5:14b"));
    EXPECT_FALSE(lists_model(listed, "qwen2.5"));
    EXPECT_FALSE(lists_model(listed, "qwen2.5:32b"));
    EXPECT_TRUE(lists_model({"tiny"}, "tiny:latest"));
}

}  // namespace
}  // namespace llorch::engines
