#include "pool/catalog_json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "pool/catalog_routes.h"
#include "pool/node_report.h"

namespace llorch::pool {
namespace {
namespace json = boost::json;

catalog::catalog_entry entry(const std::string& name, const std::string& path) {
    catalog::catalog_entry e;
    e.name = *catalog::parse_model_name(name);
    e.path = path;
    e.size_bytes = 1234;
    e.mtime_ns = 1'700'000'000'123'456'789;
    e.sha256 = std::string(64, 'c');
    e.summary.architecture = "llama";
    e.summary.parameter_count = 7'000'000'000;
    e.summary.quantization = "Q4_K_M";
    e.summary.file_type = 15;
    e.summary.context_length = 8192;
    e.summary.block_count = 32;
    e.summary.head_count = 32;
    e.summary.head_count_kv = 8;
    e.summary.embedding_length = 4096;
    e.summary.chat_template = true;
    e.source = "https://example.org/m.gguf";
    return e;
}

json::value wire(const json::value& v) { return json::parse(json::serialize(v)); }

TEST(catalog_json, an_entry_round_trips) {
    auto e = entry("llama:q4", "/models/llama:q4.gguf");
    auto back = catalog_entry_from_json(wire(to_json(e)));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(json::serialize(to_json(*back)), json::serialize(to_json(e)));
    EXPECT_EQ(back->name.full(), "llama:q4");
    EXPECT_EQ(back->summary.head_count_kv, 8u);
}

TEST(catalog_json, a_malformed_entry_is_refused_by_field) {
    auto o = to_json(entry("m", "/m.gguf"));
    o["tag"] = "../x";
    EXPECT_FALSE(catalog_entry_from_json(o));
    o = to_json(entry("m", "/m.gguf"));
    o["sha256"] = "nothex";
    auto bad = catalog_entry_from_json(o);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("sha256"), std::string::npos);
    EXPECT_FALSE(catalog_entries_from_json(json::value(42)));
}

TEST(catalog_json, a_heartbeat_carries_the_catalog_only_when_given) {
    node_heartbeat_body b;
    b.catalog_version = 7;
    auto without = parse_heartbeat(wire(to_json(b)).as_object());
    ASSERT_TRUE(without);
    EXPECT_EQ(without->catalog_version, 7u);
    EXPECT_FALSE(without->catalog);
    b.catalog = std::vector{entry("a", "/m/a.gguf"), entry("b", "/m/b.gguf")};
    auto with = parse_heartbeat(wire(to_json(b)).as_object());
    ASSERT_TRUE(with);
    ASSERT_TRUE(with->catalog);
    ASSERT_EQ(with->catalog->size(), 2u);
    EXPECT_EQ((*with->catalog)[1].path, "/m/b.gguf");
    node_registration_body r;
    r.node_id = "n";
    r.address = "http://n:9200";
    r.catalog_version = 1;
    r.catalog = std::vector{entry("a", "/m/a.gguf")};
    auto reg = parse_registration(wire(to_json(r)).as_object());
    ASSERT_TRUE(reg);
    ASSERT_TRUE(reg->catalog);
    EXPECT_EQ(reg->catalog->front().sha256, std::string(64, 'c'));
    auto o = to_json(b);
    o["catalog"] = json::array{json::object{{"model", "x"}}};  // no path
    EXPECT_FALSE(parse_heartbeat(wire(o).as_object()));
}

TEST(catalog_json, the_listing_merges_pools_and_files_by_model_name) {
    pool_view served;
    served.pool.id = "p";
    served.pool.name = "tiny";
    served.pool.model = "/m/tiny.gguf";
    served.pool.engine = "llamacpp";
    served.models = {"tiny"};
    std::vector<node_files> files{
        {"node-a", {entry("tiny", "/m/tiny.gguf"), entry("other:v2", "/m/other:v2.gguf")}},
        {"node-b", {entry("other:v2", "/x/other:v2.gguf")}}};
    auto out = catalog_json({served}, false, files).at("models").as_array();
    ASSERT_EQ(out.size(), 2u);
    const auto& other = out[0].as_object();
    EXPECT_EQ(other.at("name").as_string(), "other:v2");
    EXPECT_EQ(other.at("tag").as_string(), "v2");
    EXPECT_EQ(json::serialize(other.at("pools")), "[]");
    ASSERT_EQ(other.at("files").as_array().size(), 2u);
    EXPECT_EQ(other.at("files").as_array()[1].at("node_id").as_string(), "node-b");
    const auto& tiny = out[1].as_object();
    EXPECT_EQ(json::serialize(tiny.at("pools")), R"(["p"])");
    EXPECT_EQ(tiny.at("engine").as_string(), "llamacpp");
    EXPECT_EQ(tiny.at("metadata").at("quantization").as_string(), "Q4_K_M");
    EXPECT_EQ(tiny.at("sha256").as_string(), std::string(64, 'c'));
}

TEST(catalog_json, a_job_shows_progress_and_its_error_by_name) {
    using clock = std::chrono::steady_clock;
    auto t0 = clock::time_point{} + std::chrono::seconds(10);
    catalog::staging_job j("id-1", {"http://h/m.gguf", "m", "", ""},
                           *catalog::parse_model_name("m"), t0);
    j.start(0, t0);
    j.progress(500, 1000, t0 + std::chrono::seconds(1));
    auto o = to_json(j, "node-a", t0 + std::chrono::seconds(1));
    EXPECT_EQ(o.at("state").as_string(), "running");
    EXPECT_EQ(o.at("bytes").as_uint64(), 500u);
    EXPECT_EQ(o.at("total").as_uint64(), 1000u);
    EXPECT_EQ(o.at("rate_bytes_per_s").as_uint64(), 500u);
    EXPECT_EQ(o.at("eta_ms").as_int64(), 1000);
    EXPECT_TRUE(o.at("error").is_null());
    j.fail({catalog::catalog_errc::checksum_mismatch, "differs"}, t0 + std::chrono::seconds(2));
    auto f = to_json(j, "node-a", t0 + std::chrono::seconds(2));
    EXPECT_EQ(f.at("error").at("code").as_string(), "CHECKSUM_MISMATCH");
    EXPECT_EQ(to_api_error({catalog::catalog_errc::not_found, "x"}).code,
              api::error_code::not_found);
    EXPECT_EQ(to_api_error({catalog::catalog_errc::duplicate, "x"}).code,
              api::error_code::conflict);
}

}  // namespace
}  // namespace llorch::pool
