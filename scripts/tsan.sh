#!/usr/bin/env bash
# Builds the threaded-model tests with ThreadSanitizer (preset `tsan`) and runs them.
# Used by CTest as `tsan.threaded` (label tsan); can be run by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
# Test executables and the CTest regex of the threaded cases (thread, pool, multi-loop reactors).
# unit_store: the history store's writer and reader threads.
# The in-process tests of the loop and every model (thread, pool, multi-loop reactors, fork): the
# model suite lives in integ_serve since it opens sockets.
# integ_echo: the echo suite in-process under the test transports (transport_test.cpp), for the
# threaded models only (thread, pool, two epoll loops); its other cases spawn the binary.
# Listed longest run first (they run two at a time, below).
TARGETS=${TSAN_TARGETS:-"integ_echo unit_loop integ_serve unit_store unit_irc unit_serve"}
filter_of() {
  case $1 in
    integ_echo) echo '*EchoTransport.*/thread_*:*EchoTransport.*/pool_*:*EchoTransport.*/epoll_x2_*:*EchoPoolTransport.*' ;;
    *) echo '*' ;;
  esac
}
# The tsan cases are in-process: no test here spawns the sockit binary, so it is not built.
cmake --preset tsan -DSOCKIT_TESTS_BUILD_BINARY=OFF >/dev/null
avail=$(cmake --build --preset tsan --target help | sed -n 's/^\([a-z_]*\):.*/\1/p')
build=()
for t in $TARGETS; do grep -qx "$t" <<<"$avail" && build+=("$t"); done
if [[ ${#build[@]} -eq 0 ]]; then
  echo "tsan: none of $TARGETS exists yet: skipped"
  exit 77
fi
cmake --build --preset tsan -j"$(nproc)" --target "${build[@]}" >/dev/null
# Two executables at a time (as many as there are cores), the longest first: a TSan run is mostly
# waiting on sockets and timers, and one at a time left a core idle (measured on a busy 2-core
# machine, alternating: 114 s and 105 s one at a time, 79 s and 79 s two at a time).
run_one() {
  local t=$1 log=build/tsan/$1.tsan.log
  if TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" build/tsan/tests/"$t" --gtest_brief=1 \
       --gtest_filter="$(filter_of "$t")" >"$log" 2>&1; then
    echo "== $t under ThreadSanitizer: passed ($(grep -m1 -o '[0-9]* tests\? from [0-9]* test suites\? ran' "$log"))"
  else
    echo "== $t under ThreadSanitizer: FAILED (log: $log)"; tail -60 "$log"
    return 1
  fi
}
export -f run_one filter_of
printf '%s\n' "${build[@]}" | xargs -P"$(nproc)" -I{} bash -c 'run_one "$1"' _ {}
