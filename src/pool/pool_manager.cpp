#include "pool/pool_manager.h"
#include "pool/pool_names.h"
#include "pool/sim_engine_args.h"
#include "pool/vram_estimate.h"

#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "common/log.h"
#include "common/paths.h"
#include "common/subprocess.h"
#include "http/client.h"
#include "http/ids.h"
#include "pool/handoff.h"
#include "pool/handoff_watcher.h"

namespace llorch::pool {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using asio::use_awaitable;

namespace {

engines::engine_kind_id adapter_kind(engine_kind k) {
    switch (k) {
        case engine_kind::openai:
            return engines::engine_kind_id::openai;
        case engine_kind::ollama:
            return engines::engine_kind_id::ollama;
        default:
            return engines::engine_kind_id::llamacpp;
    }
}

uint16_t pick_free_port() {
    asio::io_context tmp;
    asio::ip::tcp::acceptor a(tmp, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

std::string tail_lines(const fs::path& p, size_t n) {
    std::ifstream f(p);
    std::vector<std::string> lines;
    std::string line;
    while (std::getline(f, line)) {
        lines.push_back(line);
        if (lines.size() > n) lines.erase(lines.begin());
    }
    std::string out;
    for (const auto& l : lines) {
        if (!out.empty()) out += " | ";
        out += l;
    }
    return out;
}

// Copy-and-truncate rotation: the engine keeps its O_APPEND descriptor and writes on at 0.
void rotate_log(const fs::path& p, size_t limit) {
    std::error_code ec;
    auto size = fs::file_size(p, ec);
    if (ec || size < limit) return;
    fs::copy_file(p, p.string() + ".1", fs::copy_options::overwrite_existing, ec);
    fs::resize_file(p, 0, ec);
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
}

}  // namespace

// One engine process (or, for engines run elsewhere, one endpoint) with its slots.
struct replica {
    int index = 0;
    std::string base_url;
    std::string api_key;
    uint16_t port = 0;
    common::subprocess proc;
    fs::path log;
    int slots = 1;
    int in_flight = 0;
    bool ready = false;
    bool retired = false;  // replaced by a reload; stops when its last stream ends
    bool stopped = false;
    std::string model_name;
    std::string model;
    long external_pid = 0;  // an adopted engine's pid, as its handoff file says
    int engine_busy = -1;   // busy slots the engine itself reported at the last probe; -1 unknown
    bool slot_mismatch = false;
};

struct pool_entry {
    pool_config cfg;
    pool_state state = pool_state::uninitialized;
    std::string last_error;
    int restarts = 0;
    bool adopted = false;
    bool reloading = false;
    bool stopping = false;
    long long generation = 0;
    std::vector<std::shared_ptr<replica>> replicas;
    std::unique_ptr<restart_policy> policy;
    std::vector<gpu::gpu_info> gpus;
    uint64_t infer_total = 0, infer_rejected = 0, health_ok = 0, health_fail = 0;
    uint64_t slot_mismatches = 0;
    fs::path adopted_from;  // the handoff file an adopted pool came from

    // Whether this manager runs the pool's engine processes (an adopted engine runs elsewhere).
    bool runs_engine() const { return is_managed(cfg.engine) && !adopted; }

    int in_flight() const {
        int n = 0;
        for (const auto& r : replicas) n += r->in_flight;
        return n;
    }
    int slots_total() const {
        int n = 0;
        for (const auto& r : replicas)
            if (!r->retired) n += r->slots;
        return n > 0 ? n : cfg.slots;
    }
    int slots_free() const {
        if (!accepts_requests(state)) return 0;
        int n = 0;
        for (const auto& r : replicas)
            if (r->ready && !r->retired) n += std::max(0, r->slots - r->in_flight);
        return n;
    }
};

struct pool_manager::impl : std::enable_shared_from_this<impl> {
    asio::io_context& io;
    manager_options opts;
    std::shared_ptr<gpu::gpu_inventory> gpus;
    std::map<std::string, std::shared_ptr<pool_entry>, std::less<>> pools;
    std::unique_ptr<http::client> client;
    std::shared_ptr<spdlog::logger> log = common::logger("pool");
    std::function<void(const std::string&)> capacity_cb;
    bool stopping = false;
    gpu::discovery_result last_discovery;
    // NVML and nvidia-smi block: discovery runs here, and its result is posted back.
    asio::thread_pool blocking{1};
    std::unique_ptr<handoff_watcher> watcher;
    // (pool_id, outcome) -> handoff files processed; pool_id is the file's stem when unreadable.
    std::map<std::pair<std::string, std::string>, uint64_t> handoff_outcomes;
    // Files this manager deleted itself (auto-delete), so their removal releases no pool.
    std::set<fs::path> self_deleted;
    // Bumped on every change or removal of a file: a pending adoption of an older version ends.
    std::map<fs::path, uint64_t> handoff_versions;
    uint64_t next_seed = 0x51ed270b27aa5f1bull;

    impl(asio::io_context& io_, manager_options o, std::shared_ptr<gpu::gpu_inventory> g)
        : io(io_),
          opts(std::move(o)),
          gpus(std::move(g)),
          client(std::make_unique<http::client>(io_)) {}

    void notify(const std::string& id) {
        if (capacity_cb) capacity_cb(id);
    }

    void set_state(pool_entry& p, pool_state to, const std::string& why = {}) {
        if (p.state == to) return;
        if (!can_transition(p.state, to)) {
            log->warn("pool_id={} ignoring transition {} -> {}", p.cfg.id, to_string(p.state),
                      to_string(to));
            return;
        }
        log->info("pool_id={} state {} -> {}{}{}", p.cfg.id, to_string(p.state), to_string(to),
                  why.empty() ? "" : ": ", why);
        p.state = to;
        if (to == pool_state::failed) p.last_error = why;
        if (to == pool_state::ready)
            write_own_handoff(p);
        else
            remove_own_handoff(p);
        notify(p.cfg.id);
    }

    // `<runtime_dir>/<pool_id>.json` for a ready pool this manager runs. Never holds the engine's
    // API key: the file is for finding the engine, and all traffic goes through this daemon.
    void write_own_handoff(pool_entry& p) {
        if (p.adopted || p.state != pool_state::ready) return;
        auto r = std::find_if(p.replicas.begin(), p.replicas.end(),
                              [](const auto& x) { return x->ready && !x->retired; });
        if (r == p.replicas.end()) return;
        handoff h;
        h.pool_id = p.cfg.id;
        h.engine = std::string(to_string(p.cfg.engine));
        h.endpoint = (*r)->base_url;
        for (int g : p.cfg.gpus)
            h.gpu_device += (h.gpu_device.empty() ? "" : ",") + std::to_string(g);
        if (h.gpu_device.empty()) h.gpu_device = "cpu";
        h.slots = p.slots_total();
        h.ready = true;
        h.model = p.cfg.name;
        h.model_path = (*r)->model;
        if ((*r)->proc.pid() > 0) h.pid = static_cast<int>((*r)->proc.pid());
        if (p.cfg.engine == engine_kind::llamacpp) h.engine_version = LLORCH_ENGINE_SOURCE_VERSION;
        h.replica_id = "r" + std::to_string((*r)->index);
        if (auto w = write_handoff_atomic(opts.runtime_dir, h); !w)
            log->warn("pool_id={} cannot write its handoff file: {}", p.cfg.id, w.error());
    }

    void remove_own_handoff(pool_entry& p) {
        if (p.adopted) return;
        if (auto w = remove_handoff(opts.runtime_dir, p.cfg.id); !w)
            log->warn("pool_id={} cannot remove its handoff file: {}", p.cfg.id, w.error());
    }

    fs::path engine_binary(const pool_config& c) const {
        if (!c.engine_path.empty()) return c.engine_path;
        if (c.engine == engine_kind::sim) {
            // The simulator ships with llama-orch: next to this daemon's own binary.
            std::error_code ec;
            auto self_exe = fs::read_symlink("/proc/self/exe", ec);
            return ec ? fs::path("llorch-sim") : self_exe.parent_path() / "llorch-sim";
        }
        auto e = common::find_engine();
        return e ? *e : fs::path();
    }

    std::vector<std::string> engine_argv(const pool_config& c, const replica& r,
                                         const fs::path& engine, const std::string& model) const {
        std::vector<std::string> a{engine.string(),
                                   "-m",
                                   model,
                                   "--host",
                                   "127.0.0.1",
                                   "--port",
                                   std::to_string(r.port),
                                   "-np",
                                   std::to_string(r.slots),
                                   "-c",
                                   std::to_string(static_cast<long long>(c.ctx) * r.slots),
                                   "--api-key",
                                   r.api_key,
                                   "--no-webui"};
        if (c.threads > 0) {
            a.push_back("-t");
            a.push_back(std::to_string(c.threads));
        }
        if (!c.gpus.empty()) {
            a.push_back("-ngl");
            a.push_back("999");
        }
        for (const auto& x : c.extra_args) a.push_back(x);
        return a;
    }

    // Checks what must hold before an engine can start; the error says what to do.
    std::string provision_check(pool_entry& p, const std::string& model) {
        const auto& c = p.cfg;
        if (!p.runs_engine()) return {};
        if (engine_binary(c).empty())
            return "llama-server is not built: run `make run` or scripts/build-engine.sh, or set "
                   "LLORCH_ENGINE / engine_path";
        if (!fs::exists(engine_binary(c)))
            return "engine not found at " + engine_binary(c).string();
        // A simulated engine serves a model by name only.
        if (c.engine != engine_kind::sim && !fs::exists(model))
            return "model file not found: " + model +
                   (model.ends_with("tiny.gguf") ? " (create it with `llorch model make-tiny`)"
                                                 : "");
        if (!c.gpus.empty()) {
            last_discovery = gpus ? gpus->discover() : gpu::discovery_result{};
            if (last_discovery.gpus.empty())
                return "POOL_UNAVAILABLE: device \"" + c.device +
                       "\" needs an NVIDIA GPU, but none was found (" + last_discovery.reason +
                       "); use device = \"cpu\" on machines without one";
            p.gpus.clear();
            uint64_t free_bytes = 0;
            for (int want : c.gpus) {
                auto it = std::find_if(last_discovery.gpus.begin(), last_discovery.gpus.end(),
                                       [&](const gpu::gpu_info& g) { return g.index == want; });
                if (it == last_discovery.gpus.end())
                    return "POOL_UNAVAILABLE: GPU " + std::to_string(want) + " of device \"" +
                           c.device + "\" does not exist on this machine";
                p.gpus.push_back(*it);
                free_bytes += it->memory_free_bytes;
            }
            // VRAM policy: weights plus the KV cache of every slot must fit the GPUs' free VRAM.
            auto need = estimate_vram(model, c.ctx, c.slots);
            if (!need) return "POOL_UNAVAILABLE: " + need.error();
            if (need->total() > free_bytes)
                return "POOL_UNAVAILABLE: the pool needs about " +
                       std::to_string(need->total() >> 20) + " MiB of VRAM (weights " +
                       std::to_string(need->weights_bytes >> 20) + " MiB, KV cache " +
                       std::to_string(need->kv_bytes >> 20) + " MiB for " +
                       std::to_string(c.slots) + " x " + std::to_string(c.ctx) +
                       " tokens) but its GPUs have " + std::to_string(free_bytes >> 20) +
                       " MiB free; lower slots or ctx, or use a bigger GPU";
        }
        return {};
    }

    asio::awaitable<bool> probe(const replica& r, const engines::engine_adapter& a) {
        http::client_request q;
        q.url = r.base_url + a.health_path();
        q.timeout = 2s;
        if (!r.api_key.empty()) q.headers.add("Authorization", "Bearer " + r.api_key);
        auto res = co_await client->send(std::move(q));
        co_return res && res->status == 200;
    }

    expected<std::shared_ptr<replica>, std::string> spawn_replica(pool_entry& p, int index,
                                                                  const std::string& model,
                                                                  long long gen) {
        const auto& c = p.cfg;
        auto r = std::make_shared<replica>();
        r->index = index;
        r->slots = std::max(1, c.slots / std::max(1, c.replicas));
        r->model = model;
        r->model_name = c.name;
        if (!p.runs_engine()) {
            r->base_url = c.endpoint;
            while (!r->base_url.empty() && r->base_url.back() == '/') r->base_url.pop_back();
            r->slots = c.slots;
            return r;
        }
        r->port = c.port ? static_cast<uint16_t>(*c.port + index) : pick_free_port();
        r->api_key = http::random_hex(24);
        r->base_url = "http://127.0.0.1:" + std::to_string(r->port);
        std::error_code ec;
        fs::create_directories(opts.runtime_dir / "logs", ec);
        r->log =
            opts.runtime_dir / "logs" /
            (c.id + "-" + std::to_string(index) + (gen ? "-g" + std::to_string(gen) : "") + ".log");
        rotate_log(r->log, opts.log_rotate_bytes);
        common::spawn_options so;
        so.argv = engine_argv(c, *r, engine_binary(c), model);
        if (c.engine == engine_kind::sim) so.argv = sim_engine_argv(so.argv);
        so.log_file = r->log;
        if (!c.gpus.empty()) {
            std::string v;
            for (int g : c.gpus) v += (v.empty() ? "" : ",") + std::to_string(g);
            so.env.emplace_back("CUDA_VISIBLE_DEVICES", v);
        }
        auto proc = common::subprocess::spawn(so);
        if (!proc) return fail(proc.error());
        r->proc = std::move(*proc);
        log->info("pool_id={} replica={} pid={} started engine on port {}", c.id, index,
                  r->proc.pid(), r->port);
        return r;
    }

    // Waits until the replica answers its health check, dies, or the timeout passes.
    asio::awaitable<std::string> wait_ready(pool_entry& p, std::shared_ptr<replica> r) {
        const auto& a = engines::adapter_for(adapter_kind(p.cfg.engine));
        auto deadline = std::chrono::steady_clock::now() + opts.ready_timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            if (p.runs_engine() && !r->proc.running()) {
                auto st = r->proc.status();
                co_return "engine " + (st ? common::subprocess::describe(*st) : "ended") +
                    " while starting; last log lines: " + tail_lines(r->log, 5);
            }
            if (r->stopped) co_return "stopped while starting";
            if (co_await probe(*r, a)) co_return std::string();
            co_await sleep_for(100ms);
        }
        co_return "engine not ready within " + std::to_string(opts.ready_timeout.count()) + " ms";
    }

    void stop_replica(replica& r) {
        r.stopped = true;
        r.ready = false;
        r.proc.stop(2s);
    }

    // Starts the pool's replicas and supervises them until the pool stops or fails.
    asio::awaitable<void> run_pool(std::shared_ptr<pool_entry> p) {
        auto self = shared_from_this();
        set_state(*p, pool_state::provisioning);
        if (auto why = provision_check(*p, p->cfg.model); !why.empty()) {
            set_state(*p, pool_state::failed, why);
            co_return;
        }
        set_state(*p, pool_state::starting);
        for (int i = 0; i < (p->runs_engine() ? p->cfg.replicas : 1); ++i) {
            auto r = spawn_replica(*p, i, p->cfg.model, p->generation);
            if (!r) {
                set_state(*p, pool_state::failed, r.error());
                co_return;
            }
            p->replicas.push_back(*r);
        }
        for (auto& r : p->replicas) asio::co_spawn(io, supervise(p, r), asio::detached);
    }

    // Keeps one replica alive: readiness, liveness probes, restart with backoff, crash loop.
    asio::awaitable<void> supervise(std::shared_ptr<pool_entry> p, std::shared_ptr<replica> r) {
        auto self = shared_from_this();
        const auto& a = engines::adapter_for(adapter_kind(p->cfg.engine));
        for (;;) {
            auto why = co_await wait_ready(*p, r);
            if (r->stopped || stopping) co_return;
            if (why.empty()) {
                r->ready = true;
                if (p->state == pool_state::starting)
                    set_state(*p, pool_state::ready);
                else
                    write_own_handoff(*p);  // a restarted replica: new pid and port
                notify(p->cfg.id);
                int failures = 0;
                auto next_probe = std::chrono::steady_clock::now() + opts.health_interval;
                // Process exit is noticed within 100 ms; a hung engine after N failed probes.
                while (!r->stopped) {
                    co_await sleep_for(100ms);
                    if (r->stopped) co_return;
                    if (p->runs_engine() && !r->proc.running()) {
                        auto st = r->proc.status();
                        why = "engine " + (st ? common::subprocess::describe(*st) : "ended") +
                              "; last log lines: " + tail_lines(r->log, 5);
                        break;
                    }
                    if (std::chrono::steady_clock::now() >= next_probe) {
                        next_probe = std::chrono::steady_clock::now() + opts.health_interval;
                        if (co_await probe(*r, a)) {
                            failures = 0;
                            ++p->health_ok;
                            if (p->cfg.engine == engine_kind::llamacpp && !r->stopped)
                                co_await check_engine_slots(*p, *r);
                        } else {
                            ++p->health_fail;
                            if (++failures >= opts.health_failures_before_restart) {
                                why = "engine failed " + std::to_string(failures) +
                                      " health checks in a row";
                                break;
                            }
                        }
                        if (p->runs_engine()) rotate_log(r->log, opts.log_rotate_bytes);
                    }
                }
                if (r->stopped) co_return;
            }
            // The replica is down: restart it, or give the pool up after a crash loop.
            r->ready = false;
            if (p->runs_engine()) r->proc.stop(500ms);
            notify(p->cfg.id);
            log->warn("pool_id={} replica={} down: {}", p->cfg.id, r->index, why);
            p->last_error = why;
            if (r->retired) co_return;
            if (!p->runs_engine()) {
                // An engine run elsewhere: keep probing until it answers again.
                bool any_ready = std::any_of(p->replicas.begin(), p->replicas.end(),
                                             [](const auto& x) { return x->ready; });
                if (!any_ready && p->state == pool_state::ready)
                    set_state(*p, pool_state::starting, why);
                co_await sleep_for(opts.health_interval);
                continue;
            }
            auto d = p->policy->on_crash(std::chrono::steady_clock::now());
            if (d.give_up) {
                for (auto& x : p->replicas) stop_replica(*x);
                set_state(*p, pool_state::failed, "crash loop: " + why);
                co_return;
            }
            ++p->restarts;
            bool any_ready = std::any_of(p->replicas.begin(), p->replicas.end(),
                                         [](const auto& x) { return x->ready; });
            if (!any_ready && p->state == pool_state::ready)
                set_state(*p, pool_state::starting, why);
            co_await sleep_for(d.delay);
            if (r->stopped || stopping || p->stopping) co_return;
            common::spawn_options so;
            auto fresh = spawn_replica(*p, r->index, r->model, p->generation);
            if (!fresh) {
                set_state(*p, pool_state::failed, fresh.error());
                co_return;
            }
            r->proc = std::move((*fresh)->proc);
            r->port = (*fresh)->port;
            r->api_key = (*fresh)->api_key;
            r->base_url = (*fresh)->base_url;
            r->log = (*fresh)->log;
        }
    }

    // Cross-checks the slot count with the engine's own (llama-server: GET /slots). The count that
    // admission uses stays pool-managerd's: the engine's lags a cancel and leads a new request by
    // a few milliseconds, but an engine busier than our count for longer means slots leak.
    asio::awaitable<void> check_engine_slots(pool_entry& p, replica& r) {
        http::client_request q;
        q.url = r.base_url + "/slots";
        q.timeout = 2s;
        if (!r.api_key.empty()) q.headers.add("Authorization", "Bearer " + r.api_key);
        auto res = co_await client->send(std::move(q));
        if (!res || res->status != 200) {  // started with --no-slots, or an older server
            r.engine_busy = -1;
            co_return;
        }
        boost::system::error_code ec;
        auto v = boost::json::parse(res->body, ec);
        if (ec || !v.is_array()) {
            r.engine_busy = -1;
            co_return;
        }
        int busy = 0;
        for (const auto& slot : v.get_array()) {
            const auto* o = slot.if_object();
            const auto* processing = o ? o->if_contains("is_processing") : nullptr;
            if (processing && processing->is_bool() && processing->get_bool()) ++busy;
        }
        r.engine_busy = busy;
        if (busy > r.in_flight) {
            ++p.slot_mismatches;
            if (!r.slot_mismatch)
                log->warn(
                    "pool_id={} replica={} engine reports {} busy slots but pool-managerd "
                    "counts {} in flight",
                    p.cfg.id, r.index, busy, r.in_flight);
            r.slot_mismatch = true;
        } else if (r.slot_mismatch) {
            log->info("pool_id={} replica={} engine's busy slots agree again ({} <= {})", p.cfg.id,
                      r.index, busy, r.in_flight);
            r.slot_mismatch = false;
        }
    }

    // ---- handoff files of engines started outside this manager --------------------------------

    void count_handoff(const std::string& pool_id, const char* outcome) {
        ++handoff_outcomes[{pool_id, outcome}];
    }

    void start_watcher() {
        if (!opts.watch_handoffs || watcher) return;
        std::weak_ptr<impl> w = weak_from_this();
        handoff_watcher::options wo;
        wo.dir = opts.runtime_dir;
        wo.watch_interval = opts.watch_interval;
        watcher = std::make_unique<handoff_watcher>(
            io, wo,
            [w](const fs::path& f) {
                if (auto self = w.lock()) self->on_handoff_change(f);
            },
            [w](const fs::path& f) {
                if (auto self = w.lock()) self->on_handoff_removed(f);
            });
        if (auto r = watcher->start(); !r) {
            log->warn("not watching {} for handoff files: {}", opts.runtime_dir.string(),
                      r.error());
            watcher.reset();
        }
    }

    void on_handoff_change(const fs::path& file) {
        auto version = ++handoff_versions[file];
        auto parsed = read_handoff_file(file);
        if (!parsed) {
            count_handoff(file.stem().string(), "malformed");
            log->warn("handoff file skipped: {}", parsed.error());
            return;
        }
        const auto& h = *parsed;
        if (auto it = pools.find(h.pool_id); it != pools.end() && !it->second->adopted) {
            // This manager's own file, or another file claiming one of its pool ids.
            if (file != handoff_path(opts.runtime_dir, h.pool_id)) {
                count_handoff(h.pool_id, "conflict");
                log->warn("handoff file {} names pool {}, which this node runs itself; skipped",
                          file.string(), h.pool_id);
            }
            return;
        }
        if (!h.ready) {
            count_handoff(h.pool_id, "not_ready");
            log->info("handoff file {}: pool {} is not ready yet", file.string(), h.pool_id);
            return;
        }
        auto kind =
            h.engine.empty() ? std::optional(engine_kind::llamacpp) : parse_engine_kind(h.engine);
        if (!kind || *kind == engine_kind::sim) {
            count_handoff(h.pool_id, "malformed");
            log->warn("handoff file {}: engine \"{}\" cannot be adopted", file.string(), h.engine);
            return;
        }
        asio::co_spawn(io, adopt(file, h, *kind, version), asio::detached);
    }

    // Adopts the engine a handoff file announces, once its health endpoint answers. Retries every
    // watch interval while the file stays as it is (the engine may still be loading).
    asio::awaitable<void> adopt(fs::path file, handoff h, engine_kind kind, uint64_t version) {
        auto self = shared_from_this();
        auto r = std::make_shared<replica>();
        r->base_url = h.endpoint;
        while (!r->base_url.empty() && r->base_url.back() == '/') r->base_url.pop_back();
        if (!h.api_key_env.empty())
            if (const char* key = std::getenv(h.api_key_env.c_str())) r->api_key = key;
        r->slots = std::max(1, h.slots);
        r->external_pid = h.pid.value_or(0);
        const auto& a = engines::adapter_for(adapter_kind(kind));
        bool reported = false;
        for (;;) {
            if (stopping || handoff_versions[file] != version) co_return;
            if (co_await probe(*r, a)) break;
            if (stopping || handoff_versions[file] != version) co_return;
            if (!reported) {
                count_handoff(h.pool_id, "unreachable");
                log->warn("handoff file {}: {} does not answer {}; retrying every {} ms",
                          file.string(), r->base_url, a.health_path(), opts.watch_interval.count());
                reported = true;
            }
            co_await sleep_for(opts.watch_interval);
        }
        auto it = pools.find(h.pool_id);
        if (it != pools.end() && !it->second->adopted) co_return;  // became ours meanwhile
        if (it != pools.end()) release_adopted(it->second, "its handoff file changed");
        auto p = std::make_shared<pool_entry>();
        p->adopted = true;
        p->adopted_from = file;
        p->policy = std::make_unique<restart_policy>(opts.restart, next_seed++);
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
        pools[c.id] = p;
        set_state(*p, pool_state::provisioning);
        set_state(*p, pool_state::starting);
        log->info("pool_id={} adopted from {}: {} engine at {}, {} slots", c.id, file.string(),
                  to_string(kind), r->base_url, r->slots);
        count_handoff(c.id, "adopted");
        asio::co_spawn(io, supervise(p, r), asio::detached);
        if (opts.auto_delete_handoff) {
            std::error_code ec;
            self_deleted.insert(file);
            if (!fs::remove(file, ec)) self_deleted.erase(file);
            if (ec) log->warn("cannot delete handoff file {}: {}", file.string(), ec.message());
        }
    }

    void on_handoff_removed(const fs::path& file) {
        ++handoff_versions[file];
        if (self_deleted.erase(file)) return;
        for (auto& [id, p] : pools)
            if (p->adopted && p->adopted_from == file) {
                release_adopted(p, "its handoff file was removed");
                return;
            }
    }

    // Forgets an adopted pool; streams in flight keep their replica until they end.
    void release_adopted(std::shared_ptr<pool_entry> p, const std::string& why) {
        log->info("pool_id={} released: {}", p->cfg.id, why);
        set_state(*p, pool_state::draining);
        for (auto& r : p->replicas) stop_replica(*r);
        set_state(*p, pool_state::offline);
        pools.erase(p->cfg.id);
        notify(p->cfg.id);
    }

    asio::awaitable<void> drain_pool(std::shared_ptr<pool_entry> p,
                                     std::chrono::milliseconds deadline) {
        auto self = shared_from_this();
        if (p->state != pool_state::draining) set_state(*p, pool_state::draining);
        p->stopping = true;
        auto end = std::chrono::steady_clock::now() + deadline;
        while (p->in_flight() > 0 && std::chrono::steady_clock::now() < end)
            co_await sleep_for(20ms);
        for (auto& r : p->replicas) stop_replica(*r);
        set_state(*p, pool_state::offline);
    }
};

namespace {

// A generation on one replica: opens the engine stream lazily and decodes it.
class replica_stream : public infer_stream {
  public:
    replica_stream(std::shared_ptr<pool_manager::impl> m, std::shared_ptr<pool_entry> p,
                   std::shared_ptr<replica> r, engines::generation_request g)
        : m_(std::move(m)),
          p_(std::move(p)),
          r_(std::move(r)),
          g_(std::move(g)),
          adapter_(engines::adapter_for(adapter_kind(p_->cfg.engine))),
          decoder_(adapter_.decoder(g_)) {
        ++r_->in_flight;
    }
    ~replica_stream() override {
        if (stream_ && ended_ && !cancelled_) {
            // The engine said `end`: what is left of its body is the last chunk. Reading it
            // returns the connection to the client's pool, so the next request skips a connect.
            http::response_stream::finish_in_background(std::move(stream_), 1s);
        } else if (stream_) {
            // Cancelled or broken: closing is what makes llama-server free the slot at once.
            stream_->abort();
        }
        release_slot();
    }

    asio::awaitable<std::optional<engines::engine_event>> next() override {
        for (;;) {
            if (!pending_.empty()) {
                auto ev = std::move(pending_.front());
                pending_.erase(pending_.begin());
                if (ev.type != engines::engine_event::kind::token) {
                    // The slot frees with the terminal event, before the caller relays it: a
                    // client that sends its next request on seeing `end` finds the slot free.
                    done_ = true;
                    ended_ = ev.type == engines::engine_event::kind::end;
                    release_slot();
                }
                co_return ev;
            }
            if (done_ || cancelled_) co_return std::nullopt;
            if (!stream_) {
                auto call = adapter_.build(g_, r_->model_name);
                http::client_request q;
                q.method = "POST";
                q.url = r_->base_url + call.path;
                q.body = std::move(call.body);
                q.timeout = m_->opts.request_timeout;
                if (!r_->api_key.empty()) q.headers.add("Authorization", "Bearer " + r_->api_key);
                auto s = co_await m_->client->open(std::move(q));
                if (cancelled_) co_return std::nullopt;
                if (!s) {
                    pending_.push_back(failure_event(s.error()));
                    continue;
                }
                stream_ = std::move(*s);
                if (stream_->status() != 200) {
                    std::string body;
                    for (int i = 0; i < 16; ++i) {
                        auto piece = co_await stream_->read_some(2s);
                        if (!piece || piece->empty()) break;
                        body += *piece;
                    }
                    engines::engine_event ev;
                    ev.type = engines::engine_event::kind::error;
                    ev.message = "engine answered " + std::to_string(stream_->status()) + ": " +
                                 body.substr(0, 300);
                    // A 4xx is about the request (e.g. a prompt over the context): no other pool
                    // would take it either.
                    int st = stream_->status();
                    if (st >= 400 && st < 500 && st != 401 && st != 403 && st != 429)
                        ev.finish_reason = "INVALID_PARAMS";
                    pending_.push_back(std::move(ev));
                    continue;
                }
            }
            auto piece = co_await stream_->read_some(m_->opts.stall_timeout);
            if (cancelled_) co_return std::nullopt;
            if (!piece) {
                pending_.push_back(failure_event(piece.error()));
                continue;
            }
            if (piece->empty())
                decoder_->finish(pending_);
            else
                decoder_->feed(*piece, pending_);
        }
    }

    void cancel() override {
        cancelled_ = true;
        if (stream_) stream_->abort();
    }

    void release_slot() {
        if (released_) return;
        released_ = true;
        --r_->in_flight;
        if (r_->retired && r_->in_flight == 0) r_->proc.stop(2s);
        m_->notify(p_->cfg.id);
    }
    const std::string& pool_id() const override { return p_->cfg.id; }
    const std::string& model_name() const override { return r_->model_name; }

  private:
    engines::engine_event failure_event(const http::client_error& e) {
        engines::engine_event ev;
        ev.type = engines::engine_event::kind::error;
        if (e.code == http::client_errc::timeout && e.response_started)
            ev.finish_reason = "DECODE_TIMEOUT";
        else if (e.code == http::client_errc::timeout)
            ev.finish_reason = "DECODE_TIMEOUT";
        else
            ev.finish_reason = "WORKER_RESET";
        ev.message = ev.finish_reason == "DECODE_TIMEOUT"
                         ? "the engine produced nothing for " +
                               std::to_string(m_->opts.stall_timeout.count()) + " ms"
                         : "lost the engine: " + e.message;
        return ev;
    }

    std::shared_ptr<pool_manager::impl> m_;
    std::shared_ptr<pool_entry> p_;
    std::shared_ptr<replica> r_;
    engines::generation_request g_;
    const engines::engine_adapter& adapter_;
    std::unique_ptr<engines::stream_decoder> decoder_;
    std::unique_ptr<http::response_stream> stream_;
    std::vector<engines::engine_event> pending_;
    bool done_ = false;
    bool ended_ = false;  // the terminal event was `end`: the engine finished the generation
    bool cancelled_ = false;
    bool released_ = false;
};

}  // namespace

pool_manager::pool_manager(asio::io_context& io, manager_options opts,
                           std::vector<pool_config> pools, std::shared_ptr<gpu::gpu_inventory> gpus)
    : impl_(std::make_shared<impl>(io, std::move(opts), std::move(gpus))) {
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (auto& c : pools) {
        auto e = std::make_shared<pool_entry>();
        e->policy = std::make_unique<restart_policy>(impl_->opts.restart, seed++);
        e->cfg = std::move(c);
        impl_->pools[e->cfg.id] = std::move(e);
    }
}

pool_manager::~pool_manager() {
    impl_->stopping = true;
    if (impl_->watcher) impl_->watcher->stop();
    for (auto& [id, p] : impl_->pools) {
        for (auto& r : p->replicas) impl_->stop_replica(*r);
        impl_->remove_own_handoff(*p);
    }
}

// Refreshes the GPU figures of GPU pools (free VRAM in status and heartbeats) every
// gpu_discovery_interval, off the io thread.
asio::awaitable<void> gpu_refresh_loop(std::shared_ptr<pool_manager::impl> self) {
    auto io_exec = co_await asio::this_coro::executor;
    asio::steady_timer t(io_exec);
    while (!self->stopping) {
        t.expires_after(self->opts.gpu_discovery_interval);
        boost::system::error_code ec;
        co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
        if (self->stopping || !self->gpus) co_return;
        co_await asio::post(self->blocking.get_executor(), use_awaitable);
        auto found = self->gpus->discover();
        co_await asio::post(io_exec, use_awaitable);
        self->last_discovery = std::move(found);
        for (auto& [id, p] : self->pools)
            for (auto& g : p->gpus)
                for (const auto& fresh : self->last_discovery.gpus)
                    if (fresh.index == g.index) g = fresh;
    }
}

void pool_manager::start() {
    std::error_code ec;
    fs::create_directories(impl_->opts.runtime_dir, ec);
    bool any_gpu = false;
    for (auto& [id, p] : impl_->pools) any_gpu |= !p->cfg.gpus.empty();
    if (any_gpu) asio::co_spawn(impl_->io, gpu_refresh_loop(impl_), asio::detached);
    // A file left by a previous run that was killed names an engine that is gone.
    for (auto& [id, p] : impl_->pools) impl_->remove_own_handoff(*p);
    impl_->start_watcher();
    for (auto& [id, p] : impl_->pools)
        asio::co_spawn(impl_->io, impl_->run_pool(p), asio::detached);
}

asio::awaitable<void> pool_manager::stop(std::chrono::milliseconds deadline) {
    auto self = impl_;
    self->stopping = true;
    if (self->watcher) self->watcher->stop();
    // A copy: adopted pools may leave the table while a drain waits.
    std::vector<std::shared_ptr<pool_entry>> all;
    for (auto& [id, p] : self->pools) all.push_back(p);
    for (auto& p : all) {
        if (p->state == pool_state::offline || p->state == pool_state::uninitialized) continue;
        if (p->state == pool_state::failed) {
            for (auto& r : p->replicas) self->stop_replica(*r);
            continue;
        }
        co_await self->drain_pool(p, deadline);
    }
}

expected<std::unique_ptr<infer_stream>, api::error> pool_manager::begin_infer(
    const std::string& pool_id, engines::generation_request g) {
    auto it = impl_->pools.find(pool_id);
    if (it == impl_->pools.end()) {
        auto e =
            api::make_error(api::error_code::not_found, "no pool '" + pool_id + "' on this node");
        e.status = 404;
        return fail(e);
    }
    auto& p = it->second;
    ++p->infer_total;
    if (!accepts_requests(p->state)) {
        auto e = api::make_error(api::error_code::pool_unready,
                                 "pool '" + pool_id + "' is " + std::string(to_string(p->state)) +
                                     (p->last_error.empty() ? "" : ": " + p->last_error));
        e.retriable = p->state != pool_state::failed;
        e.retry_after_ms = 1000;
        ++p->infer_rejected;
        return fail(e);
    }
    std::shared_ptr<replica> best;
    for (auto& r : p->replicas) {
        if (!r->ready || r->retired) continue;
        if (r->slots - r->in_flight <= 0) continue;
        if (!best || r->slots - r->in_flight > best->slots - best->in_flight) best = r;
    }
    if (!best) {
        auto e = api::make_error(api::error_code::pool_unavailable,
                                 "pool '" + pool_id + "' has no free slot (" +
                                     std::to_string(p->slots_total()) + " busy)");
        e.retriable = true;
        e.retry_after_ms = 200;
        ++p->infer_rejected;
        return fail(e);
    }
    if (g.max_tokens <= 0) g.max_tokens = p->cfg.max_tokens_default;
    g.max_tokens = std::min(g.max_tokens, p->cfg.max_tokens_cap);
    return std::unique_ptr<infer_stream>(
        std::make_unique<replica_stream>(impl_, p, best, std::move(g)));
}

namespace {
// The model a pool serves: its last live replica's (a reload changes it), else the configured one.
const std::string& served_model(const pool_entry& p) {
    const std::string* path = &p.cfg.model;
    for (const auto& r : p.replicas)
        if (!r->retired) path = &r->model;
    return *path;
}

pool_snapshot snapshot_of(const pool_entry& p) {
    pool_snapshot s;
    s.id = p.cfg.id;
    s.name = p.cfg.name;
    s.aliases = p.cfg.aliases;
    s.engine = std::string(to_string(p.cfg.engine));
    s.device = p.cfg.device.empty() ? "cpu" : p.cfg.device;
    s.state = p.state;
    s.last_error = p.last_error;
    s.restarts = p.restarts;
    s.slots_total = p.slots_total();
    s.slots_free = p.slots_free();
    s.in_flight = p.in_flight();
    s.ctx = p.cfg.ctx;
    s.max_tokens_default = p.cfg.max_tokens_default;
    s.max_tokens_cap = p.cfg.max_tokens_cap;
    s.adopted = p.adopted;
    s.reloading = p.reloading;
    s.generation = p.generation;
    s.model = served_model(p);
    for (const auto& r : p.replicas) {
        if (r->retired) continue;
        ++s.replicas;
        if (r->proc.pid() > 0)
            s.pids.push_back(r->proc.pid());
        else if (r->external_pid > 0)
            s.pids.push_back(r->external_pid);
        s.endpoints.push_back(r->base_url);
        if (r->engine_busy >= 0)
            s.engine_slots_busy = std::max(0, s.engine_slots_busy) + r->engine_busy;
    }
    s.gpus = p.gpus;
    for (const auto& g : p.gpus) {
        s.vram_total_bytes += g.memory_total_bytes;
        s.vram_free_bytes += g.memory_free_bytes;
    }
    return s;
}
}  // namespace

std::optional<pool_manager::request_limits> pool_manager::limits_for(std::string_view model) const {
    std::optional<request_limits> out;
    for (const auto& [id, p] : impl_->pools) {
        if (!answers_to(p->cfg.name, p->cfg.aliases, served_model(*p), model)) continue;
        if (!out) {
            out = request_limits{p->cfg.max_tokens_default, p->cfg.max_tokens_cap, p->cfg.ctx};
        } else {
            out->max_tokens_cap = std::max(out->max_tokens_cap, p->cfg.max_tokens_cap);
            out->ctx = std::min(out->ctx, p->cfg.ctx);
        }
    }
    return out;
}

std::vector<pool_snapshot> pool_manager::list() const {
    std::vector<pool_snapshot> out;
    for (const auto& [id, p] : impl_->pools) out.push_back(snapshot_of(*p));
    return out;
}

std::optional<pool_snapshot> pool_manager::status(const std::string& id) const {
    auto it = impl_->pools.find(id);
    if (it == impl_->pools.end()) return std::nullopt;
    return snapshot_of(*it->second);
}

bool pool_manager::has_pool(const std::string& id) const { return impl_->pools.count(id) > 0; }

expected<void, api::error> pool_manager::drain(const std::string& id,
                                               std::chrono::milliseconds deadline) {
    auto it = impl_->pools.find(id);
    if (it == impl_->pools.end()) {
        auto e = api::make_error(api::error_code::not_found, "no pool '" + id + "' on this node");
        e.status = 404;
        return fail(e);
    }
    auto p = it->second;
    if (p->state == pool_state::draining || p->state == pool_state::offline) return {};
    asio::co_spawn(impl_->io, impl_->drain_pool(p, deadline), asio::detached);
    return {};
}

asio::awaitable<expected<pool_snapshot, api::error>> pool_manager::reload(std::string id,
                                                                          std::string new_model) {
    auto self = impl_;
    auto it = self->pools.find(id);
    if (it == self->pools.end()) {
        auto e = api::make_error(api::error_code::not_found, "no pool '" + id + "' on this node");
        e.status = 404;
        co_return fail(e);
    }
    auto p = it->second;
    if (p->reloading)
        co_return fail(api::make_error(api::error_code::conflict,
                                       "a reload of pool '" + id + "' is already running"));
    if (!p->runs_engine())
        co_return fail(
            api::make_error(api::error_code::invalid_params,
                            "pool '" + id + "' runs outside llama-orch; reload it there"));
    if (p->state != pool_state::ready)
        co_return fail(api::make_error(api::error_code::pool_unready,
                                       "pool '" + id + "' is " + std::string(to_string(p->state)) +
                                           "; only a ready pool can be reloaded"));
    p->reloading = true;
    auto done = [&] { p->reloading = false; };
    if (auto why = self->provision_check(*p, new_model); !why.empty()) {
        done();
        co_return fail(api::make_error(api::error_code::invalid_params, "reload refused: " + why));
    }
    long long gen = p->generation + 1;
    std::vector<std::shared_ptr<replica>> fresh;
    std::string why;
    for (int i = 0; i < p->cfg.replicas && why.empty(); ++i) {
        auto r = self->spawn_replica(*p, i, new_model, gen);
        if (!r)
            why = r.error();
        else
            fresh.push_back(*r);
    }
    for (auto& r : fresh) {
        if (!why.empty()) break;
        why = co_await self->wait_ready(*p, r);
    }
    if (!why.empty()) {
        for (auto& r : fresh) self->stop_replica(*r);
        p->last_error = "reload to " + new_model + " failed: " + why;
        done();
        self->log->warn("pool_id={} {}", id, p->last_error);
        co_return fail(api::make_error(api::error_code::internal, p->last_error));
    }
    // Switch: new engines take new requests; old ones finish their streams and stop.
    auto old = std::move(p->replicas);
    p->replicas = fresh;
    p->generation = gen;
    p->policy->reset();
    for (auto& r : old) {
        r->retired = true;
        r->ready = false;
        if (r->in_flight == 0)
            self->stop_replica(*r);
        else
            r->stopped = true;  // its supervisor ends; the last stream stops the process
        p->replicas.push_back(r);
    }
    for (auto& r : fresh) {
        r->ready = true;
        asio::co_spawn(self->io, self->supervise(p, r), asio::detached);
    }
    self->write_own_handoff(*p);
    // Drop retired replicas that are already stopped.
    std::erase_if(p->replicas, [](const auto& r) { return r->retired && r->in_flight == 0; });
    self->log->info("pool_id={} reloaded to {} (generation {})", id, new_model, gen);
    done();
    self->notify(id);
    co_return snapshot_of(*p);
}

asio::awaitable<std::optional<int>> pool_manager::count_tokens(std::string pool_id,
                                                               std::string text) {
    auto self = impl_;
    auto it = self->pools.find(pool_id);
    if (it == self->pools.end()) co_return std::nullopt;
    auto p = it->second;
    if (!is_managed(p->cfg.engine) || p->cfg.engine == engine_kind::sim) co_return std::nullopt;
    std::shared_ptr<replica> r;
    for (auto& x : p->replicas)
        if (x->ready && !x->retired) r = x;
    if (!r) co_return std::nullopt;
    http::client_request q;
    q.method = "POST";
    q.url = r->base_url + "/tokenize";
    q.body = boost::json::serialize(boost::json::object{{"content", text}, {"add_special", true}});
    q.timeout = 5s;
    if (!r->api_key.empty()) q.headers.add("Authorization", "Bearer " + r->api_key);
    auto res = co_await self->client->send(std::move(q));
    if (!res || res->status != 200) co_return std::nullopt;
    boost::system::error_code ec;
    auto v = boost::json::parse(res->body, ec);
    if (ec || !v.is_object()) co_return std::nullopt;
    auto* t = v.get_object().if_contains("tokens");
    if (!t || !t->is_array()) co_return std::nullopt;
    co_return static_cast<int>(t->get_array().size());
}

void pool_manager::on_capacity_change(std::function<void(const std::string&)> cb) {
    impl_->capacity_cb = std::move(cb);
}

std::string pool_manager::render_metrics() const {
    std::string out;
    auto line = [&](const char* name, const std::string& id, double v) {
        out += name;
        out += "{pool_id=\"" + id + "\"} " + std::to_string(v) + "\n";
    };
    out += "# TYPE pool_slots_total gauge\n# TYPE pool_slots_free gauge\n# TYPE pool_ready gauge\n";
    out += "# TYPE pool_vram_total_bytes gauge\n# TYPE pool_vram_free_bytes gauge\n";
    out += "# TYPE pool_restarts_total counter\n";
    for (const auto& [id, p] : impl_->pools) {
        auto s = snapshot_of(*p);
        line("pool_slots_total", id, s.slots_total);
        line("pool_slots_free", id, s.slots_free);
        line("pool_ready", id, s.state == pool_state::ready ? 1 : 0);
        line("pool_vram_total_bytes", id, static_cast<double>(s.vram_total_bytes));
        line("pool_vram_free_bytes", id, static_cast<double>(s.vram_free_bytes));
        line("pool_restarts_total", id, s.restarts);
    }
    out += "# TYPE pool_health_checks_total counter\n";
    for (const auto& [id, p] : impl_->pools) {
        out += "pool_health_checks_total{pool_id=\"" + id + "\",outcome=\"ok\"} " +
               std::to_string(p->health_ok) + "\n";
        out += "pool_health_checks_total{pool_id=\"" + id + "\",outcome=\"fail\"} " +
               std::to_string(p->health_fail) + "\n";
    }
    out += "# TYPE pool_engine_slots_busy gauge\n# TYPE pool_slot_mismatch_total counter\n";
    for (const auto& [id, p] : impl_->pools) {
        auto s = snapshot_of(*p);
        if (s.engine_slots_busy >= 0)
            out += "pool_engine_slots_busy{pool_id=\"" + id + "\"} " +
                   std::to_string(s.engine_slots_busy) + "\n";
        out += "pool_slot_mismatch_total{pool_id=\"" + id + "\"} " +
               std::to_string(p->slot_mismatches) + "\n";
    }
    // Ids of malformed files come from file names, so they are escaped like any label value.
    auto label = [](const std::string& v) {
        std::string e;
        for (char c : v) {
            if (c == '\\' || c == '"') e += '\\';
            if (c == '\n') {
                e += "\\n";
                continue;
            }
            e += c;
        }
        return e;
    };
    out += "# TYPE pool_handoff_files_processed_total counter\n";
    for (const auto& [key, n] : impl_->handoff_outcomes)
        out += "pool_handoff_files_processed_total{pool_id=\"" + label(key.first) +
               "\",outcome=\"" + key.second + "\"} " + std::to_string(n) + "\n";
    return out;
}

}  // namespace llorch::pool
