#pragma once
// GET /v2/events as a test reads it: a stream followed on a thread of its own, its events kept in
// arrival order, and waits for an event that matches. Plus a HOME orchestratord with an API
// token (the dashboard and the CLI tests share it).

#include <gtest/gtest.h>
#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>
#include "support/test_support.h"

namespace llorch::test {
namespace fs = std::filesystem;
namespace json = boost::json;

inline const std::string events_token = "dashboard-test-token-0123456789";

inline header_pairs with_token() { return {{"Authorization", "Bearer " + events_token}}; }

// `env` with `key` set to `value` (replacing what `no_tokens` put there).
inline header_pairs env_with(header_pairs env, const std::string& key, const std::string& value) {
    std::erase_if(env, [&](const auto& kv) { return kv.first == key; });
    env.emplace_back(key, value);
    return env;
}

// One tiny-model pool on the CPU.
inline std::string tiny_pool(const std::string& id, int slots) {
    return "[[pools]]\nid = \"" + id + "\"\nengine = \"llamacpp\"\nmodel = \"" +
           tiny_model().string() + "\"\ndevice = \"cpu\"\nslots = " + std::to_string(slots) +
           "\nctx = 1024\nthreads = 1\n\n";
}

inline std::string tiny_task(int max_tokens) {
    return R"({"model":"tiny","prompt":"Once upon a time","max_tokens":)" +
           std::to_string(max_tokens) + R"(,"temperature":0,"seed":7,"ignore_eos":true})";
}

// orchestratord in the HOME profile with LLORCH_API_TOKEN set.
class home_daemon {
  public:
    home_daemon(const std::string& name, const std::string& toml) : dir_(temp_dir(name)) {
        std::ofstream(dir_ / "pools.toml") << toml;
        auto env = env_with(no_tokens, "LLORCH_API_TOKEN", events_token);
        proc_ =
            start_process({(bin_dir() / "orchestratord").string(), "--config",
                           (dir_ / "pools.toml").string(), "--addr", "127.0.0.1:0", "--runtime-dir",
                           (dir_ / "run").string(), "--drain-deadline-ms", "500"},
                          dir_ / "daemon.log", env);
        port_ = listening_port(proc_, dir_ / "daemon.log", "orchestratord");
    }
    ~home_daemon() { proc_.stop(std::chrono::milliseconds(3000)); }
    std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::string url(const std::string& p) const { return base() + p; }
    http::client_response call(const std::string& method, const std::string& path,
                               const std::string& body = {}) const {
        return http_call(method, url(path), body, with_token(), 10s);
    }
    // Every pool ready; empty, or what went wrong.
    std::string wait_ready(std::chrono::milliseconds d = 90s) const {
        bool ok = wait_until(
            [&] {
                auto r = call("GET", "/v2/pools");
                if (r.status != 200) return false;
                auto pools = object_of(r.body)["pools"].as_array();
                if (pools.empty()) return false;
                for (const auto& p : pools)
                    if (str_of(p.as_object(), "state") != "ready") return false;
                return true;
            },
            d);
        return ok ? std::string() : "pools not ready: " + log_text();
    }
    std::string submit_id(const std::string& body) const {
        auto r = call("POST", "/v2/tasks", body);
        if (r.status != 202) {
            ADD_FAILURE() << "submit answered " << r.status << ": " << r.body;
            return {};
        }
        return str_of(object_of(r.body), "task_id");
    }
    std::string log_text() const { return read_file(dir_ / "daemon.log"); }
    uint16_t port() const { return port_; }
    const fs::path& dir() const { return dir_; }

  private:
    fs::path dir_;
    uint16_t port_ = 0;
    common::subprocess proc_;
};

// Follows GET /v2/events until destroyed.
class event_stream {
  public:
    event_stream(std::string url, header_pairs auth)
        : t_([this, url = std::move(url), auth = std::move(auth)] {
              auto r = sse_call(
                  "GET", url, {}, auth,
                  [this](const http::sse_event& e) {
                      std::lock_guard lock(mu_);
                      events_.push_back(e);
                      return !stop_.load();
                  },
                  600s);
              std::lock_guard lock(mu_);
              status_ = r.status;
              done_ = true;
          }) {}
    ~event_stream() {
        stop_ = true;
        t_.join();
    }
    // The first event of `type` whose data satisfies `pred`, waiting up to `d`.
    std::optional<json::object> wait_for(const std::string& type,
                                         const std::function<bool(const json::object&)>& pred = {},
                                         std::chrono::milliseconds d = 60s) {
        std::optional<json::object> found;
        wait_until(
            [&] {
                std::lock_guard lock(mu_);
                for (const auto& e : events_) {
                    if (e.event != type) continue;
                    auto o = object_of(e.data);
                    if (!pred || pred(o)) {
                        found = o;
                        return true;
                    }
                }
                return done_;
            },
            d);
        return found;
    }
    std::vector<http::sse_event> events() const {
        std::lock_guard lock(mu_);
        return events_;
    }

  private:
    std::atomic<bool> stop_{false};
    mutable std::mutex mu_;
    std::vector<http::sse_event> events_;
    int status_ = 0;
    bool done_ = false;
    std::thread t_;
};

// Whether `a` (a JSON array of objects) holds one whose `key` is `value`.
inline const json::object* find_in(const json::object& o, const char* array, const char* key,
                                   const std::string& value) {
    auto* a = o.if_contains(array);
    if (!a || !a->is_array()) return nullptr;
    for (const auto& x : a->as_array())
        if (x.is_object() && str_of(x.as_object(), key) == value) return &x.as_object();
    return nullptr;
}

}  // namespace llorch::test
