#!/usr/bin/env bash
# Prints the Debian packages that hold the shared libraries the given binaries load, one a line:
# what the runtime image installs, found from the binaries themselves so that it follows the
# build (a library added to the project adds its package here without editing the Dockerfile).
#
#   deploy/container/runtime-packages.sh BINARY...
set -euo pipefail
(($#)) || { echo "usage: $0 BINARY..." >&2; exit 2; }
owner() {
  # dpkg knows a file under the path it was installed to: /lib/... or /usr/lib/... (merged /usr).
  local f="$1" real
  real="$(readlink -f "$f")"
  for p in "$f" "$real" "/usr$f" "${real#/usr}"; do
    if out="$(dpkg -S "$p" 2>/dev/null)"; then
      echo "${out%%:*}"
      return 0
    fi
  done
  echo "runtime-packages: no Debian package holds $f" >&2
  return 1
}
for bin in "$@"; do
  ldd "$bin" | awk '/=> \// {print $3}'
done | sort -u | while read -r lib; do owner "$lib" || exit 1; done | sed 's/,.*//' | sort -u
