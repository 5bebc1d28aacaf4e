#pragma once
// The model files of this node: the GGUF files its pools name plus every `*.gguf` in the models
// folder (`--models-dir`), each with its size, sha256 and GGUF facts, and the staging jobs that
// fetch new ones into that folder.
//
// At start a scan lists the files and hashes the ones the index does not know. The index
// (`<models_dir>/.llorch-index.json`, else `<runtime_dir>/catalog.idx`: not `.json`, which the
// handoff watcher reads) keeps each file's size, mtime, sha256 and facts, so a restart rehashes
// only files that changed. A staging job fetches `file:` or `http(s)://` (hf: mapped to its
// https URL) into `<models_dir>/.staging/<name>.part`, resumes after an interruption (HTTP
// Range; a `.part` left by an earlier job for the same source is resumed too), verifies the
// sha256 when given and that the file parses as GGUF, then renames it to
// `<models_dir>/<name>.gguf` and adds it. A failed or corrupted download never reaches the
// catalog: its `.part` is removed (a download that only ran out of attempts keeps it, for the
// next pull to resume).
//
// Owner: pool-managerd (orchestratord in the HOME profile). Thread: the control io thread;
// scanning, hashing and every disk write run on the service's own 2-thread pool and post back.
// Lifecycle: construct → start() → … → co_await stop() (cancels jobs, joins the pool).

#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "catalog/node_catalog.h"
#include "catalog/staging_job.h"
#include "common/metrics.h"
#include "common/task_group.h"
#include "http/tls.h"
#include "pool/catalog_admin.h"
#include "pool/pool_manager.h"

namespace llorch::http {
class client;
}

namespace llorch::pool {

struct catalog_options {
    std::filesystem::path models_dir;   // empty: only the pools' files, and no staging
    std::filesystem::path runtime_dir;  // for the index when there is no models folder
    std::string node_id;                // shown in job answers
    size_t max_running_jobs = 2;
    int fetch_attempts = 6;  // connections per job before it fails (each resumes)
    std::chrono::milliseconds fetch_idle_timeout{30'000};
    std::chrono::milliseconds retry_base{200};  // doubles per attempt, capped at 5 s
    size_t jobs_kept = 256;  // finished jobs remembered for GET /v2/catalog/jobs/{id}
    http::tls_context tls;   // for https:// sources
};

// A daemon's catalog options: the models folder (created when absent), the index's folder, the
// node id, and TLS with the system's CAs for https:// sources. The reason when the folder
// cannot be used; empty on success.
std::string make_catalog_options(catalog_options& out, const std::string& models_dir,
                                 const std::string& runtime_dir, const std::string& node_id);

class catalog_service final : public catalog_admin {
  public:
    // `pools` (may be null) names the pools' files and refuses deleting a file a pool serves.
    catalog_service(asio::io_context& io, catalog_options opts, const pool_manager* pools,
                    common::metrics_registry* metrics = nullptr);
    ~catalog_service() override;

    void start();
    asio::awaitable<void> stop();

    const catalog::node_catalog& catalog() const { return catalog_; }
    bool scanned() const { return scanned_; }
    // Called on the io thread whenever the catalog changed (node_agent reports it; the pool
    // manager gives new models their on-demand pools). Each call adds a listener.
    void on_change(std::function<void()> f) { on_change_.push_back(std::move(f)); }

    std::vector<node_files> files() const override;
    asio::awaitable<api::api_result<boost::json::object>> stage(
        catalog::staging_request r) override;
    asio::awaitable<api::api_result<boost::json::object>> job(std::string id) override;
    asio::awaitable<api::api_result<void>> remove(std::string name, std::string node) override;

  private:
    asio::awaitable<void> scan();
    asio::awaitable<void> run_job(std::string id);
    // Fetches the source into `part`; the bytes are on disk when it returns without an error.
    asio::awaitable<catalog::catalog_result<void>> fetch_file(catalog::staging_job* j,
                                                              std::string from,
                                                              std::filesystem::path part);
    asio::awaitable<catalog::catalog_result<void>> fetch_http(catalog::staging_job* j,
                                                              std::string url,
                                                              std::filesystem::path part);
    asio::awaitable<bool> wait(std::chrono::milliseconds d);
    void pump();
    void changed();
    asio::awaitable<void> save_index();
    catalog::staging_job* find_job(const std::string& id);
    std::filesystem::path index_path() const;

    asio::io_context& io_;
    catalog_options opts_;
    const pool_manager* pools_;
    common::metrics_registry* metrics_;
    asio::thread_pool blocking_{2};
    std::unique_ptr<http::client> client_;
    catalog::node_catalog catalog_;
    std::map<std::string, std::unique_ptr<catalog::staging_job>> jobs_;
    std::deque<std::string> finished_order_;  // the oldest finished job is forgotten first
    std::deque<std::string> queued_;
    size_t running_ = 0;
    bool scanned_ = false;
    bool stopping_ = false;
    std::vector<std::function<void()>> on_change_;
    common::task_group background_;
};

}  // namespace llorch::pool
