// pool-managerd — the worker daemon of llama-orch: runs and supervises the inference engines of
// this machine and serves them to orchestratord (or to anyone holding the service token).
#include "daemon_cli.h"
#include "pool_managerd_app.h"
#include "pool_managerd_config.h"

int main(int argc, char** argv) {
    llorch::daemon::pool_managerd_config cfg;
    if (auto done = llorch::daemon::parse_command_line("pool-managerd", cfg, argc, argv))
        return *done;
    llorch::daemon::pool_managerd_app app(std::move(cfg));
    return app.run();
}
