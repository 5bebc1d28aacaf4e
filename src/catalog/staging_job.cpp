#include "catalog/staging_job.h"

namespace llorch::catalog {

std::string_view to_string(job_state s) {
    switch (s) {
        case job_state::queued:
            return "queued";
        case job_state::running:
            return "running";
        case job_state::done:
            return "done";
        case job_state::failed:
            return "failed";
    }
    return "queued";
}

staging_job::staging_job(std::string id, staging_request req, model_name name,
                         clock::time_point now)
    : id_(std::move(id)), req_(std::move(req)), name_(std::move(name)), created_(now) {}

void staging_job::start(uint64_t resumed_from, clock::time_point now) {
    state_ = job_state::running;
    started_ = now;
    bytes_ = resumed_from;
    ++revision_;
}

void staging_job::progress(uint64_t bytes, std::optional<uint64_t> total, clock::time_point) {
    if (bytes > bytes_) moved_ += bytes - bytes_;
    bytes_ = bytes;
    if (total) total_ = total;
    ++revision_;
}

void staging_job::restart_at(uint64_t bytes) {
    if (bytes > 0 && bytes_ > 0) ++resumes_;
    bytes_ = bytes;
    ++revision_;
}

void staging_job::finish(catalog_entry entry, clock::time_point now) {
    state_ = job_state::done;
    ended_ = now;
    bytes_ = entry.size_bytes;
    total_ = entry.size_bytes;
    entry_ = std::move(entry);
    ++revision_;
}

void staging_job::fail(catalog_error e, clock::time_point now) {
    state_ = job_state::failed;
    ended_ = now;
    error_ = std::move(e);
    ++revision_;
}

double staging_job::rate(clock::time_point now) const {
    if (state_ == job_state::queued || moved_ == 0) return 0;
    auto end = finished() ? ended_ : now;
    double secs = std::chrono::duration<double>(end - started_).count();
    return secs > 0 ? static_cast<double>(moved_) / secs : 0;
}

std::optional<std::chrono::milliseconds> staging_job::eta(clock::time_point now) const {
    if (finished()) return std::chrono::milliseconds(0);
    auto r = rate(now);
    if (!total_ || r <= 0) return std::nullopt;
    uint64_t left = *total_ > bytes_ ? *total_ - bytes_ : 0;
    return std::chrono::milliseconds(static_cast<long long>(1000.0 * left / r));
}

}  // namespace llorch::catalog
