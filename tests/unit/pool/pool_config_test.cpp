#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "pool/pool_config.h"

namespace llorch::pool {
namespace {

constexpr std::string_view good_file = R"(
# The daemons' own sections sit next to the pools and are not this parser's business.
[pool_managerd]
addr = "127.0.0.1:9200"

[[pools]]
id = "tiny"
engine = "llamacpp"
model = "/models/tiny.gguf"
device = "cpu"
slots = 4
ctx = 4096

[[pools]]
id = "big.h100-0"
engine = "llamacpp"
model = "/models/Qwen2.5-7B-Instruct-Q4_K_M.gguf"
name = "qwen2.5-7b"
aliases = ["qwen", "default"]
labels = ["big", "fast"]
device = "gpu:0, 1"
slots = 64
replicas = 4
ctx = 8192
threads = 2
max_tokens_default = 512
max_tokens_cap = 8192
extra_args = ["-ngl", "99", "--flash-attn"]
port = 9300
engine_path = "/opt/llama.cpp/bin/llama-server"

[[pools]]
id = "upstream"
engine = "openai"
endpoint = "http://10.0.0.7:8000/"
model = "meta-llama/Llama-3.1-8B-Instruct"
slots = 16
weight = 3
)";

std::string one_pool(std::string_view extra_lines,
                     std::string_view base =
                         "id = \"tiny\"\nengine = \"llamacpp\"\n"
                         "model = \"/m/tiny.gguf\"\ndevice = \"cpu\"\n") {
    return "[[pools]]\n" + std::string(base) + std::string(extra_lines);
}

config_error error_of(std::string_view text) {
    auto result = parse_pools_toml(text);
    EXPECT_FALSE(result.has_value()) << text;
    return result.has_value() ? config_error{} : result.error();
}

TEST(pool_config, parses_a_good_file_with_defaults) {
    auto result = parse_pools_toml(good_file);
    ASSERT_TRUE(result.has_value()) << result.error().message;
    const auto& pools = *result;
    ASSERT_EQ(pools.size(), 3U);

    const auto& tiny = pools[0];
    EXPECT_EQ(tiny.id, "tiny");
    EXPECT_EQ(tiny.engine, engine_kind::llamacpp);
    EXPECT_EQ(tiny.model, "/models/tiny.gguf");
    EXPECT_EQ(tiny.name, "tiny");
    EXPECT_EQ(tiny.device, "cpu");
    EXPECT_TRUE(tiny.gpus.empty());
    EXPECT_EQ(tiny.slots, 4);
    EXPECT_EQ(tiny.ctx, 4096);
    EXPECT_EQ(tiny.threads, 0);
    EXPECT_EQ(tiny.replicas, 1);
    EXPECT_EQ(tiny.max_tokens_default, 256);
    EXPECT_EQ(tiny.max_tokens_cap, 4096);
    EXPECT_TRUE(tiny.extra_args.empty());
    EXPECT_EQ(tiny.port, std::nullopt);
    EXPECT_TRUE(tiny.endpoint.empty());
    EXPECT_TRUE(tiny.engine_path.empty());
    EXPECT_TRUE(tiny.aliases.empty());

    const auto& big = pools[1];
    EXPECT_EQ(big.name, "qwen2.5-7b");
    EXPECT_EQ(big.aliases, (std::vector<std::string>{"qwen", "default"}));
    EXPECT_EQ(big.labels, (std::vector<std::string>{"big", "fast"}));
    EXPECT_TRUE(tiny.labels.empty());
    EXPECT_EQ(big.gpus, (std::vector<int>{0, 1}));
    EXPECT_EQ(big.slots, 64);
    EXPECT_EQ(big.replicas, 4);
    EXPECT_EQ(big.ctx, 8192);
    EXPECT_EQ(big.threads, 2);
    EXPECT_EQ(big.max_tokens_default, 512);
    EXPECT_EQ(big.max_tokens_cap, 8192);
    EXPECT_EQ(big.extra_args, (std::vector<std::string>{"-ngl", "99", "--flash-attn"}));
    EXPECT_EQ(big.port, 9300);
    EXPECT_EQ(big.engine_path, "/opt/llama.cpp/bin/llama-server");

    const auto& upstream = pools[2];
    EXPECT_EQ(upstream.engine, engine_kind::openai);
    EXPECT_EQ(upstream.endpoint, "http://10.0.0.7:8000");  // trailing slash dropped
    EXPECT_EQ(upstream.name, "meta-llama/Llama-3.1-8B-Instruct");
    EXPECT_EQ(upstream.device, "cpu");
    EXPECT_EQ(upstream.slots, 16);
    EXPECT_EQ(upstream.weight, 3);
    EXPECT_EQ(tiny.weight, 0);  // by slots
}

TEST(pool_config, names_the_pool_after_the_model_file_stem) {
    auto result = parse_pools_toml(one_pool(
        "", "id = \"a\"\nengine = \"llamacpp\"\nmodel = \"/x/y/Llama-3.2-1B.Q8_0.gguf\"\n"));
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_EQ((*result)[0].name, "Llama-3.2-1B.Q8_0");
}

TEST(pool_config, defaults_llamacpp_to_the_first_gpu) {
    auto result =
        parse_pools_toml(one_pool("", "id = \"a\"\nengine = \"llamacpp\"\nmodel = \"m.gguf\"\n"));
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_EQ((*result)[0].device, "gpu:0");
    EXPECT_EQ((*result)[0].gpus, (std::vector<int>{0}));
}

TEST(pool_config, lowers_the_default_max_tokens_to_a_smaller_cap) {
    auto result = parse_pools_toml(one_pool("max_tokens_cap = 100\n"));
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_EQ((*result)[0].max_tokens_default, 100);
}

TEST(pool_config, sim_needs_only_a_name) {
    auto result = parse_pools_toml(one_pool("", "id = \"s\"\nengine = \"sim\"\nname = \"fake\"\n"));
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_EQ((*result)[0].name, "fake");
    EXPECT_EQ((*result)[0].device, "cpu");
}

TEST(pool_config, an_on_demand_pool_takes_an_idle_ttl) {
    auto result = parse_pools_toml(one_pool("on_demand = true\nidle_ttl_secs = 60\n"));
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_TRUE((*result)[0].on_demand);
    EXPECT_EQ((*result)[0].idle_ttl, std::chrono::seconds(60));
    auto fixed = parse_pools_toml(one_pool(""));
    ASSERT_TRUE(fixed.has_value());
    EXPECT_FALSE((*fixed)[0].on_demand);
    auto ttl_alone = parse_pools_toml(one_pool("idle_ttl_secs = 60\n"));
    ASSERT_FALSE(ttl_alone.has_value());
    EXPECT_EQ(ttl_alone.error().key, "pools[0].idle_ttl_secs");
    auto not_bool = parse_pools_toml(one_pool("on_demand = 1\n"));
    ASSERT_FALSE(not_bool.has_value());
    EXPECT_EQ(not_bool.error().key, "pools[0].on_demand");
    auto outside = parse_pools_toml(
        "[[pools]]\nid = \"o\"\nengine = \"ollama\"\nendpoint = \"http://127.0.0.1:1\"\n"
        "model = \"m\"\non_demand = true\n");
    ASSERT_FALSE(outside.has_value());
    EXPECT_EQ(outside.error().key, "pools[0].on_demand");
}

TEST(pool_config, an_on_demand_sim_pool_takes_the_memory_it_simulates) {
    const std::string sim = "id = \"s\"\nengine = \"sim\"\nname = \"fake\"\n";
    auto result = parse_pools_toml(one_pool("on_demand = true\nmemory_mib = 512\n", sim));
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_EQ((*result)[0].memory_mib, 512u);
    auto fixed = parse_pools_toml(one_pool("memory_mib = 512\n", sim));
    ASSERT_FALSE(fixed.has_value());
    EXPECT_EQ(fixed.error().key, "pools[0].memory_mib");
    auto gguf = parse_pools_toml(one_pool("on_demand = true\nmemory_mib = 512\n"));
    ASSERT_FALSE(gguf.has_value());
    EXPECT_EQ(gguf.error().key, "pools[0].memory_mib");
}

TEST(pool_config, accepts_inline_tables_and_no_pools) {
    auto inline_pools = parse_pools_toml(
        R"(pools = [{id = "a", engine = "ollama", endpoint = "http://127.0.0.1:11434", model = "llama3.2:1b"}])");
    ASSERT_TRUE(inline_pools.has_value()) << inline_pools.error().message;
    EXPECT_EQ((*inline_pools)[0].name, "llama3.2:1b");

    auto none = parse_pools_toml("[orchestratord]\nport = 8080\n");
    ASSERT_TRUE(none.has_value());
    EXPECT_TRUE(none->empty());
}

struct bad_case {
    std::string text;
    std::string key;
    std::string message;
};

class pool_config_rejects : public ::testing::TestWithParam<bad_case> {};

TEST_P(pool_config_rejects, with_one_line_naming_the_key) {
    const auto& c = GetParam();
    const auto error = error_of(c.text);
    EXPECT_EQ(error.key, c.key);
    EXPECT_EQ(error.message, c.message);
    EXPECT_EQ(error.message.find('\n'), std::string::npos);
    EXPECT_GT(error.line, 0);
}

const std::string llamacpp_base =
    "engine = \"llamacpp\"\nmodel = \"/m/tiny.gguf\"\ndevice = \"cpu\"\n";
const std::string openai_base =
    "id = \"o\"\nengine = \"openai\"\nendpoint = \"http://h:1\"\nmodel = \"m\"\n";

INSTANTIATE_TEST_SUITE_P(
    each_bad_key, pool_config_rejects,
    ::testing::Values(
        bad_case{one_pool("", llamacpp_base), "pools[0].id", "pools[0].id: required"},
        bad_case{one_pool("", "id = \"a b\"\n" + llamacpp_base), "pools[0].id",
                 "pools[0].id: must be 1 to 64 letters, digits, '.', '_' or '-' (got \"a b\")"},
        bad_case{one_pool("", "id = \"\"\n" + llamacpp_base), "pools[0].id",
                 "pools[0].id: must be 1 to 64 letters, digits, '.', '_' or '-' (got \"\")"},
        bad_case{one_pool("", "id = 7\n" + llamacpp_base), "pools[0].id",
                 "pools[0].id: must be a string (got an integer)"},
        bad_case{one_pool("") + one_pool(""), "pools[1].id",
                 "pools[1].id: duplicate pool id \"tiny\" (also pools[0])"},
        bad_case{one_pool("", "id = \"a\"\nmodel = \"m.gguf\"\n"), "pools[0].engine",
                 "pools[0].engine: required"},
        bad_case{one_pool("", "id = \"a\"\nengine = \"vllm\"\n"), "pools[0].engine",
                 "pools[0].engine: must be one of llamacpp, openai, ollama, sim (got \"vllm\")"},
        bad_case{one_pool("", "id = \"a\"\nengine = \"llamacpp\"\n"), "pools[0].model",
                 "pools[0].model: required"},
        bad_case{one_pool("", "id = \"a\"\nengine = \"llamacpp\"\nmodel = \"\"\n"),
                 "pools[0].model", "pools[0].model: must not be empty"},
        bad_case{one_pool("name = \"my model\"\n"), "pools[0].name",
                 "pools[0].name: model name must be 1 to 256 characters without spaces or control "
                 "characters (got \"my model\")"},
        bad_case{one_pool("", "id = \"s\"\nengine = \"sim\"\n"), "pools[0].name",
                 "pools[0].name: required when model is absent (engine \"sim\")"},
        bad_case{one_pool("",
                          "id = \"a\"\nengine = \"llamacpp\"\nmodel = \"m\"\ndevice = "
                          "\"cuda:0\"\n"),
                 "pools[0].device",
                 "pools[0].device: must be \"cpu\", \"gpu:N\" or \"gpu:N,M,...\" with distinct "
                 "GPU indexes from 0 to 255 (got \"cuda:0\")"},
        bad_case{one_pool("",
                          "id = \"a\"\nengine = \"llamacpp\"\nmodel = \"m\"\ndevice = "
                          "\"gpu:0,0\"\n"),
                 "pools[0].device",
                 "pools[0].device: must be \"cpu\", \"gpu:N\" or \"gpu:N,M,...\" with distinct "
                 "GPU indexes from 0 to 255 (got \"gpu:0,0\")"},
        bad_case{one_pool("slots = 0\n"), "pools[0].slots",
                 "pools[0].slots: must be at least 1 (got 0)"},
        bad_case{one_pool("slots = 5000\n"), "pools[0].slots",
                 "pools[0].slots: must be at most 1024 (got 5000)"},
        bad_case{one_pool("slots = \"4\"\n"), "pools[0].slots",
                 "pools[0].slots: must be an integer (got a string)"},
        bad_case{one_pool("slots = 4.0\n"), "pools[0].slots",
                 "pools[0].slots: must be an integer (got a floating-point number)"},
        bad_case{one_pool("ctx = 10\n"), "pools[0].ctx",
                 "pools[0].ctx: must be at least 64 (got 10)"},
        bad_case{one_pool("threads = -1\n"), "pools[0].threads",
                 "pools[0].threads: must be at least 0 (got -1)"},
        bad_case{one_pool("replicas = 0\n"), "pools[0].replicas",
                 "pools[0].replicas: must be at least 1 (got 0)"},
        bad_case{one_pool("replicas = 3\nslots = 4\n"), "pools[0].slots",
                 "pools[0].slots: must be a multiple of replicas, since slots are split evenly "
                 "between replicas (got 4 slots for 3 replicas)"},
        bad_case{one_pool("max_tokens_default = 5000\n"), "pools[0].max_tokens_default",
                 "pools[0].max_tokens_default: must not exceed max_tokens_cap 4096 (got 5000)"},
        bad_case{one_pool("max_tokens_cap = 0\n"), "pools[0].max_tokens_cap",
                 "pools[0].max_tokens_cap: must be at least 1 (got 0)"},
        bad_case{one_pool("extra_args = \"-ngl 99\"\n"), "pools[0].extra_args",
                 "pools[0].extra_args: must be an array of strings (got a string)"},
        bad_case{one_pool("extra_args = [\"-ngl\", 99]\n"), "pools[0].extra_args[1]",
                 "pools[0].extra_args[1]: must be a string (got an integer)"},
        bad_case{one_pool("extra_args = [\"-ngl\", \"99\", \"--port=9000\"]\n"),
                 "pools[0].extra_args[2]",
                 "pools[0].extra_args[2]: \"--port\" is set by llama-orch (use the port key)"},
        bad_case{one_pool("extra_args = [\"--host\", \"0.0.0.0\"]\n"), "pools[0].extra_args[0]",
                 "pools[0].extra_args[0]: \"--host\" is set by llama-orch (engines listen on "
                 "loopback only)"},
        bad_case{one_pool("extra_args = [\"--api-key\", \"x\"]\n"), "pools[0].extra_args[0]",
                 "pools[0].extra_args[0]: \"--api-key\" is set by llama-orch (each engine gets "
                 "its own random key)"},
        bad_case{one_pool("extra_args = [\"--api-key-file=/k\"]\n"), "pools[0].extra_args[0]",
                 "pools[0].extra_args[0]: \"--api-key-file\" is set by llama-orch (each engine "
                 "gets its own random key)"},
        bad_case{one_pool("extra_args = [\"-m\", \"other.gguf\"]\n"), "pools[0].extra_args[0]",
                 "pools[0].extra_args[0]: \"-m\" is set by llama-orch (use the model key)"},
        bad_case{one_pool("extra_args = [\"--model=other.gguf\"]\n"), "pools[0].extra_args[0]",
                 "pools[0].extra_args[0]: \"--model\" is set by llama-orch (use the model key)"},
        bad_case{one_pool("extra_args = [\"-np\", \"8\"]\n"), "pools[0].extra_args[0]",
                 "pools[0].extra_args[0]: \"-np\" is set by llama-orch (use the slots key)"},
        bad_case{one_pool("port = 70000\n"), "pools[0].port",
                 "pools[0].port: must be at most 65535 (got 70000)"},
        bad_case{one_pool("port = 0\n"), "pools[0].port",
                 "pools[0].port: must be at least 1 (got 0)"},
        bad_case{one_pool("port = 65535\nreplicas = 2\n"), "pools[0].port",
                 "pools[0].port: leaves no room for 2 replicas, which use port to port + 1 (got "
                 "65535)"},
        bad_case{one_pool("port = 9000\nreplicas = 2\n") +
                     one_pool("port = 9001\n", "id = \"b\"\n" + llamacpp_base),
                 "pools[1].port",
                 "pools[1].port: 9001 overlaps the ports of pools[0] (9000 to 9001)"},
        bad_case{one_pool("slot = 4\n"), "pools[0].slot",
                 "pools[0].slot: unknown key (did you mean \"slots\"?)"},
        bad_case{one_pool("colour = \"blue\"\n"), "pools[0].colour",
                 "pools[0].colour: unknown key"},
        bad_case{one_pool("", "id = \"o\"\nengine = \"openai\"\nmodel = \"m\"\n"),
                 "pools[0].endpoint", "pools[0].endpoint: required"},
        bad_case{one_pool("", "id = \"o\"\nengine = \"ollama\"\nendpoint = \"http://h:1\"\n"),
                 "pools[0].name",
                 "pools[0].name: required when model is absent (engine \"ollama\")"},
        bad_case{one_pool("endpoint = \"http://127.0.0.1:8080\"\n"), "pools[0].endpoint",
                 "pools[0].endpoint: not used by engine \"llamacpp\" (only by openai and ollama)"},
        bad_case{one_pool("extra_args = [\"-ngl\"]\n", openai_base), "pools[0].extra_args",
                 "pools[0].extra_args: not used by engine \"openai\" (only by llamacpp and sim)"},
        bad_case{one_pool("replicas = 2\nslots = 4\n", openai_base), "pools[0].replicas",
                 "pools[0].replicas: must be at most 1 (got 2)"},
        bad_case{one_pool("",
                          "id = \"o\"\nengine = \"openai\"\nendpoint = \"ftp://h\"\nmodel = "
                          "\"m\"\n"),
                 "pools[0].endpoint",
                 "pools[0].endpoint: must be an http:// or https:// URL (got \"ftp://h\")"},
        bad_case{one_pool("aliases = [\"tiny\"]\n"), "pools[0].aliases[0]",
                 "pools[0].aliases[0]: repeats the model name \"tiny\""},
        bad_case{one_pool("aliases = [\"a\", \"a\"]\n"), "pools[0].aliases[1]",
                 "pools[0].aliases[1]: repeats the model name \"a\""},
        bad_case{one_pool("weight = 0\n"), "pools[0].weight",
                 "pools[0].weight: must be at least 1 (got 0)"},
        bad_case{one_pool("labels = [\"a b\"]\n"), "pools[0].labels[0]",
                 "pools[0].labels[0]: a label must be 1 to 256 characters without spaces or "
                 "control characters (got \"a b\")"},
        bad_case{one_pool("labels = \"big\"\n"), "pools[0].labels",
                 "pools[0].labels: must be an array of strings (got a string)"},
        bad_case{one_pool("engine_path = \"\"\n"), "pools[0].engine_path",
                 "pools[0].engine_path: must not be empty"},
        bad_case{"pools = 5\n", "pools",
                 "pools: must be an array of tables ([[pools]]) (got an integer)"},
        bad_case{"pools = [1]\n", "pools[0]",
                 "pools[0]: must be a table ([[pools]]) (got an integer)"}));

TEST(pool_config, points_at_the_line_of_the_bad_value) {
    const auto error = error_of(
        "[[pools]]\nid = \"a\"\nengine = \"llamacpp\"\nmodel = \"m\"\n"
        "device = \"cpu\"\nslots = 0\n");
    EXPECT_EQ(error.line, 6);
}

TEST(pool_config, reports_toml_syntax_errors_with_line_and_column) {
    const auto error = error_of("[[pools]]\nid = \"a\"\nslots = = 4\n");
    EXPECT_EQ(error.key, "");
    EXPECT_EQ(error.line, 3);
    EXPECT_GT(error.column, 0);
    EXPECT_EQ(error.message.rfind("TOML syntax error at line 3, column ", 0), 0U) << error.message;
}

class temp_file {
  public:
    explicit temp_file(std::string_view content) {
        std::random_device rd;
        path_ = std::filesystem::temp_directory_path() /
                ("llorch-pool-config-" + std::to_string(rd()) + ".toml");
        std::ofstream(path_) << content;
    }
    ~temp_file() { std::filesystem::remove(path_); }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

TEST(load_pools_file, loads_a_good_file) {
    temp_file file(good_file);
    auto result = load_pools_file(file.path());
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_EQ(result->size(), 3U);
}

TEST(load_pools_file, prefixes_errors_with_path_and_line) {
    temp_file file(one_pool("slots = 0\n"));
    auto result = load_pools_file(file.path());
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().key, "pools[0].slots");
    EXPECT_EQ(result.error().message,
              file.path().string() + ":6: pools[0].slots: must be at least 1 (got 0)");
}

TEST(load_pools_file, prefixes_syntax_errors_with_path_line_and_column) {
    temp_file file("[[pools]]\nid = \"a\n");
    auto result = load_pools_file(file.path());
    ASSERT_FALSE(result.has_value());
    const auto prefix = file.path().string() + ":2:";
    EXPECT_EQ(result.error().message.rfind(prefix, 0), 0U) << result.error().message;
    EXPECT_NE(result.error().message.find(": TOML syntax error: "), std::string::npos)
        << result.error().message;
}

TEST(load_pools_file, reports_an_unreadable_file) {
    auto result = load_pools_file("/nonexistent/llorch-test/pools.toml");
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().message,
              "/nonexistent/llorch-test/pools.toml: cannot read: No such file or directory");
}

std::vector<pool_config> three_pools() {
    auto result = parse_pools_toml(good_file);
    EXPECT_TRUE(result.has_value());
    return result.has_value() ? *result : std::vector<pool_config>{};
}

std::vector<std::string> ids(const std::vector<pool_config>& pools) {
    std::vector<std::string> out;
    for (const auto& p : pools) out.push_back(p.id);
    return out;
}

TEST(select_pools, keeps_all_when_empty) {
    auto result = select_pools(three_pools(), "");
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(ids(*result), (std::vector<std::string>{"tiny", "big.h100-0", "upstream"}));
    EXPECT_EQ(select_pools(three_pools(), " , ")->size(), 3U);
}

TEST(select_pools, keeps_the_named_pools_in_file_order) {
    auto result = select_pools(three_pools(), " upstream,tiny ,");
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(ids(*result), (std::vector<std::string>{"tiny", "upstream"}));
}

TEST(select_pools, rejects_an_unknown_id_naming_the_variable) {
    auto result = select_pools(three_pools(), "tiny,tinny");
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().key, "POOL_MANAGERD_POOLS");
    EXPECT_EQ(result.error().message,
              "POOL_MANAGERD_POOLS: unknown pool id \"tinny\" (configured: tiny, big.h100-0, "
              "upstream)");
}

TEST(add_node_labels, gives_every_pool_the_nodes_labels_after_its_own_without_repeats) {
    auto pools = three_pools();
    pools[0].labels = {"fast"};
    auto result = add_node_labels(std::move(pools), " big, fast ,,");
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ((*result)[0].labels, (std::vector<std::string>{"fast", "big"}));
    EXPECT_EQ((*result)[1].labels, (std::vector<std::string>{"big", "fast"}));
    EXPECT_EQ(add_node_labels(three_pools(), "")->at(2).labels, std::vector<std::string>{});
}

TEST(add_node_labels, rejects_a_label_that_is_not_a_name_naming_the_variable) {
    auto result = add_node_labels(three_pools(), "big,has space");
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().key, "POOL_MANAGERD_NODE_LABELS");
    EXPECT_NE(result.error().message.find("\"has space\""), std::string::npos)
        << result.error().message;
}

TEST(parse_device, accepts_cpu_and_gpu_lists) {
    EXPECT_EQ(parse_device("cpu"), std::vector<int>{});
    EXPECT_EQ(parse_device("gpu:0"), std::vector<int>{0});
    EXPECT_EQ(parse_device("gpu:3,1"), (std::vector<int>{3, 1}));
    EXPECT_EQ(parse_device("gpu:0, 1"), (std::vector<int>{0, 1}));
}

TEST(parse_device, rejects_malformed_devices) {
    for (std::string_view bad : {"", "CPU", "gpu", "gpu:", "gpu:a", "gpu:0,", "gpu:-1", "gpu:256",
                                 "gpu:1,1", "gpu:0;1", "cuda:0"}) {
        EXPECT_EQ(parse_device(bad), std::nullopt) << bad;
    }
}

TEST(engine_kind, round_trips_names) {
    for (auto kind :
         {engine_kind::llamacpp, engine_kind::openai, engine_kind::ollama, engine_kind::sim}) {
        EXPECT_EQ(parse_engine_kind(to_string(kind)), kind);
    }
    EXPECT_EQ(parse_engine_kind("llama.cpp"), std::nullopt);
    EXPECT_TRUE(is_managed(engine_kind::llamacpp));
    EXPECT_FALSE(is_managed(engine_kind::ollama));
}

}  // namespace
}  // namespace llorch::pool
