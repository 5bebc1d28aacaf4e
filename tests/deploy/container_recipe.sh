#!/usr/bin/env bash
# A cheap lint of deploy/container/Dockerfile (ctest deploy.container_recipe); no container runtime
# runs here, so what can go stale is checked against the repository and this build instead:
#   - every COPY source exists, and what the build stages copy is enough to configure llama-orch
#     (a configure of exactly those paths, tests and benchmarks off) with the targets it builds;
#   - the binaries it installs are targets of the project, and build-engine.sh takes its flags;
#   - runtime-packages.sh finds an installed Debian package for every library of this build's
#     daemons and engine;
#   - the paths, user and ports of the image are those of deploy/kubernetes and deploy/systemd.
#
#   tests/deploy/container_recipe.sh BIN_DIR
set -euo pipefail
bin_dir="$(cd "$1" && pwd)"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dockerfile="$root/deploy/container/Dockerfile"
fail() { echo "FAIL: $*" >&2; exit 1; }
for tool in cmake ldd dpkg; do
  command -v "$tool" >/dev/null || fail "$tool not found (apt-get install cmake libc-bin dpkg)"
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# COPY lines, their continuation lines joined.
copies="$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$dockerfile" | grep -E '^COPY ' | grep -v -- '--from=')"
[[ -n "$copies" ]] || fail "no COPY in the Dockerfile"
context_paths=()
while read -r line; do
  read -ra words <<<"${line#COPY }"
  unset 'words[${#words[@]}-1]'  # the destination
  for src in "${words[@]}"; do
    [[ "$src" == --* ]] && continue
    [[ -e "$root/$src" ]] || fail "COPY $src: no such path in the repository"
    grep -qE "^(/)?${src%%/*}(/|$)" "$root/.dockerignore" && fail "COPY $src: excluded by .dockerignore"
    context_paths+=("$src")
  done
done <<<"$copies"
echo "ok   ${#context_paths[@]} COPY sources exist: ${context_paths[*]}"

# The build stage's sources alone configure, and have the targets it builds.
for p in "${context_paths[@]}"; do
  mkdir -p "$work/ctx/$(dirname "$p")"
  cp -r "$root/$p" "$work/ctx/$p"
done
targets="$(grep -o -- '--target [a-z -]*' "$dockerfile" | head -n 1 | sed 's/--target //')"
[[ -n "$targets" ]] || fail "the Dockerfile builds no --target"
cmake -S "$work/ctx" -B "$work/ctx/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DLLORCH_BUILD_TESTS=OFF -DLLORCH_BUILD_BENCH=OFF >"$work/configure.log" 2>&1 ||
  fail "the sources the Dockerfile copies do not configure: $(tail -n 20 "$work/configure.log")"
for t in $targets; do
  cmake --build "$work/ctx/build" --target help | grep -q "^$t:" ||
    fail "--target $t is not a target of llama-orch"
  grep -q "build/bin/$t" "$dockerfile" || fail "the Dockerfile builds $t but does not install it"
  [[ -x "$bin_dir/$t" ]] || fail "this build has no $t to compare with"
done
echo "ok   the copied sources configure, with the targets: $targets"

# build-engine.sh takes the flags the Dockerfile gives it.
for flag in $(grep -o 'build-engine.sh [^|]*' "$dockerfile" | grep -o -- '--[a-z]*' | sort -u); do
  grep -qE "^ *$flag\)" "$root/scripts/build-engine.sh" || fail "scripts/build-engine.sh has no $flag"
done
echo "ok   scripts/build-engine.sh takes the flags the Dockerfile passes"

# runtime-packages.sh against this build: every package it names is installed here.
engine="$("$root/scripts/build-engine.sh" | tail -n 1)"
pkgs="$("$root/deploy/container/runtime-packages.sh" "$bin_dir/orchestratord" "$bin_dir/pool-managerd" \
  "$bin_dir/llorch" "$engine")" || fail "runtime-packages.sh failed"
grep -qx libssl3 <<<"$pkgs" || fail "runtime-packages.sh does not name libssl3 (OpenSSL): $pkgs"
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    fail "runtime-packages.sh names $p, which is not an installed package"
done
echo "ok   runtime packages: $(tr '\n' ' ' <<<"$pkgs")"

# The image as the manifests and units use it.
grep -q '^ENV LLORCH_ENGINE=/usr/local/bin/llama-server' "$dockerfile" || fail "the image's LLORCH_ENGINE is not /usr/local/bin/llama-server"
grep -q '/out/usr/local/bin/llama-server' "$dockerfile" || fail "the engine is not installed as /usr/local/bin/llama-server"
grep -q 'value: /usr/local/bin/llama-server' "$root/deploy/kubernetes/pool-managerd.yaml" || fail "pool-managerd.yaml: LLORCH_ENGINE differs from the image"
grep -q '^Environment=LLORCH_ENGINE=/usr/local/bin/llama-server' "$root/deploy/systemd/pool-managerd.service" || fail "pool-managerd.service: LLORCH_ENGINE differs"
for d in orchestratord pool-managerd; do
  grep -q "\"/usr/local/bin/$d\"" "$root/deploy/kubernetes/$d.yaml" || fail "$d.yaml does not run /usr/local/bin/$d"
done
user="$(sed -n 's/^USER \([0-9]*\):.*/\1/p' "$dockerfile")"
[[ -n "$user" ]] || fail "the image sets no numeric USER"
for f in orchestratord pool-managerd; do
  grep -q "runAsUser: $user$" "$root/deploy/kubernetes/$f.yaml" || fail "$f.yaml: runAsUser is not the image's user $user"
done
for port in $(grep -ho 'containerPort: [0-9]*' "$root"/deploy/kubernetes/*.yaml | awk '{print $2}'); do
  grep -qE "^EXPOSE .*\b$port\b" "$dockerfile" || fail "the image does not EXPOSE $port (a containerPort of deploy/kubernetes)"
done
echo "ok   engine path, daemon paths, user $user and ports agree with deploy/kubernetes and deploy/systemd"
