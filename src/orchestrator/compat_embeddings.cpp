// The embedding endpoints: OpenAI's POST /v1/embeddings, Ollama's POST /api/embed and its older
// POST /api/embeddings. Each is one task with `embed` set (engines/embeddings.h): queued, placed
// on a pool with embeddings = true, cancelled when the client leaves; the answer is assembled
// from the task's `embedding` events.
#include <cstring>

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
using api::invalid_field;

enum class embed_dialect { openai, ollama_embed, ollama_embeddings };

struct embed_request {
    std::string model;  // as the client named it (echoed)
    std::string name;   // the model the task asks for
    json::array texts;
    bool base64 = false;
    std::optional<long long> keep_alive_ms;  // Ollama's keep_alive (an on-demand model's TTL)
};

// The texts of `input` (OpenAI, /api/embed) or `prompt` (/api/embeddings).
api::api_result<json::array> read_texts(const json::object& in, const char* field) {
    auto* v = in.if_contains(field);
    if (!v || v->is_null())
        return invalid_field(field, "give the text to embed (a string or an array)");
    if (v->is_string()) return json::array{*v};
    if (!v->is_array())
        return invalid_field(field, "must be a string or an array of strings (the texts to embed)");
    for (const auto& x : v->get_array())
        if (!x.is_string())
            return invalid_field(field, x.is_number() || x.is_array()
                                            ? "token arrays are not accepted here: send the text"
                                            : "must be a string or an array of strings");
    return v->get_array();
}

api::api_result<embed_request> translate(const json::object& in, embed_dialect d) {
    embed_request r;
    auto* model = in.if_contains("model");
    if (!model || !model->is_string() || model->get_string().empty())
        return invalid_field("model", "name the model to embed with");
    r.model = model->get_string();
    r.name = d == embed_dialect::openai ? r.model : ollama_model_name(r.model);
    auto texts = read_texts(in, d == embed_dialect::ollama_embeddings ? "prompt" : "input");
    if (!texts) return texts.error();
    r.texts = std::move(*texts);
    if (auto* dims = in.if_contains("dimensions"); dims && !dims->is_null())
        return invalid_field("dimensions",
                             "is not supported: the answer has the model's own embedding size");
    if (d == embed_dialect::openai) {
        if (auto* f = in.if_contains("encoding_format"); f && !f->is_null()) {
            if (!f->is_string() || (f->get_string() != "float" && f->get_string() != "base64"))
                return invalid_field("encoding_format", "must be \"float\" or \"base64\"");
            r.base64 = f->get_string() == "base64";
        }
        if (auto* u = in.if_contains("user"); u && !u->is_null() && !u->is_string())
            return invalid_field("user", "must be a string");
        return r;
    }
    if (auto* t = in.if_contains("truncate"); t && !t->is_null()) {
        if (!t->is_bool()) return invalid_field("truncate", "must be a boolean");
        if (t->get_bool())
            return invalid_field(
                "truncate",
                "true is not supported: a text longer than the model's context is refused "
                "(send truncate false, or shorter texts)");
    }
    if (auto* o = in.if_contains("options"); o && !o->is_null()) {
        if (!o->is_object()) return invalid_field("options", "must be an object");
        if (!o->get_object().empty())
            return invalid_field("options." + std::string(o->get_object().begin()->key()),
                                 "is not applied to embeddings (the pool's settings are)");
    }
    auto* k = in.if_contains("keep_alive");
    auto keep_alive = ollama_keep_alive_ms(k && !k->is_null() ? k : nullptr);
    if (!keep_alive) return keep_alive.error();
    r.keep_alive_ms = *keep_alive;
    return r;
}

// OpenAI's base64 encoding: the vector as little-endian float32, in base64.
std::string base64_floats(const json::array& v) {
    static constexpr char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string bytes;
    bytes.reserve(v.size() * 4);
    for (const auto& x : v) {
        const auto f = static_cast<float>(api::json_number(x).value_or(0.0));
        uint32_t u;
        std::memcpy(&u, &f, 4);
        for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
    }
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    for (size_t i = 0; i < bytes.size(); i += 3) {
        uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
        if (i + 1 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
        if (i + 2 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 2]);
        out.push_back(digits[(n >> 18) & 63]);
        out.push_back(digits[(n >> 12) & 63]);
        out.push_back(i + 1 < bytes.size() ? digits[(n >> 6) & 63] : '=');
        out.push_back(i + 2 < bytes.size() ? digits[n & 63] : '=');
    }
    return out;
}

response answer(const embed_request& r, embed_dialect d, std::vector<json::array>& vectors,
                long long tokens_in, long long took_ns) {
    if (d == embed_dialect::ollama_embeddings)
        return response::json(200, json::serialize(json::object{{"embedding", vectors.at(0)}}));
    if (d == embed_dialect::ollama_embed) {
        json::array all;
        for (auto& v : vectors) all.push_back(std::move(v));
        return response::json(
            200, json::serialize(json::object{{"model", r.model},
                                              {"embeddings", std::move(all)},
                                              {"total_duration", took_ns},
                                              {"load_duration", 0},
                                              {"prompt_eval_count", std::max(tokens_in, 0LL)}}));
    }
    json::array data;
    for (size_t i = 0; i < vectors.size(); ++i) {
        json::object o{{"object", "embedding"}, {"index", i}};
        if (r.base64)
            o["embedding"] = base64_floats(vectors[i]);
        else
            o["embedding"] = std::move(vectors[i]);
        data.push_back(std::move(o));
    }
    const auto n = std::max(tokens_in, 0LL);
    return response::json(
        200, json::serialize(
                 json::object{{"object", "list"},
                              {"data", std::move(data)},
                              {"model", r.model},
                              {"usage", json::object{{"prompt_tokens", n}, {"total_tokens", n}}}}));
}

asio::awaitable<response> handle(task_service& s, const placement::placement_index& index,
                                 request q, embed_dialect d) {
    const bool ollama = d != embed_dialect::openai;
    auto error = [&](const api::error& e) {
        return ollama ? ollama_error(e, q.correlation_id) : openai_error(e, q.correlation_id);
    };
    const auto received = std::chrono::steady_clock::now();
    auto parsed = api::parse_json_body(q.body);
    if (!parsed) co_return error(parsed.error());
    auto r = translate(*parsed, d);
    if (!r) co_return error(r.error());
    // Ollama's older endpoint answers an empty prompt with an empty vector (a load check).
    if (d == embed_dialect::ollama_embeddings && r->texts.size() == 1 &&
        r->texts[0].get_string().empty()) {
        if (!index.serves(placement::embeddings_key(r->name)))
            co_return error(api::make_error(api::error_code::model_not_available,
                                            "model '" + r->model + "' not found for embeddings"));
        co_return response::json(200, json::serialize(json::object{{"embedding", json::array{}}}));
    }
    json::object body{{"model", r->name}, {"embed", r->texts}};
    if (r->keep_alive_ms) body["keep_alive_ms"] = *r->keep_alive_ms;
    auto spec = parse_task_spec(body);
    if (!spec) {
        auto e = spec.error();
        // The client's field is `input` (or `prompt`), not the task API's `embed`.
        if (e.message.starts_with("embed"))
            e.message =
                (d == embed_dialect::ollama_embeddings ? "prompt" : "input") + e.message.substr(5);
        co_return error(e);
    }
    spec->cancel_on_disconnect = true;
    auto a = s.submit(std::move(*spec));
    if (!a) co_return error(a.error());
    if (q.departure) q.departure->on_departure([&s, id = a->t->spec.task_id] { s.cancel(id); });
    event_cursor cur(s.open_events(a->t, std::nullopt));
    std::vector<json::array> vectors(r->texts.size());
    long long tokens_in = -1;
    for (;;) {
        auto ev = co_await cur.next();
        if (!ev) break;
        boost::system::error_code ec;
        auto v = json::parse(ev->data, ec);
        if (ec || !v.is_object()) continue;
        auto& o = v.get_object();
        if (ev->event == "embedding") {
            auto* idx = o.if_contains("index");
            auto* emb = o.if_contains("embedding");
            if (idx && idx->is_int64() && idx->get_int64() >= 0 &&
                static_cast<size_t>(idx->get_int64()) < vectors.size() && emb && emb->is_array())
                vectors[static_cast<size_t>(idx->get_int64())] = std::move(emb->get_array());
        } else if (ev->event == "end") {
            tokens_in = end_figures_of(o).tokens_in;
        } else if (ev->event == "error") {
            co_return error(task_error_of(o));
        }
    }
    for (const auto& v : vectors)
        if (v.empty())
            co_return error(api::make_error(api::error_code::upstream_failed,
                                            "the engine's answer lacked an embedding"));
    const auto took = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now() - received)
                          .count();
    co_return answer(*r, d, vectors, tokens_in, took);
}

}  // namespace

asio::awaitable<response> compat_api::embeddings(request q) {
    return handle(tasks_, index_, std::move(q), embed_dialect::openai);
}
asio::awaitable<response> compat_api::embed(request q) {
    return handle(tasks_, index_, std::move(q), embed_dialect::ollama_embed);
}
asio::awaitable<response> compat_api::embeddings_legacy(request q) {
    return handle(tasks_, index_, std::move(q), embed_dialect::ollama_embeddings);
}

}  // namespace llorch::orchestrator
