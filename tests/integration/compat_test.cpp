// OpenAI- and Ollama-compatible endpoints of orchestratord (HOME profile, real llama-server).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "support/test_support.h"

namespace llorch::test {
namespace {
namespace json = boost::json;

class compat : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = new std::filesystem::path(temp_dir("compat"));
        auto cfg = *dir_ / "pools.toml";
        std::ofstream(cfg) << "[[pools]]\nid = \"tiny\"\nengine = \"llamacpp\"\nmodel = \""
                           << tiny_model().string()
                           << "\"\ndevice = \"cpu\"\nslots = 2\nctx = 512\nthreads = 1\n";
        proc_ = new common::subprocess(
            start_process({(bin_dir() / "orchestratord").string(), "--config", cfg.string(),
                           "--addr", "127.0.0.1:0", "--runtime-dir", (*dir_ / "rt").string()},
                          *dir_ / "orchestratord.log"));
        port_ = listening_port(*proc_, *dir_ / "orchestratord.log", "orchestratord");
        if (!wait_http_ok(base() + "/ready"))
            setup_error_ = "not ready: " + read_file(*dir_ / "orchestratord.log");
    }
    // A fatal failure in SetUpTestSuite would read as a skip: each test fails instead.
    void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }
    static void TearDownTestSuite() {
        delete proc_;
        proc_ = nullptr;
    }
    static std::string base() { return "http://127.0.0.1:" + std::to_string(port_); }
    static inline std::filesystem::path* dir_ = nullptr;
    static inline uint16_t port_ = 0;
    static inline common::subprocess* proc_ = nullptr;
    static inline std::string setup_error_;
};

TEST_F(compat, openai_chat_streams_chunks_then_done) {
    auto r = sse_call("POST", base() + "/v1/chat/completions",
                      R"({"model":"tiny","messages":[{"role":"user","content":"Hi"}],)"
                      R"("max_tokens":6,"ignore_eos":true,"stream":true})");
    ASSERT_EQ(r.status, 200) << r.raw;
    ASSERT_FALSE(r.events.empty());
    EXPECT_EQ(r.events.back().data, "[DONE]");
    int content = 0;
    std::string finish;
    std::string id;
    for (size_t i = 0; i + 1 < r.events.size(); ++i) {
        auto o = parse_json(r.events[i].data).as_object();
        EXPECT_EQ(o.at("object").as_string(), "chat.completion.chunk");
        if (id.empty()) id = o.at("id").as_string().c_str();
        EXPECT_EQ(o.at("id").as_string().c_str(), id) << "one id for the whole completion";
        auto& c = o.at("choices").as_array()[0].as_object();
        if (auto* d = c.at("delta").as_object().if_contains("content")) {
            EXPECT_FALSE(d->as_string().empty());
            ++content;
        }
        if (!c.at("finish_reason").is_null()) finish = c.at("finish_reason").as_string().c_str();
    }
    EXPECT_GT(content, 0);
    EXPECT_LE(content, 6);
    EXPECT_EQ(finish, "length");
}

TEST_F(compat, openai_completion_without_stream_equals_the_streamed_text) {
    const std::string req = R"({"model":"tiny","prompt":"Once","max_tokens":8,"temperature":0,)"
                            R"("seed":3,"ignore_eos":true)";
    auto whole = http_call("POST", base() + "/v1/completions", req + "}");
    ASSERT_EQ(whole.status, 200) << whole.body;
    auto o = parse_json(whole.body).as_object();
    EXPECT_EQ(o.at("object").as_string(), "text_completion");
    EXPECT_EQ(o.at("usage").at("completion_tokens").to_number<int>(), 8);
    std::string text = o.at("choices").as_array()[0].at("text").as_string().c_str();

    auto streamed = sse_call("POST", base() + "/v1/completions", req + R"(,"stream":true})");
    std::string joined;
    for (const auto& e : streamed.events) {
        if (e.data == "[DONE]") break;
        joined += parse_json(e.data).at("choices").as_array()[0].at("text").as_string().c_str();
    }
    EXPECT_EQ(joined, text);
}

TEST_F(compat, models_and_tags_list_the_pool_model) {
    auto m = http_call("GET", base() + "/v1/models");
    ASSERT_EQ(m.status, 200);
    EXPECT_EQ(parse_json(m.body).at("data").as_array()[0].at("id").as_string(), "tiny");
    auto t = http_call("GET", base() + "/api/tags");
    ASSERT_EQ(t.status, 200);
    EXPECT_EQ(parse_json(t.body).at("models").as_array()[0].at("name").as_string(), "tiny");
}

TEST_F(compat, ollama_generate_streams_ndjson_and_ends_done) {
    auto r = http_call(
        "POST", base() + "/api/generate",
        R"({"model":"tiny","prompt":"Hi","options":{"num_predict":5},"ignore_eos":true})");
    ASSERT_EQ(r.status, 200) << r.body;
    std::istringstream lines(r.body);
    std::string line;
    int pieces = 0;
    bool done = false;
    while (std::getline(lines, line)) {
        if (line.empty()) continue;
        ASSERT_FALSE(done) << "a line after the final one";
        auto o = parse_json(line).as_object();
        if (o.at("done").as_bool()) {
            done = true;
            EXPECT_EQ(o.at("eval_count").to_number<int>(), 5);
        } else {
            EXPECT_FALSE(o.at("response").as_string().empty());
            ++pieces;
        }
    }
    EXPECT_TRUE(done);
    EXPECT_GT(pieces, 0);
}

TEST_F(compat, unknown_model_gets_an_openai_error) {
    auto r = http_call("POST", base() + "/v1/chat/completions",
                       R"({"model":"nope","messages":[{"role":"user","content":"Hi"}]})");
    EXPECT_EQ(r.status, 404);
    auto o = parse_json(r.body).as_object();
    EXPECT_EQ(o.at("error").at("code").as_string(), "MODEL_NOT_AVAILABLE");
}

}  // namespace
}  // namespace llorch::test
