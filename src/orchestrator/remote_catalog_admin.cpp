#include "orchestrator/remote_catalog_admin.h"

#include <boost/json.hpp>

#include "http/message.h"
#include "orchestrator/remote_pool_admin.h"

namespace llorch::orchestrator {
namespace json = boost::json;

namespace {
// Jobs whose node is remembered for GET /v2/catalog/jobs/{id}.
constexpr size_t jobs_kept = 4096;
}  // namespace

remote_catalog_admin::remote_catalog_admin(registry::node_registry& reg, cloud_backend& backend)
    : reg_(reg), backend_(backend) {}

void remote_catalog_admin::remember(
    const std::string& node_id, const std::optional<std::vector<catalog::catalog_entry>>& entries) {
    if (entries) files_[node_id] = *entries;
}

void remote_catalog_admin::forget(const std::string& node_id) { files_.erase(node_id); }

std::vector<pool::node_files> remote_catalog_admin::files() const {
    std::vector<pool::node_files> out;
    for (const auto& [node, entries] : files_)
        if (reg_.find(node)) out.push_back(pool::node_files{node, entries});
    return out;
}

asio::awaitable<api::api_result<json::value>> remote_catalog_admin::call(
    std::string node, std::string method, std::string path, std::string body, int expect) {
    auto r = co_await backend_.forward(node, std::move(method), std::move(path), std::move(body));
    if (!r) co_return r.error();
    if (r->first != expect) co_return node_error(r->first, r->second);
    if (r->second.empty()) co_return json::value(nullptr);
    boost::system::error_code ec;
    auto v = json::parse(r->second, ec);
    if (ec) co_return node_error(502, r->second);
    co_return v;
}

asio::awaitable<api::api_result<json::object>> remote_catalog_admin::stage(
    catalog::staging_request r) {
    std::string node = r.node;
    if (node.empty()) {
        for (const auto& [id, n] : reg_.nodes())
            if (n.state == registry::node_state::online) {
                node = id;
                break;
            }
        if (node.empty())
            co_return api::make_error(api::error_code::node_unavailable,
                                      "no node is online to stage the model onto");
    } else if (const auto* n = reg_.find(node); !n) {
        co_return api::make_error(api::error_code::not_found, "no node '" + node + "'");
    } else if (n->state != registry::node_state::online) {
        co_return api::make_error(
            api::error_code::node_unavailable,
            "node '" + node + "' is " + std::string(registry::to_string(n->state)));
    }
    json::object body{{"source", r.source}, {"name", r.name}, {"sha256", r.sha256}};
    auto v = co_await call(node, "POST", "/v2/catalog/models", json::serialize(body), 202);
    if (!v) co_return v.error();
    if (!v->is_object() || !v->get_object().contains("job_id") ||
        !v->get_object().at("job_id").is_string())
        co_return node_error(502, json::serialize(*v));
    auto job = std::move(v->get_object());
    std::string id(job.at("job_id").as_string());
    job_nodes_[id] = node;
    job_order_.push_back(id);
    while (job_order_.size() > jobs_kept) {
        job_nodes_.erase(job_order_.front());
        job_order_.pop_front();
    }
    co_return job;
}

asio::awaitable<api::api_result<json::object>> remote_catalog_admin::job(std::string id) {
    auto it = job_nodes_.find(id);
    if (it == job_nodes_.end())
        co_return api::make_error(api::error_code::not_found, "no staging job '" + id + "'");
    auto v =
        co_await call(it->second, "GET", "/v2/catalog/jobs/" + http::percent_encode(id), {}, 200);
    if (!v) co_return v.error();
    if (!v->is_object()) co_return node_error(502, json::serialize(*v));
    co_return std::move(v->get_object());
}

asio::awaitable<api::api_result<void>> remote_catalog_admin::remove(std::string name,
                                                                    std::string node) {
    if (node.empty()) {
        std::vector<std::string> holders;
        for (const auto& nf : files())
            for (const auto& e : nf.entries)
                if (e.name.display() == name || e.name.full() == name)
                    holders.push_back(nf.node_id);
        if (holders.empty())
            co_return api::make_error(api::error_code::not_found,
                                      "no node holds model '" + name + "'");
        if (holders.size() > 1) {
            std::string list;
            for (const auto& h : holders) list += (list.empty() ? "" : ", ") + h;
            co_return api::make_error(
                api::error_code::invalid_params,
                "model '" + name + "' is on several nodes (" + list + "): name one with ?node=");
        }
        node = holders.front();
    } else if (!reg_.find(node)) {
        co_return api::make_error(api::error_code::not_found, "no node '" + node + "'");
    }
    auto v =
        co_await call(node, "DELETE", "/v2/catalog/models/" + http::percent_encode(name), {}, 204);
    if (!v) co_return v.error();
    co_return api::api_result<void>();
}

}  // namespace llorch::orchestrator
