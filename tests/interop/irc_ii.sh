#!/usr/bin/env bash
# Interop: two `ii` clients (suckless, Debian package ii) talk through `sockit chat-server`:
# both join #sockit, each sends a line to the channel and a private message, and each sees the
# other's messages in its ii out files. Exit 77 (skip) when ii is not installed.
set -euo pipefail
SOCKIT=${SOCKIT:-sockit}
source "$(dirname "$0")/irc_lib.bash"
command -v ii >/dev/null || { echo "skip: ii not installed"; exit 77; }

work=$(mktemp -d)
server_pid=""
ii_pids=()
cleanup() {
  for p in "${ii_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start_chat_server --no-flood-control

start_ii() {  # nick
  ii -s 127.0.0.1 -p "$port" -n "$1" -i "$work/$1" -f "ii user $1" >"$work/$1.log" 2>&1 &
  ii_pids+=($!)
}
wait_for() {  # file pattern [tries]
  local tries=${3:-100}
  for _ in $(seq "$tries"); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "FAIL: '$2' not in $1"; echo "--- $1:"; cat "$1" 2>/dev/null || true
  echo "--- server:"; cat "$work/server.err"; return 1
}

start_ii alice
start_ii bob
wait_for "$work/alice/127.0.0.1/out" "Welcome to the sockit IRC Network"
wait_for "$work/bob/127.0.0.1/out" "Welcome to the sockit IRC Network"

echo "/j #sockit" > "$work/alice/127.0.0.1/in"
wait_for "$work/alice/127.0.0.1/#sockit/out" "alice(.*has joined"
echo "/j #sockit" > "$work/bob/127.0.0.1/in"
wait_for "$work/bob/127.0.0.1/#sockit/out" "bob(.*has joined"
wait_for "$work/alice/127.0.0.1/#sockit/out" "bob(.*has joined"

echo "hello from alice" > "$work/alice/127.0.0.1/#sockit/in"
wait_for "$work/bob/127.0.0.1/#sockit/out" "<alice> hello from alice"
echo "hi alice, bob here" > "$work/bob/127.0.0.1/#sockit/in"
wait_for "$work/alice/127.0.0.1/#sockit/out" "<bob> hi alice, bob here"

echo "/j alice psst" > "$work/bob/127.0.0.1/in"   # ii: /j NICK MSG opens a private query
wait_for "$work/alice/127.0.0.1/bob/out" "<bob> psst"

echo "/t a topic from ii" > "$work/alice/127.0.0.1/#sockit/in"
wait_for "$work/bob/127.0.0.1/#sockit/out" "a topic from ii"

echo "/n robert" > "$work/bob/127.0.0.1/in"
wait_for "$work/bob/127.0.0.1/out" "robert"   # ii logs NICK in the server window

echo "PASS: two ii clients talked through sockit chat-server on port $port"
