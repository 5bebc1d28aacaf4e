// Ollama's endpoints around generation: the server's liveness and version, the model list,
// show, ps, pull (onto the catalog's staging), and the model-management calls llama-orch answers
// with what it does instead.
#include <fmt/format.h>
#include <boost/json.hpp>

#include "api/json_body.h"
#include "catalog/model_ref.h"
#include "orchestrator/compat_api.h"
#include "orchestrator/compat_errors.h"
#include "orchestrator/compat_request.h"
#include "orchestrator/compat_stream.h"
#include "pool/catalog_job_follower.h"

namespace llorch::orchestrator {
namespace json = boost::json;
using http::request;
using http::response;

namespace {

// The model a show or pull names: `model`, or the older `name`; a 400 saying what to send else.
api::api_result<std::string> model_field(const json::object& body, std::string_view verb) {
    auto* m = body.if_contains("model");
    if (!m || m->is_null()) m = body.if_contains("name");
    if (!m || !m->is_string() || m->get_string().empty())
        return api::make_error(api::error_code::invalid_params,
                               "model: name the model to " + std::string(verb));
    return std::string(m->get_string());
}

// The Ollama API level these endpoints follow (clients compare it with what they need).
constexpr const char* ollama_api_version = "0.6.0";

// What llama-orch knows of a model's details: a GGUF file, the rest unknown.
json::object model_details() {
    return json::object{{"parent_model", ""},  {"format", "gguf"},     {"family", ""},
                        {"families", nullptr}, {"parameter_size", ""}, {"quantization_level", ""}};
}

// Ollama's parameter size: "7.2B", "2.2M".
std::string parameter_size(uint64_t n) {
    if (n >= 1'000'000'000) return fmt::format("{:.1f}B", static_cast<double>(n) / 1e9);
    if (n >= 1'000'000) return fmt::format("{:.1f}M", static_cast<double>(n) / 1e6);
    return std::to_string(n);
}

// The catalog's file of a model name, if a node holds one.
const catalog::catalog_entry* file_of(const std::vector<pool::node_files>& files,
                                      const std::string& name) {
    for (const auto& nf : files)
        for (const auto& e : nf.entries)
            if (e.name.display() == name || e.name.full() == name) return &e;
    return nullptr;
}

json::object details_of(const catalog::catalog_entry& e) {
    auto d = model_details();
    d["family"] = e.summary.architecture;
    d["families"] = json::array{json::value(e.summary.architecture)};
    d["parameter_size"] = parameter_size(e.summary.parameter_count);
    d["quantization_level"] = e.summary.quantization;
    return d;
}

// Ollama's pull progress as NDJSON lines, from the staging job: "pulling manifest", then
// "downloading" lines with total and completed whenever the bytes moved, then "verifying sha256
// digest", "writing manifest", "success" — or one {"error"} line when the job failed.
class pull_progress final : public http::body_stream {
  public:
    pull_progress(std::shared_ptr<pool::catalog_admin> files, std::string id)
        : follow_(std::move(files), std::move(id)) {}

    asio::awaitable<std::optional<std::string>> next(std::chrono::milliseconds max_wait) override {
        if (done_) co_return std::nullopt;
        if (!started_) {
            started_ = true;
            co_return line(json::object{{"status", "pulling manifest"}});
        }
        auto s = co_await follow_.next(max_wait);
        using kind = pool::catalog_job_follower::step::kind;
        if (s.what == kind::gone) co_return std::nullopt;
        if (s.what == kind::quiet) co_return std::string();
        done_ = true;
        if (s.what == kind::error) co_return line(json::object{{"error", s.error.message}});
        const auto& j = s.job;
        std::string state(j.at("state").as_string());
        if (state == "failed") {
            const auto& e = j.at("error").as_object();
            co_return line(
                json::object{{"error", "pull failed: " + std::string(e.at("code").as_string()) +
                                           ": " + std::string(e.at("message").as_string())}});
        }
        if (state == "done") {
            const auto& m = j.at("model").as_object();
            std::string digest = "sha256:" + std::string(m.at("sha256").as_string());
            co_return line(json::object{{"status", "verifying sha256 digest"}}) +
                line(json::object{{"status", "writing manifest"}}) +
                line(json::object{{"status", "success"}, {"digest", digest}});
        }
        done_ = false;
        json::object o{{"status", "downloading " + std::string(j.at("name").as_string())},
                       {"digest", ""},
                       {"completed", j.at("bytes")}};
        if (!j.at("total").is_null()) o["total"] = j.at("total");
        co_return line(o);
    }
    void on_disconnect() override { follow_.stop(); }
    bool ended() const override { return done_; }

  private:
    static std::string line(const json::object& o) { return json::serialize(o) + "\n"; }

    pool::catalog_job_follower follow_;
    bool started_ = false;
    bool done_ = false;
};

}  // namespace

asio::awaitable<response> compat_api::root(request q) {
    // The ollama CLI's heartbeat is HEAD /: a status, no body.
    if (q.method == "HEAD") co_return response::text(200, "");
    co_return response::text(200, "Ollama is running (llama-orch)");
}

asio::awaitable<response> compat_api::version(request) {
    co_return response::json(200, json::serialize(json::object{{"version", ollama_api_version}}));
}

asio::awaitable<response> compat_api::tags(request) {
    json::array models;
    auto files = files_ ? files_->files() : std::vector<pool::node_files>{};
    for (const auto& m : model_names()) {
        const auto* f = file_of(files, m);
        models.push_back(json::object{{"name", m},
                                      {"model", m},
                                      {"modified_at", iso_now()},
                                      {"size", f ? f->size_bytes : 0},
                                      {"digest", f ? f->sha256 : std::string()},
                                      {"details", f ? details_of(*f) : model_details()}});
    }
    co_return response::json(200, json::serialize(json::object{{"models", models}}));
}

asio::awaitable<response> compat_api::show(request q) {
    auto parsed = api::parse_json_body(q.body);
    if (!parsed) co_return ollama_error(parsed.error(), q.correlation_id);
    auto named = model_field(*parsed, "show");
    if (!named) co_return ollama_error(named.error(), q.correlation_id);
    auto name = ollama_model_name(*named);
    auto limits = tasks_.limits(name);
    if (!index_.serves(name) || !limits)
        co_return ollama_error(api::make_error(api::error_code::model_not_available,
                                               "model '" + *named + "' not found"),
                               q.correlation_id);
    json::object info{{"general.architecture", "llama"}, {"llama.context_length", limits->ctx}};
    json::object o{{"modelfile", "# served by llama-orch from a GGUF file\nFROM " + name + "\n"},
                   {"parameters", "num_ctx " + std::to_string(limits->ctx) + "\nnum_predict " +
                                      std::to_string(limits->max_tokens_default)},
                   {"template", "{{ .Prompt }}"},
                   {"details", model_details()},
                   {"model_info", std::move(info)},
                   {"capabilities", json::array{"completion"}},
                   {"modified_at", iso_now()}};
    co_return response::json(200, json::serialize(o));
}

namespace {
constexpr std::string_view never_expires = "2999-12-31T23:59:59Z";

// When a loaded pool unloads unless used again: a fixed pool or a TTL of -1 never; an idle
// on-demand one when its countdown ends; a busy one its TTL after now at the earliest.
std::string expires_at(const pool::pool_snapshot& s) {
    if (!s.on_demand || s.idle_ttl_ms < 0) return std::string(never_expires);
    const auto in = s.expires_in_ms >= 0 ? s.expires_in_ms : s.idle_ttl_ms;
    return iso_time(std::chrono::system_clock::now() + std::chrono::milliseconds(in));
}
}  // namespace

asio::awaitable<response> compat_api::ps(request) {
    json::array models;
    auto entry = [&](const std::string& name, uint64_t size, uint64_t vram, std::string expires) {
        auto limits = tasks_.limits(name);
        models.push_back(json::object{{"name", name},
                                      {"model", name},
                                      {"size", size},
                                      {"digest", ""},
                                      {"details", model_details()},
                                      {"expires_at", std::move(expires)},
                                      {"size_vram", vram},
                                      {"context_length", limits ? limits->ctx : 0}});
    };
    if (!pools_) {
        for (const auto& name : model_names()) entry(name, 0, 0, std::string(never_expires));
    } else {
        // The loaded instances, with their memory estimate (in VRAM when on a GPU).
        for (const auto& v : pools_->list()) {
            const auto& s = v.pool;
            if (s.state != pool::pool_state::ready || s.name.empty()) continue;
            const bool gpu = s.device.starts_with("gpu");
            entry(s.name, s.memory_bytes, gpu ? s.memory_bytes : 0, expires_at(s));
        }
    }
    co_return response::json(200, json::serialize(json::object{{"models", models}}));
}

asio::awaitable<response> compat_api::model_management(request q) {
    auto what = q.path.substr(q.path.rfind('/') + 1);
    auto e = api::make_error(
        api::error_code::not_implemented,
        "llama-orch does not " + what +
            " models through the Ollama API: the models it serves are the GGUF files of its "
            "pools' configuration (GET /api/tags lists them; GET /v2/catalog/models shows the "
            "catalog)");
    co_return ollama_error(e, q.correlation_id);
}

asio::awaitable<response> compat_api::pull(request q) {
    auto parsed = api::parse_json_body(q.body);
    if (!parsed) co_return ollama_error(parsed.error(), q.correlation_id);
    auto named = model_field(*parsed, "pull");
    if (!named) co_return ollama_error(named.error(), q.correlation_id);
    std::string source(*named);
    bool stream = true;
    if (auto* s = parsed->if_contains("stream"); s && s->is_bool()) stream = s->get_bool();
    if (!files_ || !catalog::parse_model_ref(source))
        co_return ollama_error(
            api::make_error(api::error_code::not_implemented,
                            "llama-orch does not pull models from the Ollama registry ('" + source +
                                "'): pull a GGUF file by its reference — an http(s):// URL, "
                                "hf:ORG/REPO/FILE.gguf or file:/path — and it is staged into the "
                                "catalog (POST /v2/catalog/models)"),
            q.correlation_id);
    // A named request, moved in: gcc 12 gives a coroutine a prvalue argument without its own
    // copy, so the job's strings would be freed with this frame.
    catalog::staging_request req{source, "", "", ""};
    auto job = co_await files_->stage(std::move(req));
    if (!job) co_return ollama_error(job.error(), q.correlation_id);
    std::string id(job->at("job_id").as_string());
    if (stream) {
        response r;
        r.content_type = "application/x-ndjson";
        r.stream = std::make_shared<pull_progress>(files_, id);
        co_return r;
    }
    // Not streamed: one answer once the job ended (a client that left stops the wait).
    auto follow = std::make_shared<pool::catalog_job_follower>(files_, id);
    if (q.departure)
        q.departure->on_departure([w = std::weak_ptr(follow)] {
            if (auto f = w.lock()) f->stop();
        });
    for (;;) {
        auto s = co_await follow->next(std::chrono::hours(1));
        using kind = pool::catalog_job_follower::step::kind;
        if (s.what == kind::gone)
            co_return ollama_error(api::make_error(api::error_code::cancelled, "the client left"),
                                   q.correlation_id);
        if (s.what == kind::error) co_return ollama_error(s.error, q.correlation_id);
        if (s.what == kind::quiet) continue;
        std::string state(s.job.at("state").as_string());
        if (state == "done")
            co_return response::json(200, json::serialize(json::object{{"status", "success"}}));
        if (state == "failed") {
            const auto& e = s.job.at("error").as_object();
            co_return ollama_error(
                api::make_error(api::error_code::internal,
                                "pull failed: " + std::string(e.at("code").as_string()) + ": " +
                                    std::string(e.at("message").as_string())),
                q.correlation_id);
        }
    }
}

}  // namespace llorch::orchestrator
