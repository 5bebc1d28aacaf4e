// Static upstream servers and the server monitor: orchestratord's HOME profile with `ollama`
// pools over two llorch-sim processes that speak Ollama's API (the seed's two-server setup).
// Tasks run through them; GET /v2/servers shows each server's health from probes, latency
// averages, error rate and load; a server that dies is marked unhealthy after `fall` failed
// probes and healthy again after `rise` good ones, and the models a server lists are re-read on
// every probe.

#include <sys/wait.h>

#include <cstdio>

#include "orchestratord_fixture.h"

namespace llorch::test {
namespace {

const std::string small = "qwen2.5:14b";
const std::string coder = "qwen2.5-coder:32b";

// One llorch-sim process speaking Ollama on a fixed port, so that it can be restarted there.
class ollama_sim {
  public:
    ollama_sim(const std::string& name, uint16_t port, std::vector<std::string> models)
        : dir_(temp_dir("ollama-sim-" + name)), port_(port) {
        start(std::move(models));
    }
    void start(std::vector<std::string> models) {
        std::string extra;
        for (size_t i = 1; i < models.size(); ++i) extra += (i > 1 ? "," : "") + models[i];
        std::vector<std::string> argv{(bin_dir() / "llorch-sim").string(),
                                      "--port",
                                      std::to_string(port_),
                                      "--alias",
                                      models[0],
                                      "--slots",
                                      "4",
                                      "--ttft",
                                      "5ms",
                                      "--itl",
                                      "2ms",
                                      "--tokens",
                                      "8"};
        if (!extra.empty()) argv.insert(argv.end(), {"--models", extra});
        proc_ = start_process(argv, dir_ / ("sim-" + std::to_string(++starts_) + ".log"));
        ASSERT_TRUE(wait_http_ok(url("/health"), 30s)) << "llorch-sim did not start";
    }
    void stop() { proc_.stop(std::chrono::milliseconds(1000)); }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }

  private:
    fs::path dir_;
    uint16_t port_;
    int starts_ = 0;
    common::subprocess proc_;
};

std::string ollama_pool(const std::string& id, uint16_t port, const std::string& model,
                        const std::string& extra = {}) {
    return "[[pools]]\nid = \"" + id +
           "\"\nengine = \"ollama\"\nendpoint = \"http://127.0.0.1:" + std::to_string(port) +
           "\"\nmodel = \"" + model + "\"\nslots = 4\n" + extra + "\n";
}

// `llorch ARGS`'s stdout and exit code.
std::pair<int, std::string> llorch(const std::string& args) {
    std::string cmd = (bin_dir() / "llorch").string() + " " + args + " 2>&1";
    std::string out;
    FILE* f = ::popen(cmd.c_str(), "r");
    if (!f) return {-1, out};
    char buf[4096];
    size_t k;
    while ((k = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, k);
    int st = ::pclose(f);
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

json::object server(const json::object& listing, const std::string& name) {
    for (const auto& s : listing.at("servers").as_array())
        if (str_of(s.as_object(), "name") == name) return s.as_object();
    return {};
}

class servers : public ::testing::Test {
  protected:
    void SetUp() override {
        p1_ = free_port();
        p2_ = free_port();
        sim1_ = std::make_unique<ollama_sim>("one", p1_, std::vector<std::string>{small, coder});
        sim2_ = std::make_unique<ollama_sim>("two", p2_, std::vector<std::string>{small, coder});
        orch_ = std::make_unique<orchestratord_process>(
            "servers",
            ollama_pool("one-small", p1_, small) + ollama_pool("one-coder", p1_, coder) +
                ollama_pool("two-small", p2_, small, "weight = 2"),
            std::vector<std::string>{"--health-interval-ms", "100", "--placement-strategy",
                                     "least-loaded"});
        ASSERT_EQ(orch_->wait_ready(), "");
    }
    json::object listing() const {
        auto r = http_call("GET", orch_->url("/v2/servers"), {}, {}, 5s);
        EXPECT_EQ(r.status, 200) << r.body;
        return r.status == 200 ? object_of(r.body) : json::object{};
    }
    bool healthy(const std::string& name) const {
        auto s = server(listing(), name);
        return !s.empty() && s.at("health").at("healthy").as_bool();
    }

    uint16_t p1_ = 0, p2_ = 0;
    std::unique_ptr<ollama_sim> sim1_, sim2_;
    std::unique_ptr<orchestratord_process> orch_;
};

TEST_F(servers, ollama_pools_over_llorch_sim_serve_tasks_and_report_their_figures) {
    for (int i = 0; i < 6; ++i) {
        auto id = orch_->submit_id(task_body(i % 2 ? coder : small, 8));
        ASSERT_FALSE(id.empty());
        auto r = orch_->events(id);
        EXPECT_TRUE(well_formed_stream(r, 8)) << r.error;
    }
    auto l = listing();
    EXPECT_EQ(str_of(l, "profile"), "home");
    EXPECT_EQ(int_of(l.at("monitor").as_object(), "fall"), 3);
    EXPECT_EQ(int_of(l.at("monitor").as_object(), "rise"), 2);
    long long total = 0;
    for (const char* name : {"one-small", "one-coder", "two-small"}) {
        auto s = server(l, name);
        ASSERT_FALSE(s.empty()) << name << ": " << json::serialize(l);
        EXPECT_EQ(str_of(s, "engine"), "ollama");
        EXPECT_TRUE(s.at("health").at("healthy").as_bool());
        EXPECT_GT(s.at("health").at("probes_ok").to_number<long long>(), 0);
        EXPECT_EQ(int_of(s, "capacity"), 4);
        EXPECT_EQ(int_of(s, "in_flight"), 0);
        total += int_of(s, "requests_total");
        // The server's own model list, read from its /api/tags.
        const auto& models = s.at("upstream_models").as_array();
        EXPECT_EQ(models.size(), 2u) << json::serialize(s);
    }
    EXPECT_EQ(total, 6);
    auto coder_pool = server(l, "one-coder");
    EXPECT_EQ(int_of(coder_pool, "requests_total"), 3);
    EXPECT_TRUE(coder_pool.at("ttft_ewma_ms").is_number());
    EXPECT_TRUE(coder_pool.at("e2e_ewma_ms").is_number());
    EXPECT_EQ(coder_pool.at("error_rate").to_number<double>(), 0.0);
    EXPECT_EQ(int_of(server(l, "two-small"), "weight"), 2);
    // The HOME profile's one node aggregates the three.
    ASSERT_EQ(l.at("nodes").as_array().size(), 1u);
    auto node = l.at("nodes").as_array()[0].as_object();
    EXPECT_EQ(int_of(node, "upstreams"), 3);
    EXPECT_EQ(int_of(node, "capacity"), 12);
    EXPECT_EQ(int_of(node, "window_requests"), 6);
    auto m = orch_->metrics();
    EXPECT_EQ(metric_value(m, R"(upstream_healthy{node="",pool_id="one-small"})"), 1.0) << m;
    EXPECT_GT(metric_value(m, R"(upstream_ttft_ewma_seconds{node="",pool_id="one-coder"})"), 0.0);

    auto [code, table] = llorch("servers --url " + orch_->url(""));
    EXPECT_EQ(code, 0) << table;
    EXPECT_NE(table.find("one-coder"), std::string::npos) << table;
    EXPECT_NE(table.find("ollama"), std::string::npos) << table;
    auto [jcode, out] = llorch("servers --json --url " + orch_->url(""));
    EXPECT_EQ(jcode, 0) << out;
    EXPECT_EQ(object_of(out).at("servers").as_array().size(), 3u) << out;
}

TEST_F(servers, a_dead_server_falls_out_of_placement_and_rises_back_after_good_probes) {
    sim1_->stop();
    // fall = 3 failed probes, 100 ms apart.
    ASSERT_TRUE(wait_until([&] { return !healthy("one-small"); }, 20s)) << orch_->log_text();
    auto s = server(listing(), "one-small");
    EXPECT_GE(s.at("health").at("probes_failed").to_number<long long>(), 3);
    EXPECT_FALSE(s.at("available").as_bool());
    // Work for the model goes to the other server, and nothing fails.
    for (int i = 0; i < 4; ++i) {
        auto id = orch_->submit_id(task_body(small, 4));
        auto r = orch_->events(id);
        EXPECT_TRUE(well_formed_stream(r, 4)) << r.error;
        ASSERT_FALSE(r.events.empty());
        EXPECT_EQ(str_of(object_of(r.events.front().data), "pool_id"), "two-small")
            << r.events.front().data;
    }
    // Back on the same port, without the coder model: the small pool rises again after good
    // probes; the coder pool's probes fail, since the server no longer lists its model.
    sim1_->start({small});
    ASSERT_TRUE(wait_until([&] { return healthy("one-small"); }, 30s)) << orch_->log_text();
    EXPECT_TRUE(wait_until(
        [&] {
            auto c = server(listing(), "one-coder");
            return !c.empty() && !c.at("health").at("healthy").as_bool() &&
                   c.at("upstream_models").as_array().size() == 1;
        },
        20s))
        << json::serialize(server(listing(), "one-coder"));
    auto id = orch_->submit_id(task_body(coder, 4));
    ASSERT_FALSE(id.empty());  // queued until a pool of the model can take it
    EXPECT_NE(orch_->state(id), "completed");
    orch_->cancel(id);
}

}  // namespace
}  // namespace llorch::test
