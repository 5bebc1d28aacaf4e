#!/usr/bin/env bash
# Scenario 5 — GPU. Runs on the CUDA machine from the folder bench/gpu/pack.sh made, in one
# command; builds the CUDA llama-server from the carried source, generates the ~1.6 GB random model,
# then measures:
#   (a) llama-server straight (one process, 64 slots) against the same engine behind orchestratord
#       (HOME profile, one pool of 1 replica x 64 slots) at 1, 8, 32 and 64 streams;
#   (b) one pool of 1 replica x 64 slots against 4 replicas x 16 slots, at 64 streams;
#   (c) the engine's own batched decode (llama-batched-bench, 1 to 64 sequences): the limit.
# Every request generates the same number of tokens (ignore_eos). Prints a Markdown table last and
# writes it, the JSON of every run and the logs to --out.
#
#   bash run-gpu.sh [--out DIR] [--cpu] [--smoke] [--skip-build] [--build-only] [--jobs N]
#                   [--work DIR] [--budget SECONDS] [--engine PATH] [--build-engine]
#
#   --out DIR       where results.md, runs.json and logs.tar.gz go (default ./gpu-results)
#   --cpu           the same flow on a machine without a GPU: CPU engine, the tiny model, few slots
#   --smoke         a few seconds per measurement; exits non-zero when a request failed
#   --skip-build    use the engine already built under --work, fail if there is none
#   --build-only    build the engine and generate the model, measure nothing
#   --jobs N        build jobs (default: all cores)
#   --work DIR      engine build, model and scratch files, kept between runs (default
#                   $LLORCH_GPU_WORK or /tmp/llorch-gpu)
#   --budget S      seconds the whole run may take; measurements shrink to fit (default 540)
#   --engine PATH   use this llama-server instead of building one
#   --build-engine  --cpu: build the CPU engine from the carried source instead of reusing
#                   ~/.cache/llama-orch's
#   --streams LIST  stream counts of (a), e.g. 1,8,32,64; the last one is (b)'s
#   --shapes LIST   pools as REPLICASxSLOTS, e.g. 1x64,4x16; the first is (a)'s and sets the
#                   straight engine's slots
#   --tokens N, --duration S   tokens per request, seconds per measurement
# shellcheck disable=SC1091,SC2317  # common.sh is found at run time; traps and shims call functions
set -euo pipefail

PACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CPU=0 SMOKE_RUN=0 SKIP_BUILD=0 BUILD_ONLY=0 BUILD_ENGINE=0
JOBS=$(nproc) BUDGET=540 ENGINE="" OUT_DIR="$PWD/gpu-results"
OPT_STREAMS="" OPT_SHAPES="" OPT_TOKENS="" OPT_DURATION=""
WORKROOT="${LLORCH_GPU_WORK:-/tmp/llorch-gpu}"
while (($#)); do
  case "$1" in
    --cpu) CPU=1; shift ;;
    --smoke) SMOKE_RUN=1; shift ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    --build-only) BUILD_ONLY=1; shift ;;
    --build-engine) BUILD_ENGINE=1; shift ;;
    --jobs) JOBS="$2"; shift 2 ;;
    --work) WORKROOT="$2"; shift 2 ;;
    --budget) BUDGET="$2"; shift 2 ;;
    --engine) ENGINE="$2"; shift 2 ;;
    --out) OUT_DIR="$2"; shift 2 ;;
    --streams) OPT_STREAMS="$2"; shift 2 ;;
    --shapes) OPT_SHAPES="$2"; shift 2 ;;
    --tokens) OPT_TOKENS="$2"; shift 2 ;;
    --duration) OPT_DURATION="$2"; shift 2 ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "run-gpu.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done

# In the pack, common.sh sits beside this script; in the repository, in bench/lib/.
if [[ -f "$PACK/common.sh" ]]; then source "$PACK/common.sh"; else source "$PACK/../lib/common.sh"; fi
BIN="$PACK/bin"
[[ -x "$BIN/orchestratord" ]] || {
  echo "run-gpu.sh: no $BIN/orchestratord: run the copy in the folder bench/gpu/pack.sh made" >&2
  exit 2
}
# The carried jq first; the daemons through their wrappers (the carried C library).
export PATH="$BIN:$PATH"
# shellcheck disable=SC2034  # ORCH and LOADGEN: common.sh uses them
ORCH="$BIN/orchestratord" LOADGEN="$BIN/llorch-loadgen" LLORCH="$BIN/llorch"
for d in /usr/local/cuda/bin /usr/local/nvidia/bin; do
  [[ -d "$d" ]] && export PATH="$PATH:$d"
done
# The engine (built here, run by the host's loader) needs libcuda.so.1 from the driver's folder;
# the carried binaries ignore LD_LIBRARY_PATH (their wrappers pass --library-path).
if [[ -e /usr/local/nvidia/lib64/libcuda.so.1 && ":${LD_LIBRARY_PATH:-}:" != *:/usr/local/nvidia/lib64:* ]]; then
  export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}/usr/local/nvidia/lib64"
fi
# NVML for the daemons' GPU discovery: the driver's folder after the carried libraries.
for d in /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu/nvidia; do
  [[ -e "$d/libnvidia-ml.so.1" ]] && export LLORCH_PACK_LIBRARY_PATH="$d"
done

# Readiness checks use curl where the machine has it; otherwise a plain GET over bash's /dev/tcp
# (only what wait_http and wait_pools_ready ask: curl [-fsS] [-m SECONDS] http://HOST:PORT/PATH).
if ! command -v curl >/dev/null 2>&1 || [[ -n "${LLORCH_GPU_NO_CURL:-}" ]]; then
  curl() {
    local url="" t=2 rest hp path fd resp status
    while (($#)); do
      case "$1" in -m) t="$2"; shift 2 ;; -*) shift ;; *) url="$1"; shift ;; esac
    done
    rest="${url#http://}" hp="${rest%%/*}" path="/"
    [[ "$rest" == */* ]] && path="/${rest#*/}"
    exec {fd}<>"/dev/tcp/${hp%:*}/${hp##*:}" || return 7
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$hp" >&"$fd"
    resp="$(timeout "$t" cat <&"$fd")" || true
    exec {fd}>&-
    status="${resp%%$'\r'*}" && status="${status#* }" && status="${status%% *}"
    [[ "$status" == 2?? ]] || return 22
    printf '%s' "${resp#*$'\r\n\r\n'}"
  }
fi

mkdir -p "$WORKROOT" "$OUT_DIR"
WORKROOT="$(cd "$WORKROOT" && pwd)" OUT_DIR="$(cd "$OUT_DIR" && pwd)"
WORK="$(mktemp -d "$WORKROOT/run.XXXXXX")"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
finish() {
  local rc=$?
  ((rc == 0 || rc == 130)) || echo "run-gpu.sh: stopped with exit status $rc near line ${ERR_LINE:-?}" >&2
  # Logs travel back in one file: the device tool returns at most 8 files from $OUT.
  tar -C "$WORK" -czf "$OUT_DIR/logs.tar.gz" --exclude='*.gguf' . 2>/dev/null || true
  (exit "$rc")
  bench_cleanup
}
trap finish EXIT
trap 'ERR_LINE=$LINENO' ERR
trap 'exit 130' INT TERM

log() { printf '[%4ds] %s\n' "$SECONDS" "$*"; }

if ((CPU)); then
  BACKEND=cpu PRESET=tiny DEVICE=cpu THREADS=1
  STREAMS=(1 2 4) SLOTS=4 SHAPES=("1 4" "2 2") CTX=256 TOKENS=16 DURATION=3 WARMUP=0.5
  ((SMOKE_RUN)) && DURATION=1 WARMUP=0
else
  BACKEND=cuda PRESET=1b DEVICE=gpu:0 THREADS=0
  STREAMS=(1 8 32 64) SLOTS=64 SHAPES=("1 64" "4 16") CTX=512 TOKENS=128 DURATION=6 WARMUP=2
  ((SMOKE_RUN)) && STREAMS=(1 64) DURATION=2 WARMUP=0.5
fi
[[ -n "$OPT_STREAMS" ]] && IFS=, read -r -a STREAMS <<<"$OPT_STREAMS"
if [[ -n "$OPT_SHAPES" ]]; then
  IFS=, read -r -a SHAPES <<<"$OPT_SHAPES"
  SHAPES=("${SHAPES[@]/x/ }")
  read -r reps per <<<"${SHAPES[0]}"
  SLOTS=$((reps * per))
fi
[[ -n "$OPT_TOKENS" ]] && TOKENS=$OPT_TOKENS
[[ -n "$OPT_DURATION" ]] && DURATION=$OPT_DURATION
MAXS=${STREAMS[-1]}
NPL=$(IFS=,; echo "${STREAMS[*]}")
KEY="bench-key-0123456789abcdef"

describe_machine() {
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- Machine: $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, $(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown OS}"), glibc $(getconf GNU_LIBC_VERSION 2>/dev/null | cut -d' ' -f2), kernel $(uname -r)"
  if ((!CPU)); then
    echo "- GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -n1 || echo unknown); CUDA compiler $(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p')"
  fi
  sed 's/^/- Pack: /' "$PACK/PACK_INFO" 2>/dev/null || true
}

# --- the engine --------------------------------------------------------------------------------
SRC_DIR="$WORKROOT/llama.cpp-$BACKEND"
build_engine() {
  local tarball="$PACK/llama.cpp.tar.gz" stamp gen=() args
  stamp="$(cksum <"$tarball" | cut -d' ' -f1) $BACKEND"
  if [[ -x "$SRC_DIR/build/bin/llama-server" && "$(cat "$SRC_DIR/.stamp" 2>/dev/null)" == "$stamp" ]]; then
    log "engine already built in $SRC_DIR/build"
    return 0
  fi
  ((SKIP_BUILD)) && { echo "run-gpu.sh: --skip-build, but no engine is built in $SRC_DIR" >&2; return 1; }
  rm -rf "$SRC_DIR" && mkdir -p "$SRC_DIR"
  tar -xzf "$tarball" -C "$SRC_DIR" --strip-components=1
  command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
  args=("${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON
        -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF
        -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON)
  if [[ "$BACKEND" == cuda ]]; then
    command -v nvcc >/dev/null 2>&1 || { echo "run-gpu.sh: nvcc not found (PATH, /usr/local/cuda/bin)" >&2; return 1; }
    args+=(-DGGML_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=${CMAKE_CUDA_ARCHITECTURES:-90}")
  fi
  log "configuring llama.cpp ($BACKEND) in $SRC_DIR/build"
  if ! cmake -S "$SRC_DIR" -B "$SRC_DIR/build" "${args[@]}" >"$WORK/engine-configure.log" 2>&1; then
    tail -n 30 "$WORK/engine-configure.log" >&2
    echo "run-gpu.sh: configuring llama.cpp failed" >&2
    return 1
  fi
  log "building llama-server and llama-batched-bench with $JOBS jobs"
  set +o pipefail
  cmake --build "$SRC_DIR/build" --target llama-server llama-batched-bench -j "$JOBS" 2>&1 |
    tee "$WORK/engine-build.log" | {
      local last=-10 line done_ total pct
      while IFS= read -r line; do
        if [[ "$line" =~ ^\[([0-9]+)/([0-9]+)\] ]]; then
          done_=${BASH_REMATCH[1]} total=${BASH_REMATCH[2]} pct=$((100 * done_ / total))
          if ((pct >= last + 10 || done_ == total)); then
            printf '[%4ds]     %3d%%  [%s/%s]\n' "$SECONDS" "$pct" "$done_" "$total"
            last=$pct
          fi
        fi
      done
    }
  set -o pipefail
  if [[ ! -x "$SRC_DIR/build/bin/llama-server" ]]; then
    grep -m 20 -B 2 -A 10 'error' "$WORK/engine-build.log" >&2 || tail -n 40 "$WORK/engine-build.log" >&2
    echo "run-gpu.sh: building llama-server failed (log in logs.tar.gz)" >&2
    return 1
  fi
  echo "$stamp" >"$SRC_DIR/.stamp"
  log "engine built"
}

# --- the model ---------------------------------------------------------------------------------
MODEL="$WORKROOT/models/$PRESET.gguf"
make_model() {
  [[ -s "$MODEL" ]] && return 0
  mkdir -p "$WORKROOT/models"
  local vocab="$WORKROOT/models/ggml-vocab-llama-spm.gguf"
  tar -xzf "$PACK/llama.cpp.tar.gz" -O llama.cpp/models/ggml-vocab-llama-spm.gguf >"$vocab"
  "$LLORCH" model make-tiny --preset "$PRESET" --vocab "$vocab" --out "$MODEL" >"$WORK/model.log" 2>&1
}

log "scenario 5 ($BACKEND) from $PACK; work in $WORKROOT; results to $OUT_DIR"
if [[ "$BACKEND" == cuda ]]; then
  nvidia-smi -L >/dev/null 2>&1 || { echo "run-gpu.sh: nvidia-smi sees no GPU (use --cpu without one)" >&2; exit 2; }
fi
# The model is generated on one core while the engine builds on the others.
MODEL_PID=""
if [[ ! -s "$MODEL" ]]; then
  log "generating the $PRESET model into $MODEL"
  make_model &
  MODEL_PID=$!
  BENCH_PIDS+=("$MODEL_PID")
fi
BATCHED=""
if [[ -n "$ENGINE" ]]; then
  LLAMA_SERVER="$ENGINE"
  ENGINE_ABOUT="llama-server given with --engine"
elif ((CPU && !BUILD_ENGINE)) && [[ ! -x "$SRC_DIR/build/bin/llama-server" ]] &&
     [[ -x "${LLORCH_ENGINE:-$HOME/.cache/llama-orch/engines/llama.cpp-nlc3.22.1-cpu/bin/llama-server}" ]]; then
  LLAMA_SERVER="${LLORCH_ENGINE:-$HOME/.cache/llama-orch/engines/llama.cpp-nlc3.22.1-cpu/bin/llama-server}"
  ENGINE_ABOUT="the project's cached CPU llama-server (same llama.cpp source as the pack)"
else
  build_engine
  LLAMA_SERVER="$SRC_DIR/build/bin/llama-server"
  BATCHED="$SRC_DIR/build/bin/llama-batched-bench"
  ENGINE_ABOUT="llama-server built here from the carried llama.cpp ($BACKEND)"
  [[ "$BACKEND" == cuda ]] && ENGINE_ABOUT+=", sm_${CMAKE_CUDA_ARCHITECTURES:-90}"
fi
log "engine: $LLAMA_SERVER"
if [[ -n "$MODEL_PID" ]]; then
  wait "$MODEL_PID" || { cat "$WORK/model.log" >&2; echo "run-gpu.sh: generating the model failed" >&2; exit 1; }
fi
log "model: $MODEL ($(du -h "$MODEL" | cut -f1))"
((BUILD_ONLY)) && { log "--build-only: done"; exit 0; }

# Whatever time is left after the build goes to the measurements: 2 x streams + shapes + margin.
points=$((2 * ${#STREAMS[@]} + ${#SHAPES[@]}))
left=$((BUDGET - SECONDS - 60))
fit=$(awk -v l="$left" -v p="$points" -v w="$WARMUP" 'BEGIN { d = l / p - w - 4; print (d > 2 ? int(d) : 2) }')
if ((fit < DURATION)); then
  log "$left s left: $fit s per measurement instead of $DURATION"
  DURATION=$fit
fi

ngl=()
[[ "$BACKEND" == cuda ]] && ngl=(-ngl 999)
thr=()
((THREADS > 0)) && thr=(-t "$THREADS")

# --- (c) the engine's batched limit, alone on the GPU before anything else starts ---------------
if [[ -x "$BATCHED" ]]; then
  log "llama-batched-bench -npl $NPL -ntg $TOKENS"
  "$BATCHED" -m "$MODEL" -c $((MAXS * (TOKENS + 16))) -b 2048 -ub 512 -npp 8 -ntg "$TOKENS" \
    -npl "$NPL" "${ngl[@]}" "${thr[@]}" --output-format jsonl >"$WORK/batched.jsonl" 2>"$WORK/batched.log" ||
    log "llama-batched-bench failed (its log is in logs.tar.gz)"
fi

# --- engines -----------------------------------------------------------------------------------
# Straight: one llama-server with the flags orchestratord gives its own.
ENGINE_PORT=$(free_port)
bench_start engine "$LLAMA_SERVER" -m "$MODEL" --host 127.0.0.1 --port "$ENGINE_PORT" -np "$SLOTS" \
  -c $((SLOTS * CTX)) --api-key "$KEY" --no-webui "${thr[@]}" "${ngl[@]}"

# Through llama-orch: one orchestratord (HOME profile) with a pool per shape; a request names the
# shape as its model.
{
  for shape in "${SHAPES[@]}"; do
    read -r reps per <<<"$shape"
    cat <<TOML
[[pools]]
id = "p${reps}x${per}"
name = "m${reps}x${per}"
engine = "llamacpp"
model = "$MODEL"
engine_path = "$LLAMA_SERVER"
device = "$DEVICE"
replicas = $reps
slots = $((reps * per))
ctx = $CTX
max_tokens_cap = $((TOKENS * 2))
TOML
    ((THREADS > 0)) && echo "threads = $THREADS"
    echo
  done
} >"$WORK/home.toml"
log "starting llama-server straight and orchestratord with pools ${SHAPES[*]/ /x}"
orch_start orch "$WORK/home.toml"
wait_http "http://127.0.0.1:$ENGINE_PORT/health" 300
wait_pools_ready "$ORCH_PORT" "${#SHAPES[@]}"
log "all engines ready"
# The daemon runs on the carried C library; the engines it starts must not: they were built here.
log "orchestratord runs as $(readlink "/proc/$ORCH_PID/exe")"
children_of() {  # without procps, which a bare machine may lack
  awk -v p="$1" '{ sub(/.*\) /, ""); if ($2 == p) { split(FILENAME, a, "/"); print a[3] } }' \
    /proc/[0-9]*/stat 2>/dev/null || true
}
engines=$(children_of "$ORCH_PID")
for c in $engines; do
  if grep -q "$PACK/lib/" "/proc/$c/maps" 2>/dev/null; then
    echo "run-gpu.sh: engine pid $c loaded libraries from $PACK/lib" >&2
    exit 1
  fi
done
log "its $(wc -w <<<"$engines") engines run on the host's own libraries"
if [[ "$BACKEND" == cuda ]]; then
  log "GPU memory in use: $(nvidia-smi --query-gpu=memory.used,memory.total --format=csv,noheader | head -n1)"
fi

run_point() {  # NAME KIND STREAMS loadgen-args...
  local name="$1" kind="$2" s="$3"; shift 3
  "$LOADGEN" --label "$name" --json "$WORK/$name.json" -c "$s" -d "$DURATION" --warmup "$WARMUP" \
    --max-tokens "$TOKENS" --api-key "$KEY" "$@" >"$WORK/$name.txt" 2>&1 ||
    { cat "$WORK/$name.txt" >&2; return 1; }
  jq -c --arg k "$kind" --argjson s "$s" '. + {kind: $k, streams: $s}' "$WORK/$name.json" >>"$WORK/all.jsonl"
  jq -r '"    \(.label): \(.tokens_per_s | round) tokens/s, TTFT p50 \(.ttft_ms.p50 | round) ms p99 \(.ttft_ms.p99 | round) ms, \(.requests_ok) ok, \(.requests_failed) failed"' "$WORK/$name.json"
}

first="m${SHAPES[0]/ /x}"
log "(a) straight vs through orchestratord, ${DURATION} s per point after ${WARMUP} s warm-up, $TOKENS tokens each"
for s in "${STREAMS[@]}"; do
  run_point "straight-c$s" straight "$s" --target llamacpp --url "http://127.0.0.1:$ENGINE_PORT"
  run_point "orch-${first#m}-c$s" "orch-${first#m}" "$s" --target orch --url "http://127.0.0.1:$ORCH_PORT" --model "$first"
done
log "(b) pool shapes at $MAXS streams"
for shape in "${SHAPES[@]:1}"; do
  m="m${shape/ /x}"
  run_point "orch-${m#m}-c$MAXS" "orch-${m#m}" "$MAXS" --target orch --url "http://127.0.0.1:$ORCH_PORT" --model "$m"
done

# --- report ------------------------------------------------------------------------------------
jq -s . "$WORK/all.jsonl" >"$OUT_DIR/runs.json"
[[ -s "$WORK/batched.jsonl" ]] && jq -s . "$WORK/batched.jsonl" >"$OUT_DIR/batched.json"
limit=$(jq -s --argjson b "$MAXS" 'map(select(.pl == $b)) | first | .speed_tg // empty' "$WORK/batched.jsonl" 2>/dev/null || true)

table_a=$(jq -rs --arg k "orch-${first#m}" '
  def f(n): if . == null then "n/a" else (. * pow(10; n) | round) / pow(10; n) | tostring end;
  (map(select(.kind == "straight")) | map({key: (.streams | tostring), value: .}) | from_entries) as $d
  | map(select(.kind == $k and $d[.streams | tostring] != null))[]
  | $d[.streams | tostring] as $s
  | "| \(.streams) | \($s.tokens_per_s | f(0)) | \(.tokens_per_s | f(0)) | \(.tokens_per_s / $s.tokens_per_s | f(3)) | \($s.ttft_ms.p50 | f(1)) / \($s.ttft_ms.p99 | f(1)) | \(.ttft_ms.p50 | f(1)) / \(.ttft_ms.p99 | f(1)) | \(.ttft_ms.p99 - $s.ttft_ms.p99 | f(2)) | \($s.requests_failed + .requests_failed) |"
' "$WORK/all.jsonl")
table_b=$(jq -rs --argjson b "$MAXS" --arg lim "${limit:-}" '
  def f(n): if . == null then "n/a" else (. * pow(10; n) | round) / pow(10; n) | tostring end;
  (map(select(.kind == "straight")) | map(.tokens_per_s) | max) as $best
  | map(select(.streams == $b and .kind != "straight"))[]
  | "| \(.kind | ltrimstr("orch-") | sub("x"; " × ")) | \(.streams) | \(.tokens_per_s | f(0)) | \(.tokens_per_s / $best | f(2)) | \(if $lim == "" then "n/a" else (.tokens_per_s / ($lim | tonumber) | f(2)) end) | \(.ttft_ms.p50 | f(1)) / \(.ttft_ms.p99 | f(1)) | \(.requests_failed) |"
' "$WORK/all.jsonl")
best_straight=$(jq -s 'map(select(.kind == "straight")) | max_by(.tokens_per_s) | "\(.tokens_per_s | round) tokens/s at \(.streams) streams"' -r "$WORK/all.jsonl")
best_pool=$(jq -rs --argjson b "$MAXS" 'map(select(.streams == $b and .kind != "straight")) | max_by(.tokens_per_s)
  | "\(.kind | ltrimstr("orch-")) with \(.tokens_per_s | round) tokens/s"' "$WORK/all.jsonl")
ratio=$(jq -rs --argjson b "$MAXS" '(map(select(.kind == "straight")) | map(.tokens_per_s) | max) as $d
  | map(select(.streams == $b and .kind != "straight")) | map(.tokens_per_s) | max / $d * 100 | round / 100' "$WORK/all.jsonl")
failed=$(jq -s 'map(.requests_failed) | add' "$WORK/all.jsonl")

{
  echo "# Scenario 5 — GPU$( ((CPU)) && echo " (CPU mode: the script's flow on the CPU engine, not a GPU figure)")"
  echo
  echo "Command: \`bash run-gpu.sh$( ((CPU)) && echo " --cpu")$( ((SMOKE_RUN)) && echo " --smoke")\` from the folder \`bench/gpu/pack.sh\` made"
  echo
  describe_machine
  echo "- Engine: $ENGINE_ABOUT, ${ngl[*]:-no GPU offload}; model \`llorch model make-tiny --preset $PRESET\` ($(du -h "$MODEL" | cut -f1)); prompt \"Hello\", $TOKENS tokens per request (ignore_eos), ctx $CTX per slot."
  echo "- Closed loop, $DURATION s per point after $WARMUP s warm-up, one round; straight and orch interleaved at each stream count. Straight = llama-server -np $SLOTS -c $((SLOTS * CTX)); orch = orchestratord (HOME) → its own llama-server with the same flags."
  echo
  echo "## (a) straight vs through orchestratord (pool 1 × $SLOTS)"
  echo
  echo "| streams | straight tokens/s | orch tokens/s | orch ÷ straight | straight TTFT p50 / p99 ms | orch TTFT p50 / p99 ms | added TTFT p99 ms | failed |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
  echo "$table_a"
  echo
  echo "## (b) pool shapes at $MAXS streams"
  echo
  echo "| replicas × slots | streams | tokens/s | ÷ best straight llama-server | ÷ batched limit | TTFT p50 / p99 ms | failed |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  echo "$table_b"
  echo
  if [[ -s "$WORK/batched.jsonl" ]]; then
    echo "## (c) the engine's batched decode (llama-batched-bench, prompt 8, $TOKENS generated)"
    echo
    echo "| sequences | decode tokens/s (S_TG) |"
    echo "|---:|---:|"
    jq -r '"| \(.pl) | \(.speed_tg | round) |"' "$WORK/batched.jsonl"
    echo
  fi
  echo "## Target"
  echo
  echo "- One GPU: llama-orch's pool ≥ 2× the tokens/s of a single llama-server, toward the engine's batched limit. Best pool: $best_pool at $MAXS streams; best straight llama-server: $best_straight; ratio ${ratio}× ($(awk -v r="$ratio" 'BEGIN { print (r >= 2 ? "met" : "missed") }'))$([[ -n "$limit" ]] && echo "; batched limit at $MAXS sequences $(printf '%.0f' "$limit") tokens/s")."
} >"$OUT_DIR/results.md"

echo
cat "$OUT_DIR/results.md"
echo
log "wrote $OUT_DIR/results.md, runs.json$([[ -s "$WORK/batched.jsonl" ]] && echo ", batched.json"), logs.tar.gz"
if ((failed > 0)); then
  echo "run-gpu.sh: $failed requests failed" >&2
  exit 1
fi
((SMOKE_RUN)) && echo "smoke: ok"
exit 0
