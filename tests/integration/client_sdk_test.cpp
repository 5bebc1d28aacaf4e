// The official npm clients (`openai`, `ollama`, pinned in tests/clients/package-lock.json) against
// orchestratord in the HOME profile with the real llama-server on the tiny model. Each test runs
// one script of tests/clients/ with `node --test`; a failed node:assert fails the test, and the
// script's output (the failing assertion with its diff) is shown.
#include <gtest/gtest.h>

#include "orchestratord_fixture.h"

namespace llorch::test {
namespace {

fs::path clients_dir() { return fs::path(LLORCH_CLIENTS_DIR); }

fs::path node_binary() { return program_on_path("node"); }

class client_sdk : public ::testing::Test {
  protected:
    // A missing client or daemon fails every test (an exception here would read as a skip).
    static void SetUpTestSuite() {
        if (node_binary().empty()) {
            setup_error_ = "node is not installed: run scripts/setup.sh";
            return;
        }
        if (!fs::exists(clients_dir() / "node_modules" / "openai") ||
            !fs::exists(clients_dir() / "node_modules" / "ollama")) {
            setup_error_ =
                "the npm clients are not installed in tests/clients: run scripts/setup.sh";
            return;
        }
        try {
            // A second pool on the same file answers embedding requests (as "tiny-embed").
            orch_ = new orchestratord_process(
                "sdk",
                pool_toml("tiny", 2, 1024) +
                    pool_toml("tiny-embed", 2, 512, "name = \"tiny-embed\"\nembeddings = true\n"));
            setup_error_ = orch_->wait_ready();
        } catch (const std::exception& e) {
            setup_error_ = e.what();
        }
    }
    void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }
    static void TearDownTestSuite() {
        delete orch_;
        orch_ = nullptr;
    }

    // Runs `node --test <script>` with LLORCH_URL set; success when every test in it passed.
    // Against `d` (the shared daemon when null), with LLORCH_MODEL when `model` is given.
    static ::testing::AssertionResult node_passes(const std::string& script,
                                                  const orchestratord_process* d = nullptr,
                                                  const std::string& model = "") {
        const auto* orch = d ? d : orch_;
        auto dir = temp_dir("sdk-" + script);
        auto log = dir / "node.log";
        std::vector<std::pair<std::string, std::string>> env{{"LLORCH_URL", orch->url("")},
                                                             {"NO_COLOR", "1"}};
        if (!model.empty()) env.emplace_back("LLORCH_MODEL", model);
        auto p = start_process({node_binary().string(), "--test", "--test-reporter=spec",
                                (clients_dir() / script).string()},
                               log, env);
        bool ended = wait_until([&] { return !p.running(); }, 240s);
        if (!ended) {
            p.stop();
            return ::testing::AssertionFailure() << script << " did not finish in 240 s\n"
                                                 << read_file(log);
        }
        auto st = p.status();
        if (!st || !WIFEXITED(*st) || WEXITSTATUS(*st) != 0)
            return ::testing::AssertionFailure()
                   << script << " " << (st ? common::subprocess::describe(*st) : "?") << "\n"
                   << read_file(log) << "\n--- orchestratord log (tail) ---\n"
                   << tail(orch->log_text(), 4000);
        return ::testing::AssertionSuccess();
    }
    static std::string tail(const std::string& s, size_t n) {
        return s.size() > n ? s.substr(s.size() - n) : s;
    }
    static inline orchestratord_process* orch_ = nullptr;
    static inline std::string setup_error_;
};

// /api/ps against models loaded on demand: orchestratord with a models folder of its own.
TEST_F(client_sdk, ollama_ps_on_demand) {
    auto models = temp_dir("sdk-models");
    fs::copy_file(tiny_model(), models / "alpha.gguf");
    orchestratord_process d("sdk-on-demand", "",
                            {"--models-dir", models.string(), "--default-ctx", "512"});
    ASSERT_TRUE(wait_until([&] { return !d.pools().empty(); }, 30s)) << d.log_text();
    EXPECT_TRUE(node_passes("ollama_ps.test.mjs", &d, "alpha"));
}

TEST_F(client_sdk, openai_chat) { EXPECT_TRUE(node_passes("openai_chat.test.mjs")); }
TEST_F(client_sdk, openai_completions) { EXPECT_TRUE(node_passes("openai_completions.test.mjs")); }
TEST_F(client_sdk, openai_errors) { EXPECT_TRUE(node_passes("openai_errors.test.mjs")); }
TEST_F(client_sdk, ollama) { EXPECT_TRUE(node_passes("ollama.test.mjs")); }
TEST_F(client_sdk, ollama_api) { EXPECT_TRUE(node_passes("ollama_api.test.mjs")); }
TEST_F(client_sdk, cors_and_request_ids) { EXPECT_TRUE(node_passes("cors.test.mjs")); }
TEST_F(client_sdk, openai_tools) { EXPECT_TRUE(node_passes("openai_tools.test.mjs")); }
TEST_F(client_sdk, langchain_tools) { EXPECT_TRUE(node_passes("langchain_tools.test.mjs")); }
TEST_F(client_sdk, openai_responses) { EXPECT_TRUE(node_passes("openai_responses.test.mjs")); }
TEST_F(client_sdk, embeddings) { EXPECT_TRUE(node_passes("embeddings.test.mjs")); }
TEST_F(client_sdk, ollama_tools) { EXPECT_TRUE(node_passes("ollama_tools.test.mjs")); }

}  // namespace
}  // namespace llorch::test
