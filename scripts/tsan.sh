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
TARGETS=${TSAN_TARGETS:-"unit_loop unit_serve integ_serve unit_irc unit_store integ_echo"}
filter_of() {
  case $1 in
    integ_echo) echo '*EchoTransport.*/thread_*:*EchoTransport.*/pool_*:*EchoTransport.*/epoll_x2_*:*EchoPoolTransport.*' ;;
    *) echo '*' ;;
  esac
}
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
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" build/tsan/tests/"$t" --gtest_brief=1 \
    --gtest_filter="$(filter_of "$t")" || status=1
done
exit $status
