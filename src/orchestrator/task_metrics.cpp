#include "orchestrator/task_metrics.h"

#include <algorithm>

namespace llorch::orchestrator {

namespace {
constexpr size_t window = 10'000;

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

void keep(std::vector<double>& samples, double v) {
    samples.push_back(v);
    if (samples.size() > window) samples.erase(samples.begin(), samples.begin() + window / 2);
}
}  // namespace

void task_metrics::observe_completion(double e2e_ms, std::optional<double> ttft_ms) {
    keep(e2e_ms_, e2e_ms);
    if (ttft_ms) keep(ttft_ms_, *ttft_ms);
}

std::string task_metrics::render(size_t queue_depth, size_t running) const {
    std::string o;
    auto c = [&](const char* name, const char* type, double v) {
        o += std::string("# TYPE ") + name + " " + type + "\n" + name + " " + std::to_string(v) +
             "\n";
    };
    const auto& n = counts;
    c("tasks_enqueued_total", "counter", static_cast<double>(n.enqueued));
    c("tasks_started_total", "counter", static_cast<double>(n.started));
    c("tasks_canceled_total", "counter", static_cast<double>(n.canceled));
    c("tasks_rejected_total", "counter", static_cast<double>(n.rejected));
    c("tasks_completed_total", "counter", static_cast<double>(n.completed));
    c("tasks_failed_total", "counter", static_cast<double>(n.failed));
    c("tokens_out_total", "counter", static_cast<double>(n.tokens));
    c("queue_depth", "gauge", static_cast<double>(queue_depth));
    c("tasks_running", "gauge", static_cast<double>(running));
    o += "# TYPE admission_backpressure_events_total counter\n";
    o += "admission_backpressure_events_total{policy=\"reject\"} " + std::to_string(n.rejected) +
         "\n";
    o += "admission_backpressure_events_total{policy=\"drop-lru\"} " +
         std::to_string(n.dropped_lru) + "\n";
    c("tasks_deadline_unmet_total", "counter", static_cast<double>(n.deadline_unmet));
    o += "# TYPE latency_first_token_ms summary\n";
    o += "latency_first_token_ms{quantile=\"0.5\"} " + std::to_string(percentile(ttft_ms_, 0.5)) +
         "\n";
    o += "latency_first_token_ms{quantile=\"0.99\"} " + std::to_string(percentile(ttft_ms_, 0.99)) +
         "\n";
    o += "# TYPE latency_e2e_ms summary\n";
    o += "latency_e2e_ms{quantile=\"0.5\"} " + std::to_string(percentile(e2e_ms_, 0.5)) + "\n";
    o += "latency_e2e_ms{quantile=\"0.99\"} " + std::to_string(percentile(e2e_ms_, 0.99)) + "\n";
    return o;
}

}  // namespace llorch::orchestrator
