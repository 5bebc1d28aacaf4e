#include "engines/engine_adapter.h"

#include <boost/json.hpp>

#include "api/json_pick.h"
#include "engines/embeddings.h"
#include "engines/llamacpp_chunk.h"
#include "http/sse.h"

namespace llorch::engines {
namespace json = boost::json;

namespace {

json::array messages_json(const generation_request& g) {
    json::array a;
    for (const auto& m : g.messages) a.push_back(message_json(m));
    return a;
}

// The request's engine_params into an OpenAI-style body (llama-server's /v1/*, vLLM): as they
// are, except that a native json_schema becomes a response_format.
void add_openai_params(json::object& o, const generation_request& g) {
    for (auto& kv : engine_params(g)) {
        if (kv.key() == "json_schema")
            o["response_format"] = json::object{
                {"type", "json_schema"},
                {"json_schema", json::object{{"name", "output"}, {"schema", kv.value()}}}};
        else
            o[kv.key()] = kv.value();
    }
}

// The same into llama-server's native /completion body: a response_format becomes the native
// json_schema.
void add_native_params(json::object& o, const generation_request& g) {
    for (auto& kv : engine_params(g)) {
        if (kv.key() != "response_format") {
            o[kv.key()] = kv.value();
            continue;
        }
        auto* rf = kv.value().if_object();
        auto* type = rf ? rf->if_contains("type") : nullptr;
        if (!type || !type->is_string()) continue;
        if (type->get_string() == "json_object") {
            o["json_schema"] = json::object{{"type", "object"}};
        } else if (type->get_string() == "json_schema") {
            auto* js = rf->if_contains("json_schema");
            auto* schema = js && js->is_object() ? js->get_object().if_contains("schema") : nullptr;
            o["json_schema"] = schema ? *schema : json::value(json::object{});
        }
    }
}

// The same into an Ollama body: structured output as `format`, the rest as options. Ollama has
// no logit bias.
void add_ollama_params(json::object& o, json::object& opts, const generation_request& g) {
    for (auto& kv : engine_params(g)) {
        if (kv.key() == "json_schema") {
            o["format"] = kv.value();
        } else if (kv.key() == "response_format") {
            auto* rf = kv.value().if_object();
            auto* type = rf ? rf->if_contains("type") : nullptr;
            auto* js = rf ? rf->if_contains("json_schema") : nullptr;
            auto* schema = js && js->is_object() ? js->get_object().if_contains("schema") : nullptr;
            if (type && type->is_string() && type->get_string() == "json_object")
                o["format"] = "json";
            else if (schema)
                o["format"] = *schema;
        } else if (kv.key() != "logit_bias" && kv.key() != "grammar" && kv.key() != "tools" &&
                   kv.key() != "tool_choice" && kv.key() != "parallel_tool_calls") {
            opts[kv.key()] = kv.value();
        }
    }
}

std::string as_string(const json::value* v) {
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}
long long as_int(const json::value* v, long long dflt = -1) {
    if (!v) return dflt;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<long long>(v->get_uint64());
    if (v->is_double()) return static_cast<long long>(v->get_double());
    return dflt;
}

// SSE streams whose data lines are JSON objects, ended by a final object or `[DONE]`.
class sse_json_decoder : public stream_decoder {
  public:
    void feed(std::string_view bytes, std::vector<engine_event>& out) override {
        events_.clear();
        parser_.feed(bytes, events_);
        for (const auto& e : events_) {
            if (ended_) return;
            if (e.data == "[DONE]") {
                end(out);
                continue;
            }
            on_data(e.data, out);
        }
    }
    void finish(std::vector<engine_event>& out) override {
        if (!ended_) {
            engine_event ev;
            ev.type = engine_event::kind::error;
            ev.message = "the engine ended the stream without finishing the generation";
            out.push_back(ev);
            ended_ = true;
        }
    }

  protected:
    // One data line that is not [DONE]: parsed as an object and handed to on_object, unless a
    // decoder reads its chunks another way.
    virtual void on_data(std::string_view data, std::vector<engine_event>& out) {
        // A chunk is small: its values live in a buffer on the stack, not on the heap.
        unsigned char storage[4096];
        json::monotonic_resource mr(storage, sizeof storage);
        boost::system::error_code ec;
        auto v = json::parse(data, ec, json::storage_ptr(&mr));
        if (ec || !v.is_object()) return;
        on_object(v.get_object(), out);
    }
    virtual void on_object(const json::object& o, std::vector<engine_event>& out) = 0;
    void token(std::string t, std::vector<engine_event>& out) {
        if (t.empty()) return;
        ++pieces_;
        engine_event ev;
        ev.text = std::move(t);
        out.push_back(std::move(ev));
    }
    void end(std::vector<engine_event>& out) {
        if (ended_) return;
        ended_ = true;
        engine_event ev;
        ev.type = engine_event::kind::end;
        ev.tokens_out = tokens_out_ >= 0 ? tokens_out_ : pieces_;
        ev.tokens_in = tokens_in_;
        ev.decode_ms = decode_ms_;
        ev.finish_reason = finish_reason_.empty() ? "stop" : finish_reason_;
        out.push_back(ev);
    }
    void error(std::string m, std::vector<engine_event>& out) {
        if (ended_) return;
        ended_ = true;
        engine_event ev;
        ev.type = engine_event::kind::error;
        ev.message = std::move(m);
        out.push_back(ev);
    }
    int tokens_out_ = -1;
    int tokens_in_ = -1;
    long long decode_ms_ = -1;
    std::string finish_reason_;
    int pieces_ = 0;
    bool ended_ = false;

  private:
    http::sse_parser parser_;
    std::vector<http::sse_event> events_;
};

// llama-server's native POST /completion stream. A token's chunk is read in place
// (scan_llamacpp_chunk: this runs once per token); any other chunk (the last one, with its counts
// and timings) is read for the fields the relay uses in one pass with json_pick, without a DOM;
// a chunk with an error takes the DOM path below.
class llamacpp_completion_decoder : public sse_json_decoder {
    enum field { content, stop, predicted, evaluated, predicted_ms, stop_type, error_field };
    api::json_pick pick_{{"content", "stop", "tokens_predicted", "tokens_evaluated",
                          "timings.predicted_ms", "stop_type", "error"}};
    std::string content_;  // the token chunk's text, its buffer reused

    static long long int_of(const api::json_pick::value& v) {
        using k = api::json_pick::kind;
        return v.k == k::integer || v.k == k::number ? v.integer : -1;
    }
    void on_data(std::string_view data, std::vector<engine_event>& out) override {
        if (scan_llamacpp_chunk(data, content_) == llamacpp_chunk::token) {
            token(content_, out);
            return;
        }
        if (!pick_.parse(data)) return;
        if (pick_[error_field].k != api::json_pick::kind::absent)
            return sse_json_decoder::on_data(data, out);
        token(pick_[content].text, out);
        if (pick_[stop].k != api::json_pick::kind::boolean || !pick_[stop].boolean) return;
        tokens_out_ = static_cast<int>(int_of(pick_[predicted]));
        tokens_in_ = static_cast<int>(int_of(pick_[evaluated]));
        decode_ms_ = int_of(pick_[predicted_ms]);
        finish_reason_ = pick_[stop_type].text == "limit" ? "length" : "stop";
        end(out);
    }
    void on_object(const json::object& o, std::vector<engine_event>& out) override {
        if (auto* err = o.if_contains("error")) {
            auto* eo = err->if_object();
            error(eo ? as_string(eo->if_contains("message")) : json::serialize(*err), out);
            return;
        }
        token(as_string(o.if_contains("content")), out);
        auto* stop = o.if_contains("stop");
        if (stop && stop->is_bool() && stop->get_bool()) {
            tokens_out_ = static_cast<int>(as_int(o.if_contains("tokens_predicted")));
            tokens_in_ = static_cast<int>(as_int(o.if_contains("tokens_evaluated")));
            if (auto* t = o.if_contains("timings"); t && t->is_object())
                decode_ms_ = as_int(t->get_object().if_contains("predicted_ms"));
            auto st = as_string(o.if_contains("stop_type"));
            finish_reason_ = st == "limit" ? "length" : "stop";
            end(out);
        }
    }
};

// OpenAI-compatible chat and text completion chunks (vLLM, llama-server's /v1/*).
class openai_decoder : public sse_json_decoder {
    void on_object(const json::object& o, std::vector<engine_event>& out) override {
        if (auto* err = o.if_contains("error")) {
            auto* eo = err->if_object();
            error(eo ? as_string(eo->if_contains("message")) : json::serialize(*err), out);
            return;
        }
        if (auto* u = o.if_contains("usage"); u && u->is_object()) {
            tokens_out_ =
                static_cast<int>(as_int(u->get_object().if_contains("completion_tokens")));
            tokens_in_ = static_cast<int>(as_int(u->get_object().if_contains("prompt_tokens")));
        }
        if (auto* t = o.if_contains("timings"); t && t->is_object())
            decode_ms_ = as_int(t->get_object().if_contains("predicted_ms"));
        auto* choices = o.if_contains("choices");
        if (!choices || !choices->is_array() || choices->get_array().empty()) return;
        auto* c = choices->get_array()[0].if_object();
        if (!c) return;
        if (auto* d = c->if_contains("delta"); d && d->is_object()) {
            token(as_string(d->get_object().if_contains("content")), out);
            tool_calls(d->get_object().if_contains("tool_calls"), out);
        } else {
            token(as_string(c->if_contains("text")), out);
        }
        auto fr = as_string(c->if_contains("finish_reason"));
        if (!fr.empty())
            finish_reason_ = fr == "length" || fr == "tool_calls" ? fr : std::string("stop");
    }
    // OpenAI's tool call deltas: [{index, id, type, function: {name, arguments}}].
    void tool_calls(const json::value* v, std::vector<engine_event>& out) {
        if (!v || !v->is_array()) return;
        for (const auto& x : v->get_array()) {
            auto* o = x.if_object();
            if (!o) continue;
            engine_event ev;
            ev.type = engine_event::kind::tool_call;
            ev.tool_index = static_cast<int>(as_int(o->if_contains("index"), 0));
            ev.tool_id = as_string(o->if_contains("id"));
            if (auto* f = o->if_contains("function"); f && f->is_object()) {
                ev.tool_name = as_string(f->get_object().if_contains("name"));
                ev.text = as_string(f->get_object().if_contains("arguments"));
            }
            if (ev.tool_id.empty() && ev.tool_name.empty() && ev.text.empty()) continue;
            ++pieces_;
            out.push_back(std::move(ev));
        }
    }
};

// Ollama's newline-delimited JSON stream.
class ollama_decoder : public stream_decoder {
  public:
    void feed(std::string_view bytes, std::vector<engine_event>& out) override {
        for (char c : bytes) {
            if (c != '\n') {
                line_ += c;
                continue;
            }
            on_line(out);
            line_.clear();
        }
    }
    void finish(std::vector<engine_event>& out) override {
        if (!line_.empty()) on_line(out);
        if (!ended_) {
            engine_event ev;
            ev.type = engine_event::kind::error;
            ev.message = "the engine ended the stream without finishing the generation";
            out.push_back(ev);
            ended_ = true;
        }
    }

  private:
    void on_line(std::vector<engine_event>& out) {
        if (ended_ || line_.empty()) return;
        unsigned char storage[4096];
        json::monotonic_resource mr(storage, sizeof storage);
        boost::system::error_code ec;
        auto v = json::parse(line_, ec, json::storage_ptr(&mr));
        if (ec || !v.is_object()) return;
        const auto& o = v.get_object();
        if (auto* err = o.if_contains("error")) {
            engine_event ev;
            ev.type = engine_event::kind::error;
            ev.message = err->is_string() ? std::string(err->get_string()) : json::serialize(*err);
            out.push_back(ev);
            ended_ = true;
            return;
        }
        std::string text = as_string(o.if_contains("response"));
        if (auto* m = o.if_contains("message"); m && m->is_object())
            text = as_string(m->get_object().if_contains("content"));
        if (!text.empty()) {
            engine_event ev;
            ev.text = std::move(text);
            out.push_back(std::move(ev));
        }
        auto* done = o.if_contains("done");
        if (done && done->is_bool() && done->get_bool()) {
            engine_event ev;
            ev.type = engine_event::kind::end;
            ev.tokens_out = static_cast<int>(as_int(o.if_contains("eval_count")));
            ev.tokens_in = static_cast<int>(as_int(o.if_contains("prompt_eval_count")));
            auto ns = as_int(o.if_contains("eval_duration"));
            ev.decode_ms = ns >= 0 ? ns / 1'000'000 : -1;
            ev.finish_reason =
                as_string(o.if_contains("done_reason")) == "length" ? "length" : "stop";
            out.push_back(ev);
            ended_ = true;
        }
    }
    std::string line_;
    bool ended_ = false;
};

class llamacpp_adapter : public engine_adapter {
  public:
    engine_call build(const generation_request& g, const std::string& model) const override {
        if (!g.embed.empty()) return embedding_call(engine_kind_id::llamacpp, g, model);
        json::object o;
        if (!g.messages.empty()) {
            o["model"] = model;
            o["messages"] = messages_json(g);
            o["max_tokens"] = g.max_tokens;
            o["stream"] = true;
            o["stream_options"] = json::object{{"include_usage", true}};
            if (g.ignore_eos) o["ignore_eos"] = true;
            add_sampling(o, g);
            add_openai_params(o, g);
            return {"/v1/chat/completions", json::serialize(o)};
        }
        o["prompt"] = g.prompt.value_or("");
        o["n_predict"] = g.max_tokens;
        o["stream"] = true;
        o["cache_prompt"] = true;
        if (g.ignore_eos) o["ignore_eos"] = true;
        add_sampling(o, g);
        add_native_params(o, g);
        return {"/completion", json::serialize(o)};
    }
    std::unique_ptr<stream_decoder> decoder(const generation_request& g) const override {
        if (!g.embed.empty()) return embedding_decoder(engine_kind_id::llamacpp, g.embed.size());
        if (!g.messages.empty()) return std::make_unique<openai_decoder>();
        return std::make_unique<llamacpp_completion_decoder>();
    }
    std::string health_path() const override { return "/health"; }
};

class openai_adapter : public engine_adapter {
  public:
    engine_call build(const generation_request& g, const std::string& model) const override {
        if (!g.embed.empty()) return embedding_call(engine_kind_id::openai, g, model);
        json::object o;
        o["model"] = model;
        o["max_tokens"] = g.max_tokens;
        o["stream"] = true;
        o["stream_options"] = json::object{{"include_usage", true}};
        if (g.ignore_eos) o["ignore_eos"] = true;
        add_sampling(o, g);
        add_openai_params(o, g);
        if (!g.messages.empty()) {
            o["messages"] = messages_json(g);
            return {"/v1/chat/completions", json::serialize(o)};
        }
        o["prompt"] = g.prompt.value_or("");
        return {"/v1/completions", json::serialize(o)};
    }
    std::unique_ptr<stream_decoder> decoder(const generation_request& g) const override {
        if (!g.embed.empty()) return embedding_decoder(engine_kind_id::openai, g.embed.size());
        return std::make_unique<openai_decoder>();
    }
    std::string health_path() const override { return "/v1/models"; }
};

class ollama_adapter : public engine_adapter {
  public:
    engine_call build(const generation_request& g, const std::string& model) const override {
        if (!g.embed.empty()) return embedding_call(engine_kind_id::ollama, g, model);
        json::object o;
        o["model"] = model;
        o["stream"] = true;
        json::object opts;
        opts["num_predict"] = g.max_tokens;
        add_sampling(opts, g);
        add_ollama_params(o, opts, g);
        o["options"] = std::move(opts);
        if (!g.messages.empty()) {
            o["messages"] = messages_json(g);
            return {"/api/chat", json::serialize(o)};
        }
        o["prompt"] = g.prompt.value_or("");
        return {"/api/generate", json::serialize(o)};
    }
    std::unique_ptr<stream_decoder> decoder(const generation_request& g) const override {
        if (!g.embed.empty()) return embedding_decoder(engine_kind_id::ollama, g.embed.size());
        return std::make_unique<ollama_decoder>();
    }
    std::string health_path() const override { return "/api/tags"; }
};

}  // namespace

std::string tool_call_json(const engine_event& e, long long i) {
    json::object o{{"index", e.tool_index}};
    if (!e.tool_id.empty()) o["id"] = e.tool_id;
    if (!e.tool_name.empty()) o["name"] = e.tool_name;
    o["arguments"] = e.text;
    o["i"] = i;
    return json::serialize(o);
}

std::optional<engine_event> tool_call_of(std::string_view text) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const auto& o = v.get_object();
    engine_event ev;
    ev.type = engine_event::kind::tool_call;
    ev.tool_index = static_cast<int>(as_int(o.if_contains("index"), 0));
    ev.tool_id = as_string(o.if_contains("id"));
    ev.tool_name = as_string(o.if_contains("name"));
    ev.text = as_string(o.if_contains("arguments"));
    return ev;
}

const engine_adapter& adapter_for(engine_kind_id k) {
    static const llamacpp_adapter llamacpp;
    static const openai_adapter openai;
    static const ollama_adapter ollama;
    switch (k) {
        case engine_kind_id::openai:
            return openai;
        case engine_kind_id::ollama:
            return ollama;
        case engine_kind_id::llamacpp:
            break;
    }
    return llamacpp;
}

}  // namespace llorch::engines
