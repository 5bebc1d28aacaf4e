#!/usr/bin/env bash
# Runs the whole test suite (unit + integration with the real llama-server) of a built preset.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
preset="${1:-release}"
# Integration tests start engines with one thread each; two tests at a time fit 2 cores.
exec ctest --preset "$preset" -j "${LLORCH_TEST_JOBS:-2}" --timeout 600
