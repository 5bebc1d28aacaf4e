#include "api/flat_json.h"

#include "api/error.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

using llorch::api::flat_json;
namespace json = boost::json;

TEST(flat_json, writes_an_object_a_json_parser_reads_back) {
    flat_json o;
    o.num("n", -42)
        .str("s", "quote \" back\\slash \n tab\t \x01 é")
        .null("z")
        .num("big", 1LL << 60);
    auto v = json::parse(o.closed()).as_object();
    EXPECT_EQ(v.at("n").as_int64(), -42);
    EXPECT_EQ(v.at("s").as_string(), "quote \" back\\slash \n tab\t \x01 é");
    EXPECT_TRUE(v.at("z").is_null());
    EXPECT_EQ(v.at("big").as_int64(), 1LL << 60);
    EXPECT_EQ(v.size(), 4u);
}

TEST(flat_json, closed_leaves_the_writer_open_for_a_twin_with_more_fields) {
    flat_json o;
    EXPECT_EQ(o.closed(), "{}");
    o.num("a", 1);
    auto plain = o.closed();
    o.str("message", "more");
    EXPECT_EQ(plain, R"({"a":1})");
    EXPECT_EQ(o.closed(), R"({"a":1,"message":"more"})");
}

TEST(append_json_escaped, escapes_quotes_backslashes_and_control_characters_only) {
    std::string out = "x";
    llorch::api::append_json_escaped(out, "a\"b\\c\nd\re\tf\x01g\x1fh é/");
    EXPECT_EQ(out, "xa\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001fh é/");
    out.clear();
    llorch::api::append_json_escaped(out, "");
    llorch::api::append_json_escaped(out, "plain");
    EXPECT_EQ(out, "plain");
}
