#include "pool/handoff.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>
#include <boost/json.hpp>

namespace llorch::pool {
namespace {

namespace json = boost::json;

constexpr std::size_t max_pool_id_length = 64;
// Handoff files are a few hundred bytes; anything much larger is not one.
constexpr std::uintmax_t max_file_size = 64 * 1024;

pool_error malformed(std::string message) {
    return {pool_errc::handoff_malformed, std::move(message)};
}

std::string_view kind_name(const json::value& v) {
    switch (v.kind()) {
        case json::kind::null:
            return "null";
        case json::kind::bool_:
            return "a boolean";
        case json::kind::int64:
        case json::kind::uint64:
            return "an integer";
        case json::kind::double_:
            return "a number";
        case json::kind::string:
            return "a string";
        case json::kind::array:
            return "an array";
        case json::kind::object:
            return "an object";
    }
    return "a value";
}

bool iequals_prefix(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i]) return false;
    }
    return true;
}

bool all_digits(std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// Why `url` is not an engine endpoint, or nullopt when it is one.
std::optional<std::string> endpoint_problem(std::string_view url) {
    for (const char c : url) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
            return "must not contain spaces or control characters";
        }
    }
    std::string_view rest;
    if (iequals_prefix(url, "http://")) {
        rest = url.substr(7);
    } else if (iequals_prefix(url, "https://")) {
        rest = url.substr(8);
    } else {
        return "must be an http:// or https:// URL";
    }
    const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    if (authority.empty()) return "has no host";
    // Credentials never belong in a handoff file; api_key_env names where the key lives.
    if (authority.find('@') != std::string_view::npos) return "must not contain user info";
    std::string_view host = authority;
    std::string_view port;
    if (authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return "has an unterminated IPv6 address";
        host = authority.substr(1, close - 1);
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return "has characters after the IPv6 address";
            port = after.substr(1);
            if (port.empty()) return "has an empty port";
        }
        if (host.empty() ||
            host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) {
            return "has a malformed IPv6 address";
        }
    } else {
        const auto colon = authority.rfind(':');
        if (colon != std::string_view::npos) {
            host = authority.substr(0, colon);
            port = authority.substr(colon + 1);
            if (port.empty()) return "has an empty port";
        }
        if (host.empty()) return "has no host";
        for (const char c : host) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
            if (!ok) return "has a malformed host";
        }
    }
    if (!port.empty()) {
        if (!all_digits(port) || port.size() > 5) return "has a malformed port";
        const int n = std::stoi(std::string(port));
        if (n < 1 || n > 65535) return "has a port outside 1-65535";
    }
    return std::nullopt;
}

bool valid_env_name(std::string_view name) {
    if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
    for (const char c : name) {
        const bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok) return false;
    }
    return true;
}

// The first present and non-null key of `names`; the key name is returned for messages.
const json::value* find_any(const json::object& o, std::initializer_list<std::string_view> names,
                            std::string_view& found) {
    for (const auto name : names) {
        if (const auto* v = o.if_contains(name); v != nullptr && !v->is_null()) {
            found = name;
            return v;
        }
    }
    return nullptr;
}

std::optional<std::int64_t> as_integer(const json::value& v) {
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64() &&
        v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return static_cast<std::int64_t>(v.get_uint64());
    }
    return std::nullopt;
}

// Reads an optional string key (or one of its spellings) into `out`; numbers are accepted where
// `allow_number` (device "0", replica 0).
std::optional<std::string> read_string(const json::object& o,
                                       std::initializer_list<std::string_view> names,
                                       std::string& out, bool allow_number = false) {
    std::string_view key;
    const json::value* v = find_any(o, names, key);
    if (v == nullptr) return std::nullopt;
    if (v->is_string()) {
        out = std::string(v->get_string());
        return std::nullopt;
    }
    if (allow_number) {
        if (const auto n = as_integer(*v)) {
            out = std::to_string(*n);
            return std::nullopt;
        }
    }
    return fmt::format("{}: must be a string{} (got {})", key, allow_number ? " or an integer" : "",
                       kind_name(*v));
}

std::string errno_text(int err) { return std::strerror(err); }

std::string utc_now_rfc3339() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf, n);
}

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

std::string unique_suffix() {
    static std::atomic<unsigned long> counter{0};
    const auto ticks = std::chrono::steady_clock::now().time_since_epoch().count();
    return fmt::format("{}.{}.{:x}", ::getpid(), counter.fetch_add(1), ticks);
}

}  // namespace

bool valid_handoff_pool_id(std::string_view pool_id) {
    // A leading '.' would make the file look like a temporary one, which watchers skip.
    if (pool_id.empty() || pool_id.size() > max_pool_id_length || pool_id.front() == '.') {
        return false;
    }
    for (const char c : pool_id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

std::string to_json(const handoff& h) {
    json::object o;
    o["pool_id"] = h.pool_id;
    o["engine"] = h.engine;
    o["endpoint"] = h.endpoint;
    o["gpu_device"] = h.gpu_device;
    o["slots"] = h.slots;
    o["ready"] = h.ready;
    if (!h.model.empty()) o["model"] = h.model;
    if (!h.model_path.empty()) o["model_path"] = h.model_path;
    if (h.pid) o["pid"] = *h.pid;
    if (!h.engine_version.empty()) o["engine_version"] = h.engine_version;
    if (!h.replica_id.empty()) o["replica_id"] = h.replica_id;
    if (!h.written_at.empty()) o["written_at"] = h.written_at;
    if (!h.api_key_env.empty()) o["api_key_env"] = h.api_key_env;
    std::string out = json::serialize(o);
    out.push_back('\n');
    return out;
}

pool_result<handoff> parse_handoff(std::string_view text) {
    json::error_code ec;
    json::value root = json::parse(json::string_view(text.data(), text.size()), ec);
    if (ec) return malformed(fmt::format("invalid JSON: {}", ec.message()));
    if (!root.is_object()) {
        return malformed(fmt::format("handoff must be a JSON object (got {})", kind_name(root)));
    }
    const json::object& o = root.get_object();
    handoff h;
    std::string_view key;

    const json::value* v = find_any(o, {"pool_id"}, key);
    if (v == nullptr) return malformed("pool_id: required");
    if (!v->is_string()) {
        return malformed(fmt::format("pool_id: must be a string (got {})", kind_name(*v)));
    }
    h.pool_id = std::string(v->get_string());
    if (!valid_handoff_pool_id(h.pool_id)) {
        return malformed(fmt::format(
            "pool_id: must be 1-64 of [A-Za-z0-9._-], not starting with '.' (got \"{}\")",
            h.pool_id));
    }

    v = find_any(o, {"endpoint", "url", "http_endpoint"}, key);
    if (v == nullptr) return malformed("endpoint: required (also read as url)");
    if (!v->is_string()) {
        return malformed(fmt::format("{}: must be a string (got {})", key, kind_name(*v)));
    }
    h.endpoint = std::string(v->get_string());
    if (const auto problem = endpoint_problem(h.endpoint)) {
        return malformed(fmt::format("{}: {} (got \"{}\")", key, *problem, h.endpoint));
    }

    v = find_any(o, {"slots"}, key);
    if (v == nullptr) {
        h.slots = 1;
    } else {
        const auto n = as_integer(*v);
        if (!n) return malformed(fmt::format("slots: must be an integer (got {})", kind_name(*v)));
        if (*n < 1 || *n > std::numeric_limits<int>::max()) {
            return malformed(fmt::format("slots: must be at least 1 (got {})", *n));
        }
        h.slots = static_cast<int>(*n);
    }

    v = find_any(o, {"ready"}, key);
    if (v == nullptr) {
        h.ready = true;
    } else if (v->is_bool()) {
        h.ready = v->get_bool();
    } else {
        return malformed(fmt::format("ready: must be true or false (got {})", kind_name(*v)));
    }

    if (auto e = read_string(o, {"engine"}, h.engine)) return malformed(std::move(*e));
    if (auto e = read_string(o, {"gpu_device", "device", "device_mask"}, h.gpu_device, true)) {
        return malformed(std::move(*e));
    }
    if (auto e = read_string(o, {"model_path"}, h.model_path)) return malformed(std::move(*e));
    v = find_any(o, {"model"}, key);
    if (v != nullptr && v->is_object()) {
        // The original wrote `"model": {"path": "..."}`.
        const json::object& m = v->get_object();
        std::string path;
        if (auto e = read_string(m, {"path"}, path)) return malformed("model." + std::move(*e));
        if (h.model_path.empty()) h.model_path = std::move(path);
        if (auto e = read_string(m, {"name", "id"}, h.model))
            return malformed("model." + std::move(*e));
    } else if (auto e = read_string(o, {"model"}, h.model)) {
        return malformed(
            fmt::format("model: must be a string or an object (got {})", kind_name(*v)));
    }
    v = find_any(o, {"pid"}, key);
    if (v != nullptr) {
        const auto n = as_integer(*v);
        if (!n) return malformed(fmt::format("pid: must be an integer (got {})", kind_name(*v)));
        if (*n < 1 || *n > std::numeric_limits<int>::max()) {
            return malformed(fmt::format("pid: must be a positive process id (got {})", *n));
        }
        h.pid = static_cast<int>(*n);
    }
    if (auto e = read_string(o, {"engine_version"}, h.engine_version))
        return malformed(std::move(*e));
    if (auto e = read_string(o, {"replica_id"}, h.replica_id, true))
        return malformed(std::move(*e));
    if (auto e = read_string(o, {"written_at"}, h.written_at)) return malformed(std::move(*e));
    if (auto e = read_string(o, {"api_key_env"}, h.api_key_env)) return malformed(std::move(*e));
    if (!h.api_key_env.empty() && !valid_env_name(h.api_key_env)) {
        // The value is not echoed: if it is a key after all, it stays out of logs.
        return malformed(
            "api_key_env: must name an environment variable ([A-Za-z_][A-Za-z0-9_]*), never "
            "hold the key");
    }
    return h;
}

pool_result<handoff> read_handoff_file(const std::filesystem::path& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec)
        return pool_error{pool_errc::io_error, fmt::format("{}: {}", path.string(), ec.message())};
    if (size > max_file_size) {
        return malformed(
            fmt::format("{}: too large for a handoff file ({} bytes)", path.string(), size));
    }
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return pool_error{pool_errc::io_error,
                          fmt::format("{}: cannot open: {}", path.string(), errno_text(errno))};
    std::ostringstream buf;
    buf << in.rdbuf();
    auto parsed = parse_handoff(buf.str());
    if (!parsed)
        return pool_error{parsed.error().code,
                          fmt::format("{}: {}", path.string(), parsed.error().message)};
    return parsed;
}

std::filesystem::path handoff_path(const std::filesystem::path& dir, std::string_view pool_id) {
    return dir / (std::string(pool_id) + ".json");
}

pool_result<void> write_handoff_atomic(const std::filesystem::path& dir, const handoff& h) {
    handoff stamped = h;
    if (stamped.written_at.empty()) stamped.written_at = utc_now_rfc3339();
    const std::string text = to_json(stamped);
    // Never publish a file this project's own reader would refuse.
    if (auto check = parse_handoff(text); !check) {
        return malformed(fmt::format("refusing to write handoff: {}", check.error().message));
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
        return pool_error{pool_errc::io_error, fmt::format("{}: cannot create directory: {}",
                                                           dir.string(), ec.message())};

    const std::filesystem::path target = handoff_path(dir, stamped.pool_id);
    std::filesystem::path tmp;
    int fd = -1;
    for (int attempt = 0; attempt < 8 && fd < 0; ++attempt) {
        tmp = dir / fmt::format(".{}.json.{}.tmp", stamped.pool_id, unique_suffix());
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        return pool_error{pool_errc::io_error, fmt::format("{}: cannot create temporary file: {}",
                                                           tmp.string(), errno_text(errno))};
    }
    auto abandon = [&](std::string what) -> pool_result<void> {
        const int err = errno;
        if (fd >= 0) ::close(fd);
        ::unlink(tmp.c_str());
        return pool_error{pool_errc::io_error,
                          fmt::format("{}: {}: {}", target.string(), what, errno_text(err))};
    };
    if (!write_all(fd, text)) return abandon("write failed");
    // Data must be on disk before the rename makes it visible, or a crash can publish an
    // empty file under the final name.
    if (::fsync(fd) != 0) return abandon("fsync failed");
    const int closed = ::close(fd);
    fd = -1;
    if (closed != 0) return abandon("close failed");
    if (::rename(tmp.c_str(), target.c_str()) != 0) return abandon("rename failed");
    // The rename itself is durable only once the directory is synced; failing that is not worth
    // failing the write for, readers already see the new file.
    if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return {};
}

pool_result<void> remove_handoff(const std::filesystem::path& dir, std::string_view pool_id) {
    if (!valid_handoff_pool_id(pool_id)) {
        return pool_error{pool_errc::bad_pool_id,
                          fmt::format("pool_id: not a handoff file name (got \"{}\")", pool_id)};
    }
    const auto path = handoff_path(dir, pool_id);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return pool_error{pool_errc::io_error,
                          fmt::format("{}: cannot remove: {}", path.string(), errno_text(errno))};
    }
    return {};
}

}  // namespace llorch::pool
