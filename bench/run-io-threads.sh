#!/usr/bin/env bash
# orchestratord with one io thread against two, side by side in one run: two orchestratord
# processes (--io-threads 1 and 2), each with its own llorch-sim pool (TTFT and ITL 1 ms), loaded
# in turn with the same closed loop of short completions (4 tokens), round after round. Reports
# req/s and orchestratord's CPU per request (utime + stime from /proc) for each, and the medians.
# The question it answers: on this machine, does a second io thread pay for its cross-thread
# hand-offs? (http::default_io_threads; bench/results/io-threads-2026-12-02.md.)
#
#   bench/run-io-threads.sh [--target orch|orch-stream|openai-completions] [-c STREAMS]
#                           [--rounds N] [--smoke] [--build DIR] [--results DIR]
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
TARGET=orch-stream; STREAMS=64; args=()
while (($#)); do
  case "$1" in
    --target) TARGET="$2"; shift 2 ;;
    -c) STREAMS="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
bench_parse_args "${args[@]}"
ROUNDS=${ROUNDS:-4}; DURATION=3; WARMUP=0.5
if ((SMOKE)); then ROUNDS=1; DURATION=1; WARMUP=0; STREAMS=4; fi
sim_pool_toml sim0 1024 --ttft 1ms --itl 1ms >"$WORK/pool.toml"
declare -A PORT PID
for k in 1 2; do
  ORCHESTRATORD_IO_THREADS=$k orch_start "orch-t$k" "$WORK/pool.toml"
  PORT[$k]=$ORCH_PORT; PID[$k]=$ORCH_PID
  wait_pools_ready "$ORCH_PORT" 1
done
: >"$WORK/runs.tsv"
for ((r = 1; r <= ROUNDS; r++)); do
  for k in 1 2; do
    c0=$(cpu_seconds "${PID[$k]}")
    loadgen "r$r-t$k" --target "$TARGET" --url "http://127.0.0.1:${PORT[$k]}" --model sim \
      -c "$STREAMS" --duration "$DURATION" --warmup "$WARMUP" --max-tokens 4 >/dev/null
    c1=$(cpu_seconds "${PID[$k]}")
    # CPU over the whole run (warm-up included) per request completed in it.
    jq -r --arg k "$k" --arg r "$r" --arg c0 "$c0" --arg c1 "$c1" \
      '[$k, $r, (.requests_per_s | round), (.requests_ok), ((($c1 | tonumber) - ($c0 | tonumber)) * 1e6 / .requests_ok | round)] | @tsv' \
      "$WORK/r$r-t$k.json" >>"$WORK/runs.tsv"
  done
done
table=$(awk -F'\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $5 }' "$WORK/runs.tsv")
med() { awk -F'\t' -v k="$1" -v c="$2" '$1 == k { print $c }' "$WORK/runs.tsv" | median; }
summary="- Medians over $ROUNDS rounds ($TARGET, $STREAMS streams): one io thread $(med 1 3) req/s at $(med 1 5) µs CPU per request; two io threads $(med 2 3) req/s at $(med 2 5) µs."
header='| io threads | round | req/s | orchestratord CPU µs / request |
|---:|---:|---:|---:|'
if ((SMOKE)); then
  echo "$header"; echo "$table"; echo "$summary"
  awk -F'\t' '$4 > 0 { n++ } END { exit n == 2 ? 0 : 1 }' "$WORK/runs.tsv" || { echo "smoke: FAILED"; exit 1; }
  echo "smoke: ok"; exit 0
fi
out=$(result_file io-threads-ab)
{
  echo "# orchestratord: one io thread against two"
  echo
  echo "Command: \`bench/run-io-threads.sh --target $TARGET -c $STREAMS --rounds $ROUNDS\`"
  echo
  machine_markdown
  echo "- Two orchestratord processes (\`--io-threads 1\` and \`2\`), each with its own llorch-sim pool (TTFT and ITL 1 ms, 1,024 slots), loaded in turn: closed loop of 4-token completions, $DURATION s after $WARMUP s warm-up per run. CPU: utime + stime of orchestratord over each run (warm-up included) per request completed."
  echo
  echo "$header"; echo "$table"; echo; echo "$summary"
} >"$out"
cat "$out"; echo "written: $out"
