#!/usr/bin/env bash
# Hostile clients (issue 24 item 4): 200 clients that write and never read against sockit echo-server,
# without a buffer cap (--max-buffered 0) and with one (64M): buffered bytes and RSS held and after.
# See servers_faults_echo_membudget.py and
# docs/RELIABILITY.md "Hostile clients". Exit 77 = skipped.
set -u
[[ -n "${SOCKIT:-}" && -x "$SOCKIT" ]] || { echo "SKIP: SOCKIT is not set to the sockit binary"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
PY=
trap '[[ -n "$PY" ]] && kill "$PY" 2>/dev/null' EXIT
python3 "$(dirname "$0")/servers_faults_echo_membudget.py" "$SOCKIT" 200 & PY=$!  # 500 by hand (docs)
wait "$PY"; rc=$?; PY=; exit $rc
