#include "http/client.h"

#include <map>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace llorch::http {
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::use_awaitable;

std::string_view to_string(client_errc c) {
    switch (c) {
        case client_errc::bad_url:
            return "bad_url";
        case client_errc::connect_failed:
            return "connect_failed";
        case client_errc::timeout:
            return "timeout";
        case client_errc::reset:
            return "reset";
        case client_errc::protocol:
            return "protocol";
        case client_errc::cancelled:
            return "cancelled";
    }
    return "unknown";
}

http_result<url_parts> parse_url(std::string_view url) {
    url_parts p;
    auto sep = url.find("://");
    if (sep == std::string_view::npos)
        return http_error{http_errc::bad_url,
                          std::string("URL has no scheme: '" + std::string(url) + "'")};
    p.scheme = std::string(url.substr(0, sep));
    if (p.scheme != "http" && p.scheme != "https")
        return http_error{http_errc::bad_url, std::string("unsupported URL scheme '" + p.scheme +
                                                          "' (use http:// or https://)")};
    if (p.scheme == "https") p.port = 443;
    auto rest = url.substr(sep + 3);
    auto slash = rest.find('/');
    auto hostport = rest.substr(0, slash);
    p.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (hostport.empty())
        return http_error{http_errc::bad_url,
                          std::string("URL has no host: '" + std::string(url) + "'")};
    std::string_view host = hostport, port;
    if (hostport.front() == '[') {
        auto close = hostport.find(']');
        if (close == std::string_view::npos)
            return http_error{http_errc::bad_url,
                              std::string("bad IPv6 host in '" + std::string(url) + "'")};
        host = hostport.substr(1, close - 1);
        if (close + 1 < hostport.size() && hostport[close + 1] == ':')
            port = hostport.substr(close + 2);
    } else if (auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
        host = hostport.substr(0, colon);
        port = hostport.substr(colon + 1);
    }
    p.host = std::string(host);
    if (!port.empty()) {
        unsigned v = 0;
        for (char c : port) {
            if (c < '0' || c > '9')
                return http_error{http_errc::bad_url,
                                  std::string("bad port in URL '" + std::string(url) + "'")};
            v = v * 10 + static_cast<unsigned>(c - '0');
            if (v > 65535)
                return http_error{http_errc::bad_url,
                                  std::string("bad port in URL '" + std::string(url) + "'")};
        }
        if (v == 0)
            return http_error{http_errc::bad_url,
                              std::string("bad port in URL '" + std::string(url) + "'")};
        p.port = static_cast<uint16_t>(v);
    }
    return p;
}

// One keep-alive connection, plain or TLS, behind one interface so the pool and the response
// reader need not know which. Its operations are awaited at once by the caller (each holds its
// arguments by reference); they are the operations themselves, not coroutines around them: one
// coroutine frame less per step.
struct connection {
    virtual ~connection() = default;
    virtual beast::tcp_stream& lowest() = 0;
    virtual asio::awaitable<size_t> write(bhttp::request<bhttp::string_body>& req,
                                          boost::system::error_code& ec) = 0;
    virtual asio::awaitable<size_t> read_header(beast::flat_buffer& b,
                                                bhttp::response_parser<bhttp::buffer_body>& p,
                                                boost::system::error_code& ec) = 0;
    virtual asio::awaitable<size_t> read_some(beast::flat_buffer& b,
                                              bhttp::response_parser<bhttp::buffer_body>& p,
                                              boost::system::error_code& ec) = 0;
};

template <class Stream>
struct connection_of final : connection {
    explicit connection_of(Stream s) : stream(std::move(s)) {}
    beast::tcp_stream& lowest() override { return beast::get_lowest_layer(stream); }
    asio::awaitable<size_t> write(bhttp::request<bhttp::string_body>& req,
                                  boost::system::error_code& ec) override {
        return bhttp::async_write(stream, req, asio::redirect_error(use_awaitable, ec));
    }
    asio::awaitable<size_t> read_header(beast::flat_buffer& b,
                                        bhttp::response_parser<bhttp::buffer_body>& p,
                                        boost::system::error_code& ec) override {
        return bhttp::async_read_header(stream, b, p, asio::redirect_error(use_awaitable, ec));
    }
    asio::awaitable<size_t> read_some(beast::flat_buffer& b,
                                      bhttp::response_parser<bhttp::buffer_body>& p,
                                      boost::system::error_code& ec) override {
        return bhttp::async_read_some(stream, b, p, asio::redirect_error(use_awaitable, ec));
    }
    Stream stream;
};

struct client::pool {
    std::map<std::string, std::vector<std::unique_ptr<connection>>, std::less<>> idle;
    size_t max_idle_per_host;
    size_t total_idle() const {
        size_t n = 0;
        for (const auto& [k, v] : idle) n += v.size();
        return n;
    }
    void put(const std::string& key, std::unique_ptr<connection> s) {
        auto& v = idle[key];
        if (v.size() < max_idle_per_host) v.push_back(std::move(s));
    }
    std::unique_ptr<connection> take(const std::string& key) {
        auto it = idle.find(key);
        if (it == idle.end() || it->second.empty()) return nullptr;
        auto s = std::move(it->second.back());
        it->second.pop_back();
        return s;
    }
};

namespace {
std::string key_of(const url_parts& u) {
    return u.scheme + "://" + u.host + ":" + std::to_string(u.port);
}

client_error make_err(client_errc c, std::string m, bool started = false) {
    return client_error{c, std::move(m), started};
}

client_errc classify(const boost::system::error_code& ec) {
    if (ec == beast::error::timeout) return client_errc::timeout;
    if (ec == asio::error::operation_aborted) return client_errc::cancelled;
    return client_errc::reset;
}

template <class Body>
void fill_request(bhttp::request<Body>& req, const client_request& r, const url_parts& u,
                  const client_options& o) {
    req.method_string(r.method);
    req.target(u.target);
    req.version(11);
    req.set(bhttp::field::host, u.host + ":" + std::to_string(u.port));
    req.set(bhttp::field::user_agent, o.user_agent);
    req.keep_alive(true);
    for (const auto& [k, v] : r.headers.items()) req.set(k, v);
    if (!r.body.empty() || r.method == "POST" || r.method == "PUT") {
        if (!r.content_type.empty()) req.set(bhttp::field::content_type, r.content_type);
    }
}

// Connects to host:port within the timeout; for https also the TLS handshake, verifying the
// server's certificate and name.
asio::awaitable<client_result<std::unique_ptr<connection>>> connect_fresh(
    asio::io_context& io, const url_parts& u, std::chrono::milliseconds timeout,
    const tls_context& tls) {
    beast::tcp_stream s(io);
    boost::system::error_code ec;
    std::vector<tcp::endpoint> eps;
    auto addr = asio::ip::make_address(u.host == "localhost" ? "127.0.0.1" : u.host, ec);
    if (!ec) {
        eps.emplace_back(addr, u.port);
    } else {
        tcp::resolver res(io);
        auto r = co_await res.async_resolve(u.host, std::to_string(u.port),
                                            asio::redirect_error(use_awaitable, ec));
        if (ec)
            co_return make_err(client_errc::connect_failed,
                               "cannot resolve " + u.host + ": " + ec.message());
        for (const auto& e : r) eps.push_back(e.endpoint());
    }
    s.expires_after(timeout);
    co_await s.async_connect(eps, asio::redirect_error(use_awaitable, ec));
    if (ec) {
        auto code =
            ec == beast::error::timeout ? client_errc::timeout : client_errc::connect_failed;
        co_return make_err(code, "cannot connect to " + u.host + ":" + std::to_string(u.port) +
                                     ": " + ec.message());
    }
    s.socket().set_option(tcp::no_delay(true), ec);
    if (u.scheme != "https") {
        s.expires_never();
        co_return std::unique_ptr<connection>(
            std::make_unique<connection_of<beast::tcp_stream>>(std::move(s)));
    }
    if (!tls)
        co_return make_err(client_errc::connect_failed,
                           "https://" + u.host + " needs TLS settings (a CA to verify it)");
    beast::ssl_stream<beast::tcp_stream> ts(std::move(s), *tls);
    SSL_set_tlsext_host_name(ts.native_handle(), u.host.c_str());
    ts.set_verify_callback(asio::ssl::host_name_verification(u.host));
    co_await ts.async_handshake(asio::ssl::stream_base::client,
                                asio::redirect_error(use_awaitable, ec));
    if (ec) {
        co_return make_err(
            client_errc::connect_failed,
            "TLS with " + u.host + ":" + std::to_string(u.port) + " failed: " + ec.message());
    }
    beast::get_lowest_layer(ts).expires_never();
    co_return std::unique_ptr<connection>(
        std::make_unique<connection_of<beast::ssl_stream<beast::tcp_stream>>>(std::move(ts)));
}

header_list copy_headers(const bhttp::response_header<>& h) {
    header_list out;
    for (const auto& f : h) out.add(std::string(f.name_string()), std::string(f.value()));
    return out;
}
}  // namespace

struct response_stream::impl {
    std::unique_ptr<connection> conn;
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::buffer_body> parser;
    std::weak_ptr<client::pool> pool;
    std::string key;
    header_list headers;
    bool broken = false;
    bool finished = false;
    // The body is handed out piece by piece through this; the parser's own buffer (`buffer`,
    // 512 bytes and up) bounds a read anyway, and with thousands of streams held a bigger
    // array is memory for nothing.
    char buf[4096];

    explicit impl(std::unique_ptr<connection> c) : conn(std::move(c)) {}
    beast::tcp_stream& lowest() { return conn->lowest(); }

    void finish() {
        if (finished) return;
        finished = true;
        if (!broken && parser.is_done() && parser.keep_alive()) {
            if (auto p = pool.lock()) {
                lowest().expires_never();
                p->put(key, std::move(conn));
            }
        }
    }
};

response_stream::response_stream(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
response_stream::~response_stream() {
    if (!impl_) return;
    if (!impl_->finished) {
        impl_->broken = true;
        boost::system::error_code ec;
        impl_->lowest().socket().close(ec);
    }
}
int response_stream::status() const { return static_cast<int>(impl_->parser.get().result_int()); }
const header_list& response_stream::headers() const { return impl_->headers; }

void response_stream::abort() {
    impl_->broken = true;
    if (!impl_->conn || impl_->finished) return;  // already back in the pool, or closed
    boost::system::error_code ec;
    impl_->lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    impl_->lowest().socket().close(ec);
}

asio::awaitable<client_result<std::string>> response_stream::read_some(
    std::chrono::milliseconds idle_timeout) {
    auto& s = *impl_;
    for (;;) {
        if (s.broken) co_return make_err(client_errc::cancelled, "stream aborted", true);
        if (s.parser.is_done()) {
            s.finish();
            co_return std::string();
        }
        auto& body = s.parser.get().body();
        body.data = s.buf;
        body.size = sizeof(s.buf);
        boost::system::error_code ec;
        s.lowest().expires_after(idle_timeout);
        co_await s.conn->read_some(s.buffer, s.parser, ec);
        if (ec == bhttp::error::need_buffer) ec = {};
        if (ec) {
            s.broken = true;
            auto code = s.broken && ec == asio::error::operation_aborted ? client_errc::cancelled
                                                                         : classify(ec);
            if (ec == bhttp::error::end_of_stream || ec == asio::error::eof)
                code = client_errc::reset;
            co_return make_err(code, "response body: " + ec.message(), true);
        }
        size_t n = sizeof(s.buf) - s.parser.get().body().size;
        if (n > 0) co_return std::string(s.buf, n);
    }
}

namespace {
asio::awaitable<void> read_to_end(std::unique_ptr<response_stream> s,
                                  std::chrono::milliseconds timeout, size_t limit) {
    size_t got = 0;
    for (;;) {
        auto piece = co_await s->read_some(timeout);
        if (!piece || piece->empty()) break;
        got += piece->size();
        if (got > limit) break;  // the destructor closes the connection
    }
}
}  // namespace

void response_stream::finish_in_background(std::unique_ptr<response_stream> s,
                                           std::chrono::milliseconds timeout, size_t limit) {
    if (!s || !s->impl_ || s->impl_->finished || s->impl_->broken || !s->impl_->conn) return;
    auto ex = s->impl_->lowest().get_executor();
    asio::co_spawn(ex, read_to_end(std::move(s), timeout, limit), asio::detached);
}

client::client(asio::io_context& io, client_options opts)
    : io_(io), opts_(std::move(opts)), pool_(std::make_shared<pool>()) {
    pool_->max_idle_per_host = opts_.max_idle_per_host;
}
client::~client() = default;

size_t client::idle_connections() const { return pool_->total_idle(); }

void client::drop_idle(std::string_view host, uint16_t port) {
    auto suffix = "://" + std::string(host) + ":" + std::to_string(port);
    std::erase_if(pool_->idle, [&](const auto& kv) { return kv.first.ends_with(suffix); });
}

asio::awaitable<client_result<std::unique_ptr<response_stream>>> client::open(client_request r) {
    auto u = parse_url(r.url);
    if (!u) co_return make_err(client_errc::bad_url, u.error().message);
    auto key = key_of(*u);
    bhttp::request<bhttp::string_body> req;
    fill_request(req, r, *u, opts_);
    req.body() = r.body;
    req.prepare_payload();

    for (int attempt = 0; attempt < 2; ++attempt) {
        bool reused = false;
        std::unique_ptr<connection> s;
        if (attempt == 0) {
            s = pool_->take(key);
            reused = s != nullptr;
        }
        if (!s) {
            auto fresh = co_await connect_fresh(io_, *u, std::min(r.timeout, opts_.connect_timeout),
                                                opts_.tls);
            if (!fresh) co_return fresh.error();
            s = std::move(*fresh);
        }
        auto st = std::make_unique<response_stream::impl>(std::move(s));
        st->pool = pool_;
        st->key = key;
        st->parser.body_limit(boost::none);
        boost::system::error_code ec;
        st->lowest().expires_after(r.timeout);
        co_await st->conn->write(req, ec);
        if (!ec) co_await st->conn->read_header(st->buffer, st->parser, ec);
        if (ec) {
            st->broken = true;
            bool nothing_back = !st->parser.got_some();
            if (reused && nothing_back && ec != beast::error::timeout) continue;
            auto code = classify(ec);
            co_return make_err(code, r.method + " " + r.url + ": " + ec.message(), !nothing_back);
        }
        st->headers = copy_headers(st->parser.get().base());
        co_return std::make_unique<response_stream>(std::move(st));
    }
    co_return make_err(client_errc::reset, "connection closed before the response");
}

asio::awaitable<client_result<client_response>> client::send(client_request r) {
    auto deadline = std::chrono::steady_clock::now() + r.timeout;
    auto timeout = r.timeout;
    auto st = co_await open(std::move(r));
    if (!st) co_return st.error();
    client_response out;
    out.status = (*st)->status();
    out.headers = (*st)->headers();
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            co_return make_err(client_errc::timeout, "response body timed out", true);
        auto piece = co_await (*st)->read_some(std::min(left, timeout));
        if (!piece) co_return piece.error();
        if (piece->empty()) break;
        out.body += *piece;
        if (out.body.size() > opts_.body_limit)
            co_return make_err(client_errc::protocol, "response body over the limit", true);
    }
    co_return out;
}

}  // namespace llorch::http
