#!/usr/bin/env bash
# Runs validate_manifests.mjs (ctest deploy.kubernetes_schema and
# deploy.kubernetes_schema_rejects_broken) after checking that node and the npm packages of this
# folder are there, so that a missing tool fails with what to install rather than a stack trace.
#
#   tests/deploy/kubernetes_schema.sh BIN_DIR [--expect-broken DIR | PATH...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin_dir="$1"; shift
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v node >/dev/null || fail "node not found: apt-get install nodejs npm"
[[ -d "$here/node_modules/kubernetes-models" && -d "$here/node_modules/yaml" ]] ||
  fail "the npm packages of tests/deploy are not installed: run scripts/setup.sh (npm ci in tests/deploy)"
exec node "$here/validate_manifests.mjs" --bin-dir "$bin_dir" "$@"
