#pragma once
// What the handoff file tests and the handoff watcher tests share: sample handoffs and a
// scratch directory removed at the end of each test.

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "pool/handoff.h"
#include "pool/handoff_watcher.h"

namespace llorch::pool {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline handoff full_handoff() {
    handoff h;
    h.pool_id = "tiny";
    h.engine = "llamacpp";
    h.endpoint = "http://127.0.0.1:8081";
    h.gpu_device = "0,1";
    h.slots = 4;
    h.ready = true;
    h.model = "tiny";
    h.model_path = "/models/tiny.gguf";
    h.pid = 4242;
    h.engine_version = "b4500";
    h.replica_id = "r0";
    h.written_at = "2025-01-02T03:04:05Z";
    h.api_key_env = "TINY_API_KEY";
    return h;
}

inline handoff minimal_handoff(std::string pool_id = "p1") {
    handoff h;
    h.pool_id = std::move(pool_id);
    h.engine = "openai";
    h.endpoint = "http://127.0.0.1:9000";
    h.gpu_device = "cpu";
    h.slots = 2;
    h.ready = true;
    return h;
}

// A fresh directory per test, removed afterwards.
class temp_dir {
  public:
    temp_dir() {
        static int counter = 0;
        path_ = fs::temp_directory_path() /
                ("llorch-handoff-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

inline std::set<std::string> list_dir(const fs::path& dir) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
    return names;
}

// A plain, non-atomic write: what an outside tool might do.
inline void write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}

}  // namespace llorch::pool
