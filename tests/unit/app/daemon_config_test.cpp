// The daemons' configs: each option declared once with its default taken from the module it
// configures, and validate() naming the key at fault.
#include <gtest/gtest.h>

#include "orchestratord_config.h"
#include "pool_managerd_config.h"

using llorch::daemon::orchestratord_config;
using llorch::daemon::pool_managerd_config;

namespace {

template <class Config>
Config parsed(std::vector<std::string> args) {
    Config cfg;
    CLI::App app{Config::description};
    cfg.declare(app);
    std::reverse(args.begin(), args.end());
    app.parse(args);
    return cfg;
}

}  // namespace

TEST(orchestratord_settings, home_profile_without_a_pool_file_names_the_key) {
    orchestratord_config c;
    EXPECT_TRUE(c.validate().starts_with("ORCHESTRATORD_CONFIG:")) << c.validate();
    c.config_file = "pools.toml";
    EXPECT_EQ(c.validate(), "");
    // A models folder without a pool file serves its models on demand.
    auto folder =
        parsed<orchestratord_config>({"--models-dir", "/tmp/models", "--idle-ttl-secs", "60",
                                      "--memory-budget-mib", "512", "--swap-wait-ms", "1500"});
    EXPECT_EQ(folder.validate(), "");
    EXPECT_EQ(folder.on_demand.idle_ttl_secs, 60);
    EXPECT_EQ(folder.on_demand.memory_budget_mib, 512);
    EXPECT_EQ(folder.on_demand.swap_wait_ms, 1500);
    EXPECT_EQ(llorch::daemon::on_demand_settings(folder.on_demand, true).swap_wait,
              std::chrono::milliseconds(1500));
}

TEST(orchestratord_settings, cloud_profile_with_a_pool_file_names_the_key) {
    auto c = parsed<orchestratord_config>({"--cloud-profile", "--config", "pools.toml"});
    EXPECT_TRUE(c.validate().starts_with("ORCHESTRATORD_CONFIG:")) << c.validate();
}

TEST(orchestratord_settings, bad_listen_address_names_the_key) {
    auto c = parsed<orchestratord_config>({"--cloud-profile", "--addr", "nowhere"});
    EXPECT_TRUE(c.validate().starts_with("ORCHESTRATORD_ADDR:")) << c.validate();
}

TEST(orchestratord_settings, client_certificate_without_its_key_names_both) {
    auto c = parsed<orchestratord_config>({"--cloud-profile", "--tls-client-cert", "c.pem"});
    EXPECT_NE(c.validate().find("ORCHESTRATORD_TLS_CLIENT_KEY"), std::string::npos);
}

TEST(orchestratord_settings, out_of_range_values_are_refused_by_the_command_line) {
    orchestratord_config cfg;
    CLI::App app{orchestratord_config::description};
    cfg.declare(app);
    std::vector<std::string> args{"0", "--admission-capacity"};
    EXPECT_THROW(app.parse(args), CLI::ValidationError);
}

TEST(orchestratord_settings, defaults_are_those_of_the_modules) {
    orchestratord_config c;
    EXPECT_EQ(c.stall_timeout_ms, llorch::pool::manager_options{}.stall_timeout.count());
    EXPECT_EQ(c.disconnect_grace_ms,
              llorch::orchestrator::service_options{}.disconnect_grace.count());
    EXPECT_EQ(c.breaker_cooldown_ms, llorch::dispatch::circuit_breaker_config{}.cool_down.count());
    EXPECT_EQ(c.addr, "127.0.0.1:8080");
}

TEST(pool_managerd_settings, cloud_profile_needs_orchestratords_url_and_a_usable_own_url) {
    auto c = parsed<pool_managerd_config>({"--config", "p.toml", "--cloud-profile"});
    EXPECT_TRUE(c.validate().starts_with("ORCHESTRATORD_URL:")) << c.validate();
    c.orchestratord_url = "http://127.0.0.1:8080";
    // On a named address the node is reached where it listens.
    EXPECT_EQ(c.validate(), "");
    c.addr = "0.0.0.0:9200";
    EXPECT_TRUE(c.validate().starts_with("POOL_MANAGERD_ADDRESS:")) << c.validate();
    c.address = "ftp://x";
    EXPECT_TRUE(c.validate().starts_with("POOL_MANAGERD_ADDRESS:")) << c.validate();
    c.address = "http://127.0.0.1:9200";
    EXPECT_EQ(c.validate(), "");
}

TEST(pool_managerd_settings, mutual_tls_without_a_certificate_names_the_key) {
    auto c = parsed<pool_managerd_config>({"--config", "p.toml", "--tls-ca", "ca.pem"});
    EXPECT_TRUE(c.validate().starts_with("POOL_MANAGERD_TLS_CA:")) << c.validate();
}

TEST(pool_managerd_settings, the_pool_file_or_a_models_folder_is_required) {
    pool_managerd_config cfg;
    CLI::App app{pool_managerd_config::description};
    cfg.declare(app);
    std::vector<std::string> none;
    app.parse(none);
    EXPECT_NE(cfg.validate().find("POOL_MANAGERD_CONFIG"), std::string::npos) << cfg.validate();
    // A models folder alone serves its models on demand.
    auto folder = parsed<pool_managerd_config>({"--models-dir", "/tmp/models"});
    EXPECT_EQ(folder.validate(), "");
    EXPECT_EQ(folder.on_demand.idle_ttl_secs, 300);
}

TEST(pool_managerd_settings, defaults_are_those_of_the_modules) {
    pool_managerd_config c;
    EXPECT_EQ(c.watch_interval_ms, llorch::pool::manager_options{}.watch_interval.count());
    EXPECT_EQ(c.restart_max_crashes, llorch::pool::restart_policy_config{}.max_crashes);
    EXPECT_DOUBLE_EQ(c.heartbeat_interval_secs, 10.0);
    EXPECT_TRUE(c.watch_handoffs);
}
