// `llorch top`: a live terminal view of the cluster, redrawn every second from GET /v2/events
// (the stream's `stats` event), reconnecting when the stream ends. --once prints one screen and
// exits; --json prints every event as one JSON line instead of a screen.
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "client_support.h"
#include "commands.h"
#include "http/sse.h"
#include "top_view.h"

namespace llorch::cli {
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

struct top_args {
    std::string url;
    bool json = false;
    bool once = false;
};

size_t terminal_width() {
    winsize w{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 20) return w.ws_col;
    return 160;
}

long long wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void draw(const top_view& v, bool tty) {
    // Home and clear, then the screen: one write, so that a redraw does not flicker.
    std::string out = tty ? "\x1b[H\x1b[2J" : "";
    out += v.render(terminal_width(), wall_ms());
    std::cout << out << std::flush;
}

// One connection: 0 when --once drew its screen, 1 on an error that a retry will not fix (the
// token), 2 when the stream ended or broke (reconnect).
asio::awaitable<int> follow(http::client& c, const top_args& a) {
    bool refused = false;
    auto st = co_await event_stream::open(c, a.url + "/v2/events", 30s, &refused);
    if (!st) co_return refused ? 1 : 2;
    bool tty = ::isatty(STDOUT_FILENO) == 1;
    top_view view;
    for (;;) {
        auto b = co_await st->next();
        if (b.broken || b.ended) co_return 2;
        for (const auto& e : b.events) {
            boost::system::error_code ec;
            auto v = json::parse(e.data, ec);
            if (ec || !v.is_object()) continue;
            if (a.json) {
                std::cout << json::serialize(json::object{{"event", e.event}, {"data", v}})
                          << std::endl;
                continue;
            }
            if (!view.apply(e.event, v.as_object())) co_return 2;  // cut off: start over
            // A screen on the snapshot and on every stats event (once a second).
            if (e.event == "snapshot" || e.event == "stats") {
                draw(view, tty);
                if (a.once) co_return 0;
            }
        }
    }
}

asio::awaitable<int> top(asio::io_context& io, top_args a) {
    http::client c(io);
    asio::steady_timer pause(io);
    for (;;) {
        int r = co_await follow(c, a);
        if (r != 2 || a.once) co_return r == 2 ? 1 : r;
        pause.expires_after(1s);
        boost::system::error_code ec;
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

}  // namespace

void add_top_command(CLI::App& app) {
    auto a = std::make_shared<top_args>();
    auto* sub = app.add_subcommand(
        "top",
        "A live view of the cluster (nodes, pools, queue, running tasks with tokens/s and TTFT, "
        "recent errors, cluster tokens/s), redrawn every second from GET /v2/events; Ctrl-C "
        "quits");
    add_url_option(sub, a->url);
    sub->add_flag("--json", a->json, "print every cluster event as one JSON line {event, data}");
    sub->add_flag("--once", a->once, "print one screen and exit");
    sub->callback([a] {
        asio::io_context io;
        std::exit(run(io, top(io, *a)));
    });
}

}  // namespace llorch::cli
