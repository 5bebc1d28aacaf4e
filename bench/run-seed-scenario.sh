#!/usr/bin/env bash
# The seed's scenario (Phase 5, multi-server orchestration): two Ollama servers — two llorch-sim
# processes speaking Ollama's API, each serving qwen2.5:14b and qwen2.5-coder:32b — listed as
# static `ollama` pools of one HOME orchestratord, and a job of 20 tasks shaped like the seed's
# pipeline: plan → 9 independent implement steps → a QA step after each → merge, with the seed's
# task types mapped to models by --placement-rules. Measured:
#   (a) the job's wall time with both servers vs everything pinned to one server (the seed's
#       starting point: every task type on ollama02) vs the tasks one after another;
#   (b) load imbalance between the two servers (busy time and tasks per server);
#   (c) a server killed (SIGKILL) mid-job: time until its work runs on the other server, time
#       until the monitor marks it unhealthy, and whether every task still completed;
#   (d) availability: tasks completed ÷ tasks submitted over all runs.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_parse_args "$@"

ROUNDS=${ROUNDS:-3}
TTFT=40ms; ITL=10ms; POOL_SLOTS=2
PLAN_TOKENS=48; IMPL_TOKENS=64; QA_TOKENS=32; MERGE_TOKENS=48; STEPS=9
HEALTH_MS=200
if ((SMOKE)); then ROUNDS=1; TTFT=5ms; ITL=2ms; fi

S1=$(free_port); S2=$(free_port)
sim_start() {  # NAME PORT
  bench_start "$1" "$SIM" --port "$2" --alias qwen2.5:14b --models qwen2.5-coder:32b \
    --slots $((2 * POOL_SLOTS)) --ttft "$TTFT" --itl "$ITL" --seed "$2"
  eval "${1//-/_}_PID=$LAST_PID"
  wait_http "http://127.0.0.1:$2/api/tags" 30
}
sim_start ollama01 "$S1"
sim_start ollama02 "$S2"

pools() {  # PREFIX PORT
  for m in qwen2.5:14b qwen2.5-coder:32b; do
    local id="$1-${m%%:*}"
    printf '[[pools]]\nid = "%s"\nengine = "ollama"\nendpoint = "http://127.0.0.1:%s"\nmodel = "%s"\nslots = %d\n\n' \
      "${id//./-}" "$2" "$m" $POOL_SLOTS
  done
}
{ pools ollama01 "$S1"; pools ollama02 "$S2"; } >"$WORK/both.toml"
pools ollama02 "$S2" >"$WORK/pinned.toml"
cat >"$WORK/rules.toml" <<'TOML'
[task_types]
planning = "qwen2.5:14b"
coding = "qwen2.5-coder:32b"
qa = "qwen2.5:14b"
debugging = "qwen2.5-coder:32b"
TOML

orch() {  # NAME CONFIG → ORCH_PORT ORCH_PID
  bench_start "$1" "$ORCH" --config "$2" --addr 127.0.0.1:0 --runtime-dir "$WORK/rt-$1" \
    --log-level warn --placement-strategy hybrid --placement-rules "$WORK/rules.toml" \
    --health-interval-ms $HEALTH_MS
  ORCH_PID=$LAST_PID; ORCH_PORT=""
  local i
  for ((i = 0; i < 300; i++)); do
    ORCH_PORT=$(sed -n 's/^orchestratord listening on [0-9.]*:\([0-9]*\)$/\1/p' "$WORK/$1.log" || true)
    [[ -n "$ORCH_PORT" ]] && break
    sleep 0.1
  done
  [[ -n "$ORCH_PORT" ]] || { echo "orchestratord did not start" >&2; exit 1; }
  wait_http "http://127.0.0.1:$ORCH_PORT/v2/pools" 60 '"ready":true'
  for ((i = 0; i < 300; i++)); do
    [[ $(curl -fsS "http://127.0.0.1:$ORCH_PORT/v2/pools" | jq '[.pools[] | select(.state == "ready")] | length') \
       == $(grep -c '^\[\[pools\]\]' "$2") ]] && return 0
    sleep 0.1
  done
  echo "pools not ready" >&2; exit 1
}

job_json() {  # JOB_ID MAX_PARALLEL
  jq -n --arg id "$1" --argjson mp "$2" --argjson steps $STEPS --argjson pt $PLAN_TOKENS \
    --argjson it $IMPL_TOKENS --argjson qt $QA_TOKENS --argjson mt $MERGE_TOKENS '
    {job_id: $id, max_parallel: $mp, task_retries: 1, defaults: {temperature: 0},
     tasks: ([{id: "plan", task_type: "planning", max_tokens: $pt,
               prompt: "Plan the feature in \($steps) independent steps."}]
       + [range(1; $steps + 1) as $i
          | {id: "impl\($i)", task_type: "coding", depends_on: ["plan"], max_tokens: $it,
             prompt: "Implement step \($i) of: {{tasks.plan.output}}"},
            {id: "qa\($i)", task_type: "qa", depends_on: ["impl\($i)"], max_tokens: $qt,
             prompt: "Review: {{tasks.impl\($i).output}}"}]
       + [{id: "merge", task_type: "planning", max_tokens: $mt,
           depends_on: [range(1; $steps + 1) | "qa\(.)"],
           prompt: "Merge the reviewed steps."}])}'
}

# Runs one job to its end; its final status goes to $WORK/NAME.json.
run_job() {  # NAME PORT MAX_PARALLEL
  job_json "$1" "$3" >"$WORK/$1.req"
  curl -fsS "http://127.0.0.1:$2/v2/jobs" -H 'Content-Type: application/json' -d @"$WORK/$1.req" >/dev/null
  curl -fsSN -m 300 "http://127.0.0.1:$2/v2/jobs/$1/events" >"$WORK/$1.events"
  curl -fsS "http://127.0.0.1:$2/v2/jobs/$1" >"$WORK/$1.json"
}

# Several jobs at once (the seed's throughput: pipelines submitted together); wall = the last end.
run_jobs() {  # NAME PORT COUNT
  local k pids=()
  for ((k = 1; k <= $3; k++)); do run_job "$1-$k" "$2" 0 & pids+=($!); done
  wait "${pids[@]}"
  jq -s --arg n "$1" '{name: $n, state: (if all(.state == "completed") then "completed" else "failed" end),
    ended_ms: (map(.ended_ms) | max), tasks: [.[].tasks[] | {id, state, pool_id, busy_ms: ((.ended_ms // 0) - (.started_ms // 0))}]}' \
    "$WORK/$1"-*.json >"$WORK/$1.json"
}
CONCURRENT=3

# (a), (b): interleaved rounds of the setups.
orch orch-both "$WORK/both.toml"; BOTH_PORT=$ORCH_PORT; BOTH_PID=$ORCH_PID
orch orch-pinned "$WORK/pinned.toml"; PINNED_PORT=$ORCH_PORT; PINNED_PID=$ORCH_PID
: >"$WORK/runs.jsonl"
for ((round = 1; round <= ROUNDS; round++)); do
  for setup in both pinned sequential both_x pinned_x; do
    case $setup in
      both | both_x) port=$BOTH_PORT; mp=0 ;;
      pinned | pinned_x) port=$PINNED_PORT; mp=0 ;;
      sequential) port=$BOTH_PORT; mp=1 ;;
    esac
    name="$setup-r$round"
    if [[ $setup == *_x ]]; then run_jobs "$name" "$port" $CONCURRENT; else run_job "$name" "$port" "$mp"; fi
    jq -c --arg s "$setup" --argjson r "$round" '{setup: $s, round: $r, state, ended_ms,
      tasks: [.tasks[] | {id, state, pool_id, busy_ms: ((.ended_ms // 0) - (.started_ms // 0))}]}' \
      "$WORK/$name.json" >>"$WORK/runs.jsonl"
    printf '  %-12s %s in %s ms\n' "$name" "$(jq -r .state "$WORK/$name.json")" "$(jq -r .ended_ms "$WORK/$name.json")"
  done
done
servers_both=$(curl -fsS "http://127.0.0.1:$BOTH_PORT/v2/servers")
bench_stop "$PINNED_PID"

summary=$(jq -rs '
  def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def wall($s): map(select(.setup == $s) | .ended_ms) | med;
  def server: if startswith("ollama01") then "ollama01" else "ollama02" end;
  (map(select(.setup == "both" or .setup == "both_x")) | map(.tasks[]) | map(select(.pool_id != null))) as $bt
  | ($bt | group_by(.pool_id | server) | map({key: (.[0].pool_id | server), value: {tasks: length, busy_ms: (map(.busy_ms) | add)}}) | from_entries) as $per
  | ([$per[] | .busy_ms]) as $busy
  | {both: wall("both"), pinned: wall("pinned"), sequential: wall("sequential"),
     both_x: wall("both_x"), pinned_x: wall("pinned_x"),
     per_server: $per,
     imbalance: (if ($busy | length) < 2 then 1 else ($busy | max) / (($busy | add) / 2) - 1 end),
     tasks: (map(.tasks | length) | add), completed: (map(.tasks[] | select(.state == "completed")) | length),
     jobs_completed: (map(select(.state == "completed")) | length), jobs: length}
' "$WORK/runs.jsonl")

# (c): a server killed mid-job, on the two-server orchestratord. The implement steps run long
# enough (4× their tokens) for the kill to land while several generate on the victim.
JOB_IMPL_TOKENS=$IMPL_TOKENS
IMPL_TOKENS=$((IMPL_TOKENS * 4))
if ((SMOKE)); then IMPL_TOKENS=$((IMPL_TOKENS * 4)); fi
T0=$(date +%s%3N)
job_json kill 0 >"$WORK/kill.req"
curl -fsS "http://127.0.0.1:$BOTH_PORT/v2/jobs" -H 'Content-Type: application/json' -d @"$WORK/kill.req" >/dev/null
# The job's events, each line stamped with the time it arrived (ms).
curl -fsSN -m 300 "http://127.0.0.1:$BOTH_PORT/v2/jobs/kill/events" |
  while IFS= read -r line; do [[ $line == data:* ]] && echo "$(date +%s%3N) ${line#data: }"; done \
    >"$WORK/kill.events" &
READER=$!
# Kill ollama01 once implement steps are generating on it.
for ((i = 0; i < 3000; i++)); do
  on1=$(curl -fsS "http://127.0.0.1:$BOTH_PORT/v2/jobs/kill" | jq '[.tasks[] | select(.task_state == "running" and (.pool_id // "" | startswith("ollama01")) and (.first_token_ms != null))] | length')
  ((on1 >= 2)) && break
  sleep 0.01
done
TK=$(date +%s%3N)
kill -9 "$ollama01_PID"
wait "$ollama01_PID" 2>/dev/null || true
# Until the monitor marks ollama01's pools unhealthy.
unhealthy_ms=""
for ((i = 0; i < 1500; i++)); do
  n=$(curl -fsS "http://127.0.0.1:$BOTH_PORT/v2/servers" | jq '[.servers[] | select((.name | startswith("ollama01")) and (.health.healthy | not))] | length')
  if ((n == 2)); then unhealthy_ms=$(( $(date +%s%3N) - TK )); break; fi
  sleep 0.01
done
wait "$READER" || true
curl -fsS "http://127.0.0.1:$BOTH_PORT/v2/jobs/kill" >"$WORK/kill.json"
kill_at=$((TK - T0))
# From the stamped events: when the last broken task was back in the queue (task_retried).
stamps=$(awk -v tk="$TK" '
  { t = $1; $1 = ""; line = $0 }
  t < tk || line ~ /"state"/ { next }
  line ~ /"error":"/ { if (t - tk > rq) rq = t - tk; next }               # task_retried
  END { printf "{\"requeued_ms\": %d}\n", rq }' "$WORK/kill.events")
failover=$(jq -r --argjson k "$kill_at" --argjson on1 "$on1" --arg unh "${unhealthy_ms:-null}" --argjson st "$stamps" '
  (.tasks | map(select(.state == "completed")) | length) as $done
  | (.tasks | map(select(.task_id | test("\\.retry")))) as $rerun
  | {state, tasks: (.tasks | length), completed: $done, running_on_killed: $on1, rerun: ($rerun | length),
     rerun_pools: ($rerun | map(.pool_id) | unique),
     rerun_started_ms: (if ($rerun | length) > 0 then ($rerun | map(.started_ms) | max) - $k else 0 end),
     after_kill_on_killed: (.tasks | map(select((.started_ms // 0) > $k and (.pool_id // "" | startswith("ollama01")) and .state == "completed")) | length),
     unhealthy_ms: ($unh | tonumber? // null), kill_at_ms: $k, wall_ms: .ended_ms} + $st' "$WORK/kill.json")
servers_after=$(curl -fsS "http://127.0.0.1:$BOTH_PORT/v2/servers")
bench_stop "$BOTH_PID"

echo
echo "$summary" | jq .
echo "$failover" | jq .
total_tasks=$(( $(jq .tasks <<<"$summary") + $(jq .tasks <<<"$failover") ))
total_done=$(( $(jq .completed <<<"$summary") + $(jq .completed <<<"$failover") ))
availability=$(awk -v d="$total_done" -v t="$total_tasks" 'BEGIN { printf "%.2f", 100 * d / t }')
echo "availability: $total_done / $total_tasks tasks completed ($availability %)"

if ((SMOKE)); then
  jq -e '.jobs_completed == .jobs' <<<"$summary" >/dev/null || { echo "smoke: FAILED (a job did not complete)"; exit 1; }
  jq -e '.state == "completed" and .completed == .tasks' <<<"$failover" >/dev/null || { echo "smoke: FAILED (a task was lost when a server died)"; exit 1; }
  jq -e '.per_server | length == 2' <<<"$summary" >/dev/null || { echo "smoke: FAILED (one server got no work)"; exit 1; }
  echo "smoke: ok"; exit 0
fi

r() { jq -r "$1" <<<"$summary"; }
f() { jq -r "$1" <<<"$failover"; }
out=$(result_file seed-scenario)
{
  echo "# The seed's scenario: two Ollama servers, a 20-task job"
  echo
  echo "Command: \`bench/run-seed-scenario.sh${ROUNDS:+ --rounds $ROUNDS}\`"
  echo
  machine_markdown
  echo "- Two llorch-sim processes speaking Ollama's API (\`/api/tags\`, \`/api/generate\`, \`/api/chat\`), each serving \`qwen2.5:14b\` and \`qwen2.5-coder:32b\`: TTFT $TTFT, inter-token latency $ITL, ${POOL_SLOTS} parallel requests per model ($((2 * POOL_SLOTS)) per server)."
  echo "- orchestratord (HOME profile, \`hybrid\` placement, \`--health-interval-ms $HEALTH_MS\`) with one static \`ollama\` pool per server and model (${POOL_SLOTS} slots each); \`--placement-rules\` maps the seed's task types: planning and qa → qwen2.5:14b, coding and debugging → qwen2.5-coder:32b."
  echo "- The job: \`plan\` (planning, $PLAN_TOKENS tokens) → $STEPS × \`implN\` (coding, $JOB_IMPL_TOKENS tokens, each using the plan's output) → \`qaN\` after each (qa, $QA_TOKENS tokens, using its implementation) → \`merge\` (planning, $MERGE_TOKENS tokens) after every QA step: 20 tasks, 4 levels."
  echo "- Setups, $ROUNDS rounds interleaved, medians: **both** servers; **pinned**: an orchestratord that knows only ollama02 (the seed's starting point, every task type assigned to ollama02); **sequential**: both servers, \`max_parallel: 1\` (the tasks one after another, as the seed's pipeline ran them). Wall time is the job's own \`ended_ms\` (submission to the last task's end)."
  echo
  echo "## Results"
  echo
  echo "| setup | job wall time (median) | ÷ both |"
  echo "|---|---:|---:|"
  echo "| both servers | $(r .both) ms | 1.00 |"
  echo "| pinned to ollama02 | $(r .pinned) ms | $(r '(.pinned / .both * 100 | round) / 100') |"
  echo "| one after another | $(r .sequential) ms | $(r '(.sequential / .both * 100 | round) / 100') |"
  echo "| $CONCURRENT jobs at once, both servers | $(r .both_x) ms | |"
  echo "| $CONCURRENT jobs at once, pinned to ollama02 | $(r .pinned_x) ms | |"
  echo
  echo "- One job, two servers ÷ one (pinned): $(r '(.pinned / .both * 100 | round) / 100')× faster. A single job cannot reach 2×: its plan and merge run alone, and its implement steps fill both servers' coder slots (4) in 3 waves against 5 on one server's 2."
  echo "- Throughput with $CONCURRENT jobs submitted together, two servers ÷ one: $(r '(.pinned_x / .both_x * 100 | round) / 100')× (seed target 2×: $(r 'if .pinned_x / .both_x >= 1.95 then "met" else "missed" end'))."
  echo "- Load imbalance (busiest server's busy time ÷ mean − 1, over all both-server runs): $(r '(.imbalance * 1000 | round) / 10') % (target < 5 %: $(r 'if .imbalance < 0.05 then "met" else "missed" end')); per server: $(r '.per_server | to_entries | map("\(.key) \(.value.tasks) tasks, \(.value.busy_ms) ms busy") | join("; ")')."
  echo "- A server killed (SIGKILL) $(f .kill_at_ms) ms into a job whose implement steps generate $IMPL_TOKENS tokens each, with $(f .running_on_killed) tasks generating on it: $(f .rerun) tasks broke mid-stream and were back in the queue $(f .requeued_ms) ms after the kill (\`task_retried\`, \`task_retries: 1\`); the monitor took the server's two pools out of placement $(f .unhealthy_ms) ms after the kill (3 failed probes, $HEALTH_MS ms apart; until then a task placed there fails before its first token and is retried on the other server, so nothing is lost). Time to route around the dead server: $(f .unhealthy_ms) ms (target < 1 s: $(f 'if .unhealthy_ms < 1000 then "met" else "missed" end')). The re-run tasks started on $(f '.rerun_pools | join(", ")') within $(f .rerun_started_ms) ms of the kill: they waited for a free slot there, the surviving server's coder pool (2 slots) being full with the job's other implement steps. The job ended \`$(f .state)\` with $(f .completed) of $(f .tasks) tasks completed (no task lost: $(f 'if .completed == .tasks then "yes" else "no" end')), in $(f .wall_ms) ms."
  echo "- Availability over all runs: $total_done of $total_tasks tasks completed ($availability %; target ≥ 99 %)."
  echo
  echo "\`GET /v2/servers\` after the both-server rounds (per server: requests, TTFT and end-to-end EWMAs, error rate):"
  echo
  echo '```'
  jq -r '.servers[] | "\(.name): \(.requests_total) requests, ttft_ewma \(.ttft_ewma_ms // "-" | tostring | .[0:6]) ms, e2e_ewma \(.e2e_ewma_ms // "-" | tostring | .[0:7]) ms, error_rate \(.error_rate), healthy \(.health.healthy)"' <<<"$servers_both"
  echo '```'
  echo
  echo "and after the kill:"
  echo
  echo '```'
  jq -r '.servers[] | "\(.name): \(.requests_total) requests, \(.failures_total) failed, error_rate \(.error_rate * 1000 | round / 1000), healthy \(.health.healthy) (probes ok \(.health.probes_ok), failed \(.health.probes_failed))"' <<<"$servers_after"
  echo '```'
} >"$out"
echo "wrote $out"
