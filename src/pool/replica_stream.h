#pragma once
// replica_stream: one generation on one replica, as the infer_stream the API relays. It holds
// the replica's slot from construction until its terminal event (or its destruction), opens the
// engine's stream lazily on the first next(), and decodes it with the engine kind's adapter.
// A broken or silent engine ends the stream with engines::stream_failure_event.
//
// Owner: whoever called pool_manager::begin_infer. Thread: the io thread. Lifecycle: the
// destructor never blocks: it returns the engine connection to the pool in the background (after
// `end`) or closes it (the engine frees its slot), and a retired replica whose last stream this
// was is asked to stop (asynchronously).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engines/engine_adapter.h"
#include "engines/generation.h"
#include "pool/pool_manager.h"
#include "pool/pool_runtime.h"

namespace llorch::http {
class response_stream;
}

namespace llorch::pool {

class replica_stream final : public infer_stream {
  public:
    replica_stream(std::shared_ptr<pool_runtime> rt, std::shared_ptr<pool_entry> p,
                   std::shared_ptr<replica> r, engines::generation_request g);
    ~replica_stream() override;

    asio::awaitable<std::optional<engines::engine_event>> next() override;
    void cancel() override;
    const std::string& pool_id() const override { return p_->cfg.id; }
    const std::string& model_name() const override { return r_->model_name; }

  private:
    // Opens the engine's stream; an error event is queued when that fails.
    asio::awaitable<void> open();
    void release_slot();

    std::shared_ptr<pool_runtime> rt_;
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

}  // namespace llorch::pool
