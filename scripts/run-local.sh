#!/usr/bin/env bash
# The main job: a local llama-orch on the generated tiny model (HOME profile), then a sample
# request whose tokens stream to the terminal. Stops everything it started on exit or Ctrl-C.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin=build/bin
model="$("$bin/llorch" model make-tiny | tail -n 1)"
engine="$("$bin/llorch" engine path)"
port="${LLORCH_RUN_PORT:-8080}"
rundir="${XDG_RUNTIME_DIR:-/tmp}/llama-orch-run-$$"
mkdir -p "$rundir"

echo "==> starting llama-server on the tiny model ($model) at 127.0.0.1:$port"
"$engine" -m "$model" --host 127.0.0.1 --port "$port" -t 1 -c 2048 -np 2 >"$rundir/engine.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$rundir"' EXIT
for _ in $(seq 1 300); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || { cat "$rundir/engine.log"; exit 1; }
  sleep 0.1
done
echo "==> streaming a completion (random weights: the text is gibberish, the tokens are real)"
curl -sN "http://127.0.0.1:$port/completion" -H 'Content-Type: application/json' \
  -d '{"prompt":"Once upon a time","n_predict":32,"stream":true}' |
  sed -un 's/^data: .*"content":"\([^"]*\)".*/\1/p' | tr -d '\n'
echo
echo "==> done. Next: 'make test' runs the test suite; README.md shows the daemons."
