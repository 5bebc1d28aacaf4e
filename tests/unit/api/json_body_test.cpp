#include "api/json_body.h"
#include "api/json_duplicate_keys.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace llorch::api {
namespace {
namespace json = boost::json;
using std::chrono::milliseconds;

json::object object(std::string_view text) { return json::parse(text).as_object(); }

TEST(json_body, an_empty_body_is_an_empty_object) {
    for (std::string_view body : {"", " ", "\r\n\t "}) {
        auto o = parse_json_body(body);
        ASSERT_TRUE(o) << "'" << body << "': " << o.error().message;
        EXPECT_TRUE(o->empty());
    }
}

TEST(json_body, an_object_is_taken_as_sent) {
    auto o = parse_json_body(R"({"deadline_ms": 5, "x": "y"})");
    ASSERT_TRUE(o);
    EXPECT_EQ(o->at("deadline_ms").as_int64(), 5);
    EXPECT_EQ(o->at("x").as_string(), "y");
}

TEST(json_body, invalid_json_is_invalid_params) {
    for (std::string_view body : {"{", "{\"a\":}", "nope", "{} {}"}) {
        auto o = parse_json_body(body);
        ASSERT_FALSE(o) << body;
        EXPECT_EQ(o.error().code, error_code::invalid_params);
        EXPECT_EQ(o.error().http_status(), 400);
        EXPECT_NE(o.error().message.find("not valid JSON"), std::string::npos);
    }
}

TEST(json_body, a_value_other_than_an_object_is_invalid_params) {
    for (std::string_view body : {"[]", "[1]", "42", "\"text\"", "null", "true"}) {
        auto o = parse_json_body(body);
        ASSERT_FALSE(o) << body;
        EXPECT_EQ(o.error().code, error_code::invalid_params);
        EXPECT_NE(o.error().message.find("JSON object"), std::string::npos);
    }
}

TEST(json_body, a_duration_is_an_integer_within_its_range) {
    const milliseconds fallback{30'000}, min{0}, max{86'400'000};
    auto read = [&](std::string_view text) {
        return duration_ms_field(object(text), "deadline_ms", fallback, min, max);
    };
    EXPECT_EQ(*read("{}"), fallback);
    EXPECT_EQ(*read(R"({"deadline_ms": null})"), fallback);
    EXPECT_EQ(*read(R"({"deadline_ms": 0})"), milliseconds(0));
    EXPECT_EQ(*read(R"({"deadline_ms": 5000})"), milliseconds(5000));
    EXPECT_EQ(*read(R"({"deadline_ms": 86400000})"), max);
    for (std::string_view bad :
         {R"({"deadline_ms": -1})", R"({"deadline_ms": "abc"})", R"({"deadline_ms": "5000"})",
          R"({"deadline_ms": 1.5})", R"({"deadline_ms": 86400001})",
          R"({"deadline_ms": 9223372036854775807})", R"({"deadline_ms": 18446744073709551615})",
          R"({"deadline_ms": -9223372036854775808})", R"({"deadline_ms": true})",
          R"({"deadline_ms": [1]})"}) {
        auto d = read(bad);
        ASSERT_FALSE(d) << bad;
        EXPECT_EQ(d.error().code, error_code::invalid_params);
        EXPECT_NE(d.error().message.find("deadline_ms"), std::string::npos) << "names the field";
    }
}

TEST(json_body, a_required_string_must_be_there_and_not_empty) {
    // The field is a view into the object, which has to outlive it.
    const auto body = object(R"({"new_model_ref": "/m.gguf"})");
    auto ok = required_string_field(body, "new_model_ref", "give the path");
    ASSERT_TRUE(ok);
    EXPECT_EQ(*ok, "/m.gguf");
    for (std::string_view bad : {"{}", R"({"new_model_ref": ""})", R"({"new_model_ref": 3})",
                                 R"({"new_model_ref": null})"}) {
        const auto o = object(bad);
        auto r = required_string_field(o, "new_model_ref", "give the path");
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, error_code::invalid_params);
        EXPECT_EQ(r.error().message, "new_model_ref: give the path");
    }
}

TEST(json_body, a_key_twice_in_one_object_is_invalid_params_naming_it) {
    for (std::string_view body :
         {R"({"model":"a","model":"b"})", R"({"x":{"deadline_ms":1,"deadline_ms":2}})",
          R"({"list":[{"k":1,"k":1}]})"}) {
        auto o = parse_json_body(body);
        ASSERT_FALSE(o) << body;
        EXPECT_EQ(o.error().code, error_code::invalid_params);
        EXPECT_NE(o.error().message.find("twice"), std::string::npos) << o.error().message;
    }
    auto o = parse_json_body(R"({"model":"a","x":{"model":"b"}})");
    EXPECT_TRUE(o) << "the same key in two objects is no duplicate";
}

TEST(json_body, first_duplicate_key_names_the_key_even_split_across_escapes) {
    EXPECT_EQ(first_duplicate_key(R"({"ab":1,"ab":2})"), "ab");
    EXPECT_EQ(first_duplicate_key(R"({"a":1,"b":[{"a":1}],"c":{"a":{"a":1}}})"), std::nullopt);
    EXPECT_EQ(first_duplicate_key("{\"a\":"), std::nullopt)
        << "invalid JSON is the parse's to report";
}

}  // namespace
}  // namespace llorch::api
