#include "pool/catalog_service.h"

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "catalog/model_ref.h"
#include "common/log.h"
#include "common/off_thread.h"
#include "http/client.h"
#include "http/ids.h"
#include "http/tls.h"
#include "pool/catalog_files.h"
#include "pool/catalog_json.h"

namespace llorch::pool {
namespace fs = std::filesystem;
namespace json = boost::json;
using catalog::catalog_errc;
using catalog::catalog_error;
using catalog::catalog_result;
using std::chrono::steady_clock;

namespace {

std::shared_ptr<spdlog::logger> catalog_log() {
    static auto l = common::logger("catalog");
    return l;
}

template <class T>
asio::awaitable<T> call(std::function<T()> f) {
    co_return f();
}

// `f` on `pool`, as an awaitable that resumes its awaiter on the awaiter's executor. Awaited as
// a named local (`auto w = on_pool(...); co_await std::move(w);`): g++ 12 destroys a lambda
// temporary of a co_await expression twice.
template <class F>
auto on_pool(asio::thread_pool& pool, F f) {
    using T = std::invoke_result_t<F>;
    return common::off_thread(pool.get_executor(), call<T>(std::function<T()>(std::move(f))));
}

// Bytes gathered before each write of a download.
constexpr size_t write_chunk = 1u << 20;
// Bytes per step of a file: copy (progress is reported between steps).
constexpr uint64_t copy_step = 8u << 20;

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// A redirect's target: absolute, or a path on the same host.
std::optional<std::string> resolve(const std::string& url, std::string_view location) {
    if (location.starts_with("http://") || location.starts_with("https://"))
        return std::string(location);
    if (!location.starts_with("/")) return std::nullopt;
    auto u = http::parse_url(url);
    if (!u) return std::nullopt;
    return u->scheme + "://" + u->host + ":" + std::to_string(u->port) + std::string(location);
}

// "bytes START-END/TOTAL" (TOTAL may be *).
std::optional<std::pair<uint64_t, std::optional<uint64_t>>> content_range(std::string_view v) {
    if (!v.starts_with("bytes ")) return std::nullopt;
    v.remove_prefix(6);
    auto dash = v.find('-'), slash = v.find('/');
    if (dash == std::string_view::npos || slash == std::string_view::npos) return std::nullopt;
    try {
        uint64_t start = std::stoull(std::string(v.substr(0, dash)));
        auto t = v.substr(slash + 1);
        std::optional<uint64_t> total;
        if (t != "*") total = std::stoull(std::string(t));
        return std::pair{start, total};
    } catch (...) {
        return std::nullopt;
    }
}

std::optional<uint64_t> content_length(const http::header_list& h) {
    auto v = h.find("Content-Length");
    if (!v) return std::nullopt;
    try {
        return std::stoull(std::string(*v));
    } catch (...) {
        return std::nullopt;
    }
}

}  // namespace

std::string make_catalog_options(catalog_options& out, const std::string& models_dir,
                                 const std::string& runtime_dir, const std::string& node_id) {
    out.node_id = node_id;
    out.runtime_dir = runtime_dir;
    if (!models_dir.empty()) {
        std::error_code ec;
        fs::create_directories(models_dir, ec);
        if (!fs::is_directory(models_dir, ec))
            return "'" + models_dir + "' is not a folder that can be created or read";
        out.models_dir = fs::absolute(models_dir, ec).lexically_normal();
    }
    if (auto tls = http::make_client_tls(""); tls) out.tls = *tls;
    return {};
}

catalog_service::catalog_service(asio::io_context& io, catalog_options opts,
                                 const pool_manager* pools, common::metrics_registry* metrics)
    : io_(io),
      opts_(std::move(opts)),
      pools_(pools),
      metrics_(metrics),
      client_(std::make_unique<http::client>(
          io, http::client_options{.connect_timeout = std::chrono::milliseconds(10'000),
                                   .tls = opts_.tls})),
      background_(io.get_executor()) {
    if (metrics_) {
        for (const char* o : {"done", "failed"})
            metrics_->counter("catalog_staging_jobs_total", "Staging jobs that ended, by outcome.",
                              {{"outcome", o}});
        metrics_->counter("catalog_hashed_bytes_total",
                          "Bytes of model files read to compute their sha256.");
        metrics_->gauge("catalog_models", "Model files in this node's catalog.");
    }
}

catalog_service::~catalog_service() { blocking_.join(); }

fs::path catalog_service::index_path() const {
    return opts_.models_dir.empty() ? opts_.runtime_dir / "catalog.idx"
                                    : opts_.models_dir / ".llorch-index.json";
}

void catalog_service::start() { background_.spawn(scan(), "catalog scan"); }

asio::awaitable<void> catalog_service::stop() {
    stopping_ = true;
    co_await background_.stop();
    blocking_.join();
}

void catalog_service::changed() {
    if (metrics_)
        metrics_->gauge("catalog_models", "Model files in this node's catalog.")
            .Set(static_cast<double>(catalog_.size()));
    for (const auto& f : on_change_) f();
}

asio::awaitable<void> catalog_service::scan() {
    std::vector<std::pair<std::string, std::string>> pool_files;
    if (pools_)
        for (const auto& p : pools_->list())
            if (!p.model.empty()) pool_files.emplace_back(p.name, p.model);
    auto dir = opts_.models_dir;
    auto index = index_path();
    auto work1 = on_pool(blocking_, [pool_files, dir, index] {
        return catalog_files::scan(pool_files, dir, index);
    });
    auto found = co_await std::move(work1);
    for (const auto& w : found.warnings) catalog_log()->warn("left out of the catalog: {}", w);
    for (auto& e : found.entries) {
        auto path = e.path;
        if (auto r = catalog_.add(std::move(e)); !r)
            catalog_log()->warn("left out of the catalog: {}: {}", path, r.error().message);
    }
    if (metrics_)
        metrics_->counter("catalog_hashed_bytes_total", "")
            .Increment(static_cast<double>(found.hashed_bytes));
    scanned_ = true;
    catalog_log()->info("{} files ({} unchanged since the index, {} bytes hashed)", catalog_.size(),
                        found.reused, found.hashed_bytes);
    changed();
    co_await save_index();
}

asio::awaitable<void> catalog_service::save_index() {
    auto entries = catalog_.entries();
    auto index = index_path();
    auto work2 =
        on_pool(blocking_, [index, entries] { return catalog_files::write_index(index, entries); });
    auto r = co_await std::move(work2);
    if (!r) catalog_log()->warn("cannot keep the catalog index: {}", r.error().message);
}

std::vector<node_files> catalog_service::files() const {
    return {node_files{"", catalog_.entries()}};
}

catalog::staging_job* catalog_service::find_job(const std::string& id) {
    auto it = jobs_.find(id);
    return it == jobs_.end() ? nullptr : it->second.get();
}

asio::awaitable<api::api_result<json::object>> catalog_service::stage(catalog::staging_request r) {
    auto ref = catalog::parse_model_ref(r.source);
    if (!ref) co_return to_api_error(ref.error());
    if (r.name.empty()) {
        auto file = ref->file_name();
        if (file.ends_with(".gguf")) file.resize(file.size() - 5);
        r.name = file;
    }
    auto name = catalog::parse_model_name(r.name);
    if (!name)
        co_return api::make_error(api::error_code::invalid_params, "name: " + name.error().message);
    r.sha256 = lower(r.sha256);
    if (!r.sha256.empty() && !catalog::valid_sha256(r.sha256))
        co_return api::make_error(api::error_code::invalid_params,
                                  "sha256: 64 hex digits, the file's SHA-256");
    if (opts_.models_dir.empty())
        co_return api::make_error(api::error_code::conflict,
                                  "this node has no models folder to stage into: start it with "
                                  "--models-dir DIR");
    if (catalog_.find(name->full()))
        co_return api::make_error(
            api::error_code::conflict,
            "model '" + name->display() + "' is already in the catalog; delete it first");
    for (const auto& [id, j] : jobs_)
        if (!j->finished() && j->name() == *name)
            co_return api::make_error(
                api::error_code::conflict,
                "job " + id + " is already staging '" + name->display() + "'");
    auto id = http::new_correlation_id();
    auto job = std::make_unique<catalog::staging_job>(id, std::move(r), std::move(*name),
                                                      steady_clock::now());
    auto out = to_json(*job, opts_.node_id, steady_clock::now());
    catalog_log()->info("job_id={} stages '{}' from {}", id, job->name().display(),
                        job->request().source);
    jobs_[id] = std::move(job);
    queued_.push_back(id);
    pump();
    co_return out;
}

asio::awaitable<api::api_result<json::object>> catalog_service::job(std::string id) {
    auto* j = find_job(id);
    if (!j) co_return api::make_error(api::error_code::not_found, "no staging job '" + id + "'");
    co_return to_json(*j, opts_.node_id, steady_clock::now());
}

void catalog_service::pump() {
    while (running_ < opts_.max_running_jobs && !queued_.empty() && !stopping_) {
        auto id = queued_.front();
        queued_.pop_front();
        ++running_;
        background_.spawn(run_job(id), "staging job " + id);
    }
}

asio::awaitable<bool> catalog_service::wait(std::chrono::milliseconds d) {
    asio::steady_timer t(io_, d);
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec && !stopping_;
}

asio::awaitable<void> catalog_service::run_job(std::string id) {
    auto* j = find_job(id);
    auto ref = catalog::parse_model_ref(j->request().source);
    auto source = ref->fetch_url();
    auto part = opts_.models_dir / ".staging" / (j->name().display() + ".part");
    auto work3 =
        on_pool(blocking_, [part, source] { return catalog_files::prepare_part(part, source); });
    auto had = co_await std::move(work3);
    catalog_result<void> fetched;
    if (!had) fetched = had.error();
    if (had) {
        j->start(*had, steady_clock::now());
        if (*had > 0) catalog_log()->info("job_id={} resumes at {} bytes", id, *had);
        if (ref->scheme == catalog::ref_scheme::file)
            fetched = co_await fetch_file(j, source, part);
        else
            fetched = co_await fetch_http(j, source, part);
    }
    if (stopping_) co_return;
    if (fetched) {
        auto dest = opts_.models_dir / j->name().file_name();
        auto sha = j->request().sha256;
        auto name = j->name();
        auto src = j->request().source;
        auto hashed = std::make_shared<uint64_t>(0);
        auto work4 = on_pool(blocking_, [part, dest, sha, name, src, hashed] {
            return catalog_files::install(part, dest, sha, name, src, *hashed);
        });
        auto installed = co_await std::move(work4);
        if (metrics_)
            metrics_->counter("catalog_hashed_bytes_total", "")
                .Increment(static_cast<double>(*hashed));
        if (installed) {
            if (auto added = catalog_.add(*installed); !added) {
                fetched = added.error();
            } else {
                j->finish(std::move(*installed), steady_clock::now());
                changed();
                co_await save_index();
            }
        } else {
            fetched = installed.error();
        }
    }
    if (!fetched) {
        j->fail(fetched.error(), steady_clock::now());
        catalog_log()->warn("job_id={} failed: {}", id, fetched.error().message);
    } else {
        catalog_log()->info("job_id={} staged '{}' ({} bytes, sha256 {})", id, j->name().display(),
                            j->bytes(), j->entry()->sha256);
    }
    if (metrics_)
        metrics_
            ->counter("catalog_staging_jobs_total", "", {{"outcome", fetched ? "done" : "failed"}})
            .Increment();
    --running_;
    finished_order_.push_back(id);
    while (finished_order_.size() > opts_.jobs_kept) {
        jobs_.erase(finished_order_.front());
        finished_order_.pop_front();
    }
    pump();
}

asio::awaitable<catalog_result<void>> catalog_service::fetch_file(catalog::staging_job* j,
                                                                  std::string from, fs::path part) {
    auto work5 = on_pool(blocking_, [from] { return catalog_files::file_size(from); });
    auto size = co_await std::move(work5);
    if (!size) co_return size.error();
    uint64_t offset = j->bytes();
    if (offset > *size) {
        auto work6 = on_pool(blocking_, [part] { return catalog_files::truncate(part); });
        co_await std::move(work6);
        offset = 0;
        j->restart_at(0);
    }
    j->progress(offset, *size, steady_clock::now());
    for (;;) {
        if (stopping_) co_return catalog_error{catalog_errc::io_error, "stopping"};
        auto work7 = on_pool(blocking_, [from, part, offset] {
            return catalog_files::copy_chunk(from, part, offset, copy_step);
        });
        auto n = co_await std::move(work7);
        if (!n) co_return n.error();
        if (*n == 0) break;
        offset += *n;
        j->progress(offset, *size, steady_clock::now());
    }
    if (offset != *size)
        co_return catalog_error{catalog_errc::io_error, from + " changed size while it was copied"};
    co_return catalog_result<void>();
}

asio::awaitable<catalog_result<void>> catalog_service::fetch_http(catalog::staging_job* j,
                                                                  std::string url, fs::path part) {
    int attempts = 0, redirects = 0;
    uint64_t offset = j->bytes();
    for (;;) {
        if (stopping_) co_return catalog_error{catalog_errc::io_error, "stopping"};
        http::client_request r;
        r.method = "GET";
        r.url = url;
        r.content_type.clear();
        r.timeout = opts_.fetch_idle_timeout;
        if (offset > 0) r.headers.add("Range", "bytes=" + std::to_string(offset) + "-");
        auto s = co_await client_->open(std::move(r));
        std::string failure;
        bool restart = false;
        if (!s) {
            failure = s.error().message;
        } else {
            int status = (*s)->status();
            auto location = (*s)->headers().find("Location");
            if (status >= 300 && status < 400 && location) {
                auto next = resolve(url, *location);
                if (!next || ++redirects > 5)
                    co_return catalog_error{catalog_errc::io_error,
                                            "too many or bad redirects from " + url};
                url = *next;
                continue;
            }
            std::optional<uint64_t> total;
            if (status == 206) {
                auto range = content_range((*s)->headers().find("Content-Range").value_or(""));
                if (!range || range->first != offset) {
                    restart = true;
                    failure = "the source answered a range other than the one asked for";
                } else {
                    total = range->second;
                }
            } else if (status == 200) {
                if (offset > 0) {
                    // The source ignores ranges: from the start.
                    offset = 0;
                    auto work8 =
                        on_pool(blocking_, [part] { return catalog_files::truncate(part); });
                    auto t = co_await std::move(work8);
                    if (!t) co_return t.error();
                    j->restart_at(0);
                }
                total = content_length((*s)->headers());
            } else if (status == 416) {
                restart = true;
                failure = "the source refused the range (416)";
            } else if (status >= 400 && status < 500 && status != 408 && status != 429) {
                co_return catalog_error{
                    catalog_errc::io_error,
                    "the source answered " + std::to_string(status) + " for " + url};
            } else {
                failure = "the source answered " + std::to_string(status);
            }
            if (failure.empty()) {
                j->progress(offset, total, steady_clock::now());
                std::string buf;
                bool ended = false;
                for (;;) {
                    auto piece = co_await (*s)->read_some(opts_.fetch_idle_timeout);
                    if (!piece) {
                        failure = piece.error().message;
                        break;
                    }
                    if (piece->empty()) {
                        ended = true;
                    } else {
                        buf += *piece;
                    }
                    if (!buf.empty() && (ended || buf.size() >= write_chunk)) {
                        auto work9 = on_pool(
                            blocking_, [part, buf] { return catalog_files::append(part, buf); });
                        auto w = co_await std::move(work9);
                        if (!w) co_return w.error();
                        offset += buf.size();
                        buf.clear();
                        j->progress(offset, total, steady_clock::now());
                    }
                    if (ended || stopping_) break;
                }
                // What arrived before a break is good data: kept, and the next try resumes.
                if (!buf.empty()) {
                    auto work10 = on_pool(blocking_,
                                          [part, buf] { return catalog_files::append(part, buf); });
                    auto w = co_await std::move(work10);
                    if (!w) co_return w.error();
                    offset += buf.size();
                    j->progress(offset, total, steady_clock::now());
                }
                if (ended) {
                    if (!total || offset == *total) co_return catalog_result<void>();
                    failure = "the body ended at " + std::to_string(offset) + " of " +
                              std::to_string(*total) + " bytes";
                }
            }
        }
        if (restart) {
            auto work11 = on_pool(blocking_, [part] { return catalog_files::truncate(part); });
            auto t = co_await std::move(work11);
            if (!t) co_return t.error();
            offset = 0;
        }
        if (++attempts >= opts_.fetch_attempts)
            co_return catalog_error{catalog_errc::io_error,
                                    "giving up after " + std::to_string(attempts) +
                                        " attempts at " + url + ": " + failure};
        auto delay = std::min(opts_.retry_base * (1 << std::min(attempts - 1, 8)),
                              std::chrono::milliseconds(5'000));
        catalog_log()->info("job_id={} interrupted at {} bytes ({}); resuming in {} ms", j->id(),
                            offset, failure, delay.count());
        if (!co_await wait(delay)) co_return catalog_error{catalog_errc::io_error, "stopping"};
        j->restart_at(offset);
    }
}

namespace {
// Whether an on-demand pool holds its file open (loading, loaded or unloading).
bool is_loaded(pool_state s) {
    return s != pool_state::offline && s != pool_state::uninitialized && s != pool_state::failed;
}
}  // namespace

asio::awaitable<api::api_result<void>> catalog_service::remove(std::string name, std::string) {
    const auto* found = catalog_.find(name);
    if (!found) co_return api::make_error(api::error_code::not_found, "no model '" + name + "'");
    const auto entry = *found;  // the catalog may change while the file is removed
    const auto* e = &entry;
    auto path = fs::path(e->path).lexically_normal();
    if (pools_)
        for (const auto& p : pools_->list())
            if (!p.model.empty() && fs::path(p.model).lexically_normal() == path &&
                !(p.on_demand && !is_loaded(p.state)))
                co_return api::make_error(
                    api::error_code::conflict,
                    "pool '" + p.id + "' serves model '" + e->name.display() +
                        (p.on_demand ? "'; it is loaded: unload it first"
                                     : "'; drain it or reload it onto another model first"));
    if (e->pool_file || opts_.models_dir.empty() ||
        path.parent_path() != opts_.models_dir.lexically_normal())
        co_return api::make_error(api::error_code::conflict,
                                  "model '" + e->name.display() + "' (" + e->path +
                                      ") is not in this node's models folder");
    auto work12 = on_pool(blocking_, [path] { return catalog_files::remove_file(path); });
    auto r = co_await std::move(work12);
    if (!r) co_return to_api_error(r.error());
    catalog_log()->info("model '{}' removed ({})", e->name.display(), path.string());
    (void)catalog_.remove(name);
    changed();
    co_await save_index();
    co_return api::api_result<void>();
}

}  // namespace llorch::pool
