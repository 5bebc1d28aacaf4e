#include "api/json_pick.h"

#include <limits>

#include <gtest/gtest.h>

using llorch::api::json_pick;
using kind = json_pick::kind;

TEST(json_pick, picks_values_at_nested_paths_and_array_indexes) {
    json_pick p({"content", "stop", "timings.predicted_ms", "choices.0.delta.content",
                 "choices.1.text", "choices.0.delta", "missing", "n", "big", "nil", "list"});
    ASSERT_TRUE(p.parse(R"({"index":0,"content":"he said \"hi\"\n","stop":false,
        "timings":{"predicted_n":2,"predicted_ms":3.75},"content2":"no",
        "choices":[{"delta":{"content":"a\u00e9"}},{"text":"second","delta":"x"}],
        "n":-7,"big":18446744073709551615,"nil":null,"list":[1,[2,{"content":"deep"}]]})"));
    EXPECT_EQ(p[0].k, kind::string);
    EXPECT_EQ(p[0].text, "he said \"hi\"\n");
    EXPECT_EQ(p[1].k, kind::boolean);
    EXPECT_FALSE(p[1].boolean);
    EXPECT_EQ(p[2].k, kind::number);
    EXPECT_DOUBLE_EQ(p[2].number, 3.75);
    EXPECT_EQ(p[2].integer, 3);
    EXPECT_EQ(p[3].text, "a\xc3\xa9");
    EXPECT_EQ(p[4].text, "second");
    EXPECT_EQ(p[5].k, kind::object);
    EXPECT_EQ(p[6].k, kind::absent);
    EXPECT_EQ(p[7].k, kind::integer);
    EXPECT_EQ(p[7].integer, -7);
    EXPECT_EQ(p[8].k, kind::integer);
    EXPECT_EQ(p[9].k, kind::null);
    EXPECT_EQ(p[10].k, kind::array);
}

TEST(json_pick, a_later_text_forgets_the_earlier_values) {
    json_pick p({"content", "stop"});
    ASSERT_TRUE(p.parse(R"({"content":"x","stop":true})"));
    EXPECT_EQ(p[0].text, "x");
    ASSERT_TRUE(p.parse(R"({"stop":false})"));
    EXPECT_EQ(p[0].k, kind::absent);
    EXPECT_EQ(p[0].text, "");
    EXPECT_FALSE(p[1].boolean);
}

TEST(json_pick, a_text_that_is_not_one_object_gives_nothing) {
    json_pick p({"content", "0"});
    for (const char* bad : {"", "[1,2]", "\"content\"", R"({"content":"x")", R"({"content":"x"} 1)",
                            "[DONE]", R"({"content":"\ud800"})"}) {
        SCOPED_TRACE(bad);
        EXPECT_FALSE(p.parse(bad));
        EXPECT_EQ(p[0].k, kind::absent);
    }
}

TEST(json_pick, a_key_given_twice_reads_as_its_last_value_like_the_dom_parse) {
    json_pick p({"content", "error"});
    ASSERT_TRUE(p.parse(R"({"content":"a","content":"b","error":"x","error":{"m":1}})"));
    EXPECT_EQ(p[0].text, "b");
    EXPECT_EQ(p[1].k, kind::object);
}

TEST(json_pick, a_number_beyond_long_long_saturates_its_integer_reading) {
    json_pick p({"up", "down", "small"});
    ASSERT_TRUE(p.parse(R"({"up":1e300,"down":-1e300,"small":-2.9})"));
    EXPECT_EQ(p[0].k, kind::number);
    EXPECT_DOUBLE_EQ(p[0].number, 1e300);
    EXPECT_EQ(p[0].integer, std::numeric_limits<long long>::max());
    EXPECT_EQ(p[1].integer, std::numeric_limits<long long>::min());
    EXPECT_EQ(p[2].integer, -2);
}

TEST(json_pick, an_empty_key_or_one_with_a_dot_in_it_is_not_read_as_a_path) {
    json_pick p({"choices.1", "timings.predicted_ms", "a.b"});
    ASSERT_TRUE(p.parse(R"({"choices.1":"limit","timings.predicted_ms":3,"a":{"b.c":1,"b":2}})"));
    EXPECT_EQ(p[0].k, kind::absent);
    EXPECT_EQ(p[1].k, kind::absent);
    EXPECT_EQ(p[2].k, kind::integer);
    EXPECT_EQ(p[2].integer, 2);
    // Nor is an empty key: {"": {"a.b": …}} holds no "a.b".
    ASSERT_TRUE(p.parse(R"({"":{"a":{"b":1}}})"));
    EXPECT_EQ(p[2].k, kind::absent);
}

TEST(json_pick, a_key_given_twice_forgets_what_its_first_value_held_below_it) {
    json_pick p({"a.0.b", "a.1", "c"});
    ASSERT_TRUE(p.parse(R"({"a":[{"b":[0,2]},{}],"c":1,"a":[{"x":1}]})"));
    EXPECT_EQ(p[0].k, kind::absent);
    EXPECT_EQ(p[1].k, kind::absent);
    EXPECT_EQ(p[2].k, kind::integer);
}
