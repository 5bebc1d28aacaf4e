#!/usr/bin/env bash
# Checks deploy/systemd offline (ctest deploy.systemd_verify):
#   - `systemd-analyze verify` of each unit, with ExecStart pointed at the binaries of this build
#     (verify wants them to exist); any complaint fails, not only its exit code, and a unit with a
#     deliberate typo must draw one (so the check can fail at all);
#   - both are Type=notify (the daemons send READY=1 and STOPPING=1, tests/integration/notify_test);
#   - every variable in the units and their environment files is one the daemon reads (its --help);
#   - each example environment file (pool-managerd's with the example pools.toml) starts the real
#     daemon once the tokens are set, and does not with its placeholder tokens.
#
#   tests/deploy/systemd_verify.sh BIN_DIR
set -euo pipefail
bin_dir="$(cd "$1" && pwd)"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
units="$here/../../deploy/systemd"
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v systemd-analyze >/dev/null || fail "systemd-analyze not found: apt-get install systemd"

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# verify: quiet means clean. --man=no: the Documentation= pages are not installed here.
verify() { systemd-analyze verify --man=no "$@" 2>&1 || echo "(exit code $?)"; }

for unit in "$units"/*.service; do
  name="$(basename "$unit" .service)"
  exe="$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")"
  [[ "$exe" == "/usr/local/bin/$name" ]] || fail "$name.service: ExecStart is '$exe', expected /usr/local/bin/$name"
  [[ -x "$bin_dir/$name" ]] || fail "$name.service: the build has no $bin_dir/$name"
  sed "s#^ExecStart=/usr/local/bin/$name#ExecStart=$bin_dir/$name#" "$unit" > "$work/$name.service"
  grep -qx 'Type=notify' "$unit" || fail "$name.service is not Type=notify"
  out="$(verify "$work/$name.service")"
  [[ -z "$out" ]] || fail "systemd-analyze verify $name.service:"$'\n'"$out"
  echo "ok   $name.service: systemd-analyze verify is silent"

  # Variables: EnvironmentFile's and Environment='s names against the daemon's --help.
  known="$("$bin_dir/$name" --help | grep -o '(Env:[A-Z0-9_]*)' | sed 's/(Env:\(.*\))/\1/')
LLORCH_API_TOKEN
LLORCH_SERVICE_TOKEN
LLORCH_ENGINE"
  envfile="$units/$name.env"
  [[ -f "$envfile" ]] || fail "no example environment file $envfile"
  grep -q "^EnvironmentFile=/etc/llama-orch/$name.env$" "$unit" || fail "$name.service does not read /etc/llama-orch/$name.env"
  names="$( (grep -Eo '^#? ?[A-Z][A-Z0-9_]+=' "$envfile" | tr -d '#= '; sed -n 's/^Environment=\([A-Z0-9_]*\)=.*/\1/p' "$unit") | sort -u)"
  for v in $names; do
    grep -qx "$v" <<<"$known" || fail "$name: $v (in $name.env or the unit) is not a variable $name reads"
  done
  echo "ok   $name: $(wc -w <<<"$names") variables, each one $name reads"
done

# The check notices a broken unit: a misspelt key and a bad value.
sed -e 's/^Restart=on-failure/Restartt=on-failure/' -e 's/^ProtectSystem=strict/ProtectSystem=strictly/' \
  "$work/orchestratord.service" > "$work/broken.service"
out="$(verify "$work/broken.service")"
grep -q "Restartt" <<<"$out" || fail "verify did not notice a misspelt key: '$out'"
grep -q "ProtectSystem\|protect system" <<<"$out" || fail "verify did not notice a bad value: '$out'"
echo "ok   a unit with a misspelt key is refused"

# The example environment files, as systemd passes them, with a free loopback port (and for the
# node a closed orchestratord URL and a scratch runtime dir): the placeholder tokens are refused,
# real ones start the daemon (pool-managerd with the example pools.toml, whose model is missing:
# that pool fails and retries while the daemon serves).
run_with_envfile() {
  local daemon="$1" log="$2"; shift 2
  # shellcheck disable=SC1090,SC2163  # the example file; the arguments are NAME=value pairs
  ( set -a; source "$units/$daemon.env"; set +a
    export ORCHESTRATORD_ADDR=127.0.0.1:0 POOL_MANAGERD_ADDR=127.0.0.1:0 \
      ORCHESTRATORD_URL=http://127.0.0.1:9 POOL_MANAGERD_RUNTIME_DIR="$work/run-$daemon" "$@"
    args=()
    [[ "$daemon" == pool-managerd ]] && args=(--config "$units/pools.toml")
    exec "$bin_dir/$daemon" "${args[@]}" ) >"$log" 2>&1 &
  pids+=($!)
}
for daemon in orchestratord pool-managerd; do
  token_var=LLORCH_API_TOKEN
  [[ "$daemon" == pool-managerd ]] && token_var=LLORCH_SERVICE_TOKEN
  run_with_envfile "$daemon" "$work/$daemon-placeholder.log"
  for _ in $(seq 1 100); do kill -0 "${pids[-1]}" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "${pids[-1]}" 2>/dev/null; then fail "$daemon started with the placeholder tokens"; fi
  grep -q "$token_var" "$work/$daemon-placeholder.log" ||
    fail "the refusal does not name $token_var: $(cat "$work/$daemon-placeholder.log")"
  echo "ok   $daemon refuses the placeholder token: $(head -n 1 "$work/$daemon-placeholder.log")"

  run_with_envfile "$daemon" "$work/$daemon-started.log" \
    LLORCH_API_TOKEN=0123456789abcdef0123 LLORCH_SERVICE_TOKEN=fedcba9876543210fedc
  for _ in $(seq 1 300); do grep -q "$daemon listening on" "$work/$daemon-started.log" && break; sleep 0.1; done
  grep -q "$daemon listening on" "$work/$daemon-started.log" ||
    fail "$daemon did not start with $daemon.env: $(cat "$work/$daemon-started.log")"
  echo "ok   $daemon starts with $daemon.env and real tokens"
done
