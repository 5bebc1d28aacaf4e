#!/usr/bin/env bash
# Scenario 4 — two servers. (a) Throughput through llama-orch with one vs two simulated servers
# of equal capacity, and the load imbalance between the two. (b) Time from a server's death
# (its engine process killed) to the last failed request. (c) Two real llama-servers behind
# HAProxy (balance leastconn, health checks) vs through llama-orch vs the two engines straight.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_parse_args "$@"

SLOTS=8; STREAMS=32; TOKENS=16; DURATION=4; WARMUP=0.5; ROUNDS=${ROUNDS:-2}
KILL_AT=2; DEATH_DURATION=6; DEATH_STREAMS=16
REAL_SLOTS=8; REAL_STREAMS=16; REAL_TOKENS=32; CTX=512
if ((SMOKE)); then DURATION=1; WARMUP=0; ROUNDS=1; KILL_AT=0.7; DEATH_DURATION=1.5; fi
LAT=(--ttft 20ms --itl 10ms)
KEY="bench-key-0123456789abcdef"

sim_pool() {  # ID
  cat <<TOML
[[pools]]
id = "$1"
engine = "sim"
model = "$SIM"
name = "sim"
device = "cpu"
slots = $SLOTS
ctx = 256
threads = 1
engine_path = "$SIM_ENGINE"
extra_args = ["--ttft", "20ms", "--itl", "10ms"]
TOML
}

# (a) one vs two simulated servers.
sim_pool a >"$WORK/one.toml"
{ sim_pool a; echo; sim_pool b; } >"$WORK/two.toml"
orch_start orch-one "$WORK/one.toml"; ONE_PORT=$ORCH_PORT; ONE_PID=$ORCH_PID
orch_start orch-two "$WORK/two.toml"; TWO_PORT=$ORCH_PORT; TWO_PID=$ORCH_PID
wait_pools_ready "$TWO_PORT" 2
for ((round = 1; round <= ROUNDS; round++)); do
  for n in one two; do
    port=$([[ $n == one ]] && echo "$ONE_PORT" || echo "$TWO_PORT")
    name="sim-$n-r$round"
    loadgen "$name" --target orch --url "http://127.0.0.1:$port" --model sim -c $STREAMS \
      -d "$DURATION" --warmup "$WARMUP" --max-tokens $TOKENS | sed 's/^/  /'
    jadd "$name" servers "$([[ $n == one ]] && echo 1 || echo 2)"
    cat "$WORK/$name.json" >>"$WORK/scale.jsonl"
  done
done
bench_stop "$ONE_PID"
scale=$(jq -rs '
  def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  (map(select(.servers == 1)) | map(.tokens_per_s) | med) as $one
  | (map(select(.servers == 2)) | map(.tokens_per_s) | med) as $two
  | (map(select(.servers == 2)) | map(.pools | [.[]] | (max / (add / length) - 1)) | med) as $imb
  | (map(select(.servers == 2)) | map(.pools) | map(to_entries | map("\(.key) \(.value)") | join(" / ")) | join("; ")) as $counts
  | (map(.requests_failed) | add) as $failed
  | { one: $one, two: $two, ratio: ($two / $one), imbalance: $imb, counts: $counts, failed: $failed }
' "$WORK/scale.jsonl")

# (b) a server dies: kill pool b's engine under load, through the two-pool orchestratord.
victim=$(curl -fsS "http://127.0.0.1:$TWO_PORT/v2/pools" | jq -r '.pools[] | select(.id == "b") | .pid')
(
  sleep "$KILL_AT"
  date +%s.%N >"$WORK/kill_time"
  kill -9 "$victim"
) &
KILLER=$!
loadgen death --target orch --url "http://127.0.0.1:$TWO_PORT" --model sim -c $DEATH_STREAMS \
  -d "$DEATH_DURATION" --max-tokens $TOKENS --records "$WORK/death.csv" | sed 's/^/  /'
wait "$KILLER"
kill_time=$(cat "$WORK/kill_time")
if kill -0 "$victim" 2>/dev/null; then echo "the engine $victim was not killed" >&2; exit 1; fi
restarts=$(curl -fsS "http://127.0.0.1:$TWO_PORT/v2/pools" | jq '.pools[] | select(.id == "b") | .restarts')
death=$(awk -F, -v k="$kill_time" 'NR > 1 && $3 == 0 { n++; if ($2 > last) last = $2; if ($1 < k) before++ }
  NR > 1 && $3 == 1 && $1 > k + 0 { okafter++ }
  END { printf "{\"failed\": %d, \"failed_started_before_kill\": %d, \"last_failure_after_kill_s\": %.3f, \"ok_started_after_kill\": %d}\n",
        n, before, (n ? last - k : 0), okafter }' "$WORK/death.csv")
death_errors=$(jq -r '.errors | to_entries | map("\(.key) \(.value)") | join(", ")' "$WORK/death.json")
bench_stop "$TWO_PID"

# (c) two real llama-servers: straight, HAProxy, llama-orch.
real=""
if [[ -x "$LLAMA_SERVER" && -f "$MODEL" ]]; then
  E1=$(free_port); E2=$(free_port)
  for p in "$E1" "$E2"; do
    bench_start "engine-$p" "$LLAMA_SERVER" -m "$MODEL" --host 127.0.0.1 --port "$p" -np $REAL_SLOTS \
      -c $((REAL_SLOTS * CTX)) --api-key "$KEY" --no-webui -t 1
  done
  wait_http "http://127.0.0.1:$E1/health" 60; wait_http "http://127.0.0.1:$E2/health" 60
  HA_PORT=$(free_port)
  haproxy_start "$HA_PORT" "127.0.0.1:$E1" "127.0.0.1:$E2"
  wait_http "http://127.0.0.1:$HA_PORT/health" 20
  {
    for id in r1 r2; do
      printf '[[pools]]\nid = "%s"\nengine = "llamacpp"\nmodel = "%s"\nname = "tiny"\nengine_path = "%s"\ndevice = "cpu"\nslots = %d\nctx = %d\nthreads = 1\n\n' \
        "$id" "$MODEL" "$LLAMA_SERVER" $REAL_SLOTS $CTX
    done
  } >"$WORK/real.toml"
  orch_start orch-real "$WORK/real.toml"
  wait_pools_ready "$ORCH_PORT" 2
  declare -A CPU_PIDS=([straight]="" [haproxy]="$HAPROXY_PID" [orch]="$ORCH_PID")
  for ((round = 1; round <= ROUNDS; round++)); do
    for t in straight haproxy orch; do
      name="real-$t-r$round"
      case $t in
        straight) args=(--target llamacpp --url "http://127.0.0.1:$E1" --url "http://127.0.0.1:$E2") ;;
        haproxy) args=(--target llamacpp --url "http://127.0.0.1:$HA_PORT") ;;
        orch) args=(--target orch --url "http://127.0.0.1:$ORCH_PORT") ;;
      esac
      before=$(cpu_seconds ${CPU_PIDS[$t]})
      loadgen "$name" "${args[@]}" --api-key "$KEY" --model tiny -c $REAL_STREAMS -d "$DURATION" \
        --warmup "$WARMUP" --max-tokens $REAL_TOKENS | sed 's/^/  /'
      after=$(cpu_seconds ${CPU_PIDS[$t]})
      jadd "$name" proxy_cpu_s "$(awk -v a="$after" -v b="$before" 'BEGIN { print a - b }')"
      jadd "$name" round "$round"
      jq --arg t "$t" '. + {kind: $t}' "$WORK/$name.json" >>"$WORK/real.jsonl"
    done
  done
  real=$(jq -rs '
    def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    (map(select(.kind == "straight")) | map({key: (.round | tostring), value: .tokens_per_s}) | from_entries) as $s
    | group_by(.kind)[]
    | "| \(.[0].kind) | \(map(.tokens_per_s) | med | round) | \(map(.tokens_per_s / $s[.round | tostring]) | med * 1000 | round / 1000) | \(map(.ttft_ms.p50) | med * 100 | round / 100) | \(map(.ttft_ms.p99) | med * 100 | round / 100) | \(map(.itl_ms.p50) | med * 1000 | round / 1000) | \(map(.itl_ms.p99) | med * 100 | round / 100) | \(map(.requests_failed) | add) | \(if .[0].kind == "straight" then "—" else ((map(.proxy_cpu_s) | add) / (map(.tokens_all) | add) * 1000 * 10000 | round / 10000 | tostring) end) | \(map(.pools | to_entries | map("\(.key) \(.value)") | join(" / ")) | map(select(. != "")) | join("; ")) |"
  ' "$WORK/real.jsonl")
else
  echo "llama-server or the tiny model not found: skipping the real-engine part" >&2
fi

scale_text=$(jq -r '"- One server: \(.one | round) tokens/s; two servers: \(.two | round) tokens/s; ratio \(.ratio * 100 | round / 100)× (target ≥ 1.9: \(if .ratio >= 1.9 then "met" else "missed" end)).\n- Load imbalance (busiest server ÷ mean − 1, by requests served): \(.imbalance * 1000 | round / 10)% (target < 5%: \(if .imbalance < 0.05 then "met" else "missed" end)); requests per pool by round: \(.counts). Failed requests: \(.failed)."' <<<"$scale")
death_text=$(jq -r --arg e "$death_errors" '"- Engine of pool b killed (SIGKILL) \('"$KILL_AT"') s into a \('"$DEATH_DURATION"') s run at \('"$DEATH_STREAMS"') streams: \(.failed) failed requests (\(.failed_started_before_kill) of them started before the kill; errors: \(if $e == "" then "none" else $e end)); last failure \(.last_failure_after_kill_s) s after the kill (target < 1 s: \(if .last_failure_after_kill_s < 1 then "met" else "missed" end)); \(.ok_started_after_kill) requests started after the kill succeeded; the pool restarted its engine \('"$restarts"') time(s)."' <<<"$death")
real_header='| path | tokens/s | ÷ straight | TTFT p50 ms | TTFT p99 ms | ITL p50 ms | ITL p99 ms | failed | proxy CPU s / 1k tokens | requests per pool |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---|'
echo; echo "$scale_text"; echo "$death_text"; echo; echo "$real_header"; echo "$real"
if ((SMOKE)); then
  jq -e -s 'map(.requests_failed) | add == 0' "$WORK/scale.jsonl" >/dev/null || { echo "smoke: FAILED (failed requests)"; exit 1; }
  echo "smoke: ok"; exit 0
fi

out=$(result_file two-servers)
{
  echo "# Scenario 4 — two servers"
  echo
  echo "Command: \`bench/run-two-servers.sh${ROUNDS:+ --rounds $ROUNDS}\`"
  echo
  machine_markdown
  echo "- (a) llorch-sim engines of $SLOTS slots each (TTFT 20 ms, ITL 10 ms), $TOKENS tokens per request, closed loop at $STREAMS streams (more than both servers' slots, so capacity bounds throughput), ${DURATION} s per run after ${WARMUP} s warm-up, $ROUNDS rounds alternating one-pool and two-pool orchestratord (HOME, default round-robin placement); medians."
  echo "- (b) The two-pool orchestratord, $DEATH_STREAMS streams; pool b's engine process gets SIGKILL; per-request records give the last failure."
  echo "- (c) Two llama-servers (tiny model, -np $REAL_SLOTS, -t 1), $REAL_STREAMS streams of $REAL_TOKENS tokens: straight = the load generator alternates between the two engines; haproxy = HAProxy (balance leastconn, option httpchk GET /health every 1 s) in front of them; orch = orchestratord with two llamacpp pools (its own two engines, same flags). $ROUNDS rounds interleaved, medians."
  echo
  echo "## (a) One vs two simulated servers"
  echo
  echo "$scale_text"
  echo
  echo "## (b) Death of a server"
  echo
  echo "$death_text"
  echo
  echo "## (c) Two real llama-servers"
  echo
  echo "$real_header"; echo "$real"
} >"$out"
echo "wrote $out"
