#include "sim/token_text.h"

#include <gtest/gtest.h>

namespace llorch::sim {
namespace {

TEST(token_text, default_is_the_same_word_with_one_id) {
    token_text t;
    EXPECT_EQ(t.text(0), " tok");
    EXPECT_EQ(t.text(17), " tok");
    EXPECT_EQ(t.id(0), t.id(17));
    EXPECT_GE(t.id(0), token_text::first_id);
    EXPECT_LT(t.id(0), token_text::first_id + 30000);
}

TEST(token_text, cycles_through_alternatives) {
    token_text t(" the| quick| fox");
    EXPECT_EQ(t.text(0) + t.text(1) + t.text(2) + t.text(3), " the quick fox the");
    EXPECT_NE(t.id(0), t.id(1));
    EXPECT_EQ(t.id(0), t.id(3));
}

TEST(token_text, substitutes_the_index) {
    token_text t(" w{i}!");
    EXPECT_EQ(t.text(0), " w0!");
    EXPECT_EQ(t.text(41), " w41!");
}

TEST(token_text, ids_do_not_depend_on_the_instance) {
    EXPECT_EQ(token_text(" a| b").id(1), token_text(" b").id(0));
}

TEST(token_text, counts_prompt_tokens_by_words_and_length) {
    EXPECT_EQ(token_text::count_prompt_tokens(""), 1);
    EXPECT_EQ(token_text::count_prompt_tokens("hi"), 2);
    EXPECT_EQ(token_text::count_prompt_tokens("hi there"), 4);  // bos + 1 + 2
    EXPECT_EQ(token_text::count_prompt_tokens("  a \n b\t"), 3);
}

}  // namespace
}  // namespace llorch::sim
