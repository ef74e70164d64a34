#!/usr/bin/env bash
# Builds the threaded-model tests with ThreadSanitizer (preset `tsan`) and runs them.
# Used by CTest as `tsan.threaded` (label tsan); can be run by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
# Test executables and the CTest regex of the threaded cases (thread, pool, multi-loop reactors).
# The in-process tests of the loop and every model (thread, pool, multi-loop reactors, fork): the
# model suite lives in integ_serve since it opens sockets.
TARGETS=${TSAN_TARGETS:-"unit_loop unit_serve integ_serve unit_irc"}
cmake --preset tsan >/dev/null
avail=$(cmake --build --preset tsan --target help | sed -n 's/^\([a-z_]*\):.*/\1/p')
build=()
for t in $TARGETS; do grep -qx "$t" <<<"$avail" && build+=("$t"); done
if [[ ${#build[@]} -eq 0 ]]; then
  echo "tsan: none of $TARGETS exists yet: skipped"
  exit 77
fi
cmake --build --preset tsan -j"$(nproc)" --target "${build[@]}" >/dev/null
status=0
for t in "${build[@]}"; do
  echo "== $t under ThreadSanitizer"
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" build/tsan/tests/"$t" --gtest_brief=1 || status=1
done
exit $status
