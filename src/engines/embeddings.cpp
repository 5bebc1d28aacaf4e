#include "engines/embeddings.h"

#include <algorithm>

#include <boost/json.hpp>

#include "api/json_body.h"

namespace llorch::engines {
namespace json = boost::json;

namespace {
using api::invalid_field;

engine_event error_event(std::string message) {
    engine_event ev;
    ev.type = engine_event::kind::error;
    ev.message = std::move(message);
    return ev;
}

// The whole answer, read once the body ended: OpenAI's {data: [{index, embedding}], usage} or
// Ollama's {embeddings: [[...]], prompt_eval_count}; {error} from either.
class embedding_answer_decoder final : public stream_decoder {
  public:
    embedding_answer_decoder(bool ollama, size_t inputs) : ollama_(ollama), inputs_(inputs) {}

    void feed(std::string_view bytes, std::vector<engine_event>& out) override {
        if (done_) return;
        if (body_.size() + bytes.size() > max_embed_answer_bytes) {
            done_ = true;
            out.push_back(error_event("the engine's embeddings answer is over " +
                                      std::to_string(max_embed_answer_bytes >> 20) + " MiB"));
            return;
        }
        body_.append(bytes);
    }

    void finish(std::vector<engine_event>& out) override {
        if (done_) return;
        done_ = true;
        boost::system::error_code ec;
        auto v = json::parse(body_, ec);
        body_.clear();
        if (ec || !v.is_object()) {
            out.push_back(error_event("the engine's embeddings answer is not a JSON object"));
            return;
        }
        const auto& o = v.get_object();
        if (auto* err = o.if_contains("error")) {
            auto* eo = err->if_object();
            auto* m = eo ? eo->if_contains("message") : err;
            out.push_back(error_event(m && m->is_string() ? std::string(m->get_string())
                                                          : json::serialize(*err)));
            return;
        }
        std::vector<const json::value*> vectors(inputs_, nullptr);
        int tokens_in = -1;
        size_t got = 0;
        if (ollama_) {
            auto* e = o.if_contains("embeddings");
            if (e && e->is_array())
                for (const auto& x : e->get_array())
                    if (got < inputs_) vectors[got++] = &x;
            if (auto* n = o.if_contains("prompt_eval_count"); n && n->is_int64())
                tokens_in = static_cast<int>(n->get_int64());
        } else {
            auto* d = o.if_contains("data");
            if (d && d->is_array())
                for (const auto& x : d->get_array()) {
                    auto* xo = x.if_object();
                    auto* idx = xo ? xo->if_contains("index") : nullptr;
                    auto* emb = xo ? xo->if_contains("embedding") : nullptr;
                    const auto i = idx && idx->is_int64() ? idx->get_int64() : -1;
                    if (i < 0 || static_cast<size_t>(i) >= inputs_ || !emb || vectors[i]) continue;
                    vectors[static_cast<size_t>(i)] = emb;
                    ++got;
                }
            if (auto* u = o.if_contains("usage"); u && u->is_object())
                if (auto* n = u->get_object().if_contains("prompt_tokens"); n && n->is_int64())
                    tokens_in = static_cast<int>(n->get_int64());
        }
        for (size_t i = 0; i < inputs_; ++i) {
            const auto* vec = vectors[i];
            if (!vec || !vec->is_array() || vec->get_array().empty() ||
                !std::all_of(vec->get_array().begin(), vec->get_array().end(),
                             [](const json::value& x) { return x.is_number(); })) {
                out.push_back(error_event("the engine answered " + std::to_string(got) +
                                          " embeddings for " + std::to_string(inputs_) +
                                          " inputs, or one that is not a list of numbers"));
                return;
            }
        }
        for (size_t i = 0; i < inputs_; ++i) {
            engine_event ev;
            ev.type = engine_event::kind::embedding;
            ev.tool_index = static_cast<int>(i);
            ev.text = json::serialize(*vectors[i]);
            out.push_back(std::move(ev));
        }
        engine_event end;
        end.type = engine_event::kind::end;
        end.tokens_in = tokens_in;
        end.tokens_out = 0;
        end.finish_reason = "stop";
        out.push_back(std::move(end));
    }

  private:
    bool ollama_;
    size_t inputs_;
    std::string body_;
    bool done_ = false;
};

}  // namespace

api::api_result<void> parse_embed(const json::object& o, generation_request& g) {
    auto* v = o.if_contains("embed");
    if (!v || v->is_null()) return {};
    constexpr const char* shape = "must be a string or an array of strings (the texts to embed)";
    if (v->is_string()) {
        g.embed.emplace_back(v->get_string());
    } else if (v->is_array()) {
        const auto& a = v->get_array();
        if (a.empty()) return invalid_field("embed", "must name at least one text");
        if (a.size() > max_embed_inputs)
            return invalid_field("embed", "at most " + std::to_string(max_embed_inputs) +
                                              " texts (got " + std::to_string(a.size()) + ")");
        for (const auto& x : a) {
            if (!x.is_string()) return invalid_field("embed", shape);
            g.embed.emplace_back(x.get_string());
        }
    } else {
        return invalid_field("embed", shape);
    }
    for (size_t i = 0; i < g.embed.size(); ++i) {
        const auto field = "embed[" + std::to_string(i) + "]";
        if (g.embed[i].empty()) return invalid_field(field, "is empty: there is nothing to embed");
        if (!valid_utf8(g.embed[i])) return invalid_field(field, "is not valid UTF-8");
    }
    return {};
}

engine_call embedding_call(engine_kind_id k, const generation_request& g,
                           const std::string& model) {
    json::array input;
    for (const auto& t : g.embed) input.push_back(json::value(t));
    json::object o{{"model", model}, {"input", std::move(input)}};
    if (k == engine_kind_id::ollama) return {"/api/embed", json::serialize(o)};
    o["encoding_format"] = "float";
    return {"/v1/embeddings", json::serialize(o)};
}

std::unique_ptr<stream_decoder> embedding_decoder(engine_kind_id k, size_t inputs) {
    return std::make_unique<embedding_answer_decoder>(k == engine_kind_id::ollama, inputs);
}

std::string embedding_json(const engine_event& e, long long i) {
    std::string out = "{\"index\":" + std::to_string(e.tool_index) + ",\"embedding\":";
    out += e.text;
    out += ",\"i\":" + std::to_string(i) + "}";
    return out;
}

std::optional<engine_event> embedding_of(std::string_view text) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const auto& o = v.get_object();
    auto* idx = o.if_contains("index");
    auto* emb = o.if_contains("embedding");
    if (!idx || !idx->is_int64() || idx->get_int64() < 0 || !emb || !emb->is_array())
        return std::nullopt;
    engine_event ev;
    ev.type = engine_event::kind::embedding;
    ev.tool_index = static_cast<int>(idx->get_int64());
    ev.text = json::serialize(*emb);
    return ev;
}

}  // namespace llorch::engines
