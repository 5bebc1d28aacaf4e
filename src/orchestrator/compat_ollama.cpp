// Ollama's endpoints around generation: the server's liveness and version, the model list,
// show, ps, and the model-management calls llama-orch answers with what it does instead.
#include <boost/json.hpp>

#include "api/json_body.h"
#include "orchestrator/compat_api.h"
#include "orchestrator/compat_errors.h"
#include "orchestrator/compat_request.h"
#include "orchestrator/compat_stream.h"

namespace llorch::orchestrator {
namespace json = boost::json;
using http::request;
using http::response;

namespace {

// The Ollama API level these endpoints follow (clients compare it with what they need).
constexpr const char* ollama_api_version = "0.6.0";

// What llama-orch knows of a model's details: a GGUF file, the rest unknown.
json::object model_details() {
    return json::object{{"parent_model", ""},  {"format", "gguf"},     {"family", ""},
                        {"families", nullptr}, {"parameter_size", ""}, {"quantization_level", ""}};
}

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
    for (const auto& m : model_names())
        models.push_back(json::object{{"name", m},
                                      {"model", m},
                                      {"modified_at", iso_now()},
                                      {"size", 0},
                                      {"digest", ""},
                                      {"details", model_details()}});
    co_return response::json(200, json::serialize(json::object{{"models", models}}));
}

asio::awaitable<response> compat_api::show(request q) {
    auto parsed = api::parse_json_body(q.body);
    if (!parsed) co_return ollama_error(parsed.error(), q.correlation_id);
    auto* m = parsed->if_contains("model");
    if (!m || m->is_null()) m = parsed->if_contains("name");
    if (!m || !m->is_string() || m->get_string().empty())
        co_return ollama_error(
            api::make_error(api::error_code::invalid_params, "model: name the model to show"),
            q.correlation_id);
    auto name = ollama_model_name(m->get_string());
    auto limits = tasks_.limits(name);
    if (!index_.serves(name) || !limits)
        co_return ollama_error(
            api::make_error(api::error_code::model_not_available,
                            "model '" + std::string(m->get_string()) + "' not found"),
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

asio::awaitable<response> compat_api::ps(request) {
    // Pools hold their model for as long as they run: never expires.
    json::array models;
    for (const auto& name : model_names()) {
        auto limits = tasks_.limits(name);
        models.push_back(json::object{{"name", name},
                                      {"model", name},
                                      {"size", 0},
                                      {"digest", ""},
                                      {"details", model_details()},
                                      {"expires_at", "2999-12-31T23:59:59Z"},
                                      {"size_vram", 0},
                                      {"context_length", limits ? limits->ctx : 0}});
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

}  // namespace llorch::orchestrator
