#!/usr/bin/env bash
# Runs the test suite of a built preset: the whole suite (unit + integration with the real
# llama-server); for tsan, the integration tests (CMakePresets.json's test presets).
#
# Under a sanitizer preset (asan, ci-asan, tsan) every process of the run (test binaries, the
# daemons and CLI they start) writes its sanitizer reports to build-*/sanitizer-reports/; a
# report halts the process that made it, and any report fails this script even when no test
# noticed (a daemon that aborts while a test is stopping it). Suppressions, for third-party code
# only: tests/sanitizers/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
preset="${1:-release}"

reports=""
case "$preset" in
  asan | ci-asan) reports="$PWD/build-asan/sanitizer-reports" ;;
  tsan) reports="$PWD/build-tsan/sanitizer-reports" ;;
esac
if [[ -n $reports ]]; then
  rm -rf "$reports"
  mkdir -p "$reports"
  supp="$PWD/tests/sanitizers"
  # The project's options first, so that the caller's own *SAN_OPTIONS can still override them.
  export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$reports/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan:suppressions=$supp/ubsan.supp${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$reports/tsan:suppressions=$supp/tsan.supp${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
fi

# Integration tests start engines with one thread each; two tests at a time fit 2 cores.
rc=0
ctest --preset "$preset" -j "${LLORCH_TEST_JOBS:-2}" --timeout 600 "${@:2}" || rc=$?

if [[ -n $reports ]] && [[ -n "$(ls -A "$reports")" ]]; then
  echo "==> sanitizer reports ($reports):" >&2
  for f in "$reports"/*; do
    echo "--- $f" >&2
    head -n 60 "$f" >&2
  done
  # An ASan report's full text goes to the process's stderr (the file holds its summary line): a
  # test binary's is in the ctest output above, a daemon's in its log in the test's folder.
  echo "(a daemon's full report: rerun the test with LLORCH_KEEP_TEST_DIRS=1 and read its log)" >&2
  exit 1
fi
exit "$rc"
