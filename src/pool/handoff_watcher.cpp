#include "pool/handoff_watcher.h"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>

#include "common/log.h"

namespace llorch::pool {
namespace {

constexpr std::uint32_t watch_mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM |
                                     IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
// A zero period would spin the io thread.
constexpr std::chrono::milliseconds min_interval{10};

std::shared_ptr<spdlog::logger> pool_log() { return common::logger("pool"); }

}  // namespace

handoff_watcher::handoff_watcher(boost::asio::io_context& io, options opts, callback on_change,
                                 callback on_remove)
    : io_(io),
      opts_(std::move(opts)),
      on_change_(std::move(on_change)),
      on_remove_(std::move(on_remove)),
      timer_(io) {
    opts_.watch_interval = std::max(opts_.watch_interval, min_interval);
}

handoff_watcher::~handoff_watcher() { stop(); }

bool handoff_watcher::is_handoff_name(const std::string& name) {
    constexpr std::string_view json_ext = ".json";
    constexpr std::string_view tmp_ext = ".tmp";
    const std::string_view n = name;
    if (n.size() <= json_ext.size() || n.front() == '.') return false;
    if (n.ends_with(tmp_ext)) return false;
    return n.ends_with(json_ext);
}

pool_result<void> handoff_watcher::start() {
    if (running()) return {};
    std::error_code ec;
    if (!std::filesystem::is_directory(opts_.dir, ec)) {
        return pool_error{pool_errc::watch_failed, opts_.dir.string() + ": not a directory" +
                                                       (ec ? ": " + ec.message() : std::string())};
    }
    life_ = std::make_shared<char>(0);
    known_.clear();
    rewatch_ = false;
    dir_error_logged_ = false;
    // The watch goes up before the first scan so that no file falls between the two; the
    // table of stamps makes a file seen by both count once.
    if (opts_.use_inotify && open_inotify(false)) read_events();
    boost::asio::post(io_, [this, life = life_token(life_)] {
        if (life.expired()) return;
        scan(life);
    });
    arm_timer();
    pool_log()->debug("handoff watcher started on {} ({}, every {} ms)", opts_.dir.string(),
                      using_inotify() ? "inotify and scans" : "scans only",
                      opts_.watch_interval.count());
    return {};
}

void handoff_watcher::stop() {
    if (!life_) return;
    life_.reset();
    timer_.cancel();
    if (inotify_) {
        boost::system::error_code ec;
        inotify_->close(ec);
        inotify_.reset();
    }
}

bool handoff_watcher::open_inotify(bool quiet) {
    const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
        if (!quiet) {
            pool_log()->warn("inotify unavailable ({}); polling {} every {} ms",
                             std::strerror(errno), opts_.dir.string(),
                             opts_.watch_interval.count());
        }
        return false;
    }
    if (::inotify_add_watch(fd, opts_.dir.c_str(), watch_mask) < 0) {
        const int err = errno;
        ::close(fd);
        if (!quiet) {
            pool_log()->warn("cannot watch {} with inotify ({}); polling every {} ms",
                             opts_.dir.string(), std::strerror(err), opts_.watch_interval.count());
        }
        return false;
    }
    inotify_.emplace(io_, fd);
    if (!event_buffer_) event_buffer_ = std::make_shared<std::array<char, 16384>>();
    return true;
}

void handoff_watcher::read_events() {
    // The handler owns the buffer too: after stop() the aborted read may complete after the
    // watcher is gone.
    inotify_->async_read_some(
        boost::asio::buffer(*event_buffer_), [this, life = life_token(life_), buf = event_buffer_](
                                                 boost::system::error_code ec, std::size_t bytes) {
            if (life.expired() || ec == boost::asio::error::operation_aborted) return;
            if (ec) {
                pool_log()->warn("reading inotify events for {} failed ({}); polling every {} ms",
                                 opts_.dir.string(), ec.message(), opts_.watch_interval.count());
                inotify_.reset();
                return;
            }
            handle_events(buf->data(), bytes, life);
        });
}

void handoff_watcher::handle_events(const char* data, std::size_t bytes, const life_token& life) {
    bool rescan = false;
    bool watch_gone = false;
    std::vector<std::filesystem::path> touched;
    std::size_t offset = 0;
    while (offset + sizeof(inotify_event) <= bytes) {
        // Copied out: the buffer is a char array with no alignment promise.
        inotify_event ev;
        std::memcpy(&ev, data + offset, sizeof ev);
        const char* name = data + offset + sizeof(inotify_event);
        offset += sizeof(inotify_event) + ev.len;
        if (ev.mask & IN_Q_OVERFLOW) rescan = true;
        if (ev.mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) watch_gone = true;
        if (ev.len == 0) continue;
        const std::string file(name, ::strnlen(name, ev.len));
        if (!is_handoff_name(file)) continue;
        const auto path = opts_.dir / file;
        if (std::find(touched.begin(), touched.end(), path) == touched.end()) {
            touched.push_back(path);
        }
    }
    // Each path is judged by its state now, not by the event's kind: a file deleted and
    // created again within one read is a change, not a removal.
    for (const auto& path : touched) {
        if (!check_file(path, life)) return;
    }
    if (watch_gone) {
        pool_log()->warn(
            "inotify watch on {} ended (directory removed or moved); polling every {} ms",
            opts_.dir.string(), opts_.watch_interval.count());
        inotify_.reset();
        rewatch_ = true;
        scan(life);
        return;
    }
    if (rescan) {
        pool_log()->warn("inotify queue overflowed for {}; rescanning", opts_.dir.string());
        if (!scan(life)) return;
    }
    if (inotify_) read_events();
}

void handoff_watcher::arm_timer() {
    timer_.expires_after(opts_.watch_interval);
    timer_.async_wait([this, life = life_token(life_)](boost::system::error_code ec) {
        if (life.expired() || ec == boost::asio::error::operation_aborted) return;
        if (rewatch_ && open_inotify(true)) {
            pool_log()->info("watching {} with inotify again", opts_.dir.string());
            rewatch_ = false;
            read_events();
        }
        if (!scan(life)) return;
        arm_timer();
    });
}

bool handoff_watcher::scan(const life_token& life) {
    std::vector<std::filesystem::path> present;
    std::error_code ec;
    std::filesystem::directory_iterator it(opts_.dir, ec);
    const std::filesystem::directory_iterator end;
    for (; !ec && it != end; it.increment(ec)) {
        if (is_handoff_name(it->path().filename().string())) present.push_back(it->path());
    }
    if (ec && ec != std::errc::no_such_file_or_directory) {
        // A listing that failed part-way says nothing about which files went away.
        if (!dir_error_logged_) {
            pool_log()->warn("cannot list {}: {}", opts_.dir.string(), ec.message());
            dir_error_logged_ = true;
        }
        return true;
    }
    dir_error_logged_ = false;
    std::sort(present.begin(), present.end());
    for (const auto& path : present) {
        if (!check_file(path, life)) return false;
    }
    std::vector<std::filesystem::path> gone;
    for (const auto& [path, stamp] : known_) {
        if (!std::binary_search(present.begin(), present.end(), path)) gone.push_back(path);
    }
    for (const auto& path : gone) {
        if (!forget_file(path, life)) return false;
    }
    return true;
}

bool handoff_watcher::check_file(const std::filesystem::path& path, const life_token& life) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return forget_file(path, life);
    const file_stamp stamp{
        .mtime_ns =
            static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
        .size = static_cast<std::uintmax_t>(st.st_size),
        .inode = static_cast<std::uintmax_t>(st.st_ino),
    };
    const auto [it, inserted] = known_.try_emplace(path, stamp);
    if (!inserted) {
        if (it->second == stamp) return true;
        it->second = stamp;
    }
    if (on_change_) on_change_(path);
    return !life.expired();
}

bool handoff_watcher::forget_file(const std::filesystem::path& path, const life_token& life) {
    if (known_.erase(path) == 0) return true;
    if (on_remove_) on_remove_(path);
    return !life.expired();
}

}  // namespace llorch::pool
