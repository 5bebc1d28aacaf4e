#pragma once
// One staging job: a model fetched from a source onto this node. Its state machine
//
//   queued → running → done
//              │
//              └────→ failed (with the error)
//
// and its progress: bytes on disk, the total when the source says it, the rate over the bytes
// this job moved (bytes a resumed download already had do not count) and the time left at that
// rate. Pure: the caller passes `now`.
// Owner: the catalog service's job table. Thread: the control io thread.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "catalog/catalog_entry.h"

namespace llorch::catalog {

enum class job_state { queued, running, done, failed };
std::string_view to_string(job_state s);

struct staging_request {
    std::string source;  // a model_ref
    std::string name;    // name[:tag]; empty: from the source's file name
    std::string sha256;  // expected, lowercase hex; empty: not checked
    std::string node;    // CLOUD: the node to stage onto; empty: the first ready node
};

class staging_job {
  public:
    using clock = std::chrono::steady_clock;

    staging_job(std::string id, staging_request req, model_name name, clock::time_point now);

    const std::string& id() const { return id_; }
    const staging_request& request() const { return req_; }
    const model_name& name() const { return name_; }
    job_state state() const { return state_; }
    bool finished() const { return state_ == job_state::done || state_ == job_state::failed; }

    // queued → running; `resumed_from` bytes were already on disk.
    void start(uint64_t resumed_from, clock::time_point now);
    // Bytes on disk now (after a restart from zero they may go down); the total when known.
    void progress(uint64_t bytes, std::optional<uint64_t> total, clock::time_point now);
    // The download restarts at `bytes` (a resumed connection, or 0 when the source ignored the
    // range): what this job moved so far still counts for the rate.
    void restart_at(uint64_t bytes);
    void finish(catalog_entry entry, clock::time_point now);
    void fail(catalog_error e, clock::time_point now);

    uint64_t bytes() const { return bytes_; }
    std::optional<uint64_t> total() const { return total_; }
    // Bytes per second over this job's own transfer; 0 before the first byte.
    double rate(clock::time_point now) const;
    // Time left at that rate; nullopt without a total or a rate.
    std::optional<std::chrono::milliseconds> eta(clock::time_point now) const;
    // How many times the download was resumed after an interruption.
    int resumes() const { return resumes_; }
    const std::optional<catalog_error>& error() const { return error_; }
    const std::optional<catalog_entry>& entry() const { return entry_; }
    // Moves on with every change, so that a watcher can tell whether there is news.
    uint64_t revision() const { return revision_; }

  private:
    std::string id_;
    staging_request req_;
    model_name name_;
    job_state state_ = job_state::queued;
    clock::time_point created_, started_, ended_;
    uint64_t bytes_ = 0;
    uint64_t moved_ = 0;  // bytes this job transferred, across restarts
    std::optional<uint64_t> total_;
    int resumes_ = 0;
    std::optional<catalog_error> error_;
    std::optional<catalog_entry> entry_;
    uint64_t revision_ = 0;
};

}  // namespace llorch::catalog
