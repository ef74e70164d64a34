#!/usr/bin/env bash
# bench/profile.sh: system calls per message of each echo server, counted with strace -c (perf is
# not usable in this VM). Prints a Markdown table; bench/run.sh's report includes it when it has
# been saved to bench/results/syscalls.md.
#
#   bench/profile.sh [BUILD_DIR] [MESSAGES] [CONNECTIONS] [SIZE]   (defaults: build/release 20000 100 64)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
N=${2:-20000}
C=${3:-100}
SIZE=${4:-64}
command -v strace >/dev/null || { echo "profile.sh: strace not installed" >&2; exit 77; }
TMP=$(mktemp -d /tmp/sockit-profile.XXXXXX)
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$TMP"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
echo "| server | messages | syscalls | per message | top calls (count) |"
echo "|---|---:|---:|---:|---|"
for s in sockit-epoll asio libuv; do
  port=$(free_port)
  case $s in
    sockit-epoll) cmd=("$BUILD/sockit" echo-server --model epoll --threads 1 --listen 127.0.0.1:$port) ;;
    asio) cmd=("$BUILD/bench/bench_asio_echo" --listen 127.0.0.1:$port --threads 1) ;;
    libuv) cmd=("$BUILD/bench/bench_uv_echo" --listen 127.0.0.1:$port --threads 1) ;;
  esac
  "${cmd[@]}" >/dev/null 2>&1 &
  PID=$!
  sleep 0.5
  # Connect and warm up first, so that accept and setup calls are not counted.
  "$BUILD/sockit" load pingpong 127.0.0.1:$port -c "$C" --size "$SIZE" -n 2000 --no-progress >/dev/null 2>&1 || true
  strace -c -f -q -o "$TMP/$s.txt" -p "$PID" &
  SPID=$!
  sleep 0.5
  "$BUILD/sockit" load pingpong 127.0.0.1:$port -c "$C" --size "$SIZE" -n "$N" --no-progress >/dev/null 2>&1 || true
  kill -INT $SPID 2>/dev/null || true
  wait $SPID 2>/dev/null || true
  kill $PID 2>/dev/null || true
  wait $PID 2>/dev/null || true
  PID=
  total=$(awk '$1 ~ /^[0-9.]+$/ && $NF!="total" {t+=$4} END {print t+0}' "$TMP/$s.txt")
  top=$(awk 'NR>2 && $NF!="total" && $1 ~ /^[0-9.]+$/ {calls=($5 ~ /^[0-9]+$/ && NF==6)?$4:$4; print $NF" "$4}' "$TMP/$s.txt" \
        | sort -k2 -nr | head -5 | awk '{printf "%s%s (%s)", (NR>1?", ":""), $1, $2}')
  per=$(awk -v t="$total" -v n="$N" 'BEGIN {printf "%.2f", t/n}')
  echo "| $s | $N | $total | $per | $top |"
done
