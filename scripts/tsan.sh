#!/usr/bin/env bash
# Builds the threaded-model tests with ThreadSanitizer (preset `tsan`) and runs them.
# Used by CTest as `tsan.threaded` (label tsan); can be run by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
# Test executables and the CTest regex of the threaded cases (thread, pool, multi-loop reactors).
TARGETS=${TSAN_TARGETS:-"unit_loop integ_echo integ_net"}
REGEX=${TSAN_REGEX:-"Thread|thread|Pool|pool|Post|CrossThread|MultiLoop|Threads"}
cmake --preset tsan >/dev/null
avail=$(cmake --build --preset tsan --target help | sed -n 's/^\([a-z_]*\):.*/\1/p')
build=()
for t in $TARGETS; do grep -qx "$t" <<<"$avail" && build+=("$t"); done
if [[ ${#build[@]} -eq 0 ]]; then
  echo "tsan: none of $TARGETS exists yet: skipped"
  exit 77
fi
cmake --build --preset tsan -j"$(nproc)" --target sockit "${build[@]}" >/dev/null
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ctest --test-dir build/tsan -R "$REGEX" -j2 --output-on-failure \
  --timeout 300 | tail -25
