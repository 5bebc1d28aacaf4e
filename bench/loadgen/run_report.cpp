#include "loadgen/run_report.h"

#include <algorithm>

#include <fmt/format.h>
#include <boost/json.hpp>

namespace llorch::bench {
namespace json = boost::json;

run_summary summarize_run(const run_settings& settings, const std::vector<request_record>& records,
                          const std::vector<std::pair<double, double>>& itl_samples,
                          double run_end_s, uint64_t dropped, int peak_in_flight) {
    run_summary s;
    s.settings = settings;
    s.dropped = dropped;
    s.peak_in_flight = peak_in_flight;
    std::vector<double> ttft, e2e, itl;
    double last_end = settings.warmup_s;
    for (const auto& r : records) {
        s.tokens_all += static_cast<uint64_t>(std::max(0, r.tokens));
        if (r.start_s < settings.warmup_s) continue;
        last_end = std::max(last_end, r.end_s);
        if (!r.ok) {
            ++s.requests_failed;
            ++s.errors[r.error.empty() ? std::string("unknown") : r.error];
            s.tokens += static_cast<uint64_t>(std::max(0, r.tokens));
            continue;
        }
        ++s.requests_ok;
        if (!r.pool_id.empty()) ++s.pools[r.pool_id];
        if (r.tokens < settings.max_tokens) ++s.requests_short;
        s.tokens += static_cast<uint64_t>(std::max(0, r.tokens));
        if (r.ttft_ms >= 0) ttft.push_back(r.ttft_ms);
        e2e.push_back(r.e2e_ms);
    }
    for (const auto& [start, gap] : itl_samples)
        if (start >= settings.warmup_s) itl.push_back(gap);
    if (s.requests_ok + s.requests_failed == 0) last_end = std::max(last_end, run_end_s);
    s.window_s = std::max(1e-9, last_end - settings.warmup_s);
    s.tokens_per_s = static_cast<double>(s.tokens) / s.window_s;
    s.requests_per_s = static_cast<double>(s.requests_ok) / s.window_s;
    s.ttft_ms = summarize(std::move(ttft));
    s.itl_ms = summarize(std::move(itl));
    s.e2e_ms = summarize(std::move(e2e));
    return s;
}

namespace {

std::string pct_line(const char* name, const latency_summary& l) {
    return fmt::format(
        "  {:<5} ms  p50 {:>9.3f}  p90 {:>9.3f}  p99 {:>9.3f}  max {:>9.3f}  (n={})\n", name, l.p50,
        l.p90, l.p99, l.max, l.count);
}

json::object latency_json(const latency_summary& l) {
    return json::object{{"count", l.count}, {"mean", l.mean}, {"p50", l.p50},
                        {"p90", l.p90},     {"p99", l.p99},   {"max", l.max}};
}

std::string errors_text(const run_summary& s) {
    std::string out;
    for (const auto& [k, v] : s.errors)
        out += (out.empty() ? "" : ", ") + fmt::format("{} {}", k, v);
    return out;
}

}  // namespace

std::string to_text(const run_summary& s) {
    const auto& c = s.settings;
    std::string out = fmt::format("{} [{} {}] {} loop, {}, {} tokens/request\n",
                                  c.label.empty() ? c.target : c.label, c.target, c.url, c.mode,
                                  c.mode == "closed" ? fmt::format("{} streams", c.concurrency)
                                                     : fmt::format("{:.1f} req/s offered", c.rate),
                                  c.max_tokens);
    out += fmt::format(
        "  requests ok {}  failed {}  short {}  dropped {}  peak in flight {}  window {:.2f} s\n",
        s.requests_ok, s.requests_failed, s.requests_short, s.dropped, s.peak_in_flight,
        s.window_s);
    if (!s.errors.empty()) out += "  errors: " + errors_text(s) + "\n";
    if (!s.pools.empty()) {
        out += "  pools:";
        for (const auto& [k, v] : s.pools) out += fmt::format(" {} {}", k, v);
        out += "\n";
    }
    out += fmt::format("  throughput  {:.1f} req/s  {:.1f} tokens/s\n", s.requests_per_s,
                       s.tokens_per_s);
    out += pct_line("TTFT", s.ttft_ms);
    out += pct_line("ITL", s.itl_ms);
    out += pct_line("E2E", s.e2e_ms);
    return out;
}

std::string to_json(const run_summary& s) {
    const auto& c = s.settings;
    json::object errors;
    for (const auto& [k, v] : s.errors) errors[k] = v;
    json::object pools;
    for (const auto& [k, v] : s.pools) pools[k] = v;
    json::object o{{"label", c.label},
                   {"target", c.target},
                   {"url", c.url},
                   {"mode", c.mode},
                   {"concurrency", c.concurrency},
                   {"rate", c.rate},
                   {"max_tokens", c.max_tokens},
                   {"warmup_s", c.warmup_s},
                   {"window_s", s.window_s},
                   {"requests_ok", s.requests_ok},
                   {"requests_failed", s.requests_failed},
                   {"requests_short", s.requests_short},
                   {"dropped", s.dropped},
                   {"errors", errors},
                   {"pools", pools},
                   {"tokens", s.tokens},
                   {"tokens_all", s.tokens_all},
                   {"tokens_per_s", s.tokens_per_s},
                   {"requests_per_s", s.requests_per_s},
                   {"peak_in_flight", s.peak_in_flight},
                   {"ttft_ms", latency_json(s.ttft_ms)},
                   {"itl_ms", latency_json(s.itl_ms)},
                   {"e2e_ms", latency_json(s.e2e_ms)}};
    return json::serialize(o);
}

std::string markdown_header() {
    return "| run | load | ok | failed | req/s | tokens/s | TTFT p50 | TTFT p99 | ITL p50 | ITL "
           "p99 "
           "| E2E p50 | E2E p99 |\n"
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
}

std::string markdown_row(const run_summary& s) {
    const auto& c = s.settings;
    auto load = c.mode == "closed" ? fmt::format("{} streams", c.concurrency)
                                   : fmt::format("{:.0f} req/s", c.rate);
    return fmt::format(
        "| {} | {} | {} | {} | {:.1f} | {:.1f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.1f} | "
        "{:.1f} |\n",
        c.label.empty() ? c.target : c.label, load, s.requests_ok, s.requests_failed,
        s.requests_per_s, s.tokens_per_s, s.ttft_ms.p50, s.ttft_ms.p99, s.itl_ms.p50, s.itl_ms.p99,
        s.e2e_ms.p50, s.e2e_ms.p99);
}

}  // namespace llorch::bench
