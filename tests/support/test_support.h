#pragma once
// What the integration tests share: free loopback ports, the tiny model, the built binaries,
// running a coroutine to completion with a deadline, waiting on a condition, and SSE reading.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "common/subprocess.h"
#include "http/client.h"
#include "http/sse.h"

namespace llorch::test {
namespace asio = boost::asio;
using namespace std::chrono_literals;

// A loopback port free at the moment of the call, for servers that cannot bind port 0
// themselves (llama-server); the daemons bind port 0 and say which port they got.
uint16_t free_port();
// build/bin (from LLORCH_BIN_DIR, set by CMake for every test).
std::filesystem::path bin_dir();
std::filesystem::path engine_or_skip();
// The default tiny model, generated on first use.
std::filesystem::path tiny_model();
// A fresh folder under the system's temp dir, removed at exit when all of this process's tests
// passed (LLORCH_KEEP_TEST_DIRS=1 keeps it).
std::filesystem::path temp_dir(const std::string& name);

// Runs `aw` on `io` until it completes; throws when it takes longer than `timeout`.
template <class T>
T run(asio::io_context& io, asio::awaitable<T> aw, std::chrono::milliseconds timeout = 60s) {
    std::optional<T> out;
    std::exception_ptr err;
    asio::co_spawn(io, std::move(aw), [&](std::exception_ptr e, T v) {
        if (e)
            err = e;
        else
            out.emplace(std::move(v));
    });
    io.restart();
    io.run_for(timeout);
    if (err) std::rethrow_exception(err);
    if (!out) throw std::runtime_error("timed out");
    return std::move(*out);
}

// Polls `cond` every 20 ms until it holds or the deadline passes.
bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds deadline = 30s);

// A one-shot HTTP exchange on a private io_context (for tests that are not coroutines).
http::client_response http_call(
    const std::string& method, const std::string& url, const std::string& body = {},
    const std::vector<std::pair<std::string, std::string>>& headers = {},
    std::chrono::milliseconds timeout = 30s);

// Streams a request and returns every SSE event; `on_event` may return false to stop early.
struct sse_result {
    int status = 0;
    std::vector<http::sse_event> events;
    std::string error;  // transport error, if any
    std::string raw;    // the non-SSE body of an error response
};
sse_result sse_call(const std::string& method, const std::string& url, const std::string& body = {},
                    const std::vector<std::pair<std::string, std::string>>& headers = {},
                    const std::function<bool(const http::sse_event&)>& on_event = {},
                    std::chrono::milliseconds timeout = 120s);

// Waits until GET url answers 200.
bool wait_http_ok(const std::string& url, std::chrono::milliseconds deadline = 60s);

// The port a daemon started with `--addr 127.0.0.1:0` bound: read from the line
// "<daemon> listening on HOST:PORT" it prints once it serves. 0 when the process ends or the
// deadline passes first.
uint16_t listening_port(common::subprocess& p, const std::filesystem::path& log,
                        const std::string& daemon, std::chrono::milliseconds deadline = 30s);

// Starts a program with its output to `log`; stopped when the returned object goes away.
common::subprocess start_process(const std::vector<std::string>& argv,
                                 const std::filesystem::path& log,
                                 const std::vector<std::pair<std::string, std::string>>& env = {});

std::string read_file(const std::filesystem::path& p);
// A program as found on PATH (the process launcher takes a path, not a name); empty when absent.
std::filesystem::path program_on_path(const std::string& name);
boost::json::value parse_json(const std::string& s);

// Header or environment pairs.
using header_pairs = std::vector<std::pair<std::string, std::string>>;
// Keeps the caller's tokens away from a daemon meant to run without auth on loopback.
extern const header_pairs no_tokens;

long long ms_since(std::chrono::steady_clock::time_point t);
// kill(pid, 0), except that a zombie counts as gone: it runs no code and holds no port or slot.
bool process_alive(long pid);
// The live llama-server processes whose command line names `model` (engines on that file).
std::vector<long> engines_on(const std::filesystem::path& model);

// Lenient JSON readers for assertions: an empty object, "" or -1 when the value is not there.
boost::json::object object_of(const std::string& data);
std::string str_of(const boost::json::object& o, const char* key);
long long int_of(const boost::json::object& o, const char* key);

long long token_count(const sse_result& r);
// The value of one Prometheus sample, or -1 when the line is not there.
double metric_value(const std::string& text, const std::string& series);

// Joins a thread on scope exit, after letting it go (so a failed assertion never hangs the test
// on a stream it holds, and never leaves a joinable std::thread behind).
class joined_thread {
  public:
    joined_thread(std::atomic<bool>& release, std::function<void()> body)
        : release_(release), t_(std::move(body)) {}
    ~joined_thread() { join(); }
    void join() {
        release_ = true;
        if (t_.joinable()) t_.join();
    }

  private:
    std::atomic<bool>& release_;
    std::thread t_;
};

}  // namespace llorch::test
