#!/usr/bin/env bash
# bench/pair.sh: two servers measured AT THE SAME TIME, so the machine's noise hits both.
#
#   bench/pair.sh [--build-dir DIR] [--rounds N] [--tsv FILE --label TEXT] [--tls-cert F --tls-key F]
#                 A B LOAD-MODE [LOAD-ARGS...]
#   bench/pair.sh epoll asio pingpong -c 1000 --size 64 -d 8s --warmup 2s
#   bench/pair.sh sockit-chat ngircd irc -c 1000 --senders 10 --window 4 -d 6s --warmup 2s
#
# A and B are echo servers: epoll|poll|select|uring (sockit echo-server --model M --threads 1),
# epoll-copy (epoll without the splice echo: every read goes through user space), asio, libuv,
# bare (bench/servers/bare_epoll_echo.c, the floor: one recv and one send per event, no state),
# bare-uring[:accept=single|multi,recv=single|ring|multi,send=syscall|sqe,setup=plain|coop|defer]
# (bench/servers/bare_uring_echo.c, the completion-based floor; default: every step on);
# TLS echo servers with --tls-cert/--tls-key: epoll-tls (sockit echo-server --model epoll
# --tls-cert F --tls-key F), asio-tls (bench/servers/asio_tls_echo.cpp), for `load --tls` or
# `load handshake` (bench/tls-compare.sh);
# or IRC servers: sockit-chat, ngircd, inspircd (configured as bench/run.sh does, see
# bench/irc_servers.sh). A sockit server may name another build's binary, epoll:PATH/sockit, to
# compare two builds. Both run pinned to core 0 and each gets its own `sockit load` pinned to
# core 1, started together; each server's CPU per unit of work is read from its own
# /proc/PID/stat. Rates are not comparable in this mode (the two servers share one core); CPU per
# unit is. Prints one line per round with both figures and A/B (and with --tsv appends a row per
# round: label, A, B, round, A's and B's CPU per unit, A/B, unit). Use it when sequential cells of
# bench/run.sh disagree run to run; bench/run.sh runs it for each target of issue 4.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/irc_servers.sh
. "$ROOT/bench/irc_servers.sh"
BUILD_DIR=$ROOT/build/release
ROUNDS=3
TSV_OUT=
LABEL=
TLS_CERT=
TLS_KEY=
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR=$(realpath -m "$2"); shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --tsv) TSV_OUT=$(realpath -m "$2"); shift 2 ;;
    --label) LABEL=$2; shift 2 ;;
    --tls-cert) TLS_CERT=$(realpath -m "$2"); shift 2 ;;
    --tls-key) TLS_KEY=$(realpath -m "$2"); shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) break ;;
  esac
done
[ $# -ge 3 ] || { echo "bench/pair.sh: need A B LOAD-MODE (see --help)" >&2; exit 2; }
A=$1 B=$2; shift 2
SOCKIT=$BUILD_DIR/sockit
[ -x "$SOCKIT" ] || { echo "bench/pair.sh: $SOCKIT is missing (bench/run.sh builds it)" >&2; exit 1; }
TMP=$(mktemp -d /tmp/sockit-pair.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start() {  # start NAME[:SOCKIT-BINARY] PORT -> pid on stdout
  local cmd name=${1%%:*} bin=$SOCKIT rc=0
  [ "$name" != "$1" ] && bin=${1#*:}
  case "$name" in
    asio) cmd=("$BUILD_DIR/bench/bench_asio_echo" --listen "127.0.0.1:$2" --threads 1) ;;
    libuv) cmd=("$BUILD_DIR/bench/bench_uv_echo" --listen "127.0.0.1:$2" --threads 1) ;;
    bare) cmd=("$BUILD_DIR/bench/bench_bare_echo" "$2") ;;
    bare-uring)  # bare-uring[:accept=single,recv=ring,send=syscall,setup=coop]: each step's switch
      cmd=("$BUILD_DIR/bench/bench_bare_uring_echo" "$2")
      if [ "$name" != "$1" ]; then
        local kv
        for kv in ${bin//,/ }; do cmd+=("--${kv%%=*}" "${kv#*=}"); done
      fi ;;
    epoll|poll|select|uring) cmd=("$bin" echo-server --model "$name" --threads 1 --listen "127.0.0.1:$2") ;;
    epoll-tls|asio-tls)
      [ -n "$TLS_CERT" ] && [ -n "$TLS_KEY" ] || { echo "bench/pair.sh: $name needs --tls-cert and --tls-key" >&2; return 2; }
      if [ "$name" = asio-tls ]; then
        cmd=("$BUILD_DIR/bench/bench_asio_tls_echo" --listen "127.0.0.1:$2" --cert "$TLS_CERT" --key "$TLS_KEY" --threads 1)
      else
        cmd=("$bin" echo-server --model epoll --threads 1 --listen "127.0.0.1:$2" --tls-cert "$TLS_CERT" --tls-key "$TLS_KEY")
      fi ;;
    epoll-copy) cmd=("$bin" echo-server --model epoll --threads 1 --no-splice --listen "127.0.0.1:$2") ;;
    sockit-chat|ngircd|inspircd)
      irc_server_cmd "$name" "$2" "$TMP/$name.$2" "$bin" || rc=$?
      [ $rc = 0 ] || { echo "bench/pair.sh: $name is not installed" >&2; return 1; }
      cmd=("${IRC_CMD[@]}") ;;
    *) echo "bench/pair.sh: unknown server '$1' (epoll, epoll-copy, epoll-tls, poll, select, uring, asio, asio-tls, libuv, bare, bare-uring, sockit-chat, ngircd, inspircd)" >&2; return 2 ;;
  esac
  [ -x "${cmd[0]}" ] || command -v "${cmd[0]}" >/dev/null ||
    { echo "bench/pair.sh: ${cmd[0]} is missing (bench/run.sh builds it)" >&2; return 1; }
  taskset -c 0 "${cmd[@]}" >/dev/null 2>&1 &
  echo $!
}
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
for round in $(seq 1 "$ROUNDS"); do
  pa=$(free_port); pb=$(free_port)
  ida=$(start "$A" "$pa"); idb=$(start "$B" "$pb"); PIDS=("$ida" "$idb")
  wait_port "$pa" && wait_port "$pb" || { echo "bench/pair.sh: a server did not start" >&2; exit 1; }
  taskset -c 1 "$SOCKIT" load "$@" "127.0.0.1:$pa" --server-pid "$ida" --json --no-progress >"$TMP/a.json" 2>"$TMP/a.err" &
  la=$!
  taskset -c 1 "$SOCKIT" load "$@" "127.0.0.1:$pb" --server-pid "$idb" --json --no-progress >"$TMP/b.json" 2>"$TMP/b.err" &
  lb=$!
  wait "$la" "$lb" || true
  ca=$(jq -e '.server.cpu_us_per_unit' "$TMP/a.json") || { echo "load against $A failed: $(tail -1 "$TMP/a.err")" >&2; exit 1; }
  cb=$(jq -e '.server.cpu_us_per_unit' "$TMP/b.json") || { echo "load against $B failed: $(tail -1 "$TMP/b.err")" >&2; exit 1; }
  unit=$(jq -r '.unit' "$TMP/a.json")
  if [ -n "$TSV_OUT" ]; then
    python3 -c "import sys; a,b=float(sys.argv[5]),float(sys.argv[6]); print('\t'.join(sys.argv[1:5] + [f'{a:.4f}', f'{b:.4f}', f'{a/b:.4f}', sys.argv[7]]))" \
      "${LABEL:-$*}" "$A" "$B" "$round" "$ca" "$cb" "$unit" >>"$TSV_OUT"
  fi
  python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'round {sys.argv[3]}: {sys.argv[4]} {a:.2f} us/{sys.argv[6]}, {sys.argv[5]} {b:.2f} us/{sys.argv[6]}, {sys.argv[4]}/{sys.argv[5]} = {a/b:.3f}')" \
    "$ca" "$cb" "$round" "$A" "$B" "$unit"
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  PIDS=()
done
