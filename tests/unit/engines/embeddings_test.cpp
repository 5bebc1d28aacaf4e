// Embedding requests through the engine layer: the task body's `embed`, the request each engine
// kind gets, and the answers read back into embedding events.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "engines/embeddings.h"
#include "engines/generation.h"

namespace llorch::engines {
namespace {
namespace json = boost::json;

api::api_result<generation_request> parse(const char* body) {
    return parse_generation(json::parse(body).as_object());
}

std::vector<engine_event> decode(engine_kind_id k, size_t inputs, std::string_view body) {
    generation_request g;
    for (size_t i = 0; i < inputs; ++i) g.embed.push_back("t");
    auto d = adapter_for(k).decoder(g);
    std::vector<engine_event> out;
    // In two pieces: the answer is read whole at the end, wherever the body was cut.
    d->feed(body.substr(0, body.size() / 2), out);
    d->feed(body.substr(body.size() / 2), out);
    EXPECT_TRUE(out.empty());
    d->finish(out);
    return out;
}

TEST(embeddings, embed_takes_a_string_or_an_array_of_texts_and_travels_to_a_node) {
    auto one = parse(R"({"embed":"hello"})");
    ASSERT_TRUE(one) << one.error().message;
    EXPECT_EQ(one->embed, std::vector<std::string>{"hello"});
    auto many = parse(R"({"embed":["a","b"]})");
    ASSERT_TRUE(many);
    auto again = parse_generation(json::parse(to_json(*many)).as_object());
    ASSERT_TRUE(again);
    EXPECT_EQ(again->embed, (std::vector<std::string>{"a", "b"}));
}

TEST(embeddings, wrong_embed_fields_are_refused_naming_the_field) {
    auto msg = [](const char* body) {
        auto g = parse(body);
        EXPECT_FALSE(g) << body;
        return g ? std::string() : g.error().message;
    };
    EXPECT_EQ(msg(R"({"embed":[]})"), "embed: must name at least one text");
    EXPECT_EQ(msg(R"({"embed":["a",""]})"), "embed[1]: is empty: there is nothing to embed");
    EXPECT_EQ(msg(R"({"embed":[1,2]})"),
              "embed: must be a string or an array of strings (the texts to embed)");
    EXPECT_EQ(msg(R"({"embed":"a","prompt":"b"})"),
              "embed: asks for embeddings: leave out prompt, inputs and messages");
    std::string big = R"({"embed":[)";
    for (size_t i = 0; i <= max_embed_inputs; ++i) big += (i ? ",\"x\"" : "\"x\"");
    big += "]}";
    EXPECT_EQ(msg(big.c_str()), "embed: at most 2048 texts (got 2049)");
}

TEST(embeddings, each_engine_kind_is_asked_in_its_own_api) {
    generation_request g;
    g.embed = {"a", "b"};
    auto l = adapter_for(engine_kind_id::llamacpp).build(g, "m");
    EXPECT_EQ(l.path, "/v1/embeddings");
    auto lo = json::parse(l.body).as_object();
    EXPECT_EQ(lo.at("input").as_array().size(), 2u);
    EXPECT_EQ(lo.at("encoding_format").as_string(), "float");
    EXPECT_EQ(adapter_for(engine_kind_id::openai).build(g, "m").path, "/v1/embeddings");
    auto o = adapter_for(engine_kind_id::ollama).build(g, "nomic");
    EXPECT_EQ(o.path, "/api/embed");
    auto oo = json::parse(o.body).as_object();
    EXPECT_EQ(oo.at("model").as_string(), "nomic");
    EXPECT_EQ(oo.at("input").as_array().at(1).as_string(), "b");
}

TEST(embeddings, an_openai_answer_becomes_one_event_per_input_in_input_order_then_end) {
    auto out = decode(engine_kind_id::llamacpp, 2,
                      R"({"data":[{"index":1,"embedding":[0.5,-1]},)"
                      R"({"index":0,"embedding":[1,2.25]}],"usage":{"prompt_tokens":7}})");
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].type, engine_event::kind::embedding);
    EXPECT_EQ(out[0].tool_index, 0);
    EXPECT_EQ(json::parse(out[0].text).as_array().at(1).to_number<double>(), 2.25);
    EXPECT_EQ(out[1].tool_index, 1);
    EXPECT_EQ(out[2].type, engine_event::kind::end);
    EXPECT_EQ(out[2].tokens_in, 7);
    // The wire form between the daemons carries the same vector.
    auto back = embedding_of(embedding_json(out[1], 5));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->tool_index, 1);
    EXPECT_EQ(json::parse(back->text), json::parse("[0.5,-1]"));
}

TEST(embeddings, an_ollama_answer_is_read_too) {
    auto out = decode(engine_kind_id::ollama, 1,
                      R"({"model":"m","embeddings":[[0.1,0.2,0.3]],"prompt_eval_count":3})");
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(json::parse(out[0].text).as_array().size(), 3u);
    EXPECT_EQ(out[1].tokens_in, 3);
}

TEST(embeddings, errors_and_short_or_malformed_answers_are_errors_not_vectors) {
    auto err = decode(engine_kind_id::llamacpp, 1,
                      R"({"error":{"code":400,"message":"input is too large"}})");
    ASSERT_EQ(err.size(), 1u);
    EXPECT_EQ(err[0].type, engine_event::kind::error);
    EXPECT_EQ(err[0].message, "input is too large");
    auto short_answer =
        decode(engine_kind_id::llamacpp, 2, R"({"data":[{"index":0,"embedding":[1]}]})");
    ASSERT_EQ(short_answer.size(), 1u);
    EXPECT_EQ(short_answer[0].type, engine_event::kind::error);
    auto strings =
        decode(engine_kind_id::llamacpp, 1, R"({"data":[{"index":0,"embedding":["x"]}]})");
    EXPECT_EQ(strings.at(0).type, engine_event::kind::error);
    auto not_json = decode(engine_kind_id::ollama, 1, "<html>");
    EXPECT_EQ(not_json.at(0).type, engine_event::kind::error);
}

}  // namespace
}  // namespace llorch::engines
