#include "common/metrics.h"

#include <stdexcept>

#include <prometheus/check_names.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace llorch::common {
namespace {

prometheus::Labels to_map(const labels& l) {
    prometheus::Labels m;
    for (const auto& [k, v] : l) {
        if (!prometheus::CheckLabelName(k))
            throw std::logic_error("invalid metric label name '" + k + "'");
        m[k] = v;
    }
    return m;
}

std::string_view type_name(prometheus::MetricType t) {
    switch (t) {
        case prometheus::MetricType::Counter:
            return "counter";
        case prometheus::MetricType::Gauge:
            return "gauge";
        case prometheus::MetricType::Histogram:
            return "histogram";
        default:
            return "other";
    }
}

// HELP text as the format requires (\\ and \n escaped); prometheus-cpp 1.0 writes it verbatim.
std::string escape_help(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

void check_name(std::string_view name) {
    if (!prometheus::CheckMetricName(std::string(name)))
        throw std::logic_error("invalid metric name '" + std::string(name) + "'");
}

}  // namespace

std::vector<double> default_latency_buckets() {
    return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
            0.5,    1,     2.5,    5,     10,   20,    30,   60};
}

struct metrics_registry::family {
    prometheus::MetricType type;
    prometheus::Family<prometheus::Counter>* c = nullptr;
    prometheus::Family<prometheus::Gauge>* g = nullptr;
    prometheus::Family<prometheus::Histogram>* h = nullptr;
    std::vector<double> buckets;  // a histogram family's, shared by its members
};

metrics_registry::metrics_registry() : registry_(std::make_unique<prometheus::Registry>()) {}
metrics_registry::~metrics_registry() = default;

metrics_registry::family& metrics_registry::family_for(std::string_view name, std::string_view help,
                                                       prometheus::MetricType t) {
    auto it = families_.find(std::string(name));
    if (it != families_.end()) {
        if (it->second->type != t)
            throw std::logic_error("metric '" + std::string(name) + "' is a " +
                                   std::string(type_name(it->second->type)) + ", not a " +
                                   std::string(type_name(t)));
        return *it->second;
    }
    check_name(name);
    auto f = std::make_unique<family>();
    f->type = t;
    const std::string n(name), h = escape_help(help);
    switch (t) {
        case prometheus::MetricType::Counter:
            f->c = &prometheus::BuildCounter().Name(n).Help(h).Register(*registry_);
            break;
        case prometheus::MetricType::Gauge:
            f->g = &prometheus::BuildGauge().Name(n).Help(h).Register(*registry_);
            break;
        default:
            f->h = &prometheus::BuildHistogram().Name(n).Help(h).Register(*registry_);
    }
    return *families_.emplace(n, std::move(f)).first->second;
}

counter& metrics_registry::counter(std::string_view name, std::string_view help, const labels& l) {
    return family_for(name, help, prometheus::MetricType::Counter).c->Add(to_map(l));
}

gauge& metrics_registry::gauge(std::string_view name, std::string_view help, const labels& l) {
    return family_for(name, help, prometheus::MetricType::Gauge).g->Add(to_map(l));
}

histogram& metrics_registry::histogram(std::string_view name, std::string_view help,
                                       const std::vector<double>& buckets, const labels& l) {
    for (size_t i = 0; i < buckets.size(); ++i)
        if (i > 0 && !(buckets[i] > buckets[i - 1]))
            throw std::logic_error("histogram '" + std::string(name) +
                                   "': buckets must be strictly increasing");
    auto& f = family_for(name, help, prometheus::MetricType::Histogram);
    if (f.buckets.empty()) f.buckets = buckets;
    if (f.buckets != buckets)
        throw std::logic_error("histogram '" + std::string(name) +
                               "': every member of a family has the same buckets");
    for (const auto& [k, v] : l)
        if (k == "le") throw std::logic_error("histogram label 'le' is reserved");
    // Add returns the existing series for a label set seen before.
    return f.h->Add(to_map(l), buckets);
}

void metrics_registry::add_collector(collector c) { collectors_.push_back(std::move(c)); }

std::string metrics_registry::render() const {
    auto families = registry_->Collect();
    scrape s;
    for (const auto& c : collectors_) c(s);
    for (auto& f : s.families_) {
        if (families_.count(f.name))
            throw std::logic_error("metric '" + f.name + "' is both live and scraped");
        families.push_back(std::move(f));
    }
    return prometheus::TextSerializer().Serialize(families);
}

prometheus::ClientMetric& scrape::sample(std::string_view name, std::string_view help,
                                         prometheus::MetricType type, const labels& l) {
    auto [it, fresh] = index_.try_emplace(std::string(name), families_.size());
    if (fresh) {
        check_name(name);
        families_.push_back({std::string(name), escape_help(help), type, {}});
    }
    auto& f = families_[it->second];
    if (f.type != type) throw std::logic_error("metric '" + f.name + "' reported as two types");
    auto& m = f.metric.emplace_back();
    for (const auto& [k, v] : to_map(l)) m.label.push_back({k, v});
    return m;
}

void scrape::gauge(std::string_view name, std::string_view help, const labels& l, double v) {
    sample(name, help, prometheus::MetricType::Gauge, l).gauge.value = v;
}

void scrape::counter(std::string_view name, std::string_view help, const labels& l, double v) {
    sample(name, help, prometheus::MetricType::Counter, l).counter.value = v;
}

}  // namespace llorch::common
