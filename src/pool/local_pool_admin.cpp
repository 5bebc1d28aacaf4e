#include "pool/local_pool_admin.h"

#include "pool/pool_names.h"

namespace llorch::pool {

namespace {
pool_view view(pool_snapshot s) {
    auto names = model_names(s);
    return pool_view{std::move(s), std::move(names), std::nullopt};
}
}  // namespace

std::vector<pool_view> local_pool_admin::list() const {
    std::vector<pool_view> out;
    for (auto& s : m_.list()) out.push_back(view(std::move(s)));
    return out;
}

api::api_result<pool_view> local_pool_admin::view_of(const std::string& pool) const {
    auto s = m_.status(pool);
    if (!s) return api::make_error(api::error_code::not_found, "no pool '" + pool + "'");
    return view(std::move(*s));
}

asio::awaitable<api::api_result<pool_view>> local_pool_admin::status(std::string pool) {
    co_return view_of(pool);
}

asio::awaitable<api::api_result<pool_view>> local_pool_admin::drain(
    std::string pool, std::chrono::milliseconds deadline) {
    auto r = m_.drain(pool, deadline);
    if (!r) co_return r.error();
    co_return view_of(pool);
}

asio::awaitable<api::api_result<pool_view>> local_pool_admin::reload(std::string pool,
                                                                     std::string model_ref) {
    if (model_ref.starts_with("file:")) model_ref = model_ref.substr(5);
    auto r = co_await m_.reload(pool, model_ref);
    if (!r) co_return r.error();
    co_return view(std::move(*r));
}

}  // namespace llorch::pool
