#include "sim/latency_model.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace llorch::sim {
namespace {

std::string format_duration(std::chrono::microseconds d) {
    const auto us = d.count();
    if (us % 1000 == 0) return fmt::format("{}ms", us / 1000);
    return fmt::format("{}us", us);
}

}  // namespace

double unit_interval(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

sim_result<std::chrono::microseconds> parse_duration(std::string_view text) {
    double scale = 1000;  // bare numbers are milliseconds
    std::string_view num = text;
    if (text.ends_with("us")) {
        scale = 1;
        num.remove_suffix(2);
    } else if (text.ends_with("ms")) {
        num.remove_suffix(2);
    } else if (text.ends_with("s")) {
        scale = 1'000'000;
        num.remove_suffix(1);
    }
    double v = 0;
    auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
    if (num.empty() || ec != std::errc() || end != num.data() + num.size()) {
        return sim_error{sim_errc::bad_duration,
                         fmt::format("'{}' is not a duration (e.g. 250us, 20ms, 1.5s)", text)};
    }
    if (!(v >= 0) || v * scale > 86'400e6) {
        return sim_error{sim_errc::bad_duration,
                         fmt::format("'{}' is out of range (0 to 24h)", text)};
    }
    return std::chrono::microseconds(static_cast<long long>(std::llround(v * scale)));
}

latency_model latency_model::fixed(duration d) {
    latency_model m;
    m.kind_ = kind::fixed;
    m.a_ = d;
    return m;
}

latency_model latency_model::uniform(duration min, duration max) {
    latency_model m;
    m.kind_ = kind::uniform;
    m.a_ = min;
    m.b_ = max;
    return m;
}

latency_model latency_model::exponential(duration mean) {
    latency_model m;
    m.kind_ = kind::exponential;
    m.a_ = mean;
    return m;
}

sim_result<latency_model> latency_model::parse(std::string_view spec) {
    auto colon = spec.find(':');
    std::string_view name = colon == std::string_view::npos ? "fixed" : spec.substr(0, colon);
    std::string_view rest = colon == std::string_view::npos ? spec : spec.substr(colon + 1);
    if (name == "fixed") {
        auto d = parse_duration(rest);
        if (!d) return d.error();
        return fixed(*d);
    }
    if (name == "exp" || name == "exponential") {
        auto d = parse_duration(rest);
        if (!d) return d.error();
        return exponential(*d);
    }
    if (name == "uniform") {
        auto dots = rest.find("..");
        if (dots == std::string_view::npos) {
            return sim_error{
                sim_errc::bad_latency_spec,
                fmt::format("'{}': uniform needs MIN..MAX, e.g. uniform:10ms..30ms", spec)};
        }
        auto lo = parse_duration(rest.substr(0, dots));
        if (!lo) return lo.error();
        auto hi = parse_duration(rest.substr(dots + 2));
        if (!hi) return hi.error();
        if (*hi < *lo)
            return sim_error{sim_errc::bad_latency_spec,
                             fmt::format("'{}': MIN is above MAX", spec)};
        return uniform(*lo, *hi);
    }
    return sim_error{
        sim_errc::bad_latency_spec,
        fmt::format("'{}': unknown distribution '{}' (fixed, uniform, exp)", spec, name)};
}

latency_model::duration latency_model::sample(std::mt19937_64& rng) const {
    switch (kind_) {
        case kind::fixed:
            return a_;
        case kind::uniform: {
            const double span = static_cast<double>((b_ - a_).count());
            return a_ +
                   duration(static_cast<long long>(std::floor(unit_interval(rng) * (span + 1))));
        }
        case kind::exponential: {
            const double mean = static_cast<double>(a_.count());
            const double draw = -mean * std::log1p(-unit_interval(rng));
            return duration(static_cast<long long>(std::min(draw, mean * cap_factor)));
        }
    }
    return a_;
}

latency_model::duration latency_model::max() const {
    switch (kind_) {
        case kind::fixed:
            return a_;
        case kind::uniform:
            return b_;
        case kind::exponential:
            return a_ * cap_factor;
    }
    return a_;
}

latency_model::duration latency_model::mean() const {
    return kind_ == kind::uniform ? (a_ + b_) / 2 : a_;
}

std::string latency_model::describe() const {
    switch (kind_) {
        case kind::fixed:
            return format_duration(a_);
        case kind::uniform:
            return fmt::format("uniform:{}..{}", format_duration(a_), format_duration(b_));
        case kind::exponential:
            return fmt::format("exp:{}", format_duration(a_));
    }
    return {};
}

}  // namespace llorch::sim
