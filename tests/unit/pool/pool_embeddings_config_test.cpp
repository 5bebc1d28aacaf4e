// An embeddings pool's table keys and the engine command line they give.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "model/gguf_writer.h"
#include "pool/engine_launcher.h"
#include "pool/pool_config.h"

namespace llorch::pool {
namespace {

std::string pool_with(std::string_view lines, std::string_view engine = "llamacpp") {
    return "[[pools]]\nid = \"e\"\nengine = \"" + std::string(engine) + "\"\n" +
           (engine == "llamacpp" ? "model = \"/m/e.gguf\"\ndevice = \"cpu\"\n"
            : engine == "sim"    ? "name = \"e\"\n"
                                 : "model = \"e\"\nendpoint = \"http://h:1\"\n") +
           std::string(lines);
}

std::string message_of(std::string_view text) {
    auto r = parse_pools_toml(text);
    EXPECT_FALSE(r.has_value()) << text;
    return r ? std::string() : r.error().message;
}

TEST(pool_embeddings_config, embeddings_and_pooling_are_read) {
    auto r = parse_pools_toml(pool_with("embeddings = true\npooling = \"cls\"\n"));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_TRUE(r->at(0).embeddings);
    EXPECT_EQ(r->at(0).pooling, "cls");
    auto plain = parse_pools_toml(pool_with(""));
    ASSERT_TRUE(plain.has_value());
    EXPECT_FALSE(plain->at(0).embeddings);
}

TEST(pool_embeddings_config, wrong_values_are_refused_naming_the_key) {
    EXPECT_EQ(message_of(pool_with("embeddings = \"yes\"\n")),
              "pools[0].embeddings: must be true or false (got a string)");
    EXPECT_EQ(message_of(pool_with("pooling = \"mean\"\n")),
              "pools[0].pooling: only applies with embeddings = true");
    EXPECT_EQ(message_of(pool_with("embeddings = true\npooling = \"max\"\n")),
              "pools[0].pooling: must be one of mean, cls, last, rank (got \"max\")");
    EXPECT_EQ(message_of(pool_with("embeddings = true\n", "sim")),
              "pools[0].embeddings: the sim engine computes no embeddings (use llamacpp, openai "
              "or ollama)");
    EXPECT_EQ(message_of(pool_with("embeddings = true\npooling = \"cls\"\n", "ollama")),
              "pools[0].pooling: only applies to llamacpp pools (the ollama server pools itself)");
    EXPECT_NE(
        message_of(pool_with("extra_args = [\"--embeddings\"]\n")).find("use the embeddings key"),
        std::string::npos);
}

TEST(pool_embeddings_config, an_embeddings_pool_runs_llama_server_with_embeddings_and_pooling) {
    auto r = parse_pools_toml(pool_with("embeddings = true\n"));
    ASSERT_TRUE(r.has_value());
    engine_spec s{"/m/e.gguf", 0, 0, 2};
    s.pooling = "mean";
    auto argv = engine_argv(r->at(0), s, "llama-server", 8080, "k");
    auto at = std::find(argv.begin(), argv.end(), "--embeddings");
    ASSERT_NE(at, argv.end());
    auto p = std::find(argv.begin(), argv.end(), "--pooling");
    ASSERT_NE(p, argv.end());
    EXPECT_EQ(*(p + 1), "mean");
    auto plain = parse_pools_toml(pool_with(""));
    auto argv2 =
        engine_argv(plain->at(0), engine_spec{"/m/e.gguf", 0, 0, 2}, "llama-server", 8080, "k");
    EXPECT_EQ(std::find(argv2.begin(), argv2.end(), "--embeddings"), argv2.end());
}

TEST(pool_embeddings_config, pooling_follows_the_key_then_the_model_then_mean) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("llorch-pooling-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto write = [&](const char* name, bool declares) {
        using model::gguf_value;
        model::gguf_writer w;
        EXPECT_TRUE(w.set("general.architecture", gguf_value::str("llama")));
        if (declares) {
            EXPECT_TRUE(w.set("llama.pooling_type", gguf_value::u32(2)));
        }
        auto path = dir / name;
        EXPECT_TRUE(w.write(path, [](const model::gguf_tensor_info&, model::gguf_data_sink&) {}));
        return path;
    };
    auto declared = write("declared.gguf", true);
    auto bare = write("bare.gguf", false);
    auto c = parse_pools_toml(pool_with("embeddings = true\n"))->at(0);
    EXPECT_EQ(embedding_pooling(c, declared), "");  // llama-server reads the model's own
    EXPECT_EQ(embedding_pooling(c, bare), "mean");
    c.pooling = "last";
    EXPECT_EQ(embedding_pooling(c, bare), "last");
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace llorch::pool
