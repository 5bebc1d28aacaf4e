// llorch-loadgen — a load generator for llama-orch and the servers it is compared with. Closed
// loop (N concurrent streams) or open loop (Poisson arrivals at a rate), for a duration or a
// request count. Everything runs on one io_context thread so the generator itself costs little
// next to the servers it measures.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "http/client.h"
#include "http/sse.h"
#include "loadgen/poisson_arrivals.h"
#include "loadgen/run_report.h"
#include "loadgen/stream_protocol.h"

namespace asio = boost::asio;
namespace bench = llorch::bench;
namespace http = llorch::http;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
    std::string target = "orch";
    std::vector<std::string> urls{"http://127.0.0.1:8080"};
    std::string model = "tiny";
    std::string pool_id;
    std::string api_key;
    std::string prompt = "Hello";
    int max_tokens = 32;
    bool no_ignore_eos = false;
    int concurrency = 1;
    double rate = 0;
    double duration_s = 0;
    long long requests = 0;
    double warmup_s = 0;
    double ramp_s = 0;
    int max_in_flight = 20000;
    double timeout_s = 60;
    uint64_t seed = 1;
    std::string label;
    std::string json_file;
    std::string markdown_file;
    std::string records_file;
    bool progress = false;
    bool fail_on_error = false;
};

// The whole run's state. Lives on main's stack for the length of io.run(); only the io thread
// touches it.
struct run_state {
    asio::io_context& io;
    http::client client;
    options opt;
    bench::target_kind kind;
    bench::request_shape shape;
    http::header_list headers;
    clock_type::time_point t0;
    std::chrono::system_clock::time_point wall0;
    std::vector<bench::request_record> records;
    std::vector<std::pair<double, double>> itl;  // (request start s, gap ms)
    int in_flight = 0;
    int peak_in_flight = 0;
    uint64_t issued = 0;
    uint64_t dropped = 0;
    uint64_t tokens_seen = 0;
    bool issuing_done = false;
    bool interrupted = false;

    run_state(asio::io_context& io_, const options& o, bench::target_kind k,
              http::client_options co)
        : io(io_), client(io_, std::move(co)), opt(o), kind(k) {}

    double since_start_s(clock_type::time_point p) const {
        return std::chrono::duration<double>(p - t0).count();
    }
    // Whether another request may start: the duration or the count is not used up.
    bool may_issue() const {
        if (interrupted) return false;
        if (opt.requests > 0 && issued >= static_cast<uint64_t>(opt.requests)) return false;
        if (opt.duration_s > 0 && since_start_s(clock_type::now()) >= opt.duration_s) return false;
        return true;
    }
    bool finished() const { return issuing_done && in_flight == 0; }
};

std::chrono::milliseconds ms_of(double seconds) {
    return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

double ms_between(clock_type::time_point a, clock_type::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

asio::awaitable<void> sleep_until(clock_type::time_point t) {
    asio::steady_timer timer(co_await asio::this_coro::executor, t);
    co_await timer.async_wait(asio::use_awaitable);
}

std::string join_url(const std::string& base, const std::string& path) {
    if (path.rfind("http://", 0) == 0) return path;
    if (!base.empty() && base.back() == '/') return base.substr(0, base.size() - 1) + path;
    return base + path;
}

// One request from its start to the end of its stream; the record says how it went.
asio::awaitable<bench::request_record> one_request(run_state& s, uint64_t seq) {
    bench::request_record rec;
    auto t_start = clock_type::now();
    rec.start_s = s.since_start_s(t_start);
    const auto& base = s.opt.urls[seq % s.opt.urls.size()];
    auto timeout = ms_of(s.opt.timeout_s);
    auto finish = [&](std::string error) {
        auto now = clock_type::now();
        rec.end_s = s.since_start_s(now);
        rec.e2e_ms = ms_between(t_start, now);
        rec.error = std::move(error);
        rec.ok = rec.error.empty();
        if (rec.tokens < rec.token_events) rec.tokens = rec.token_events;
        return rec;
    };

    std::string task_id;
    if (s.kind == bench::target_kind::pool) task_id = fmt::format("lg-{}-{}", s.opt.seed, seq);
    auto call = bench::start_call(s.kind, s.shape, task_id);
    http::client_request req;
    req.method = "POST";
    req.url = join_url(base, call.path);
    req.body = std::move(call.body);
    req.headers = s.headers;
    req.timeout = timeout;
    if (s.kind == bench::target_kind::orch_stream) req.headers.add("Accept", "text/event-stream");

    if (s.kind == bench::target_kind::orch) {
        auto submitted = co_await s.client.send(req);
        if (!submitted) co_return finish(std::string(http::to_string(submitted.error().code)));
        if (submitted->status != 202 && submitted->status != 200)
            co_return finish("http_" + std::to_string(submitted->status));
        auto events = bench::events_path_from_submit(submitted->body);
        if (!events) co_return finish("bad_submit_answer");
        req.method = "GET";
        req.url = join_url(base, *events);
        req.body.clear();
        req.headers.add("Accept", "text/event-stream");
    }

    auto st = co_await s.client.open(req);
    if (!st) co_return finish(std::string(http::to_string(st.error().code)));
    auto& stream = **st;
    if (stream.status() != 200) co_return finish("http_" + std::to_string(stream.status()));

    http::sse_parser parser;
    std::vector<http::sse_event> events;
    auto last_token = t_start;
    bool done = false;
    std::string error;
    clock_type::time_point done_at{};
    while (true) {
        // After the last event only the end of the body is awaited, briefly, so that the
        // connection goes back to the pool; a server that keeps it open costs no more.
        auto piece = co_await stream.read_some(done ? std::chrono::milliseconds(1000) : timeout);
        if (!piece) {
            if (!done) error = std::string(http::to_string(piece.error().code));
            break;
        }
        if (piece->empty()) break;
        if (done) continue;
        auto now = clock_type::now();
        parser.feed(*piece, events);
        for (const auto& e : events) {
            auto step = bench::interpret(s.kind, e);
            if (!step.pool_id.empty()) rec.pool_id = step.pool_id;
            if (step.tokens > 0) {
                if (rec.token_events == 0)
                    rec.ttft_ms = ms_between(t_start, now);
                else
                    s.itl.emplace_back(rec.start_s, ms_between(last_token, now));
                last_token = now;
                rec.token_events += step.tokens;
                s.tokens_seen += static_cast<uint64_t>(step.tokens);
            }
            if (step.tokens_reported >= 0) rec.tokens = step.tokens_reported;
            if (step.done) {
                done = true;
                done_at = now;
                error = step.error;
                break;
            }
        }
        events.clear();
        if (parser.pending_bytes() > (1u << 20)) {
            error = "oversized_event";
            break;
        }
    }
    if (!done && error.empty()) error = "truncated";
    auto r = finish(error);
    if (done) {
        r.end_s = s.since_start_s(done_at);
        r.e2e_ms = ms_between(t_start, done_at);
    }
    co_return r;
}

asio::awaitable<void> run_one(run_state& s, uint64_t seq) {
    ++s.in_flight;
    s.peak_in_flight = std::max(s.peak_in_flight, s.in_flight);
    auto rec = co_await one_request(s, seq);
    --s.in_flight;
    s.records.push_back(std::move(rec));
}

asio::awaitable<void> closed_worker(run_state& s, int index) {
    if (s.opt.ramp_s > 0 && s.opt.concurrency > 1)
        co_await sleep_until(s.t0 + ms_of(s.opt.ramp_s * index / s.opt.concurrency));
    while (s.may_issue()) co_await run_one(s, s.issued++);
}

asio::awaitable<void> open_arrivals(run_state& s) {
    bench::poisson_arrivals arrivals(s.opt.rate, s.opt.seed);
    double at = 0;
    while (true) {
        at += arrivals.next_gap_s();
        if (s.opt.duration_s > 0 && at >= s.opt.duration_s) break;
        co_await sleep_until(s.t0 + std::chrono::duration_cast<clock_type::duration>(
                                        std::chrono::duration<double>(at)));
        if (!s.may_issue()) break;
        if (s.in_flight >= s.opt.max_in_flight) {
            ++s.dropped;
            continue;
        }
        asio::co_spawn(s.io, run_one(s, s.issued++), asio::detached);
    }
    s.issuing_done = true;
}

asio::awaitable<void> closed_loop(run_state& s) {
    int remaining = s.opt.concurrency;
    auto exec = co_await asio::this_coro::executor;
    asio::steady_timer all_done(exec, clock_type::time_point::max());
    for (int i = 0; i < s.opt.concurrency; ++i) {
        asio::co_spawn(exec, closed_worker(s, i), [&](std::exception_ptr) {
            if (--remaining == 0) all_done.cancel();
        });
    }
    boost::system::error_code ec;
    co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    s.issuing_done = true;
}

// One line a second while the run lasts: a long run shows it is alive and how it goes.
asio::awaitable<void> progress(run_state& s) {
    uint64_t last_tokens = 0;
    auto next = s.t0;
    while (!s.finished()) {
        next += std::chrono::seconds(1);
        co_await sleep_until(next);
        std::cerr << fmt::format(
            "[{:6.1f}s] in flight {:6}  done {:8}  failed {:6}  tokens/s {:9.0f}\n",
            s.since_start_s(clock_type::now()), s.in_flight, s.records.size(),
            std::count_if(s.records.begin(), s.records.end(), [](const auto& r) { return !r.ok; }),
            static_cast<double>(s.tokens_seen - last_tokens));
        last_tokens = s.tokens_seen;
    }
}

bool write_file(const std::string& path, const std::string& text, bool append) {
    std::ofstream f(path, append ? std::ios::app : std::ios::trunc);
    f << text;
    return static_cast<bool>(f);
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    CLI::App app{
        "llorch-loadgen: streams completions at a server and reports time to first token, "
        "inter-token latency, end-to-end time, tokens/s and requests/s.\nTargets: orch (llama-orch "
        "POST /v2/tasks + events), orch-stream (POST /v2/tasks answered by its events), pool "
        "(pool-managerd /v2/pools/ID/infer), llamacpp (llama-server "
        "/completion), openai-chat (/v1/chat/completions), openai-completions (/v1/completions); "
        "all streaming, with ignore_eos so every request generates --max-tokens tokens."};
    app.add_option("--target", o.target,
                   "orch, orch-stream, pool, llamacpp, openai-chat, openai-completions")
        ->capture_default_str();
    app.add_option("--url", o.urls, "base URL; repeat to spread requests round-robin over servers")
        ->capture_default_str();
    app.add_option("--model", o.model, "model name (orch, openai targets)")->capture_default_str();
    app.add_option("--pool", o.pool_id, "pool id (pool target)");
    app.add_option("--api-key", o.api_key, "bearer token")->envname("LLORCH_API_TOKEN");
    app.add_option("--prompt", o.prompt, "prompt text")->capture_default_str();
    app.add_option("--max-tokens", o.max_tokens, "tokens each request generates")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000000));
    app.add_flag("--no-ignore-eos", o.no_ignore_eos, "let the engine stop at end-of-sequence");
    auto* conc =
        app.add_option("-c,--concurrency", o.concurrency, "closed loop: concurrent streams")
            ->capture_default_str()
            ->check(CLI::Range(1, 1000000));
    app.add_option("-r,--rate", o.rate, "open loop: Poisson arrivals per second")
        ->excludes(conc)
        ->check(CLI::PositiveNumber);
    app.add_option("-d,--duration", o.duration_s, "seconds to issue requests (then wait for them)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("-n,--requests", o.requests, "requests in all")->check(CLI::NonNegativeNumber);
    app.add_option("--warmup", o.warmup_s, "seconds at the start left out of the figures")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--ramp", o.ramp_s,
                   "closed loop: start the streams evenly over this many seconds")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--max-in-flight", o.max_in_flight,
                   "open loop: arrivals beyond this many open requests are dropped and counted")
        ->capture_default_str();
    app.add_option("--timeout", o.timeout_s, "seconds for the response head and between body reads")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--seed", o.seed, "seed of the arrival process")->capture_default_str();
    app.add_option("--label", o.label, "name of this run in the reports");
    app.add_option("--json", o.json_file, "write the summary as JSON to this file");
    app.add_option(
        "--markdown", o.markdown_file,
        "append the summary as a Markdown table row (a header first when the file is new)");
    app.add_option(
        "--records", o.records_file,
        "write one CSV line per request: unix start and end times, ok, error, tokens, TTFT");
    app.add_flag("--progress", o.progress, "print a line a second on stderr");
    app.add_flag("--fail-on-error", o.fail_on_error, "exit 1 when a request failed or came short");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    auto kind = bench::parse_target_kind(o.target);
    if (!kind) {
        std::cerr << "llorch-loadgen: --target: unknown target '" << o.target << "'\n";
        return 2;
    }
    if (*kind == bench::target_kind::pool && o.pool_id.empty()) {
        std::cerr << "llorch-loadgen: --pool: the pool target needs a pool id\n";
        return 2;
    }
    if (o.duration_s <= 0 && o.requests <= 0) {
        std::cerr << "llorch-loadgen: give --duration or --requests\n";
        return 2;
    }
    for (const auto& u : o.urls)
        if (auto p = http::parse_url(u); !p) {
            std::cerr << "llorch-loadgen: --url: " << p.error().message << "\n";
            return 2;
        }
    std::signal(SIGPIPE, SIG_IGN);

    asio::io_context io(1);
    http::client_options co;
    co.connect_timeout = ms_of(std::min(o.timeout_s, 10.0));
    co.max_idle_per_host = static_cast<size_t>(std::max(256, o.concurrency + 16));
    co.user_agent = "llorch-loadgen";
    run_state s(io, o, *kind, co);
    s.shape.model = o.model;
    s.shape.pool_id = o.pool_id;
    s.shape.prompt = o.prompt;
    s.shape.max_tokens = o.max_tokens;
    s.shape.ignore_eos = !o.no_ignore_eos;
    if (!o.api_key.empty()) s.headers.add("Authorization", "Bearer " + o.api_key);
    s.t0 = clock_type::now();
    s.wall0 = std::chrono::system_clock::now();

    bool open_loop = o.rate > 0;
    if (open_loop)
        asio::co_spawn(io, open_arrivals(s), asio::detached);
    else
        asio::co_spawn(io, closed_loop(s), asio::detached);
    if (o.progress) asio::co_spawn(io, progress(s), asio::detached);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int) {
        if (!ec) s.interrupted = true;
    });
    // The signal wait keeps io alive; drop it once the run has finished.
    asio::steady_timer watch(io);
    std::function<void()> check = [&] {
        if (s.finished()) {
            signals.cancel();
            return;
        }
        watch.expires_after(std::chrono::milliseconds(20));
        watch.async_wait([&](boost::system::error_code) { check(); });
    };
    check();
    io.run();
    double run_end = s.since_start_s(clock_type::now());

    bench::run_settings rs;
    rs.label = o.label;
    rs.target = o.target;
    rs.url =
        o.urls.size() == 1 ? o.urls[0] : fmt::format("{} (+{} more)", o.urls[0], o.urls.size() - 1);
    rs.mode = open_loop ? "open" : "closed";
    rs.concurrency = open_loop ? 0 : o.concurrency;
    rs.rate = o.rate;
    rs.max_tokens = o.max_tokens;
    rs.warmup_s = o.warmup_s;
    auto summary = bench::summarize_run(rs, s.records, s.itl, run_end, s.dropped, s.peak_in_flight);
    std::cout << bench::to_text(summary) << std::flush;

    if (!o.json_file.empty() && !write_file(o.json_file, bench::to_json(summary) + "\n", false)) {
        std::cerr << "llorch-loadgen: cannot write " << o.json_file << "\n";
        return 1;
    }
    if (!o.markdown_file.empty()) {
        std::ifstream probe(o.markdown_file);
        bool fresh = !probe || probe.peek() == std::ifstream::traits_type::eof();
        if (!write_file(o.markdown_file,
                        (fresh ? bench::markdown_header() : "") + bench::markdown_row(summary),
                        true)) {
            std::cerr << "llorch-loadgen: cannot write " << o.markdown_file << "\n";
            return 1;
        }
    }
    if (!o.records_file.empty()) {
        double wall0 = std::chrono::duration<double>(s.wall0.time_since_epoch()).count();
        std::string csv = "start_unix,end_unix,ok,error,tokens,ttft_ms,pool\n";
        for (const auto& r : s.records)
            csv +=
                fmt::format("{:.6f},{:.6f},{},{},{},{:.3f},{}\n", wall0 + r.start_s,
                            wall0 + r.end_s, r.ok ? 1 : 0, r.error, r.tokens, r.ttft_ms, r.pool_id);
        if (!write_file(o.records_file, csv, false)) {
            std::cerr << "llorch-loadgen: cannot write " << o.records_file << "\n";
            return 1;
        }
    }
    if (o.fail_on_error &&
        (summary.requests_failed > 0 || summary.requests_short > 0 || summary.requests_ok == 0))
        return 1;
    return 0;
}
