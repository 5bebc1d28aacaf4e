// llorch — the command-line client of llama-orch for users and operators.
#include <CLI/CLI.hpp>

#include "commands.h"

int main(int argc, char** argv) {
    CLI::App app{"llorch — command-line client of llama-orch (LLM inference orchestrator)"};
    app.set_version_flag("--version", std::string("llorch ") + LLORCH_VERSION);
    app.require_subcommand(1);
    llorch::cli::add_engine_commands(app);
    llorch::cli::add_model_commands(app);
    llorch::cli::add_client_commands(app);
    llorch::cli::add_operator_commands(app);
    llorch::cli::add_top_command(app);
    llorch::cli::add_job_commands(app);
    llorch::cli::add_servers_command(app);
    CLI11_PARSE(app, argc, argv);
    return 0;
}
