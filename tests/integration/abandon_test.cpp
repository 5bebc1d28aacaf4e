// Abandoned requests: a client of the OpenAI- or Ollama-compatible API that leaves — while its
// request waits in the queue, runs without a stream, or streams — takes its task with it at once,
// and the engine's slot goes to the next request. Real orchestratord (HOME profile), real
// llama-server on the tiny model. The daemon's disconnect grace is long (10 s), so a test that
// passes shows the compatible API cancelling at once, not the task API's grace running out.
#include <gtest/gtest.h>
#include <poll.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "orchestratord_fixture.h"

namespace llorch::test {
namespace {
using tcp = asio::ip::tcp;

// One request over a raw socket, and a client that can then leave without a word.
class raw_client {
  public:
    raw_client(uint16_t port, const std::string& path, const std::string& body) : sock_(io_) {
        sock_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
        std::string req = "POST " + path +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                          "Content-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
        asio::write(sock_, asio::buffer(req));
    }
    // Reads until `needle` has arrived; false when `deadline` passes first or the peer closes.
    bool read_until(const std::string& needle, std::chrono::milliseconds deadline) {
        auto end = steady::now() + deadline;
        while (received_.find(needle) == std::string::npos) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - steady::now());
            if (left.count() <= 0) return false;
            pollfd p{sock_.native_handle(), POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            char buf[4096];
            boost::system::error_code ec;
            auto n = sock_.read_some(asio::buffer(buf), ec);
            if (ec) return false;
            received_.append(buf, n);
        }
        return true;
    }
    const std::string& received() const { return received_; }
    // Leaves with a reset (SO_LINGER 0), as a killed or timed-out client does.
    void reset() {
        boost::system::error_code ec;
        sock_.set_option(asio::socket_base::linger(true, 0), ec);
        sock_.close(ec);
    }
    // Leaves with an orderly close (FIN), as a client that gives up politely does.
    void close() {
        boost::system::error_code ec;
        sock_.close(ec);
    }

  private:
    asio::io_context io_;
    tcp::socket sock_;
    std::string received_;
};

std::string chat_body(int max_tokens, bool stream) {
    return R"({"model":"solo","messages":[{"role":"user","content":"Once upon a time"}],)"
           R"("max_tokens":)" +
           std::to_string(max_tokens) + R"(,"temperature":0,"ignore_eos":true,"stream":)" +
           (stream ? "true" : "false") + "}";
}

class abandon : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        try {
            engine_or_skip();
            d_ = std::make_unique<orchestratord_process>(
                "abandon", pool_toml("solo", 1, 4096, "name = \"solo\""),
                std::vector<std::string>{"--disconnect-grace-ms", "10000"});
            setup_error_ = d_->wait_ready();
        } catch (const std::exception& e) {
            setup_error_ = e.what();
        }
    }
    static void TearDownTestSuite() { d_.reset(); }
    void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }
    void TearDown() override {
        if (!setup_error_.empty()) return;
        EXPECT_TRUE(wait_until([] { return d_->slots_free("solo") == 1; }, 30s))
            << "a test left the slot busy";
    }
    static double metric(const char* series) { return metric_value(d_->metrics(), series); }
    // Waits until tasks_canceled_total reaches `want`; the time it took, or -1.
    static long long wait_canceled(double want, steady::time_point since,
                                   std::chrono::milliseconds deadline = 3s) {
        if (!wait_until([&] { return metric("tasks_canceled_total") >= want; }, deadline))
            return -1;
        return ms_since(since);
    }
    // Milliseconds from `since` to the first token of a short task submitted now.
    static long long next_task_first_token_ms(steady::time_point since) {
        auto id = d_->submit_id(task_body("solo", 8));
        if (id.empty()) return -1;
        long long at = -1;
        d_->events(id, [&](const http::sse_event& e) {
            if (e.event == "token" && at < 0) at = ms_since(since);
            return true;
        });
        return at;
    }
    static inline std::unique_ptr<orchestratord_process> d_;
    static inline std::string setup_error_;
};

TEST_F(abandon, a_queued_openai_stream_whose_client_resets_leaves_the_queue_at_once) {
    auto blocker = d_->submit_id(task_body("solo", 3000));
    ASSERT_FALSE(blocker.empty());
    cancel_on_exit guard{*d_, {blocker}};
    ASSERT_TRUE(d_->wait_generating(blocker));
    auto canceled = metric("tasks_canceled_total");

    raw_client c(d_->port(), "/v1/chat/completions", chat_body(64, true));
    ASSERT_TRUE(wait_until([] { return metric("queue_depth") == 1; }, 10s));
    auto gone = steady::now();
    c.reset();

    auto ms = wait_canceled(canceled + 1, gone);
    std::cout << "[ measure  ] queued OpenAI stream: client reset -> cancelled " << ms << " ms\n";
    RecordProperty("reset_to_cancelled_ms", std::to_string(ms));
    ASSERT_GE(ms, 0) << "the abandoned request is still queued (target 100 ms)";
    EXPECT_TRUE(wait_until([] { return metric("queue_depth") == 0; }, 2s));
    EXPECT_EQ(d_->state(blocker), "running") << "the running task was not the client's to cancel";
}

TEST_F(abandon, a_running_openai_request_without_a_stream_stops_when_its_client_resets) {
    auto canceled = metric("tasks_canceled_total");
    auto completed = metric("tasks_completed_total");
    raw_client c(d_->port(), "/v1/chat/completions", chat_body(3000, false));
    ASSERT_TRUE(wait_until([] { return metric("tasks_running") == 1; }, 30s));
    auto gone = steady::now();
    c.reset();

    auto ms = wait_canceled(canceled + 1, gone);
    auto next_ms = next_task_first_token_ms(gone);
    std::cout << "[ measure  ] running OpenAI request without a stream: client reset -> cancelled "
              << ms << " ms, next task's first token " << next_ms << " ms\n";
    RecordProperty("reset_to_cancelled_ms", std::to_string(ms));
    RecordProperty("reset_to_next_first_token_ms", std::to_string(next_ms));
    ASSERT_GE(ms, 0) << "the generation ran on for nobody";
    EXPECT_EQ(metric("tasks_completed_total"), completed + 1) << "only the next task completed";
    EXPECT_GE(next_ms, 0);
    EXPECT_LT(next_ms, 5000) << "the engine kept the slot (target 100 ms)";
}

TEST_F(abandon, a_running_ollama_stream_stops_when_its_client_closes) {
    auto canceled = metric("tasks_canceled_total");
    raw_client c(d_->port(), "/api/chat",
                 R"({"model":"solo","messages":[{"role":"user","content":"Once upon a time"}],)"
                 R"("options":{"num_predict":3000,"temperature":0},"ignore_eos":true})");
    ASSERT_TRUE(c.read_until("\"done\":false", 30s)) << c.received();
    auto gone = steady::now();
    c.close();

    auto ms = wait_canceled(canceled + 1, gone);
    auto next_ms = next_task_first_token_ms(gone);
    std::cout << "[ measure  ] running Ollama stream: client close -> cancelled " << ms
              << " ms, next task's first token " << next_ms << " ms\n";
    RecordProperty("close_to_cancelled_ms", std::to_string(ms));
    ASSERT_GE(ms, 0) << "the stream's task waited for the task API's grace (10 s) or ran on";
    EXPECT_GE(next_ms, 0);
    EXPECT_LT(next_ms, 5000);
}

TEST_F(abandon, a_client_that_stays_gets_its_whole_answer) {
    auto r = http_call("POST", d_->url("/v1/chat/completions"), chat_body(32, false),
                       {{"Content-Type", "application/json"}}, 60s);
    ASSERT_EQ(r.status, 200) << r.body;
    auto o = object_of(r.body);
    auto* usage = o.if_contains("usage");
    ASSERT_TRUE(usage && usage->is_object()) << r.body;
    EXPECT_EQ(int_of(usage->as_object(), "completion_tokens"), 32);
}

}  // namespace
}  // namespace llorch::test
