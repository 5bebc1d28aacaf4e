// /metrics of both daemons, checked for real: promtool lints what they expose, and a real
// Prometheus scrapes orchestratord and two pool-managerd nodes while tasks run, so the series
// are asserted through Prometheus's own query API (they exist, carry their labels, and move).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "cloud_fixture.h"

namespace llorch::test {
namespace {

// `promtool check metrics` on `text`: what it complains about, empty when nothing. One finding is
// expected and dropped: `pool_slots_total` is a gauge named by the original contract, and the
// linter wants `_total` on counters only.
std::string promtool_problems(const std::string& text, const std::string& name) {
    auto dir = temp_dir("promtool");
    const auto in = dir / (name + ".txt"), out = dir / (name + ".out");
    std::ofstream(in) << text;
    const auto cmd = "promtool check metrics < " + in.string() + " > " + out.string() + " 2>&1";
    const int rc = std::system(cmd.c_str());
    if (rc == 0) return {};
    std::istringstream said(read_file(out));
    std::string problems;
    for (std::string line; std::getline(said, line);)
        if (line != R"(pool_slots_total non-counter metrics should not have "_total" suffix)")
            problems += line + "\n";
    return problems;
}

// A real Prometheus (Debian's `prometheus`) scraping `targets` every second.
class prometheus_server {
  public:
    explicit prometheus_server(const std::vector<std::string>& targets)
        : dir_(temp_dir("prometheus")), port_(free_port()) {
        std::string list;
        for (const auto& t : targets) list += (list.empty() ? "'" : ", '") + t + "'";
        std::ofstream(dir_ / "prometheus.yml")
            << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
               "scrape_configs:\n  - job_name: llorch\n    static_configs:\n      - targets: ["
            << list << "]\n";
        proc_ = start_process(
            {"/usr/bin/prometheus", "--config.file=" + (dir_ / "prometheus.yml").string(),
             "--storage.tsdb.path=" + (dir_ / "data").string(),
             "--web.listen-address=127.0.0.1:" + std::to_string(port_)},
            dir_ / "prometheus.log", no_tokens);
    }
    ~prometheus_server() { proc_.stop(std::chrono::milliseconds(5000)); }

    bool wait_ready() const { return wait_http_ok(base() + "/-/ready", 60s); }
    // The result vector of an instant query; empty on any error.
    json::array query(const std::string& promql) const {
        auto r = http_call("GET", base() + "/api/v1/query?query=" + http::percent_encode(promql),
                           {}, {}, 5s);
        if (r.status != 200) return {};
        auto o = object_of(r.body);
        auto* d = o.if_contains("data");
        if (!d || !d->is_object()) return {};
        auto* res = d->as_object().if_contains("result");
        return res && res->is_array() ? res->as_array() : json::array{};
    }
    // The value of a query whose result is one sample; NaN when there is none.
    double scalar(const std::string& promql) const {
        auto v = query(promql);
        if (v.size() != 1) return std::nan("");
        const auto& pair = v[0].as_object().at("value").as_array();
        return std::stod(std::string(pair[1].as_string()));
    }
    std::string log_text() const { return read_file(dir_ / "prometheus.log"); }

  private:
    std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
    fs::path dir_;
    uint16_t port_;
    common::subprocess proc_;
};

std::string host_port(const std::string& base) { return base.substr(base.find("//") + 2); }

TEST(metrics, both_daemons_expose_labelled_series_that_promtool_accepts) {
    control_plane cp;
    node_process a("node-a", pool_toml("p", models().alpha, 2), cp.base());
    node_process b("node-b", pool_toml("p", models().beta, 2), cp.base());
    ASSERT_EQ(cp.wait_cluster({"node-a", "node-b"}), "");
    for (const char* m : {"alpha", "beta"}) ASSERT_TRUE(completed(cp.run_task(short_task(m))));
    // A task for a model no pool serves is refused at the door, not counted as a task.
    EXPECT_EQ(cp.call("POST", "/v2/tasks", short_task("gamma")).status, 404);

    const auto orch = cp.call("GET", "/metrics").body;
    EXPECT_EQ(promtool_problems(orch, "orchestratord"), "") << orch;
    for (
        const char* series : {
            R"(tasks_ended_total{code="",model="alpha",node="node-a",outcome="completed",pool="p",priority="interactive"} 1)",
            R"(tasks_ended_total{code="",model="beta",node="node-b",outcome="completed",pool="p",priority="interactive"} 1)",
            R"(tokens_out_total{model="alpha",node="node-a",pool="p"} 4)",
            R"(time_to_first_token_seconds_count{model="beta",node="node-b",pool="p",priority="interactive"} 1)",
            R"(inter_token_latency_seconds_count{model="alpha",node="node-a",pool="p",priority="interactive"} 3)",
            R"(task_e2e_seconds_count{model="alpha",node="node-a",pool="p",priority="interactive"} 1)",
            R"(queue_wait_seconds_count{model="alpha",priority="interactive"} 1)",
            R"(tasks_enqueued_total{priority="interactive"} 2)",
            R"(placements_total{outcome="ok"} 2)",
            R"(nodes{state="online"} 2)",
            R"(node_up{node="node-a"} 1)",
            R"(model_available{model="beta",node="node-b"} 1)",
            R"(node_breaker_open{node="node-a"} 0)",
            R"(task_routing_seconds_count 2)",
        })
        EXPECT_NE(orch.find(std::string("\n") + series + "\n"), std::string::npos)
            << "missing: " << series;
    // No task or session id in any label.
    EXPECT_EQ(orch.find("task_id="), std::string::npos);
    EXPECT_EQ(orch.find("session_id="), std::string::npos);

    const auto node = http_call("GET", a.url("/metrics"), {}, {}, 5s).body;
    EXPECT_EQ(promtool_problems(node, "pool-managerd"), "") << node;
    for (const char* series : {R"(pool_slots_total{pool_id="p"} 2)", R"(pool_ready{pool_id="p"} 1)",
                               R"(pool_restarts_total{pool_id="p"} 0)"})
        EXPECT_NE(node.find(std::string("\n") + series + "\n"), std::string::npos)
            << "missing: " << series;
    EXPECT_TRUE(wait_until(
        [&] {
            return metric_value(http_call("GET", a.url("/metrics"), {}, {}, 5s).body,
                                R"(node_heartbeats_total{outcome="ok"})") > 0;
        },
        10s));
    EXPECT_NE(node.find("# TYPE node_heartbeat_seconds histogram"), std::string::npos);
}

TEST(metrics, home_profile_exposes_its_pools_and_tasks_in_one_exposition) {
    auto dir = temp_dir("metrics-home");
    std::ofstream(dir / "pools.toml")
        << "[[pools]]\nid = \"solo\"\nengine = \"llamacpp\"\nmodel = \"" << tiny_model().string()
        << "\"\ndevice = \"cpu\"\nslots = 1\nctx = 2048\nthreads = 1\n";
    auto proc =
        start_process({(bin_dir() / "orchestratord").string(), "--addr", "127.0.0.1:0", "--config",
                       (dir / "pools.toml").string(), "--runtime-dir", (dir / "run").string()},
                      dir / "orchestratord.log", no_tokens);
    auto port = listening_port(proc, dir / "orchestratord.log", "orchestratord");
    const auto base = "http://127.0.0.1:" + std::to_string(port);
    ASSERT_TRUE(wait_http_ok(base + "/ready", 120s)) << read_file(dir / "orchestratord.log");
    auto r = http_call("POST", base + "/v1/completions",
                       R"({"model":"tiny","prompt":"Once","max_tokens":3})", {}, 60s);
    ASSERT_EQ(r.status, 200) << r.body;
    const auto text = http_call("GET", base + "/metrics", {}, {}, 5s).body;
    EXPECT_EQ(promtool_problems(text, "orchestratord-home"), "") << text;
    for (const char* series : {R"(pool_ready{pool_id="solo"} 1)", "queue_depth 0",
                               R"(tasks_enqueued_total{priority="interactive"} 1)"})
        EXPECT_NE(text.find(std::string("\n") + series + "\n"), std::string::npos)
            << "missing: " << series << "\n"
            << text;
    // Each family once: a family's lines stay together.
    std::istringstream in(text);
    std::set<std::string> seen;
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("# TYPE ")) {
            EXPECT_TRUE(seen.insert(line).second) << line;
        }
    }
    proc.stop(std::chrono::milliseconds(5000));
}

TEST(metrics, a_real_prometheus_scrapes_the_cluster_and_sees_the_series_move) {
    control_plane cp;
    node_process a("node-a", pool_toml("p", models().alpha, 2), cp.base());
    node_process b("node-b", pool_toml("p", models().alpha, 2), cp.base());
    ASSERT_EQ(cp.wait_cluster({"node-a", "node-b"}), "");
    prometheus_server prom({host_port(cp.base()), host_port(a.base()), host_port(b.base())});
    ASSERT_TRUE(prom.wait_ready()) << prom.log_text();

    // Every target scraped and up.
    ASSERT_TRUE(wait_until([&] { return prom.scalar("sum(up)") == 3; }, 60s)) << prom.log_text();
    EXPECT_TRUE(wait_until([&] { return prom.scalar(R"(nodes{state="online"})") == 2; }, 30s));
    EXPECT_TRUE(wait_until([&] { return prom.scalar("sum(pool_ready)") == 2; }, 30s));

    // While a load runs, tokens flow: the rate Prometheus computes is above zero.
    std::atomic<bool> stop{false};
    std::atomic<int> done{0};
    std::thread load([&] {
        while (!stop) {
            if (completed(cp.run_task(task_body("alpha", 24)))) ++done;
        }
    });
    const bool moving =
        wait_until([&] { return prom.scalar("sum(rate(tokens_out_total[5s]))") > 0; }, 60s);
    stop = true;
    load.join();
    EXPECT_TRUE(moving) << "tokens_out_total did not move in Prometheus";
    EXPECT_GT(done.load(), 0);
    // Both nodes got work, and the latency histograms answer a quantile query.
    EXPECT_TRUE(wait_until(
        [&] { return prom.query(R"(sum by (node) (tokens_out_total) > 0)").size() == 2; }, 30s));
    const auto p50 =
        prom.scalar("histogram_quantile(0.5, sum by (le) (time_to_first_token_seconds_bucket))");
    EXPECT_GT(p50, 0);
    EXPECT_LT(p50, 60);
    EXPECT_TRUE(wait_until(
        [&] { return prom.scalar(R"(sum(node_heartbeats_total{outcome="ok"}))") > 0; }, 30s));

    // The alert rules (deploy/prometheus/alerts.yml) read series that exist. GPU utilization
    // needs a GPU, so only its name is checked against the rules.
    const auto rules = read_file(fs::path(LLORCH_SOURCE_DIR) / "deploy/prometheus/alerts.yml");
    for (const char* name : {"node_up", "node_heartbeats_total", "placements_total",
                             "task_routing_seconds_bucket", "queue_depth", "gpu_utilization_ratio"})
        EXPECT_NE(rules.find(name), std::string::npos) << name << " is not in the rules any more";
    for (const char* name : {"node_up", "node_heartbeats_total", "placements_total",
                             "task_routing_seconds_bucket", "queue_depth"})
        EXPECT_FALSE(prom.query(std::string("count(") + name + ")").empty())
            << name << ", which an alert reads, has no series";
}

}  // namespace
}  // namespace llorch::test
