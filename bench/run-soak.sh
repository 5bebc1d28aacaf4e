#!/usr/bin/env bash
# Accounting soak: tests/integration/soak_test.cpp run for longer than the test suite's 20 s —
# orchestratord and two nodes on machines of their own (network namespaces; needs root), six
# clients mixing the task API (some leaving early), OpenAI chat streams and Ollama generate, and
# a random fault every 1–3 s (a node killed and restarted, partitioned, or stopped and continued).
# Writes bench/results/soak-DATE.md with what was answered, the faults and what was lost.
#
#   bench/run-soak.sh [--seconds N]   (default 300)
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
SECONDS_WANTED=300
while (($#)); do
  case "$1" in
    --seconds) SECONDS_WANTED="$2"; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bin="$BUILD_DIR/bin/soak_tests"
[[ -x "$bin" ]] || { echo "missing $bin: build the tests first (make test or cmake --build --preset release)" >&2; exit 2; }
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
start_md="$(machine_markdown)"
status=0
LLORCH_BIN_DIR="$BUILD_DIR/bin" LLORCH_SOAK_SECONDS="$SECONDS_WANTED" "$bin" >"$log" 2>&1 || status=$?
figures="$(grep -F '[ figures  ] soak' "$log" | sed 's/^\[ figures  \] //')"
echo "$figures"
verdict="passed"
((status == 0)) || verdict="FAILED (exit $status; the failures below)"
out="$(result_file soak)"
{
  echo "# Accounting soak — $(date -u +%F)"
  echo
  echo "Command: \`bench/run-soak.sh --seconds $SECONDS_WANTED\`"
  echo
  echo "$start_md"
  echo
  echo "orchestratord and two pool-managerd nodes (one pool of 2 slots each, real llama-server on"
  echo "the tiny model), each in a network namespace of its own; six clients in a loop: the task"
  echo "API streamed (4–31 tokens; one in six leaves after two tokens), OpenAI chat streamed with"
  echo "include_usage, Ollama generate unstreamed; one fault at a time on a random node, every"
  echo "1–3 s, healed before the next. Checked at the end: every request answered once (an end or"
  echo "an error; token events in order and equal to the server's count), every accepted task in"
  echo "a terminal state, nothing running or queued, every slot free, one engine per node and none"
  echo "of a killed node alive, orchestratord's descriptors bounded by the concurrency."
  echo
  echo "Result: $verdict"
  echo
  echo '```'
  echo "$figures"
  grep -E 'Failure|lost:|Expected' "$log" | head -40 || true
  echo '```'
} >"$out"
echo "wrote $out"
exit "$status"
