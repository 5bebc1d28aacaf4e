#!/usr/bin/env bash
# orchestratord's user-space instructions per request, counted by callgrind: a figure that does
# not move with the other work on a shared machine, for comparing builds and finding where the
# CPU goes (the capacity scenario measures the time). Short completions (4 tokens) against a
# llorch-sim pool, closed loop at 16 streams; the first 300 requests warm up and are not
# counted. Prints instructions per request and the functions with the most inclusive cost.
#
# --per-token: instructions per relayed token instead, net of the per-request part. The pool's
# inter-token latency is 10 ms and 8 streams run (so that orchestratord, slowed by callgrind,
# keeps up and relays one engine chunk per token, as it does at full speed); in one process,
# -n requests of 4 tokens are counted, then --long-n requests of --long-tokens (256) tokens;
# per token = (per long request - per short request) / (256 - 4). The profile shown is that of
# the long requests.
#
# --io-threads K (K > 1): orchestratord with K io threads, each counted apart. The control thread
# runs every handler and also serves its share of the connections (1/K, as each io thread does),
# so per request: control work = control thread - mean io thread, connection work = K x mean io
# thread. Their ratio says how far more cores take orchestratord before its one control thread
# is the limit (bench/results/scaling-2026-12-02.md).
#
#   bench/run-instructions.sh [--build DIR] [--target orch|orch-stream|openai-completions] [-n N]
#                             [--per-token [--long-n N] [--long-tokens T]] [--io-threads K]
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
TARGET=orch-stream; N=""; TOP=40; PER_TOKEN=0; LONG_N=100; LONG_TOKENS=256; IO_THREADS=1; args=()
while (($#)); do
  case "$1" in
    --target) TARGET="$2"; shift 2 ;;
    -n) N="$2"; shift 2 ;;
    --top) TOP="$2"; shift 2 ;;
    --per-token) PER_TOKEN=1; shift ;;
    --long-n) LONG_N="$2"; shift 2 ;;
    --long-tokens) LONG_TOKENS="$2"; shift 2 ;;
    --io-threads) IO_THREADS="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
if ((PER_TOKEN)); then ITL=10ms; STREAMS=8; N=${N:-200}; else ITL=1ms; STREAMS=16; N=${N:-1000}; fi
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
extra_args = ["--ttft", "1ms", "--itl", "$ITL"]
TOML
OUT="$WORK/callgrind.out"
# One io thread by default: callgrind serialises threads anyway, and the count is then that of
# the control thread's work alone.
SEPARATE=no; ((IO_THREADS > 1)) && SEPARATE=yes
bench_start orch valgrind --tool=callgrind --callgrind-out-file="$OUT" --dump-instr=no \
  --separate-threads="$SEPARATE" \
  "$ORCH" --config "$WORK/pool.toml" --addr 127.0.0.1:0 --runtime-dir "$WORK/rt" --log-level warn \
  --io-threads "$IO_THREADS"
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
"$LOADGEN" --target "$TARGET" --url "$URL" --model sim -c "$STREAMS" --requests 300 --max-tokens 4 >/dev/null
# The instructions of dump number `dump`, one line per thread (thread 1, the control thread,
# first; one line in all unless --io-threads > 1).
thread_totals() {
  local f
  for f in "$OUT.$1" "$OUT.$1"-*; do
    [[ -s "$f" ]] || continue
    callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
  done
}
# Counts `n` requests of `tokens` tokens into dump number `dump`; prints the total instructions.
count() {
  local n=$1 tokens=$2 dump=$3 ok i files last=-1
  callgrind_control -z "$ORCH_PID" >/dev/null
  "$LOADGEN" --target "$TARGET" --url "$URL" --model sim -c "$STREAMS" --requests "$n" \
    --max-tokens "$tokens" --json "$WORK/lg$dump.json" >/dev/null
  callgrind_control -d "$ORCH_PID" >/dev/null
  ok=$(jq .requests_ok "$WORK/lg$dump.json")
  [[ "$ok" == "$n" ]] || { echo "only $ok of $n requests succeeded" >&2; exit 1; }
  # Written one file per thread: wait until their number stops growing.
  for ((i = 0; i < 100; i++)); do
    files=$(find "$WORK" -maxdepth 1 -name "callgrind.out.$dump*" -size +0 | wc -l)
    ((files > 0 && files == last)) && break
    last=$files; sleep 0.2
  done
  thread_totals "$dump" | awk '{ s += $1 } END { print s }'
}
commit=$(git -C "$(dirname "$BUILD_DIR")" rev-parse --short HEAD 2>/dev/null || echo unknown)
total=$(count "$N" 4 1)
PROFILE="$OUT.1"; PER=$N
if ((PER_TOKEN)); then
  long=$(count "$LONG_N" "$LONG_TOKENS" 2)
  tokens=$(jq .tokens_all "$WORK/lg2.json")
  echo "target $TARGET, $N requests of 4 tokens then $LONG_N of $LONG_TOKENS (ITL $ITL, $STREAMS streams), build $BUILD_DIR (commit $commit)"
  echo "instructions per request (4 tokens): $((total / N))"
  echo "instructions per request ($LONG_TOKENS tokens): $((long / LONG_N)) ($tokens tokens relayed)"
  echo "instructions per token, net of the request: $(((long / LONG_N - total / N) / (LONG_TOKENS - 4)))"
  PROFILE="$OUT.2"; PER=$tokens
  echo
  echo "inclusive instructions per relayed token, by function (llama-orch's own; long requests, request part included):"
else
  echo "target $TARGET, $N requests of 4 tokens, build $BUILD_DIR (commit $commit)"
  echo "instructions per request: $((total / N))"
  if ((IO_THREADS > 1)); then
    PROFILE="$OUT.1-01"
    echo "per request, by thread (1: control; the io threads are the $((IO_THREADS - 1)) largest others):"
    thread_totals 1 | awk -v n="$N" '{ printf "  thread %d: %d\n", NR, $1 / n }'
    mapfile -t per_thread < <(thread_totals 1)
    io_mean=$(printf '%s\n' "${per_thread[@]:1}" | sort -rn | head -n $((IO_THREADS - 1)) |
      awk -v k="$IO_THREADS" '{ s += $1 } END { print s / (k - 1) }')
    awk -v n="$N" -v k="$IO_THREADS" -v c="${per_thread[0]}" -v io="$io_mean" 'BEGIN {
      printf "control work per request: %d; connection work per request: %d (%.1f x the control work)\n",
        (c - io) / n, k * io / n, k * io / (c - io) }'
  fi
  echo
  echo "inclusive instructions per request, by function (llama-orch's own):"
fi
callgrind_annotate --inclusive=yes --threshold=100 --auto=no "$PROFILE" 2>/dev/null |
  awk -v n="$PER" -v top="$TOP" '/\?\?\?:llorch::/ && !/orchestratord_app::run|serve_until_signal/ {
      if (shown++ >= top) next
      gsub(",", "", $1); name = $0; sub(/^[^?]*\?\?\?:/, "", name); sub(/\(.*/, "", name);
      printf "%9d  %s\n", $1 / n, name }'
if [[ -n "${KEEP_PROFILE:-}" ]]; then cp "$PROFILE" "$KEEP_PROFILE"; fi
