// The web dashboard in a real browser: a CLOUD cluster (orchestratord with an API token, two
// pool-managerd nodes, real llama-server engines on the tiny model), and
// tests/browser/dashboard.test.mjs run with `node --test`, driving headless Chromium (Debian's
// /usr/bin/chromium) through puppeteer-core: the token prompt, a task started through the API
// appearing live, the drain button changing the pool's state. The screenshot it takes stays in
// the build tree (LLORCH_ARTIFACTS_DIR/dashboard.png); docs/dashboard.png is a copy of one.
#include <gtest/gtest.h>

#include "cloud_fixture.h"
#include "events_fixture.h"

namespace llorch::test {
namespace {

fs::path browser_dir() { return fs::path(LLORCH_BROWSER_DIR); }

std::string tail(const std::string& s, size_t n) {
    return s.size() > n ? s.substr(s.size() - n) : s;
}

// One pool of `slots` slots with room for a long task (4096 tokens of context each).
std::string long_pool(const std::string& id, int slots) {
    return "[[pools]]\nid = \"" + id + "\"\nengine = \"llamacpp\"\nmodel = \"" +
           tiny_model().string() + "\"\ndevice = \"cpu\"\nslots = " + std::to_string(slots) +
           "\nctx = " + std::to_string(4096 * slots) + "\nthreads = 1\n\n";
}

TEST(dashboard, works_in_a_real_browser_against_a_cluster) {
    engine_or_skip();
    auto node = program_on_path("node");
    ASSERT_FALSE(node.empty()) << "node is not installed: run scripts/setup.sh";
    ASSERT_TRUE(fs::exists(browser_dir() / "node_modules" / "puppeteer-core"))
        << "puppeteer-core is not installed in tests/browser: run scripts/setup.sh";
    ASSERT_TRUE(fs::exists("/usr/bin/chromium"))
        << "Debian's chromium is not installed: run scripts/setup.sh";

    const std::string service = "dashboard-service-token-0123456789";
    plane_options po;
    po.env = env_with(env_with(no_tokens, "LLORCH_API_TOKEN", events_token), "LLORCH_SERVICE_TOKEN",
                      service);
    po.auth = with_token();
    control_plane cp(po);
    auto node_env = env_with(no_tokens, "LLORCH_SERVICE_TOKEN", service);
    node_process n1("gpu-a", long_pool("main", 2), cp.base(), node_env);
    node_process n2("gpu-b", long_pool("spare", 1), cp.base(), node_env);
    ASSERT_EQ(cp.wait_cluster({"gpu-a", "gpu-b"}), "");

    fs::create_directories(LLORCH_ARTIFACTS_DIR);
    auto shot = fs::path(LLORCH_ARTIFACTS_DIR) / "dashboard.png";
    fs::remove(shot);
    auto dir = temp_dir("browser");
    auto log = dir / "node.log";
    auto p = start_process({node.string(), "--test", "--test-reporter=spec",
                            (browser_dir() / "dashboard.test.mjs").string()},
                           log,
                           {{"LLORCH_URL", cp.base()},
                            {"LLORCH_API_TOKEN", events_token},
                            {"LLORCH_POOL", "gpu-a/main"},
                            {"LLORCH_SCREENSHOT", shot.string()},
                            {"NO_COLOR", "1"},
                            {"HOME", dir.string()}});
    bool ended = wait_until([&] { return !p.running(); }, 240s);
    if (!ended) p.stop();
    auto st = p.status();
    EXPECT_TRUE(ended && st && WIFEXITED(*st) && WEXITSTATUS(*st) == 0)
        << read_file(log) << "\n--- orchestratord log (tail) ---\n"
        << tail(cp.log_text(), 4000);
    EXPECT_TRUE(fs::exists(shot) && fs::file_size(shot) > 10'000) << "no screenshot at " << shot;
}

}  // namespace
}  // namespace llorch::test
