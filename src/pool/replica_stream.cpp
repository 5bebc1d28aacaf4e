#include "pool/replica_stream.h"

#include "engines/stream_failure.h"
#include "http/client.h"
#include "pool/on_demand.h"

namespace llorch::pool {
using namespace std::chrono_literals;

replica_stream::replica_stream(std::shared_ptr<pool_runtime> rt, std::shared_ptr<pool_entry> p,
                               std::shared_ptr<replica> r, engines::generation_request g)
    : rt_(std::move(rt)),
      p_(std::move(p)),
      r_(std::move(r)),
      g_(std::move(g)),
      adapter_(engines::adapter_for(adapter_kind(p_->cfg.engine))),
      decoder_(adapter_.decoder(g_)) {
    ++r_->in_flight;
}

replica_stream::~replica_stream() {
    if (stream_ && ended_ && !cancelled_) {
        // The engine said `end`: what is left of its body is the last chunk. Reading it returns
        // the connection to the client's pool, so the next request skips a connect.
        http::response_stream::finish_in_background(std::move(stream_), 1s);
    } else if (stream_) {
        // Cancelled or broken: closing is what makes llama-server free the slot at once.
        stream_->abort();
    }
    release_slot();
}

asio::awaitable<std::optional<engines::engine_event>> replica_stream::next() {
    for (;;) {
        if (!pending_.empty()) {
            auto ev = std::move(pending_.front());
            pending_.erase(pending_.begin());
            if (engines::is_terminal(ev)) {
                // The slot frees with the terminal event, before the caller relays it: a client
                // that sends its next request on seeing `end` finds the slot free.
                done_ = true;
                ended_ = ev.type == engines::engine_event::kind::end;
                release_slot();
            }
            co_return ev;
        }
        if (done_ || cancelled_) co_return std::nullopt;
        if (!stream_) {
            co_await open();
            if (cancelled_) co_return std::nullopt;
            continue;
        }
        auto piece = co_await stream_->read_some(rt_->opts().stall_timeout);
        if (cancelled_) co_return std::nullopt;
        if (!piece)
            pending_.push_back(engines::stream_failure_event(piece.error(), "the engine",
                                                             rt_->opts().stall_timeout));
        else if (piece->empty())
            decoder_->finish(pending_);
        else
            decoder_->feed(*piece, pending_);
    }
}

asio::awaitable<void> replica_stream::open() {
    auto call = adapter_.build(g_, r_->model_name);
    http::client_request q;
    q.method = "POST";
    q.url = r_->base_url + call.path;
    q.body = std::move(call.body);
    q.timeout = rt_->opts().request_timeout;
    if (!r_->api_key.empty()) q.headers.add("Authorization", "Bearer " + r_->api_key);
    auto s = co_await rt_->client().open(std::move(q));
    if (cancelled_) co_return;
    if (!s) {
        pending_.push_back(
            engines::stream_failure_event(s.error(), "the engine", rt_->opts().request_timeout));
        co_return;
    }
    stream_ = std::move(*s);
    int st = stream_->status();
    if (st == 200) co_return;
    std::string body;
    for (int i = 0; i < 16; ++i) {
        auto piece = co_await stream_->read_some(2s);
        if (!piece || piece->empty()) break;
        body += *piece;
    }
    engines::engine_event ev;
    ev.type = engines::engine_event::kind::error;
    ev.message = "engine answered " + std::to_string(st) + ": " + body.substr(0, 300);
    // A 4xx is about the request (e.g. a prompt over the context): no other pool would take it.
    if (st >= 400 && st < 500 && st != 401 && st != 403 && st != 429)
        ev.finish_reason = "INVALID_PARAMS";
    pending_.push_back(std::move(ev));
}

void replica_stream::cancel() {
    cancelled_ = true;
    if (stream_) stream_->abort();
}

void replica_stream::release_slot() {
    if (released_) return;
    released_ = true;
    --r_->in_flight;
    // A reload retired this replica: its last stream stops the engine (without waiting for it).
    if (r_->retired && r_->in_flight == 0 && r_->engine) r_->engine->stop(engine_stop_grace);
    if (p_->on_slot_freed) p_->on_slot_freed();
    p_->last_used = std::chrono::steady_clock::now();
    // keep_alive 0: an on-demand model unloads as soon as its last request ended.
    if (p_->cfg.on_demand && p_->idle_ttl() == 0ms && p_->in_flight() == 0)
        unload_idle(rt_, p_, "keep_alive 0: its request ended");
    rt_->notify(p_->cfg.id);
}

}  // namespace llorch::pool
