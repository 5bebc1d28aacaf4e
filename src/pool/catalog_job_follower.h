#pragma once
// Follows a staging job for a stream that reports its progress (the catalog's job SSE, Ollama's
// pull lines): the job is looked at every `poll`, and a change of its state or bytes is handed
// on. Owner: the stream. Thread: the daemon's control io thread.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include "api/error.h"
#include "pool/catalog_admin.h"

namespace llorch::pool {

class catalog_job_follower {
  public:
    catalog_job_follower(std::shared_ptr<catalog_admin> files, std::string id,
                         std::chrono::milliseconds poll = std::chrono::milliseconds(250))
        : files_(std::move(files)), id_(std::move(id)), poll_(poll) {}

    struct step {
        enum class kind { moved, quiet, gone, error } what = kind::quiet;
        boost::json::object job;  // moved: the job as it is now
        api::error error;         // error: why the job cannot be read
    };
    // The job once its state or bytes moved since the last step (the first step always moves);
    // `quiet` after `max_wait` without a change; `gone` once stop() was called.
    boost::asio::awaitable<step> next(std::chrono::milliseconds max_wait);
    // The reader left: a waiting next() returns `gone` at once.
    void stop();

  private:
    std::shared_ptr<catalog_admin> files_;
    std::string id_;
    std::chrono::milliseconds poll_;
    std::optional<boost::asio::steady_timer> timer_;
    std::string last_;
    bool gone_ = false;
};

}  // namespace llorch::pool
