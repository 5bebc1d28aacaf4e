#pragma once
// Prometheus metrics of a daemon: one registry (prometheus-cpp's) owned by the application object
// and passed to the modules, rendered in the text exposition format 0.0.4 for `/metrics`.
//
// Two kinds of families:
// - live metrics (counter, gauge, histogram): created once, usually when a module starts or the
//   first time a label set is seen; the returned references stay valid for the registry's
//   lifetime, so hot paths keep a reference and never look names up. prometheus-cpp's metrics are
//   atomic, so any io thread may update them.
// - scrape-time families: a collector, called on every render, reports values read from state
//   owned elsewhere (the pool table, the node registry); series come and go with that state.
//   Collectors run on the thread that renders (the control plane's), so they may read its state.
// Misuse (a name reused with another type, an invalid name) is a programming error and throws
// std::logic_error.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>

namespace prometheus {
class Registry;
}

namespace llorch::common {

using labels = std::vector<std::pair<std::string, std::string>>;
using counter = prometheus::Counter;
using gauge = prometheus::Gauge;
using histogram = prometheus::Histogram;

// Latency buckets in seconds, 0.5 ms to 60 s, for time to first token, inter-token latency and
// end-to-end time.
std::vector<double> default_latency_buckets();

// What a collector reports during one render. Samples of one family are kept together, in the
// order first reported; the family's help is taken from its first sample.
class scrape {
  public:
    void gauge(std::string_view name, std::string_view help, const labels& l, double v);
    void counter(std::string_view name, std::string_view help, const labels& l, double v);

  private:
    friend class metrics_registry;
    prometheus::ClientMetric& sample(std::string_view name, std::string_view help,
                                     prometheus::MetricType type, const labels& l);
    std::vector<prometheus::MetricFamily> families_;
    std::unordered_map<std::string, size_t> index_;
};

class metrics_registry {
  public:
    using collector = std::function<void(scrape&)>;

    metrics_registry();
    ~metrics_registry();
    metrics_registry(const metrics_registry&) = delete;
    metrics_registry& operator=(const metrics_registry&) = delete;

    // The metric of this name and label set, created on first use. `help` is taken from the
    // first call for a family. Label order does not matter.
    common::counter& counter(std::string_view name, std::string_view help, const labels& l = {});
    common::gauge& gauge(std::string_view name, std::string_view help, const labels& l = {});
    // `buckets`: strictly increasing finite upper bounds; every member of a family shares them.
    common::histogram& histogram(std::string_view name, std::string_view help,
                                 const std::vector<double>& buckets, const labels& l = {});

    // Called on every render, in the order added, after the live families. A collector must
    // not report a name the registry holds live.
    void add_collector(collector c);

    // Every family: one # HELP and # TYPE line each, then its series.
    std::string render() const;

  private:
    struct family;
    family& family_for(std::string_view name, std::string_view help, prometheus::MetricType t);

    std::unique_ptr<prometheus::Registry> registry_;
    std::unordered_map<std::string, std::unique_ptr<family>> families_;
    std::vector<collector> collectors_;
};

}  // namespace llorch::common
