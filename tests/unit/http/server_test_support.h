#pragma once
// An http::server on its own io thread, on port 0, and a blocking raw-socket client that can
// send anything (pipelined requests, half requests) and leave abruptly.

#include <poll.h>

#include <chrono>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "http/server.h"

namespace llorch::http::test {
using namespace std::chrono_literals;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

inline size_t count_of(const std::string& s, const std::string& needle) {
    size_t n = 0;
    for (auto p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
    return n;
}

class running_server {
  public:
    explicit running_server(router routes, server_options o = {})
        : work_(asio::make_work_guard(io_)), srv_(io_, std::move(o), std::move(routes)) {
        auto started = srv_.start();
        if (!started) throw std::runtime_error(started.error().message);
        thread_ = std::thread([this] { io_.run(); });
    }
    ~running_server() {
        asio::post(io_, [this] { srv_.stop(); });
        work_.reset();
        io_.stop();
        thread_.join();
    }
    uint16_t port() const { return srv_.port(); }
    asio::io_context& io() { return io_; }

  private:
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    server srv_;
    std::thread thread_;
};

class raw_client {
  public:
    explicit raw_client(uint16_t port) : sock_(io_) {
        sock_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    }
    void send(const std::string& bytes) { asio::write(sock_, asio::buffer(bytes)); }
    // Reads until `needle` has arrived (counting from `from`); false on timeout or close.
    bool read_until(const std::string& needle, std::chrono::milliseconds deadline = 10s,
                    size_t from = 0) {
        auto end = steady::now() + deadline;
        while (received_.find(needle, from) == std::string::npos) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - steady::now());
            if (left.count() <= 0) return false;
            if (!read_some(left)) return false;
        }
        return true;
    }
    // Reads until `needle` has arrived `n` times; false on timeout or close.
    bool read_until_count(const std::string& needle, size_t n,
                          std::chrono::milliseconds deadline = 10s) {
        auto end = steady::now() + deadline;
        while (count_of(received_, needle) < n) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - steady::now());
            if (left.count() <= 0) return false;
            if (!read_some(left)) return false;
        }
        return true;
    }
    // Reads until the server closes the connection; false on timeout.
    bool read_to_close(std::chrono::milliseconds deadline = 10s) {
        auto end = steady::now() + deadline;
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - steady::now());
            if (left.count() <= 0) return false;
            if (!read_some(left)) return closed_;
        }
    }
    const std::string& received() const { return received_; }
    bool closed() const { return closed_; }
    void reset() {
        boost::system::error_code ec;
        sock_.set_option(asio::socket_base::linger(true, 0), ec);
        sock_.close(ec);
    }

  private:
    bool read_some(std::chrono::milliseconds left) {
        pollfd p{sock_.native_handle(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return true;
        char buf[4096];
        boost::system::error_code ec;
        auto n = sock_.read_some(asio::buffer(buf), ec);
        if (ec) {
            closed_ = true;
            return false;
        }
        received_.append(buf, n);
        return true;
    }
    asio::io_context io_;
    tcp::socket sock_;
    std::string received_;
    bool closed_ = false;
};

}  // namespace llorch::http::test
