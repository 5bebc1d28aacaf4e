#include "sim/sim_engine.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "sim/generation.h"
#include "sim/ollama_frames.h"

namespace llorch::sim {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::string_view json_type = "application/json; charset=utf-8";

http::response json_response(int status, std::string body) {
    http::response r = http::response::json(status, std::move(body));
    r.content_type = std::string(json_type);
    return r;
}

long long unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A streamed generation as SSE frames. The session pulls; a client that goes away cancels the
// generation, which frees its slot at once.
class sim_stream final : public http::body_stream {
  public:
    sim_stream(std::shared_ptr<generation> g, sim_frames frames)
        : gen_(std::move(g)), frames_(std::move(frames)) {}

    asio::awaitable<std::optional<std::string>> next(std::chrono::milliseconds max_wait) override {
        if (done_) co_return std::nullopt;
        const generation::step s = co_await gen_->advance(max_wait);
        if (s.gone) {
            done_ = true;
            co_return std::nullopt;
        }
        std::string out;
        if (s.count == 0 && !s.finished) co_return out;  // nothing yet: the session keeps waiting
        if (!started_) {
            frames_.append_start(out);
            started_ = true;
        }
        const token_text& text = gen_->engine().tokens();
        for (int i = s.first; i < s.first + s.count; ++i)
            frames_.append_token(out, text.text(i), text.id(i), i + 1);
        if (s.finished) {
            frames_.append_finish(out, gen_->summary());
            done_ = true;
        }
        co_return out;
    }

    void on_disconnect() override { gen_->cancel(); }

  private:
    std::shared_ptr<generation> gen_;
    sim_frames frames_;
    bool started_ = false;
    bool done_ = false;
};

}  // namespace

sim_engine::sim_engine(asio::io_context& io, const sim_config& cfg, uint16_t port, int index)
    : io_(io),
      cfg_(cfg),
      requested_port_(port),
      keys_(cfg.api_keys),
      text_(cfg.token_text),
      rng_(cfg.seed + static_cast<uint64_t>(index)),
      slots_(cfg.slots),
      started_at_(std::chrono::steady_clock::now()) {
    m_prompt_tokens_ =
        &metrics_.counter("llamacpp:prompt_tokens_total", "Number of prompt tokens processed.");
    m_tokens_predicted_ = &metrics_.counter("llamacpp:tokens_predicted_total",
                                            "Number of generation tokens processed.");
    m_processing_ =
        &metrics_.gauge("llamacpp:requests_processing", "Number of requests processing.");
    m_deferred_ = &metrics_.gauge("llamacpp:requests_deferred", "Number of requests deferred.");
    m_requests_ = &metrics_.counter("llorch_sim_requests_total", "Generation requests accepted.");
    m_errors_injected_ =
        &metrics_.counter("llorch_sim_injected_errors_total",
                          "Generation requests answered 500 by the error-rate fault.");
}

sim_engine::~sim_engine() { stop(); }

sim_result<void> sim_engine::start() {
    http::server_options o;
    o.name = "llama.cpp";
    o.address = cfg_.host;
    o.port = requested_port_;
    o.body_limit = 8 << 20;
    // A real engine sends nothing while it is stuck; neither does a hanging simulated one.
    o.keepalive_interval = std::chrono::hours(24);
    server_ = std::make_unique<http::server>(io_, o, routes());
    started_at_ = std::chrono::steady_clock::now();
    if (auto r = server_->start(); !r) return sim_error{sim_errc::listen_failed, r.error().message};
    return {};
}

void sim_engine::stop() {
    if (server_) server_->stop();
}

uint16_t sim_engine::port() const { return server_ ? server_->port() : requested_port_; }

http::router sim_engine::routes() {
    http::router r;
    const http::route_options open{.public_route = true};
    r.add(
        "GET", "/health", [this](http::request q) { return handle_health(std::move(q)); }, open);
    r.add(
        "GET", "/v1/health", [this](http::request q) { return handle_health(std::move(q)); }, open);
    r.add("GET", "/slots", [this](http::request q) { return handle_slots(std::move(q)); });
    r.add("GET", "/props", [this](http::request q) { return handle_props(std::move(q)); });
    r.add("GET", "/models", [this](http::request q) { return handle_models(std::move(q)); });
    r.add("GET", "/v1/models", [this](http::request q) { return handle_models(std::move(q)); });
    r.add("GET", "/metrics", [this](http::request q) { return handle_metrics(std::move(q)); });
    r.add("GET", "/api/tags", [this](http::request q) { return handle_tags(std::move(q)); });
    r.add("GET", "/api/version", [this](http::request q) { return handle_version(std::move(q)); });
    r.add("POST", "/api/generate", [this](http::request q) {
        return handle_generate(std::move(q), api_kind::ollama_generate);
    });
    r.add("POST", "/api/chat",
          [this](http::request q) { return handle_generate(std::move(q), api_kind::ollama_chat); });
    r.add("POST", "/completion",
          [this](http::request q) { return handle_generate(std::move(q), api_kind::completion); });
    r.add("POST", "/completions",
          [this](http::request q) { return handle_generate(std::move(q), api_kind::completion); });
    r.add("POST", "/v1/completions", [this](http::request q) {
        return handle_generate(std::move(q), api_kind::text_completion);
    });
    r.add("POST", "/v1/chat/completions",
          [this](http::request q) { return handle_generate(std::move(q), api_kind::chat); });
    r.add("POST", "/chat/completions",
          [this](http::request q) { return handle_generate(std::move(q), api_kind::chat); });
    return r;
}

bool sim_engine::loading() const {
    return std::chrono::steady_clock::now() - started_at_ < cfg_.slow_start;
}

std::optional<http::response> sim_engine::gate(const http::request& req, bool public_route) const {
    if (!public_route && !keys_.empty()) {
        auto auth = req.header("Authorization");
        auto tok = auth ? http::bearer_token(*auth) : std::nullopt;
        if (!tok || !keys_.verify(*tok)) {
            return json_response(
                401, middleware_error_body(401, "Invalid API Key", "authentication_error"));
        }
    }
    if (loading()) {
        return json_response(503, middleware_error_body(503, "Loading model", "unavailable_error"));
    }
    return std::nullopt;
}

asio::awaitable<http::response> sim_engine::handle_health(http::request req) {
    if (auto g = gate(req, true)) co_return std::move(*g);
    co_return json_response(200, R"({"status":"ok"})");
}

asio::awaitable<http::response> sim_engine::handle_slots(http::request req) {
    if (auto g = gate(req, false)) co_return std::move(*g);
    if (req.query_param("fail_on_no_slot").value_or("") == "1" && slots_.busy() == slots_.size()) {
        co_return json_response(503, error_body({503, "no slot available", "unavailable_error"}));
    }
    json::array a;
    for (int i = 0; i < slots_.size(); ++i) {
        a.push_back(json::object{{"id", i},
                                 {"n_ctx", cfg_.ctx},
                                 {"speculative", false},
                                 {"is_processing", slots_.holder(i).has_value()}});
    }
    co_return json_response(200, json::serialize(a));
}

asio::awaitable<http::response> sim_engine::handle_props(http::request req) {
    if (auto g = gate(req, false)) co_return std::move(*g);
    json::object o{
        {"default_generation_settings",
         json::object{{"n_ctx", cfg_.ctx}, {"params", json::object{{"n_predict", -1}}}}},
        {"total_slots", slots_.size()},
        {"model_alias", cfg_.alias},
        {"model_path", cfg_.alias},
        {"endpoint_slots", true},
        {"endpoint_props", false},
        {"endpoint_metrics", true},
        {"build_info", sim_frames::system_fingerprint},
        {"is_sleeping", false},
    };
    co_return json_response(200, json::serialize(o));
}

asio::awaitable<http::response> sim_engine::handle_models(http::request req) {
    if (auto g = gate(req, false)) co_return std::move(*g);
    json::object o{
        {"models", json::array{json::object{{"name", cfg_.alias},
                                            {"model", cfg_.alias},
                                            {"type", "model"},
                                            {"capabilities", json::array{"completion"}}}}},
        {"object", "list"},
        {"data", json::array{json::object{
                     {"id", cfg_.alias},
                     {"aliases", json::array{json::value(cfg_.alias)}},
                     {"tags", json::array()},
                     {"object", "model"},
                     {"created", unix_now()},
                     {"owned_by", "llamacpp"},
                     {"meta", json::object{{"n_ctx", cfg_.ctx}, {"n_ctx_train", cfg_.ctx}}}}}},
    };
    co_return json_response(200, json::serialize(o));
}

asio::awaitable<http::response> sim_engine::handle_metrics(http::request req) {
    if (auto g = gate(req, false)) co_return std::move(*g);
    co_return http::response::text(200, metrics_.render(), "text/plain; version=0.0.4");
}

bool sim_engine::serves(std::string_view model) const {
    auto untagged = [](std::string_view s) {
        return s.ends_with(":latest") ? s.substr(0, s.size() - 7) : s;
    };
    if (untagged(model) == untagged(cfg_.alias)) return true;
    return std::any_of(cfg_.models.begin(), cfg_.models.end(),
                       [&](const std::string& m) { return untagged(m) == untagged(model); });
}

asio::awaitable<http::response> sim_engine::handle_tags(http::request req) {
    if (auto g = gate(req, false)) co_return std::move(*g);
    std::vector<std::string> models{cfg_.alias};
    for (const auto& m : cfg_.models)
        if (std::find(models.begin(), models.end(), m) == models.end()) models.push_back(m);
    co_return json_response(200, ollama_tags_body(models, rfc3339(unix_now())));
}

asio::awaitable<http::response> sim_engine::handle_version(http::request req) {
    if (auto g = gate(req, false)) co_return std::move(*g);
    co_return json_response(200, R"({"version":"0.5.7"})");
}

asio::awaitable<http::response> sim_engine::handle_generate(http::request req, api_kind api) {
    const bool ollama = is_ollama(api);
    if (auto g = gate(req, false)) {
        if (!ollama) co_return std::move(*g);
        co_return json_response(
            g->status, ollama_error_body(g->status == 401 ? "unauthorized" : "loading model"));
    }
    auto parsed = ollama ? parse_ollama_request(api, req.body) : parse_gen_request(api, req.body);
    if (!parsed)
        co_return json_response(
            parsed.error().status,
            ollama ? ollama_error_body(parsed.error().message) : error_body(parsed.error()));
    const gen_request& r = *parsed;
    if (ollama && !serves(r.model))
        co_return json_response(
            404, ollama_error_body("model \"" + r.model + "\" not found, try pulling it first"));
    m_requests_->Increment();
    if (cfg_.error_rate > 0 && unit_interval(rng_) < cfg_.error_rate) {
        m_errors_injected_->Increment();
        co_return json_response(
            500, ollama ? ollama_error_body("simulated engine error")
                        : error_body({500, "simulated engine error", "server_error"}));
    }

    generation::plan p;
    p.tokens = r.n_predict ? *r.n_predict : cfg_.tokens;
    p.eos = !r.n_predict && !r.ignore_eos;
    if (cfg_.hang_after_tokens >= 0 &&
        (cfg_.hang_rate >= 1 || unit_interval(rng_) < cfg_.hang_rate))
        p.hang_after = cfg_.hang_after_tokens;
    p.prompt_tokens = r.prompt_tokens;
    m_prompt_tokens_->Increment(p.prompt_tokens);

    auto gen = std::make_shared<generation>(shared_from_this(), p);
    gen->start();
    sim_frames frames(api, ollama ? r.model : cfg_.alias, new_completion_id(), unix_now(),
                      r.include_usage, r.prompt_tokens);
    if (r.stream) {
        http::response res;
        res.content_type = ollama ? "application/x-ndjson" : "text/event-stream";
        res.stream = std::make_shared<sim_stream>(std::move(gen), std::move(frames));
        co_return res;
    }
    std::string content;
    for (;;) {
        const generation::step s = co_await gen->advance(std::chrono::hours(1));
        if (s.gone) break;
        for (int i = s.first; i < s.first + s.count; ++i) content += text_.text(i);
        if (s.finished) break;
    }
    co_return json_response(200, frames.whole(gen->summary(), content));
}

std::string sim_engine::new_completion_id() {
    static constexpr std::string_view alphabet =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::string id = "chatcmpl-";
    for (int i = 0; i < 32; ++i) id += alphabet[rng_() % alphabet.size()];
    return id;
}

slot_table::ticket sim_engine::admit(generation& g) {
    const slot_table::ticket t = next_ticket_++;
    by_ticket_.emplace(t, &g);
    auto slot = slots_.acquire(t);
    m_processing_->Set(slots_.busy());
    m_deferred_->Set(static_cast<double>(slots_.waiting()));
    if (slot) g.grant(*slot);
    return t;
}

void sim_engine::release(slot_table::ticket t) {
    by_ticket_.erase(t);
    auto next = slots_.release(t);
    m_processing_->Set(slots_.busy());
    m_deferred_->Set(static_cast<double>(slots_.waiting()));
    if (!next) return;
    if (auto it = by_ticket_.find(next->first); it != by_ticket_.end())
        it->second->grant(next->second);
}

int sim_engine::count_tokens(int n) {
    if (cfg_.crash_after_tokens > 0) {
        n = static_cast<int>(std::min<long long>(n, cfg_.crash_after_tokens - tokens_sent_));
        if (n < 0) n = 0;
    }
    tokens_sent_ += n;
    m_tokens_predicted_->Increment(n);
    return n;
}

bool sim_engine::crash_due() const {
    return cfg_.crash_after_tokens > 0 && tokens_sent_ >= cfg_.crash_after_tokens;
}

void sim_engine::crash() {
    std::fflush(stdout);
    std::fprintf(stderr, "llorch-sim: crash fault: engine on port %u sent %lld tokens, exiting\n",
                 static_cast<unsigned>(port()), tokens_sent_);
    std::fflush(stderr);
    std::_Exit(1);
}

}  // namespace llorch::sim
