// Jobs (POST /v2/jobs) on orchestratord's HOME profile with real llama-server engines on the
// tiny model: waves with substitution, validation before anything runs, a failure isolated to
// its branch, a cancel while running. Public API only (jobs, their events, tasks).
#include <gtest/gtest.h>

#include "orchestratord_fixture.h"

namespace llorch::test {
namespace {

// A task of a job: greedy, exactly `max_tokens` tokens. `extra` is more JSON members, each
// starting with a comma.
std::string job_task(const std::string& id, const std::string& model, const std::string& prompt,
                     const std::vector<std::string>& deps, int max_tokens = 6,
                     const std::string& extra = {}) {
    json::array d;
    for (const auto& x : deps) d.push_back(json::string(x));
    json::object o{{"id", id},        {"model", model},           {"prompt", prompt},
                   {"depends_on", d}, {"max_tokens", max_tokens}, {"temperature", 0},
                   {"seed", 7},       {"ignore_eos", true}};
    auto s = json::serialize(o);
    if (!extra.empty()) s.insert(s.size() - 1, extra);
    return s;
}

std::string job_body(const std::vector<std::string>& tasks, const std::string& extra = {}) {
    std::string s = "{\"tasks\":[";
    for (size_t i = 0; i < tasks.size(); ++i) s += (i ? "," : "") + tasks[i];
    return s + "]" + extra + "}";
}

class jobs_home : public orchestratord_home {
  protected:
    static http::client_response post_job(const std::string& body) {
        return http_call("POST", d_->url("/v2/jobs"), body, {}, 10s);
    }
    static std::string submit_job(const std::string& body) {
        auto r = post_job(body);
        if (r.status != 202) {
            ADD_FAILURE() << "POST /v2/jobs answered " << r.status << ": " << r.body;
            return {};
        }
        return str_of(object_of(r.body), "job_id");
    }
    static json::object job(const std::string& id) {
        auto r = http_call("GET", d_->url("/v2/jobs/" + id), {}, {}, 5s);
        return r.status == 200 ? object_of(r.body) : json::object{};
    }
    static sse_result job_events(const std::string& id, bool tokens = false) {
        return sse_call("GET",
                        d_->url("/v2/jobs/" + id + "/events" + (tokens ? "?tokens=true" : "")), {},
                        {}, {}, 180s);
    }
    // The job's task record with this id.
    static json::object task_of(const json::object& j, const std::string& id) {
        for (const auto& t : j.at("tasks").as_array())
            if (str_of(t.as_object(), "id") == id) return t.as_object();
        ADD_FAILURE() << "no task '" << id << "' in " << json::serialize(j);
        return {};
    }
    // Index of the first event `name` of task `task` (or of any task when empty); -1 if none.
    static long index_of(const sse_result& r, const std::string& name, const std::string& task) {
        for (size_t k = 0; k < r.events.size(); ++k)
            if (r.events[k].event == name &&
                (task.empty() || str_of(object_of(r.events[k].data), "task") == task))
                return static_cast<long>(k);
        return -1;
    }
    static void expect_invalid(const std::string& body, const std::string& says) {
        auto r = post_job(body);
        EXPECT_EQ(r.status, 400) << r.body;
        auto o = object_of(r.body);
        EXPECT_EQ(str_of(o, "code"), "INVALID_PARAMS") << r.body;
        EXPECT_NE(str_of(o, "message").find(says), std::string::npos)
            << "expected '" << says << "' in " << r.body;
    }
};

TEST_F(jobs_home, runs_a_three_level_job_in_waves_substituting_outputs_into_prompts) {
    auto id = submit_job(job_body({
        job_task("plan", "tiny", prompt, {}),
        job_task("left", "tiny", "L: {{tasks.plan.output}}", {"plan"}),
        job_task("right", "pair", "R: {{tasks.plan.output}}!", {"plan"}),
        job_task("merge", "tiny", "{{tasks.left.output}}|{{tasks.right.output}}",
                 {"left", "right"}),
    }));
    ASSERT_FALSE(id.empty());
    auto ev = job_events(id, true);
    ASSERT_EQ(ev.status, 200) << ev.raw << ev.error;
    ASSERT_FALSE(ev.events.empty());
    ASSERT_EQ(ev.events.back().event, "job_ended") << ev.events.back().data;
    EXPECT_EQ(str_of(object_of(ev.events.back().data), "state"), "completed")
        << ev.events.back().data;

    // Waves: a task starts only after its own dependencies ended.
    auto plan_end = index_of(ev, "task_ended", "plan");
    ASSERT_GE(plan_end, 0);
    EXPECT_GT(index_of(ev, "task_started", "left"), plan_end);
    EXPECT_GT(index_of(ev, "task_started", "right"), plan_end);
    EXPECT_GT(index_of(ev, "task_started", "merge"), index_of(ev, "task_ended", "left"));
    EXPECT_GT(index_of(ev, "task_started", "merge"), index_of(ev, "task_ended", "right"));

    auto j = job(id);
    EXPECT_EQ(str_of(j, "state"), "completed") << json::serialize(j);
    std::map<std::string, std::string> out;
    for (const char* t : {"plan", "left", "right", "merge"}) {
        auto r = task_of(j, t);
        EXPECT_EQ(str_of(r, "state"), "completed") << json::serialize(r);
        EXPECT_FALSE(str_of(r, "pool_id").empty()) << json::serialize(r);
        EXPECT_GE(int_of(r, "started_ms"), 0);
        EXPECT_GE(int_of(r, "ended_ms"), int_of(r, "started_ms"));
        EXPECT_EQ(int_of(r, "tokens_out"), 6);
        out[t] = str_of(r, "output");
        EXPECT_FALSE(out[t].empty()) << t;
        // Token events tagged with the task carry exactly its output.
        std::string streamed;
        for (const auto& e : ev.events)
            if (e.event == "task_token" && str_of(object_of(e.data), "task") == t)
                streamed += str_of(object_of(e.data), "t");
        EXPECT_EQ(streamed, out[t]) << t;
    }
    EXPECT_EQ(str_of(task_of(j, "right"), "pool_id").empty(), false);
    // The substituted prompt is what each task ran with: in the job's record and the task's.
    EXPECT_EQ(str_of(task_of(j, "left"), "prompt"), "L: " + out["plan"]);
    EXPECT_EQ(str_of(task_of(j, "right"), "prompt"), "R: " + out["plan"] + "!");
    EXPECT_EQ(str_of(task_of(j, "merge"), "prompt"), out["left"] + "|" + out["right"]);
    auto merge_task = str_of(task_of(j, "merge"), "task_id");
    EXPECT_EQ(merge_task, id + ".merge");
    EXPECT_EQ(d_->state(merge_task), "completed");
    // The engine saw the substituted prompt: the same prompt as a plain task gives the same
    // greedy output.
    auto check =
        d_->submit_id(R"({"model":"tiny","max_tokens":6,"temperature":0,"seed":7,)"
                      R"("ignore_eos":true,"prompt":)" +
                      json::serialize(json::string(out["left"] + "|" + out["right"])) + "}");
    EXPECT_EQ(token_text(d_->events(check)), out["merge"]);

    // Without ?tokens=true the log has no token events; replayed in full after the end.
    auto plain = job_events(id);
    EXPECT_EQ(index_of(plain, "task_token", ""), -1);
    EXPECT_EQ(plain.events.back().event, "job_ended");
}

TEST_F(jobs_home, rejects_a_cycle_naming_its_tasks_before_anything_runs) {
    expect_invalid(
        job_body({job_task("root", "tiny", prompt, {}),
                  job_task("a", "tiny", prompt, {"root", "c"}),
                  job_task("b", "tiny", prompt, {"a"}), job_task("c", "tiny", prompt, {"b"})}),
        "a -> c -> b -> a");
    expect_invalid(job_body({job_task("a", "tiny", prompt, {}), job_task("a", "tiny", prompt, {})}),
                   "duplicate id 'a'");
    expect_invalid(job_body({job_task("a", "tiny", prompt, {"ghost"})}),
                   "tasks.a.depends_on: unknown task 'ghost'");
    expect_invalid(job_body({job_task("a", "tiny", prompt, {}), job_task("b", "tiny", prompt, {}),
                             job_task("c", "tiny", "{{tasks.b.output}}", {"a"})}),
                   "names 'b', which is not in its depends_on");
    expect_invalid(job_body({job_task("a", "tiny", prompt, {}, 6, R"(,"top_k":"many")")}),
                   "tasks.a: top_k");
    expect_invalid(R"({"tasks":[]})", "tasks");
    auto r = post_job(job_body({job_task("a", "no-such-model", prompt, {})}));
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_EQ(str_of(object_of(r.body), "code"), "MODEL_NOT_AVAILABLE") << r.body;
    // Nothing ran: no task of a refused job exists.
    EXPECT_EQ(http_call("GET", d_->url("/v2/jobs/nope")).status, 404);
}

TEST_F(jobs_home, a_failed_task_skips_its_dependents_while_an_independent_branch_completes) {
    auto id = submit_job(job_body({
        job_task("bad", "tiny", prompt, {}, 6,
                 R"(,"placement":{"mode":"pin","pin_pool_id":"nowhere"})"),
        job_task("child", "tiny", "{{tasks.bad.output}}", {"bad"}),
        job_task("grandchild", "tiny", prompt, {"child"}),
        job_task("free", "tiny", prompt, {}),
        job_task("after_free", "tiny", "more {{tasks.free.output}}", {"free"}),
    }));
    ASSERT_FALSE(id.empty());
    auto ev = job_events(id);
    ASSERT_FALSE(ev.events.empty()) << ev.error;
    auto end = object_of(ev.events.back().data);
    EXPECT_EQ(ev.events.back().event, "job_ended");
    EXPECT_EQ(str_of(end, "state"), "failed");
    EXPECT_NE(str_of(end, "cause").find("task 'bad' failed"), std::string::npos)
        << json::serialize(end);

    auto j = job(id);
    auto bad = task_of(j, "bad");
    EXPECT_EQ(str_of(bad, "state"), "failed");
    EXPECT_EQ(str_of(bad.at("error").as_object(), "code"), "INVALID_PARAMS")
        << json::serialize(bad);
    EXPECT_EQ(str_of(task_of(j, "child"), "state"), "skipped");
    EXPECT_EQ(str_of(task_of(j, "child"), "cause"), "dependency 'bad' failed");
    EXPECT_EQ(str_of(task_of(j, "grandchild"), "state"), "skipped");
    EXPECT_EQ(str_of(task_of(j, "grandchild"), "cause"), "dependency 'child' was skipped");
    EXPECT_EQ(str_of(task_of(j, "free"), "state"), "completed");
    EXPECT_EQ(str_of(task_of(j, "after_free"), "state"), "completed");
    EXPECT_EQ(str_of(task_of(j, "after_free"), "prompt"),
              "more " + str_of(task_of(j, "free"), "output"));
    // A skipped task never reached the task service.
    EXPECT_EQ(http_call("GET", d_->url("/v2/tasks/" + id + ".child")).status, 404);
    // Each ended task was reported once, with its state.
    for (const char* t : {"bad", "child", "grandchild", "free", "after_free"}) {
        long n = std::count_if(ev.events.begin(), ev.events.end(), [&](const auto& e) {
            return e.event == "task_ended" && str_of(object_of(e.data), "task") == t;
        });
        EXPECT_EQ(n, 1) << t;
    }
}

TEST_F(jobs_home, cancelling_a_running_job_stops_its_running_task_and_its_pending_ones) {
    auto id = submit_job(job_body({
        job_task("long", "solo", prompt, {}, 4000),
        job_task("next", "tiny", "{{tasks.long.output}}", {"long"}),
    }));
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(wait_until([&] {
        auto t = task_of(job(id), "long");
        return str_of(t, "state") == "running" && !str_of(t, "output").empty();
    })) << json::serialize(job(id));
    auto long_task = str_of(task_of(job(id), "long"), "task_id");
    EXPECT_EQ(http_call("POST", d_->url("/v2/jobs/" + id + "/cancel")).status, 204);
    auto ev = job_events(id);
    ASSERT_FALSE(ev.events.empty()) << ev.error;
    EXPECT_EQ(ev.events.back().event, "job_ended");
    EXPECT_EQ(str_of(object_of(ev.events.back().data), "state"), "cancelled");
    auto j = job(id);
    EXPECT_EQ(str_of(j, "state"), "cancelled");
    EXPECT_EQ(str_of(task_of(j, "long"), "state"), "cancelled");
    EXPECT_EQ(str_of(task_of(j, "next"), "state"), "cancelled");
    EXPECT_EQ(d_->state(long_task), "cancelled");
    EXPECT_LT(int_of(task_of(j, "long"), "tokens_out"), 4000);
    // Idempotent; an unknown job is a 404 in the API's envelope.
    EXPECT_EQ(http_call("POST", d_->url("/v2/jobs/" + id + "/cancel")).status, 204);
    auto r = http_call("POST", d_->url("/v2/jobs/nope/cancel"));
    EXPECT_EQ(r.status, 404);
    EXPECT_FALSE(str_of(object_of(r.body), "message").empty());
}

TEST_F(jobs_home, independent_tasks_run_side_by_side) {
    auto id = submit_job(
        job_body({job_task("a", "tiny", prompt, {}, 300), job_task("b", "tiny", prompt, {}, 300),
                  job_task("c", "tiny", prompt, {}, 300)}));
    ASSERT_FALSE(id.empty());
    auto ev = job_events(id);
    ASSERT_FALSE(ev.events.empty());
    EXPECT_EQ(str_of(object_of(ev.events.back().data), "state"), "completed");
    // All three were placed before the first of them ended (quad has four slots).
    auto first_end = index_of(ev, "task_ended", "");
    for (const char* t : {"a", "b", "c"})
        EXPECT_LT(index_of(ev, "task_started", t), first_end) << t;
}

TEST_F(jobs_home, max_parallel_runs_independent_tasks_one_at_a_time) {
    auto id =
        submit_job(job_body({job_task("a", "tiny", prompt, {}), job_task("b", "tiny", prompt, {}),
                             job_task("c", "tiny", prompt, {})},
                            R"(,"max_parallel":1)"));
    ASSERT_FALSE(id.empty());
    auto ev = job_events(id);
    ASSERT_FALSE(ev.events.empty());
    EXPECT_EQ(str_of(object_of(ev.events.back().data), "state"), "completed");
    int running = 0, most = 0;
    for (const auto& e : ev.events) {
        if (e.event == "task_started") most = std::max(most, ++running);
        if (e.event == "task_ended") --running;
    }
    EXPECT_EQ(most, 1);
}

// `llorch job run FILE` against the daemon: its exit status and what it printed (stdout and
// stderr together).
struct cli_result {
    int exit_code = -1;
    std::string output;
};

cli_result llorch_job_run(const std::string& url, const std::string& job_json) {
    auto dir = temp_dir("llorch-job");
    std::ofstream(dir / "job.json") << job_json;
    auto log = dir / "out.log";
    auto p = start_process(
        {(bin_dir() / "llorch").string(), "job", "run", (dir / "job.json").string(), "--url", url},
        log, no_tokens);
    cli_result r;
    if (!wait_until([&] { return !p.running(); }, 120s)) {
        r.output = "llorch job run did not end: " + read_file(log);
        return r;
    }
    auto st = p.status().value_or(-1);
    r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.output = read_file(log);
    return r;
}

TEST_F(jobs_home, llorch_job_run_shows_each_tasks_progress_and_prints_the_outputs) {
    auto r = llorch_job_run(
        d_->url(""), R"({"job_id":"cli-ok","defaults":{"model":"tiny","max_tokens":5,)"
                     R"("temperature":0,"ignore_eos":true},"tasks":[)"
                     R"({"id":"plan","prompt":"Once upon a time"},)"
                     R"({"id":"write","depends_on":["plan"],"prompt":"{{tasks.plan.output}}"}]})");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    auto j = job("cli-ok");
    ASSERT_EQ(str_of(j, "state"), "completed") << r.output;
    for (const char* line :
         {"plan: started on pool quad", "plan: completed (5 tokens)", "write: started on pool quad",
          "write: completed (5 tokens)", "job completed"})
        EXPECT_NE(r.output.find(line), std::string::npos) << "no '" << line << "' in\n" << r.output;
    // Progress in order: write starts after plan ended.
    EXPECT_LT(r.output.find("plan: completed"), r.output.find("write: started"));
    for (const char* t : {"plan", "write"})
        EXPECT_NE(r.output.find(std::string("=== ") + t + " (completed) ===\n" +
                                str_of(task_of(j, t), "output") + "\n"),
                  std::string::npos)
            << t << " output missing in\n"
            << r.output;
}

TEST_F(jobs_home, llorch_job_run_reports_skipped_tasks_and_refused_jobs_with_a_failing_exit) {
    auto r = llorch_job_run(
        d_->url(""),
        R"({"defaults":{"model":"tiny","max_tokens":3},"tasks":[)"
        R"({"id":"bad","prompt":"x","placement":{"mode":"pin","pin_pool_id":"nowhere"}},)"
        R"({"id":"after","depends_on":["bad"],"prompt":"y"}]})");
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("after: skipped: dependency 'bad' failed"), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("job failed"), std::string::npos) << r.output;

    auto cyc = llorch_job_run(d_->url(""), job_body({job_task("a", "tiny", prompt, {"b"}),
                                                     job_task("b", "tiny", prompt, {"a"})}));
    EXPECT_EQ(cyc.exit_code, 1) << cyc.output;
    EXPECT_NE(cyc.output.find("INVALID_PARAMS: dependency cycle: a -> b -> a"), std::string::npos)
        << cyc.output;
}

}  // namespace
}  // namespace llorch::test
