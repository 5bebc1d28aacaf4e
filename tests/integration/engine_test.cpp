// The real llama-server, built from the pinned llama.cpp source, serving the generated tiny model.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace llorch::test {
namespace {

TEST(llama_server, streams_the_tiny_model_in_order_and_ends_properly) {
    auto engine = engine_or_skip();
    auto model = tiny_model();
    auto dir = temp_dir("engine");
    auto port = free_port();
    auto base = "http://127.0.0.1:" + std::to_string(port);
    auto proc = start_process({engine.string(), "-m", model.string(), "--host", "127.0.0.1",
                               "--port", std::to_string(port), "-t", "1", "-c", "512", "-np", "1"},
                              dir / "engine.log");
    ASSERT_TRUE(wait_http_ok(base + "/health")) << read_file(dir / "engine.log");

    const std::string req =
        R"({"prompt":"Once upon a time","n_predict":24,"temperature":0,"seed":7,"ignore_eos":true)";
    auto streamed = sse_call("POST", base + "/completion", req + R"(,"stream":true})");
    ASSERT_EQ(streamed.status, 200) << streamed.raw << streamed.error;
    ASSERT_TRUE(streamed.error.empty()) << streamed.error;
    ASSERT_GE(streamed.events.size(), 2u);

    std::string text;
    int content_events = 0;
    bool stopped = false;
    for (size_t i = 0; i < streamed.events.size(); ++i) {
        auto v = parse_json(streamed.events[i].data).as_object();
        ASSERT_FALSE(stopped) << "an event came after the final one";
        if (v.at("stop").as_bool()) {
            stopped = true;
            EXPECT_EQ(v.at("tokens_predicted").to_number<int>(), 24);
        } else {
            text += v.at("content").as_string().c_str();
            ++content_events;
        }
    }
    EXPECT_TRUE(stopped) << "the stream ended without its final event";
    EXPECT_GT(content_events, 0);

    // Greedy decoding is deterministic: the streamed pieces, in order, are the whole completion.
    auto whole = http_call("POST", base + "/completion", req + R"(,"stream":false})");
    ASSERT_EQ(whole.status, 200) << whole.body;
    EXPECT_EQ(text, parse_json(whole.body).at("content").as_string().c_str());
}

}  // namespace
}  // namespace llorch::test
