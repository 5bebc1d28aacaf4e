// handoff_watcher: files in the runtime dir reported once each (inotify or a periodic scan),
// changes and removals, stop and restart, and the names it accepts.
#include <gtest/gtest.h>

#include "handoff_test_support.h"

namespace llorch::pool {
namespace {

// ---------------------------------------------------------------------------------------------
// Watcher

// Records what the watcher reports and drives the io_context until a condition holds.
struct watch_log {
    std::vector<std::string> changes;  // file names, in order
    std::vector<std::string> removals;

    int changes_of(const std::string& name) const {
        return static_cast<int>(std::count(changes.begin(), changes.end(), name));
    }
    int removals_of(const std::string& name) const {
        return static_cast<int>(std::count(removals.begin(), removals.end(), name));
    }
};

bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds limit = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        if (io.stopped()) io.restart();
        io.run_one_for(20ms);
    }
    return true;
}

// Runs the loop for a while, to see that nothing more arrives.
void run_for(boost::asio::io_context& io, std::chrono::milliseconds d) {
    if (io.stopped()) io.restart();
    io.run_for(d);
}

struct watch_mode {
    const char* name;
    bool use_inotify;
    std::chrono::milliseconds interval;
};

void PrintTo(const watch_mode& m, std::ostream* os) { *os << m.name; }

// inotify_only: scans so rare that only inotify (and the initial scan) can see a change.
// polling: inotify disabled, as where the kernel has none. both: inotify plus safety scans.
const watch_mode inotify_only{"inotify_only", true, std::chrono::hours(1)};
const watch_mode polling{"polling", false, 30ms};
const watch_mode both{"inotify_and_scans", true, 30ms};

class handoff_watcher_test : public testing::TestWithParam<watch_mode> {
  protected:
    std::unique_ptr<handoff_watcher> make_watcher() {
        return std::make_unique<handoff_watcher>(
            io_,
            handoff_watcher::options{.dir = dir_.path(),
                                     .watch_interval = GetParam().interval,
                                     .use_inotify = GetParam().use_inotify},
            [this](const fs::path& p) { log_.changes.push_back(p.filename().string()); },
            [this](const fs::path& p) { log_.removals.push_back(p.filename().string()); });
    }
    // Long enough for a scan to run when there are scans, and for inotify to deliver.
    std::chrono::milliseconds settle() const {
        return std::min<std::chrono::milliseconds>(GetParam().interval * 4, 200ms);
    }

    temp_dir dir_;
    boost::asio::io_context io_;
    watch_log log_;
};

TEST_P(handoff_watcher_test, uses_inotify_only_when_allowed) {
    auto w = make_watcher();
    ASSERT_TRUE(w->start());
    if (!GetParam().use_inotify) {
        EXPECT_FALSE(w->using_inotify());
    } else {
        // Linux CI has inotify; a kernel without it would fall back to polling.
        EXPECT_TRUE(w->using_inotify());
    }
}

TEST_P(handoff_watcher_test, reports_files_present_at_start) {
    ASSERT_TRUE(write_handoff_atomic(dir_.path(), minimal_handoff("a")));
    ASSERT_TRUE(write_handoff_atomic(dir_.path(), minimal_handoff("b")));
    auto w = make_watcher();
    ASSERT_TRUE(w->start());
    EXPECT_TRUE(log_.changes.empty()) << "callbacks run on the io thread, not inside start()";
    ASSERT_TRUE(run_until(io_, [&] { return log_.changes.size() == 2; }));
    EXPECT_EQ(log_.changes, (std::vector<std::string>{"a.json", "b.json"}));
    run_for(io_, settle());
    EXPECT_EQ(log_.changes.size(), 2u);
}

TEST_P(handoff_watcher_test, reports_a_new_file_once) {
    auto w = make_watcher();
    ASSERT_TRUE(w->start());
    run_for(io_, 20ms);
    ASSERT_TRUE(write_handoff_atomic(dir_.path(), minimal_handoff("new")));
    ASSERT_TRUE(run_until(io_, [&] { return log_.changes_of("new.json") == 1; }));
    run_for(io_, settle());
    EXPECT_EQ(log_.changes_of("new.json"), 1);
    EXPECT_TRUE(log_.removals.empty());
}

TEST_P(handoff_watcher_test, reports_a_file_written_in_place) {
    auto w = make_watcher();
    ASSERT_TRUE(w->start());
    run_for(io_, 20ms);
    write_text(dir_.path() / "outside.json", to_json(minimal_handoff("outside")));
    ASSERT_TRUE(run_until(io_, [&] { return log_.changes_of("outside.json") >= 1; }));
    run_for(io_, settle());
    // inotify reports the closed file once; a scan may also catch it empty, between open and
    // write, and then report the full file as a second change.
    EXPECT_LE(log_.changes_of("outside.json"), GetParam().interval > 1min ? 1 : 2);
    const auto last = read_handoff_file(dir_.path() / "outside.json");
    EXPECT_TRUE(last) << last.error().message;
}

TEST_P(handoff_watcher_test, reports_a_changed_file) {
    ASSERT_TRUE(write_handoff_atomic(dir_.path(), minimal_handoff("c")));
    auto w = make_watcher();
    ASSERT_TRUE(w->start());
    ASSERT_TRUE(run_until(io_, [&] { return log_.changes_of("c.json") == 1; }));
    handoff changed = minimal_handoff("c");
    changed.slots = 7;
    ASSERT_TRUE(write_handoff_atomic(dir_.path(), changed));
    ASSERT_TRUE(run_until(io_, [&] { return log_.changes_of("c.json") == 2; }));
    run_for(io_, settle());
    EXPECT_EQ(log_.changes_of("c.json"), 2);
    EXPECT_TRUE(log_.removals.empty());
}

TEST_P(handoff_watcher_test, reports_a_removed_file) {
    ASSERT_TRUE(write_handoff_atomic(dir_.path(), minimal_handoff("r")));
    auto w = make_watcher();
    ASSERT_TRUE(w->start());
    ASSERT_TRUE(run_until(io_, [&] { return log_.changes_of("r.json") == 1; }));
    ASSERT_TRUE(remove_handoff(dir_.path(), "r"));
    ASSERT_TRUE(run_until(io_, [&] { return log_.removals_of("r.json") == 1; }));
    run_for(io_, settle());
    EXPECT_EQ(log_.removals_of("r.json"), 1);
    EXPECT_EQ(log_.changes_of("r.json"), 1);
}

TEST_P(handoff_watcher_test, reports_a_file_renamed_away_as_removed) {
    ASSERT_TRUE(write_handoff_atomic(dir_.path(), minimal_handoff("m")));
    auto w = make_watcher();
    ASSERT_TRUE(w->start());
    ASSERT_TRUE(run_until(io_, [&] { return log_.changes_of("m.json") == 1; }));
    fs::rename(dir_.path() / "m.json", dir_.path() / "m.json.done");
    ASSERT_TRUE(run_until(io_, [&] { return log_.removals_of("m.json") == 1; }));
    run_for(io_, settle());
    EXPECT_EQ(log_.changes_of("m.json.done"), 0);
}

TEST_P(handoff_watcher_test, ignores_temporary_and_other_files) {
    auto w = make_watcher();
    ASSERT_TRUE(w->start());
    run_for(io_, 20ms);
    const std::string text = to_json(minimal_handoff("x"));
    write_text(dir_.path() / ".x.json", text);
    write_text(dir_.path() / "x.json.tmp", text);
    write_text(dir_.path() / "x.tmp", text);
    write_text(dir_.path() / "notes.txt", text);
    write_text(dir_.path() / ".json", text);
    fs::create_directories(dir_.path() / "dir.json");
    // Written last: once it is seen, the files before it have had their chance.
    ASSERT_TRUE(write_handoff_atomic(dir_.path(), minimal_handoff("x")));
    ASSERT_TRUE(run_until(io_, [&] { return log_.changes_of("x.json") == 1; }));
    run_for(io_, settle());
    EXPECT_EQ(log_.changes, std::vector<std::string>{"x.json"});
    fs::remove(dir_.path() / ".x.json");
    fs::remove(dir_.path() / "x.json.tmp");
    run_for(io_, settle());
    EXPECT_TRUE(log_.removals.empty());
}

TEST_P(handoff_watcher_test, nothing_fires_after_stop) {
    auto w = make_watcher();
    ASSERT_TRUE(w->start());
    ASSERT_TRUE(write_handoff_atomic(dir_.path(), minimal_handoff("late")));
    // The initial scan is queued, inotify may have an event ready: all must be dropped.
    w->stop();
    EXPECT_FALSE(w->running());
    run_for(io_, settle());
    ASSERT_TRUE(remove_handoff(dir_.path(), "late"));
    run_for(io_, settle());
    EXPECT_TRUE(log_.changes.empty());
    EXPECT_TRUE(log_.removals.empty());
}

TEST_P(handoff_watcher_test, stop_from_a_callback_ends_reporting_at_once) {
    for (const char* id : {"a", "b", "c"}) {
        ASSERT_TRUE(write_handoff_atomic(dir_.path(), minimal_handoff(id)));
    }
    std::unique_ptr<handoff_watcher> w;
    int calls = 0;
    w = std::make_unique<handoff_watcher>(
        io_,
        handoff_watcher::options{.dir = dir_.path(),
                                 .watch_interval = GetParam().interval,
                                 .use_inotify = GetParam().use_inotify},
        [&](const fs::path&) {
            ++calls;
            w->stop();
        },
        [&](const fs::path&) { ++calls; });
    ASSERT_TRUE(w->start());
    ASSERT_TRUE(run_until(io_, [&] { return calls >= 1; }));
    run_for(io_, settle());
    EXPECT_EQ(calls, 1);
}

TEST_P(handoff_watcher_test, destroyed_watcher_leaves_queued_handlers_harmless) {
    auto w = make_watcher();
    ASSERT_TRUE(w->start());
    ASSERT_TRUE(write_handoff_atomic(dir_.path(), minimal_handoff("d")));
    w.reset();
    run_for(io_, settle());
    EXPECT_TRUE(log_.changes.empty());
}

TEST_P(handoff_watcher_test, restart_reports_existing_files_again) {
    ASSERT_TRUE(write_handoff_atomic(dir_.path(), minimal_handoff("s")));
    auto w = make_watcher();
    ASSERT_TRUE(w->start());
    ASSERT_TRUE(run_until(io_, [&] { return log_.changes_of("s.json") == 1; }));
    w->stop();
    ASSERT_TRUE(w->start());
    ASSERT_TRUE(run_until(io_, [&] { return log_.changes_of("s.json") == 2; }));
    ASSERT_TRUE(write_handoff_atomic(dir_.path(), minimal_handoff("t")));
    ASSERT_TRUE(run_until(io_, [&] { return log_.changes_of("t.json") == 1; }));
}

TEST_P(handoff_watcher_test, start_fails_on_a_missing_directory) {
    handoff_watcher w(
        io_, {.dir = dir_.path() / "absent", .watch_interval = 30ms, .use_inotify = true},
        [](const fs::path&) {}, [](const fs::path&) {});
    const auto started = w.start();
    ASSERT_FALSE(started);
    EXPECT_NE(started.error().message.find("absent"), std::string::npos) << started.error().message;
    EXPECT_FALSE(w.running());
}

INSTANTIATE_TEST_SUITE_P(modes, handoff_watcher_test, testing::Values(inotify_only, polling, both),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(handoff_watcher_scan, reports_files_when_the_directory_is_removed_and_recreated) {
    temp_dir dir;
    const auto sub = dir.path() / "runtime";
    fs::create_directories(sub);
    ASSERT_TRUE(write_handoff_atomic(sub, minimal_handoff("v")));
    boost::asio::io_context io;
    watch_log log;
    handoff_watcher w(
        io, {.dir = sub, .watch_interval = 30ms, .use_inotify = true},
        [&](const fs::path& p) { log.changes.push_back(p.filename().string()); },
        [&](const fs::path& p) { log.removals.push_back(p.filename().string()); });
    ASSERT_TRUE(w.start());
    ASSERT_TRUE(run_until(io, [&] { return log.changes_of("v.json") == 1; }));
    fs::remove_all(sub);
    ASSERT_TRUE(run_until(io, [&] { return log.removals_of("v.json") == 1; }));
    // The inotify watch died with the directory; scans carry on and a new watch follows.
    fs::create_directories(sub);
    ASSERT_TRUE(write_handoff_atomic(sub, minimal_handoff("w")));
    ASSERT_TRUE(run_until(io, [&] { return log.changes_of("w.json") == 1; }));
    ASSERT_TRUE(run_until(io, [&] { return w.using_inotify(); }));
}

TEST(handoff_watcher_names, accepts_only_visible_json_files) {
    EXPECT_TRUE(handoff_watcher::is_handoff_name("pool.json"));
    EXPECT_TRUE(handoff_watcher::is_handoff_name("a.b.json"));
    EXPECT_FALSE(handoff_watcher::is_handoff_name(".pool.json"));
    EXPECT_FALSE(handoff_watcher::is_handoff_name(".pool.json.1.2.tmp"));
    EXPECT_FALSE(handoff_watcher::is_handoff_name("pool.json.tmp"));
    EXPECT_FALSE(handoff_watcher::is_handoff_name("pool.tmp"));
    EXPECT_FALSE(handoff_watcher::is_handoff_name(".json"));
    EXPECT_FALSE(handoff_watcher::is_handoff_name("pool.jsonx"));
    EXPECT_FALSE(handoff_watcher::is_handoff_name(""));
}

}  // namespace
}  // namespace llorch::pool
