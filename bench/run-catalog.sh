#!/usr/bin/env bash
# Scenario 8 — the model catalog (docs/catalog.md). pool-managerd with a models folder holding a
# generated model of ~518 MiB (--smoke: ~30 MiB) and a pool on the tiny model: the first scan
# (every file hashed), a restart (the index: nothing hashed), and `llorch model pull` of the
# model from `python3 -m http.server` on loopback (download, sha256, GGUF check, rename).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_parse_args "$@"
require_pkg python3 python3
require_pkg jq jq
require_engine_and_model
LLORCH="$BUILD_DIR/bin/llorch"

WIDTH=1024; LAYERS=8; FFN=2816
if ((SMOKE)); then WIDTH=256; LAYERS=4; FFN=704; fi
mkdir -p "$WORK/models" "$WORK/srv"
"$LLORCH" model make-tiny --width "$WIDTH" --layers "$LAYERS" --ffn "$FFN" \
  --out "$WORK/models/big.gguf" >/dev/null 2>&1
cp "$WORK/models/big.gguf" "$WORK/srv/big.gguf"
size=$(stat -c %s "$WORK/models/big.gguf")
home_pool_toml "$WORK/pools.toml" 1 512

PORT=$(free_port)
poold() {  # NAME: starts pool-managerd, waits for its scan; sets SCAN_S and HASHED
  bench_start "$1" "$POOLD" --config "$WORK/pools.toml" --addr "127.0.0.1:$PORT" \
    --runtime-dir "$WORK/rt" --models-dir "$WORK/models"
  POOLD_PID=$LAST_PID
  local t0 i
  t0=$(date +%s.%N)
  wait_http "http://127.0.0.1:$PORT/health" 30 >/dev/null
  for ((i = 0; i < 6000; i++)); do
    grep -q "files (.* bytes hashed)" "$WORK/$1.log" && break
    sleep 0.01
  done
  SCAN_S=$(echo "$(date +%s.%N) - $t0" | bc)
  HASHED=$(curl -fsS "http://127.0.0.1:$PORT/metrics" | awk '/^catalog_hashed_bytes_total / { print $2 }')
}
poold first
first_s=$SCAN_S first_bytes=$HASHED
bench_stop "$POOLD_PID"
poold again
again_s=$SCAN_S again_bytes=$HASHED
SRV_PORT=$(free_port)
bench_start srv python3 -m http.server "$SRV_PORT" --bind 127.0.0.1 --directory "$WORK/srv"
wait_http "http://127.0.0.1:$SRV_PORT/" 10 >/dev/null
t0=$(date +%s.%N)
"$LLORCH" model pull "http://127.0.0.1:$SRV_PORT/big.gguf" --name staged \
  --url "http://127.0.0.1:$PORT" --json >"$WORK/pull.json" 2>/dev/null
pull_s=$(echo "$(date +%s.%N) - $t0" | bc)
[[ $(jq -r .state "$WORK/pull.json") == done ]] || { echo "the pull failed: $(cat "$WORK/pull.json")" >&2; exit 1; }
rate=$(jq '.rate_bytes_per_s / 1048576 | . * 10 | round / 10' "$WORK/pull.json")

report() {
  cat <<MD
# Catalog: scan, restart, staging

Command: \`bench/run-catalog.sh$( ((SMOKE)) && echo " --smoke")\`

$(machine_markdown)

| step | figure |
|---|---|
| model in the folder | $(awk -v s="$size" 'BEGIN { printf "%.0f MiB", s / 1048576 }') (plus the pool's tiny model) |
| first scan (hashes every file) | $(printf %.2f "$first_s") s, $first_bytes bytes hashed |
| restart (the index knows every file) | $(printf %.2f "$again_s") s to the end of the scan (daemon start included), $again_bytes bytes hashed |
| \`llorch model pull\` over loopback HTTP | $(printf %.2f "$pull_s") s, job rate $rate MiB/s (download, sha256, GGUF check, rename) |
MD
}
report
if ((!SMOKE)); then report >"$(result_file catalog)"; fi
