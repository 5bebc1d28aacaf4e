#include "pool/sim_engine_args.h"

#include <gtest/gtest.h>

namespace llorch::pool {

TEST(sim_engine_args, translates_llama_server_flags_llorch_sim_lacks) {
    std::vector<std::string> in{"llorch-sim", "-m",        "/m.gguf", "--host",     "127.0.0.1",
                                "--port",     "9000",      "-np",     "4",          "-c",
                                "2048",       "--api-key", "k",       "--no-webui", "-t",
                                "1",          "-ngl",      "999",     "--ttft",     "5ms"};
    std::vector<std::string> want{"llorch-sim", "-m",     "/m.gguf", "--host", "127.0.0.1",
                                  "--port",     "9000",   "--slots", "4",      "--api-key",
                                  "k",          "--ttft", "5ms",     "-c",     "512"};
    EXPECT_EQ(sim_engine_argv(in), want);
}

TEST(sim_engine_args, context_stays_whole_without_slots) {
    EXPECT_EQ(sim_engine_argv({"sim", "-c", "300"}),
              (std::vector<std::string>{"sim", "-c", "300"}));
}

TEST(sim_engine_args, program_name_and_trailing_flag_pass_unchanged) {
    EXPECT_EQ(sim_engine_argv({"-t", "-np"}), (std::vector<std::string>{"-t", "-np"}));
}

}  // namespace llorch::pool
