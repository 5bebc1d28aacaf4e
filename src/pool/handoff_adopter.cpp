#include "pool/handoff_adopter.h"

#include <cstdlib>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "pool/replica_monitor.h"

namespace llorch::pool {
namespace fs = std::filesystem;

handoff_adopter::handoff_adopter(std::shared_ptr<pool_runtime> rt) : rt_(std::move(rt)) {}

handoff_adopter::~handoff_adopter() { stop(); }

void handoff_adopter::start() {
    const auto& o = rt_->opts();
    if (!o.watch_handoffs || watcher_) return;
    std::weak_ptr<handoff_adopter> w = weak_from_this();
    handoff_watcher::options wo;
    wo.dir = o.runtime_dir;
    wo.watch_interval = o.watch_interval;
    watcher_ = std::make_unique<handoff_watcher>(
        rt_->io(), wo,
        [w](const fs::path& f) {
            if (auto self = w.lock()) self->on_change(f);
        },
        [w](const fs::path& f) {
            if (auto self = w.lock()) self->on_removed(f);
        });
    if (auto r = watcher_->start(); !r) {
        rt_->log().warn("not watching {} for handoff files: {}", o.runtime_dir.string(),
                        r.error().message);
        watcher_.reset();
    }
}

void handoff_adopter::stop() {
    stopped_ = true;
    if (watcher_) watcher_->stop();
}

void handoff_adopter::count(const std::string& pool_id, const char* outcome) {
    ++outcomes_[{pool_id, outcome}];
}

bool handoff_adopter::current(const fs::path& file, uint64_t version) {
    return !stopped_ && !rt_->stopping() && versions_[file] == version;
}

void handoff_adopter::on_change(const fs::path& file) {
    auto version = ++versions_[file];
    auto parsed = read_handoff_file(file);
    auto& log = rt_->log();
    if (!parsed) {
        count(file.stem().string(), "malformed");
        log.warn("handoff file skipped: {}", parsed.error().message);
        return;
    }
    const auto& h = *parsed;
    if (auto p = rt_->table().find(h.pool_id); p && !p->adopted) {
        // This manager's own file, or another file claiming one of its pool ids.
        if (file != handoff_path(rt_->opts().runtime_dir, h.pool_id)) {
            count(h.pool_id, "conflict");
            log.warn("handoff file {} names pool {}, which this node runs itself; skipped",
                     file.string(), h.pool_id);
        }
        return;
    }
    if (!h.ready) {
        count(h.pool_id, "not_ready");
        log.info("handoff file {}: pool {} is not ready yet", file.string(), h.pool_id);
        return;
    }
    auto kind =
        h.engine.empty() ? std::optional(engine_kind::llamacpp) : parse_engine_kind(h.engine);
    if (!kind || *kind == engine_kind::sim) {
        count(h.pool_id, "malformed");
        log.warn("handoff file {}: engine \"{}\" cannot be adopted", file.string(), h.engine);
        return;
    }
    rt_->background().spawn(adopt(file, h, *kind, version), "adoption of " + file.string());
}

// Retries every watch interval while the file stays as it is (the engine may still be loading).
asio::awaitable<void> handoff_adopter::adopt(fs::path file, handoff h, engine_kind kind,
                                             uint64_t version) {
    auto self = shared_from_this();
    auto& log = rt_->log();
    auto r = std::make_shared<replica>();
    r->base_url = h.endpoint;
    while (!r->base_url.empty() && r->base_url.back() == '/') r->base_url.pop_back();
    if (!h.api_key_env.empty())
        if (const char* key = std::getenv(h.api_key_env.c_str())) r->api_key = key;
    r->slots = std::max(1, h.slots);
    r->external_pid = h.pid.value_or(0);
    bool reported = false;
    for (;;) {
        if (!current(file, version)) co_return;
        if (co_await rt_->probe(r, kind)) break;
        if (!current(file, version)) co_return;
        if (!reported) {
            count(h.pool_id, "unreachable");
            log.warn("handoff file {}: {} does not answer its health check; retrying every {} ms",
                     file.string(), r->base_url, rt_->opts().watch_interval.count());
            reported = true;
        }
        co_await sleep_for(rt_->opts().watch_interval);
    }
    auto existing = rt_->table().find(h.pool_id);
    if (existing && !existing->adopted) co_return;  // became ours meanwhile
    if (existing) release(existing, "its handoff file changed");
    auto p = std::make_shared<pool_entry>();
    p->adopted = true;
    p->adopted_from = file;
    p->policy = std::make_unique<restart_policy>(rt_->opts().restart, rt_->next_seed());
    auto& c = p->cfg;
    c.id = h.pool_id;
    c.engine = kind;
    c.name = !h.model.empty() ? h.model : h.pool_id;
    c.model = !h.model_path.empty() ? h.model_path : c.name;
    c.endpoint = r->base_url;
    c.slots = r->slots;
    c.device = "cpu";
    if (!h.gpu_device.empty() && h.gpu_device != "cpu") {
        c.device = "gpu:" + h.gpu_device;
        c.gpus = parse_device(c.device).value_or(std::vector<int>{});
    }
    r->model = c.model;
    r->model_name = c.name;
    p->replicas.push_back(r);
    rt_->table().insert(p);
    rt_->set_state(*p, pool_state::provisioning);
    rt_->set_state(*p, pool_state::starting);
    log.info("pool_id={} adopted from {}: {} engine at {}, {} slots", c.id, file.string(),
             to_string(kind), r->base_url, r->slots);
    count(c.id, "adopted");
    replica_monitor::start(rt_, p, r);
    if (rt_->opts().auto_delete_handoff) {
        std::error_code ec;
        self_deleted_.insert(file);
        if (!fs::remove(file, ec)) self_deleted_.erase(file);
        if (ec) log.warn("cannot delete handoff file {}: {}", file.string(), ec.message());
    }
}

void handoff_adopter::on_removed(const fs::path& file) {
    ++versions_[file];
    if (self_deleted_.erase(file)) return;
    for (const auto& [id, p] : rt_->table().entries())
        if (p->adopted && p->adopted_from == file) {
            release(p, "its handoff file was removed");
            return;
        }
}

void handoff_adopter::release(std::shared_ptr<pool_entry> p, const std::string& why) {
    rt_->log().info("pool_id={} released: {}", p->cfg.id, why);
    rt_->set_state(*p, pool_state::draining);
    for (auto& r : p->replicas) rt_->stop_replica(*r);
    rt_->set_state(*p, pool_state::offline);
    rt_->table().erase(p->cfg.id);
    rt_->notify(p->cfg.id);
}

}  // namespace llorch::pool
