// The model catalog with the real daemons: pool-managerd lists the GGUF files of its pools and of
// its models folder with their sha256 and metadata (and does not rehash them after a restart),
// stages models from a local HTTP server — resuming a download the server cut half way,
// rejecting a corrupted one, which never appears — refuses to delete a model a pool serves,
// and `llorch model pull` / `list` drive it. orchestratord shows the same in HOME (its own
// files) and CLOUD (every node's, with staging forwarded to a node).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <mutex>

#include <openssl/evp.h>

#include "cloud_fixture.h"
#include "pool_managerd_fixture.h"

namespace llorch::test {
namespace {

std::string sha256_hex(const std::string& bytes) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

// A tiny HTTP/1.1 file server on a thread of its own: GET of any path answers `body`, honouring
// `Range: bytes=N-` with a 206; `cut_once_at(n)` makes the next full or partial answer stop
// after n body bytes and close the connection, as a broken network would.
class file_server {
  public:
    explicit file_server(std::string body) : body_(std::move(body)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::listen(fd_, 16);
        socklen_t n = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &n);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { loop(); });
    }
    ~file_server() {
        stop_ = true;
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        thread_.join();
    }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }
    void cut_once_at(long long n) { cut_ = n; }
    // Sends bodies in 256 KiB pieces 20 ms apart, so that a download takes a while.
    void slow_down() { slow_ = true; }
    std::vector<std::string> ranges() {
        std::lock_guard l(m_);
        return ranges_;
    }
    int requests() const { return requests_; }

  private:
    void loop() {
        while (!stop_) {
            int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) continue;
            timeval tv{5, 0};
            ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            serve(c);
            ::close(c);
        }
    }
    void send_all(int c, const char* p, size_t n) {
        while (n > 0) {
            auto w = ::send(c, p, n, MSG_NOSIGNAL);
            if (w <= 0) return;
            p += w;
            n -= static_cast<size_t>(w);
        }
    }
    void serve(int c) {
        std::string head;
        char buf[4096];
        while (head.find("\r\n\r\n") == std::string::npos) {
            auto n = ::recv(c, buf, sizeof buf, 0);
            if (n <= 0) return;
            head.append(buf, static_cast<size_t>(n));
        }
        ++requests_;
        size_t from = 0;
        bool ranged = false;
        for (const char* key : {"Range: bytes=", "range: bytes="}) {
            auto at = head.find(key);
            if (at == std::string::npos) continue;
            ranged = true;
            from = std::stoull(head.substr(at + std::strlen(key)));
            std::lock_guard l(m_);
            ranges_.push_back(head.substr(at + 7, head.find("\r\n", at) - at - 7));
        }
        std::string out;
        if (ranged && from >= body_.size()) {
            out =
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Length: 0\r\nConnection: "
                "close\r\n\r\n";
            send_all(c, out.data(), out.size());
            return;
        }
        const size_t len = body_.size() - from;
        if (ranged)
            out = "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " + std::to_string(from) +
                  "-" + std::to_string(body_.size() - 1) + "/" + std::to_string(body_.size()) +
                  "\r\n";
        else
            out = "HTTP/1.1 200 OK\r\n";
        out += "Content-Type: application/octet-stream\r\nContent-Length: " + std::to_string(len) +
               "\r\nConnection: close\r\n\r\n";
        send_all(c, out.data(), out.size());
        long long cut = cut_.exchange(-1);
        size_t n = cut >= 0 ? std::min(len, static_cast<size_t>(cut)) : len;
        for (size_t at = 0; at < n;) {
            size_t piece = slow_ ? std::min<size_t>(n - at, 256 << 10) : n - at;
            send_all(c, body_.data() + from + at, piece);
            at += piece;
            if (slow_ && !stop_) std::this_thread::sleep_for(20ms);
        }
        ::shutdown(c, SHUT_WR);
    }

    std::string body_;
    int fd_ = -1;
    uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<long long> cut_{-1};
    std::atomic<bool> slow_{false};
    std::atomic<int> requests_{0};
    std::mutex m_;
    std::vector<std::string> ranges_;
    std::thread thread_;
};

// The catalog's entry named `name`, or an empty object.
json::object model_entry(const std::string& catalog, const std::string& name) {
    auto o = object_of(catalog);
    auto* models = o.if_contains("models");
    if (!models || !models->is_array()) return {};
    for (const auto& m : models->as_array())
        if (m.is_object() && str_of(m.as_object(), "name") == name) return m.as_object();
    return {};
}

// Polls the job until it is done or failed; its last JSON.
json::object finished_job(const std::function<std::string(const std::string&)>& url,
                          const std::string& id) {
    json::object job;
    wait_until(
        [&] {
            auto r = http_call("GET", url("/v2/catalog/jobs/" + id), {}, {}, 5s);
            if (r.status != 200) return false;
            job = object_of(r.body);
            auto s = str_of(job, "state");
            return s == "done" || s == "failed";
        },
        120s);
    return job;
}

class catalog_on_a_node : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        models_ = new fs::path(temp_dir("catalog-models"));
        tiny_bytes_ = new std::string(read_file(tiny_model()));
        // A model of the folder: the tiny model under another name.
        std::ofstream(*models_ / "mini.gguf", std::ios::binary) << *tiny_bytes_;
        d_ = new daemon_process("catalog", pool_toml("p", tiny_model(), 1, 512),
                                {"--models-dir", models_->string()});
        ASSERT_TRUE(d_->wait_state("p", "ready", 90s)) << d_->log_text();
        ASSERT_TRUE(wait_until([] {
            auto r = http_call("GET", d_->url("/v2/catalog/models"), {}, {}, 5s);
            return !str_of(model_entry(r.body, "mini"), "sha256").empty();
        }));
    }
    static void TearDownTestSuite() {
        delete d_;
        delete models_;
        delete tiny_bytes_;
    }
    static std::string url(const std::string& path) { return d_->url(path); }
    static json::object stage(const std::string& body, int want = 202) {
        auto r = http_call("POST", url("/v2/catalog/models"), body, {}, 10s);
        EXPECT_EQ(r.status, want) << r.body;
        return object_of(r.body);
    }

    static inline daemon_process* d_ = nullptr;
    static inline fs::path* models_ = nullptr;
    static inline std::string* tiny_bytes_ = nullptr;
};

TEST_F(catalog_on_a_node, lists_the_models_folder_and_the_pools_files_with_their_metadata) {
    auto r = http_call("GET", url("/v2/catalog/models"));
    ASSERT_EQ(r.status, 200) << r.body;
    auto mini = model_entry(r.body, "mini");
    ASSERT_FALSE(mini.empty()) << r.body;
    EXPECT_EQ(str_of(mini, "sha256"), sha256_hex(*tiny_bytes_));
    EXPECT_EQ(int_of(mini, "size_bytes"), static_cast<long long>(tiny_bytes_->size()));
    EXPECT_EQ(str_of(mini, "tag"), "latest");
    EXPECT_EQ(json::serialize(mini.at("pools")), "[]") << "no pool serves the folder's file";
    auto md = mini.at("metadata").as_object();
    EXPECT_EQ(str_of(md, "architecture"), "llama");
    EXPECT_EQ(int_of(md, "block_count"), 2);
    EXPECT_EQ(int_of(md, "head_count"), 4);
    EXPECT_EQ(int_of(md, "head_count_kv"), 4);
    EXPECT_EQ(int_of(md, "embedding_length"), 64);
    EXPECT_EQ(int_of(md, "context_length"), 4096);
    EXPECT_GT(int_of(md, "parameter_count"), 1'000'000);
    EXPECT_EQ(str_of(md, "quantization"), "F32");
    EXPECT_TRUE(md.at("chat_template").is_bool());
    // The pool's file is in the catalog too, with the pool that serves it.
    auto tiny = model_entry(r.body, "tiny");
    EXPECT_EQ(json::serialize(tiny.at("pools")), R"(["p"])") << r.body;
    EXPECT_EQ(str_of(tiny, "sha256"), sha256_hex(*tiny_bytes_));
    auto a = http_call("GET", url("/v2/catalog/availability"));
    ASSERT_EQ(a.status, 200);
    auto files = object_of(a.body).at("files").as_object();
    ASSERT_TRUE(files.contains("mini")) << a.body;
    EXPECT_EQ(str_of(files.at("mini").as_array()[0].as_object(), "path"),
              (*models_ / "mini.gguf").string());
}

TEST_F(catalog_on_a_node, stages_over_http_and_resumes_a_download_cut_half_way) {
    file_server server(*tiny_bytes_);
    const long long half = static_cast<long long>(tiny_bytes_->size() / 2);
    server.cut_once_at(half);
    auto job = stage(R"({"source":")" + server.url("/files/tiny.gguf") +
                     R"(","name":"staged","sha256":")" + sha256_hex(*tiny_bytes_) + R"("})");
    auto id = str_of(job, "job_id");
    ASSERT_FALSE(id.empty());
    auto done = finished_job(url, id);
    ASSERT_EQ(str_of(done, "state"), "done") << json::serialize(done);
    EXPECT_GE(int_of(done, "resumes"), 1);
    EXPECT_EQ(int_of(done, "bytes"), static_cast<long long>(tiny_bytes_->size()));
    // The second request asked for the rest only: from what had arrived (at most the half the
    // server sent), not from the start.
    auto ranges = server.ranges();
    ASSERT_FALSE(ranges.empty()) << "the download started over instead of resuming";
    ASSERT_TRUE(ranges.front().starts_with("bytes=")) << ranges.front();
    auto from = std::stoll(ranges.front().substr(6));
    EXPECT_GT(from, 0) << ranges.front();
    EXPECT_LE(from, half) << ranges.front();
    EXPECT_EQ(read_file(*models_ / "staged.gguf"), *tiny_bytes_);
    EXPECT_FALSE(fs::exists(*models_ / ".staging" / "staged.part"));
    auto entry = model_entry(http_call("GET", url("/v2/catalog/models")).body, "staged");
    EXPECT_EQ(str_of(entry, "sha256"), sha256_hex(*tiny_bytes_));
    EXPECT_EQ(str_of(entry.at("metadata").as_object(), "architecture"), "llama");
    // The event stream of a finished job: its last frame.
    auto ev = sse_call("GET", url("/v2/catalog/jobs/" + id + "/events"), {}, {}, {}, 10s);
    ASSERT_EQ(ev.status, 200) << ev.raw;
    ASSERT_FALSE(ev.events.empty());
    EXPECT_EQ(ev.events.back().event, "done");
    EXPECT_EQ(str_of(object_of(ev.events.back().data), "job_id"), id);
}

TEST_F(catalog_on_a_node, the_event_stream_shows_progress_until_the_job_is_done) {
    file_server server(*tiny_bytes_);
    server.slow_down();
    auto job = stage(R"({"source":")" + server.url("/slow/tiny.gguf") + R"(","name":"watched"})");
    auto id = str_of(job, "job_id");
    auto ev = sse_call("GET", url("/v2/catalog/jobs/" + id + "/events"), {}, {}, {}, 60s);
    ASSERT_EQ(ev.status, 200) << ev.raw << ev.error;
    ASSERT_GE(ev.events.size(), 2u);
    EXPECT_EQ(ev.events.back().event, "done") << ev.events.back().data;
    long long last = -1;
    bool moving = false;
    for (size_t k = 0; k + 1 < ev.events.size(); ++k) {
        EXPECT_EQ(ev.events[k].event, "progress");
        auto o = object_of(ev.events[k].data);
        auto bytes = int_of(o, "bytes");
        EXPECT_GE(bytes, last) << "bytes go only up";
        if (bytes > 0 && bytes < static_cast<long long>(tiny_bytes_->size())) {
            moving = true;
            EXPECT_EQ(int_of(o, "total"), static_cast<long long>(tiny_bytes_->size()));
        }
        last = bytes;
    }
    EXPECT_TRUE(moving) << "no frame showed the download under way";
    auto done = object_of(ev.events.back().data);
    EXPECT_EQ(str_of(done, "state"), "done");
    EXPECT_GT(int_of(done, "rate_bytes_per_s"), 0);
}

TEST_F(catalog_on_a_node, a_corrupted_download_is_rejected_and_never_appears) {
    file_server server(*tiny_bytes_);
    auto job = stage(R"({"source":")" + server.url("/tiny.gguf") +
                     R"(","name":"corrupt","sha256":")" + std::string(64, '0') + R"("})");
    auto done = finished_job(url, str_of(job, "job_id"));
    ASSERT_EQ(str_of(done, "state"), "failed") << json::serialize(done);
    EXPECT_EQ(str_of(done.at("error").as_object(), "code"), "CHECKSUM_MISMATCH");
    EXPECT_TRUE(model_entry(http_call("GET", url("/v2/catalog/models")).body, "corrupt").empty());
    EXPECT_FALSE(fs::exists(*models_ / "corrupt.gguf"));
    EXPECT_FALSE(fs::exists(*models_ / ".staging" / "corrupt.part"));
    // Bytes that are no GGUF model fail too, with their own code.
    file_server junk(std::string(4096, 'x'));
    auto bad = stage(R"({"source":")" + junk.url("/junk.gguf") + R"(","name":"junk"})");
    auto failed = finished_job(url, str_of(bad, "job_id"));
    ASSERT_EQ(str_of(failed, "state"), "failed");
    EXPECT_EQ(str_of(failed.at("error").as_object(), "code"), "BAD_MODEL");
    EXPECT_TRUE(model_entry(http_call("GET", url("/v2/catalog/models")).body, "junk").empty());
    EXPECT_FALSE(fs::exists(*models_ / "junk.gguf"));
}

TEST_F(catalog_on_a_node, stages_from_a_local_file_and_deletes_it_but_not_a_served_model) {
    auto job = stage(R"({"source":"file:)" + tiny_model().string() + R"(","name":"local:v1"})");
    auto done = finished_job(url, str_of(job, "job_id"));
    ASSERT_EQ(str_of(done, "state"), "done") << json::serialize(done);
    EXPECT_TRUE(fs::exists(*models_ / "local:v1.gguf"));
    ASSERT_FALSE(model_entry(http_call("GET", url("/v2/catalog/models")).body, "local:v1").empty());
    // A second pull of the same name is a conflict.
    stage(R"({"source":"file:)" + tiny_model().string() + R"(","name":"local:v1"})", 409);

    auto served = http_call("DELETE", url("/v2/catalog/models/tiny"));
    EXPECT_EQ(served.status, 409) << served.body;
    EXPECT_EQ(str_of(object_of(served.body), "code"), "CONFLICT");
    EXPECT_NE(served.body.find("pool 'p'"), std::string::npos) << served.body;
    EXPECT_TRUE(fs::exists(tiny_model()));

    auto gone = http_call("DELETE", url("/v2/catalog/models/local:v1"));
    EXPECT_EQ(gone.status, 204) << gone.body;
    EXPECT_FALSE(fs::exists(*models_ / "local:v1.gguf"));
    EXPECT_TRUE(model_entry(http_call("GET", url("/v2/catalog/models")).body, "local:v1").empty());
    EXPECT_EQ(http_call("DELETE", url("/v2/catalog/models/local:v1")).status, 404);
}

TEST_F(catalog_on_a_node, bad_staging_requests_get_clear_errors) {
    struct bad {
        std::string body;
        int status;
        std::string says;
    };
    for (const auto& b : std::vector<bad>{
             {R"({})", 400, "source"},
             {R"({"source":42})", 400, "source"},
             {R"({"source":"s3://bucket/m.gguf"})", 400, "'s3:'"},
             {R"({"source":"hf:org/repo@v1/m.gguf"})", 400, "revision"},
             {R"({"source":"file:/x/m.gguf","name":"../up"})", 400, "name"},
             {R"({"source":"file:/x/m.gguf","sha256":"abc"})", 400, "sha256"},
             {R"({"source":"file:/x/mini.gguf"})", 409, "already"},
             {R"(not json)", 400, ""},
         }) {
        auto r = http_call("POST", url("/v2/catalog/models"), b.body, {}, 5s);
        EXPECT_EQ(r.status, b.status) << b.body << " → " << r.body;
        EXPECT_NE(r.body.find(b.says), std::string::npos) << b.body << " → " << r.body;
        EXPECT_FALSE(str_of(object_of(r.body), "code").empty()) << r.body;
    }
    EXPECT_EQ(http_call("GET", url("/v2/catalog/jobs/nope")).status, 404);
    EXPECT_EQ(http_call("GET", url("/v2/catalog/jobs/nope/events")).status, 404);
    // A missing source file fails the job, with the reason.
    auto job = stage(R"({"source":"file:/nonexistent/m.gguf","name":"missing"})");
    auto failed = finished_job(url, str_of(job, "job_id"));
    EXPECT_EQ(str_of(failed, "state"), "failed");
    EXPECT_EQ(str_of(failed.at("error").as_object(), "code"), "IO_ERROR");
    // The daemon still serves.
    EXPECT_EQ(http_call("GET", url("/health")).status, 200);
}

TEST_F(catalog_on_a_node, the_cli_pulls_with_progress_and_lists) {
    file_server server(*tiny_bytes_);
    auto out = temp_dir("catalog-cli") / "out.txt";
    auto err = temp_dir("catalog-cli-err") / "err.txt";
    auto cmd = "LLORCH_URL=" + url("") + " " + (bin_dir() / "llorch").string() + " model pull " +
               server.url("/dl/tiny.gguf") + " --name clipulled --sha256 " +
               sha256_hex(*tiny_bytes_) + " >" + out.string() + " 2>" + err.string();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << read_file(err);
    EXPECT_NE(read_file(out).find((*models_ / "clipulled.gguf").string()), std::string::npos)
        << read_file(out);
    // Not a terminal: plain lines, the last one the outcome.
    EXPECT_NE(read_file(err).find("pull clipulled: "), std::string::npos) << read_file(err);
    auto list = "LLORCH_URL=" + url("") + " " + (bin_dir() / "llorch").string() + " model list >" +
                out.string() + " 2>" + err.string();
    ASSERT_EQ(std::system(list.c_str()), 0) << read_file(err);
    auto text = read_file(out);
    EXPECT_NE(text.find("clipulled"), std::string::npos) << text;
    EXPECT_NE(text.find("F32"), std::string::npos) << text;
    EXPECT_NE(text.find(sha256_hex(*tiny_bytes_).substr(0, 12)), std::string::npos) << text;
    // A failed pull exits 1 and says why.
    auto bad = "LLORCH_URL=" + url("") + " " + (bin_dir() / "llorch").string() + " model pull " +
               server.url("/dl/tiny.gguf") + " --name clibad --sha256 " + std::string(64, 'f') +
               " >" + out.string() + " 2>" + err.string();
    EXPECT_NE(std::system(bad.c_str()), 0);
    EXPECT_NE(read_file(err).find("CHECKSUM_MISMATCH"), std::string::npos) << read_file(err);
}

TEST(catalog_restart, unchanged_files_are_not_hashed_again) {
    auto models = temp_dir("catalog-restart");
    std::ofstream(models / "again.gguf", std::ios::binary) << read_file(tiny_model());
    auto hashed = [](daemon_process& d) {
        double v = -1;
        wait_until([&] {
            auto r = http_call("GET", d.url("/v2/catalog/models"), {}, {}, 5s);
            if (str_of(model_entry(r.body, "again"), "sha256").empty()) return false;
            v = metric_value(http_call("GET", d.url("/metrics")).body,
                             "catalog_hashed_bytes_total");
            return true;
        });
        return v;
    };
    const auto toml = pool_toml("r", tiny_model(), 1, 512);
    {
        daemon_process first("catalog-first", toml, {"--models-dir", models.string()});
        EXPECT_GE(hashed(first), 2.0 * static_cast<double>(fs::file_size(tiny_model())))
            << "the folder's file and the pool's were hashed";
    }
    {
        daemon_process second("catalog-second", toml, {"--models-dir", models.string()});
        EXPECT_EQ(hashed(second), 0) << second.log_text();
    }
    // A file whose modification time moved is hashed again; the others are not.
    fs::last_write_time(models / "again.gguf",
                        fs::last_write_time(models / "again.gguf") + std::chrono::seconds(5));
    daemon_process third("catalog-third", toml, {"--models-dir", models.string()});
    EXPECT_EQ(hashed(third), static_cast<double>(fs::file_size(models / "again.gguf")))
        << third.log_text();
}

TEST(catalog_home, orchestratord_lists_its_own_models_folder) {
    auto models = temp_dir("catalog-home");
    std::ofstream(models / "homefile.gguf", std::ios::binary) << read_file(tiny_model());
    auto dir = temp_dir("catalog-home-run");
    std::ofstream(dir / "pools.toml") << pool_toml("h", tiny_model(), 1, 512);
    auto proc =
        start_process({(bin_dir() / "orchestratord").string(), "--config",
                       (dir / "pools.toml").string(), "--addr", "127.0.0.1:0", "--runtime-dir",
                       (dir / "run").string(), "--models-dir", models.string()},
                      dir / "orchestratord.log", no_tokens);
    auto port = listening_port(proc, dir / "orchestratord.log", "orchestratord");
    ASSERT_NE(port, 0) << read_file(dir / "orchestratord.log");
    struct {
        uint16_t port;
        std::string url(const std::string& p) const {
            return "http://127.0.0.1:" + std::to_string(port) + p;
        }
    } o{port};
    ASSERT_TRUE(wait_http_ok(o.url("/health")));
    json::object entry;
    ASSERT_TRUE(wait_until([&] {
        entry = model_entry(http_call("GET", o.url("/v2/catalog/models")).body, "homefile");
        return !str_of(entry, "sha256").empty();
    }));
    EXPECT_EQ(str_of(entry.at("metadata").as_object(), "architecture"), "llama");
    auto job =
        http_call("POST", o.url("/v2/catalog/models"),
                  R"({"source":"file:)" + tiny_model().string() + R"(","name":"homestaged"})");
    ASSERT_EQ(job.status, 202) << job.body;
    auto done = finished_job([&](const std::string& p) { return o.url(p); },
                             str_of(object_of(job.body), "job_id"));
    EXPECT_EQ(str_of(done, "state"), "done") << json::serialize(done);
    EXPECT_TRUE(fs::exists(models / "homestaged.gguf"));

    // Ollama's /api/tags describes the served model from its file; /api/pull stages a reference.
    auto tags = object_of(http_call("GET", o.url("/api/tags")).body);
    json::object tiny;
    for (const auto& m : tags.at("models").as_array())
        if (str_of(m.as_object(), "name") == "tiny") tiny = m.as_object();
    ASSERT_FALSE(tiny.empty()) << json::serialize(tags);
    EXPECT_EQ(int_of(tiny, "size"), static_cast<long long>(fs::file_size(tiny_model())));
    EXPECT_EQ(str_of(tiny, "digest").size(), 64u);
    EXPECT_EQ(str_of(tiny.at("details").as_object(), "family"), "llama");
    EXPECT_EQ(str_of(tiny.at("details").as_object(), "quantization_level"), "F32");
    EXPECT_EQ(str_of(tiny.at("details").as_object(), "parameter_size"), "2.2M");
    auto elsewhere = temp_dir("catalog-home-src");
    fs::copy_file(tiny_model(), elsewhere / "pullme.gguf");
    fs::copy_file(tiny_model(), elsewhere / "streamed.gguf");
    auto quiet = http_call(
        "POST", o.url("/api/pull"),
        R"({"model":"file:)" + (elsewhere / "pullme.gguf").string() + R"(","stream":false})");
    EXPECT_EQ(quiet.status, 200) << quiet.body;
    EXPECT_EQ(str_of(object_of(quiet.body), "status"), "success");
    EXPECT_TRUE(fs::exists(models / "pullme.gguf"));
    auto streamed =
        http_call("POST", o.url("/api/pull"),
                  R"({"model":"file:)" + (elsewhere / "streamed.gguf").string() + R"("})");
    ASSERT_EQ(streamed.status, 200) << streamed.body;
    std::vector<json::object> lines;
    std::istringstream in(streamed.body);
    for (std::string l; std::getline(in, l);)
        if (!l.empty()) lines.push_back(object_of(l));
    ASSERT_GE(lines.size(), 3u) << streamed.body;
    EXPECT_EQ(str_of(lines.front(), "status"), "pulling manifest");
    EXPECT_EQ(str_of(lines.back(), "status"), "success") << streamed.body;
    EXPECT_EQ(str_of(lines.back(), "digest"), "sha256:" + str_of(tiny, "digest"));
    // A registry name cannot be pulled: 501 with what to do instead.
    auto registry = http_call("POST", o.url("/api/pull"), R"({"model":"llama3"})");
    EXPECT_EQ(registry.status, 501) << registry.body;
    EXPECT_NE(registry.body.find("hf:ORG/REPO/FILE.gguf"), std::string::npos) << registry.body;
}

TEST(catalog_cloud, nodes_report_their_files_and_staging_goes_to_a_node) {
    control_plane plane;
    ASSERT_TRUE(plane.wait_healthy());
    auto models = temp_dir("catalog-cloud");
    std::ofstream(models / "nodefile.gguf", std::ios::binary) << read_file(tiny_model());
    node_process node("cat-node", pool_toml("c", tiny_model(), 1, 512), plane.base(),
                      {{"POOL_MANAGERD_MODELS_DIR", models.string()},
                       {"LLORCH_API_TOKEN", ""},
                       {"LLORCH_SERVICE_TOKEN", ""}});
    json::object entry;
    ASSERT_TRUE(wait_until(
        [&] {
            entry = model_entry(http_call("GET", plane.url("/v2/catalog/models")).body, "nodefile");
            return !str_of(entry, "sha256").empty();
        },
        60s))
        << node.log_text();
    EXPECT_EQ(str_of(entry.at("files").as_array()[0].as_object(), "node_id"), "cat-node");
    EXPECT_EQ(str_of(entry.at("metadata").as_object(), "architecture"), "llama");

    file_server server(read_file(tiny_model()));
    auto job = http_call("POST", plane.url("/v2/catalog/models"),
                         R"({"source":")" + server.url("/x/tiny.gguf") + R"(","name":"viaplane"})");
    ASSERT_EQ(job.status, 202) << job.body;
    auto id = str_of(object_of(job.body), "job_id");
    auto done = finished_job([&](const std::string& p) { return plane.url(p); }, id);
    ASSERT_EQ(str_of(done, "state"), "done") << json::serialize(done);
    EXPECT_EQ(str_of(done, "node_id"), "cat-node");
    // The next heartbeat brings the new file to the control plane's catalog.
    EXPECT_TRUE(wait_until([&] {
        auto e = model_entry(http_call("GET", plane.url("/v2/catalog/models")).body, "viaplane");
        return !e.empty();
    }));
    // Deleting goes to the node that holds it; a served model is refused there.
    EXPECT_EQ(http_call("DELETE", plane.url("/v2/catalog/models/tiny")).status, 409);
    EXPECT_EQ(http_call("DELETE", plane.url("/v2/catalog/models/viaplane")).status, 204);
    EXPECT_FALSE(fs::exists(models / "viaplane.gguf"));
    EXPECT_TRUE(wait_until([&] {
        return model_entry(http_call("GET", plane.url("/v2/catalog/models")).body, "viaplane")
            .empty();
    }));
    auto nobody = http_call("POST", plane.url("/v2/catalog/models"),
                            R"({"source":"file:/m.gguf","node":"no-such-node"})");
    EXPECT_EQ(nobody.status, 404) << nobody.body;
}

}  // namespace
}  // namespace llorch::test
