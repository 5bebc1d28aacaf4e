#include "sim/sim_config.h"

#include <gtest/gtest.h>

namespace llorch::sim {
namespace {
using namespace std::chrono_literals;

sim_args parse(std::vector<std::string> a) { return parse_sim_args(a); }

TEST(sim_config, defaults_to_one_engine_on_8080) {
    auto r = parse({});
    ASSERT_EQ(r.what, sim_args::action::run) << r.text;
    EXPECT_EQ(r.config.ports, std::vector<uint16_t>{8080});
    EXPECT_EQ(r.config.slots, 4);
    EXPECT_EQ(r.config.alias, "llorch-sim");
}

TEST(sim_config, reads_a_port_range) {
    auto r = parse({"--ports", "9000-9003"});
    ASSERT_EQ(r.what, sim_args::action::run) << r.text;
    EXPECT_EQ(r.config.ports, (std::vector<uint16_t>{9000, 9001, 9002, 9003}));
}

TEST(sim_config, count_with_base_port_zero_asks_for_free_ports) {
    auto r = parse({"--count", "3", "--base-port", "0"});
    ASSERT_EQ(r.what, sim_args::action::run) << r.text;
    EXPECT_EQ(r.config.ports, (std::vector<uint16_t>{0, 0, 0}));
    auto from = parse({"--count", "2", "--base-port", "7000"});
    EXPECT_EQ(from.config.ports, (std::vector<uint16_t>{7000, 7001}));
}

TEST(sim_config, reads_behaviour_and_faults) {
    auto r = parse({"--port",
                    "0",
                    "--slots",
                    "8",
                    "--ttft",
                    "exp:50ms",
                    "--itl",
                    "uniform:5ms..15ms",
                    "--tokens",
                    "100",
                    "--token-text",
                    " a| b",
                    "--error-rate",
                    "0.25",
                    "--crash-after-tokens",
                    "1000",
                    "--hang-after-tokens",
                    "3",
                    "--hang-rate",
                    "0.5",
                    "--slow-start",
                    "2s",
                    "--seed",
                    "9",
                    "--api-key",
                    "k1,k2",
                    "-m",
                    "/models/x.gguf"});
    ASSERT_EQ(r.what, sim_args::action::run) << r.text;
    const auto& c = r.config;
    EXPECT_EQ(c.ports, std::vector<uint16_t>{0});
    EXPECT_EQ(c.slots, 8);
    EXPECT_EQ(c.ttft.type(), latency_model::kind::exponential);
    EXPECT_EQ(c.itl.min(), 5ms);
    EXPECT_EQ(c.itl.max(), 15ms);
    EXPECT_EQ(c.tokens, 100);
    EXPECT_EQ(c.token_text, " a| b");
    EXPECT_DOUBLE_EQ(c.error_rate, 0.25);
    EXPECT_EQ(c.crash_after_tokens, 1000);
    EXPECT_EQ(c.hang_after_tokens, 3);
    EXPECT_DOUBLE_EQ(c.hang_rate, 0.5);
    EXPECT_EQ(c.slow_start, 2s);
    EXPECT_EQ(c.seed, 9u);
    EXPECT_EQ(c.api_keys, (std::vector<std::string>{"k1", "k2"}));
    EXPECT_EQ(c.alias, "x.gguf");
}

TEST(sim_config, help_returns_the_full_text) {
    auto r = parse({"--help"});
    ASSERT_EQ(r.what, sim_args::action::help);
    for (const char* flag :
         {"--port", "--ports", "--count", "--base-port", "--slots", "--ttft", "--itl", "--tokens",
          "--token-text", "--error-rate", "--crash-after-tokens", "--hang-after-tokens",
          "--slow-start", "--seed", "--api-key", "uniform:"}) {
        EXPECT_NE(r.text.find(flag), std::string::npos) << flag;
    }
}

TEST(sim_config, rejects_bad_flags_with_one_line) {
    const std::vector<std::vector<std::string>> bad = {
        {"--bogus"},
        {"--port", "70000"},
        {"--port", "1", "--ports", "1-2"},
        {"--ports", "9010-9000"},
        {"--ports", "abc"},
        {"--count", "3"},
        {"--count", "0", "--base-port", "0"},
        {"--count", "10", "--base-port", "65530"},
        {"--slots", "0"},
        {"--tokens", "-1"},
        {"--itl", "uniform:3ms"},
        {"--ttft", "soon"},
        {"--error-rate", "1.5"},
        {"--hang-rate", "-0.1"},
        {"--hang-after-tokens", "-2"},
        {"--slow-start", "x"},
        {"--slots", "many"},
    };
    for (const auto& args : bad) {
        auto r = parse(args);
        EXPECT_EQ(r.what, sim_args::action::error) << args[0];
        EXPECT_FALSE(r.text.empty()) << args[0];
        EXPECT_EQ(r.text.find('\n'), std::string::npos) << r.text;
    }
}

}  // namespace
}  // namespace llorch::sim
