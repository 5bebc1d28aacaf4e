#include "pool/process_launcher.h"

#include <signal.h>

#include <fstream>
#include <optional>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/log.h"
#include "common/off_thread.h"
#include "common/subprocess.h"
#include "http/ids.h"
#include "pool/sim_engine_args.h"

namespace llorch::pool {
namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string tail_lines(const fs::path& p, size_t n) {
    std::ifstream f(p, std::ios::binary);
    if (!f) return {};
    f.seekg(0, std::ios::end);
    auto size = static_cast<long long>(f.tellg());
    auto from = std::max(0LL, size - 8192);
    f.seekg(from);
    std::string text(static_cast<size_t>(size - from), '\0');
    f.read(text.data(), static_cast<std::streamsize>(text.size()));
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        if (end > start) lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    // A cut first line is a fragment, unless it is all there is.
    if (from > 0 && lines.size() > 1) lines.erase(lines.begin());
    std::string out;
    for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i) {
        if (!out.empty()) out += " | ";
        out += lines[i];
    }
    return out;
}

void rotate_log(const fs::path& p, size_t limit) {
    std::error_code ec;
    auto size = fs::file_size(p, ec);
    if (ec || size < limit) return;
    fs::copy_file(p, p.string() + ".1", fs::copy_options::overwrite_existing, ec);
    fs::resize_file(p, 0, ec);
}

namespace {

uint16_t pick_free_port() {
    asio::io_context tmp;
    asio::ip::tcp::acceptor a(tmp, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

// One engine process, watched from the io thread.
class process_engine final : public engine_process,
                             public std::enable_shared_from_this<process_engine> {
  public:
    process_engine(asio::io_context& io, asio::thread_pool::executor_type blocking,
                   common::subprocess proc, fs::path log, size_t rotate_bytes)
        : io_(io),
          blocking_(blocking),
          proc_(std::move(proc)),
          pid_(proc_.pid()),
          log_(std::move(log)),
          rotate_bytes_(rotate_bytes),
          kill_timer_(io),
          poll_timer_(io) {}

    ~process_engine() override {
        if (!exited_) proc_.kill_now();
    }

    void watch() {
        int fd = proc_.open_pidfd();
        if (fd < 0) {
            poll();
            return;
        }
        pidfd_.emplace(io_, fd);
        pidfd_->async_wait(asio::posix::stream_descriptor::wait_read,
                           [self = shared_from_this()](boost::system::error_code ec) {
                               if (ec == asio::error::operation_aborted) return;
                               self->reap();
                           });
    }

    long pid() const override { return pid_; }
    bool exited() const override { return exited_; }
    std::string exit_reason() const override { return reason_; }

    void on_exit(std::function<void()> cb) override {
        if (exited_)
            cb();
        else
            exit_callbacks_.push_back(std::move(cb));
    }

    void stop(std::chrono::milliseconds grace) override {
        if (exited_ || stopping_) return;
        stopping_ = true;
        proc_.kill_group(SIGTERM);
        kill_timer_.expires_after(grace);
        kill_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (ec || self->exited_) return;
            common::logger("pool")->warn("pid={} still running after SIGTERM: SIGKILL", self->pid_);
            self->proc_.kill_group(SIGKILL);
        });
    }

    void kill_now() override {
        if (exited_) return;
        proc_.kill_now();
        finish("killed");
    }

    void tend() override {
        if (exited_ || rotating_) return;
        rotating_ = true;
        asio::post(blocking_, [self = shared_from_this()] {
            rotate_log(self->log_, self->rotate_bytes_);
            asio::post(self->io_, [self] { self->rotating_ = false; });
        });
    }

  private:
    void poll() {
        poll_timer_.expires_after(100ms);
        poll_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (ec) return;
            self->reap();
        });
    }

    // The pidfd turned readable (or the poll timer fired): reap without blocking.
    void reap() {
        if (exited_) return;
        if (proc_.running()) {
            if (pidfd_)
                watch_again();
            else
                poll();
            return;
        }
        auto st = proc_.status();
        std::string why = "engine " + (st ? common::subprocess::describe(*st) : "ended");
        auto tail = tail_lines(log_, 5);
        if (!tail.empty()) why += "; last log lines: " + tail;
        finish(std::move(why));
    }

    void watch_again() {
        pidfd_->async_wait(asio::posix::stream_descriptor::wait_read,
                           [self = shared_from_this()](boost::system::error_code ec) {
                               if (ec == asio::error::operation_aborted) return;
                               self->reap();
                           });
    }

    void finish(std::string why) {
        exited_ = true;
        reason_ = std::move(why);
        kill_timer_.cancel();
        poll_timer_.cancel();
        if (pidfd_) {
            boost::system::error_code ec;
            pidfd_->close(ec);
        }
        auto cbs = std::move(exit_callbacks_);
        for (auto& cb : cbs) cb();
    }

    asio::io_context& io_;
    asio::thread_pool::executor_type blocking_;
    common::subprocess proc_;
    long pid_;
    fs::path log_;
    size_t rotate_bytes_;
    std::optional<asio::posix::stream_descriptor> pidfd_;
    asio::steady_timer kill_timer_;
    asio::steady_timer poll_timer_;
    std::vector<std::function<void()>> exit_callbacks_;
    bool exited_ = false;
    bool stopping_ = false;
    bool rotating_ = false;
    std::string reason_;
};

struct spawned {
    common::subprocess_result<common::subprocess> proc;
    fs::path log;
};

// On the blocking pool: the log's rotation and the fork/exec.
asio::awaitable<spawned> spawn_on_pool(pool_config c, engine_spec s, fs::path runtime_dir,
                                       size_t rotate_bytes, uint16_t port, std::string api_key) {
    std::error_code ec;
    fs::create_directories(runtime_dir / "logs", ec);
    auto log = runtime_dir / "logs" /
               (c.id + "-" + std::to_string(s.index) +
                (s.generation ? "-g" + std::to_string(s.generation) : "") + ".log");
    rotate_log(log, rotate_bytes);
    if (c.embeddings && c.engine == engine_kind::llamacpp)
        s.pooling = embedding_pooling(c, s.model);
    common::spawn_options so;
    so.argv = engine_argv(c, s, engine_binary(c), port, api_key);
    if (c.engine == engine_kind::sim) so.argv = sim_engine_argv(so.argv);
    so.log_file = log;
    if (!c.gpus.empty()) {
        std::string v;
        for (int g : c.gpus) v += (v.empty() ? "" : ",") + std::to_string(g);
        so.env.emplace_back("CUDA_VISIBLE_DEVICES", v);
    }
    co_return spawned{common::subprocess::spawn(so), std::move(log)};
}

}  // namespace

process_launcher::process_launcher(asio::io_context& io, asio::thread_pool::executor_type blocking,
                                   fs::path runtime_dir, size_t log_rotate_bytes)
    : io_(io),
      blocking_(blocking),
      runtime_dir_(std::move(runtime_dir)),
      log_rotate_bytes_(log_rotate_bytes) {}

asio::awaitable<pool_result<launched_engine>> process_launcher::launch(pool_config pool,
                                                                       engine_spec spec) {
    uint16_t port;
    try {
        port = pool.port ? static_cast<uint16_t>(*pool.port + spec.index) : pick_free_port();
    } catch (const std::exception& e) {
        co_return pool_error{pool_errc::launch_failed,
                             std::string("no free loopback port: ") + e.what()};
    }
    launched_engine out;
    out.api_key = http::random_hex(24);
    out.base_url = "http://127.0.0.1:" + std::to_string(port);
    // The result comes back to this coroutine's executor, the io thread.
    auto s = co_await common::off_thread(
        blocking_, spawn_on_pool(pool, spec, runtime_dir_, log_rotate_bytes_, port, out.api_key));
    if (!s.proc) co_return pool_error{pool_errc::launch_failed, s.proc.error().message};
    auto e = std::make_shared<process_engine>(io_, blocking_, std::move(*s.proc), std::move(s.log),
                                              log_rotate_bytes_);
    e->watch();
    common::logger("pool")->info("pool_id={} replica={} pid={} started engine on port {}", pool.id,
                                 spec.index, e->pid(), port);
    out.process = std::move(e);
    co_return out;
}

}  // namespace llorch::pool
