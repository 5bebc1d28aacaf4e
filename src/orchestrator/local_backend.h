#pragma once
// The HOME profile's backend: the pools of the in-process pool manager. Mirrors their state into
// the placement index (node id "") whenever the manager reports a capacity change.

#include "orchestrator/pool_backend.h"
#include "placement/placement_index.h"

namespace llorch::orchestrator {

class local_backend final : public pool_backend {
  public:
    local_backend(pool::pool_manager& m, placement::placement_index& index);

    // Re-reads every pool into the index.
    void sync();
    // Re-reads one pool (after the manager reported its change); a pool gone leaves the index.
    void sync(const std::string& pool_id);

    boost::asio::awaitable<api::api_result<std::unique_ptr<pool::infer_stream>>> open(
        placement::placement_decision where, engines::generation_request g) override;
    std::optional<model_limits> limits(const std::string& model) const override;
    std::optional<std::string> ensure_loaded(const std::string& model,
                                             std::optional<std::chrono::milliseconds> keep_alive,
                                             const model_demand& demand) override;
    void want(const std::string& model) override;
    void revive(const std::string& model) override;
    std::string load_failure(const std::string& model) const override;
    api::api_result<void> unload(const std::string& model) override;
    boost::asio::awaitable<std::optional<int>> count_tokens(std::string model,
                                                            std::string text) override;

  private:
    void update(const pool::pool_snapshot& s);

    pool::pool_manager& m_;
    placement::placement_index& index_;
};

}  // namespace llorch::orchestrator
