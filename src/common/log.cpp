#include "common/log.h"

#include <mutex>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace llorch::common {
namespace {
std::mutex mu;
log_format current_format = log_format::text;
spdlog::level::level_enum current_level = spdlog::level::info;

// %* : the message, escaped for a JSON string, so every line stays valid JSON whatever it says.
class json_message_flag final : public spdlog::custom_flag_formatter {
  public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        static constexpr char hex[] = "0123456789abcdef";
        for (char ch : std::string_view(msg.payload.data(), msg.payload.size())) {
            auto c = static_cast<unsigned char>(ch);
            if (c == '"' || c == '\\') {
                dest.push_back('\\');
                dest.push_back(ch);
            } else if (c < 0x20) {
                const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                dest.append(esc, esc + 6);
            } else {
                dest.push_back(ch);
            }
        }
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<json_message_flag>();
    }
};

void apply(spdlog::logger& l) {
    if (current_format == log_format::json) {
        // The message carries `key=value` subject fields (task_id=…, pool_id=…).
        auto f = std::make_unique<spdlog::pattern_formatter>();
        f->add_flag<json_message_flag>('*').set_pattern(
            R"({"ts":"%Y-%m-%dT%H:%M:%S.%e","level":"%l","module":"%n","msg":"%*"})");
        l.set_formatter(std::move(f));
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
