#include "http/server.h"

#include <atomic>
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
#include "http/control_stream.h"
#include "http/ids.h"

namespace llorch::http {
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::use_awaitable;

std::optional<std::string_view> header_list::find(std::string_view name) const {
    for (const auto& [k, v] : items_) {
        if (k.size() != name.size()) continue;
        bool same = true;
        for (size_t i = 0; i < k.size() && same; ++i)
            same = std::tolower(static_cast<unsigned char>(k[i])) ==
                   std::tolower(static_cast<unsigned char>(name[i]));
        if (same) return std::string_view(v);
    }
    return std::nullopt;
}

namespace {
int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
std::string pct_decode(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            int a = hexval(s[i + 1]);
            int b = hexval(s[i + 2]);
            if (a >= 0 && b >= 0) {
                out += static_cast<char>(a * 16 + b);
                i += 2;
                continue;
            }
        }
        out += s[i] == '+' ? ' ' : s[i];
    }
    return out;
}
}  // namespace

std::optional<std::string> request::query_param(std::string_view name) const {
    std::string_view q = query;
    while (!q.empty()) {
        auto amp = q.find('&');
        auto kv = q.substr(0, amp);
        auto eq = kv.find('=');
        auto k = kv.substr(0, eq);
        if (pct_decode(k) == name)
            return eq == std::string_view::npos ? std::string() : pct_decode(kv.substr(eq + 1));
        if (amp == std::string_view::npos) break;
        q.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

response response::from_error(const api::error& e, std::string_view correlation_id) {
    response r = json(e.http_status(), api::to_json(e, correlation_id));
    if (e.retry_after_ms) {
        long long ms = *e.retry_after_ms;
        r.headers.add("Retry-After", std::to_string(std::max<long long>(1, (ms + 999) / 1000)));
        r.headers.add("X-Backoff-Ms", std::to_string(ms));
    }
    return r;
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
          log(common::logger(opts.name)) {}

    asio::awaitable<void> accept_loop() {
        auto self = shared_from_this();
        while (!stopping) {
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
                // Out of descriptors and the like: say so, back off briefly, keep serving.
                log->warn("accept failed: {}", ec.message());
                asio::steady_timer t(io, std::chrono::milliseconds(50));
                co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
                continue;
            }
            sock.set_option(tcp::no_delay(true), ec);
            if (opts.tls)
                asio::co_spawn(ex, tls_session(std::move(sock), off_control), asio::detached);
            else
                asio::co_spawn(ex, session(beast::tcp_stream(std::move(sock)), off_control),
                               asio::detached);
        }
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
        if (!m.h) {
            if (m.path_known) {
                co_return response::from_error(
                    api::make_error(api::error_code::method_not_allowed,
                                    req.method + " is not allowed on " + req.path),
                    req.correlation_id);
            }
            co_return response::from_error(
                api::make_error(api::error_code::not_found,
                                "no such endpoint: " + req.method + " " + req.path),
                req.correlation_id);
        }
        const token_set& required = m.opts.service_route && !opts.service_tokens.empty()
                                        ? opts.service_tokens
                                        : opts.tokens;
        if (!m.opts.public_route && !required.empty()) {
            auto auth = req.header("Authorization");
            if (!auth) {
                co_return response::from_error(
                    api::make_error(api::error_code::missing_token,
                                    "this endpoint needs a token: send 'Authorization: Bearer "
                                    "<token>'"),
                    req.correlation_id);
            }
            auto tok = bearer_token(*auth);
            auto id = tok ? required.verify(*tok) : std::nullopt;
            if (!id) {
                log->warn("rejected request {} {} from {}: bad token", req.method, req.path,
                          req.remote_address);
                co_return response::from_error(
                    api::make_error(api::error_code::bad_token, "the token is not valid here"),
                    req.correlation_id);
            }
            req.identity = *id;
        } else {
            req.identity = is_loopback(req.remote_address) ? "localhost" : "anonymous";
        }
        req.params = std::move(m.params);
        std::string corr = req.correlation_id;
        try {
            co_return co_await (*m.h)(std::move(req));
        } catch (const std::exception& ex) {
            log->error("handler failed: {}", ex.what());
            co_return response::from_error(
                api::make_error(api::error_code::internal, "internal error; see the daemon's log"),
                corr);
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
        beast::get_lowest_layer(stream).expires_after(opts.read_timeout);
        boost::system::error_code ec;
        co_await stream.async_handshake(asio::ssl::stream_base::server,
                                        asio::redirect_error(use_awaitable, ec));
        if (ec) {
            log->debug("TLS handshake failed: {}", ec.message());
            beast::get_lowest_layer(stream).close();
            co_return;
        }
        co_await session(std::move(stream), off_control);
    }

    template <class Stream>
    asio::awaitable<void> session(Stream stream, bool off_control) {
        auto self = shared_from_this();
        ++connections;
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
            bhttp::request_parser<bhttp::string_body> parser;
            parser.body_limit(opts.body_limit);
            parser.header_limit(static_cast<std::uint32_t>(opts.header_limit));
            lowest.expires_after(first ? opts.read_timeout : opts.idle_timeout);
            first = false;
            co_await bhttp::async_read(stream, buffer, parser,
                                       asio::redirect_error(use_awaitable, ec));
            if (ec) {
                if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit) {
                    bool body = ec == bhttp::error::body_limit;
                    auto e =
                        api::make_error(api::error_code::payload_too_large,
                                        body ? "request body larger than " +
                                                   std::to_string(opts.body_limit) + " bytes"
                                             : "request headers larger than " +
                                                   std::to_string(opts.header_limit) + " bytes");
                    // With the body over the limit the headers were read: echo the client's id.
                    std::string cid;
                    if (body && parser.is_header_done()) {
                        auto h = parser.get().find("X-Correlation-Id");
                        if (h != parser.get().end() && !h->value().empty() &&
                            h->value().size() <= 128)
                            cid = std::string(h->value());
                    }
                    if (cid.empty()) cid = new_correlation_id();
                    co_await write_simple(stream, response::from_error(e, cid), cid, 11, false);
                    linger = true;
                } else if (ec != bhttp::error::end_of_stream && ec != asio::error::eof &&
                           ec != beast::error::timeout && ec != asio::error::connection_reset &&
                           ec != asio::error::operation_aborted) {
                    auto e = api::make_error(api::error_code::invalid_params,
                                             "malformed HTTP request: " + ec.message());
                    auto cid = new_correlation_id();
                    co_await write_simple(stream, response::from_error(e, cid), cid, 11, false);
                }
                break;
            }
            auto& msg = parser.get();
            request req;
            req.method = std::string(msg.method_string());
            req.target = std::string(msg.target());
            auto qpos = req.target.find('?');
            req.path = req.target.substr(0, qpos);
            if (qpos != std::string::npos) req.query = req.target.substr(qpos + 1);
            for (const auto& f : msg)
                req.headers.add(std::string(f.name_string()), std::string(f.value()));
            req.body = std::move(msg.body());
            req.remote_address = remote;
            auto cid = req.header("X-Correlation-Id");
            req.correlation_id = cid && !cid->empty() && cid->size() <= 128 ? std::string(*cid)
                                                                            : new_correlation_id();
            bool keep_alive = msg.keep_alive();
            unsigned version = msg.version();
            std::string corr = req.correlation_id;

            lowest.expires_never();
            ++exchanges;
            response res = co_await handle(std::move(req), off_control);
            if (stopping) keep_alive = false;
            bool ok;
            if (res.stream) {
                ok = co_await write_streamed(stream, buffer, std::move(res), corr, version,
                                             keep_alive && version >= 11);
            } else {
                ok = co_await write_simple(stream, std::move(res), corr, version, keep_alive);
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
        --connections;
    }

    template <class Stream>
    asio::awaitable<bool> write_simple(Stream& stream, response r, std::string corr,
                                       unsigned version, bool keep_alive) {
        bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(r.status), version};
        fill_headers(out.base(), r, corr, opts.name);
        out.keep_alive(keep_alive);
        out.body() = std::move(r.body);
        out.prepare_payload();
        boost::system::error_code ec;
        beast::get_lowest_layer(stream).expires_after(opts.write_timeout);
        co_await bhttp::async_write(stream, out, asio::redirect_error(use_awaitable, ec));
        beast::get_lowest_layer(stream).expires_never();
        co_return !ec;
    }

    // What the disconnect probe of a streamed response knows; shared with its read handler.
    struct probe_state {
        bool gone = false;    // the client went away (or a write failed): on_disconnect was called
        bool closed = false;  // the connection cannot carry another request
        bool done = true;     // no read pending
        bool stop = false;    // the stream is over: the probe's read is being cancelled
        std::optional<asio::steady_timer> waiter;
        void wake() {
            done = true;
            if (waiter) waiter->cancel();
        }
    };

    // The client sends nothing on a stream but, at most, its next request: a read that completes
    // with an error or end of file means it went away. Bytes that do arrive stay in the session's
    // buffer for the next request, and the probe keeps watching.
    template <class Stream>
    static void start_probe(Stream& stream, beast::flat_buffer& buffer,
                            std::shared_ptr<probe_state> probe, std::shared_ptr<body_stream> src) {
        probe->done = false;
        stream.async_read_some(
            buffer.prepare(512),
            [&stream, &buffer, probe, src](boost::system::error_code rec, std::size_t n) {
                buffer.commit(n);
                if (rec || n == 0) {
                    if (!(probe->stop && rec == asio::error::operation_aborted))
                        probe->closed = true;
                    if (!probe->stop && !probe->gone) {
                        probe->gone = true;
                        src->on_disconnect();
                    }
                    probe->wake();
                    return;
                }
                // A pipelined request past what one would send: stop reading, it waits.
                if (probe->stop || buffer.size() >= 64 * 1024) {
                    probe->wake();
                    return;
                }
                start_probe(stream, buffer, std::move(probe), std::move(src));
            });
    }

    // Streams a body, one chunk per pulled frame batch; the head goes with the first chunk. A
    // parallel read (the probe) notices a client that goes away even while nothing is written.
    // Returns whether the connection can serve another request: `keep_alive` and the stream
    // ended cleanly.
    template <class Stream>
    asio::awaitable<bool> write_streamed(Stream& stream, beast::flat_buffer& buffer, response r,
                                         std::string corr, unsigned version, bool keep_alive) {
        auto src = r.stream;
        auto& lowest = beast::get_lowest_layer(stream);
        bhttp::response<bhttp::empty_body> head{static_cast<bhttp::status>(r.status), version};
        fill_headers(head.base(), r, corr, opts.name);
        head.set(bhttp::field::cache_control, "no-cache");
        head.set("X-Accel-Buffering", "no");
        head.chunked(true);
        head.keep_alive(keep_alive);
        boost::system::error_code ec;

        // A frame that is ready (or nearly) leaves in the head's write; a quiet stream gets its
        // head alone after a moment.
        static constexpr std::chrono::milliseconds first_frame_wait{20};
        auto chunk = co_await src->next(std::min(opts.keepalive_interval, first_frame_wait));
        {
            bhttp::fields::writer hw{head.base(), head.version(), head.result_int()};
            lowest.expires_after(opts.write_timeout);
            if (!chunk) {
                co_await asio::async_write(stream,
                                           beast::buffers_cat(hw.get(), bhttp::make_chunk_last()),
                                           asio::redirect_error(use_awaitable, ec));
            } else if (chunk->empty()) {
                co_await asio::async_write(stream, hw.get(),
                                           asio::redirect_error(use_awaitable, ec));
            } else if (src->ended()) {
                co_await asio::async_write(
                    stream,
                    beast::buffers_cat(hw.get(), bhttp::make_chunk(asio::buffer(*chunk)),
                                       bhttp::make_chunk_last()),
                    asio::redirect_error(use_awaitable, ec));
            } else {
                co_await asio::async_write(
                    stream, beast::buffers_cat(hw.get(), bhttp::make_chunk(asio::buffer(*chunk))),
                    asio::redirect_error(use_awaitable, ec));
            }
            lowest.expires_never();
        }
        if (ec) {
            src->on_disconnect();
            co_return false;
        }
        if (!chunk || src->ended()) co_return keep_alive && !stopping;

        auto probe = std::make_shared<probe_state>();
        start_probe(stream, buffer, probe, src);
        bool clean = true;
        bool last_sent = false;  // the body's end went out with the last chunk
        for (;;) {
            chunk = co_await src->next(opts.keepalive_interval);
            if (probe->gone) {
                clean = false;
                break;
            }
            if (!chunk) break;
            if (chunk->empty()) *chunk = ": keep-alive\n\n";
            last_sent = src->ended();
            lowest.expires_after(opts.write_timeout);
            if (last_sent) {
                co_await asio::async_write(
                    stream,
                    beast::buffers_cat(bhttp::make_chunk(asio::buffer(*chunk)),
                                       bhttp::make_chunk_last()),
                    asio::redirect_error(use_awaitable, ec));
            } else {
                co_await asio::async_write(stream, bhttp::make_chunk(asio::buffer(*chunk)),
                                           asio::redirect_error(use_awaitable, ec));
            }
            lowest.expires_never();
            if (ec) {
                if (!probe->gone) {
                    probe->gone = true;
                    src->on_disconnect();
                }
                clean = false;
                break;
            }
            if (last_sent) break;
        }
        if (clean && !last_sent) {
            lowest.expires_after(opts.write_timeout);
            co_await asio::async_write(stream, bhttp::make_chunk_last(),
                                       asio::redirect_error(use_awaitable, ec));
            lowest.expires_never();
            if (ec) clean = false;
        }
        // The probe reads into the session's buffer: it must be over before the session reads
        // the next request or goes away. A cancelled read loses no data.
        probe->stop = true;
        if (!probe->done) lowest.socket().cancel(ec);
        while (!probe->done) {
            probe->waiter.emplace(stream.get_executor(), std::chrono::seconds(1));
            co_await probe->waiter->async_wait(asio::redirect_error(use_awaitable, ec));
            // A TLS read between two records may not see the cancel: closing ends it for sure.
            if (!probe->done) {
                clean = false;
                lowest.socket().close(ec);
            }
        }
        probe->waiter.reset();
        co_return clean&& keep_alive && !probe->closed && !stopping;
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
