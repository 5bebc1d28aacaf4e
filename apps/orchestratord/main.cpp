// orchestratord — the control plane of llama-orch: takes client requests, queues them, places
// each on a pool and streams the tokens back. HOME profile: with [[pools]] in --config it runs
// those pools in-process (one binary, one machine).
#include "daemon_cli.h"
#include "orchestratord_app.h"
#include "orchestratord_config.h"

int main(int argc, char** argv) {
    llorch::daemon::orchestratord_config cfg;
    if (auto done = llorch::daemon::parse_command_line("orchestratord", cfg, argc, argv))
        return *done;
    llorch::daemon::orchestratord_app app(std::move(cfg));
    return app.run();
}
