#!/usr/bin/env bash
# Installs what llama-orch needs and builds it: Debian packages (when missing), the llama.cpp
# engine (cached outside the repository), the project itself, and the tiny model. Idempotent.
#
#   scripts/setup.sh [PRESET]     PRESET: release (default), ci, debug, asan, ci-asan, tsan
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
preset="${1:-release}"
say() { echo "==> $*" >&2; }

packages=(g++ cmake ninja-build ccache lld git pkg-config
          libboost1.81-dev libssl-dev libfmt-dev libspdlog-dev libcli11-dev libtomlplusplus-dev libmimalloc-dev
          libgtest-dev libgmock-dev libbenchmark-dev openssl curl procps iproute2
          prometheus-cpp-dev prometheus chromium tmux systemd)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm fetches the engine's source; Node.js builds that bundle npm (e.g. nodesource's) conflict
# with Debian's npm package, so only the command's absence counts.
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

say "engine: llama.cpp's llama-server"
engine="$(scripts/build-engine.sh | tail -n 1)"
echo "    $engine" >&2

# The npm packages the tests run (the official clients in tests/clients, and any other folder of
# tests/ with a package-lock.json): installed from the lock file, again only when it changed.
for lock in tests/*/package-lock.json; do
  dir="$(dirname "$lock")"
  lock_sum="$(sha256sum "$lock" | cut -d' ' -f1)"
  if [[ ! -d $dir/node_modules || "$(cat "$dir/node_modules/.lock-sha256" 2>/dev/null)" != "$lock_sum" ]]; then
    say "npm packages for the tests ($dir)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
    echo "$lock_sum" > "$dir/node_modules/.lock-sha256"
  fi
done

say "configuring llama-orch (preset $preset)"
cmake --preset "$preset" >/dev/null
say "building llama-orch"
cmake --build --preset "$preset"

bindir=build/bin
case "$preset" in debug) bindir=build-debug/bin ;; asan | ci-asan) bindir=build-asan/bin ;; tsan) bindir=build-tsan/bin ;; esac
model="$("$bindir/llorch" model make-tiny | tail -n 1)"
say "tiny model: $model"
