#include "loadgen/run_report.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "loadgen/poisson_arrivals.h"

namespace llorch::bench {

namespace {
request_record ok_record(double start, double end, int tokens, double ttft, std::string pool = "") {
    request_record r;
    r.start_s = start;
    r.end_s = end;
    r.ok = true;
    r.tokens = tokens;
    r.token_events = tokens;
    r.ttft_ms = ttft;
    r.e2e_ms = (end - start) * 1000;
    r.pool_id = std::move(pool);
    return r;
}
}  // namespace

TEST(run_report, rates_are_over_the_window_after_warmup) {
    run_settings st;
    st.max_tokens = 10;
    st.warmup_s = 1;
    std::vector<request_record> recs{ok_record(0.5, 1.5, 10, 5),  // warm-up: left out
                                     ok_record(1.0, 2.0, 10, 7, "a"),
                                     ok_record(1.5, 3.0, 10, 9, "b")};
    request_record failed;
    failed.start_s = 2;
    failed.end_s = 2.5;
    failed.error = "http_503";
    recs.push_back(failed);
    auto s = summarize_run(st, recs, {{0.5, 100.0}, {1.0, 2.0}, {1.5, 4.0}}, 3.2, 0, 3);
    EXPECT_EQ(s.requests_ok, 2u);
    EXPECT_EQ(s.requests_failed, 1u);
    EXPECT_EQ(s.errors.at("http_503"), 1u);
    EXPECT_DOUBLE_EQ(s.window_s, 2.0);
    EXPECT_DOUBLE_EQ(s.tokens_per_s, 10.0);
    EXPECT_DOUBLE_EQ(s.requests_per_s, 1.0);
    EXPECT_EQ(s.itl_ms.count, 2u);
    EXPECT_DOUBLE_EQ(s.itl_ms.max, 4.0);
    EXPECT_DOUBLE_EQ(s.ttft_ms.p50, 7);
    EXPECT_EQ(s.pools.at("a"), 1u);
    EXPECT_EQ(s.tokens_all, 30u);
}

TEST(run_report, short_requests_are_counted_apart) {
    run_settings st;
    st.max_tokens = 10;
    auto s = summarize_run(st, {ok_record(0, 1, 9, 1)}, {}, 1, 0, 1);
    EXPECT_EQ(s.requests_ok, 1u);
    EXPECT_EQ(s.requests_short, 1u);
}

TEST(run_report, json_and_markdown_carry_the_figures) {
    run_settings st;
    st.label = "direct";
    st.mode = "closed";
    st.concurrency = 4;
    st.max_tokens = 10;
    auto s = summarize_run(st, {ok_record(0, 1, 10, 3)}, {}, 1, 0, 1);
    auto j = boost::json::parse(to_json(s)).as_object();
    EXPECT_EQ(j.at("label").as_string(), "direct");
    EXPECT_DOUBLE_EQ(j.at("ttft_ms").at("p50").as_double(), 3.0);
    EXPECT_EQ(j.at("requests_ok").to_number<uint64_t>(), 1u);
    auto row = markdown_row(s);
    EXPECT_EQ(row.rfind("| direct | 4 streams | 1 | 0 |", 0), 0u) << row;
    EXPECT_NE(markdown_header().find("TTFT p99"), std::string::npos);
}

TEST(poisson_arrivals, mean_gap_is_one_over_the_rate_and_seeded) {
    poisson_arrivals a(100, 42), b(100, 42);
    double sum = 0;
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
        double g = a.next_gap_s();
        ASSERT_GE(g, 0);
        sum += g;
        ASSERT_DOUBLE_EQ(g, b.next_gap_s());
    }
    EXPECT_NEAR(sum / n, 0.01, 0.0005);
}

}  // namespace llorch::bench
