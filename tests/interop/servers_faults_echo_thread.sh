#!/usr/bin/env bash
# Servers under fire: sockit echo-server --model thread through sockit proxy (latency, slicing, stall,
# idle timeout), EMFILE pressure, slow/killed/resetting clients, SIGTERM during traffic.
# See servers_faults_lib.py and docs/RELIABILITY.md "Servers under fire". Exit 77 = skipped.
set -u
[[ -n "${SOCKIT:-}" && -x "$SOCKIT" ]] || { echo "SKIP: SOCKIT is not set to the sockit binary"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
PY=
trap '[[ -n "$PY" ]] && kill "$PY" 2>/dev/null' EXIT
python3 "$(dirname "$0")/servers_faults_lib.py" "$SOCKIT" echo thread & PY=$!
wait "$PY"; rc=$?; PY=; exit $rc
