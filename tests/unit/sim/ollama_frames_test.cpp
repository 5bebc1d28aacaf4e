#include "sim/ollama_frames.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "engines/engine_adapter.h"
#include "engines/upstream_models.h"

namespace llorch::sim {
namespace {
namespace json = boost::json;

gen_summary ollama_summary(int predicted, bool eos) {
    gen_summary s;
    s.tokens_predicted = predicted;
    s.tokens_evaluated = 5;
    s.eos = eos;
    s.prompt_ms = 50;
    s.predicted_ms = 20;
    return s;
}

TEST(ollama_frames, parses_generate_and_chat_bodies_with_ollama_defaults) {
    auto g = parse_ollama_request(
        api_kind::ollama_generate,
        R"({"model":"m:1b","prompt":"Hello there","options":{"num_predict":3}})");
    ASSERT_TRUE(g);
    EXPECT_EQ(g->model, "m:1b");
    EXPECT_TRUE(g->stream);  // Ollama streams unless told not to
    EXPECT_EQ(g->n_predict, 3);
    auto c = parse_ollama_request(
        api_kind::ollama_chat,
        R"({"model":"m","stream":false,"messages":[{"role":"user","content":"hi"}]})");
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->stream);
    EXPECT_FALSE(c->n_predict);
    EXPECT_GT(c->prompt_tokens, 1);
}

TEST(ollama_frames, refuses_bad_bodies_with_ollama_errors) {
    auto no_model = parse_ollama_request(api_kind::ollama_generate, R"({"prompt":"x"})");
    ASSERT_FALSE(no_model);
    EXPECT_EQ(no_model.error().status, 400);
    EXPECT_EQ(no_model.error().message, "model is required");
    EXPECT_FALSE(parse_ollama_request(api_kind::ollama_chat, R"({"model":"m","messages":{}})"));
    EXPECT_FALSE(parse_ollama_request(api_kind::ollama_chat, "[1]"));
    EXPECT_FALSE(parse_ollama_request(api_kind::ollama_chat, R"({"model":"m","stream":"yes"})"));
    EXPECT_EQ(ollama_error_body("model \"x\" not found"), R"({"error":"model \"x\" not found"})");
}

TEST(ollama_frames, stream_lines_are_what_the_ollama_adapter_decodes) {
    for (auto api : {api_kind::ollama_generate, api_kind::ollama_chat}) {
        sim_frames f(api, "m:1b", "id", 1'764'633'600, false, 5);
        std::string out;
        f.append_start(out);
        f.append_token(out, " a", 1, 1);
        f.append_token(out, " b", 2, 2);
        f.append_finish(out, ollama_summary(2, false));
        // NDJSON: one object per line, the last one done with the counts.
        std::vector<json::object> lines;
        size_t at = 0;
        for (size_t nl; (nl = out.find('\n', at)) != std::string::npos; at = nl + 1)
            lines.push_back(json::parse(out.substr(at, nl - at)).as_object());
        ASSERT_EQ(lines.size(), 3u) << out;
        EXPECT_EQ(lines[0].at("model").as_string(), "m:1b");
        EXPECT_EQ(lines[0].at("created_at").as_string(), "2025-12-02T00:00:00Z");
        EXPECT_FALSE(lines[0].at("done").as_bool());
        EXPECT_TRUE(lines[2].at("done").as_bool());
        EXPECT_EQ(lines[2].at("done_reason").as_string(), "length");
        EXPECT_EQ(lines[2].at("eval_count").as_int64(), 2);
        EXPECT_EQ(lines[2].at("prompt_eval_count").as_int64(), 5);

        const auto& adapter = engines::adapter_for(engines::engine_kind_id::ollama);
        engines::generation_request g;
        auto decoder = adapter.decoder(g);
        std::vector<engines::engine_event> events;
        decoder->feed(out, events);
        decoder->finish(events);
        ASSERT_EQ(events.size(), 3u);
        EXPECT_EQ(events[0].text, " a");
        EXPECT_EQ(events[1].text, " b");
        EXPECT_EQ(events[2].type, engines::engine_event::kind::end);
        EXPECT_EQ(events[2].tokens_out, 2);
    }
}

TEST(ollama_frames, a_whole_answer_carries_the_content) {
    sim_frames f(api_kind::ollama_chat, "m", "id", 1, false, 5);
    auto o = json::parse(f.whole(ollama_summary(2, true), " a b")).as_object();
    EXPECT_EQ(o.at("message").at("content").as_string(), " a b");
    EXPECT_EQ(o.at("message").at("role").as_string(), "assistant");
    EXPECT_EQ(o.at("done_reason").as_string(), "stop");
    sim_frames g(api_kind::ollama_generate, "m", "id", 1, false, 5);
    EXPECT_EQ(json::parse(g.whole(ollama_summary(2, true), "xy")).at("response").as_string(), "xy");
}

TEST(ollama_frames, tags_list_every_model_as_the_probe_reads_them) {
    auto body = ollama_tags_body({"qwen2.5:14b", "qwen2.5-coder:32b"}, "2025-12-02T00:00:00Z");
    auto listed = engines::parse_upstream_models(engines::engine_kind_id::ollama, body);
    ASSERT_TRUE(listed);
    EXPECT_EQ(*listed, (std::vector<std::string>{"qwen2.5:14b", "qwen2.5-coder:32b"}));
    EXPECT_EQ(json::parse(body).at("models").at(0).at("details").at("family").as_string(),
              "qwen2.5");
}

}  // namespace
}  // namespace llorch::sim
