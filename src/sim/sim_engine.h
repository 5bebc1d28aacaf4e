#pragma once
// One simulated llama-server on one port: its HTTP server and routes, its slots and FIFO, its
// random draws and its faults. Owned (shared) by sim_host and by the generations it runs, so it
// outlives every request; lives on the io thread of the io_context it is given.

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include "common/metrics.h"
#include "http/auth.h"
#include "http/message.h"
#include "http/server.h"
#include "sim/sim_config.h"
#include "sim/sim_error.h"
#include "sim/sim_frames.h"
#include "sim/slot_table.h"
#include "sim/token_text.h"

namespace llorch::sim {

class generation;

class sim_engine : public std::enable_shared_from_this<sim_engine> {
  public:
    // `index` tells engines of one process apart: it offsets the seed.
    sim_engine(boost::asio::io_context& io, const sim_config& cfg, uint16_t port, int index);
    ~sim_engine();
    sim_engine(const sim_engine&) = delete;
    sim_engine& operator=(const sim_engine&) = delete;

    // Binds and starts serving; the error names the address and the reason.
    sim_result<void> start();
    void stop();
    uint16_t port() const;

    // For generation.
    boost::asio::any_io_executor executor() const { return io_.get_executor(); }
    slot_table::ticket admit(generation& g);
    void release(slot_table::ticket t);
    std::chrono::microseconds draw_ttft() { return cfg_.ttft.sample(rng_); }
    std::chrono::microseconds draw_itl() { return cfg_.itl.sample(rng_); }
    // Records tokens about to be sent; returns how many of `n` may go out before the crash point.
    int count_tokens(int n);
    bool crash_due() const;
    // The crash fault: the process exits with status 1.
    [[noreturn]] void crash();

    const token_text& tokens() const { return text_; }
    const slot_table& slots() const { return slots_; }

  private:
    boost::asio::awaitable<http::response> handle_health(http::request req);
    boost::asio::awaitable<http::response> handle_slots(http::request req);
    boost::asio::awaitable<http::response> handle_props(http::request req);
    boost::asio::awaitable<http::response> handle_models(http::request req);
    boost::asio::awaitable<http::response> handle_metrics(http::request req);
    boost::asio::awaitable<http::response> handle_generate(http::request req, api_kind api);
    boost::asio::awaitable<http::response> handle_tags(http::request req);
    boost::asio::awaitable<http::response> handle_version(http::request req);
    // Whether the Ollama API serves `model` (the alias or one of --models; `name` is
    // `name:latest`).
    bool serves(std::string_view model) const;

    // The llama-server middleware: 401 without a valid key, 503 while "loading".
    std::optional<http::response> gate(const http::request& req, bool public_route) const;
    bool loading() const;
    std::string new_completion_id();
    http::router routes();

    boost::asio::io_context& io_;
    sim_config cfg_;
    uint16_t requested_port_;
    http::token_set keys_;
    token_text text_;
    std::mt19937_64 rng_;
    slot_table slots_;
    std::unordered_map<slot_table::ticket, generation*> by_ticket_;
    slot_table::ticket next_ticket_ = 1;
    long long tokens_sent_ = 0;
    std::chrono::steady_clock::time_point started_at_;
    std::unique_ptr<http::server> server_;

    common::metrics_registry metrics_;
    common::counter* m_prompt_tokens_;
    common::counter* m_tokens_predicted_;
    common::counter* m_requests_;
    common::counter* m_errors_injected_;
    common::gauge* m_processing_;
    common::gauge* m_deferred_;
};

}  // namespace llorch::sim
