#!/usr/bin/env bash
# Hostile clients (issue 24 item 2): one forged datagram between two sockit echo-servers (echo <->
# echo, chargen <-> echo) loops without a reply budget and dies with one; no reflection warning for
# loopback binds. Needs root for the raw socket. See servers_faults_udp_reflect.py and
# docs/RELIABILITY.md "Hostile clients". Exit 77 = skipped.
set -u
[[ -n "${SOCKIT:-}" && -x "$SOCKIT" ]] || { echo "SKIP: SOCKIT is not set to the sockit binary"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
PY=
trap '[[ -n "$PY" ]] && kill "$PY" 2>/dev/null' EXIT
python3 "$(dirname "$0")/servers_faults_udp_reflect.py" "$SOCKIT" & PY=$!
wait "$PY"; rc=$?; PY=; exit $rc
