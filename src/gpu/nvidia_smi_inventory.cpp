#include "gpu/nvidia_smi_inventory.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <system_error>

namespace llorch::gpu {
namespace {

constexpr uint64_t mib = 1024 * 1024;
constexpr std::size_t expected_fields = 8;

std::string_view trim(std::string_view s) {
    constexpr std::string_view space = " \t\r\n";
    const auto first = s.find_first_not_of(space);
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(space);
    return s.substr(first, last - first + 1);
}

// nvidia-smi writes "[N/A]" or "[Not Supported]" where a board does not report a value.
bool is_unknown(std::string_view field) {
    return field.empty() || field == "N/A" || (field.front() == '[' && field.back() == ']');
}

std::string quoted_excerpt(std::string_view line) {
    constexpr std::size_t max_len = 80;
    std::string out = "\"";
    out += line.substr(0, max_len);
    if (line.size() > max_len) out += "...";
    out += "\"";
    return out;
}

template <typename Int>
bool parse_int(std::string_view s, Int& out) {
    const auto* end = s.data() + s.size();
    const auto [ptr, ec] = std::from_chars(s.data(), end, out);
    return ec == std::errc{} && ptr == end;
}

// Returns an error message, or empty on success.
std::string parse_memory(std::string_view field, uint64_t& bytes) {
    if (is_unknown(field)) {
        bytes = 0;
        return {};
    }
    uint64_t value = 0;
    if (!parse_int(field, value)) return "memory is not a whole number of MiB";
    if (value > std::numeric_limits<uint64_t>::max() / mib) return "memory out of range";
    bytes = value * mib;
    return {};
}

std::string known_or_empty(std::string_view field) {
    return is_unknown(field) ? std::string{} : std::string{field};
}

// Parses one non-blank line; returns an error message, or empty on success.
std::string parse_line(std::string_view line, gpu_info& gpu) {
    std::vector<std::string_view> fields;
    std::size_t start = 0;
    while (true) {
        const auto comma = line.find(',', start);
        fields.push_back(trim(line.substr(start, comma - start)));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    if (fields.size() != expected_fields) {
        return "expected " + std::to_string(expected_fields) + " fields, got " +
               std::to_string(fields.size());
    }
    if (!parse_int(fields[0], gpu.index) || gpu.index < 0) return "index is not a number";
    gpu.uuid = known_or_empty(fields[1]);
    gpu.name = known_or_empty(fields[2]);
    for (auto [field, target] : {std::pair{fields[3], &gpu.memory_total_bytes},
                                 std::pair{fields[4], &gpu.memory_used_bytes},
                                 std::pair{fields[5], &gpu.memory_free_bytes}}) {
        if (auto error = parse_memory(field, *target); !error.empty()) return error;
    }
    gpu.compute_capability = known_or_empty(fields[6]);
    gpu.driver_version = known_or_empty(fields[7]);
    return {};
}

bool on_path(std::string_view program) {
    const char* path = std::getenv("PATH");
    if (path == nullptr) return false;
    std::string_view rest = path;
    while (!rest.empty()) {
        const auto colon = rest.find(':');
        const auto dir = rest.substr(0, colon);
        const auto candidate = std::filesystem::path(dir.empty() ? "." : dir) / program;
        if (::access(candidate.c_str(), X_OK) == 0) return true;
        if (colon == std::string_view::npos) break;
        rest.remove_prefix(colon + 1);
    }
    return false;
}

std::string default_command() {
    return "nvidia-smi --query-gpu=" + std::string(nvidia_smi_query_fields) +
           " --format=csv,noheader,nounits";
}

std::string first_line(std::string_view text) {
    const auto trimmed = trim(text);
    return std::string(trim(trimmed.substr(0, trimmed.find('\n'))));
}

}  // namespace

nvidia_smi_parse_result parse_nvidia_smi_csv(std::string_view text) {
    nvidia_smi_parse_result result;
    int line_no = 0;
    while (!text.empty()) {
        ++line_no;
        const auto newline = text.find('\n');
        const auto raw = text.substr(0, newline);
        text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
        const auto line = trim(raw);
        if (line.empty()) continue;
        gpu_info gpu;
        if (auto error = parse_line(line, gpu); !error.empty()) {
            result.errors.push_back("line " + std::to_string(line_no) + ": " + error + ": " +
                                    quoted_excerpt(line));
            continue;
        }
        result.gpus.push_back(std::move(gpu));
    }
    return result;
}

nvidia_smi_inventory::nvidia_smi_inventory() : command_(default_command()) {}

nvidia_smi_inventory::nvidia_smi_inventory(std::string command) : command_(std::move(command)) {}

discovery_result nvidia_smi_inventory::discover() {
    discovery_result result;
    // Checked first so that a CPU-only machine does not fork a shell on every refresh.
    if (command_ == default_command() && !on_path("nvidia-smi")) {
        result.reason = "nvidia-smi not on PATH";
        return result;
    }
    // stderr is dropped: the daemon's own stderr carries its log lines.
    const std::string shell_command = command_ + " 2>/dev/null";
    FILE* pipe = ::popen(shell_command.c_str(), "re");
    if (pipe == nullptr) {
        result.reason = "could not run nvidia-smi: " + std::generic_category().message(errno);
        return result;
    }
    std::string output;
    std::array<char, 4096> buffer;
    while (const auto n = std::fread(buffer.data(), 1, buffer.size(), pipe)) {
        output.append(buffer.data(), n);
    }
    const int status = ::pclose(pipe);
    // -1 (the child was reaped by someone else) leaves the exit status unknown; trust the
    // output then.
    if (status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
            result.reason = "nvidia-smi not on PATH";
        } else {
            const auto line = first_line(output);
            result.reason = "nvidia-smi failed (" +
                            (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                               : std::string("killed by a signal")) +
                            ")" + (line.empty() ? "" : ": " + line);
        }
        return result;
    }
    auto parsed = parse_nvidia_smi_csv(output);
    result.warnings = std::move(parsed.errors);
    result.gpus = std::move(parsed.gpus);
    if (result.gpus.empty() && !result.warnings.empty()) {
        result.reason = "nvidia-smi output not understood: " + result.warnings.front();
        return result;
    }
    result.source = gpu_source::nvidia_smi;
    if (result.gpus.empty()) result.reason = "nvidia-smi reports no GPU";
    return result;
}

}  // namespace llorch::gpu
