#include "pool/replica_monitor.h"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include "http/client.h"

namespace llorch::pool {
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

// A sleep that ends early when the replica is stopped or its engine exits. One per waiting
// coroutine; the replica and the engine hold weak references to it.
class wakeable_sleep {
  public:
    wakeable_sleep(asio::io_context& io, std::shared_ptr<replica> r)
        : timer_(std::make_shared<asio::steady_timer>(io)), r_(std::move(r)) {
        r_->wake = [w = std::weak_ptr(timer_)] {
            if (auto t = w.lock()) t->cancel();
        };
        follow_engine();
    }
    // After a restart the replica has a new engine to follow.
    void follow_engine() {
        if (r_->engine)
            r_->engine->on_exit([w = std::weak_ptr(timer_)] {
                if (auto t = w.lock()) t->cancel();
            });
    }
    bool interrupted() const { return r_->stopped || (r_->engine && r_->engine->exited()); }
    asio::awaitable<void> sleep(std::chrono::milliseconds d) {
        if (interrupted()) co_return;
        timer_->expires_after(d);
        boost::system::error_code ec;
        co_await timer_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }

  private:
    std::shared_ptr<asio::steady_timer> timer_;
    std::shared_ptr<replica> r_;
};

}  // namespace

void replica_monitor::start(std::shared_ptr<pool_runtime> rt, std::shared_ptr<pool_entry> p,
                            std::shared_ptr<replica> r) {
    auto& group = rt->background();
    auto name = "monitor of pool " + p->cfg.id;
    group.spawn(run(std::move(rt), std::move(p), std::move(r)), std::move(name));
}

asio::awaitable<std::string> replica_monitor::wait_ready(std::shared_ptr<pool_runtime> rt,
                                                         std::shared_ptr<pool_entry> p,
                                                         std::shared_ptr<replica> r) {
    wakeable_sleep nap(rt->io(), r);
    auto deadline = steady::now() + rt->opts().ready_timeout;
    while (steady::now() < deadline) {
        if (r->engine && r->engine->exited())
            co_return r->engine->exit_reason() + " (while starting)";
        if (r->stopped) co_return "stopped while starting";
        if (co_await rt->probe(r, p->cfg.engine)) {
            rt->probed(p->cfg.id, true);
            co_return std::string();
        }
        co_await nap.sleep(100ms);
    }
    co_return "engine not ready within " + std::to_string(rt->opts().ready_timeout.count()) + " ms";
}

asio::awaitable<std::string> replica_monitor::watch(std::shared_ptr<pool_runtime> rt,
                                                    std::shared_ptr<pool_entry> p,
                                                    std::shared_ptr<replica> r) {
    wakeable_sleep nap(rt->io(), r);
    const auto& o = rt->opts();
    int failures = 0;
    for (;;) {
        co_await nap.sleep(o.health_interval);
        if (r->stopped) co_return std::string();
        if (r->engine && r->engine->exited()) co_return r->engine->exit_reason();
        if (co_await rt->probe(r, p->cfg.engine)) {
            failures = 0;
            ++p->health_ok;
            rt->probed(p->cfg.id, true);
            if (p->cfg.engine == engine_kind::llamacpp && !r->stopped)
                co_await check_engine_slots(rt, p, r);
        } else if (!r->stopped) {
            ++p->health_fail;
            rt->probed(p->cfg.id, false);
            if (++failures >= o.health_failures_before_restart)
                co_return "engine failed " + std::to_string(failures) + " health checks in a row";
        }
        if (r->engine) r->engine->tend();
    }
}

asio::awaitable<void> replica_monitor::run(std::shared_ptr<pool_runtime> rt,
                                           std::shared_ptr<pool_entry> p,
                                           std::shared_ptr<replica> r) {
    auto& log = rt->log();
    for (;;) {
        auto why = co_await wait_ready(rt, p, r);
        if (r->stopped || rt->stopping()) co_return;
        if (why.empty()) {
            r->ready = true;
            if (p->state == pool_state::starting)
                rt->set_state(*p, pool_state::ready);
            else
                rt->write_own_handoff(*p);  // a restarted replica: new pid and port
            rt->notify(p->cfg.id);
            why = co_await watch(rt, p, r);
            if (r->stopped || why.empty()) co_return;
        }
        // The replica is down: restart it, or give the pool up after a crash loop.
        r->ready = false;
        rt->notify(p->cfg.id);
        if (auto e = r->engine) {
            // A hung engine still holds its port, which a restart may need again.
            e->stop(500ms);
            co_await rt->wait_exit(e);
        }
        if (r->stopped || rt->stopping()) co_return;
        log.warn("pool_id={} replica={} down: {}", p->cfg.id, r->index, why);
        p->last_error = why;
        if (r->retired) co_return;
        if (!p->runs_engine()) {
            // An engine run elsewhere: keep probing until it answers again.
            if (!p->any_ready() && p->state == pool_state::ready)
                rt->set_state(*p, pool_state::starting, why);
            co_await sleep_for(rt->opts().health_interval);
            continue;
        }
        auto d = p->policy->on_crash(steady::now());
        if (d.give_up) {
            for (auto& x : p->replicas) rt->stop_replica(*x);
            rt->set_state(*p, pool_state::failed, "crash loop: " + why);
            co_return;
        }
        ++p->restarts;
        if (!p->any_ready() && p->state == pool_state::ready)
            rt->set_state(*p, pool_state::starting, why);
        {
            wakeable_sleep backoff(rt->io(), r);
            r->engine.reset();  // gone: only a stop may cut the backoff short
            co_await backoff.sleep(d.delay);
        }
        if (r->stopped || rt->stopping() || p->stopping) co_return;
        auto fresh = co_await rt->start_replica(p, r->index, r->model, p->generation);
        if (!fresh) {
            rt->set_state(*p, pool_state::failed, fresh.error().message);
            co_return;
        }
        if (r->stopped || rt->stopping() || p->stopping) {
            (*fresh)->engine->stop(engine_stop_grace);
            co_return;
        }
        r->engine = std::move((*fresh)->engine);
        r->base_url = std::move((*fresh)->base_url);
        r->api_key = std::move((*fresh)->api_key);
    }
}

// The count that admission uses stays ours: the engine's lags a cancel and leads a new request
// by a few milliseconds, but an engine busier than our count for longer means slots leak.
asio::awaitable<void> replica_monitor::check_engine_slots(std::shared_ptr<pool_runtime> rt,
                                                          std::shared_ptr<pool_entry> p,
                                                          std::shared_ptr<replica> r) {
    http::client_request q;
    q.url = r->base_url + "/slots";
    q.timeout = 2s;
    if (!r->api_key.empty()) q.headers.add("Authorization", "Bearer " + r->api_key);
    auto res = co_await rt->client().send(std::move(q));
    if (!res || res->status != 200) {  // started with --no-slots, or an older server
        r->engine_busy = -1;
        co_return;
    }
    boost::system::error_code ec;
    auto v = boost::json::parse(res->body, ec);
    if (ec || !v.is_array()) {
        r->engine_busy = -1;
        co_return;
    }
    int busy = 0;
    for (const auto& slot : v.get_array()) {
        const auto* o = slot.if_object();
        const auto* processing = o ? o->if_contains("is_processing") : nullptr;
        if (processing && processing->is_bool() && processing->get_bool()) ++busy;
    }
    r->engine_busy = busy;
    auto& log = rt->log();
    if (busy > r->in_flight) {
        ++p->slot_mismatches;
        if (!r->slot_mismatch)
            log.warn(
                "pool_id={} replica={} engine reports {} busy slots but pool-managerd counts {} "
                "in flight",
                p->cfg.id, r->index, busy, r->in_flight);
        r->slot_mismatch = true;
    } else if (r->slot_mismatch) {
        log.info("pool_id={} replica={} engine's busy slots agree again ({} <= {})", p->cfg.id,
                 r->index, busy, r->in_flight);
        r->slot_mismatch = false;
    }
}

}  // namespace llorch::pool
