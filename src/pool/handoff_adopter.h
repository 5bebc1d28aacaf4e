#pragma once
// handoff_adopter: adopts engines started outside this manager. A handoff_watcher reports each
// `*.json` in the runtime dir that appears, changes or goes away; a file for a pool id this
// manager does not run becomes an adopted pool (ready once its engine answers its health check;
// retried every watch interval meanwhile), supervised like any other but never restarted. A
// file removed or rewritten releases the pool it made. Outcomes are counted per pool id:
// adopted, malformed, unreachable, not_ready, conflict.
//
// Owner: pool_manager. Thread: the io thread (the watcher's callbacks run there).
// Lifecycle: start() after the manager's own stale files are gone; stop() ends the watch and
// any adoption still waiting for its engine.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "pool/handoff.h"
#include "pool/handoff_watcher.h"
#include "pool/pool_runtime.h"

namespace llorch::pool {

class handoff_adopter : public std::enable_shared_from_this<handoff_adopter> {
  public:
    // (pool_id, outcome) -> files processed; pool_id is the file's stem when unreadable.
    using outcome_counts = std::map<std::pair<std::string, std::string>, uint64_t>;

    explicit handoff_adopter(std::shared_ptr<pool_runtime> rt);
    ~handoff_adopter();
    handoff_adopter(const handoff_adopter&) = delete;
    handoff_adopter& operator=(const handoff_adopter&) = delete;

    void start();
    void stop();
    const outcome_counts& outcomes() const { return outcomes_; }

  private:
    void count(const std::string& pool_id, const char* outcome);
    void on_change(const std::filesystem::path& file);
    void on_removed(const std::filesystem::path& file);
    asio::awaitable<void> adopt(std::filesystem::path file, handoff h, engine_kind kind,
                                uint64_t version);
    // Forgets an adopted pool; streams in flight keep their replica until they end.
    void release(std::shared_ptr<pool_entry> p, const std::string& why);
    bool current(const std::filesystem::path& file, uint64_t version);

    std::shared_ptr<pool_runtime> rt_;
    std::unique_ptr<handoff_watcher> watcher_;
    outcome_counts outcomes_;
    // Files deleted here (auto-delete), so that their removal releases no pool.
    std::set<std::filesystem::path> self_deleted_;
    // Bumped on every change or removal of a file: a pending adoption of an older version ends.
    std::map<std::filesystem::path, uint64_t> versions_;
    bool stopped_ = false;
};

}  // namespace llorch::pool
