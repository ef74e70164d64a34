#!/usr/bin/env bash
# Builds the threaded-model tests with ThreadSanitizer (preset `tsan`) and runs them.
# Used by CTest as `tsan.threaded` (label tsan); can be run by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
# Test executables and the CTest regex of the threaded cases (thread, pool, multi-loop reactors).
# The in-process tests of the loop and every model (thread, pool, multi-loop reactors, fork).
TARGETS=${TSAN_TARGETS:-"unit_loop unit_serve"}
LABELS=${TSAN_LABELS:-"^(loop|serve)$"}
cmake --preset tsan >/dev/null
avail=$(cmake --build --preset tsan --target help | sed -n 's/^\([a-z_]*\):.*/\1/p')
build=()
for t in $TARGETS; do grep -qx "$t" <<<"$avail" && build+=("$t"); done
if [[ ${#build[@]} -eq 0 ]]; then
  echo "tsan: none of $TARGETS exists yet: skipped"
  exit 77
fi
cmake --build --preset tsan -j"$(nproc)" --target "${build[@]}" >/dev/null
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ctest --test-dir build/tsan -L "$LABELS" -j2 --output-on-failure \
  --timeout 300 | tail -25
