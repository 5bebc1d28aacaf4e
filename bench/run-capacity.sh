#!/usr/bin/env bash
# Scenario 2 — capacity with llorch-sim. (a) The most requests/s and tokens/s of short
# completions orchestratord (HOME profile, a llorch-sim pool) sustains with no errors, side by side
# with nginx proxying an identical llorch-sim engine, and with the engine straight. (b) How many
# concurrent streams orchestratord holds, with its RSS (nginx alongside for reference).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_parse_args "$@"

LEVELS=(16 64 256); DURATION=3; WARMUP=0.5; TOKENS=4; ROUNDS=${ROUNDS:-2}
HOLD=8000; HOLD_TOKENS=20; HOLD_ITL=500ms; HOLD_RAMP=6
if ((SMOKE)); then LEVELS=(16); DURATION=1; WARMUP=0; ROUNDS=1; HOLD=200; HOLD_TOKENS=10; HOLD_ITL=50ms; HOLD_RAMP=0.5; fi
LAT=(--ttft 1ms --itl 1ms)

# (a) requests/s of short completions.
SIM_PORT=$(free_port)
bench_start sim "$SIM" --port "$SIM_PORT" --slots 1024 -c 256 "${LAT[@]}"
wait_http "http://127.0.0.1:$SIM_PORT/health" 20
NGINX_PORT=$(free_port)
nginx_start "$NGINX_PORT" "127.0.0.1:$SIM_PORT"
wait_http "http://127.0.0.1:$NGINX_PORT/health" 20
NGINX_PIDS=$(with_children "$NGINX_PID" | tr '\n' ' ')
sim_pool_toml sim0 1024 "${LAT[@]}" >"$WORK/rate.toml"
orch_start orch "$WORK/rate.toml"

# orch = the task API (POST /v2/tasks, then GET its events: two exchanges per request);
# orch-stream = the task API in one exchange (POST /v2/tasks with Accept: text/event-stream);
# orch-openai = the same orchestratord through POST /v1/completions (one exchange, like nginx's).
declare -A URL=([direct]="http://127.0.0.1:$SIM_PORT" [nginx]="http://127.0.0.1:$NGINX_PORT"
               [orch]="http://127.0.0.1:$ORCH_PORT" [orch-stream]="http://127.0.0.1:$ORCH_PORT"
               [orch-openai]="http://127.0.0.1:$ORCH_PORT")
declare -A KIND=([direct]=llamacpp [nginx]=llamacpp [orch]=orch [orch-stream]=orch-stream
                 [orch-openai]=openai-completions)
declare -A CPU_PIDS=([direct]="" [nginx]="$NGINX_PIDS" [orch]="$ORCH_PID" [orch-stream]="$ORCH_PID"
                     [orch-openai]="$ORCH_PID")
for ((round = 1; round <= ROUNDS; round++)); do
  for c in "${LEVELS[@]}"; do
    for t in direct nginx orch orch-stream orch-openai; do
      name="$t-c$c-r$round"
      before=$(cpu_seconds ${CPU_PIDS[$t]})
      loadgen "$name" --target "${KIND[$t]}" --url "${URL[$t]}" --model sim -c "$c" \
        -d "$DURATION" --warmup "$WARMUP" --max-tokens $TOKENS | sed 's/^/  /'
      after=$(cpu_seconds ${CPU_PIDS[$t]})
      jadd "$name" proxy_cpu_s "$(awk -v a="$after" -v b="$before" 'BEGIN { print a - b }')"
      jadd "$name" streams "$c"; jadd "$name" round "$round"
      jq --arg t "$t" '. + {kind: $t}' "$WORK/$name.json" >>"$WORK/rate.jsonl"
    done
  done
done
bench_stop "$ORCH_PID"; bench_stop "$NGINX_PID"; bench_stop "$(pgrep -P "$ORCH_PID" || true)" 2>/dev/null || true

rate_table=$(jq -rs '
  def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  group_by(.kind)[] | group_by(.streams)[]
  | "| \(.[0].kind) | \(.[0].streams) | \(map(.requests_per_s) | med | round) | \(map(.tokens_per_s) | med | round) | \(map(.ttft_ms.p50) | med * 100 | round / 100) | \(map(.ttft_ms.p99) | med * 100 | round / 100) | \(map(.requests_failed) | add) | \(if .[0].kind == "direct" then "—" else ((map(.proxy_cpu_s) | add) / (map(.requests_ok) | add) * 1e6 | round | tostring) end) |"
' "$WORK/rate.jsonl")
best=$(jq -rs '
  def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  [group_by(.kind)[] | {kind: .[0].kind, best: ([group_by(.streams)[] | select(map(.requests_failed) | add == 0)
     | {streams: .[0].streams, rps: (map(.requests_per_s) | med), tps: (map(.tokens_per_s) | med)}] | max_by(.rps))}]
  | map({key: .kind, value: .best}) | from_entries
' "$WORK/rate.jsonl")
rate_targets=$(jq -r '
  "- orchestratord sustains \(.orch.rps // 0 | round) req/s (\(.orch.tps // 0 | round) tokens/s) of \('"$TOKENS"')-token completions with 0 errors (best at \(.orch.streams // "n/a") streams); nginx \(.nginx.rps // 0 | round) req/s; the engine straight \(.direct.rps // 0 | round) req/s. orch ÷ nginx = \(((.orch.rps // 0) / (.nginx.rps // 1)) * 100 | round / 100) (target ≥ 1: \(if (.orch.rps // 0) >= (.nginx.rps // 1) then "met" else "missed" end)); absolute target ~1,000 req/s per instance: \(if (.orch.rps // 0) >= 1000 then "met" else "missed" end). The task API in one exchange (orch-stream): \(.["orch-stream"].rps // 0 | round) req/s, ÷ nginx = \(((.["orch-stream"].rps // 0) / (.nginx.rps // 1)) * 100 | round / 100). Through the OpenAI-compatible endpoint (one exchange per request): \(.["orch-openai"].rps // 0 | round) req/s, ÷ nginx = \(((.["orch-openai"].rps // 0) / (.nginx.rps // 1)) * 100 | round / 100)."
' <<<"$best")

# (b) concurrent streams held.
hold() {  # NAME KIND URL PIDS_TO_WATCH...
  local name="$1" kind="$2" url="$3"; shift 3
  local watch=("$@")
  ( while :; do
      local r=0 h=0 p
      for p in "${watch[@]}"; do
        [[ -r /proc/$p/status ]] || continue
        read -r a b < <(rss_mb "$p"); r=$(awk -v x="$r" -v y="$a" 'BEGIN { print x + y }'); h=$(awk -v x="$h" -v y="$b" 'BEGIN { print x + y }')
      done
      echo "$r $h"; sleep 0.5
    done ) >"$WORK/$name.rss" &
  local sampler=$!
  BENCH_PIDS+=("$sampler")
  loadgen "$name" --target "$kind" --url "$url" --model sim -c "$HOLD" -n "$HOLD" --ramp "$HOLD_RAMP" \
    --max-tokens $HOLD_TOKENS --timeout 120 --progress 2> >(awk 'NR % 4 == 0' >&2) | sed 's/^/  /'
  kill "$sampler" 2>/dev/null || true
  jadd "$name" rss_max_mb "$(sort -g -k1 "$WORK/$name.rss" | tail -1 | cut -d' ' -f1)"
  jadd "$name" hwm_mb "$(sort -g -k2 "$WORK/$name.rss" | tail -1 | cut -d' ' -f2)"
}
# A pool has at most 1,024 slots: the streams are spread over pools of 1,000, each its own engine;
# nginx gets the same engines (as many llorch-sim processes, round-robin), so both sides run the
# same engine work on the same cores.
HOLD_POOLS=$(( (HOLD + 999) / 1000 ))
for ((i = 0; i < HOLD_POOLS; i++)); do
  sim_pool_toml "hold$i" $(( HOLD / HOLD_POOLS )) --ttft 10ms --itl "$HOLD_ITL"; echo
done >"$WORK/hold.toml"
orch_start orch-hold "$WORK/hold.toml"
wait_pools_ready "$ORCH_PORT" "$HOLD_POOLS"
echo "holding $HOLD streams through orchestratord ..."
hold hold-orch orch "http://127.0.0.1:$ORCH_PORT" "$ORCH_PID"
bench_stop "$ORCH_PID"
# A fresh orchestratord for the one-exchange run: the first run's 8,000 tasks, still retained,
# would count in its RSS.
orch_start orch-hold-stream "$WORK/hold.toml"
wait_pools_ready "$ORCH_PORT" "$HOLD_POOLS"
echo "holding $HOLD streams through orchestratord, one exchange each ..."
hold hold-orch-stream orch-stream "http://127.0.0.1:$ORCH_PORT" "$ORCH_PID"
bench_stop "$ORCH_PID"
HOLD_UPSTREAMS=()
for ((i = 0; i < HOLD_POOLS; i++)); do
  port=$(free_port)
  bench_start "sim-hold$i" "$SIM" --port "$port" --slots $(( HOLD / HOLD_POOLS )) -c 256 --ttft 10ms --itl "$HOLD_ITL"
  wait_http "http://127.0.0.1:$port/health" 20
  HOLD_UPSTREAMS+=("127.0.0.1:$port")
done
NGINX2_PORT=$(free_port)
nginx_start "$NGINX2_PORT" "${HOLD_UPSTREAMS[@]}"
wait_http "http://127.0.0.1:$NGINX2_PORT/health" 20
echo "holding $HOLD streams through nginx ..."
hold hold-nginx llamacpp "http://127.0.0.1:$NGINX2_PORT" $(with_children "$NGINX_PID")
bench_stop "$NGINX_PID"

hold_table=$(for n in hold-orch hold-orch-stream hold-nginx; do jq -r '"| \(.label) | \(.peak_in_flight) | \(.requests_ok) | \(.requests_failed) | \(.errors | to_entries | map("\(.key) \(.value)") | join(", ")) | \(.rss_max_mb) | \(.hwm_mb) | \(.ttft_ms.p50 * 10 | round / 10) | \(.ttft_ms.p99 * 10 | round / 10) | \(.itl_ms.p99 * 10 | round / 10) |"' "$WORK/$n.json"; done)
hold_target=$(jq -r '"- orchestratord held \(.peak_in_flight) concurrent streams (\(.requests_failed) failed) at \(.rss_max_mb) MB RSS (peak \(.hwm_mb) MB). Target 8,000 streams under 300 MB: \(if .peak_in_flight >= 8000 and .requests_failed == 0 and .hwm_mb < 300 then "met" else "missed" end)."' "$WORK/hold-orch.json")
hold_ttft=$(jq -rs '"- TTFT p99 over the ramp, ÷ nginx'"'"'s: task API \((.[0].ttft_ms.p99 / .[2].ttft_ms.p99) * 100 | round / 100), one exchange \((.[1].ttft_ms.p99 / .[2].ttft_ms.p99) * 100 | round / 100) (target ≤ 2: \(if .[1].ttft_ms.p99 <= 2 * .[2].ttft_ms.p99 then "met" else "missed" end))."' "$WORK/hold-orch.json" "$WORK/hold-orch-stream.json" "$WORK/hold-nginx.json")

rate_header='| path | streams | req/s | tokens/s | TTFT p50 ms | TTFT p99 ms | failed | proxy CPU µs / request |
|---|---:|---:|---:|---:|---:|---:|---:|'
hold_header='| run | peak streams | ok | failed | errors | RSS max MB | RSS peak (HWM) MB | TTFT p50 ms | TTFT p99 ms | ITL p99 ms |
|---|---:|---:|---:|---|---:|---:|---:|---:|---:|'
echo; echo "$rate_header"; echo "$rate_table"; echo; echo "$rate_targets"; echo; echo "$hold_header"; echo "$hold_table"; echo; echo "$hold_target"; echo "$hold_ttft"
if ((SMOKE)); then
  jq -e -s 'map(.requests_failed) | add == 0' "$WORK/rate.jsonl" "$WORK/hold-orch.json" >/dev/null || { echo "smoke: FAILED (failed requests)"; exit 1; }
  echo "smoke: ok"; exit 0
fi

out=$(result_file capacity)
{
  echo "# Scenario 2 — capacity with llorch-sim"
  echo
  echo "Command: \`bench/run-capacity.sh${ROUNDS:+ --rounds $ROUNDS}\`"
  echo
  machine_markdown
  echo "- (a) Short completions: $TOKENS tokens each, llorch-sim with TTFT 1 ms and ITL 1 ms, 1,024 slots. Paths: direct = loadgen → llorch-sim /completion; nginx = loadgen → nginx (1 worker, proxy_buffering off, upstream keepalive, access_log off) → llorch-sim; orch = loadgen → orchestratord HOME (POST /v2/tasks + SSE events, log level warn) → its own llorch-sim with the same settings; orch-stream = the same orchestratord, POST /v2/tasks with Accept: text/event-stream answered by the task's events (one exchange per request); orch-openai = the same orchestratord through POST /v1/completions with stream=true (one exchange per request). Closed loop at ${LEVELS[*]} streams, ${DURATION} s each after ${WARMUP} s warm-up, $ROUNDS rounds interleaved; medians. The load generator, the proxy and the simulator share the machine's $(nproc) CPUs."
  echo "- (b) Held streams: $HOLD streams opened over ${HOLD_RAMP} s, each $HOLD_TOKENS tokens at one token per $HOLD_ITL (about $(( HOLD_TOKENS * ${HOLD_ITL%ms} / 1000 )) s), orchestratord with $HOLD_POOLS llorch-sim pools of $(( HOLD / HOLD_POOLS )) slots (a pool has at most 1,024), nginx (1 worker, round-robin) in front of $HOLD_POOLS llorch-sim processes of the same size; RSS of the proxy sampled every 0.5 s (orchestratord's RSS excludes its engine child). Descriptor limit $(ulimit -n)."
  echo
  echo "## (a) Requests/s of short completions"
  echo
  echo "$rate_header"; echo "$rate_table"
  echo
  echo "$rate_targets"
  echo
  echo "## (b) Concurrent streams"
  echo
  echo "$hold_header"; echo "$hold_table"
  echo
  echo "$hold_target"
  echo "$hold_ttft"
} >"$out"
echo "wrote $out"
