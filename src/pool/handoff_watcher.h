#pragma once
// Watches a runtime directory for handoff files (`*.json`) that appear, change or go away, and
// reports each real change once. Owned by the pool manager; every member function and every
// callback runs on the thread that runs the given io_context (single-threaded, no locks).
//
// Two sources feed one table of known files (path -> mtime, size, inode):
// - inotify (IN_CLOSE_WRITE, IN_MOVED_TO, IN_DELETE, IN_MOVED_FROM) read through an
//   asio stream_descriptor, when the kernel gives one;
// - a scan of the directory every `watch_interval`: the only source when inotify is unavailable
//   or disabled, and a safety net beside it (inotify drops events when its queue overflows, and
//   a watch dies with its directory).
// A callback fires only when a file's (mtime, size, inode) differs from what the table holds,
// so an event and a scan that see the same write report it once. A rewrite in place that keeps
// the size within the filesystem's timestamp granularity can merge with the write before it;
// writers that replace the file by rename (write_handoff_atomic) always change the inode.
//
// Names starting with '.' or ending in ".tmp" are temporary files and never reported.
//
// Lifecycle: start() records and reports the files already there (from the io thread, not from
// inside start()), then watches; stop() cancels the watch and the timer and nothing fires after
// it, including handlers the io_context already queued. A callback may call stop(); it must
// not destroy the watcher. The destructor stops.

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "pool/pool_error.h"

namespace llorch::pool {

class handoff_watcher {
  public:
    struct options {
        std::filesystem::path dir;
        // POOL_MANAGERD_WATCH_INTERVAL_MS: the polling period, and the safety scan's with inotify.
        std::chrono::milliseconds watch_interval{1000};
        // false: polling only, as where inotify is unavailable.
        bool use_inotify = true;
    };
    using callback = std::function<void(const std::filesystem::path&)>;

    handoff_watcher(boost::asio::io_context& io, options opts, callback on_change,
                    callback on_remove);
    ~handoff_watcher();
    handoff_watcher(const handoff_watcher&) = delete;
    handoff_watcher& operator=(const handoff_watcher&) = delete;

    // Fails when `dir` is not a readable directory. inotify failing is not an error: the watcher
    // then polls (see using_inotify()). Calling start() on a started watcher does nothing.
    pool_result<void> start();
    void stop();

    bool running() const { return life_ != nullptr; }
    bool using_inotify() const { return inotify_.has_value(); }
    const std::filesystem::path& dir() const { return opts_.dir; }

    // Whether a file name is a handoff file the watcher reports.
    static bool is_handoff_name(const std::string& name);

  private:
    struct file_stamp {
        std::int64_t mtime_ns = 0;
        std::uintmax_t size = 0;
        std::uintmax_t inode = 0;
        friend bool operator==(const file_stamp&, const file_stamp&) = default;
    };
    using life_token = std::weak_ptr<char>;

    bool open_inotify(bool quiet);
    void read_events();
    void handle_events(const char* data, std::size_t bytes, const life_token& life);
    void arm_timer();
    // Each returns false when a callback stopped the watcher, so the caller touches nothing.
    bool scan(const life_token& life);
    bool check_file(const std::filesystem::path& path, const life_token& life);
    bool forget_file(const std::filesystem::path& path, const life_token& life);

    boost::asio::io_context& io_;
    options opts_;
    callback on_change_;
    callback on_remove_;
    std::map<std::filesystem::path, file_stamp> known_;
    std::optional<boost::asio::posix::stream_descriptor> inotify_;
    std::shared_ptr<std::array<char, 16384>> event_buffer_;
    boost::asio::steady_timer timer_;
    // Handlers hold a weak reference; stop() drops it, so queued handlers see they are stale.
    std::shared_ptr<char> life_;
    // The inotify watch died with its directory; the timer tries to watch again.
    bool rewatch_ = false;
    bool dir_error_logged_ = false;
};

}  // namespace llorch::pool
