#pragma once
// Each command group of the `llorch` CLI registers its subcommands here; main.cpp only wires them.

#include <CLI/CLI.hpp>

namespace llorch::cli {

// `llorch engine path`: where the built llama-server is.
void add_engine_commands(CLI::App& app);
// `llorch model make-tiny`: generate the tiny GGUF model; with the catalog's commands below.
void add_model_commands(CLI::App& app);
// `llorch model pull SOURCE`, `llorch model list`: the catalog of a running daemon.
void add_model_catalog_commands(CLI::App& model);
// `llorch submit`, `llorch status`: talk to a running orchestratord.
void add_client_commands(CLI::App& app);
// `llorch nodes`, `pools`, `tail`, `drain`, `reload`: an operator's commands.
void add_operator_commands(CLI::App& app);
// `llorch top`: a live terminal view of the cluster from GET /v2/events.
void add_top_command(CLI::App& app);
// `llorch job run FILE`, `llorch job cancel ID`: jobs of tasks with dependencies.
void add_job_commands(CLI::App& app);
// `llorch servers`: the server monitor's table (GET /v2/servers).
void add_servers_command(CLI::App& app);

}  // namespace llorch::cli
