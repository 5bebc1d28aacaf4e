// The bad-input catalog: malformed, out-of-range and hostile requests to every endpoint of both
// daemons, each with the status and machine-readable code it must get (in the endpoint's
// dialect), and both daemons still healthy and serving afterwards. Real orchestratord (HOME
// profile) and pool-managerd, each with a real llama-server on the tiny model.
#include <gtest/gtest.h>

#include <fstream>

#include "support/test_support.h"

namespace llorch::test {
namespace {
namespace json = boost::json;

enum class dialect { ours, openai, ollama };

struct bad_case {
    std::string name;
    int daemon;  // 0: orchestratord, 1: pool-managerd
    std::string method;
    std::string path;
    std::string body;
    int status;
    std::string code;  // ours: "code"; OpenAI: error.code; Ollama: "" (an "error" message)
    dialect d = dialect::ours;
    header_pairs headers = {};
};

std::string many_stops(size_t n) {
    std::string s = "[";
    for (size_t i = 0; i < n; ++i) s += (i ? ",\"s" : "\"s") + std::to_string(i) + "\"";
    return s + "]";
}

std::string task(const std::string& fields) {
    return R"({"model":"tiny","prompt":"hi")" + fields + "}";
}

std::vector<bad_case> catalog() {
    const std::string inv = "INVALID_PARAMS";
    std::string big(2 << 20, 'x');
    std::string long_id(100'000, 'a');
    std::vector<bad_case> c = {
        // POST /v2/tasks: the body
        {"empty body", 0, "POST", "/v2/tasks", "", 400, inv},
        {"not JSON", 0, "POST", "/v2/tasks", "{", 400, inv},
        {"JSON array", 0, "POST", "/v2/tasks", "[]", 400, inv},
        {"JSON string", 0, "POST", "/v2/tasks", "\"x\"", 400, inv},
        {"a key twice", 0, "POST", "/v2/tasks", R"({"model":"tiny","prompt":"hi","model":"other"})",
         400, inv},
        {"invalid UTF-8 in the prompt", 0, "POST", "/v2/tasks",
         "{\"model\":\"tiny\",\"prompt\":\"\xff\xfe\"}", 400, inv},
        {"body over the limit", 0, "POST", "/v2/tasks", big, 413, "PAYLOAD_TOO_LARGE"},
        // POST /v2/tasks: the fields
        {"no model", 0, "POST", "/v2/tasks", R"({"prompt":"hi"})", 400, inv},
        {"model not a string", 0, "POST", "/v2/tasks", R"({"model":1,"prompt":"hi"})", 400, inv},
        {"no prompt", 0, "POST", "/v2/tasks", R"({"model":"tiny"})", 400, inv},
        {"prompt not a string", 0, "POST", "/v2/tasks", R"({"model":"tiny","prompt":7})", 400, inv},
        {"messages not an array", 0, "POST", "/v2/tasks", R"({"model":"tiny","messages":"hi"})",
         400, inv},
        {"message without a role", 0, "POST", "/v2/tasks",
         R"({"model":"tiny","messages":[{"content":"hi"}]})", 400, inv},
        {"max_tokens 0", 0, "POST", "/v2/tasks", task(R"(,"max_tokens":0)"), 400, inv},
        {"max_tokens -1", 0, "POST", "/v2/tasks", task(R"(,"max_tokens":-1)"), 400, inv},
        {"max_tokens a string", 0, "POST", "/v2/tasks", task(R"(,"max_tokens":"9")"), 400, inv},
        {"max_tokens 2^63", 0, "POST", "/v2/tasks", task(R"(,"max_tokens":9223372036854775808)"),
         400, inv},
        {"temperature -1", 0, "POST", "/v2/tasks", task(R"(,"temperature":-1)"), 400, inv},
        {"temperature a string", 0, "POST", "/v2/tasks", task(R"(,"temperature":"hot")"), 400, inv},
        {"top_p 2", 0, "POST", "/v2/tasks", task(R"(,"top_p":2)"), 400, inv},
        {"top_k -1", 0, "POST", "/v2/tasks", task(R"(,"top_k":-1)"), 400, inv},
        {"top_k 2^40", 0, "POST", "/v2/tasks", task(R"(,"top_k":1099511627776)"), 400, inv},
        {"seed a string", 0, "POST", "/v2/tasks", task(R"(,"seed":"x")"), 400, inv},
        {"stop a number", 0, "POST", "/v2/tasks", task(R"(,"stop":3)"), 400, inv},
        {"stop with a number", 0, "POST", "/v2/tasks", task(R"(,"stop":["a",3])"), 400, inv},
        {"100,000 stop strings", 0, "POST", "/v2/tasks", task(",\"stop\":" + many_stops(100'000)),
         400, inv},
        {"task_id of 100 KB", 0, "POST", "/v2/tasks", task(",\"task_id\":\"" + long_id + "\""), 400,
         inv},
        {"task_id with a slash", 0, "POST", "/v2/tasks", task(R"(,"task_id":"a/b")"), 400, inv},
        {"session_id of 100 KB", 0, "POST", "/v2/tasks",
         task(",\"session_id\":\"" + long_id + "\""), 400, inv},
        {"deadline_ms 0", 0, "POST", "/v2/tasks", task(R"(,"deadline_ms":0)"), 400, inv},
        {"deadline_ms 2^63-1", 0, "POST", "/v2/tasks",
         task(R"(,"deadline_ms":9223372036854775807)"), 400, inv},
        {"priority unknown", 0, "POST", "/v2/tasks", task(R"(,"priority":"urgent")"), 400, inv},
        {"cancel_on_disconnect a string", 0, "POST", "/v2/tasks",
         task(R"(,"cancel_on_disconnect":"yes")"), 400, inv},
        {"placement not an object", 0, "POST", "/v2/tasks", task(R"(,"placement":1)"), 400, inv},
        {"pin without a pool", 0, "POST", "/v2/tasks", task(R"(,"placement":{"mode":"pin"})"), 400,
         inv},
        {"workload embedding", 0, "POST", "/v2/tasks", task(R"(,"workload":"embedding")"), 400,
         inv},
        {"an engine kind no pool runs", 0, "POST", "/v2/tasks", task(R"(,"engine":"vllm")"), 400,
         inv},
        {"a pin to a pool that does not exist", 0, "POST", "/v2/tasks",
         task(R"(,"placement":{"mode":"pin","pin_pool_id":"nope"})"), 400, inv},
        {"unknown model", 0, "POST", "/v2/tasks", R"({"model":"nope","prompt":"hi"})", 404,
         "MODEL_NOT_AVAILABLE"},
        // task routes
        {"status of an unknown task", 0, "GET", "/v2/tasks/nope", "", 404, "NOT_FOUND"},
        {"events of an unknown task", 0, "GET", "/v2/tasks/nope/events", "", 404, "NOT_FOUND"},
        {"cancel of an unknown task", 0, "POST", "/v2/tasks/nope/cancel", "", 404, "NOT_FOUND"},
        {"unknown session", 0, "GET", "/v2/sessions/nope", "", 404, "NOT_FOUND"},
        {"DELETE on /v2/tasks", 0, "DELETE", "/v2/tasks", "", 405, "METHOD_NOT_ALLOWED"},
        {"PUT on a task", 0, "PUT", "/v2/tasks/x", "", 405, "METHOD_NOT_ALLOWED"},
        {"unknown endpoint", 0, "GET", "/v2/nope", "", 404, "NOT_FOUND"},
        // pools through orchestratord
        {"drain deadline -1", 0, "POST", "/v2/pools/tiny/drain", R"({"deadline_ms":-1})", 400, inv},
        {"drain deadline a string", 0, "POST", "/v2/pools/tiny/drain", R"({"deadline_ms":"abc"})",
         400, inv},
        {"drain deadline 2^63-1", 0, "POST", "/v2/pools/tiny/drain",
         R"({"deadline_ms":9223372036854775807})", 400, inv},
        {"drain body not JSON", 0, "POST", "/v2/pools/tiny/drain", "{", 400, inv},
        {"drain of an unknown pool", 0, "POST", "/v2/pools/nope/drain", "{}", 404, "NOT_FOUND"},
        {"reload without a model", 0, "POST", "/v2/pools/tiny/reload", "{}", 400, inv},
        {"reload of an unknown pool", 0, "POST", "/v2/pools/nope/reload",
         R"({"new_model_ref":"/nowhere.gguf"})", 404, "NOT_FOUND"},
        {"status of an unknown pool", 0, "GET", "/v2/pools/nope/status", "", 404, "NOT_FOUND"},
        // OpenAI-compatible
        {"OpenAI: not JSON", 0, "POST", "/v1/chat/completions", "{", 400, inv, dialect::openai},
        {"OpenAI: no model", 0, "POST", "/v1/chat/completions",
         R"({"messages":[{"role":"user","content":"hi"}]})", 400, inv, dialect::openai},
        {"OpenAI: unknown model", 0, "POST", "/v1/chat/completions",
         R"({"model":"nope","messages":[{"role":"user","content":"hi"}]})", 404,
         "MODEL_NOT_AVAILABLE", dialect::openai},
        {"OpenAI: max_tokens -1", 0, "POST", "/v1/completions",
         R"({"model":"tiny","prompt":"hi","max_tokens":-1})", 400, inv, dialect::openai},
        {"OpenAI: body over the limit", 0, "POST", "/v1/chat/completions", big, 413,
         "PAYLOAD_TOO_LARGE", dialect::openai},
        {"OpenAI: unknown endpoint", 0, "GET", "/v1/nope", "", 404, "NOT_FOUND", dialect::openai},
        {"OpenAI: stream a string", 0, "POST", "/v1/chat/completions",
         R"({"model":"tiny","messages":[{"role":"user","content":"hi"}],"stream":"true"})", 400,
         inv, dialect::openai},
        {"Ollama: not JSON", 0, "POST", "/api/generate", "{", 400, "", dialect::ollama},
        {"Ollama: unknown model", 0, "POST", "/api/generate", R"({"model":"nope","prompt":"hi"})",
         404, "", dialect::ollama},
        {"Ollama: messages not an array", 0, "POST", "/api/chat",
         R"({"model":"tiny","messages":"hi"})", 400, "", dialect::ollama},
        {"OpenAI: top_k 2^40", 0, "POST", "/v1/completions",
         R"({"model":"tiny","prompt":"hi","top_k":1099511627776})", 400, inv, dialect::openai},
        // pool-managerd
        {"infer: not JSON", 1, "POST", "/v2/pools/tiny/infer", "{", 400, inv},
        {"infer: no prompt", 1, "POST", "/v2/pools/tiny/infer", R"({"max_tokens":4})", 400, inv},
        {"infer: max_tokens -1", 1, "POST", "/v2/pools/tiny/infer",
         R"({"prompt":"hi","max_tokens":-1})", 400, inv},
        {"infer: top_k 2^40", 1, "POST", "/v2/pools/tiny/infer",
         R"({"prompt":"hi","top_k":1099511627776})", 400, inv},
        {"infer: 100,000 stop strings", 1, "POST", "/v2/pools/tiny/infer",
         "{\"prompt\":\"hi\",\"stop\":" + many_stops(100'000) + "}", 400, inv},
        {"infer: unknown pool", 1, "POST", "/v2/pools/nope/infer", R"({"prompt":"hi"})", 404,
         "NOT_FOUND"},
        {"pool-managerd: drain deadline -1", 1, "POST", "/v2/pools/tiny/drain",
         R"({"deadline_ms":-1})", 400, inv},
        {"pool-managerd: drain deadline 2^63-1", 1, "POST", "/v2/pools/tiny/drain",
         R"({"deadline_ms":9223372036854775807})", 400, inv},
        {"pool-managerd: status of an unknown pool", 1, "GET", "/v2/pools/nope/status", "", 404,
         "NOT_FOUND"},
        {"pool-managerd: body over the limit", 1, "POST", "/v2/pools/tiny/infer", big, 413,
         "PAYLOAD_TOO_LARGE"},
        {"pool-managerd: unknown endpoint", 1, "GET", "/v2/nope", "", 404, "NOT_FOUND"},
        {"catalog: staging without a source", 0, "POST", "/v2/catalog/models", "{}", 400, inv},
        {"catalog: source not a string", 0, "POST", "/v2/catalog/models", R"({"source":7})", 400,
         inv},
        {"catalog: a scheme this build cannot fetch", 0, "POST", "/v2/catalog/models",
         R"({"source":"s3://b/m.gguf"})", 400, inv},
        {"catalog: a name with a slash", 0, "POST", "/v2/catalog/models",
         R"({"source":"file:/m.gguf","name":"a/b"})", 400, inv},
        {"catalog: sha256 not hex", 0, "POST", "/v2/catalog/models",
         R"({"source":"file:/m.gguf","sha256":"xyz"})", 400, inv},
        {"catalog: staging body not JSON", 0, "POST", "/v2/catalog/models", "{", 400, inv},
        {"catalog: unknown job", 0, "GET", "/v2/catalog/jobs/nope", "", 404, "NOT_FOUND"},
        {"catalog: delete of an unknown model", 0, "DELETE", "/v2/catalog/models/nope", "", 404,
         "NOT_FOUND"},
        {"catalog: delete of a served model", 0, "DELETE", "/v2/catalog/models/tiny", "", 409,
         "CONFLICT"},
        {"pool-managerd: catalog: staging without a source", 1, "POST", "/v2/catalog/models", "{}",
         400, inv},
        {"pool-managerd: catalog: source not a string", 1, "POST", "/v2/catalog/models",
         R"({"source":7})", 400, inv},
        {"pool-managerd: catalog: a scheme this build cannot fetch", 1, "POST",
         "/v2/catalog/models", R"({"source":"s3://b/m.gguf"})", 400, inv},
        {"pool-managerd: catalog: a name with a slash", 1, "POST", "/v2/catalog/models",
         R"({"source":"file:/m.gguf","name":"a/b"})", 400, inv},
        {"pool-managerd: catalog: sha256 not hex", 1, "POST", "/v2/catalog/models",
         R"({"source":"file:/m.gguf","sha256":"xyz"})", 400, inv},
        {"pool-managerd: catalog: staging body not JSON", 1, "POST", "/v2/catalog/models", "{", 400,
         inv},
        {"pool-managerd: catalog: unknown job", 1, "GET", "/v2/catalog/jobs/nope", "", 404,
         "NOT_FOUND"},
        {"pool-managerd: catalog: delete of an unknown model", 1, "DELETE",
         "/v2/catalog/models/nope", "", 404, "NOT_FOUND"},
        {"pool-managerd: catalog: delete of a served model", 1, "DELETE", "/v2/catalog/models/tiny",
         "", 409, "CONFLICT"},
    };
    return c;
}

class bad_input : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        try {
            engine_or_skip();
            dir_ = temp_dir("bad-input");
            auto toml = dir_ / "pools.toml";
            std::ofstream(toml) << "[[pools]]\nid = \"tiny\"\nengine = \"llamacpp\"\nmodel = \""
                                << tiny_model().string()
                                << "\"\ndevice = \"cpu\"\nslots = 1\nctx = 512\nthreads = 1\n";
            orch_ = std::make_unique<common::subprocess>(start_process(
                {(bin_dir() / "orchestratord").string(), "--config", toml.string(), "--addr",
                 "127.0.0.1:0", "--runtime-dir", (dir_ / "orch-run").string()},
                dir_ / "orchestratord.log", no_tokens));
            ports_[0] = listening_port(*orch_, dir_ / "orchestratord.log", "orchestratord");
            pmd_ = std::make_unique<common::subprocess>(
                start_process({(bin_dir() / "pool-managerd").string(), "--config", toml.string(),
                               "--addr", "127.0.0.1:0", "--runtime-dir",
                               (dir_ / "pmd-run").string(), "--node-id", "bad-input"},
                              dir_ / "pool-managerd.log", no_tokens));
            ports_[1] = listening_port(*pmd_, dir_ / "pool-managerd.log", "pool-managerd");
            for (int d = 0; d < 2; ++d)
                if (!wait_http_ok(base(d) + "/v2/pools/tiny/status", 90s) ||
                    !wait_until([d] { return pool_ready(d); }, 90s))
                    setup_error_ = "daemon " + std::to_string(d) + " not ready";
        } catch (const std::exception& e) {
            setup_error_ = e.what();
        }
    }
    static void TearDownTestSuite() {
        orch_.reset();
        pmd_.reset();
    }
    void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }
    static std::string base(int d) { return "http://127.0.0.1:" + std::to_string(ports_[d]); }
    static bool pool_ready(int d) {
        auto r = http_call("GET", base(d) + "/v2/pools/tiny/status", {}, {}, 5s);
        return r.status == 200 && r.body.find("\"state\":\"ready\"") != std::string::npos;
    }
    static inline std::filesystem::path dir_;
    static inline std::unique_ptr<common::subprocess> orch_, pmd_;
    static inline uint16_t ports_[2] = {0, 0};
    static inline std::string setup_error_;
};

// The code an error body carries in its dialect; "(none)" when it has none.
std::string code_of(const std::string& body, dialect d) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object()) return "(not a JSON object)";
    const auto& o = v.get_object();
    if (d == dialect::openai) {
        auto* e = o.if_contains("error");
        if (!e || !e->is_object()) return "(no error object)";
        auto* c = e->get_object().if_contains("code");
        return c && c->is_string() ? std::string(c->get_string()) : "(none)";
    }
    if (d == dialect::ollama) {
        auto* e = o.if_contains("error");
        return e && e->is_string() && !e->get_string().empty() ? "" : "(no error string)";
    }
    auto* c = o.if_contains("code");
    return c && c->is_string() ? std::string(c->get_string()) : "(none)";
}

TEST_F(bad_input, every_case_gets_its_status_and_code_and_the_daemons_keep_serving) {
    auto cases = catalog();
    ASSERT_GE(cases.size(), 60u);
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name + ": " + c.method + " " + c.path);
        auto r = http_call(
            c.method, base(c.daemon) + c.path, c.body,
            c.headers.empty() ? header_pairs{{"Content-Type", "application/json"}} : c.headers,
            20s);
        EXPECT_EQ(r.status, c.status) << r.body.substr(0, 300);
        EXPECT_EQ(code_of(r.body, c.d), c.code) << r.body.substr(0, 300);
        // A person can read what went wrong (Ollama's errors are a message alone).
        if (c.d != dialect::ollama) {
            EXPECT_NE(r.body.find("message"), std::string::npos) << r.body.substr(0, 300);
        }
    }
    // Nothing was queued, nothing runs, and both daemons serve a good request.
    for (int d = 0; d < 2; ++d) {
        EXPECT_TRUE(process_alive(d == 0 ? orch_->pid() : pmd_->pid()));
        EXPECT_EQ(http_call("GET", base(d) + "/health", {}, {}, 5s).status, 200);
    }
    auto ok = sse_call("POST", base(1) + "/v2/pools/tiny/infer",
                       R"({"prompt":"hi","max_tokens":4,"task_id":"after-bad","attempt":0})");
    EXPECT_EQ(ok.status, 200) << ok.raw << ok.error;
    EXPECT_EQ(token_count(ok), 4);
    auto t = http_call("POST", base(0) + "/v2/tasks",
                       R"({"model":"tiny","prompt":"hi","max_tokens":4})", {}, 10s);
    EXPECT_EQ(t.status, 202) << t.body;
}

}  // namespace
}  // namespace llorch::test
