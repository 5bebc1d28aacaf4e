#!/usr/bin/env bash
# orchestratord's user-space instructions per request, counted by callgrind: a figure that does
# not move with the other work on a shared machine, for comparing builds and finding where the
# CPU goes (the capacity scenario measures the time). Short completions (4 tokens) against a
# llorch-sim pool, closed loop at 16 streams; the first 300 requests warm up and are not
# counted. Prints instructions per request and the functions with the most inclusive cost.
#
#   bench/run-instructions.sh [--build DIR] [--target orch|orch-stream|openai-completions] [-n N]
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
TARGET=orch-stream; N=1000; TOP=40; args=()
while (($#)); do
  case "$1" in
    --target) TARGET="$2"; shift 2 ;;
    -n) N="$2"; shift 2 ;;
    --top) TOP="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
bench_parse_args "${args[@]}"
require_pkg valgrind valgrind
command -v callgrind_control >/dev/null || { echo "callgrind_control not found (Debian: valgrind)" >&2; exit 2; }
cat >"$WORK/pool.toml" <<TOML
[[pools]]
id = "sim0"
engine = "sim"
model = "$SIM"
name = "sim"
device = "cpu"
slots = 1024
ctx = 256
threads = 1
engine_path = "$SIM_ENGINE"
extra_args = ["--ttft", "1ms", "--itl", "1ms"]
TOML
OUT="$WORK/callgrind.out"
# One io thread: callgrind serialises threads anyway, and the count is then that of the control
# thread's work alone.
bench_start orch valgrind --tool=callgrind --callgrind-out-file="$OUT" --dump-instr=no \
  "$ORCH" --config "$WORK/pool.toml" --addr 127.0.0.1:0 --runtime-dir "$WORK/rt" --log-level warn \
  --io-threads 1
ORCH_PID=$LAST_PID
PORT=""
for ((i = 0; i < 900; i++)); do
  PORT=$(sed -n 's/^orchestratord listening on [0-9.]*:\([0-9]*\)$/\1/p' "$WORK/orch.log" 2>/dev/null || true)
  [[ -n "$PORT" ]] && break
  kill -0 "$ORCH_PID" 2>/dev/null || break
  sleep 0.1
done
[[ -n "$PORT" ]] || { echo "orchestratord did not start under valgrind" >&2; tail -5 "$WORK/orch.log" >&2; exit 1; }
wait_http "http://127.0.0.1:$PORT/ready" 180
URL="http://127.0.0.1:$PORT"
"$LOADGEN" --target "$TARGET" --url "$URL" --model sim -c 16 --requests 300 --max-tokens 4 >/dev/null
callgrind_control -z "$ORCH_PID" >/dev/null
"$LOADGEN" --target "$TARGET" --url "$URL" --model sim -c 16 --requests "$N" --max-tokens 4 \
  --json "$WORK/lg.json" >/dev/null
callgrind_control -d "$ORCH_PID" >/dev/null
ok=$(jq .requests_ok "$WORK/lg.json")
[[ "$ok" == "$N" ]] || { echo "only $ok of $N requests succeeded" >&2; exit 1; }
for ((i = 0; i < 100; i++)); do [[ -s "$OUT.1" ]] && break; sleep 0.1; done
total=$(callgrind_annotate "$OUT.1" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
echo "target $TARGET, $N requests of 4 tokens, build $BUILD_DIR (commit $(git -C "$(dirname "$BUILD_DIR")" rev-parse --short HEAD 2>/dev/null || echo unknown))"
echo "instructions per request: $((total / N))"
echo
echo "inclusive instructions per request, by function (llama-orch's own):"
callgrind_annotate --inclusive=yes --threshold=100 --auto=no "$OUT.1" 2>/dev/null |
  awk -v n="$N" -v top="$TOP" '/\?\?\?:llorch::/ && !/orchestratord_app::run|serve_until_signal/ {
      if (shown++ >= top) next
      gsub(",", "", $1); name = $0; sub(/^[^?]*\?\?\?:/, "", name); sub(/\(.*/, "", name);
      printf "%9d  %s\n", $1 / n, name }'
