#include "http/server.h"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <random>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "common/log.h"
#include "http/accept_backoff.h"
#include "http/control_stream.h"
#include "http/exchange_probe.h"
#include "http/ids.h"

namespace llorch::http {
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::use_awaitable;

size_t default_max_connections() {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return 65'536;
    auto n = static_cast<long long>(lim.rlim_cur);
    return static_cast<size_t>(std::max(16LL, (n - 256) / 2));
}

std::string check_bind(std::string_view address, const token_set& tokens,
                       std::string_view token_env) {
    if (!tokens.empty() || is_loopback(address)) return {};
    return "NON_LOOPBACK_WITHOUT_TOKEN: refusing to listen on " + std::string(address) +
           " without a token; set " + std::string(token_env) +
           " (at least 16 characters) or bind to 127.0.0.1";
}

struct server::impl : std::enable_shared_from_this<impl> {
    asio::io_context& io;
    server_options opts;
    router routes;
    tcp::acceptor acceptor;
    uint16_t bound_port = 0;
    std::atomic<size_t> connections{0};
    size_t max_connections;
    std::atomic<bool> accept_paused{false};
    asio::steady_timer room_waiter{io};  // the accept loop's wait at the connection limit
    std::atomic<bool> stopping{false};
    size_t next_thread = 0;  // round-robin over the control thread and connection_executors
    // Requests being answered (read, not yet fully written). Once stopping, the last one to end
    // wakes wait_exchanges(), whose timer lives on the control thread.
    std::atomic<size_t> exchanges{0};
    asio::steady_timer exchanges_waiter{io};

    void exchange_done() {
        if (--exchanges == 0 && stopping)
            asio::post(io, [self = shared_from_this()] { self->exchanges_waiter.cancel(); });
    }
    std::shared_ptr<spdlog::logger> log;

    impl(asio::io_context& io_, server_options o, router r)
        : io(io_),
          opts(std::move(o)),
          routes(std::move(r)),
          acceptor(io_),
          max_connections(opts.max_connections ? opts.max_connections : default_max_connections()),
          log(common::logger(opts.name)) {}

    asio::awaitable<void> accept_loop() {
        auto self = shared_from_this();
        accept_backoff backoff;
        while (!stopping) {
            if (!co_await wait_for_room()) break;
            // The connection goes to the io thread whose turn it is; its session runs there.
            size_t turn = next_thread++ % (opts.connection_executors.size() + 1);
            bool off_control = turn > 0;
            auto ex = off_control ? opts.connection_executors[turn - 1]
                                  : asio::any_io_executor(io.get_executor());
            boost::system::error_code ec;
            tcp::socket sock =
                co_await acceptor.async_accept(ex, asio::redirect_error(use_awaitable, ec));
            if (ec) {
                if (ec == asio::error::operation_aborted || stopping) break;
                // Out of descriptors and the like: keep serving the connections there are, try
                // again later and later (up to a second), and say so once in a while.
                auto v = backoff.failed(std::chrono::steady_clock::now());
                if (v.report)
                    log->warn(
                        "accept failed {} time(s): {}; retrying in {} ms (raise the "
                        "descriptor limit or lower --max-connections)",
                        v.failures, ec.message(), v.wait.count());
                asio::steady_timer t(io, v.wait);
                co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
                continue;
            }
            backoff.succeeded();
            ++connections;
            sock.set_option(tcp::no_delay(true), ec);
            if (opts.tls)
                asio::co_spawn(ex, tls_session(std::move(sock), off_control), asio::detached);
            else
                asio::co_spawn(ex, session(beast::tcp_stream(std::move(sock)), off_control),
                               asio::detached);
        }
    }

    // At the connection limit, the accept loop waits (new connections wait in the listen
    // backlog) until a connection ends. False when the server stops meanwhile.
    asio::awaitable<bool> wait_for_room() {
        if (connections < max_connections) co_return true;
        log->warn(
            "{} connections, the limit: new connections wait until one ends "
            "(--max-connections)",
            max_connections);
        while (connections >= max_connections && !stopping) {
            accept_paused = true;
            room_waiter.expires_after(std::chrono::seconds(1));
            boost::system::error_code ec;
            co_await room_waiter.async_wait(asio::redirect_error(use_awaitable, ec));
        }
        accept_paused = false;
        co_return !stopping;
    }

    void connection_done() {
        if (--connections < max_connections && accept_paused)
            asio::post(io, [self = shared_from_this()] { self->room_waiter.cancel(); });
    }

    // The handler runs on the control thread; a connection served elsewhere waits for its
    // answer there, and pulls a streamed body through a control_stream.
    asio::awaitable<response> handle(request req, bool off_control) {
        if (!off_control) co_return co_await dispatch(std::move(req));
        auto self = shared_from_this();
        response res = co_await asio::co_spawn(io, dispatch(std::move(req)), use_awaitable);
        if (res.stream)
            res.stream = std::make_shared<control_stream>(io.get_executor(), std::move(res.stream));
        co_return res;
    }

    asio::awaitable<response> dispatch(request req) {
        auto m = routes.match(req.method, req.path);
        // HEAD is GET without the body (the server drops it when writing).
        if (!m.h && req.method == "HEAD") m = routes.match("GET", req.path);
        if (!m.h) {
            if (m.path_known) {
                co_return routes.error_response(
                    api::make_error(api::error_code::method_not_allowed,
                                    req.method + " is not allowed on " + req.path),
                    req.path, req.correlation_id);
            }
            co_return routes.error_response(
                api::make_error(api::error_code::not_found,
                                "no such endpoint: " + req.method + " " + req.path),
                req.path, req.correlation_id);
        }
        const token_set& required = m.opts.service_route && !opts.service_tokens.empty()
                                        ? opts.service_tokens
                                        : opts.tokens;
        const bool open = m.opts.public_route || (m.opts.public_when && m.opts.public_when(req));
        if (!open && !required.empty()) {
            auto auth = req.header("Authorization");
            if (!auth) {
                co_return routes.error_response(
                    api::make_error(api::error_code::missing_token,
                                    "this endpoint needs a token: send 'Authorization: Bearer "
                                    "<token>'"),
                    req.path, req.correlation_id);
            }
            auto tok = bearer_token(*auth);
            auto id = tok ? required.verify(*tok) : std::nullopt;
            if (!id) {
                log->warn("rejected request {} {} from {}: bad token", req.method, req.path,
                          req.remote_address);
                co_return routes.error_response(
                    api::make_error(api::error_code::bad_token, "the token is not valid here"),
                    req.path, req.correlation_id);
            }
            req.identity = *id;
        } else {
            req.identity = is_loopback(req.remote_address) ? "localhost" : "anonymous";
        }
        req.params = std::move(m.params);
        std::string corr = req.correlation_id;
        std::string path = req.path;
        try {
            co_return co_await (*m.h)(std::move(req));
        } catch (const std::exception& ex) {
            log->error("handler failed: {}", ex.what());
            co_return routes.error_response(
                api::make_error(api::error_code::internal, "internal error; see the daemon's log"),
                path, corr);
        }
    }

    static void fill_headers(bhttp::response_header<>& h, const response& r,
                             const std::string& corr, const std::string& name) {
        h.set(bhttp::field::server, name);
        if (!r.content_type.empty() && r.status != 204)
            h.set(bhttp::field::content_type, r.content_type);
        if (r.status != 204) h.set("X-Correlation-Id", corr);
        for (const auto& [k, v] : r.headers.items()) h.insert(k, v);
    }

    asio::awaitable<void> tls_session(tcp::socket sock, bool off_control) {
        auto self = shared_from_this();
        beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(sock)), *opts.tls);
        beast::get_lowest_layer(stream).expires_after(opts.header_timeout);
        boost::system::error_code ec;
        co_await stream.async_handshake(asio::ssl::stream_base::server,
                                        asio::redirect_error(use_awaitable, ec));
        if (ec) {
            log->debug("TLS handshake failed: {}", ec.message());
            beast::get_lowest_layer(stream).close();
            connection_done();
            co_return;
        }
        co_await session(std::move(stream), off_control);
    }

    // One request as read from a connection: none when the connection ends (closed, timed out,
    // or refused with an answer already written).
    struct read_result {
        std::optional<request> req;
        bool keep_alive = false;
        unsigned version = 11;
        bool linger = false;  // refused mid-body: drain a little before closing
    };

    template <class Stream>
    asio::awaitable<read_result> read_request(Stream& stream, beast::flat_buffer& buffer,
                                              bool first, const std::string& remote) {
        read_result out;
        auto& lowest = beast::get_lowest_layer(stream);
        boost::system::error_code ec;
        // A keep-alive connection may idle between requests; a request's head must then come
        // within header_timeout of its first byte.
        if (buffer.size() == 0) {
            lowest.expires_after(first ? opts.header_timeout : opts.idle_timeout);
            size_t n = co_await stream.async_read_some(buffer.prepare(4096),
                                                       asio::redirect_error(use_awaitable, ec));
            buffer.commit(n);
            if (ec) co_return out;
        }
        bhttp::request_parser<bhttp::string_body> parser;
        parser.body_limit(opts.body_limit);
        parser.header_limit(static_cast<std::uint32_t>(opts.header_limit));
        lowest.expires_after(opts.header_timeout);
        co_await bhttp::async_read_header(stream, buffer, parser,
                                          asio::redirect_error(use_awaitable, ec));
        if (!ec && !parser.is_done()) {
            // A client that asked to be told before sending its body (curl does, past 1 KB).
            auto expect = parser.get()[bhttp::field::expect];
            if (beast::iequals(expect, "100-continue") && parser.get().version() >= 11) {
                static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
                co_await asio::async_write(stream, asio::buffer(go_on.data(), go_on.size()),
                                           asio::redirect_error(use_awaitable, ec));
            }
            lowest.expires_after(opts.read_timeout);
            if (!ec)
                co_await bhttp::async_read(stream, buffer, parser,
                                           asio::redirect_error(use_awaitable, ec));
        }
        if (ec) {
            if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit) {
                bool body = ec == bhttp::error::body_limit;
                auto e = api::make_error(
                    api::error_code::payload_too_large,
                    body ? "request body larger than " + std::to_string(opts.body_limit) + " bytes"
                         : "request headers larger than " + std::to_string(opts.header_limit) +
                               " bytes");
                // With the body over the limit the headers were read: echo the client's id,
                // and answer in the shape of the API the request was for.
                std::string cid;
                std::optional<std::string> path;
                // (Beast refuses a too-large Content-Length before it marks the head done, but
                // the line and the fields are parsed by then.)
                if (body && !parser.get().target().empty()) {
                    auto h = parser.get().find("X-Correlation-Id");
                    if (h != parser.get().end() && !h->value().empty() && h->value().size() <= 128)
                        cid = std::string(h->value());
                    auto target = origin_form(parser.get().target());
                    path = target.substr(0, target.find('?'));
                }
                if (cid.empty()) cid = new_correlation_id();
                auto answer =
                    path ? routes.error_response(e, *path, cid) : response::from_error(e, cid);
                co_await write_simple(stream, std::move(answer), cid, 11, false, false);
                out.linger = true;
            } else if (ec != bhttp::error::end_of_stream && ec != asio::error::eof &&
                       ec != beast::error::timeout && ec != asio::error::connection_reset &&
                       ec != asio::error::operation_aborted) {
                auto e = api::make_error(api::error_code::invalid_params,
                                         "malformed HTTP request: " + ec.message());
                auto cid = new_correlation_id();
                co_await write_simple(stream, response::from_error(e, cid), cid, 11, false, false);
            }
            co_return out;
        }
        lowest.expires_never();
        auto& msg = parser.get();
        request req;
        req.method = std::string(msg.method_string());
        req.target = origin_form(msg.target());
        auto qpos = req.target.find('?');
        req.path = req.target.substr(0, qpos);
        if (qpos != std::string::npos) req.query = req.target.substr(qpos + 1);
        for (const auto& f : msg)
            req.headers.add(std::string(f.name_string()), std::string(f.value()));
        req.body = std::move(msg.body());
        req.remote_address = remote;
        auto cid = req.header("X-Correlation-Id");
        req.correlation_id =
            cid && !cid->empty() && cid->size() <= 128 ? std::string(*cid) : new_correlation_id();
        out.keep_alive = msg.keep_alive();
        out.version = msg.version();
        out.req = std::move(req);
        co_return out;
    }

    template <class Stream>
    asio::awaitable<void> session(Stream stream, bool off_control) {
        auto self = shared_from_this();
        beast::flat_buffer buffer;
        boost::system::error_code ec;
        std::string remote;
        auto& lowest = beast::get_lowest_layer(stream);
        {
            auto ep = lowest.socket().remote_endpoint(ec);
            if (!ec) remote = ep.address().to_string();
        }
        bool first = true;
        bool linger = false;
        for (;;) {
            auto in = co_await read_request(stream, buffer, first, remote);
            first = false;
            linger = in.linger;
            if (!in.req) break;
            request& req = *in.req;
            bool keep_alive = in.keep_alive;
            bool head_only = req.method == "HEAD";
            std::string corr = req.correlation_id;

            ++exchanges;
            // From here until the answer is out, a client that leaves is noticed: the request
            // may wait in a queue or run for a while before anything is written.
            auto probe = std::make_shared<exchange_probe>(io.get_executor());
            req.departure = probe->departure;
            start_probe(stream, buffer, probe);
            response res = co_await handle(std::move(req), off_control);
            if (stopping) keep_alive = false;
            bool ok;
            if (res.stream && !head_only) {
                ok = co_await write_streamed(stream, *probe, std::move(res), corr, in.version,
                                             keep_alive && in.version >= 11);
            } else {
                if (res.stream) {  // HEAD of a stream: its head alone
                    res.stream.reset();
                    res.headers.add("Cache-Control", "no-cache");
                }
                co_await stop_probe(stream, *probe);
                ok = !probe->gone &&
                     co_await write_simple(stream, std::move(res), corr, in.version, keep_alive,
                                           head_only) &&
                     !probe->closed;
            }
            exchange_done();
            if (!ok || !keep_alive) break;
        }
        lowest.socket().shutdown(tcp::socket::shutdown_send, ec);
        if (linger) {
            // The client may still be sending the body we refused: read and drop it for a
            // moment, so that closing does not reset the connection before it reads our answer.
            // On the heap: an array here would sit in every connection's coroutine frame.
            std::vector<char> scratch(16384);
            lowest.expires_after(std::chrono::seconds(2));
            size_t dropped = 0;
            while (dropped < (64u << 20)) {
                size_t n = co_await lowest.async_read_some(asio::buffer(scratch),
                                                           asio::redirect_error(use_awaitable, ec));
                if (ec) break;
                dropped += n;
            }
        }
        lowest.close();
        connection_done();
    }

    // `head_only`: the answer to a HEAD request, its Content-Length that of the body not sent.
    template <class Stream>
    asio::awaitable<bool> write_simple(Stream& stream, response r, std::string corr,
                                       unsigned version, bool keep_alive, bool head_only) {
        bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(r.status), version};
        fill_headers(out.base(), r, corr, opts.name);
        out.keep_alive(keep_alive);
        out.body() = std::move(r.body);
        out.prepare_payload();
        boost::system::error_code ec;
        beast::get_lowest_layer(stream).expires_after(opts.write_timeout);
        if (head_only) {
            bhttp::response_serializer<bhttp::string_body> sr{out};
            co_await bhttp::async_write_header(stream, sr, asio::redirect_error(use_awaitable, ec));
        } else {
            co_await bhttp::async_write(stream, out, asio::redirect_error(use_awaitable, ec));
        }
        beast::get_lowest_layer(stream).expires_never();
        co_return !ec;
    }

    // A piece of a streamed body as buffers, with the response head before it (when not yet
    // sent) and the body's end after it (`last`). HTTP/1.1 frames it as chunks; HTTP/1.0 gets
    // the bytes as they are and the end of the connection ends the body.
    struct piece_buffers {
        char size_line[20];
        std::array<asio::const_buffer, 5> bufs;
        piece_buffers(const std::string& head, const std::string* data, bool last, bool chunked) {
            static constexpr std::string_view crlf = "\r\n";
            static constexpr std::string_view end = "0\r\n\r\n";
            size_t size_len = 0;
            bool framed = chunked && data && !data->empty();
            if (framed) {
                auto r =
                    std::to_chars(size_line, size_line + sizeof size_line - 2, data->size(), 16);
                size_len = static_cast<size_t>(r.ptr - size_line);
                size_line[size_len++] = '\r';
                size_line[size_len++] = '\n';
            }
            bufs = {
                asio::buffer(head),
                asio::buffer(size_line, size_len),
                data ? asio::buffer(*data) : asio::const_buffer(),
                framed ? asio::buffer(crlf.data(), crlf.size()) : asio::const_buffer(),
                last && chunked ? asio::buffer(end.data(), end.size()) : asio::const_buffer(),
            };
        }
    };

    // What the socket did not take of a piece at once, written under the write deadline.
    template <class Stream>
    asio::awaitable<boost::system::error_code> write_rest(
        Stream& stream, const std::array<asio::const_buffer, 5>& bufs, size_t sent) {
        beast::buffers_suffix<std::array<asio::const_buffer, 5>> rest(bufs);
        rest.consume(sent);
        boost::system::error_code ec;
        beast::get_lowest_layer(stream).expires_after(opts.write_timeout);
        co_await asio::async_write(stream, rest, asio::redirect_error(use_awaitable, ec));
        beast::get_lowest_layer(stream).expires_never();
        co_return ec;
    }

    // Sends what the socket takes at once, without blocking; 0 on any error (the asynchronous
    // write that follows meets it again and reports it).
    template <class Buffers>
    static size_t try_send(tcp::socket& sock, const Buffers& bufs) {
        boost::system::error_code ec;
        if (!sock.non_blocking()) sock.non_blocking(true, ec);
        if (ec) return 0;
        size_t n = sock.write_some(bufs, ec);
        return ec ? 0 : n;
    }

    // Streams a body, one piece per pulled frame batch; the head goes with the first piece. The
    // exchange's probe notices a client that goes away even while nothing is written.
    // Returns whether the connection can serve another request: `keep_alive` and the stream
    // ended cleanly.
    template <class Stream>
    asio::awaitable<bool> write_streamed(Stream& stream, exchange_probe& probe, response r,
                                         std::string corr, unsigned version, bool keep_alive) {
        auto src = r.stream;
        probe.src = src;
        if (probe.gone) src->on_disconnect();  // the client left while the handler ran
        bool chunked = version >= 11;
        std::string head;
        {
            bhttp::response<bhttp::empty_body> h{static_cast<bhttp::status>(r.status), version};
            fill_headers(h.base(), r, corr, opts.name);
            h.set(bhttp::field::cache_control, "no-cache");
            h.set("X-Accel-Buffering", "no");
            if (chunked) h.chunked(true);
            h.keep_alive(keep_alive && chunked);
            bhttp::fields::writer hw{h.base(), h.version(), h.result_int()};
            for (auto b : hw.get()) head.append(static_cast<const char*>(b.data()), b.size());
        }
        bool clean = true;
        bool last_sent = false;  // the body's end went out
        if (opts.streams_open) opts.streams_open->Increment();

        // A frame that is ready (or nearly) leaves in the head's write; a quiet stream gets its
        // head alone after a moment.
        static constexpr std::chrono::milliseconds first_frame_wait{20};
        auto wait = std::min(opts.keepalive_interval, first_frame_wait);
        while (clean && !last_sent) {
            std::optional<std::string> chunk;
            if (!probe.gone) chunk = co_await src->next(wait);
            wait = opts.keepalive_interval;
            if (probe.gone) {
                clean = false;
                break;
            }
            if (chunk && chunk->empty() && head.empty()) *chunk = ": keep-alive\n\n";
            last_sent = !chunk || src->ended();
            // A piece that fits the socket's send buffer (a stream's frames nearly always do)
            // leaves in one non-blocking send: no write operation, deadline, coroutine frame or
            // suspension. Only what the socket did not take goes the asynchronous way.
            piece_buffers piece(head, chunk ? &*chunk : nullptr, last_sent, chunked);
            size_t sent = 0;
            if constexpr (std::is_same_v<Stream, beast::tcp_stream>)
                sent = try_send(stream.socket(), piece.bufs);
            boost::system::error_code ec;
            if (sent < asio::buffer_size(piece.bufs))
                ec = co_await write_rest(stream, piece.bufs, sent);
            head.clear();
            if (ec) {
                if (ec == beast::error::timeout && opts.slow_readers_cut)
                    opts.slow_readers_cut->Increment();
                probe.mark_gone();
                clean = false;
            }
        }
        if (opts.streams_open) opts.streams_open->Decrement();
        co_await stop_probe(stream, probe);
        co_return clean&& keep_alive&& chunked && !probe.closed && !stopping;
    }
};

server::server(asio::io_context& io, server_options opts, router routes)
    : impl_(std::make_shared<impl>(io, std::move(opts), std::move(routes))) {}

server::~server() { stop(); }

http_result<void> server::start() {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(
        impl_->opts.address == "localhost" ? "127.0.0.1" : impl_->opts.address, ec);
    if (ec)
        return http_error{http_errc::invalid_address,
                          "invalid listen address '" + impl_->opts.address + "': " + ec.message()};
    tcp::endpoint ep(addr, impl_->opts.port);
    auto& a = impl_->acceptor;
    a.open(ep.protocol(), ec);
    if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) a.bind(ep, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        return http_error{http_errc::bind_failed, "cannot listen on " + impl_->opts.address + ":" +
                                                      std::to_string(impl_->opts.port) + ": " +
                                                      ec.message()};
    }
    impl_->bound_port = a.local_endpoint().port();
    asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
    return {};
}

void server::stop() {
    if (!impl_ || impl_->stopping) return;
    impl_->stopping = true;
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
}

asio::awaitable<void> server::wait_exchanges(std::chrono::milliseconds bound) {
    auto self = impl_;
    auto deadline = std::chrono::steady_clock::now() + bound;
    while (self->exchanges > 0 && std::chrono::steady_clock::now() < deadline) {
        self->exchanges_waiter.expires_at(deadline);
        boost::system::error_code ec;
        co_await self->exchanges_waiter.async_wait(asio::redirect_error(use_awaitable, ec));
    }
}

uint16_t server::port() const { return impl_->bound_port; }
size_t server::active_connections() const { return impl_->connections.load(); }

}  // namespace llorch::http
