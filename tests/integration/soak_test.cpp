// Accounting soak: a mixed workload (the task API streamed, some clients leaving early; OpenAI
// chat streamed with usage; Ollama generate unstreamed) against orchestratord and two nodes on
// machines of their own (netns_fixture.h), under random faults (a node killed and restarted, a
// node partitioned, a node stopped and continued), for a bounded time: LLORCH_SOAK_SECONDS,
// 20 s by default (bench/run-soak.sh runs it longer and records the figures). At the end every
// accepted request has had exactly one answer — an `end` or an error — token counts agree between
// client and server, and nothing is left over: no task running or queued, every slot free, one
// engine per pool and none of a killed node alive, no descriptor kept.
#include <gtest/gtest.h>

#include <dirent.h>
#include <signal.h>

#include <atomic>
#include <numeric>
#include <random>

#include "netns_fixture.h"

namespace llorch::test {
namespace {

const std::string api_token = "soak-api-token-0123456789";
const std::string service_token = "soak-service-token-0123456789";

int soak_seconds() {
    const char* s = std::getenv("LLORCH_SOAK_SECONDS");
    return s ? std::max(1, std::atoi(s)) : 20;
}

size_t open_fds(long pid) {
    size_t n = 0;
    if (DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
        while (auto* e = ::readdir(d))
            if (e->d_name[0] != '.') ++n;
        ::closedir(d);
    }
    return n;
}

struct tally {
    std::mutex mu;
    std::map<std::string, int> by_kind;       // requests answered, by kind and answer
    std::vector<std::string> lost;            // requests without a proper answer, and why
    std::vector<std::string> accepted_tasks;  // task ids the task API accepted
    void count(const std::string& what) {
        std::lock_guard l(mu);
        ++by_kind[what];
    }
    void lose(const std::string& why) {
        std::lock_guard l(mu);
        lost.push_back(why);
    }
};

// The task API, streamed: one `end` (its tokens_out equal to the token events seen, every index
// once) or one `error`; a client that leaves after two tokens ends its task through the
// disconnect grace.
void task_api_client(const control_plane& cp, tally& t, std::mt19937& rng) {
    const int n = 4 + static_cast<int>(rng() % 28);
    const bool leaves = rng() % 6 == 0;
    auto r = cp.submit(task_body("alpha", n));
    if (r.status == 503 || r.status == 429) return t.count("task:refused-busy");
    if (r.status != 202 && r.status != 200)
        return t.lose("task submit answered " + std::to_string(r.status) + ": " + r.body);
    const auto id = str_of(object_of(r.body), "task_id");
    {
        std::lock_guard l(t.mu);
        t.accepted_tasks.push_back(id);
    }
    long long tokens = 0;
    auto s = sse_call("GET", cp.url("/v2/tasks/" + id + "/events"), {}, bearer(api_token),
                      [&](const http::sse_event& e) {
                          if (e.event == "token") ++tokens;
                          return !(leaves && tokens >= 2);
                      });
    if (leaves) return t.count("task:left-early");
    if (s.status != 200 || s.events.empty())
        return t.lose("task " + id + ": no event stream (" + std::to_string(s.status) + " " +
                      s.error + ")");
    long long next = 0, terminal = 0;
    for (const auto& e : s.events) {
        if (e.event == "token") {
            if (int_of(object_of(e.data), "i") != next)
                return t.lose("task " + id + ": token " + std::to_string(next) + " out of order");
            ++next;
        }
        if (e.event == "end" || e.event == "error") ++terminal;
    }
    const auto& last = s.events.back();
    if (terminal != 1 || (last.event != "end" && last.event != "error"))
        return t.lose("task " + id + ": " + std::to_string(terminal) + " terminal events");
    if (last.event == "end" && int_of(object_of(last.data), "tokens_out") != next)
        return t.lose("task " + id + ": client saw " + std::to_string(next) +
                      " tokens, server says " + last.data);
    t.count(last.event == "end" ? "task:end" : "task:error");
}

// OpenAI chat, streamed with usage: [DONE] after a usage chunk, one content chunk per token the
// task relayed, or an error.
void openai_client(const control_plane& cp, tally& t, std::mt19937& rng) {
    const int n = 4 + static_cast<int>(rng() % 20);
    const std::string body =
        R"({"model":"alpha","stream":true,"stream_options":{"include_usage":true},"max_tokens":)" +
        std::to_string(n) + R"(,"messages":[{"role":"user","content":"Once upon a time"}]})";
    auto s = sse_call("POST", cp.url("/v1/chat/completions"), body, bearer(api_token));
    if (s.status == 503 || s.status == 429) return t.count("openai:refused-busy");
    if (s.status != 200) return t.lose("openai answered " + std::to_string(s.status) + s.raw);
    long long content = 0, usage = -1;
    bool done = false, error = false;
    std::string id;
    for (const auto& e : s.events) {
        if (e.data == "[DONE]") {
            done = true;
            continue;
        }
        auto o = object_of(e.data);
        if (id.empty()) id = str_of(o, "id");
        if (o.contains("error")) error = true;
        if (auto* u = o.if_contains("usage"); u && u->is_object())
            usage = int_of(u->as_object(), "completion_tokens");
        if (auto* c = o.if_contains("choices"); c && c->is_array() && !c->as_array().empty()) {
            const auto& ch = c->as_array()[0].as_object();
            if (auto* d = ch.if_contains("delta"); d && d->is_object())
                if (!str_of(d->as_object(), "content").empty()) ++content;
        }
    }
    if (error) return t.count("openai:error");
    if (!done) return t.lose("openai stream without [DONE] or error: " + s.error);
    // One content chunk per token event the task relayed (its id is the task's, after
    // "chatcmpl-"): nothing lost on the way. The engine's completion_tokens may count more: a
    // token whose text the engine holds back (part of a UTF-8 character, or of a marker its chat
    // parser watches for) comes out with a later one.
    const std::string prefix = "chatcmpl-";
    if (!id.starts_with(prefix)) return t.lose("openai: a chunk id without its task: " + id);
    auto task = cp.call("GET", "/v2/tasks/" + id.substr(prefix.size()));
    if (task.status != 200) return t.lose("openai: task " + id + " answered " + task.body);
    const auto relayed = int_of(object_of(task.body), "tokens");
    if (content != relayed || usage < content)
        return t.lose("openai: " + std::to_string(content) + " content chunks, the task relayed " +
                      std::to_string(relayed) + ", usage says " + std::to_string(usage));
    t.count("openai:done");
}

// Ollama generate, unstreamed: 200 with eval_count and text, or an Ollama error body.
void ollama_client(const control_plane& cp, tally& t, std::mt19937& rng) {
    const int n = 4 + static_cast<int>(rng() % 20);
    auto r = http_call(
        "POST", cp.url("/api/generate"),
        R"({"model":"alpha","prompt":"Once upon a time","stream":false,"options":{"num_predict":)" +
            std::to_string(n) + "}}",
        bearer(api_token), 120s);
    if (r.status == 0) return t.lose("ollama: no answer");
    auto o = object_of(r.body);
    if (r.status != 200) {
        if (!str_of(o, "error").empty()) return t.count("ollama:error");
        return t.lose("ollama " + std::to_string(r.status) + " without an error: " + r.body);
    }
    if (int_of(o, "eval_count") <= 0 || !o.contains("response"))
        return t.lose("ollama 200 without eval_count: " + r.body);
    t.count("ollama:done");
}

TEST(soak, mixed_clients_under_random_faults_lose_nothing_and_leave_nothing) {
    netns_lab lab(3);
    control_plane cp(
        {.node_timeout_ms = 2000,
         .env = {{"LLORCH_API_TOKEN", api_token}, {"LLORCH_SERVICE_TOKEN", service_token}},
         .auth = bearer(api_token),
         .where = lab.place(0)});
    header_pairs node_env{{"LLORCH_SERVICE_TOKEN", service_token}};
    std::vector<std::unique_ptr<node_process>> nodes;
    for (int i = 0; i < 2; ++i)
        nodes.push_back(std::make_unique<node_process>("node-" + std::to_string(i),
                                                       pool_toml("p", models().alpha, 2), cp.base(),
                                                       node_env, lab.place(i + 1)));
    ASSERT_EQ(cp.wait_cluster({"node-0", "node-1"}), "");
    const long orch_pid = cp.pid();
    const size_t fds_before = orch_pid > 0 ? open_fds(orch_pid) : 0;

    tally t;
    constexpr size_t workers = 6;
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (size_t w = 0; w < workers; ++w)
        clients.emplace_back([&, w] {
            std::mt19937 rng(static_cast<unsigned>(1000 + w));
            while (!stop) {
                switch (rng() % 3) {
                    case 0:
                        task_api_client(cp, t, rng);
                        break;
                    case 1:
                        openai_client(cp, t, rng);
                        break;
                    default:
                        ollama_client(cp, t, rng);
                }
            }
        });

    // One fault at a time, on a random node, each healed before the next.
    std::mt19937 rng(42);
    std::map<std::string, int> faults;
    std::vector<long> dead_engines;
    const auto end = steady::now() + std::chrono::seconds(soak_seconds());
    while (steady::now() < end) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1000 + rng() % 2000));
        const int i = static_cast<int>(rng() % 2);
        auto& n = *nodes[i];
        switch (rng() % 3) {
            case 0: {
                auto pids = n.engine_pids(bearer(service_token));
                dead_engines.insert(dead_engines.end(), pids.begin(), pids.end());
                n.kill9();
                std::this_thread::sleep_for(500ms);
                n.start();
                ++faults["kill -9 + restart"];
                break;
            }
            case 1:
                lab.link(i + 1, false);
                std::this_thread::sleep_for(std::chrono::milliseconds(1000 + rng() % 3000));
                lab.link(i + 1, true);
                ++faults["partition"];
                break;
            default:
                n.signal(SIGSTOP);
                std::this_thread::sleep_for(std::chrono::milliseconds(1000 + rng() % 3000));
                n.signal(SIGCONT);
                ++faults["SIGSTOP + SIGCONT"];
        }
        // Healed: the node is back before the next fault.
        ASSERT_TRUE(cp.wait_node_state(n.id(), "online", 60s)) << n.id() << "\n" << n.log_text();
    }
    stop = true;
    for (auto& c : clients) c.join();

    // Accounting: every accepted task ended exactly once, as the server sees it too.
    ASSERT_EQ(cp.wait_cluster({"node-0", "node-1"}), "");
    EXPECT_TRUE(wait_until(
        [&] {
            auto m = cp.call("GET", "/metrics").body;
            return metric_value(m, "tasks_running") == 0 && metric_value(m, "queue_depth") == 0;
        },
        30s))
        << cp.call("GET", "/metrics").body;
    std::map<std::string, int> server_states;
    for (const auto& id : t.accepted_tasks) {
        auto st = str_of(cp.task(id), "state");
        ++server_states[st];
        EXPECT_TRUE(st == "completed" || st == "failed" || st == "cancelled")
            << "task " << id << " is '" << st << "' after the soak";
    }
    for (const auto& why : t.lost) ADD_FAILURE() << "lost: " << why;

    // Nothing left over: every slot free, one live engine per node, none of a killed node.
    EXPECT_TRUE(wait_until(
        [&] {
            for (const auto& p : cp.pools()) {
                const auto& o = p.as_object();
                if (int_of(o, "slots_free") != int_of(o, "slots_total")) return false;
            }
            return true;
        },
        30s))
        << json::serialize(cp.pools());
    for (auto& n : nodes) {
        auto pids = n->engine_pids(bearer(service_token));
        EXPECT_EQ(pids.size(), 1u) << n->id();
        for (auto p : pids) EXPECT_TRUE(process_alive(p)) << n->id() << " engine " << p;
    }
    EXPECT_TRUE(wait_until(
        [&] {
            return std::none_of(dead_engines.begin(), dead_engines.end(),
                                [](long p) { return process_alive(p); });
        },
        15s))
        << "an engine of a killed node is still alive";
    // Descriptors: what the soak leaves is bounded by its concurrency (keep-alive connections
    // to the nodes stay pooled, at most one per client per node), never by its request count.
    const size_t fds_bound = fds_before + 2 * workers + 8;
    size_t fds_after = 0;
    if (orch_pid > 0) {
        EXPECT_TRUE(wait_until(
            [&] {
                fds_after = open_fds(orch_pid);
                return fds_after <= fds_bound;
            },
            30s))
            << "orchestratord holds " << fds_after << " descriptors, " << fds_before
            << " before the soak (bound " << fds_bound << ")";
    }

    int answered = 0;
    std::cout << "[ figures  ] soak " << soak_seconds() << " s: ";
    for (const auto& [k, v] : t.by_kind) {
        std::cout << k << "=" << v << " ";
        answered += v;
    }
    std::cout << "| accepted tasks by server state:";
    for (const auto& [k, v] : server_states) std::cout << " " << k << "=" << v;
    std::cout << " | faults:";
    for (const auto& [k, v] : faults) std::cout << " " << k << "=" << v;
    std::cout << " | orchestratord descriptors: " << fds_before << " before, " << fds_after
              << " after | lost: " << t.lost.size() << std::endl;
    EXPECT_GT(answered, 20) << "the workload hardly ran";
    EXPECT_GT(std::accumulate(faults.begin(), faults.end(), 0,
                              [](int a, const auto& f) { return a + f.second; }),
              0);
}

}  // namespace
}  // namespace llorch::test
