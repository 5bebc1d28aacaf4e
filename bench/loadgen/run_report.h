#pragma once
// The figures of one load-generator run: per-request records in, a summary out, printed as text,
// JSON and a Markdown table row. Owned by the load generator's single thread.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "loadgen/latency_summary.h"

namespace llorch::bench {

// One request as the client saw it. Times in milliseconds; start_s from the run's start.
struct request_record {
    double start_s = 0;
    double end_s = 0;
    bool ok = false;
    std::string error;    // empty when ok: "http_503", "connect_failed", "UPSTREAM_FAILED", ...
    double ttft_ms = -1;  // -1: no token arrived
    double e2e_ms = 0;
    int tokens = 0;        // the server's count when it gave one, else the token events seen
    int token_events = 0;  // token-bearing events seen
    std::string pool_id;   // llama-orch targets: the pool that served it
};

struct run_settings {
    std::string label;
    std::string target;  // "orch", "llamacpp", ...
    std::string url;
    std::string mode;  // "closed" or "open"
    int concurrency = 0;
    double rate = 0;
    int max_tokens = 0;
    double warmup_s = 0;
};

struct run_summary {
    run_settings settings;
    double window_s = 0;  // measured window: end of warm-up to the last completion
    uint64_t requests_ok = 0;
    uint64_t requests_failed = 0;
    uint64_t requests_short = 0;  // ok but fewer tokens than max_tokens
    uint64_t dropped = 0;         // open loop: arrivals not started (client in-flight cap)
    std::map<std::string, uint64_t> errors;
    std::map<std::string, uint64_t> pools;  // successful requests per serving pool
    uint64_t tokens_all = 0;                // tokens of every request, warm-up included
    uint64_t tokens = 0;
    double tokens_per_s = 0;
    double requests_per_s = 0;
    int peak_in_flight = 0;
    latency_summary ttft_ms;
    latency_summary itl_ms;
    latency_summary e2e_ms;
};

// Requests that started before warmup_s are left out; ITL samples come with their request's
// start so they are left out the same way. run_end_s: when the run ended (all requests done).
run_summary summarize_run(const run_settings& settings, const std::vector<request_record>& records,
                          const std::vector<std::pair<double, double>>& itl_samples,
                          double run_end_s, uint64_t dropped, int peak_in_flight);

std::string to_text(const run_summary& s);
std::string to_json(const run_summary& s);
std::string markdown_header();
std::string markdown_row(const run_summary& s);

}  // namespace llorch::bench
