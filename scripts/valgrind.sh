#!/usr/bin/env bash
# Runs every unit-test executable under valgrind memcheck in an unsanitized build (preset `dev`):
# 0 errors and no definite leaks, or it fails. CTest runs it as `valgrind.unit` (label valgrind).
# The EMFILE tests are left out: valgrind keeps descriptors of its own under the lowered limit.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind missing: skipped"; exit 77; }
cmake --preset dev >/dev/null
units=$(cmake --build --preset dev --target help | sed -n 's/^\(unit_[a-z0-9_]*\):.*/\1/p' | sort -u)
[[ -n "$units" ]] || { echo "no unit tests: skipped"; exit 77; }
# shellcheck disable=SC2086
cmake --build --preset dev -j"$(nproc)" --target $units >/dev/null
# One valgrind per unit executable, as many at once as there are cores (valgrind runs a program's
# threads one at a time, so each takes one core): the suite's longest serial test, halved.
run_one() {
  local u=$1 exe
  exe=$(find build/dev/tests -maxdepth 1 -name "$u" -type f | head -1)
  [[ -x "$exe" ]] || return 0
  # SOCKIT_NO_URING: the io_uring cases skip (uring_available() says why). Under valgrind a loop
  # thread waiting in io_uring_enter never wakes (seen: unit_loop hung in io_cqring_wait until the
  # test's timeout); valgrind does not follow the rings the kernel shares. ASan/TSan cover them.
  if SOCKIT_NO_URING=1 valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
       "$exe" --gtest_brief=1 --gtest_filter='-*OutOfDescriptors*' >"build/dev/$u.valgrind.log" 2>&1; then
    echo "valgrind $u: 0 errors"
  else
    echo "valgrind $u: FAILED (log: build/dev/$u.valgrind.log)"; tail -40 "build/dev/$u.valgrind.log"
    return 1
  fi
}
export -f run_one
# Largest executables (most tests) first, so the longest run does not start last.
# shellcheck disable=SC2086
(cd build/dev/tests && ls -S $units) | xargs -P"$(nproc)" -I{} bash -c 'run_one "$1"' _ {}
