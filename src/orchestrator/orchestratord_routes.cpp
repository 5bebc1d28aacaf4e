#include "orchestrator/orchestratord_routes.h"

#include <memory>
#include <set>

#include "orchestrator/client_api.h"
#include "orchestrator/compat_api.h"
#include "orchestrator/compat_errors.h"
#include "orchestrator/compat_http.h"
#include "orchestrator/dashboard_routes.h"
#include "orchestrator/job_api.h"
#include "orchestrator/node_api.h"
#include "orchestrator/remote_catalog_admin.h"
#include "orchestrator/remote_pool_admin.h"
#include "orchestrator/servers_api.h"
#include "pool/local_pool_admin.h"
#include "pool/pool_routes.h"

namespace llorch::orchestrator {
namespace {

// A route's handler: a member of an object the table shares with every route it serves.
template <class api>
http::handler on(std::shared_ptr<api> a, asio::awaitable<http::response> (api::*f)(http::request)) {
    return [a, f](http::request q) { return ((*a).*f)(std::move(q)); };
}

// GET /v2/events: the cluster's live events (cluster_monitor.h).
asio::awaitable<http::response> cluster_events(cluster_monitor* m, http::request) {
    http::response r;
    r.content_type = "text/event-stream";
    r.headers.add("Cache-Control", "no-cache");
    r.stream = m->open();
    co_return r;
}

void add_events_route(http::router& r, cluster_monitor* m,
                      std::shared_ptr<pool::pool_admin> pools) {
    if (!m) return;
    m->set_pools(std::move(pools));
    r.add("GET", "/v2/events", [m](http::request q) { return cluster_events(m, std::move(q)); });
}

}  // namespace

http::router orchestratord_routes(const orchestratord_services& s) {
    const bool cloud = s.remote != nullptr;
    const http::route_options open{.public_route = true};
    const http::route_options service{.public_route = false, .service_route = true};
    auto client = std::make_shared<client_api>(
        *s.tasks, client_api_options{cloud ? "cloud" : "home", s.local_pools, s.metrics});
    auto compat = std::make_shared<compat_api>(*s.tasks, *s.index);
    using c = client_api;
    using o = compat_api;
    http::router r;
    r.add("POST", "/v2/tasks", on(client, &c::submit));
    r.add("GET", "/v2/tasks/{id}", on(client, &c::task_status));
    r.add("GET", "/v2/tasks/{id}/events", on(client, &c::events));
    r.add("POST", "/v2/tasks/{id}/cancel", on(client, &c::cancel));
    r.add("POST", "/v2/models/{name}/load", on(client, &c::load_model));
    r.add("POST", "/v2/models/{name}/unload", on(client, &c::unload_model));
    if (s.jobs) {
        auto jobs = std::make_shared<job_api>(*s.jobs, *s.tasks);
        r.add("POST", "/v2/jobs", on(jobs, &job_api::submit));
        r.add("GET", "/v2/jobs/{id}", on(jobs, &job_api::status));
        r.add("GET", "/v2/jobs/{id}/events", on(jobs, &job_api::events));
        r.add("POST", "/v2/jobs/{id}/cancel", on(jobs, &job_api::cancel));
    }
    r.add("GET", "/v2/sessions/{id}", on(client, &c::session));
    r.add("DELETE", "/v2/sessions/{id}", on(client, &c::drop_session));
    r.add("GET", "/v2/meta/version", on(client, &c::version));
    r.add("GET", "/v2/meta/capabilities", on(client, &c::capabilities));
    r.add("GET", "/health", on(client, &c::health), open);
    r.add("GET", "/ready", on(client, &c::ready));
    r.add("GET", "/metrics", on(client, &c::metrics), open);
    if (s.servers) {
        auto servers =
            std::make_shared<servers_api>(*s.servers, s.local_pools, cloud ? "cloud" : "home");
        r.add("GET", "/v2/servers", on(servers, &servers_api::list));
    }
    add_dashboard_assets(r);
    // The compatible endpoints: CORS and x-request-id around each, and a preflight answer
    // (no token: browsers send none) on each path.
    auto cors = std::make_shared<const cors_policy>(s.cors_origins);
    std::set<std::string> compat_paths;
    auto add_compat = [&](const char* method, std::string path, http::handler h) {
        r.add(method, path, with_compat_headers(std::move(h), cors));
        compat_paths.insert(std::move(path));
    };
    add_compat("POST", "/v1/chat/completions", on(compat, &o::chat_completions));
    add_compat("POST", "/v1/completions", on(compat, &o::completions));
    add_compat("POST", "/v1/responses", on(compat, &o::responses));
    add_compat("POST", "/v1/embeddings", on(compat, &o::embeddings));
    add_compat("GET", "/v1/models", on(compat, &o::models));
    add_compat("GET", "/v1/models/{id}", on(compat, &o::model));
    // GET /: the dashboard for a browser (no token: the page asks for it), Ollama's root else.
    r.add("GET", "/", with_compat_headers(dashboard_or(on(compat, &o::root)), cors),
          {.public_when = wants_dashboard});
    compat_paths.insert("/");
    add_compat("HEAD", "/", on(compat, &o::root));
    add_compat("GET", "/api/version", on(compat, &o::version));
    add_compat("POST", "/api/generate", on(compat, &o::generate));
    add_compat("POST", "/api/chat", on(compat, &o::chat));
    add_compat("POST", "/api/embed", on(compat, &o::embed));
    add_compat("POST", "/api/embeddings", on(compat, &o::embeddings_legacy));
    add_compat("GET", "/api/tags", on(compat, &o::tags));
    add_compat("POST", "/api/show", on(compat, &o::show));
    add_compat("GET", "/api/ps", on(compat, &o::ps));
    add_compat("POST", "/api/pull", on(compat, &o::pull));
    for (const char* m : {"push", "copy", "create"})
        add_compat("POST", std::string("/api/") + m, on(compat, &o::model_management));
    add_compat("DELETE", "/api/delete", on(compat, &o::model_management));
    for (const auto& p : compat_paths) r.add("OPTIONS", p, cors_preflight(cors), open);
    // Every error under these paths (404, 405, auth included) in the API's own shape.
    r.set_error_writer("/v1", openai_error);
    r.set_error_writer("/api", ollama_error);
    r.set_error_writer("/", ollama_error);
    if (!cloud) {
        // /v2/pools..., /v2/catalog/...: the pools of this process.
        auto pools = std::make_shared<pool::local_pool_admin>(*s.local_pools);
        pool::add_pool_routes(r, pools, s.local_files);
        compat->set_catalog(s.local_files);
        compat->set_pools(pools);
        add_events_route(r, s.events, pools);
        return r;
    }
    // /v2/pools..., /v2/catalog/...: every node's pools, fed by the node routes.
    auto pools = std::make_shared<remote_pool_admin>(*s.nodes, *s.index, *s.remote);
    auto files = std::make_shared<remote_catalog_admin>(*s.nodes, *s.remote);
    pool::add_pool_routes(r, pools, files);
    compat->set_catalog(files);
    compat->set_pools(pools);
    add_events_route(r, s.events, pools);
    auto nodes = std::make_shared<node_api>(
        cloud_context{s.nodes, s.remote, s.tasks, pools, files, s.servers});
    r.add("POST", "/v2/nodes/register", on(nodes, &node_api::register_node), service);
    r.add("POST", "/v2/nodes/{id}/heartbeat", on(nodes, &node_api::heartbeat), service);
    r.add("DELETE", "/v2/nodes/{id}", on(nodes, &node_api::deregister), service);
    r.add("GET", "/v2/nodes", on(nodes, &node_api::list_nodes));
    r.add("POST", "/v2/nodes/{id}/drain", on(nodes, &node_api::drain_node));
    return r;
}

}  // namespace llorch::orchestrator
