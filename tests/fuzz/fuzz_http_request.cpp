// Whatever a client sends, through the project's own server: request line, headers, body,
// limits, pipelining, Expect, HEAD and absolute targets. Each input goes over a real loopback
// connection to one long-lived server (so state carried from input to input is exercised too);
// the input ends with the client's half-close, and the server must answer or close, never hang
// or crash.
#include <poll.h>
#include <sys/socket.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "http/server.h"

namespace {
namespace asio = boost::asio;
using namespace llorch::http;

class one_piece final : public body_stream {
  public:
    asio::awaitable<std::optional<std::string>> next(std::chrono::milliseconds) override {
        if (sent_) co_return std::nullopt;
        sent_ = true;
        co_return "data: x\n\n";
    }

  private:
    bool sent_ = false;
};

struct fixture {
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    std::unique_ptr<server> srv;
    std::thread thread;
    fixture() {
        router r;
        r.add("GET", "/x/{id}", [](request q) -> asio::awaitable<response> {
            co_return response::text(200, q.params[0] + q.query_param("a").value_or(""));
        });
        r.add("POST", "/echo", [](request q) -> asio::awaitable<response> {
            co_return response::text(200, q.body);
        });
        r.add("GET", "/stream", [](request) -> asio::awaitable<response> {
            response res;
            res.content_type = "text/event-stream";
            res.stream = std::make_shared<one_piece>();
            co_return res;
        });
        server_options o;
        o.body_limit = 4096;
        o.header_limit = 2048;
        o.header_timeout = std::chrono::milliseconds(500);
        o.read_timeout = std::chrono::milliseconds(500);
        srv = std::make_unique<server>(io, o, std::move(r));
        if (!srv->start()) std::abort();
        thread = std::thread([this] { io.run(); });
    }
};

// Nanoseconds the process's threads have spent runnable but waiting for a CPU
// (/proc/<pid>/task/<tid>/schedstat, second field), summed.
uint64_t run_delay_ns() {
    uint64_t sum = 0;
    std::error_code ec;
    for (const auto& t : std::filesystem::directory_iterator("/proc/self/task", ec)) {
        std::ifstream in(t.path() / "schedstat");
        uint64_t on_cpu = 0, waiting = 0;
        if (in >> on_cpu >> waiting) sum += waiting;
    }
    return sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static fixture* f = new fixture;  // lives as long as the process
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    boost::system::error_code ec;
    s.connect({asio::ip::make_address("127.0.0.1"), f->srv->port()}, ec);
    if (ec) __builtin_trap();  // the server stopped accepting
    asio::write(s, asio::buffer(data, size), ec);
    s.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    // The server answers and closes, or just closes. Without either, after a first 5 s the
    // process is watched: 5 s more in which it waited less than a second for a CPU is a hang
    // (more means a fuzzer at low priority on a busy machine: it gets 5 s more, up to 2 min).
    char buf[8192];
    std::optional<uint64_t> delay_at;
    for (int waits = 0;;) {
        pollfd p{s.native_handle(), POLLIN, 0};
        if (::poll(&p, 1, 5000) <= 0) {
            const uint64_t now = run_delay_ns();
            if (delay_at && now - *delay_at < 1'000'000'000) __builtin_trap();
            if (++waits == 24) __builtin_trap();
            delay_at = now;
            continue;
        }
        auto n = s.read_some(asio::buffer(buf), ec);
        if (ec || n == 0) break;
    }
    return 0;
}
