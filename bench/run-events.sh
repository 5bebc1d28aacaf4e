#!/usr/bin/env bash
# Scenario 7 — readers of the cluster event stream (GET /v2/events, the dashboard's and
# `llorch top`'s source). orchestratord's resident memory and CPU with no reader, with READERS
# readers held for a while (each gets a snapshot, then a stats event every second), and after
# they left: what a reader costs, and that a departed one costs nothing more.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_parse_args "$@"
require_pkg python3 python3
require_pkg jq jq

READERS=1000; HOLD=20; SAMPLE=10
if ((SMOKE)); then READERS=20; HOLD=4; SAMPLE=2; fi
require_engine_and_model
home_pool_toml "$WORK/home.toml" 1 1024
orch_start orch "$WORK/home.toml"
wait_pools_ready "$ORCH_PORT" 1

sample() {  # SECONDS → "cpu_percent rss_mb"
  local c0 c1
  c0=$(cpu_seconds "$ORCH_PID"); sleep "$1"; c1=$(cpu_seconds "$ORCH_PID")
  echo "$(awk -v a="$c0" -v b="$c1" -v s="$1" 'BEGIN { printf "%.1f", 100 * (b - a) / s }') $(rss_mb "$ORCH_PID" | cut -d' ' -f1)"
}
read -r idle_cpu idle_rss < <(sample "$SAMPLE")
python3 "$BENCH_DIR/lib/event_readers.py" 127.0.0.1 "$ORCH_PORT" "$READERS" "$HOLD" >"$WORK/readers.json" &
readers_pid=$!
sleep $(( (HOLD - SAMPLE) / 2 ))
read -r held_cpu held_rss < <(sample "$SAMPLE")
wait "$readers_pid"
sleep 2
read -r after_cpu after_rss < <(sample "$SAMPLE")
connected=$(jq .connected "$WORK/readers.json")
snapshots=$(jq .snapshots "$WORK/readers.json")
echo "readers: $connected of $READERS connected ($snapshots snapshots)"
echo "orchestratord: idle ${idle_cpu}% CPU ${idle_rss} MB; with readers ${held_cpu}% CPU ${held_rss} MB;" \
  "after they left ${after_cpu}% CPU ${after_rss} MB"
if ((SMOKE)); then
  [[ "$connected" == "$READERS" && "$snapshots" == "$READERS" ]] || { echo "a reader got no snapshot" >&2; exit 1; }
  exit 0
fi
per_reader=$(awk -v a="$idle_rss" -v b="$held_rss" -v n="$READERS" 'BEGIN { printf "%.1f", 1024 * (b - a) / n }')
out="$(result_file events)"
{
  echo "# Cluster event stream readers — $(date -u +%F)"
  echo
  echo "Command: \`bench/run-events.sh\` at $(git -C "$REPO_DIR" rev-parse --short HEAD)"
  echo
  machine_markdown
  echo
  echo "orchestratord (HOME, one pool, no traffic) with $READERS readers of GET /v2/events held"
  echo "${HOLD} s; CPU and resident memory sampled over ${SAMPLE} s before, during and after."
  echo
  echo "| | CPU (one core = 100 %) | RSS |"
  echo "|---|---:|---:|"
  echo "| no reader | ${idle_cpu} % | ${idle_rss} MB |"
  echo "| $connected readers | ${held_cpu} % | ${held_rss} MB (${per_reader} KB a reader) |"
  echo "| after they left | ${after_cpu} % | ${after_rss} MB |"
} >"$out"
echo "written: $out"
