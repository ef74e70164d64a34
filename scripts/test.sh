#!/usr/bin/env bash
# Runs every test: a clean build of the `asan` preset (ASan + UBSan, -Werror) and the whole
# CTest suite, ending with CTest's summary. Extra arguments go to ctest (e.g. -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
rm -rf build/asan
cmake --preset asan >/dev/null
cmake --build --preset asan -j"$(nproc)"
ctest --preset asan "$@"
