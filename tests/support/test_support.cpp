#include "support/test_support.h"

#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/paths.h"

namespace llorch::test {
namespace fs = std::filesystem;

uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

fs::path bin_dir() {
    const char* v = std::getenv("LLORCH_BIN_DIR");
    return v ? fs::path(v) : fs::current_path() / "bin";
}

fs::path engine_or_skip() {
    auto e = common::find_engine();
    if (!e) throw std::runtime_error("llama-server is not built: run `make test` (it builds it)");
    return *e;
}

fs::path tiny_model() {
    static std::mutex mu;
    std::lock_guard lock(mu);
    auto p = common::default_tiny_model_path();
    if (fs::exists(p)) return p;
    auto cmd = (bin_dir() / "llorch").string() + " model make-tiny > /dev/null";
    if (std::system(cmd.c_str()) != 0 || !fs::exists(p))
        throw std::runtime_error("could not generate the tiny model with: " + cmd);
    return p;
}

namespace {
// The scratch folders this test process made: removed when it exits with every test passed (kept
// for a look when one failed, or with LLORCH_KEEP_TEST_DIRS set).
struct scratch_dirs {
    std::mutex mu;
    std::vector<fs::path> dirs;
    ~scratch_dirs() {
        if (std::getenv("LLORCH_KEEP_TEST_DIRS") || !::testing::UnitTest::GetInstance()->Passed())
            return;
        std::error_code ec;
        for (const auto& d : dirs) fs::remove_all(d, ec);
    }
};
scratch_dirs& scratch() {
    static scratch_dirs s;
    return s;
}
}  // namespace

fs::path temp_dir(const std::string& name) {
    auto base = fs::temp_directory_path() /
                ("llorch-test-" + name + "-" + std::to_string(::getpid()) + "-" +
                 std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(base);
    auto& s = scratch();
    std::lock_guard lock(s.mu);
    s.dirs.push_back(base);
    return base;
}

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds deadline) {
    auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
        if (cond()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return cond();
}

http::client_response http_call(const std::string& method, const std::string& url,
                                const std::string& body,
                                const std::vector<std::pair<std::string, std::string>>& headers,
                                std::chrono::milliseconds timeout) {
    asio::io_context io;
    http::client c(io);
    http::client_request r;
    r.method = method;
    r.url = url;
    r.body = body;
    r.timeout = timeout;
    for (const auto& [k, v] : headers) r.headers.add(k, v);
    auto res = run(io, c.send(std::move(r)), timeout + 5s);
    if (!res) {
        http::client_response out;
        out.status = 0;
        out.body = res.error().message;
        return out;
    }
    return std::move(*res);
}

namespace {
asio::awaitable<sse_result> sse_coro(http::client& c, http::client_request r,
                                     std::function<bool(const http::sse_event&)> on_event,
                                     std::chrono::milliseconds timeout) {
    sse_result out;
    auto st = co_await c.open(std::move(r));
    if (!st) {
        out.error = st.error().message;
        co_return out;
    }
    out.status = (*st)->status();
    http::sse_parser parser;
    std::vector<http::sse_event> batch;
    for (;;) {
        auto piece = co_await (*st)->read_some(timeout);
        if (!piece) {
            out.error = piece.error().message;
            break;
        }
        if (piece->empty()) break;
        if (out.status != 200) {
            out.raw += *piece;
            continue;
        }
        batch.clear();
        parser.feed(*piece, batch);
        // A chunk may carry several events: the first one the caller declines is the last it
        // sees, as if the stream had been cut right there.
        bool stop = false;
        for (auto& e : batch) {
            out.events.push_back(e);
            if (on_event && !on_event(e)) {
                stop = true;
                break;
            }
        }
        if (stop) break;
    }
    co_return out;
}
}  // namespace

sse_result sse_call(const std::string& method, const std::string& url, const std::string& body,
                    const std::vector<std::pair<std::string, std::string>>& headers,
                    const std::function<bool(const http::sse_event&)>& on_event,
                    std::chrono::milliseconds timeout) {
    asio::io_context io;
    http::client c(io);
    http::client_request r;
    r.method = method;
    r.url = url;
    r.body = body;
    r.timeout = timeout;
    r.headers.add("Accept", "text/event-stream");
    for (const auto& [k, v] : headers) r.headers.add(k, v);
    return run(io, sse_coro(c, std::move(r), on_event, timeout), timeout + 5s);
}

bool wait_http_ok(const std::string& url, std::chrono::milliseconds deadline) {
    return wait_until([&] { return http_call("GET", url, {}, {}, 2s).status == 200; }, deadline);
}

fs::path program_on_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::string_view rest = path ? path : "/usr/local/bin:/usr/bin:/bin";
    while (!rest.empty()) {
        auto colon = rest.find(':');
        auto candidate = fs::path(std::string(rest.substr(0, colon))) / name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        if (colon == std::string_view::npos) break;
        rest.remove_prefix(colon + 1);
    }
    return {};
}

common::subprocess start_process(const std::vector<std::string>& argv, const fs::path& log,
                                 const std::vector<std::pair<std::string, std::string>>& env) {
    common::spawn_options o;
    o.argv = argv;
    o.log_file = log;
    // On a machine of two cores or fewer the daemons serve connections on their control thread
    // only (http::default_io_threads). The tests run them with two io threads wherever they
    // run, so that the hand-offs between threads (control_stream, posted disconnects) stay
    // under test; a test's own setting wins.
    o.env = env;
    for (const char* k : {"ORCHESTRATORD_IO_THREADS", "POOL_MANAGERD_IO_THREADS"})
        if (std::none_of(env.begin(), env.end(), [&](const auto& kv) { return kv.first == k; }))
            o.env.emplace_back(k, "2");
    auto p = common::subprocess::spawn(o);
    if (!p) throw std::runtime_error(p.error().message);
    return std::move(*p);
}

uint16_t listening_port(common::subprocess& p, const fs::path& log, const std::string& daemon,
                        std::chrono::milliseconds deadline) {
    const std::string mark = daemon + " listening on ";
    uint16_t port = 0;
    wait_until(
        [&] {
            auto text = read_file(log);
            auto at = text.find(mark);
            if (at != std::string::npos) {
                auto end = text.find('\n', at);
                if (end != std::string::npos) {
                    auto line = text.substr(at + mark.size(), end - at - mark.size());
                    auto colon = line.rfind(':');
                    if (colon != std::string::npos)
                        port = static_cast<uint16_t>(std::atoi(line.c_str() + colon + 1));
                    return true;
                }
            }
            return !p.running();
        },
        deadline);
    return port;
}

std::string read_file(const fs::path& p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

boost::json::value parse_json(const std::string& s) {
    boost::system::error_code ec;
    auto v = boost::json::parse(s, ec);
    if (ec) throw std::runtime_error("not JSON: " + s.substr(0, 200));
    return v;
}

const header_pairs no_tokens{{"LLORCH_API_TOKEN", ""}, {"LLORCH_SERVICE_TOKEN", ""}};

long long ms_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 t)
        .count();
}

bool process_alive(long pid) {
    if (pid <= 0 || ::kill(static_cast<pid_t>(pid), 0) != 0) return false;
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    std::getline(f, stat);
    auto paren = stat.rfind(')');
    return !(paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z');
}

std::vector<long> engines_on(const std::filesystem::path& model) {
    std::vector<long> out;
    std::unique_ptr<DIR, int (*)(DIR*)> proc(opendir("/proc"), closedir);
    if (!proc) return out;
    while (auto* e = readdir(proc.get())) {
        char* end = nullptr;
        long pid = std::strtol(e->d_name, &end, 10);
        if (pid <= 0 || *end != '\0') continue;
        auto cmd = read_file(std::filesystem::path("/proc") / e->d_name / "cmdline");
        std::replace(cmd.begin(), cmd.end(), '\0', ' ');
        if (cmd.find(model.string()) != std::string::npos &&
            cmd.find("llama-server") != std::string::npos && process_alive(pid))
            out.push_back(pid);
    }
    return out;
}

boost::json::object object_of(const std::string& data) {
    boost::system::error_code ec;
    auto v = boost::json::parse(data, ec);
    return !ec && v.is_object() ? v.as_object() : boost::json::object{};
}

std::string str_of(const boost::json::object& o, const char* key) {
    auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

long long int_of(const boost::json::object& o, const char* key) {
    auto* v = o.if_contains(key);
    return v && v->is_number() ? v->to_number<long long>() : -1;
}

long long token_count(const sse_result& r) {
    return std::count_if(r.events.begin(), r.events.end(),
                         [](const auto& e) { return e.event == "token"; });
}

double metric_value(const std::string& text, const std::string& series) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
    return -1;
}

}  // namespace llorch::test
