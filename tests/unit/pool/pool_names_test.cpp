// The names a pool answers to: the list a node registers (model_names) and the check a submitted
// task's model goes through (answers_to) must agree.
#include <gtest/gtest.h>

#include "pool/pool_names.h"

namespace llorch::pool {
namespace {

pool_snapshot pool(std::string name, std::vector<std::string> aliases, std::string model) {
    pool_snapshot s;
    s.name = std::move(name);
    s.aliases = std::move(aliases);
    s.model = std::move(model);
    return s;
}

TEST(pool_names, every_listed_name_is_answered_to) {
    for (const auto& s : {pool("tiny", {"t", "small"}, "/models/tiny.gguf"), pool("tiny", {}, ""),
                          pool("tiny", {"a"}, "tiny")}) {
        for (const auto& n : model_names(s))
            EXPECT_TRUE(answers_to(s.name, s.aliases, s.model, n)) << s.name << " / " << n;
    }
}

TEST(pool_names, other_names_are_not) {
    auto s = pool("tiny", {"t"}, "/models/tiny.gguf");
    EXPECT_EQ(model_names(s), (std::vector<std::string>{"tiny", "t", "/models/tiny.gguf",
                                                        "file:/models/tiny.gguf"}));
    for (std::string_view n :
         {"tin", "tiny ", "file:tiny", "file:", "/models/other.gguf", "file:/models/tiny.ggu", ""})
        EXPECT_FALSE(answers_to(s.name, s.aliases, s.model, n)) << n;
    // No path: no path names, not even "file:" alone.
    auto bare = pool("tiny", {}, "");
    EXPECT_EQ(model_names(bare), std::vector<std::string>{"tiny"});
    EXPECT_FALSE(answers_to(bare.name, bare.aliases, bare.model, "file:"));
    // A path equal to the name adds nothing.
    auto same = pool("tiny", {}, "tiny");
    EXPECT_FALSE(answers_to(same.name, same.aliases, same.model, "file:tiny"));
}

}  // namespace
}  // namespace llorch::pool
