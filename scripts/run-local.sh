#!/usr/bin/env bash
# The main job: llama-orch's HOME profile on the generated tiny model — orchestratord running the
# pool in-process on the real llama-server — then a sample request whose tokens stream to the
# terminal. On a terminal it keeps running until Ctrl-C so you can try more; otherwise it stops.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin=build/bin
port="${LLORCH_RUN_PORT:-8080}"
cache="${LLORCH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/llama-orch}"
model="$("$bin/llorch" model make-tiny | tail -n 1)"
rundir="$cache/run"
mkdir -p "$rundir"
cat >"$rundir/pools.toml" <<TOML
# Written by scripts/run-local.sh: one CPU pool of the generated tiny model.
[[pools]]
id = "tiny"
engine = "llamacpp"
model = "$model"
device = "cpu"
slots = 4
ctx = 1024
threads = 1
max_tokens_default = 32
TOML

if curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
  echo "port $port is already in use (another llama-orch?); set LLORCH_RUN_PORT to use another" >&2
  exit 1
fi
echo "==> starting orchestratord (HOME profile) on 127.0.0.1:$port with pool 'tiny' ($model)"
"$bin/orchestratord" --config "$rundir/pools.toml" --addr "127.0.0.1:$port" \
  --runtime-dir "$rundir/runtime" >"$rundir/orchestratord.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  curl -fs "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break
  if ! kill -0 $pid 2>/dev/null; then
    echo "orchestratord stopped; its log ($rundir/orchestratord.log):" >&2
    tail -n 20 "$rundir/orchestratord.log" >&2
    exit 1
  fi
  sleep 0.1
done
"$bin/llorch" status --url "http://127.0.0.1:$port"
echo "==> llorch submit \"Once upon a time\" (random weights: gibberish text, real tokens)"
"$bin/llorch" submit --url "http://127.0.0.1:$port" --max-tokens 32 "Once upon a time"
echo
echo "==> llama-orch runs at http://127.0.0.1:$port (log: $rundir/orchestratord.log). Try next:"
echo "    build/bin/llorch submit --url http://127.0.0.1:$port \"Tell me a story\""
echo "    curl -s http://127.0.0.1:$port/v2/tasks -d '{\"model\":\"tiny\",\"prompt\":\"Hi\"}'"
echo "    make test    (the whole test suite)"
if [[ -t 0 && "${LLORCH_RUN_KEEP:-1}" == 1 ]]; then
  echo "Press Ctrl-C to stop."
  wait $pid
fi
