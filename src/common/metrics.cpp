#include "common/metrics.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace llorch::common {
namespace {

bool valid_name(std::string_view n, bool allow_colon) {
    if (n.empty()) return false;
    for (size_t i = 0; i < n.size(); ++i) {
        const char c = n[i];
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                           (allow_colon && c == ':');
        const bool digit = c >= '0' && c <= '9';
        if (!alpha && !(digit && i > 0)) return false;
    }
    return true;
}

std::string escape_help(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

// `{a="x",b="y"}` with an optional trailing `le`, or nothing when there are no labels at all.
void append_labels(std::string& out, const labels& l, std::string_view le = {}) {
    if (l.empty() && le.empty()) return;
    out += '{';
    bool first = true;
    for (const auto& [k, v] : l) {
        if (!first) out += ',';
        first = false;
        out += k;
        out += "=\"";
        out += escape_label_value(v);
        out += '"';
    }
    if (!le.empty()) {
        if (!first) out += ',';
        out += "le=\"";
        out += le;
        out += '"';
    }
    out += '}';
}

void append_sample(std::string& out, std::string_view name, std::string_view suffix,
                   const labels& l, std::string_view value, std::string_view le = {}) {
    out += name;
    out += suffix;
    append_labels(out, l, le);
    out += ' ';
    out += value;
    out += '\n';
}

}  // namespace

void counter::inc(double v) {
    if (!(v >= 0)) throw std::logic_error("counter increment must be non-negative");
    value_ += v;
}

histogram::histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void histogram::observe(double v) {
    // Buckets are inclusive upper bounds: the first bound >= v.
    const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
    ++counts_[static_cast<size_t>(it - bounds_.begin())];
    ++count_;
    sum_ += v;
}

std::vector<uint64_t> histogram::cumulative_counts() const {
    std::vector<uint64_t> out(counts_.size());
    uint64_t running = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
        running += counts_[i];
        out[i] = running;
    }
    return out;
}

std::vector<double> default_latency_buckets() {
    return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
            0.5,    1,     2.5,    5,     10,   20,    30,   60};
}

std::string escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string format_metric_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    return fmt::format("{}", v);
}

metrics_registry::metrics_registry() = default;
metrics_registry::~metrics_registry() = default;

metrics_registry::family& metrics_registry::family_for(std::string_view name, std::string_view help,
                                                       kind type) {
    if (auto it = by_name_.find(std::string(name)); it != by_name_.end()) {
        if (it->second->type != type) {
            throw std::logic_error(
                fmt::format("metric {} already registered with another type", name));
        }
        return *it->second;
    }
    if (!valid_name(name, true)) throw std::logic_error(fmt::format("bad metric name {}", name));
    auto f = std::make_unique<family>();
    f->name = std::string(name);
    f->help = std::string(help);
    f->type = type;
    family& ref = *f;
    by_name_.emplace(f->name, f.get());
    families_.push_back(std::move(f));
    return ref;
}

metrics_registry::series& metrics_registry::series_for(family& f, labels l) {
    labels sorted = l;
    std::sort(sorted.begin(), sorted.end());
    for (auto& s : f.members) {
        if (s->sorted == sorted) return *s;
    }
    for (size_t i = 0; i < sorted.size(); ++i) {
        const auto& k = sorted[i].first;
        if (!valid_name(k, false) || k.starts_with("__")) {
            throw std::logic_error(fmt::format("bad label name {} on {}", k, f.name));
        }
        if (i > 0 && sorted[i - 1].first == k) {
            throw std::logic_error(fmt::format("label {} twice on {}", k, f.name));
        }
        if (f.type == kind::histogram && k == "le") {
            throw std::logic_error(fmt::format("label le is reserved on histogram {}", f.name));
        }
    }
    auto s = std::make_unique<series>();
    s->l = std::move(l);
    s->sorted = std::move(sorted);
    series& ref = *s;
    f.members.push_back(std::move(s));
    return ref;
}

counter& metrics_registry::counter(std::string_view name, std::string_view help, labels l) {
    series& s = series_for(family_for(name, help, kind::counter), std::move(l));
    if (!s.c) s.c = std::make_unique<common::counter>();
    return *s.c;
}

gauge& metrics_registry::gauge(std::string_view name, std::string_view help, labels l) {
    series& s = series_for(family_for(name, help, kind::gauge), std::move(l));
    if (!s.g) s.g = std::make_unique<common::gauge>();
    return *s.g;
}

histogram& metrics_registry::histogram(std::string_view name, std::string_view help,
                                       std::vector<double> buckets, labels l) {
    for (size_t i = 0; i < buckets.size(); ++i) {
        if (!std::isfinite(buckets[i]) || (i > 0 && !(buckets[i - 1] < buckets[i]))) {
            throw std::logic_error(
                fmt::format("histogram {} buckets must be finite and increasing", name));
        }
    }
    const bool is_new = by_name_.find(std::string(name)) == by_name_.end();
    family& f = family_for(name, help, kind::histogram);
    if (is_new) {
        f.buckets = buckets;
    } else if (f.buckets != buckets) {
        throw std::logic_error(fmt::format("histogram {} registered with other buckets", name));
    }
    series& s = series_for(f, std::move(l));
    if (!s.h) s.h = std::make_unique<common::histogram>(std::move(buckets));
    return *s.h;
}

std::string metrics_registry::render() const {
    std::string out;
    for (const auto& f : families_) {
        out += "# HELP ";
        out += f->name;
        out += ' ';
        out += escape_help(f->help);
        out += "\n# TYPE ";
        out += f->name;
        switch (f->type) {
            case kind::counter:
                out += " counter\n";
                break;
            case kind::gauge:
                out += " gauge\n";
                break;
            case kind::histogram:
                out += " histogram\n";
                break;
        }
        for (const auto& s : f->members) {
            switch (f->type) {
                case kind::counter:
                    append_sample(out, f->name, "", s->l, format_metric_value(s->c->value()));
                    break;
                case kind::gauge:
                    append_sample(out, f->name, "", s->l, format_metric_value(s->g->value()));
                    break;
                case kind::histogram: {
                    const auto cum = s->h->cumulative_counts();
                    const auto& bounds = s->h->upper_bounds();
                    // Counts are integers; printing them through double would lose digits.
                    for (size_t i = 0; i < bounds.size(); ++i) {
                        append_sample(out, f->name, "_bucket", s->l, fmt::format("{}", cum[i]),
                                      format_metric_value(bounds[i]));
                    }
                    const std::string count = fmt::format("{}", s->h->count());
                    append_sample(out, f->name, "_bucket", s->l, count, "+Inf");
                    append_sample(out, f->name, "_sum", s->l, format_metric_value(s->h->sum()));
                    append_sample(out, f->name, "_count", s->l, count);
                    break;
                }
            }
        }
    }
    return out;
}

}  // namespace llorch::common
