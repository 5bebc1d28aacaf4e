#!/usr/bin/env bash
# Swap-aware scheduling of on-demand models vs plain FIFO (docs/models.md). One HOME
# orchestratord with three on-demand llorch-sim models (`memory_mib` each) and a CPU memory
# budget that holds two of them; a mixed open-loop workload (Poisson arrivals, each request for
# one of the three models at random) over more models than fit. Measured for each rule, side by
# side: swaps (evictions of a loaded model to load another), throughput (requests completed per
# second, first arrival to last end), and the wait before the first token (p50/p99; queue wait
# plus load wait plus the sim's fixed time to first token).
#   swap-aware: --swap-wait-ms 3000 (the default): a loaded model keeps taking requests for up to
#               3 s after another model's load began to wait for its memory (or after it loaded).
#   FIFO:       --swap-wait-ms 0: the loaded model stops taking requests as soon as a request
#               for another model waits for its memory, and the swap follows once its requests
#               in flight end — what a naive scheduler does (llama-swap, Ollama's scheduler):
#               requests are served in the order they come, switching models whenever the next
#               one needs another.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_parse_args "$@"

ROUNDS=${ROUNDS:-1}
RATE=12; DURATION=30; TOKENS=16; TTFT=20ms; ITL=5ms; LOAD=500ms; SLOTS=2
MEM_MIB=600; BUDGET_MIB=1300
SWAP_WAIT_MS=3000
if ((SMOKE)); then RATE=6; DURATION=3; fi
MODELS=(m1 m2 m3)

for m in "${MODELS[@]}"; do
  cat <<TOML
[[pools]]
id = "$m"
engine = "sim"
name = "$m"
slots = $SLOTS
on_demand = true
memory_mib = $MEM_MIB
extra_args = ["--ttft", "$TTFT", "--itl", "$ITL", "--slow-start", "$LOAD"]

TOML
done >"$WORK/pools.toml"

# run NAME SWAP_WAIT_MS → $WORK/NAME.csv (records of the three models) and $WORK/NAME.log
run() {
  local name="$1" wait_ms="$2" i pids=() port=""
  bench_start "$name" "$ORCH" --config "$WORK/pools.toml" --addr 127.0.0.1:0 \
    --runtime-dir "$WORK/rt-$name" --log-level info --memory-budget-mib "$BUDGET_MIB" \
    --swap-wait-ms "$wait_ms"
  local orch_pid=$LAST_PID
  for ((i = 0; i < 300; i++)); do
    port=$(sed -n 's/.*orchestratord listening on [0-9.]*:\([0-9]*\)$/\1/p' "$WORK/$name.log" || true)
    [[ -n "$port" ]] && break
    sleep 0.1
  done
  [[ -n "$port" ]] || { echo "orchestratord did not start" >&2; exit 1; }
  wait_http "http://127.0.0.1:$port/health" 30
  local n=0
  for m in "${MODELS[@]}"; do
    n=$((n + 1))
    "$LOADGEN" --target orch --url "http://127.0.0.1:$port" --model "$m" \
      --rate "$(awk -v r="$RATE" -v k="${#MODELS[@]}" 'BEGIN { print r / k }')" -d "$DURATION" \
      --max-tokens "$TOKENS" --timeout 600 --seed "$((n * 7919))" --label "$name-$m" \
      --records "$WORK/$name-$m.csv" >"$WORK/$name-$m.out" 2>&1 &
    pids+=($!)
  done
  local failed=0
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  ((failed == 0)) || { echo "the load generator failed" >&2; cat "$WORK/$name"-*.out >&2; exit 1; }
  { head -1 "$WORK/$name-m1.csv"; for m in "${MODELS[@]}"; do tail -n +2 "$WORK/$name-$m.csv"; done; } \
    >"$WORK/$name.csv"
  bench_stop "$orch_pid"
}

# figures NAME → "swaps loads ok failed throughput p50 p99 max"
figures() {
  local name="$1" swaps loads
  swaps=$(grep -c 'state ready -> unloading: evicted to load' "$WORK/$name.log" || true)
  loads=$(grep -c 'state offline -> provisioning\|state uninitialized -> provisioning' "$WORK/$name.log" || true)
  tail -n +2 "$WORK/$name.csv" | sort -t, -k6 -g | awk -F, -v s="$swaps" -v l="$loads" '
    { n++; if ($3 == 1) { ok++; t[ok] = $6 } else bad++
      if (first == "" || $1 < first) first = $1; if ($2 > last) last = $2 }
    END {
      i50 = int(0.50 * ok + 0.999); i99 = int(0.99 * ok + 0.999)
      if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1
      printf "%d %d %d %d %.2f %.0f %.0f %.0f\n", s, l, ok, bad + 0, ok / (last - first), t[i50], t[i99], t[ok]
    }'
}

declare -A RES
for ((r = 1; r <= ROUNDS; r++)); do
  for rule in swap-aware fifo; do
    wait_ms=$SWAP_WAIT_MS; [[ $rule == fifo ]] && wait_ms=0
    echo "round $r: $rule (--swap-wait-ms $wait_ms), $RATE requests/s for ${DURATION}s over ${#MODELS[@]} models" >&2
    run "$rule-$r" "$wait_ms"
    RES[$rule-$r]=$(figures "$rule-$r")
    echo "  swaps loads ok failed req/s p50_ms p99_ms max_ms: ${RES[$rule-$r]}" >&2
  done
done

bad=0
for k in "${!RES[@]}"; do
  read -r _ _ ok failed _ <<<"${RES[$k]}"
  ((failed == 0 && ok > 0)) || { echo "$k: $failed requests failed" >&2; bad=1; }
done
((SMOKE)) && { ((bad == 0)) && echo "swap smoke run passed"; exit $bad; }

out=$(result_file swap)
{
  echo "# Swap-aware scheduling vs FIFO — $(date -u +%Y-%m-%d)"
  echo
  echo "Command: \`bench/run-swap.sh${ROUNDS:+ --rounds $ROUNDS}\` at $(git -C "$REPO_DIR" rev-parse --short HEAD)"
  echo
  machine_markdown
  echo
  echo "One HOME orchestratord, three on-demand llorch-sim models (m1, m2, m3; $SLOTS slots, time to"
  echo "first token $TTFT, $ITL per token, $TOKENS tokens per request, a load of $LOAD simulated with"
  echo "\`--slow-start\`), each taken to hold $MEM_MIB MiB (\`memory_mib\`), a CPU budget of $BUDGET_MIB MiB"
  echo "(\`--memory-budget-mib\`): two models fit, three do not. Open loop, $RATE requests/s in all"
  echo "(Poisson, a third for each model) for ${DURATION} s. Swap-aware: \`--swap-wait-ms $SWAP_WAIT_MS\`."
  echo "FIFO: \`--swap-wait-ms 0\`, the loaded model stops taking requests as soon as a request for"
  echo "another model waits for its memory (what llama-swap and Ollama's scheduler do: requests in"
  echo "the order they come, switching models whenever the next one needs another). Swaps: loaded"
  echo "models evicted for another's load; wait: time to the first token (queue, load, and the sim's"
  echo "$TTFT). Throughput: requests completed ÷ (last end − first arrival)."
  echo
  echo "| round | rule | swaps | loads | requests ok | failed | requests/s | wait p50 ms | wait p99 ms | wait max ms |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for ((r = 1; r <= ROUNDS; r++)); do
    for rule in swap-aware fifo; do
      read -r s l ok f tp p50 p99 mx <<<"${RES[$rule-$r]}"
      echo "| $r | $rule | $s | $l | $ok | $f | $tp | $p50 | $p99 | $mx |"
    done
  done
} >"$out"
cat "$out"
echo "written: $out" >&2
exit $bad
