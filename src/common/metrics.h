#pragma once
// Prometheus metrics: counters, gauges and histograms grouped in families, rendered in the text
// exposition format 0.0.4 for `/metrics`.
//
// A metrics_registry is owned by a daemon's application object and used on its io thread only
// (no locks). Metrics are created once, usually at start-up, and the returned references stay
// valid for the registry's lifetime, so hot paths keep a reference and never look names up.
// Misuse (a name reused with another type, an invalid name, a negative counter increment) is a
// programming error and throws std::logic_error.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace llorch::common {

using labels = std::vector<std::pair<std::string, std::string>>;

// Monotonic; resets only with the process.
class counter {
  public:
    void inc(double v = 1);
    double value() const { return value_; }

  private:
    double value_ = 0;
};

class gauge {
  public:
    void set(double v) { value_ = v; }
    void inc(double v = 1) { value_ += v; }
    void dec(double v = 1) { value_ -= v; }
    double value() const { return value_; }

  private:
    double value_ = 0;
};

// Counts observations per bucket (upper bounds, inclusive) plus their sum; the +Inf bucket is
// implicit. Counts are kept per bucket and made cumulative when rendered.
class histogram {
  public:
    explicit histogram(std::vector<double> upper_bounds);
    void observe(double v);

    const std::vector<double>& upper_bounds() const { return bounds_; }
    // Observations <= upper_bounds()[i], cumulative as Prometheus shows them; the last element
    // (index upper_bounds().size()) is the +Inf bucket, equal to count().
    std::vector<uint64_t> cumulative_counts() const;
    uint64_t count() const { return count_; }
    double sum() const { return sum_; }

  private:
    std::vector<double> bounds_;
    std::vector<uint64_t> counts_;  // per bucket, bounds_.size() + 1 (the last is +Inf)
    uint64_t count_ = 0;
    double sum_ = 0;
};

// Latency buckets in seconds, 0.5 ms to 60 s, for time to first token, inter-token latency and
// end-to-end time.
std::vector<double> default_latency_buckets();

class metrics_registry {
  public:
    metrics_registry();
    ~metrics_registry();
    metrics_registry(const metrics_registry&) = delete;
    metrics_registry& operator=(const metrics_registry&) = delete;

    // The metric of this name and label set, created on first use. `help` is taken from the
    // first call for a family. Label order matters only for rendering (the first call's order).
    common::counter& counter(std::string_view name, std::string_view help, labels l = {});
    common::gauge& gauge(std::string_view name, std::string_view help, labels l = {});
    // `buckets`: strictly increasing finite upper bounds; every member of a family shares them.
    common::histogram& histogram(std::string_view name, std::string_view help,
                                 std::vector<double> buckets, labels l = {});

    // Families in creation order, each with one # HELP and # TYPE line, then its series in
    // creation order.
    std::string render() const;

  private:
    enum class kind { counter, gauge, histogram };
    struct series {
        labels l;
        labels sorted;  // identity: label order does not matter
        std::unique_ptr<common::counter> c;
        std::unique_ptr<common::gauge> g;
        std::unique_ptr<common::histogram> h;
    };
    struct family {
        std::string name;
        std::string help;
        kind type;
        std::vector<double> buckets;
        std::vector<std::unique_ptr<series>> members;
    };

    family& family_for(std::string_view name, std::string_view help, kind type);
    series& series_for(family& f, labels l);

    std::vector<std::unique_ptr<family>> families_;
    std::unordered_map<std::string, family*> by_name_;
};

// Exposition-format helpers, public for tests and for hand-written metric lines.
// A label value with \ " and newline escaped.
std::string escape_label_value(std::string_view v);
// A sample value as Prometheus parses it: shortest round-trip decimal, +Inf, -Inf, NaN.
std::string format_metric_value(double v);

}  // namespace llorch::common
