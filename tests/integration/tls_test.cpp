// TLS on both daemons and mutual TLS between them, with certificates the test makes (openssl).
#include <gtest/gtest.h>

#include <fstream>

#include "http/tls.h"
#include "support/test_support.h"

namespace llorch::test {
namespace {

// A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA.
struct pki {
    std::filesystem::path dir;
    std::string ca() const { return (dir / "ca.pem").string(); }
    std::string cert(const std::string& n) const { return (dir / (n + ".pem")).string(); }
    std::string key(const std::string& n) const { return (dir / (n + ".key")).string(); }
};

pki make_pki() {
    pki p{temp_dir("pki")};
    auto d = p.dir.string();
    std::string cmd = "cd " + d +
                      " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem "
                      "-days 1 -subj /CN=llorch-test-ca >/dev/null 2>&1";
    for (std::string n : {"server", "client"}) {
        cmd += " && openssl req -newkey rsa:2048 -nodes -keyout " + n + ".key -out " + n +
               ".csr -subj /CN=" + n +
               " >/dev/null 2>&1 && printf 'subjectAltName=IP:127.0.0.1\\n' > " + n +
               ".ext && openssl x509 -req -in " + n +
               ".csr -CA ca.pem -CAkey ca.key "
               "-CAcreateserial -out " +
               n + ".pem -days 1 -extfile " + n + ".ext >/dev/null 2>&1";
    }
    if (std::system(cmd.c_str()) != 0)
        throw std::runtime_error("openssl could not make the test certificates");
    return p;
}

// One exchange over https with the given client TLS settings; status 0 when the transport failed.
http::client_response https_call(const std::string& method, const std::string& url,
                                 const http::tls_context& tls, const std::string& body = {},
                                 const std::string& token = {}) {
    asio::io_context io;
    http::client_options o;
    o.tls = tls;
    http::client c(io, o);
    http::client_request r;
    r.method = method;
    r.url = url;
    r.body = body;
    r.timeout = 20s;
    if (!token.empty()) r.headers.add("Authorization", "Bearer " + token);
    auto res = run(io, c.send(std::move(r)), 30s);
    if (!res) return {0, {}, res.error().message};
    return std::move(*res);
}

std::string pools_toml() {
    return "[[pools]]\nid = \"tiny\"\nengine = \"llamacpp\"\nmodel = \"" + tiny_model().string() +
           "\"\ndevice = \"cpu\"\nslots = 1\nctx = 512\nthreads = 1\n";
}

const std::vector<std::pair<std::string, std::string>> no_tokens{{"LLORCH_API_TOKEN", ""},
                                                                 {"LLORCH_SERVICE_TOKEN", ""}};

TEST(tls, pool_managerd_serves_https_and_demands_client_certificates_with_a_ca) {
    auto p = make_pki();
    auto dir = temp_dir("tls-node");
    std::ofstream(dir / "pools.toml") << pools_toml();
    auto env = no_tokens;
    env.emplace_back("POOL_MANAGERD_TLS_CERT", p.cert("server"));
    env.emplace_back("POOL_MANAGERD_TLS_KEY", p.key("server"));
    env.emplace_back("POOL_MANAGERD_TLS_CA", p.ca());
    auto node = start_process(
        {(bin_dir() / "pool-managerd").string(), "--config", (dir / "pools.toml").string(),
         "--addr", "127.0.0.1:0", "--runtime-dir", (dir / "rt").string()},
        dir / "node.log", env);
    auto port = listening_port(node, dir / "node.log", "pool-managerd");
    ASSERT_NE(port, 0) << read_file(dir / "node.log");
    auto url = "https://127.0.0.1:" + std::to_string(port);
    auto with_cert = http::make_client_tls(p.ca(), p.cert("client"), p.key("client"));
    auto without_cert = http::make_client_tls(p.ca());
    ASSERT_TRUE(with_cert && without_cert);
    ASSERT_TRUE(wait_until(
        [&] { return https_call("GET", url + "/health", *with_cert).status == 200; }, 60s))
        << read_file(dir / "node.log");
    EXPECT_EQ(https_call("GET", url + "/health", *without_cert).status, 0)
        << "a client without a certificate must not get through";
    EXPECT_EQ(
        http_call("GET", "http://127.0.0.1:" + std::to_string(port) + "/health", {}, {}, 5s).status,
        0)
        << "plain HTTP must not be served on a TLS port";
    auto untrusted = http::make_client_tls(p.cert("client"));  // a CA that did not sign the server
    ASSERT_TRUE(untrusted);
    EXPECT_EQ(https_call("GET", url + "/health", *untrusted).status, 0)
        << "a server certificate from an unknown CA must be refused";
}

TEST(tls, cloud_profile_runs_a_task_over_https_with_mutual_tls_to_the_node) {
    auto p = make_pki();
    auto dir = temp_dir("tls-cloud");
    std::ofstream(dir / "pools.toml") << pools_toml();
    const std::string token = "tls-test-token-0123456789";
    auto oenv = std::vector<std::pair<std::string, std::string>>{
        {"LLORCH_API_TOKEN", token},
        {"LLORCH_SERVICE_TOKEN", ""},
        {"ORCHESTRATORD_CLOUD_PROFILE", "true"},
        {"ORCHESTRATORD_TLS_CERT", p.cert("server")},
        {"ORCHESTRATORD_TLS_KEY", p.key("server")},
        {"ORCHESTRATORD_TLS_CA", p.ca()},
        {"ORCHESTRATORD_TLS_CLIENT_CERT", p.cert("client")},
        {"ORCHESTRATORD_TLS_CLIENT_KEY", p.key("client")}};
    auto orch = start_process({(bin_dir() / "orchestratord").string(), "--addr", "127.0.0.1:0"},
                              dir / "orch.log", oenv);
    auto oport = listening_port(orch, dir / "orch.log", "orchestratord");
    ASSERT_NE(oport, 0) << read_file(dir / "orch.log");
    auto ourl = "https://127.0.0.1:" + std::to_string(oport);
    auto nenv = std::vector<std::pair<std::string, std::string>>{
        {"LLORCH_API_TOKEN", token},
        {"LLORCH_SERVICE_TOKEN", ""},
        {"POOL_MANAGERD_CLOUD_PROFILE", "true"},
        {"POOL_MANAGERD_NODE_ID", "secure"},
        {"ORCHESTRATORD_URL", ourl},
        {"POOL_MANAGERD_HEARTBEAT_INTERVAL_SECS", "0.5"},
        {"POOL_MANAGERD_TLS_CERT", p.cert("server")},
        {"POOL_MANAGERD_TLS_KEY", p.key("server")},
        {"POOL_MANAGERD_TLS_CA", p.ca()}};
    auto node = start_process(
        {(bin_dir() / "pool-managerd").string(), "--config", (dir / "pools.toml").string(),
         "--addr", "127.0.0.1:0", "--runtime-dir", (dir / "rt").string()},
        dir / "node.log", nenv);
    auto client_tls = http::make_client_tls(p.ca());
    ASSERT_TRUE(client_tls);
    ASSERT_TRUE(wait_until(
        [&] {
            auto r = https_call("GET", ourl + "/v2/pools", *client_tls, {}, token);
            return r.status == 200 && r.body.find("\"ready\":true") != std::string::npos;
        },
        60s))
        << read_file(dir / "orch.log") << read_file(dir / "node.log");
    auto sub =
        https_call("POST", ourl + "/v2/tasks", *client_tls,
                   R"({"model":"tiny","prompt":"Hi","max_tokens":5,"ignore_eos":true})", token);
    ASSERT_EQ(sub.status, 202) << sub.body;
    auto id = std::string(parse_json(sub.body).at("task_id").as_string());
    ASSERT_TRUE(wait_until(
        [&] {
            auto t = https_call("GET", ourl + "/v2/tasks/" + id, *client_tls, {}, token);
            return t.status == 200 && parse_json(t.body).at("state").as_string() == "completed";
        },
        60s))
        << read_file(dir / "orch.log");
    auto t = parse_json(https_call("GET", ourl + "/v2/tasks/" + id, *client_tls, {}, token).body);
    EXPECT_EQ(t.at("node_id").as_string(), "secure");
    EXPECT_EQ(t.at("tokens_out").to_number<int>(), 5);
}

}  // namespace
}  // namespace llorch::test
