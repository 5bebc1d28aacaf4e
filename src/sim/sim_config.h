#pragma once
// The configuration of one llorch-sim process: where it listens (one or many ports, each a
// separate simulated engine), how each engine behaves (slots, latencies, tokens, text) and which
// faults it injects. Parsed once from the command line, validated, then read-only.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/latency_model.h"

namespace llorch::sim {

struct sim_config {
    std::string host = "127.0.0.1";
    std::vector<uint16_t> ports{8080};  // one engine per entry; 0 = any free port
    int slots = 4;                      // parallel generations per engine; more wait in a FIFO
    int ctx = 4096;                     // context per slot, as /slots and /props report it
    latency_model ttft = latency_model::fixed(std::chrono::milliseconds(10));
    latency_model itl = latency_model::fixed(std::chrono::milliseconds(10));
    int tokens = 32;                   // per request when the request gives no limit
    std::string token_text = " tok";   // see token_text.h
    std::string alias = "llorch-sim";  // the model name the engine reports
    // More model names the Ollama API serves and lists in /api/tags (`qwen2.5:14b`); the alias
    // is always one. A request for another model gets Ollama's 404.
    std::vector<std::string> models;
    std::vector<std::string> api_keys;  // empty: no auth
    // Faults.
    double error_rate = 0;  // fraction of generation requests answered 500
    long long crash_after_tokens =
        0;                       // the process exits once one engine has sent this many; 0: never
    int hang_after_tokens = -1;  // a hanging request stops after this many tokens; -1: never
    double hang_rate = 1;        // fraction of requests that hang when hang_after_tokens >= 0
    std::chrono::milliseconds slow_start{0};  // /health (and all else) answers 503 this long
    uint64_t seed = 1;                        // engine i draws from seed + i
};

struct sim_args {
    enum class action { run, help, error };
    action what = action::run;
    sim_config config;
    std::string text;  // help: the help text; error: one line naming the problem
};

// Parses the arguments after the program name. Never exits or prints.
sim_args parse_sim_args(const std::vector<std::string>& args);

}  // namespace llorch::sim
