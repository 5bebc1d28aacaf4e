#include <cstdlib>
#include <iostream>

#include "commands.h"
#include "common/paths.h"

namespace llorch::cli {

void add_engine_commands(CLI::App& app) {
    auto* engine = app.add_subcommand("engine", "The inference engine (llama.cpp's llama-server)");
    engine->require_subcommand(1);
    auto* path = engine->add_subcommand(
        "path", "Print the path of the built llama-server (set LLORCH_ENGINE to use another)");
    path->callback([] {
        auto p = common::find_engine();
        if (!p) {
            std::cerr << "llama-server is not built yet: run `make run` or "
                         "`scripts/build-engine.sh` (or set LLORCH_ENGINE to a llama-server)\n";
            std::exit(1);
        }
        std::cout << p->string() << "\n";
    });
}

}  // namespace llorch::cli
