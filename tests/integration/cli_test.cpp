// The operator commands of `llorch` against the real daemons (orchestratord with an API token,
// HOME and CLOUD; real llama-server engines on the tiny model): nodes, pools, tail, drain, reload
// with its progress, each with --json; and `llorch top` running in tmux, its screen read with
// `tmux capture-pane`, showing the pool and a task started through the API.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <cstdio>

#include "cloud_fixture.h"
#include "events_fixture.h"

namespace llorch::test {
namespace {

struct cli_result {
    int code = -1;
    std::string out, err;
};

// `llorch ARGS` with LLORCH_URL and LLORCH_API_TOKEN set; stdout and stderr apart.
cli_result llorch(const std::string& url, const std::string& args) {
    static int n = 0;
    auto err = temp_dir("cli") / ("stderr-" + std::to_string(++n));
    std::string cmd = "env LLORCH_URL=" + url + " LLORCH_API_TOKEN=" + events_token + " " +
                      (bin_dir() / "llorch").string() + " " + args + " 2>" + err.string();
    cli_result r;
    FILE* f = ::popen(cmd.c_str(), "r");
    if (!f) return r;
    char buf[4096];
    size_t k;
    while ((k = std::fread(buf, 1, sizeof buf, f)) > 0) r.out.append(buf, k);
    int st = ::pclose(f);
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.err = read_file(err);
    return r;
}

std::string long_pool_toml() {
    return "[[pools]]\nid = \"tiny\"\nengine = \"llamacpp\"\nmodel = \"" + tiny_model().string() +
           "\"\ndevice = \"cpu\"\nslots = 1\nctx = 4096\nthreads = 1\n";
}

TEST(cli, every_operator_command_has_a_complete_help) {
    for (const char* c : {"nodes", "pools", "tail", "drain", "reload", "top", "servers"}) {
        auto r = llorch("http://127.0.0.1:1", std::string(c) + " --help");
        EXPECT_EQ(r.code, 0) << c << r.err;
        EXPECT_NE(r.out.find("--json"), std::string::npos) << c << ": " << r.out;
        EXPECT_NE(r.out.find("--url"), std::string::npos) << c << ": " << r.out;
    }
    auto r = llorch("http://127.0.0.1:1", "drain --pool a --node b");
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("excludes"), std::string::npos) << r.err;
    auto none = llorch("http://127.0.0.1:1", "drain");
    EXPECT_NE(none.code, 0);
    EXPECT_NE(none.err.find("--pool or --node"), std::string::npos) << none.err;
}

TEST(cli_home, pools_and_tail_with_and_without_json) {
    engine_or_skip();
    home_daemon d("cli-home", long_pool_toml());
    ASSERT_EQ(d.wait_ready(), "");
    auto pools = llorch(d.base(), "pools");
    ASSERT_EQ(pools.code, 0) << pools.err;
    EXPECT_NE(pools.out.find("tiny"), std::string::npos) << pools.out;
    EXPECT_NE(pools.out.find("ready"), std::string::npos) << pools.out;
    auto pj = llorch(d.base(), "pools --json");
    ASSERT_EQ(pj.code, 0) << pj.err;
    auto list = object_of(pj.out)["pools"].as_array();
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(str_of(list[0].as_object(), "state"), "ready");
    auto nodes = llorch(d.base(), "nodes --json");
    ASSERT_EQ(nodes.code, 0) << nodes.err;
    EXPECT_EQ(str_of(object_of(nodes.out), "profile"), "home");

    auto id = d.submit_id(tiny_task(24));
    ASSERT_FALSE(id.empty());
    auto tail = llorch(d.base(), "tail " + id);
    EXPECT_EQ(tail.code, 0) << tail.err;
    EXPECT_FALSE(tail.out.empty());
    EXPECT_NE(tail.err.find("[done: 24 tokens"), std::string::npos) << tail.err;
    auto tj = llorch(d.base(), "tail --json " + id);
    ASSERT_EQ(tj.code, 0) << tj.err;
    std::istringstream lines(tj.out);
    std::string line, first, last;
    int tokens = 0;
    while (std::getline(lines, line)) {
        auto o = object_of(line);
        if (first.empty()) first = str_of(o, "event");
        last = str_of(o, "event");
        tokens += str_of(o, "event") == "token";
    }
    EXPECT_EQ(first, "started");
    EXPECT_EQ(last, "end");
    EXPECT_GT(tokens, 0);
    auto missing = llorch(d.base(), "tail no-such-task");
    EXPECT_EQ(missing.code, 1);
    EXPECT_NE(missing.err.find("NOT_FOUND"), std::string::npos) << missing.err;
}

TEST(cli_home, drain_then_reload_back_to_ready_with_progress) {
    engine_or_skip();
    home_daemon d("cli-reload", long_pool_toml());
    ASSERT_EQ(d.wait_ready(), "");
    auto drained = llorch(d.base(), "drain --pool tiny --deadline-ms 200 --json");
    ASSERT_EQ(drained.code, 0) << drained.err;
    auto st = str_of(object_of(drained.out), "state");
    EXPECT_TRUE(st == "draining" || st == "offline") << drained.out;
    EXPECT_TRUE(wait_until(
        [&] { return llorch(d.base(), "pools").out.find("offline") != std::string::npos; }));
    auto r = llorch(d.base(), "reload tiny");
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("pool tiny: ready"), std::string::npos) << r.out;
    // Not a terminal: the progress comes as one line per stage, ending with ready.
    EXPECT_NE(r.err.find("reload tiny: ready"), std::string::npos) << r.err;
    auto pools = llorch(d.base(), "pools --json");
    EXPECT_EQ(str_of(object_of(pools.out)["pools"].as_array()[0].as_object(), "state"), "ready");
    auto bad = llorch(d.base(), "reload tiny --model /no/such/model.gguf --json");
    EXPECT_EQ(bad.code, 1);
    EXPECT_FALSE(bad.err.empty());
}

TEST(cli_home, top_in_tmux_shows_the_pool_and_a_task_started_through_the_api) {
    engine_or_skip();
    auto tmux = program_on_path("tmux");
    ASSERT_FALSE(tmux.empty()) << "tmux is not installed: run scripts/setup.sh";
    home_daemon d("cli-top", long_pool_toml());
    ASSERT_EQ(d.wait_ready(), "");
    // A tmux server of this test's own, gone at the end.
    std::string sock = "llorch-top-" + std::to_string(::getpid());
    std::string t = tmux.string() + " -L " + sock + " ";
    struct server_guard {
        std::string t;
        ~server_guard() { std::system((t + "kill-server 2>/dev/null").c_str()); }
    } guard{t};
    std::string cmd = "env LLORCH_URL=" + d.base() + " LLORCH_API_TOKEN=" + events_token + " " +
                      (bin_dir() / "llorch").string() + " top";
    ASSERT_EQ(std::system((t + "new-session -d -x 160 -y 50 -s top '" + cmd + "'").c_str()), 0);
    auto screen = [&] {
        std::string out;
        FILE* f = ::popen((t + "capture-pane -p -t top 2>/dev/null").c_str(), "r");
        if (!f) return out;
        char buf[4096];
        size_t k;
        while ((k = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, k);
        ::pclose(f);
        return out;
    };
    EXPECT_TRUE(wait_until([&] { return screen().find("POOL") != std::string::npos; }, 30s))
        << screen();
    auto shown = screen();
    EXPECT_NE(shown.find("tiny"), std::string::npos) << shown;
    EXPECT_NE(shown.find("ready"), std::string::npos) << shown;
    auto id = d.submit_id(tiny_task(3500));
    ASSERT_FALSE(id.empty());
    EXPECT_TRUE(wait_until([&] { return screen().find(id) != std::string::npos; }, 30s))
        << "the task never showed on the screen:\n"
        << screen();
    d.call("POST", "/v2/tasks/" + id + "/cancel");
    EXPECT_TRUE(wait_until([&] { return screen().find(id) == std::string::npos; }, 30s))
        << "the task stayed on the screen after it ended:\n"
        << screen();
}

TEST(cli_cloud, nodes_and_cluster_pools_and_drains_by_node_and_by_cluster_pool_name) {
    engine_or_skip();
    const std::string service = "cli-service-token-0123456789";
    plane_options po;
    po.env = env_with(env_with(no_tokens, "LLORCH_API_TOKEN", events_token), "LLORCH_SERVICE_TOKEN",
                      service);
    po.auth = with_token();
    control_plane cp(po);
    auto node_env = env_with(no_tokens, "LLORCH_SERVICE_TOKEN", service);
    node_process n1("cli-a", tiny_pool("p", 1), cp.base(), node_env);
    node_process n2("cli-b", tiny_pool("p", 1), cp.base(), node_env);
    ASSERT_EQ(cp.wait_cluster({"cli-a", "cli-b"}), "");
    auto nodes = llorch(cp.base(), "nodes");
    ASSERT_EQ(nodes.code, 0) << nodes.err;
    EXPECT_NE(nodes.out.find("cli-a"), std::string::npos) << nodes.out;
    EXPECT_NE(nodes.out.find("online"), std::string::npos) << nodes.out;
    auto nj = llorch(cp.base(), "nodes --json");
    ASSERT_EQ(nj.code, 0);
    EXPECT_EQ(object_of(nj.out)["nodes"].as_array().size(), 2u);
    auto pools = llorch(cp.base(), "pools");
    EXPECT_NE(pools.out.find("cli-a/p"), std::string::npos) << pools.out;
    EXPECT_NE(pools.out.find("cli-b/p"), std::string::npos) << pools.out;

    // Both nodes have a pool "p": the cluster name picks cli-b's.
    auto dp = llorch(cp.base(), "drain --pool cli-b/p --json");
    ASSERT_EQ(dp.code, 0) << dp.err;
    EXPECT_EQ(str_of(object_of(dp.out), "id"), "cli-b/p") << dp.out;
    auto dn = llorch(cp.base(), "drain --node cli-a");
    ASSERT_EQ(dn.code, 0) << dn.err;
    EXPECT_NE(dn.out.find("node cli-a: draining"), std::string::npos) << dn.out;
    EXPECT_EQ(cp.node_state("cli-a"), "draining");
    auto unknown = llorch(cp.base(), "drain --node nope");
    EXPECT_EQ(unknown.code, 1);
    EXPECT_NE(unknown.err.find("NOT_FOUND"), std::string::npos) << unknown.err;
}

}  // namespace
}  // namespace llorch::test
