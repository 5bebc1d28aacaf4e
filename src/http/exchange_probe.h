#pragma once
// exchange_probe: watches a connection while its request is answered. The client sends nothing
// while it waits but, at most, its next request, so a read that ends with end-of-file or an error
// means it went away: the probe then tells the streamed body (on_disconnect) and the handler
// (client_departure, on the control thread). Bytes that do arrive stay in the session's buffer.
// Owner: the connection's session (shared with the pending read). Thread: the session's.

#include <chrono>
#include <memory>
#include <optional>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>

#include "http/client_departure.h"
#include "http/message.h"

namespace llorch::http {

// What the disconnect probe of an exchange knows; shared with its read handler. The probe
// runs from the moment a request has been read until its answer is out.
struct exchange_probe {
    explicit exchange_probe(asio::any_io_executor control_)
        : control(std::move(control_)), departure(std::make_shared<client_departure>()) {}
    asio::any_io_executor control;
    std::shared_ptr<client_departure> departure;  // the handler's view (request::departure)
    std::shared_ptr<body_stream> src;             // the streamed body, once there is one
    bool gone = false;    // the client went away (or a write failed); told once
    bool closed = false;  // the connection cannot carry another request
    bool done = true;     // no read pending
    bool stop = false;    // the answer is out: the probe's read is being cancelled
    std::optional<asio::steady_timer> waiter;
    void wake() {
        done = true;
        if (waiter) waiter->cancel();
    }
    // Tells the stream (if any) and, on the control thread, the handler's departure.
    void mark_gone() {
        if (gone) return;
        gone = true;
        if (src) src->on_disconnect();
        asio::post(control, [d = departure] { d->depart(); });
    }
};

// The client sends nothing while it waits for an answer but, at most, its next request: a
// read that completes with an error or end of file means it went away. Bytes that do arrive
// stay in the session's buffer for the next request, and the probe keeps watching.
template <class Stream>
void start_probe(Stream& stream, boost::beast::flat_buffer& buffer,
                 std::shared_ptr<exchange_probe> probe) {
    probe->done = false;
    auto on_read = [&stream, &buffer, probe](boost::system::error_code ec, std::size_t n) {
        buffer.commit(n);
        if (ec || n == 0) {
            if (!(probe->stop && ec == asio::error::operation_aborted)) probe->closed = true;
            if (!probe->stop) probe->mark_gone();
            probe->wake();
            return;
        }
        // A pipelined request past what one would send: stop reading, it waits.
        if (probe->stop || buffer.size() >= 64 * 1024) {
            probe->wake();
            return;
        }
        start_probe(stream, buffer, std::move(probe));
    };
    stream.async_read_some(buffer.prepare(512), std::move(on_read));
}

// The probe reads into the session's buffer: it must be over before the session writes a
// plain answer, reads the next request or goes away. A cancelled read loses no data.
template <class Stream>
asio::awaitable<void> stop_probe(Stream& stream, exchange_probe& probe) {
    auto& lowest = boost::beast::get_lowest_layer(stream);
    boost::system::error_code ec;
    probe.stop = true;
    if (!probe.done) lowest.socket().cancel(ec);
    while (!probe.done) {
        probe.waiter.emplace(stream.get_executor(), std::chrono::seconds(1));
        co_await probe.waiter->async_wait(asio::redirect_error(asio::use_awaitable, ec));
        // A TLS read between two records may not see the cancel: closing ends it for sure.
        if (!probe.done) {
            probe.closed = true;
            lowest.socket().close(ec);
        }
    }
    probe.waiter.reset();
}

}  // namespace llorch::http
