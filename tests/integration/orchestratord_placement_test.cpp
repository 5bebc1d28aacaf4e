// orchestratord's HOME profile as a process, continued: placement overrides, the catalog,
// correlation ids, the admission policies and SIGTERM, through the public HTTP/SSE API.
#include <gtest/gtest.h>

#include "orchestratord_fixture.h"

namespace llorch::test {
namespace {

TEST_F(orchestratord_home,
       bad_requests_get_their_status_and_code_and_a_stream_beside_is_unaffected) {
    // A stream runs beside the bad requests for their whole duration.
    auto id = d_->submit_id(task_body("tiny", 300));
    ASSERT_FALSE(id.empty());
    cancel_on_exit guard{*d_, {id}};
    std::atomic<bool> release{false}, reading{false};
    sse_result beside;
    joined_thread reader(release, [&] {
        beside = d_->events(id, [&](const http::sse_event& e) {
            if (e.event == "token") reading = true;
            return true;
        });
    });
    ASSERT_TRUE(wait_until([&] { return reading.load(); }, 30s));

    std::string invalid_utf8 = R"({"model":"tiny","prompt":"bad )" + std::string("\xC3\x28\xFF") +
                               R"( bytes","max_tokens":4})";
    std::string oversized =
        R"({"model":"tiny","prompt":")" + std::string(1100 * 1024, 'a') + R"(","max_tokens":4})";
    struct bad_case {
        std::string what, body;
        int status;
        std::string code;
    };
    std::vector<bad_case> cases{
        {"malformed JSON", R"({"model":"tiny","prompt":)", 400, "INVALID_PARAMS"},
        {"not an object", R"(["tiny"])", 400, "INVALID_PARAMS"},
        {"empty body", "", 400, "INVALID_PARAMS"},
        {"max_tokens a string", task_body("tiny", 4, R"(,"max_tokens":"ten")"), 400,
         "INVALID_PARAMS"},
        {"priority a number", task_body("tiny", 4, R"(,"priority":5)"), 400, "INVALID_PARAMS"},
        {"missing model", R"({"prompt":"hi","max_tokens":4})", 400, "INVALID_PARAMS"},
        {"missing prompt", R"({"model":"tiny","max_tokens":4})", 400, "INVALID_PARAMS"},
        {"unknown model", task_body("no-such-model", 4), 404, "MODEL_NOT_AVAILABLE"},
        {"negative max_tokens", R"({"model":"tiny","prompt":"hi","max_tokens":-5})", 400,
         "INVALID_PARAMS"},
        {"zero max_tokens", R"({"model":"tiny","prompt":"hi","max_tokens":0})", 400,
         "INVALID_PARAMS"},
        {"max_tokens over the cap", R"({"model":"tiny","prompt":"hi","max_tokens":5000})", 400,
         "INVALID_PARAMS"},
        {"absurd max_tokens", R"({"model":"tiny","prompt":"hi","max_tokens":100000000000})", 400,
         "INVALID_PARAMS"},
        {"unknown priority", task_body("tiny", 4, R"(,"priority":"urgent")"), 400,
         "INVALID_PARAMS"},
        {"invalid UTF-8 in the prompt", invalid_utf8, 400, "INVALID_PARAMS"},
        {"escaped lone surrogate in the prompt",
         R"({"model":"tiny","prompt":"bad \udc80 half","max_tokens":4})", 400, "INVALID_PARAMS"},
        {"workload embedding", task_body("tiny", 4, R"(,"workload":"embedding")"), 400,
         "INVALID_PARAMS"},
        {"bad task_id", task_body("tiny", 4, R"(,"task_id":"has spaces/and slash")"), 400,
         "INVALID_PARAMS"},
        {"prompt longer than the context",
         R"({"model":"tiny","prompt":")" + std::string(512 * 9, 'a') + R"(","max_tokens":4})", 400,
         "INVALID_PARAMS"},
        {"oversized body", oversized, 413, "PAYLOAD_TOO_LARGE"},
    };
    const std::string enqueued = R"(tasks_enqueued_total{priority="interactive"})";
    auto enqueued_before = metric_value(d_->metrics(), enqueued);
    ASSERT_GE(enqueued_before, 0) << "no series " << enqueued;
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        auto corr = "corr-bad-" + std::to_string(&c - cases.data());
        auto r = d_->submit(c.body, {{"X-Correlation-Id", corr}});
        ASSERT_EQ(r.status, c.status) << r.body;
        auto e = object_of(r.body);
        EXPECT_EQ(str_of(e, "code"), c.code) << r.body;
        EXPECT_FALSE(str_of(e, "message").empty()) << r.body;
        EXPECT_FALSE(str_of(e, "correlation_id").empty()) << r.body;
        EXPECT_EQ(std::string(r.headers.find("X-Correlation-Id").value_or("")),
                  str_of(e, "correlation_id"));
        if (c.status != 413) {
            EXPECT_EQ(str_of(e, "correlation_id"), corr);
        }
    }
    EXPECT_EQ(metric_value(d_->metrics(), enqueued), enqueued_before) << "a bad request was queued";
    EXPECT_EQ(http_call("GET", d_->url("/health")).status, 200);
    reader.join();
    EXPECT_TRUE(well_formed_stream(beside, 300));
}

TEST_F(orchestratord_home, a_prompt_longer_than_the_context_is_invalid_params_and_never_runs) {
    // About 600 tokens for a 512-token context: more bytes than the context has tokens, so
    // orchestratord asks the engine's tokenizer and refuses the task at submit.
    std::string words;
    for (int k = 0; k < 300; ++k) words += "hello world ";
    auto r = d_->submit(R"({"model":"tiny","prompt":")" + words + R"(","max_tokens":8})");
    ASSERT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(str_of(object_of(r.body), "code"), "INVALID_PARAMS");
    EXPECT_NE(str_of(object_of(r.body), "message").find("context"), std::string::npos) << r.body;
}

TEST_F(orchestratord_home, placement_pin_runs_on_the_pinned_pool) {
    for (const std::string pool : {"duo", "quad", "duo"}) {
        SCOPED_TRACE(pool);
        auto id = d_->submit_id(
            task_body("pair", 8, R"(,"placement":{"mode":"pin","pin_pool_id":")" + pool + "\"}"));
        ASSERT_FALSE(id.empty());
        auto s = d_->events(id);
        ASSERT_TRUE(well_formed_stream(s, 8));
        EXPECT_EQ(str_of(object_of(s.events.front().data), "pool_id"), pool);
    }
}

TEST_F(orchestratord_home, placement_pin_to_a_missing_pool_fails_unless_allow_fallback) {
    for (const std::string pool : {"missing", "solo"}) {  // unknown; serves another model
        SCOPED_TRACE(pool);
        auto pin = R"(,"placement":{"mode":"pin","pin_pool_id":")" + pool + "\"";
        auto r = d_->submit(task_body("pair", 8, pin + "}"));
        if (r.status == 202) {
            auto s = d_->events(str_of(object_of(r.body), "task_id"));
            EXPECT_TRUE(ends_with_error(s, "POOL_UNAVAILABLE")) << "it ran somewhere else";
        } else {
            EXPECT_GE(r.status, 400) << r.body;
            EXPECT_FALSE(str_of(object_of(r.body), "code").empty()) << r.body;
        }
        auto id = d_->submit_id(task_body("pair", 8, pin + R"(,"allow_fallback":true})"));
        ASSERT_FALSE(id.empty());
        auto s = d_->events(id);
        ASSERT_TRUE(well_formed_stream(s, 8));
        auto ran_on = str_of(object_of(s.events.front().data), "pool_id");
        EXPECT_TRUE(ran_on == "quad" || ran_on == "duo") << ran_on;
    }
}

TEST_F(orchestratord_home, catalog_lists_each_model_with_the_pools_that_serve_it) {
    auto r = http_call("GET", d_->url("/v2/catalog/models"));
    ASSERT_EQ(r.status, 200) << r.body;
    std::map<std::string, std::set<std::string>> pools_of;
    auto catalog = parse_json(r.body);
    for (const auto& m : catalog.at("models").as_array()) {
        auto& o = m.as_object();
        EXPECT_GT(int_of(o, "size_bytes"), 0) << "the model file's size";
        for (const auto& p : o.at("pools").as_array())
            pools_of[str_of(o, "name")].insert(std::string(p.as_string()));
    }
    EXPECT_EQ(pools_of["tiny"], (std::set<std::string>{"quad"}));
    EXPECT_EQ(pools_of["pair"], (std::set<std::string>{"duo"}));
    EXPECT_EQ(pools_of["solo"], (std::set<std::string>{"solo"}));
    auto a = http_call("GET", d_->url("/v2/catalog/availability"));
    ASSERT_EQ(a.status, 200) << a.body;
    auto availability = parse_json(a.body);
    auto models = availability.at("models").as_object();
    ASSERT_TRUE(models.contains("solo")) << a.body;
    EXPECT_EQ(str_of(models.at("solo").as_array()[0].as_object(), "pool_id"), "solo");
    EXPECT_TRUE(models.at("solo").as_array()[0].at("ready").as_bool());
}

TEST_F(orchestratord_home, placement_avoid_pools_are_honoured) {
    for (const std::string avoid : {"quad", "duo"}) {
        for (int k = 0; k < 3; ++k) {  // round-robin would alternate without the avoid list
            SCOPED_TRACE(avoid);
            auto id = d_->submit_id(
                task_body("pair", 8, R"(,"placement":{"avoid_pools":[")" + avoid + "\"]}"));
            ASSERT_FALSE(id.empty());
            auto s = d_->events(id);
            ASSERT_TRUE(well_formed_stream(s, 8));
            EXPECT_EQ(str_of(object_of(s.events.front().data), "pool_id"),
                      avoid == "quad" ? "duo" : "quad");
        }
    }
    auto r = d_->submit(task_body("pair", 8, R"(,"placement":{"avoid_pools":["quad","duo"]})"));
    if (r.status == 202) {
        EXPECT_TRUE(
            ends_with_error(d_->events(str_of(object_of(r.body), "task_id")), "POOL_UNAVAILABLE"));
    } else {
        EXPECT_GE(r.status, 400) << r.body;
    }
}

TEST_F(orchestratord_home, correlation_id_is_echoed_or_generated_on_every_response) {
    auto echoed = d_->submit(task_body("tiny", 4), {{"X-Correlation-Id", "corr-echo-1"}});
    ASSERT_EQ(echoed.status, 202);
    EXPECT_EQ(echoed.headers.find("X-Correlation-Id").value_or(""), "corr-echo-1");
    auto id = str_of(object_of(echoed.body), "task_id");

    const std::regex uuid4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    std::set<std::string> generated;
    for (auto [method, path] :
         std::vector<std::pair<std::string, std::string>>{{"GET", "/v2/tasks/" + id},
                                                          {"GET", "/v2/tasks/" + id + "/events"},
                                                          {"GET", "/v2/tasks/nope"},
                                                          {"GET", "/v2/pools"},
                                                          {"GET", "/health"},
                                                          {"GET", "/v2/meta/capabilities"}}) {
        SCOPED_TRACE(method + " " + path);
        auto r = http_call(method, d_->url(path), {}, {}, 30s);
        ASSERT_NE(r.status, 0) << r.body;
        auto corr = std::string(r.headers.find("X-Correlation-Id").value_or(""));
        EXPECT_TRUE(std::regex_match(corr, uuid4)) << "'" << corr << "'";
        generated.insert(corr);
        auto with = http_call(method, d_->url(path), {}, {{"X-Correlation-Id", "corr-echo-2"}});
        EXPECT_EQ(with.headers.find("X-Correlation-Id").value_or(""), "corr-echo-2");
    }
    EXPECT_EQ(generated.size(), 6u) << "generated ids repeat";
}

// ---------------------------------------------------------------------------------------------
// Admission policies and shutdown: a small daemon each, one slot, a queue of two.

std::string one_slot_toml() { return pool_toml("one", 1, 4096); }

TEST(orchestratord_admission,
     a_task_for_a_pool_still_starting_waits_and_one_past_its_deadline_fails) {
    // An engine that takes two seconds to start: tasks arrive while its pool is `starting`.
    auto dir = temp_dir("slow-engine");
    auto script = dir / "slow-llama-server";
    std::ofstream(script) << "#!/bin/sh\nsleep 2\nexec " << engine_or_skip().string()
                          << " \"$@\"\n";
    std::filesystem::permissions(script, std::filesystem::perms::owner_all);
    orchestratord_process d("slow",
                            pool_toml("slow", 1, 512, "engine_path = \"" + script.string() + "\""));
    ASSERT_TRUE(wait_http_ok(d.url("/health"), 30s));
    ASSERT_NE(d.wait_ready(1ms), "") << "the pool must still be starting for this test";
    auto patient = d.submit_id(task_body("tiny", 4));
    auto hasty = d.submit_id(task_body("tiny", 4, R"(,"deadline_ms":300)"));
    ASSERT_FALSE(patient.empty());
    ASSERT_FALSE(hasty.empty());
    auto h = d.events(hasty);
    EXPECT_TRUE(ends_with_error(h, "DEADLINE_UNMET"));
    auto p = d.events(patient);
    EXPECT_TRUE(well_formed_stream(p, 4)) << "the waiting task runs once the pool is ready";
}

TEST(orchestratord_admission, a_full_queue_rejects_with_429_retry_after_and_backoff) {
    engine_or_skip();
    orchestratord_process d("reject", one_slot_toml(),
                            {"--admission-capacity", "2", "--admission-policy", "reject",
                             "--drain-deadline-ms", "500"});
    ASSERT_EQ(d.wait_ready(), "");
    auto hold = d.submit_id(task_body("tiny", 4000));
    cancel_on_exit guard{d, {hold}};
    ASSERT_TRUE(d.wait_generating(hold));
    for (int k = 0; k < 2; ++k) {
        auto r = d.submit(task_body("tiny", 4000));
        ASSERT_EQ(r.status, 202) << r.body;
        auto a = object_of(r.body);
        guard.ids.push_back(str_of(a, "task_id"));
        EXPECT_EQ(int_of(a, "queue_position"), k) << r.body;
        EXPECT_GE(int_of(a, "predicted_start_ms"), 0);
    }
    auto r = d.submit(task_body("tiny", 4), {{"X-Correlation-Id", "corr-429"}});
    EXPECT_EQ(d.state(hold), "running") << "the slot freed up meanwhile: inconclusive";
    ASSERT_EQ(r.status, 429) << r.body;
    auto e = object_of(r.body);
    EXPECT_EQ(str_of(e, "code"), "ADMISSION_REJECT");
    EXPECT_FALSE(str_of(e, "message").empty());
    EXPECT_EQ(str_of(e, "correlation_id"), "corr-429");
    auto retry = r.headers.find("Retry-After");
    ASSERT_TRUE(retry.has_value());
    EXPECT_GE(std::stoi(std::string(*retry)), 1);
    auto backoff = r.headers.find("X-Backoff-Ms");
    ASSERT_TRUE(backoff.has_value());
    EXPECT_GT(std::stoll(std::string(*backoff)), 0);
    EXPECT_EQ(int_of(e, "retry_after_ms"), std::stoll(std::string(*backoff)));
    // The queued tasks are untouched.
    for (size_t k = 1; k < guard.ids.size(); ++k) EXPECT_EQ(d.state(guard.ids[k]), "queued");
}

TEST(orchestratord_admission, drop_lru_evicts_the_oldest_batch_task_with_queue_full_drop_lru) {
    engine_or_skip();
    orchestratord_process d("droplru", one_slot_toml(),
                            {"--admission-capacity", "2", "--admission-policy", "drop-lru",
                             "--drain-deadline-ms", "500"});
    ASSERT_EQ(d.wait_ready(), "");
    auto hold = d.submit_id(task_body("tiny", 4000));
    cancel_on_exit guard{d, {hold}};
    ASSERT_TRUE(d.wait_generating(hold));
    auto oldest = d.submit_id(task_body("tiny", 8, R"(,"priority":"batch")"));
    auto younger = d.submit_id(task_body("tiny", 8, R"(,"priority":"batch")"));
    ASSERT_FALSE(oldest.empty());
    ASSERT_FALSE(younger.empty());
    guard.ids.insert(guard.ids.end(), {oldest, younger});

    auto r = d.submit(task_body("tiny", 8));
    ASSERT_EQ(r.status, 202) << "drop-lru makes room instead of refusing: " << r.body;
    auto newest = str_of(object_of(r.body), "task_id");
    guard.ids.push_back(newest);
    EXPECT_EQ(d.state(hold), "running") << "the slot freed up meanwhile: inconclusive";

    EXPECT_TRUE(ends_with_error(d.events(oldest), "QUEUE_FULL_DROP_LRU"));
    EXPECT_EQ(d.state(oldest), "failed");
    EXPECT_EQ(d.state(younger), "queued");
    EXPECT_EQ(d.state(newest), "queued");
    // The interactive task goes first once the slot frees, the younger batch task after it.
    EXPECT_EQ(d.cancel(hold), 204);
    auto n = d.events(newest);
    auto y = d.events(younger);
    EXPECT_TRUE(well_formed_stream(n, 8));
    EXPECT_TRUE(well_formed_stream(y, 8));
}

TEST(orchestratord_shutdown, sigterm_finishes_running_streams_refuses_new_tasks_and_stops_engines) {
    engine_or_skip();
    orchestratord_process d("drain", one_slot_toml(), {"--drain-deadline-ms", "60000"});
    ASSERT_EQ(d.wait_ready(), "");
    auto engines = d.engine_pids();
    ASSERT_EQ(engines.size(), 1u);
    ASSERT_TRUE(process_alive(engines[0]));

    auto id = d.submit_id(task_body("tiny", 4000));
    ASSERT_FALSE(id.empty());
    std::atomic<bool> release{false}, generating{false};
    sse_result s;
    joined_thread reader(release, [&] {
        s = d.events(id, [&](const http::sse_event& e) {
            if (e.event == "token") generating = true;
            return true;
        });
    });
    ASSERT_TRUE(wait_until([&] { return generating.load(); }, 30s));
    // A task still queued behind it is told at once, with an error it may retry elsewhere.
    auto queued = d.submit_id(task_body("tiny", 8));
    ASSERT_FALSE(queued.empty());
    ASSERT_EQ(d.state(queued), "queued");
    sse_result q;
    joined_thread queued_reader(release, [&] { q = d.events(queued); });
    ASSERT_TRUE(wait_until([&] { return int_of(d.task(queued), "readers") == 1; }, 5s));
    ASSERT_EQ(::kill(d.proc().pid(), SIGTERM), 0);

    // The signal arrives asynchronously: /health says when the drain began.
    ASSERT_TRUE(wait_until(
        [&] {
            auto h = http_call("GET", d.url("/health"), {}, {}, 2s);
            return h.status == 0 || str_of(object_of(h.body), "status") == "draining";
        },
        5s));
    // Refused while draining (or, once the listener closed, not connected at all).
    bool saw_503 = false;
    for (int k = 0; k < 5; ++k) {
        auto r = d.submit(task_body("tiny", 4));
        if (r.status == 0) break;
        ASSERT_EQ(r.status, 503) << r.body;
        EXPECT_FALSE(str_of(object_of(r.body), "code").empty());
        saw_503 = true;
    }
    EXPECT_TRUE(saw_503) << "no submit was answered during the drain";

    queued_reader.join();
    EXPECT_TRUE(ends_with_error(q, "SHUTTING_DOWN"));
    if (!q.events.empty()) {
        EXPECT_EQ(object_of(q.events.back().data).at("retriable"), true);
    }
    reader.join();
    EXPECT_TRUE(well_formed_stream(s, 4000)) << "the running stream did not finish";
    EXPECT_TRUE(wait_until([&] { return !d.proc().running(); }, 15s)) << "still running";
    if (auto st = d.proc().status()) {
        EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << *st;
    }
    EXPECT_TRUE(wait_until([&] { return !process_alive(engines[0]); }, 5s))
        << "llama-server " << engines[0] << " outlived orchestratord";
}

}  // namespace
}  // namespace llorch::test
