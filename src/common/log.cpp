#include "common/log.h"

#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace llorch::common {
namespace {
std::mutex mu;
log_format current_format = log_format::text;
spdlog::level::level_enum current_level = spdlog::level::info;

void apply(spdlog::logger& l) {
    if (current_format == log_format::json) {
        // The message itself carries `key=value` subject fields; the envelope stays valid JSON.
        l.set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%e","level":"%l","module":"%n","msg":"%v"})");
    } else {
        l.set_pattern("%H:%M:%S.%e %^%-5l%$ %n: %v");
    }
    l.set_level(current_level);
}
}  // namespace

void init_logging(log_format format, const std::string& level) {
    std::lock_guard lock(mu);
    current_format = format;
    current_level = spdlog::level::from_str(level);
    spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { apply(*l); });
}

std::shared_ptr<spdlog::logger> logger(const std::string& module) {
    std::lock_guard lock(mu);
    if (auto existing = spdlog::get(module)) return existing;
    auto l = spdlog::stderr_color_mt(module);
    apply(*l);
    return l;
}

}  // namespace llorch::common
