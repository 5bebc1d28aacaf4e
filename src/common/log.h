#pragma once
// Logging set-up shared by every binary: one named spdlog logger per module, written to stderr
// as JSON lines (production) or as readable text (a terminal).

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace llorch::common {

enum class log_format { text, json };

// Configures the default sink once per process; safe to call again (the last call wins).
void init_logging(log_format format, const std::string& level);

// The logger of one module ("pool", "http", ...), created on first use with the shared sink.
std::shared_ptr<spdlog::logger> logger(const std::string& module);

}  // namespace llorch::common
