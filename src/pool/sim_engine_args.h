#pragma once
// Command lines for llorch-sim pools (engine kind `sim`): the supervisor builds llama-server's
// arguments for every engine it runs; llorch-sim takes most of them but names slots --slots,
// counts its context per slot, and has no web UI, thread or GPU-layer flags. A pure function.

#include <string>
#include <vector>

namespace llorch::pool {

// Turns a llama-server argv (argv[0] first) into llorch-sim's: `-np N` / `--parallel N` becomes
// `--slots N`; `-c`/`--ctx-size` (the whole KV cache) becomes the context of one slot
// (ctx / slots); `--no-webui`, `-t`/`--threads`, `-ngl`/`--n-gpu-layers` are dropped; everything
// else (argv[0], -m, --host, --port, --api-key, extra arguments such as --ttft) passes unchanged.
std::vector<std::string> sim_engine_argv(const std::vector<std::string>& llama_server_argv);

}  // namespace llorch::pool
