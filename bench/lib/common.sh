# Shared by the bench/run-*.sh scenarios: options, binaries, ports, processes, CPU and memory
# readings, machine description. Sourced, not run.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
SMOKE=0
ROUNDS=""
BUILD_DIR="${LLORCH_BUILD_DIR:-$REPO_DIR/build}"
RESULTS_DIR="$BENCH_DIR/results"

bench_usage() {
  cat <<USAGE
usage: $0 [--smoke] [--rounds N] [--build DIR] [--results DIR]
  --smoke      a few seconds in all; checks that the scenario runs (writes no result file)
  --rounds N   repeat each measurement N times, interleaved, and report medians
  --build DIR  build folder with bin/ (default \$LLORCH_BUILD_DIR or build/)
  --results D  where the Markdown result goes (default bench/results/)
USAGE
}

bench_parse_args() {
  while (($#)); do
    case "$1" in
      --smoke) SMOKE=1; shift ;;
      --rounds) ROUNDS="$2"; shift 2 ;;
      --build) BUILD_DIR="$(cd "$2" && pwd)"; shift 2 ;;
      --results) RESULTS_DIR="$2"; shift 2 ;;
      -h|--help) bench_usage; exit 0 ;;
      *) echo "unknown option $1" >&2; bench_usage >&2; exit 2 ;;
    esac
  done
  export LLORCH_BUILD_DIR="$BUILD_DIR"
  LOADGEN="$BUILD_DIR/bin/llorch-loadgen"
  ORCH="$BUILD_DIR/bin/orchestratord"
  SIM="$BUILD_DIR/bin/llorch-sim"
  POOLD="$BUILD_DIR/bin/pool-managerd"
  SIM_ENGINE="$BENCH_DIR/lib/sim-engine"
  LLAMA_SERVER="${LLORCH_ENGINE:-$HOME/.cache/llama-orch/engines/llama.cpp-nlc3.22.1-cpu/bin/llama-server}"
  MODEL="${LLORCH_BENCH_MODEL:-$HOME/.cache/llama-orch/models/tiny-r2/tiny.gguf}"
  for b in "$LOADGEN" "$ORCH" "$SIM"; do
    [[ -x "$b" ]] || { echo "missing $b: build with -DLLORCH_BUILD_BENCH=ON (cmake --build $BUILD_DIR --target llorch-loadgen orchestratord llorch-sim pool-managerd)" >&2; exit 2; }
  done
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/llorch-bench.XXXXXX")"
  # Each relayed stream holds two descriptors in the proxy.
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

BENCH_PIDS=()
bench_cleanup() {
  local rc=$? p f
  if ((rc != 0)) && [[ -n "${WORK:-}" ]]; then
    for f in "$WORK"/*.log "$WORK"/*/error.log; do
      [[ -s "$f" ]] || continue
      echo "--- last lines of $f" >&2; tail -n 5 "$f" >&2
    done
  fi
  for p in "${BENCH_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${BENCH_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  if [[ -n "${WORK:-}" && -z "${BENCH_KEEP_WORK:-}" ]]; then rm -rf "$WORK"; fi
}

# Starts a command in the background, logs to $WORK/<name>.log, remembers its pid in $LAST_PID.
bench_start() {
  local name="$1"; shift
  : >"$WORK/$name.log"
  "$@" >>"$WORK/$name.log" 2>&1 &
  LAST_PID=$!
  BENCH_PIDS+=("$LAST_PID")
}

bench_stop() {
  local pid="$1"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

# A loopback port nothing listens on (another process may still take it; good enough here).
free_port() {
  local p lo
  # Below the ephemeral range: an outgoing connection's local port is invisible to a connect test.
  lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  while :; do
    p=$(( 10000 + RANDOM % (lo > 12000 ? lo - 10000 : 2000) ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
}

# wait_http URL SECONDS [EXPECT_BODY_REGEX]
wait_http() {
  local url="$1" secs="$2" re="${3:-}" i body
  for ((i = 0; i < secs * 10; i++)); do
    if body=$(curl -fsS -m 2 "$url" 2>/dev/null); then
      if [[ -z "$re" || "$body" =~ $re ]]; then return 0; fi
    fi
    sleep 0.1
  done
  echo "timed out waiting for $url" >&2
  return 1
}

CLK_TCK=$(getconf CLK_TCK)
# CPU seconds (user + system) a set of processes used so far.
cpu_seconds() {
  local total=0 p t
  for p in "$@"; do
    if [[ -r /proc/$p/stat ]]; then
      t=$(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')
      total=$(( total + t ))
    fi
  done
  awk -v t="$total" -v k="$CLK_TCK" 'BEGIN { printf "%.2f", t / k }'
}

# Resident and peak resident memory of a process, in MB: "RSS HWM".
rss_mb() {
  awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { printf "%.1f %.1f\n", r / 1024, h / 1024 }' "/proc/$1/status"
}

# The pids of a process and its direct children (nginx master + workers).
with_children() {
  local p="$1"
  echo "$p"
  pgrep -P "$p" || true
}

machine_markdown() {
  cat <<MD
- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Machine: $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r), load average at start $(cut -d' ' -f1-3 /proc/loadavg)
- Commit: $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$REPO_DIR" diff --quiet 2>/dev/null || echo " (with uncommitted changes in the tree)")
- Note: the CPUs are shared with other work; every comparison is measured side by side in the same run, interleaved, and figures are medians over the rounds.
MD
}

# Runs the load generator; its summary goes to $WORK/<name>.json, the text to stdout.
loadgen() {
  local name="$1"; shift
  "$LOADGEN" --label "$name" --json "$WORK/$name.json" "$@"
}

# Adds fields to a run's JSON: jadd NAME KEY NUMBER
jadd() {
  local f="$WORK/$1.json"
  jq --arg k "$2" --argjson v "$3" '. + {($k): $v}' "$f" >"$f.tmp" && mv "$f.tmp" "$f"
}

result_file() {
  mkdir -p "$RESULTS_DIR"
  echo "$RESULTS_DIR/$1-$(date -u +%Y-%m-%d).md"
}

require_pkg() {
  local bin="$1" pkg="$2"
  if ! command -v "$bin" >/dev/null 2>&1; then
    echo "installing $pkg (Debian package) ..." >&2
    if [[ $(id -u) -eq 0 ]]; then apt-get install -y "$pkg" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y "$pkg" >/dev/null; }
    else sudo apt-get install -y "$pkg" >/dev/null; fi
  fi
}

# nginx as a plain streaming reverse proxy: nginx_start PORT UPSTREAM_HOST:PORT...
nginx_start() {
  local port="$1"; shift
  require_pkg nginx nginx
  local dir="$WORK/nginx-$port" servers="" u
  mkdir -p "$dir"
  for u in "$@"; do servers+="    server $u;"$'\n'; done
  cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
daemon off;
events { worker_connections 19000; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  upstream engine {
$servers    keepalive 512;
  }
  server {
    listen 127.0.0.1:$port;
    keepalive_requests 100000;
    location / {
      proxy_pass http://engine;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      # llama-server closes a keep-alive connection after a few requests; without this nginx
      # answers 502 instead of retrying a POST on a fresh connection.
      proxy_next_upstream error timeout non_idempotent;
      proxy_read_timeout 300s;
    }
  }
}
CONF
  bench_start "nginx-$port" nginx -c "$dir/nginx.conf" -p "$dir"
  NGINX_PID=$LAST_PID
}

# HAProxy with leastconn and health checks: haproxy_start PORT UPSTREAM_HOST:PORT...
haproxy_start() {
  local port="$1"; shift
  require_pkg haproxy haproxy
  local dir="$WORK/haproxy-$port" i=0 u
  mkdir -p "$dir"
  {
    echo "global"
    echo "  maxconn 9000"
    echo "defaults"
    echo "  mode http"
    echo "  timeout connect 3s"
    echo "  timeout client 300s"
    echo "  timeout server 300s"
    echo "  option http-keep-alive"
    echo "frontend fe"
    echo "  bind 127.0.0.1:$port"
    echo "  default_backend engines"
    echo "backend engines"
    echo "  balance leastconn"
    echo "  option httpchk GET /health"
    echo "  http-check expect status 200"
    for u in "$@"; do echo "  server e$i $u check inter 1s fall 2 rise 2"; i=$((i + 1)); done
  } >"$dir/haproxy.cfg"
  bench_start "haproxy-$port" haproxy -db -f "$dir/haproxy.cfg"
  HAPROXY_PID=$LAST_PID
}

# orchestratord on a HOME config: orch_start NAME CONFIG → ORCH_PORT, ORCH_PID
orch_start() {
  local name="$1" cfg="$2"
  bench_start "$name" "$ORCH" --config "$cfg" --addr "127.0.0.1:0" \
    --runtime-dir "$WORK/rt-$name" --log-level warn
  ORCH_PID=$LAST_PID
  local i
  ORCH_PORT=""
  for ((i = 0; i < 300; i++)); do
    ORCH_PORT=$(sed -n 's/^orchestratord listening on [0-9.]*:\([0-9]*\)$/\1/p' "$WORK/$name.log" 2>/dev/null || true)
    [[ -n "$ORCH_PORT" ]] && break
    kill -0 "$ORCH_PID" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n "$ORCH_PORT" ]] || { echo "orchestratord did not start" >&2; tail -20 "$WORK/$name.log" >&2; return 1; }
  wait_http "http://127.0.0.1:$ORCH_PORT/ready" 120 || { tail -20 "$WORK/$name.log" >&2; return 1; }
}

# The real engine and the tiny model, or a clear exit.
require_engine_and_model() {
  [[ -x "$LLAMA_SERVER" ]] || { echo "llama-server not found at $LLAMA_SERVER (set LLORCH_ENGINE)" >&2; exit 2; }
  [[ -f "$MODEL" ]] || { echo "model not found at $MODEL (llorch model make-tiny; or LLORCH_BENCH_MODEL)" >&2; exit 2; }
}

# A HOME pools file: one pool "tiny" of the real engine on the tiny model, one thread.
home_pool_toml() {  # FILE SLOTS CTX
  cat >"$1" <<TOML
[[pools]]
id = "tiny"
engine = "llamacpp"
model = "$MODEL"
engine_path = "$LLAMA_SERVER"
device = "cpu"
slots = $2
ctx = $3
threads = 1
TOML
}

# Waits until orchestratord on PORT reports COUNT ready pools.
# A [[pools]] entry of a llorch-sim pool: sim_pool_toml NAME SLOTS EXTRA_ARGS...
sim_pool_toml() {  # NAME SLOTS EXTRA_ARGS...
  local id="$1" slots="$2"; shift 2
  local extra="" a
  for a in "$@"; do extra+="\"$a\", "; done
  cat <<TOML
[[pools]]
id = "$id"
engine = "sim"
model = "$SIM"
name = "sim"
device = "cpu"
slots = $slots
ctx = 256
threads = 1
engine_path = "$SIM_ENGINE"
extra_args = [${extra%, }]
TOML
}

wait_pools_ready() {  # PORT COUNT
  local i
  for ((i = 0; i < 600; i++)); do
    [[ $(curl -fsS "http://127.0.0.1:$1/v2/pools" 2>/dev/null | jq '[.pools[] | select(.ready)] | length' 2>/dev/null || echo 0) -ge $2 ]] && return 0
    sleep 0.1
  done
  echo "pools not ready on :$1" >&2; return 1
}

# Median of numbers on stdin.
median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
