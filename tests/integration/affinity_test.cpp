// Placement rules in the CLOUD profile (orchestratord --placement-rules): labels from the nodes'
// pool files (or a node's own, POOL_MANAGERD_NODE_LABELS) steer tasks (a required label routes a
// model to its node only; a preferred label wins while its pool has room and gives way when it has
// none), and a task type names a model.
#include "cloud_fixture.h"

namespace llorch::test {
namespace {

// A pool of `pool_toml` with `labels = [...]`.
std::string labelled(const std::string& id, const fs::path& model, int slots,
                     const std::string& labels) {
    return pool_toml(id, model, slots) + "labels = [" + labels + "]\n";
}

plane_options with_rules(const std::string& toml) {
    auto path = temp_dir("affinity-rules") / "rules.toml";
    std::ofstream(path) << toml;
    return {.strategy = "hybrid", .args = {"--placement-rules", path.string()}};
}

TEST(affinity, a_required_label_routes_its_model_to_the_labelled_node_only) {
    control_plane cp(
        with_rules("[[affinity]]\nmodel = \"al*\"\nlabel = \"big\"\nrequired = "
                   "true\n"));
    node_process big("node-big", labelled("p", models().alpha, 1, "\"big\""), cp.base());
    node_process small("node-small", pool_toml("p", models().alpha, 2), cp.base());
    ASSERT_EQ(cp.wait_cluster({"node-big", "node-small"}), "");

    auto first = cp.submit_id(long_task());
    stream_reader r1(cp, first);
    ASSERT_TRUE(cp.wait_generating(first));
    EXPECT_EQ(str_of(cp.task(first), "node_id"), "node-big");

    // The labelled node is full; the other has two free slots, and the task waits all the same.
    auto second = cp.submit_id(long_task());
    stream_reader r2(cp, second);
    EXPECT_FALSE(wait_until([&] { return str_of(cp.task(second), "state") != "queued"; }, 2s))
        << json::serialize(cp.task(second));

    // It starts when the labelled node has room again, there.
    cp.cancel(first);
    ASSERT_TRUE(cp.wait_generating(second)) << json::serialize(cp.task(second));
    EXPECT_EQ(str_of(cp.task(second), "node_id"), "node-big");
}

TEST(affinity, a_nodes_own_labels_count_like_its_pools_labels) {
    control_plane cp(
        with_rules("[[affinity]]\nmodel = \"al*\"\nlabel = \"big\"\nrequired = "
                   "true\n"));
    // No pool of either node has a label: the big node says it of itself.
    header_pairs big_env = no_tokens;
    big_env.emplace_back("POOL_MANAGERD_NODE_LABELS", "big,fast");
    node_process big("node-big", pool_toml("p", models().alpha, 2), cp.base(), big_env);
    node_process small("node-small", pool_toml("p", models().alpha, 2), cp.base());
    ASSERT_EQ(cp.wait_cluster({"node-big", "node-small"}), "");
    for (int i = 0; i < 2; ++i) {
        auto id = cp.submit_id(long_task());
        stream_reader r(cp, id);
        ASSERT_TRUE(cp.wait_generating(id)) << json::serialize(cp.task(id));
        EXPECT_EQ(str_of(cp.task(id), "node_id"), "node-big");
        cp.cancel(id);
    }
}

TEST(affinity, a_preferred_label_wins_while_free_and_falls_back_when_busy) {
    control_plane cp(
        with_rules("[[affinity]]\npriority = \"interactive\"\nlabel = \"fast\"\n"
                   "weight = 1.0\n"));
    node_process fast("node-fast", labelled("p", models().alpha, 2, "\"fast\""), cp.base());
    node_process plain("node-plain", pool_toml("p", models().alpha, 1), cp.base());
    ASSERT_EQ(cp.wait_cluster({"node-fast", "node-plain"}), "");

    // Half of the fast node busy: by free capacity alone the plain node (all free) would win.
    auto pinned_id = cp.submit_id(long_task("alpha", pinned("node-fast/p")));
    stream_reader r0(cp, pinned_id);
    ASSERT_TRUE(cp.wait_generating(pinned_id));

    auto preferred = cp.submit_id(long_task());
    stream_reader r1(cp, preferred);
    ASSERT_TRUE(cp.wait_generating(preferred));
    EXPECT_EQ(str_of(cp.task(preferred), "node_id"), "node-fast");

    // The fast node is full now: the next task runs on the plain one instead of waiting.
    auto fallback = cp.submit_id(long_task());
    stream_reader r2(cp, fallback);
    ASSERT_TRUE(cp.wait_generating(fallback)) << json::serialize(cp.task(fallback));
    EXPECT_EQ(str_of(cp.task(fallback), "node_id"), "node-plain");
}

TEST(affinity, a_task_type_resolves_to_its_model_for_tasks_and_job_steps) {
    control_plane cp(with_rules("[task_types]\nplanning = \"alpha\"\ncoding = \"beta\"\n"));
    node_process a("node-a", pool_toml("p", models().alpha, 2), cp.base());
    node_process b("node-b", pool_toml("p", models().beta, 2), cp.base());
    ASSERT_EQ(cp.wait_cluster({"node-a", "node-b"}), "");

    const std::string prompt =
        R"("prompt":"Once upon a time","max_tokens":4,"temperature":0,"ignore_eos":true)";
    for (auto [type, node] : {std::pair{"coding", "node-b"}, std::pair{"planning", "node-a"}}) {
        auto r = cp.run_task(std::string(R"({"task_type":")") + type + "\"," + prompt + "}");
        ASSERT_TRUE(completed(r)) << type;
        EXPECT_EQ(node_of(r), node) << type;
    }

    auto unknown = cp.submit(R"({"task_type":"testing",)" + prompt + "}");
    EXPECT_EQ(unknown.status, 400) << unknown.body;
    EXPECT_EQ(str_of(object_of(unknown.body), "code"), "INVALID_PARAMS") << unknown.body;
    EXPECT_NE(str_of(object_of(unknown.body), "message").find("coding, planning"),
              std::string::npos)
        << unknown.body;
    auto both = cp.submit(R"({"task_type":"coding","model":"alpha",)" + prompt + "}");
    EXPECT_EQ(both.status, 400) << both.body;
    EXPECT_EQ(str_of(object_of(both.body), "code"), "INVALID_PARAMS") << both.body;

    // A job step names a type; the defaults' model does not clash with it.
    auto job = cp.call("POST", "/v2/jobs",
                       R"({"job_id":"typed","defaults":{"model":"alpha",)" + prompt +
                           R"(},"tasks":[{"id":"plan"},{"id":"code","depends_on":["plan"],)"
                           R"("task_type":"coding"}]})");
    ASSERT_EQ(job.status, 202) << job.body;
    json::object j;
    ASSERT_TRUE(wait_until(
        [&] {
            auto r = cp.call("GET", "/v2/jobs/typed");
            j = r.status == 200 ? object_of(r.body) : json::object{};
            return str_of(j, "state") == "completed" || str_of(j, "state") == "failed";
        },
        60s))
        << json::serialize(j);
    ASSERT_EQ(str_of(j, "state"), "completed") << json::serialize(j);
    for (const auto& t : j.at("tasks").as_array()) {
        const auto& o = t.as_object();
        EXPECT_EQ(str_of(o, "node_id"), str_of(o, "id") == "code" ? "node-b" : "node-a")
            << json::serialize(o);
    }

    auto bad_job = cp.call("POST", "/v2/jobs",
                           R"({"tasks":[{"id":"x","task_type":"testing",)" + prompt + "}]}");
    EXPECT_EQ(bad_job.status, 400) << bad_job.body;
    EXPECT_NE(str_of(object_of(bad_job.body), "message").find("tasks.x: task_type"),
              std::string::npos)
        << bad_job.body;
}

}  // namespace
}  // namespace llorch::test
