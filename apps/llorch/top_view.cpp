#include "top_view.h"

#include <cstdio>

#include <boost/json.hpp>

#include "client_support.h"

namespace llorch::cli {
namespace json = boost::json;

namespace {

std::string figure(const json::object& o, const char* key, const char* fmt = "%.1f") {
    double v = num(o, key, -1);
    if (v < 0) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, fmt, v);
    return buf;
}

std::map<std::string, json::object> keyed(const json::value* a, const char* key) {
    std::map<std::string, json::object> out;
    if (!a || !a->is_array()) return out;
    for (const auto& v : a->as_array())
        if (v.is_object()) out[str(v.as_object(), key, "")] = v.as_object();
    return out;
}

class screen {
  public:
    explicit screen(size_t width) : width_(width) {}
    template <class... Args>
    void line(const char* fmt, Args... args) {
        char buf[1024];
        std::snprintf(buf, sizeof buf, fmt, args...);
        std::string l(buf);
        if (l.size() > width_) l.resize(width_);
        out_ += l + "\n";
    }
    void blank() { out_ += "\n"; }
    std::string text() && { return std::move(out_); }

  private:
    size_t width_;
    std::string out_;
};

}  // namespace

bool top_view::apply(const std::string& type, const json::object& d) {
    if (type == "snapshot") {
        has_snapshot_ = true;
        profile_ = str(d, "profile", "");
        nodes_ = keyed(d.if_contains("nodes"), "node_id");
        pools_ = keyed(d.if_contains("pools"), "id");
        running_ = keyed(d.if_contains("running"), "task_id");
        errors_.clear();
        if (auto* e = d.if_contains("errors"); e && e->is_array())
            for (const auto& x : e->as_array())
                if (x.is_object()) errors_.push_front(x.as_object());
        if (auto* q = d.if_contains("queue"); q && q->is_object()) queue_ = q->as_object();
        if (auto* h = d.if_contains("history");
            h && h->is_array() && !h->as_array().empty() && h->as_array().back().is_object())
            stats_ = h->as_array().back().as_object();
    } else if (type == "task_started") {
        auto row = d;
        row["tokens"] = 0;
        running_[str(d, "task_id", "")] = row;
    } else if (type == "task_ended") {
        running_.erase(str(d, "task_id", ""));
        auto code = str(d, "error_code", "");
        if (!code.empty() && code != "CANCELLED") {
            auto e = d;
            e["code"] = code;
            errors_.push_front(e);
            while (errors_.size() > 50) errors_.pop_back();
        }
    } else if (type == "queue") {
        queue_ = d;
    } else if (type == "pool") {
        pools_[str(d, "id", "")] = d;
    } else if (type == "pool_removed") {
        pools_.erase(str(d, "id", ""));
    } else if (type == "node") {
        nodes_[str(d, "node_id", "")] = d;
    } else if (type == "node_removed") {
        nodes_.erase(str(d, "node_id", ""));
    } else if (type == "stats") {
        stats_ = d;
        if (auto* r = d.if_contains("running_tasks"); r && r->is_array())
            for (const auto& x : r->as_array()) {
                if (!x.is_object()) continue;
                auto it = running_.find(str(x.as_object(), "task_id", ""));
                if (it == running_.end()) continue;
                for (const auto& [k, v] : x.as_object()) it->second[k] = v;
            }
    } else if (type == "cut_off") {
        return false;
    }
    return true;
}

std::string top_view::render(size_t width, long long now_ms) const {
    screen s(width);
    long long busy = 0, total = 0;
    for (const auto& [id, p] : pools_) {
        total += static_cast<long long>(num(p, "slots_total", 0));
        busy += static_cast<long long>(num(p, "slots_busy", 0));
    }
    s.line(
        "llama-orch %s   tokens/s %s   TTFT p50 %s ms  p95 %s ms   queue %lld (interactive "
        "%lld, batch %lld)   running %zu   slots busy %lld/%lld",
        profile_ == "cloud" ? "CLOUD" : "HOME", figure(stats_, "tokens_per_s").c_str(),
        figure(stats_, "ttft_p50_ms", "%.0f").c_str(),
        figure(stats_, "ttft_p95_ms", "%.0f").c_str(),
        static_cast<long long>(num(queue_, "total", 0)),
        static_cast<long long>(num(queue_, "interactive", 0)),
        static_cast<long long>(num(queue_, "batch", 0)), running_.size(), busy, total);
    s.blank();
    if (profile_ == "cloud") {
        s.line("%-20s %-12s %-28s %-6s %s", "NODE", "STATE", "ADDRESS", "POOLS", "HEARTBEAT");
        for (const auto& [id, n] : nodes_) {
            double hb = num(n, "last_heartbeat_ms", -1);
            std::string age =
                hb > 0 ? figure(json::object{{"a", (now_ms - hb) / 1000.0}}, "a") + " s ago" : "-";
            s.line("%-20s %-12s %-28s %-6lld %s", id.c_str(), str(n, "state").c_str(),
                   str(n, "address").c_str(), static_cast<long long>(num(n, "pools", 0)),
                   age.c_str());
        }
        s.blank();
    }
    s.line("%-26s %-12s %-14s %-8s %-11s %-8s %s", "POOL", "STATE", "MODEL", "DEVICE", "SLOTS BUSY",
           "GPU", "VRAM USED/TOTAL");
    for (const auto& [id, p] : pools_) {
        auto slots = std::to_string(static_cast<long long>(num(p, "slots_busy", 0))) + "/" +
                     std::to_string(static_cast<long long>(num(p, "slots_total", 0)));
        double vt = num(p, "vram_total_bytes", 0), vf = num(p, "vram_free_bytes", 0);
        char vram[64] = "-";
        if (vt > 0)
            std::snprintf(vram, sizeof vram, "%.1f/%.1f GiB", (vt - vf) / 1073741824.0,
                          vt / 1073741824.0);
        auto gpu = figure(p, "gpu_util_percent", "%.0f%%");
        s.line("%-26s %-12s %-14s %-8s %-11s %-8s %s", id.c_str(), str(p, "state").c_str(),
               str(p, "model").c_str(), str(p, "device").c_str(), slots.c_str(), gpu.c_str(), vram);
    }
    s.blank();
    s.line("%-38s %-12s %-12s %-26s %8s %9s %9s", "RUNNING TASK", "MODEL", "PRIORITY", "POOL",
           "TOKENS", "TOKENS/S", "TTFT MS");
    for (const auto& [id, t] : running_)
        s.line("%-38s %-12s %-12s %-26s %8lld %9s %9s", id.c_str(), str(t, "model").c_str(),
               str(t, "priority").c_str(), str(t, "pool").c_str(),
               static_cast<long long>(num(t, "tokens", 0)), figure(t, "tokens_per_s").c_str(),
               figure(t, "ttft_ms", "%.0f").c_str());
    if (running_.empty()) s.line("(no task running)");
    s.blank();
    s.line("RECENT ERRORS");
    size_t shown = 0;
    for (const auto& e : errors_) {
        if (++shown > 5) break;
        s.line("%-22s %-38s %-26s %s", str(e, "code").c_str(), str(e, "task_id").c_str(),
               str(e, "pool").c_str(), str(e, "message").c_str());
    }
    if (errors_.empty()) s.line("(none)");
    return std::move(s).text();
}

}  // namespace llorch::cli
