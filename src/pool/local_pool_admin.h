#pragma once
// The pool routes' view of this process's own pools: pool-managerd's, and orchestratord's in the
// HOME profile. A thin adapter over pool_manager.
// Owner: the daemon's route table (shared by its handlers). Thread: the manager's io thread.

#include "pool/pool_admin.h"

namespace llorch::pool {

class local_pool_admin final : public pool_admin {
  public:
    explicit local_pool_admin(pool_manager& m) : m_(m) {}

    std::vector<pool_view> list() const override;
    asio::awaitable<api::api_result<pool_view>> status(std::string pool) override;
    asio::awaitable<api::api_result<pool_view>> drain(std::string pool,
                                                      std::chrono::milliseconds deadline) override;
    asio::awaitable<api::api_result<pool_view>> reload(std::string pool,
                                                       std::string model_ref) override;
    bool files_here() const override { return true; }

  private:
    api::api_result<pool_view> view_of(const std::string& pool) const;

    pool_manager& m_;
};

}  // namespace llorch::pool
