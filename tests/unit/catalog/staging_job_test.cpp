#include "catalog/staging_job.h"

#include <gtest/gtest.h>

namespace llorch::catalog {
namespace {
using namespace std::chrono_literals;
using clock_t_ = staging_job::clock;

staging_job job(clock_t_::time_point t0) {
    return staging_job("j1", staging_request{"http://h/tiny.gguf", "tiny", "", ""},
                       *parse_model_name("tiny"), t0);
}

TEST(staging_job, reports_rate_and_eta_over_its_own_transfer) {
    auto t0 = clock_t_::time_point{} + 100s;
    auto j = job(t0);
    EXPECT_EQ(j.state(), job_state::queued);
    EXPECT_EQ(j.rate(t0), 0);
    // 400 bytes were already on disk from an earlier attempt: they do not count for the rate.
    j.start(400, t0);
    EXPECT_EQ(j.bytes(), 400u);
    j.progress(1400, 2400, t0 + 2s);
    EXPECT_DOUBLE_EQ(j.rate(t0 + 2s), 500.0);  // 1000 bytes in 2 s
    ASSERT_TRUE(j.eta(t0 + 2s));
    EXPECT_EQ(j.eta(t0 + 2s)->count(), 2000);  // 1000 left at 500 B/s
}

TEST(staging_job, a_resume_keeps_the_bytes_moved_and_counts_the_resume) {
    auto t0 = clock_t_::time_point{} + 100s;
    auto j = job(t0);
    j.start(0, t0);
    j.progress(1000, 4000, t0 + 1s);
    j.restart_at(1000);  // the connection broke; the next one resumes at 1000
    EXPECT_EQ(j.resumes(), 1);
    j.progress(3000, std::nullopt, t0 + 3s);
    EXPECT_DOUBLE_EQ(j.rate(t0 + 3s), 1000.0);
    EXPECT_EQ(*j.total(), 4000u);
    j.restart_at(0);  // the source ignored the range: from the start, not a resume
    EXPECT_EQ(j.resumes(), 1);
    EXPECT_EQ(j.bytes(), 0u);
}

TEST(staging_job, ends_done_with_its_entry_or_failed_with_its_error) {
    auto t0 = clock_t_::time_point{} + 100s;
    auto j = job(t0);
    j.start(0, t0);
    auto r0 = j.revision();
    catalog_entry e;
    e.name = j.name();
    e.size_bytes = 10;
    j.finish(e, t0 + 1s);
    EXPECT_GT(j.revision(), r0);
    EXPECT_TRUE(j.finished());
    EXPECT_EQ(j.state(), job_state::done);
    EXPECT_EQ(j.eta(t0 + 1s)->count(), 0);
    auto f = job(t0);
    f.start(0, t0);
    f.fail({catalog_errc::checksum_mismatch, "sha256 differs"}, t0 + 1s);
    EXPECT_EQ(f.state(), job_state::failed);
    ASSERT_TRUE(f.error());
    EXPECT_EQ(f.error()->code, catalog_errc::checksum_mismatch);
    EXPECT_EQ(to_string(f.state()), "failed");
}

}  // namespace
}  // namespace llorch::catalog
