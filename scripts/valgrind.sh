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
status=0
for u in $units; do
  exe=$(find build/dev/tests -maxdepth 1 -name "$u" -type f | head -1)
  [[ -x "$exe" ]] || continue
  # SOCKIT_NO_URING: the io_uring cases skip (uring_available() says why). Under valgrind a loop
  # thread waiting in io_uring_enter never wakes (seen: unit_loop hung in io_cqring_wait until the
  # test's timeout); valgrind does not follow the rings the kernel shares. ASan/TSan cover them.
  if SOCKIT_NO_URING=1 valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
       "$exe" --gtest_brief=1 --gtest_filter='-*OutOfDescriptors*' >"build/dev/$u.valgrind.log" 2>&1; then
    echo "valgrind $u: 0 errors"
  else
    echo "valgrind $u: FAILED"; tail -40 "build/dev/$u.valgrind.log"; status=1
  fi
done
exit $status
