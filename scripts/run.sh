#!/usr/bin/env bash
# The main job: install what is missing, build (release), and run sockit's servers on 127.0.0.1.
# Stops with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --build-only
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target sockit
exec build/release/sockit serve-all "$@"
