#!/usr/bin/env bash
# Scenario 1 — overhead on the real engine. The same load (closed loop at 1, 4 and 16 streams,
# fixed token count) straight to llama-server, through nginx (proxy_buffering off, upstream
# keep-alive) and through orchestratord (HOME profile, its own llama-server with the same flags),
# interleaved round by round. Reports added TTFT p50/p99, tokens/s ratio against straight, and
# the CPU seconds per 1,000 tokens of each proxy.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_parse_args "$@"

STREAMS=(1 4 16); DURATION=4; WARMUP=0.5; TOKENS=32; ROUNDS=${ROUNDS:-3}
if ((SMOKE)); then STREAMS=(1 4); DURATION=1; WARMUP=0; ROUNDS=1; fi
SLOTS=16; CTX=512; KEY="bench-key-0123456789abcdef"
require_engine_and_model

# Straight: a llama-server started with the flags orchestratord gives its own.
ENGINE_PORT=$(free_port)
bench_start engine "$LLAMA_SERVER" -m "$MODEL" --host 127.0.0.1 --port "$ENGINE_PORT" -np $SLOTS \
  -c $((SLOTS * CTX)) --api-key "$KEY" --no-webui -t 1
wait_http "http://127.0.0.1:$ENGINE_PORT/health" 60

NGINX_PORT=$(free_port)
nginx_start "$NGINX_PORT" "127.0.0.1:$ENGINE_PORT"
wait_http "http://127.0.0.1:$NGINX_PORT/health" 20
NGINX_PIDS=$(with_children "$NGINX_PID" | tr '\n' ' ')

home_pool_toml "$WORK/home.toml" $SLOTS $CTX
orch_start orch "$WORK/home.toml"

declare -A URL=([direct]="http://127.0.0.1:$ENGINE_PORT" [nginx]="http://127.0.0.1:$NGINX_PORT"
               [orch]="http://127.0.0.1:$ORCH_PORT")
declare -A KIND=([direct]=llamacpp [nginx]=llamacpp [orch]=orch)
declare -A CPU_PIDS=([direct]="" [nginx]="$NGINX_PIDS" [orch]="$ORCH_PID")

for ((round = 1; round <= ROUNDS; round++)); do
  for s in "${STREAMS[@]}"; do
    for t in direct nginx orch; do
      name="$t-c$s-r$round"
      before=$(cpu_seconds ${CPU_PIDS[$t]})
      loadgen "$name" --target "${KIND[$t]}" --url "${URL[$t]}" --api-key "$KEY" --model tiny \
        -c "$s" -d "$DURATION" --warmup "$WARMUP" --max-tokens $TOKENS | sed 's/^/  /'
      after=$(cpu_seconds ${CPU_PIDS[$t]})
      jadd "$name" proxy_cpu_s "$(awk -v a="$after" -v b="$before" 'BEGIN { print a - b }')"
      jadd "$name" streams "$s"; jadd "$name" round "$round"
      jq --arg t "$t" '. + {kind: $t}' "$WORK/$name.json" >>"$WORK/all.jsonl"
    done
  done
done

# Per concurrency: medians over rounds of the per-round differences and ratios against direct.
summary=$(jq -rs '
  def med: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
           else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def f(n): if . == null then "n/a" else (. * pow(10; n) | round) / pow(10; n) | tostring end;
  group_by(.streams)[] as $g
  | ($g | map(select(.kind == "direct")) | map({key: (.round | tostring), value: .}) | from_entries) as $d
  | [ "direct", "nginx", "orch" ][] as $k
  | ($g | map(select(.kind == $k))) as $runs
  | {
      streams: $g[0].streams, kind: $k,
      ttft50: ($runs | map(.ttft_ms.p50) | med), ttft99: ($runs | map(.ttft_ms.p99) | med),
      add50: ($runs | map(.ttft_ms.p50 - $d[.round | tostring].ttft_ms.p50) | med),
      add99: ($runs | map(.ttft_ms.p99 - $d[.round | tostring].ttft_ms.p99) | med),
      tps: ($runs | map(.tokens_per_s) | med),
      ratio: ($runs | map(.tokens_per_s / $d[.round | tostring].tokens_per_s) | med),
      itl50: ($runs | map(.itl_ms.p50) | med), itl99: ($runs | map(.itl_ms.p99) | med),
      cpu1k: (if $k == "direct" then null
              else (($runs | map(.proxy_cpu_s) | add) / ($runs | map(.tokens_all) | add) * 1000) end),
      failed: ($runs | map(.requests_failed) | add)
    }
  | "| \(.streams) | \(.kind) | \(.ttft50 | f(2)) | \(.ttft99 | f(2)) | \(if .kind == "direct" then "—" else (.add50 | f(2)) end) | \(if .kind == "direct" then "—" else (.add99 | f(2)) end) | \(.tps | f(0)) | \(.ratio | f(3)) | \(.itl50 | f(3)) | \(.itl99 | f(2)) | \(.cpu1k | f(4)) | \(.failed) |"
' "$WORK/all.jsonl")
header='| streams | path | TTFT p50 ms | TTFT p99 ms | added TTFT p50 ms | added TTFT p99 ms | tokens/s | tokens/s ÷ direct | ITL p50 ms | ITL p99 ms | proxy CPU s / 1k tokens | failed |
|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'

# Targets: added TTFT p99 ≤ 1 ms, tokens/s ≥ 0.98× direct, no worse than nginx.
targets=$(jq -rs '
  def med: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
           else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  group_by(.streams)[] as $g
  | ($g | map(select(.kind == "direct")) | map({key: (.round | tostring), value: .}) | from_entries) as $d
  | def stat($k): ($g | map(select(.kind == $k))) as $r
      | { add99: ($r | map(.ttft_ms.p99 - $d[.round | tostring].ttft_ms.p99) | med),
          ratio: ($r | map(.tokens_per_s / $d[.round | tostring].tokens_per_s) | med),
          cpu: (($r | map(.proxy_cpu_s) | add) / ($r | map(.tokens_all) | add) * 1000) };
    stat("orch") as $o | stat("nginx") as $n
  | "- \($g[0].streams) streams: added TTFT p99 \($o.add99 * 100 | round / 100) ms (target ≤ 1 ms: \(if $o.add99 <= 1 then "met" else "missed" end)); tokens/s \($o.ratio * 1000 | round / 1000)× direct (target ≥ 0.98: \(if $o.ratio >= 0.98 then "met" else "missed" end)); against nginx: added TTFT p99 \($o.add99 * 100 | round / 100) vs \($n.add99 * 100 | round / 100) ms, tokens/s \($o.ratio * 1000 | round / 1000) vs \($n.ratio * 1000 | round / 1000), CPU \($o.cpu * 10000 | round / 10000) vs \($n.cpu * 10000 | round / 10000) s per 1k tokens (latency and tokens/s no worse than nginx: \(if $o.add99 <= $n.add99 + 0.05 and $o.ratio >= $n.ratio - 0.01 then "met" else "missed" end); CPU per token \($o.cpu / $n.cpu * 100 | round / 100)× nginx: \(if $o.cpu <= $n.cpu then "met" else "missed" end))"
' "$WORK/all.jsonl")

echo
echo "$header"; echo "$summary"; echo; echo "$targets"
if ((SMOKE)); then
  jq -e -s 'map(.requests_failed) | add == 0' "$WORK/all.jsonl" >/dev/null || { echo "smoke: FAILED (failed requests)"; exit 1; }
  echo "smoke: ok"; exit 0
fi

out=$(result_file overhead)
{
  echo "# Scenario 1 — overhead on the real engine"
  echo
  echo "Command: \`bench/run-overhead.sh${ROUNDS:+ --rounds $ROUNDS}\`"
  echo
  machine_markdown
  echo "- Engine: llama-server ($LLAMA_SERVER), model $(basename "$MODEL"), -np $SLOTS, -c $((SLOTS * CTX)), -t 1; each request $TOKENS tokens (ignore_eos), prompt \"Hello\"."
  echo "- Paths: direct = loadgen → llama-server /completion; nginx = loadgen → nginx (1 worker, proxy_buffering off, upstream keepalive, access_log off) → the same llama-server; orch = loadgen → orchestratord HOME (POST /v2/tasks + SSE events, log level warn) → its own llama-server with the same flags."
  echo "- Closed loop, ${DURATION} s per run after ${WARMUP} s warm-up, $ROUNDS rounds interleaved (direct, nginx, orch at each concurrency); medians over rounds of per-round differences and ratios. CPU: utime+stime of the proxy process(es) from /proc, summed over all rounds, per 1,000 tokens delivered."
  echo
  echo "## Summary"
  echo
  echo "$header"; echo "$summary"
  echo
  echo "## Targets"
  echo
  echo "$targets"
  echo
  echo "## Every run"
  echo
  echo "| run | TTFT p50 | TTFT p99 | ITL p50 | ITL p99 | E2E p50 | tokens/s | req/s | failed | proxy CPU s |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  jq -r '"| \(.label) | \(.ttft_ms.p50 * 1000 | round / 1000) | \(.ttft_ms.p99 * 1000 | round / 1000) | \(.itl_ms.p50 * 1000 | round / 1000) | \(.itl_ms.p99 * 1000 | round / 1000) | \(.e2e_ms.p50 * 100 | round / 100) | \(.tokens_per_s | round) | \(.requests_per_s * 10 | round / 10) | \(.requests_failed) | \(.proxy_cpu_s) |"' "$WORK/all.jsonl"
} >"$out"
echo "wrote $out"
