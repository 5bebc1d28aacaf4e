#!/usr/bin/env bash
# Scenario 5 (GPU), first half: packs what the CUDA machine needs into one folder, built here.
#
#   bench/gpu/pack.sh [--build DIR] [--out DIR]
#
# The GPU machine has CUDA, cmake and ninja but no Debian packages and no network, and its C library
# may be older than Debian 12's. So the pack carries llama-orch's binaries with every shared library
# they load, the C library and its loader included, and runs each binary through that loader
# (bin/X is a small sh wrapper, the real binary is libexec/X). The engine cannot be carried the
# same way (it must be built against the machine's CUDA), so the llama.cpp source goes along as
# llama.cpp.tar.gz and run-gpu.sh builds llama-server there. The ~1.6 GB model is generated there.
#
#   --build DIR  folder with bin/ (or the binaries themselves): orchestratord, pool-managerd,
#                llorch, llorch-loadgen (default $LLORCH_BUILD_DIR or build/)
#   --out DIR    the pack (default /tmp/llorch-gpu-pack; emptied first)
#
# Prints the pack's size; the device tool carries at most 64 MiB per call.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="${LLORCH_BUILD_DIR:-$repo/build}"
out=/tmp/llorch-gpu-pack
while (($#)); do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "pack.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done

say() { echo "==> $*" >&2; }
die() { echo "pack.sh: $*" >&2; exit 1; }

bins=(orchestratord pool-managerd llorch llorch-loadgen)
bindir="$build/bin"
[[ -x "$bindir/orchestratord" ]] || bindir="$build"
for b in "${bins[@]}"; do
  [[ -x "$bindir/$b" ]] || die "missing $bindir/$b (cmake --build $build --target ${bins[*]})"
done
# The scripts' JSON work is jq's; the GPU machine may not have it, so it travels too.
jq_bin="$(command -v jq)" || die "jq is needed here (apt-get install jq)"

# shellcheck source=../../scripts/engine-version.env
source "$repo/scripts/engine-version.env"
cache="${LLORCH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/llama-orch}"
src="$cache/src/llama.cpp-nlc${NODE_LLAMA_CPP_VERSION}-cpu"
if [[ ! -f "$src/CMakeLists.txt" ]]; then
  say "no llama.cpp source in $src yet: scripts/build-engine.sh --backend cpu fetches and builds it"
  "$repo/scripts/build-engine.sh" --backend cpu >/dev/null
fi
[[ -f "$src/models/ggml-vocab-llama-spm.gguf" ]] || die "$src has no models/ggml-vocab-llama-spm.gguf"

case "$out" in /|"$HOME"|"$repo") die "refusing to empty $out" ;; esac
rm -rf "$out"
mkdir -p "$out/bin" "$out/libexec" "$out/lib"

say "binaries from $bindir"
for b in "${bins[@]}"; do cp "$bindir/$b" "$out/libexec/$b"; done
cp "$jq_bin" "$out/libexec/jq"

# Every library the loader resolves for them, under its soname. glibc's pieces that the binaries do
# not name themselves but that a library dlopen()ed at run time may (NVML names libpthread, libdl
# and librt) come along too, so such a library never mixes the host's glibc with ours.
declare -A libs=()
for f in "$out"/libexec/*; do
  while read -r name _ path _; do
    [[ "$path" == /* ]] && libs[$name]="$path"
  done < <(ldd "$f" | grep '=> /')
done
libdir="$(dirname "${libs[libc.so.6]:?ldd found no libc.so.6}")"
for extra in libdl.so.2 libpthread.so.0 librt.so.1; do
  [[ -e "$libdir/$extra" ]] && libs[$extra]="$libdir/$extra"
done
for name in "${!libs[@]}"; do cp -L "${libs[$name]}" "$out/lib/$name"; done
# The loader, by the name the wrappers call it.
interp="$(readelf -l "$out/libexec/orchestratord" | sed -n 's/.*interpreter: \(.*\)\]/\1/p')"
cp -L "${interp:-/lib64/ld-linux-x86-64.so.2}" "$out/lib/ld-linux-x86-64.so.2"
strip --strip-unneeded "$out"/libexec/* 2>/dev/null || true

for b in "${bins[@]}" jq; do
  cat >"$out/bin/$b" <<SH
#!/bin/sh
# Runs libexec/$b with the C library and shared libraries carried in lib/, whatever the host's
# glibc. --library-path rather than LD_LIBRARY_PATH: processes it starts (llama-server, built on
# the host) keep the host's own libraries. LLORCH_PACK_LIBRARY_PATH adds folders after lib/ (the
# NVIDIA driver's, for NVML).
d=\$(cd "\$(dirname "\$0")/.." && pwd)
exec "\$d/lib/ld-linux-x86-64.so.2" --argv0 "\$0" \\
  --library-path "\$d/lib\${LLORCH_PACK_LIBRARY_PATH:+:\$LLORCH_PACK_LIBRARY_PATH}" "\$d/libexec/$b" "\$@"
SH
  chmod +x "$out/bin/$b"
done

# Only what building llama-server and llama-batched-bench needs: no history, build trees, docs,
# tests, examples, web UI sources, other backends' sources or models but the tokenizer the model
# generator copies.
say "llama.cpp source from $src"
stage="$(mktemp -d "${TMPDIR:-/tmp}/llorch-pack.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/llama.cpp/models"
tar -C "$src" -c --exclude-vcs --exclude=./build --exclude=./build.log --exclude=./configure.log \
  --exclude=./models --exclude=./{docs,media,examples,pocs,tests,benches,gguf-py,conversion,ci} \
  --exclude=./{.devops,.github,skills,app} \
  --exclude=./tools/ui/{src,tests,static,scripts,package-lock.json} \
  --exclude=./ggml/src/ggml-{blas,cann,et,hexagon,hip,metal,musa,opencl,openvino,rpc,sycl} \
  --exclude=./ggml/src/ggml-{virtgpu,vulkan,webgpu,zdnn,zendnn} \
  . | tar -C "$stage/llama.cpp" -x
cp "$src/models/ggml-vocab-llama-spm.gguf" "$stage/llama.cpp/models/"
# Byte for byte the same from the same source, so run-gpu.sh can tell that its build is current.
tar -C "$stage" --sort=name --mtime=2020-01-01 --owner=0 --group=0 --numeric-owner -c llama.cpp |
  gzip -n -6 >"$out/llama.cpp.tar.gz"

cp "$here/run-gpu.sh" "$out/run-gpu.sh"
cp "$repo/bench/lib/common.sh" "$out/common.sh"
cp "$here/README.md" "$out/README.md"
{
  echo "llama-orch $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$repo" diff --quiet HEAD -- src apps bench 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "packed $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -n), glibc $(ldd --version | sed -n '1s/.* //p'), from $bindir"
  echo "llama.cpp from node-llama-cpp $NODE_LLAMA_CPP_VERSION, commit $(git -C "$src" rev-parse HEAD 2>/dev/null || echo unknown)"
} >"$out/PACK_INFO"

# Check that every binary runs through the carried loader and resolves every library inside lib/.
for b in "${bins[@]}" jq; do
  listing="$("$out/lib/ld-linux-x86-64.so.2" --library-path "$out/lib" --list "$out/libexec/$b")"
  if grep '=>' <<<"$listing" | grep -v "=> $out/lib/" | grep -q .; then
    echo "$listing" >&2; die "$b resolves a library outside $out/lib"
  fi
  "$out/bin/$b" --help >/dev/null || die "$out/bin/$b --help failed"
done

size=$(du -sm "$out" | cut -f1)
say "pack ready: $out, ${size} MiB ($(du -sh "$out/llama.cpp.tar.gz" | cut -f1) of it llama.cpp source)"
((size <= 60)) || die "the pack is ${size} MiB; the device tool carries at most 64 MiB with the rest of the tree"
echo "$out"
