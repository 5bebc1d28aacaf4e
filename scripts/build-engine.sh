#!/usr/bin/env bash
# Builds llama.cpp's llama-server from the source that the npm package node-llama-cpp ships, into a
# cache outside the repository, keyed by version and backend. Idempotent: a finished build is reused.
#
#   scripts/build-engine.sh [--backend cpu|cuda|auto] [--jobs N] [--portable]
#
# --portable builds for any x86-64 CPU instead of this one (-DGGML_NATIVE=OFF): for a container
# image or a binary copied to other machines. It is cached apart from the native build.
# Prints the path of llama-server as its last line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=engine-version.env
source "$here/engine-version.env"

backend="${LLORCH_ENGINE_BACKEND:-auto}"
jobs="${LLORCH_BUILD_JOBS:-2}"
native=ON
while [[ $# -gt 0 ]]; do
  case "$1" in
    --backend) backend="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --portable) native=OFF; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "build-engine: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done

if [[ "$backend" == auto ]]; then
  if command -v nvcc >/dev/null 2>&1 && command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    backend=cuda
  else
    backend=cpu
  fi
fi
case "$backend" in cpu|cuda) ;; *) echo "build-engine: --backend must be cpu, cuda or auto" >&2; exit 2 ;; esac

cache="${LLORCH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/llama-orch}"
tag="llama.cpp-nlc${NODE_LLAMA_CPP_VERSION}-${backend}"
src="$cache/src/$tag"
[[ "$native" == OFF ]] && tag="$tag-portable"
dest="$cache/engines/$tag"

if [[ -x "$dest/bin/llama-server" ]]; then
  echo "$dest/bin/llama-server"
  exit 0
fi

say() { echo "==> $*" >&2; }

if [[ ! -f "$src/CMakeLists.txt" ]]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "build-engine: npm is not installed; it fetches the llama.cpp source (apt-get install npm)" >&2
    exit 1
  fi
  say "fetching node-llama-cpp@$NODE_LLAMA_CPP_VERSION from the npm registry (llama.cpp source inside)"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  if ! (cd "$tmp" && npm pack --silent "node-llama-cpp@$NODE_LLAMA_CPP_VERSION" >/dev/null); then
    echo "build-engine: could not fetch node-llama-cpp@$NODE_LLAMA_CPP_VERSION with npm; check the npm registry is reachable (npm ping)" >&2
    exit 1
  fi
  tar -xzf "$tmp"/node-llama-cpp-*.tgz -C "$tmp" package/llama/gitRelease.bundle
  rm -rf "$src.partial"
  mkdir -p "$(dirname "$src")"
  git -c advice.detachedHead=false clone -q "$tmp/package/llama/gitRelease.bundle" "$src.partial"
  rm -rf "$src" && mv "$src.partial" "$src"
fi

build="$src/build"
[[ "$native" == OFF ]] && build="$src/build-portable"
args=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF
      -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DBUILD_SHARED_LIBS=OFF "-DGGML_NATIVE=$native")
if [[ "$backend" == cuda ]]; then
  arch="${CMAKE_CUDA_ARCHITECTURES:-}"
  if [[ -z "$arch" ]]; then
    cc="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n1 | tr -d ' .')"
    arch="${cc:-90}"
  fi
  args+=(-DGGML_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=$arch")
fi
command -v ccache >/dev/null 2>&1 && args+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

say "configuring llama.cpp ($backend) in $build"
cmake -S "$src" -B "$build" "${args[@]}" >"$src/configure.log" 2>&1 || {
  tail -n 30 "$src/configure.log" >&2
  echo "build-engine: cmake configure failed; full log: $src/configure.log" >&2
  exit 1
}
say "building llama-server with $jobs jobs (a few minutes on 2 cores; progress below)"
# Ninja prints [done/total] per step; show one progress line per ~5% so a long build stays visible.
set +o pipefail
cmake --build "$build" --target llama-server -j "$jobs" 2>&1 | tee "$src/build.log" | {
  last=-5
  while IFS= read -r line; do
    if [[ "$line" =~ ^\[([0-9]+)/([0-9]+)\] ]]; then
      done_=${BASH_REMATCH[1]} total=${BASH_REMATCH[2]}
      pct=$((100 * done_ / total))
      if (( pct >= last + 5 || done_ == total )); then
        printf '    %3d%%  [%s/%s]\n' "$pct" "$done_" "$total" >&2
        last=$pct
      fi
    fi
  done
}
set -o pipefail
if [[ ! -x "$build/bin/llama-server" ]]; then
  tail -n 30 "$src/build.log" >&2
  echo "build-engine: the build failed; full log: $src/build.log" >&2
  exit 1
fi
mkdir -p "$dest.partial/bin" "$dest.partial/vocab"
cp "$build/bin/llama-server" "$dest.partial/bin/"
cp "$src/models/ggml-vocab-llama-spm.gguf" "$dest.partial/vocab/"
echo "$NODE_LLAMA_CPP_VERSION $backend $(git -C "$src" rev-parse HEAD)" >"$dest.partial/VERSION"
rm -rf "$dest" && mv "$dest.partial" "$dest"
say "llama-server ready"
echo "$dest/bin/llama-server"
