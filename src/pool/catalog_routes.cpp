#include "pool/catalog_routes.h"

#include <filesystem>
#include <map>

#include <boost/json.hpp>

#include "api/json_body.h"
#include "http/sse.h"
#include "pool/catalog_job_follower.h"
#include "pool/catalog_json.h"

namespace llorch::pool {
namespace json = boost::json;
using http::request;
using http::response;
using pools_ptr = std::shared_ptr<pool_admin>;
using files_ptr = std::shared_ptr<catalog_admin>;

json::object catalog_json(const std::vector<pool_view>& pools, bool files_here,
                          const std::vector<node_files>& files) {
    std::map<std::string, json::object> models;
    for (const auto& v : pools) {
        const auto& p = v.pool;
        auto& m = models[p.name];
        if (m.empty()) {
            std::error_code ec;
            uintmax_t size = 0;
            if (files_here && !p.model.empty()) size = std::filesystem::file_size(p.model, ec);
            json::array names;
            for (const auto& n : v.models) names.push_back(json::value(n));
            m = json::object{{"name", p.name},     {"names", names},
                             {"path", p.model},    {"size_bytes", ec ? 0 : size},
                             {"engine", p.engine}, {"pools", json::array{}}};
        }
        m["pools"].as_array().push_back(json::value(v.name()));
    }
    for (const auto& nf : files)
        for (const auto& e : nf.entries) {
            auto& m = models[e.name.display()];
            if (m.empty())
                m = json::object{{"name", e.name.display()},
                                 {"names", json::array{json::value(e.name.display())}},
                                 {"path", e.path},
                                 {"size_bytes", e.size_bytes},
                                 {"engine", ""},
                                 {"pools", json::array{}}};
            if (!m.contains("files")) {
                auto o = to_json(e);
                m["tag"] = o["tag"];
                m["sha256"] = o["sha256"];
                m["metadata"] = o["metadata"];
                m["files"] = json::array{};
            }
            m["files"].as_array().push_back(json::object{{"node_id", nf.node_id},
                                                         {"path", e.path},
                                                         {"size_bytes", e.size_bytes},
                                                         {"sha256", e.sha256}});
        }
    json::array out;
    for (auto& [name, m] : models) out.push_back(std::move(m));
    return json::object{{"models", out}};
}

namespace {

std::vector<node_files> files_of(const files_ptr& f) {
    return f ? f->files() : std::vector<node_files>{};
}

asio::awaitable<response> models(pools_ptr a, files_ptr f, request) {
    co_return response::json(200, catalog_json(a->list(), a->files_here(), files_of(f)));
}

asio::awaitable<response> availability(pools_ptr a, files_ptr f, request) {
    json::object models;
    for (const auto& v : a->list()) {
        auto& entry = models[v.pool.name];
        if (!entry.is_array()) entry = json::array{};
        entry.as_array().push_back(
            json::object{{"node_id", v.placement ? v.placement->node_id : std::string()},
                         {"pool_id", v.pool.id},
                         {"ready", v.ready()}});
    }
    json::object held;
    for (const auto& nf : files_of(f))
        for (const auto& e : nf.entries) {
            auto& entry = held[e.name.display()];
            if (!entry.is_array()) entry = json::array{};
            entry.as_array().push_back(json::object{{"node_id", nf.node_id},
                                                    {"path", e.path},
                                                    {"size_bytes", e.size_bytes},
                                                    {"sha256", e.sha256}});
        }
    co_return response::json(
        200, json::object{{"models", std::move(models)}, {"files", std::move(held)}});
}

// An optional string field: absent or null is empty; anything else but a string is refused.
api::api_result<std::string> optional_text(const json::object& o, const char* key) {
    auto* v = o.if_contains(key);
    if (!v || v->is_null()) return std::string();
    if (!v->is_string()) return api::invalid_field(key, "must be a string");
    return std::string(v->get_string());
}

asio::awaitable<response> stage(files_ptr f, request q) {
    auto body = api::parse_json_body(q.body);
    if (!body) co_return error_reply(body.error(), q);
    auto source = api::required_string_field(
        *body, "source", "give the model's source: file:/path, http(s)://… or hf:ORG/REPO/FILE");
    if (!source) co_return error_reply(source.error(), q);
    catalog::staging_request r;
    r.source = std::string(*source);
    for (auto [key, out] :
         {std::pair{"name", &r.name}, std::pair{"sha256", &r.sha256}, std::pair{"node", &r.node}}) {
        auto v = optional_text(*body, key);
        if (!v) co_return error_reply(v.error(), q);
        *out = std::move(*v);
    }
    auto job = co_await f->stage(std::move(r));
    if (!job) co_return error_reply(job.error(), q);
    auto res = response::json(202, *job);
    res.headers.add("Location", "/v2/catalog/jobs/" + std::string(job->at("job_id").as_string()));
    co_return res;
}

asio::awaitable<response> job(files_ptr f, request q) {
    auto j = co_await f->job(q.params[0]);
    if (!j) co_return error_reply(j.error(), q);
    co_return response::json(200, *j);
}

asio::awaitable<response> remove(files_ptr f, request q) {
    auto r = co_await f->remove(q.params[0], q.query_param("node").value_or(""));
    if (!r) co_return error_reply(r.error(), q);
    co_return response::no_content();
}

// A job's progress as SSE: a `progress` frame whenever its bytes or state moved, then one
// `done` or `failed` frame with the job, and the end. The job is looked at every `poll`.
class job_events final : public http::body_stream {
  public:
    job_events(files_ptr f, std::string id, std::chrono::milliseconds poll)
        : follow_(std::move(f), std::move(id), poll) {}

    asio::awaitable<std::optional<std::string>> next(std::chrono::milliseconds max_wait) override {
        if (done_) co_return std::nullopt;
        auto s = co_await follow_.next(max_wait);
        std::string out;
        switch (s.what) {
            case catalog_job_follower::step::kind::gone:
                co_return std::nullopt;
            case catalog_job_follower::step::kind::quiet:
                co_return out;
            case catalog_job_follower::step::kind::error:
                http::append_sse(
                    out, "error",
                    json::serialize(json::object{{"code", api::to_string(s.error.code)},
                                                 {"message", s.error.message}}));
                done_ = true;
                co_return out;
            case catalog_job_follower::step::kind::moved:
                break;
        }
        std::string state(s.job.at("state").as_string());
        done_ = state == "done" || state == "failed";
        http::append_sse(out, done_ ? state : "progress", json::serialize(s.job));
        co_return out;
    }

    void on_disconnect() override { follow_.stop(); }
    bool ended() const override { return done_; }

  private:
    catalog_job_follower follow_;
    bool done_ = false;
};

asio::awaitable<response> events(files_ptr f, std::chrono::milliseconds poll, request q) {
    auto j = co_await f->job(q.params[0]);
    if (!j) co_return error_reply(j.error(), q);
    response r;
    r.content_type = "text/event-stream";
    r.headers.add("Cache-Control", "no-cache");
    r.stream = std::make_shared<job_events>(f, q.params[0], poll);
    co_return r;
}

}  // namespace

void add_catalog_routes(http::router& routes, pools_ptr a, files_ptr f,
                        catalog_route_options opts) {
    routes.add("GET", "/v2/catalog/models",
               [a, f](request q) { return models(a, f, std::move(q)); });
    routes.add("GET", "/v2/catalog/availability",
               [a, f](request q) { return availability(a, f, std::move(q)); });
    if (!f) return;
    routes.add("POST", "/v2/catalog/models", [f](request q) { return stage(f, std::move(q)); });
    routes.add("GET", "/v2/catalog/jobs/{id}", [f](request q) { return job(f, std::move(q)); });
    routes.add("GET", "/v2/catalog/jobs/{id}/events",
               [f, poll = opts.events_poll](request q) { return events(f, poll, std::move(q)); });
    routes.add("DELETE", "/v2/catalog/models/{name}",
               [f](request q) { return remove(f, std::move(q)); });
}

}  // namespace llorch::pool
