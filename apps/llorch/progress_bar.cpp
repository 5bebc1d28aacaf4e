#include "progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

namespace llorch::cli {

progress_bar::progress_bar(std::ostream& out, std::string title, bool enabled)
    : out_(out), title_(std::move(title)), enabled_(enabled), tty_(::isatty(STDERR_FILENO) == 1) {}

void progress_bar::show(double fraction, const std::string& label, double seconds) {
    if (!enabled_) return;
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f s", seconds);
    if (!tty_) {
        if (label != last_label_) out_ << title_ << ": " << label << " (" << secs << ")\n";
        last_label_ = label;
        return;
    }
    constexpr int width = 30;
    int filled = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * width);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.append(static_cast<size_t>(width - filled), '-');
    out_ << "\r\x1b[2K" << title_ << " [" << bar << "] " << label << "  " << secs << std::flush;
}

void progress_bar::finish(bool ok, const std::string& label, double seconds) {
    if (!enabled_) return;
    show(ok ? 1.0 : 0.0, label, seconds);
    if (tty_) out_ << "\n";
    out_.flush();
}

std::string human_bytes(double n) {
    if (n >= double(1ull << 30)) return fmt::format("{:.2f} GiB", n / double(1ull << 30));
    if (n >= double(1ull << 20)) return fmt::format("{:.1f} MiB", n / double(1ull << 20));
    if (n >= 1024) return fmt::format("{:.1f} KiB", n / 1024);
    return fmt::format("{:.0f} B", n);
}

}  // namespace llorch::cli
