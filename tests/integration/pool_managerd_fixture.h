#pragma once
// pool-managerd as a process: real daemons, real llama-server engines on the tiny model, and
// nothing but the public HTTP API (plus the process table and the runtime dir, which are the
// daemon's public effects). Each fixture runs one daemon kind shared by its tests; a test that
// breaks its daemon's state on purpose owns a pool of its own in it.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <atomic>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>
#include "support/test_support.h"

namespace llorch::test {
namespace fs = std::filesystem;
namespace json = boost::json;
using steady = std::chrono::steady_clock;

// The engine's command line, NUL-separated arguments joined by spaces.
inline std::string cmdline_of(long pid) {
    auto raw = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    for (auto& c : raw)
        if (c == '\0') c = ' ';
    return raw;
}

// The value after `flag` in a process's command line; empty when absent.
inline std::string arg_after(long pid, const std::string& flag) {
    std::istringstream in(cmdline_of(pid));
    std::string word;
    while (in >> word)
        if (word == flag && in >> word) return word;
    return {};
}

inline std::string pool_toml(const std::string& id, const fs::path& model, int slots, int ctx,
                             const std::string& extra = {}) {
    return "[[pools]]\nid = \"" + id + "\"\nengine = \"llamacpp\"\nmodel = \"" + model.string() +
           "\"\ndevice = \"cpu\"\nslots = " + std::to_string(slots) +
           "\nctx = " + std::to_string(ctx) + "\nthreads = 1\n" + extra + "\n";
}

inline std::string infer_body(int max_tokens, bool ignore_eos = true) {
    return R"({"prompt":"Once upon a time","max_tokens":)" + std::to_string(max_tokens) +
           R"(,"temperature":0,"seed":7,"ignore_eos":)" + (ignore_eos ? "true" : "false") +
           R"(,"task_id":"t-1","attempt":0})";
}

// started, then token events with i = 0, 1, 2, ... (also their SSE id), then end as the last event.
inline ::testing::AssertionResult well_formed_stream(const sse_result& r) {
    if (r.status != 200)
        return ::testing::AssertionFailure() << "status " << r.status << ": " << r.raw << r.error;
    if (r.events.empty()) return ::testing::AssertionFailure() << "no events; " << r.error;
    if (r.events.front().event != "started")
        return ::testing::AssertionFailure() << "first event is " << r.events.front().event;
    long long next_i = 0;
    for (size_t k = 1; k + 1 < r.events.size(); ++k) {
        const auto& e = r.events[k];
        if (e.event != "token")
            return ::testing::AssertionFailure()
                   << "event " << k << " is '" << e.event << "': " << e.data;
        auto i = parse_json(e.data).at("i").to_number<long long>();
        if (i != next_i)
            return ::testing::AssertionFailure()
                   << "token " << k << " has i=" << i << ", expected " << next_i;
        if (!e.id || *e.id != std::to_string(i))
            return ::testing::AssertionFailure()
                   << "token i=" << i << " has SSE id " << e.id.value_or("(none)");
        ++next_i;
    }
    if (r.events.back().event != "end")
        return ::testing::AssertionFailure()
               << "last event is '" << r.events.back().event << "': " << r.events.back().data;
    if (next_i == 0) return ::testing::AssertionFailure() << "no token event";
    return ::testing::AssertionSuccess();
}

// One pool-managerd process with its own config, runtime dir, port and log. Stopped (SIGTERM,
// then SIGKILL) when destroyed; its engines die with it.
class daemon_process {
  public:
    daemon_process(const std::string& name, const std::string& toml,
                   std::vector<std::string> args = {}, header_pairs env = no_tokens)
        : dir_(temp_dir("pmd-" + name)) {
        runtime_ = dir_ / "run";
        log_ = dir_ / "daemon.log";
        config_ = dir_ / "pools.toml";
        std::ofstream(config_) << toml;
        std::vector<std::string> argv{(bin_dir() / "pool-managerd").string(),
                                      "--config",
                                      config_.string(),
                                      "--addr",
                                      "127.0.0.1:0",
                                      "--runtime-dir",
                                      runtime_.string(),
                                      "--node-id",
                                      "test-node"};
        argv.insert(argv.end(), args.begin(), args.end());
        proc_ = start_process(argv, log_, env);
        port_ = listening_port(proc_, log_, "pool-managerd");
    }

    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }
    bool wait_healthy(std::chrono::milliseconds d = 30s) { return wait_http_ok(url("/health"), d); }

    json::object status(const std::string& pool, const header_pairs& h = {}) const {
        auto r = http_call("GET", url("/v2/pools/" + pool + "/status"), {}, h, 5s);
        if (r.status != 200) return {};
        return parse_json(r.body).as_object();
    }
    std::string state(const std::string& pool) const {
        auto s = status(pool);
        auto* v = s.if_contains("state");
        return v && v->is_string() ? std::string(v->get_string()) : std::string("(no status)");
    }
    long pid_of(const std::string& pool) const {
        auto s = status(pool);
        auto* v = s.if_contains("pid");
        return v && v->is_int64() ? static_cast<long>(v->get_int64()) : -1;
    }
    bool wait_state(const std::string& pool, const std::string& want,
                    std::chrono::milliseconds d = 60s) const {
        return wait_until([&] { return state(pool) == want; }, d);
    }
    sse_result infer(const std::string& pool, const std::string& body,
                     const std::function<bool(const http::sse_event&)>& on_event = {}) const {
        return sse_call("POST", url("/v2/pools/" + pool + "/infer"), body, {}, on_event, 120s);
    }

    std::string log_text() const { return read_file(log_); }
    const fs::path& runtime() const { return runtime_; }
    const fs::path& dir() const { return dir_; }
    common::subprocess& proc() { return proc_; }

  private:
    fs::path dir_, runtime_, log_, config_;
    uint16_t port_ = 0;
    common::subprocess proc_;
};

// What a daemon that must refuse to start printed, and its exit code.
struct refusal {
    int exit_code = -1;
    std::string output;
    std::vector<std::string> lines;  // the non-empty ones
};

inline refusal run_to_exit(std::vector<std::string> args, const header_pairs& env = no_tokens) {
    auto dir = temp_dir("pmd-refusal");
    args.insert(args.begin(), (bin_dir() / "pool-managerd").string());
    auto p = start_process(args, dir / "out.log", env);
    refusal r;
    if (!wait_until([&] { return !p.running(); }, 15s)) {
        r.output = "still running after 15 s: " + read_file(dir / "out.log");
        return r;
    }
    if (p.status() && WIFEXITED(*p.status())) r.exit_code = WEXITSTATUS(*p.status());
    r.output = read_file(dir / "out.log");
    std::istringstream in(r.output);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) r.lines.push_back(line);
    return r;
}

}  // namespace llorch::test
