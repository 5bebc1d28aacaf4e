#include <gtest/gtest.h>

#include "handoff_test_support.h"

namespace llorch::pool {
namespace {

// ---------------------------------------------------------------------------------------------
// JSON

TEST(handoff_json, round_trip_keeps_every_field) {
    const handoff h = full_handoff();
    const auto parsed = parse_handoff(to_json(h));
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, h);
}

TEST(handoff_json, round_trip_without_optional_fields) {
    const handoff h = minimal_handoff();
    const std::string text = to_json(h);
    EXPECT_EQ(text.find("pid"), std::string::npos);
    EXPECT_EQ(text.find("api_key_env"), std::string::npos);
    const auto parsed = parse_handoff(text);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, h);
    EXPECT_FALSE(parsed->pid.has_value());
}

TEST(handoff_json, writes_the_original_keys) {
    const auto v = boost::json::parse(to_json(full_handoff()));
    const auto& o = v.as_object();
    EXPECT_EQ(o.at("pool_id").as_string(), "tiny");
    EXPECT_EQ(o.at("engine").as_string(), "llamacpp");
    EXPECT_EQ(o.at("endpoint").as_string(), "http://127.0.0.1:8081");
    EXPECT_EQ(o.at("gpu_device").as_string(), "0,1");
    EXPECT_EQ(o.at("slots").as_int64(), 4);
    EXPECT_EQ(o.at("ready").as_bool(), true);
    EXPECT_EQ(o.at("pid").as_int64(), 4242);
    EXPECT_EQ(o.at("api_key_env").as_string(), "TINY_API_KEY");
}

TEST(handoff_json, reads_the_original_provisioner_shape) {
    const auto parsed = parse_handoff(R"({
        "engine": "llamacpp", "engine_version": "b1234", "provisioning_mode": "source",
        "url": "http://127.0.0.1:8080", "pool_id": "pool-0", "replica_id": "r0",
        "model": {"path": "/models/qwen.gguf"}, "flags": ["--parallel", "1"]})");
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->pool_id, "pool-0");
    EXPECT_EQ(parsed->endpoint, "http://127.0.0.1:8080");
    EXPECT_EQ(parsed->engine, "llamacpp");
    EXPECT_EQ(parsed->engine_version, "b1234");
    EXPECT_EQ(parsed->replica_id, "r0");
    EXPECT_EQ(parsed->model_path, "/models/qwen.gguf");
    EXPECT_EQ(parsed->model, "");
    EXPECT_EQ(parsed->slots, 1);  // absent: one sequence
    EXPECT_TRUE(parsed->ready);   // absent: written once ready
}

TEST(handoff_json, reads_alternative_spellings_and_numbers) {
    const auto parsed = parse_handoff(
        R"({"pool_id":"a","http_endpoint":"http://localhost:1","device_mask":0,"replica_id":3,
            "slots":8,"ready":false})");
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->endpoint, "http://localhost:1");
    EXPECT_EQ(parsed->gpu_device, "0");
    EXPECT_EQ(parsed->replica_id, "3");
    EXPECT_EQ(parsed->slots, 8);
    EXPECT_FALSE(parsed->ready);

    const auto device = parse_handoff(R"({"pool_id":"a","url":"http://h:1","device":"cpu"})");
    ASSERT_TRUE(device) << device.error().message;
    EXPECT_EQ(device->gpu_device, "cpu");
}

TEST(handoff_json, endpoint_wins_over_url) {
    const auto parsed =
        parse_handoff(R"({"pool_id":"a","endpoint":"http://h:1","url":"http://other:2"})");
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->endpoint, "http://h:1");
}

TEST(handoff_json, ignores_unknown_keys_and_nulls) {
    const auto parsed = parse_handoff(
        R"({"pool_id":"a","endpoint":"http://h:1","future":{"x":[1,2]},"pid":null,"model":null})");
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_FALSE(parsed->pid.has_value());
    EXPECT_EQ(parsed->model, "");
}

TEST(handoff_json, accepts_common_endpoint_forms) {
    for (const std::string url : {"http://127.0.0.1:8080", "https://api.example.com/v1",
                                  "http://[::1]:8080", "HTTP://LocalHost", "http://h:65535/"}) {
        const auto parsed = parse_handoff(R"({"pool_id":"a","endpoint":")" + url + R"("})");
        EXPECT_TRUE(parsed) << url << ": " << parsed.error().message;
    }
}

struct malformed_case {
    std::string json;
    std::string message;  // a part of the expected error
};

void PrintTo(const malformed_case& c, std::ostream* os) { *os << c.json; }

class handoff_malformed : public testing::TestWithParam<malformed_case> {};

TEST_P(handoff_malformed, gives_a_message_naming_the_problem) {
    const auto parsed = parse_handoff(GetParam().json);
    ASSERT_FALSE(parsed) << GetParam().json;
    EXPECT_NE(parsed.error().message.find(GetParam().message), std::string::npos)
        << "error: " << parsed.error().message;
    EXPECT_EQ(parsed.error().message.find('\n'), std::string::npos);
}

#define EP R"("endpoint":"http://127.0.0.1:1")"
INSTANTIATE_TEST_SUITE_P(
    cases, handoff_malformed,
    testing::Values(
        malformed_case{"", "invalid JSON"}, malformed_case{"{\"pool_id\": ", "invalid JSON"},
        malformed_case{"not json", "invalid JSON"},
        malformed_case{"[1,2]", "must be a JSON object (got an array)"},
        malformed_case{"{" EP "}", "pool_id: required"},
        malformed_case{R"({"pool_id":null,)" EP "}", "pool_id: required"},
        malformed_case{R"({"pool_id":7,)" EP "}", "pool_id: must be a string (got an integer)"},
        malformed_case{R"({"pool_id":"../etc",)" EP "}", "pool_id: must be 1-64"},
        malformed_case{R"({"pool_id":".hidden",)" EP "}", "not starting with '.'"},
        malformed_case{R"({"pool_id":""})", "pool_id: must be 1-64"},
        malformed_case{R"({"pool_id":"a"})", "endpoint: required"},
        malformed_case{R"({"pool_id":"a","endpoint":"ftp://h:1"})",
                       "endpoint: must be an http:// or https:// URL"},
        malformed_case{R"({"pool_id":"a","endpoint":"127.0.0.1:8080"})", "must be an http://"},
        malformed_case{R"({"pool_id":"a","endpoint":"http://"})", "endpoint: has no host"},
        malformed_case{R"({"pool_id":"a","endpoint":"http://:80"})", "has no host"},
        malformed_case{R"({"pool_id":"a","endpoint":"http://h:0"})", "port outside 1-65535"},
        malformed_case{R"({"pool_id":"a","endpoint":"http://h:99999"})", "port outside"},
        malformed_case{R"({"pool_id":"a","endpoint":"http://h:8x"})", "malformed port"},
        malformed_case{R"({"pool_id":"a","endpoint":"http://u:pw@h:1"})", "user info"},
        malformed_case{R"({"pool_id":"a","endpoint":"http://h 1"})", "spaces"},
        malformed_case{R"({"pool_id":"a","url":5})", "url: must be a string (got an integer)"},
        malformed_case{R"({"pool_id":"a","url":"gopher://h"})", "url: must be an http://"},
        malformed_case{R"({"pool_id":"a",)" EP R"(,"slots":0})", "slots: must be at least 1"},
        malformed_case{R"({"pool_id":"a",)" EP R"(,"slots":-3})", "slots: must be at least 1"},
        malformed_case{R"({"pool_id":"a",)" EP R"(,"slots":"4"})",
                       "slots: must be an integer (got a string)"},
        malformed_case{R"({"pool_id":"a",)" EP R"(,"slots":2.5})",
                       "slots: must be an integer (got a number)"},
        malformed_case{R"({"pool_id":"a",)" EP R"(,"ready":"yes"})",
                       "ready: must be true or false (got a string)"},
        malformed_case{R"({"pool_id":"a",)" EP R"(,"ready":1})", "ready: must be true or false"},
        malformed_case{R"({"pool_id":"a",)" EP R"(,"engine":3})", "engine: must be a string"},
        malformed_case{R"({"pool_id":"a",)" EP R"(,"gpu_device":[0]})",
                       "gpu_device: must be a string or an integer (got an array)"},
        malformed_case{R"({"pool_id":"a",)" EP R"(,"model":5})",
                       "model: must be a string or an object"},
        malformed_case{R"({"pool_id":"a",)" EP R"(,"model":{"path":1}})",
                       "model.path: must be a string"},
        malformed_case{R"({"pool_id":"a",)" EP R"(,"pid":"12"})", "pid: must be an integer"},
        malformed_case{R"({"pool_id":"a",)" EP R"(,"pid":0})", "pid: must be a positive"},
        malformed_case{R"({"pool_id":"a",)" EP R"(,"written_at":false})",
                       "written_at: must be a string"},
        malformed_case{R"({"pool_id":"a",)" EP R"(,"api_key_env":"sk-secret-123"})",
                       "api_key_env: must name an environment variable"}));
#undef EP

TEST(handoff_json, api_key_env_error_does_not_echo_the_value) {
    const auto parsed =
        parse_handoff(R"({"pool_id":"a","endpoint":"http://h:1","api_key_env":"sk-secret-123"})");
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().message.find("sk-secret"), std::string::npos)
        << parsed.error().message;
}

TEST(handoff_file, read_prefixes_errors_with_the_path) {
    temp_dir dir;
    const auto path = dir.path() / "bad.json";
    write_text(path, R"({"pool_id":"a"})");
    const auto parsed = read_handoff_file(path);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().message.rfind(path.string() + ": endpoint: required", 0), 0u)
        << parsed.error().message;

    const auto missing = read_handoff_file(dir.path() / "missing.json");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("missing.json"), std::string::npos)
        << missing.error().message;
}

// ---------------------------------------------------------------------------------------------
// Atomic write

TEST(handoff_file, write_creates_pool_file_and_nothing_else) {
    temp_dir dir;
    handoff h = full_handoff();
    h.written_at.clear();
    const auto written = write_handoff_atomic(dir.path(), h);
    ASSERT_TRUE(written) << written.error().message;
    EXPECT_EQ(list_dir(dir.path()), std::set<std::string>{"tiny.json"});
    const auto back = read_handoff_file(dir.path() / "tiny.json");
    ASSERT_TRUE(back) << back.error().message;
    // written_at is filled in at write time, in RFC 3339 UTC.
    ASSERT_EQ(back->written_at.size(), 20u) << back->written_at;
    EXPECT_EQ(back->written_at[10], 'T');
    EXPECT_EQ(back->written_at.back(), 'Z');
    handoff expected_back = h;
    expected_back.written_at = back->written_at;
    EXPECT_EQ(*back, expected_back);
}

TEST(handoff_file, write_keeps_a_given_written_at_and_creates_the_directory) {
    temp_dir dir;
    const auto sub = dir.path() / "run" / "engines";
    ASSERT_TRUE(write_handoff_atomic(sub, full_handoff()));
    const auto back = read_handoff_file(handoff_path(sub, "tiny"));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, full_handoff());
}

TEST(handoff_file, write_replaces_the_previous_file) {
    temp_dir dir;
    ASSERT_TRUE(write_handoff_atomic(dir.path(), minimal_handoff("p")));
    handoff h = minimal_handoff("p");
    h.slots = 9;
    ASSERT_TRUE(write_handoff_atomic(dir.path(), h));
    EXPECT_EQ(list_dir(dir.path()), std::set<std::string>{"p.json"});
    EXPECT_EQ(read_handoff_file(dir.path() / "p.json")->slots, 9);
}

TEST(handoff_file, write_refuses_a_handoff_the_reader_would_reject) {
    temp_dir dir;
    handoff h = minimal_handoff();
    h.endpoint = "127.0.0.1:80";
    auto written = write_handoff_atomic(dir.path(), h);
    ASSERT_FALSE(written);
    EXPECT_NE(written.error().message.find("endpoint"), std::string::npos)
        << written.error().message;

    h = minimal_handoff("../escape");
    written = write_handoff_atomic(dir.path(), h);
    ASSERT_FALSE(written);
    EXPECT_NE(written.error().message.find("pool_id"), std::string::npos)
        << written.error().message;

    h = minimal_handoff();
    h.slots = 0;
    EXPECT_FALSE(write_handoff_atomic(dir.path(), h));
    EXPECT_TRUE(list_dir(dir.path()).empty());
    EXPECT_FALSE(fs::exists(dir.path().parent_path() / "escape.json"));
}

TEST(handoff_file, failed_write_leaves_no_partial_file_and_no_temporary) {
    temp_dir dir;
    // A directory where the file should go makes the final rename fail after the temporary
    // file was fully written.
    fs::create_directories(dir.path() / "p1.json" / "inside");
    const auto written = write_handoff_atomic(dir.path(), minimal_handoff("p1"));
    ASSERT_FALSE(written);
    EXPECT_NE(written.error().message.find("rename failed"), std::string::npos)
        << written.error().message;
    EXPECT_EQ(list_dir(dir.path()), std::set<std::string>{"p1.json"});
    EXPECT_TRUE(fs::is_directory(dir.path() / "p1.json" / "inside"));
}

TEST(handoff_file, readers_never_see_a_partial_file) {
    temp_dir dir;
    handoff small = minimal_handoff("race");
    handoff large = minimal_handoff("race");
    large.model = std::string(3000, 'm');  // several writes' worth if it were not atomic
    ASSERT_TRUE(write_handoff_atomic(dir.path(), small));

    const auto path = dir.path() / "race.json";
    std::atomic<bool> done{false};
    std::atomic<int> reads{0};
    std::atomic<int> bad{0};
    std::string first_bad;
    std::thread reader([&] {
        while (!done.load()) {
            const auto parsed = read_handoff_file(path);
            ++reads;
            if (!parsed || (parsed->model != small.model && parsed->model != large.model)) {
                if (bad.fetch_add(1) == 0)
                    first_bad = parsed ? parsed->model : parsed.error().message;
            }
        }
    });
    for (int i = 0; i < 300; ++i) {
        const auto written = write_handoff_atomic(dir.path(), i % 2 ? small : large);
        EXPECT_TRUE(written) << written.error().message;
        if (!written) break;
    }
    // The reader gets at least one look after the last write.
    const int reads_before = reads.load();
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (reads.load() < reads_before + 2 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
    }
    done = true;
    reader.join();
    EXPECT_EQ(bad.load(), 0) << first_bad;
    EXPECT_GT(reads.load(), 0);
    EXPECT_EQ(list_dir(dir.path()), std::set<std::string>{"race.json"});
}

TEST(handoff_file, remove_deletes_and_tolerates_a_missing_file) {
    temp_dir dir;
    ASSERT_TRUE(write_handoff_atomic(dir.path(), minimal_handoff("gone")));
    ASSERT_TRUE(remove_handoff(dir.path(), "gone"));
    EXPECT_FALSE(fs::exists(dir.path() / "gone.json"));
    EXPECT_TRUE(remove_handoff(dir.path(), "gone"));
    EXPECT_FALSE(remove_handoff(dir.path(), "../gone"));
}

}  // namespace
}  // namespace llorch::pool
