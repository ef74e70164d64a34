#!/usr/bin/env bash
# bench/run.sh: one command, one run, servers side by side (docs/BENCHMARKS.md).
#
#   bench/run.sh [--quick] [--no-build] [--build-dir DIR] [--out FILE] [--only GROUPS] [--models LIST]
#
# Builds the release configuration (RelWithDebInfo + SOCKIT_BUILD_BENCH, as the `release` preset),
# then for every cell (pingpong 64 B and 16 KiB at 1/10/100/1000 connections, flood, connect churn,
# UDP rate, idle-connection memory, IRC fan-out) starts each server afresh, pinned with taskset to
# core 0, runs `sockit load` pinned to core 1 with --server-pid, and stops the server. Servers
# alternate within each cell, so a slow minute of the machine hits all of them alike. The results
# (rate and server CPU per unit of work, latency, errors) go to a TSV and to a Markdown report with
# ratios against the best reference server, plus gnuplot SVG plots under docs/img/.
#
#   --quick        3 s per cell after a 1 s warm-up (default: 10 s after 2 s)
#   --only GROUPS  comma list of: pingpong,flood,connect,udp,hold,irc,irc-mix,paired,micro (default: all)
#   --models LIST  sockit models to run (default: epoll,poll,select,thread,pool,fork,iterative)
#   --no-build     use the binaries already in the build dir
#   --append       keep bench/results/latest.tsv and add rows (to rerun one group)
#   --out FILE     report path (default docs/BENCHMARKS.md; the TSV goes next to it in bench/results/)
#   IRC_SERVERS=LIST  the irc-mix group's arms (bench/irc_servers.sh names; default
#                  sockit-chat,sockit-chat-uring@10ms,ngircd,inspircd)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/irc_servers.sh
. "$ROOT/bench/irc_servers.sh"
QUICK=0
BUILD_DIR=${BUILD_DIR:-$ROOT/build/release}
OUT=$ROOT/docs/BENCHMARKS.md
ONLY=pingpong,flood,connect,udp,hold,irc,irc-mix,paired,micro
MODELS=epoll,poll,select,thread,pool,fork,iterative
NO_BUILD=0
APPEND=0
ARGS_TEXT="$*"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --no-build) NO_BUILD=1 ;;
    --append) APPEND=1 ;;   # add rows to bench/results/latest.tsv (rerun a group) instead of starting afresh
    --build-dir) BUILD_DIR=$(realpath -m "$2"); shift ;;
    --out) OUT=$(realpath -m "$2"); shift ;;
    --only) ONLY=$2; shift ;;
    --models) MODELS=$2; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ "$QUICK" = 1 ]; then DUR=3s; WARM=1s; else DUR=10s; WARM=2s; fi
SERVER_CORE=0
LOAD_CORE=1
if [ "$(nproc)" -lt 2 ]; then SERVER_CORE=0; LOAD_CORE=0; fi

if [ "$NO_BUILD" = 0 ]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOCKIT_BUILD_BENCH=ON >/dev/null
  cmake --build "$BUILD_DIR" --target sockit bench_asio_echo bench_uv_echo bench_bare_echo bench_micro -j2
  # The completion-based floor exists only where liburing was found.
  cmake --build "$BUILD_DIR" --target bench_bare_uring_echo -j2 2>/dev/null || true
fi
SOCKIT=$BUILD_DIR/sockit
ASIO=$BUILD_DIR/bench/bench_asio_echo
UV=$BUILD_DIR/bench/bench_uv_echo
MICRO=$BUILD_DIR/bench/bench_micro
for b in "$SOCKIT" "$ASIO" "$UV"; do
  [ -x "$b" ] || { echo "bench/run.sh: $b is missing (build first or drop --no-build)" >&2; exit 1; }
done

RESULTS=$ROOT/bench/results
mkdir -p "$RESULTS" "$ROOT/docs/img"
TSV=$RESULTS/latest.tsv
TMP=$(mktemp -d /tmp/sockit-bench.XXXXXX)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$APPEND" = 0 ] || [ ! -s "$TSV" ]; then
  printf 'group\tcell\tserver\tunit\trate_per_s\tcpu_us_per_unit\tp50_us\tp99_us\terrors\tunits\textra\n' >"$TSV"
  : >"$RESULTS/commands.txt"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {  # wait until something accepts on 127.0.0.1:$1
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  return 1
}
has() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

# launch NAME PORT LOG_LINES CMD...: runs CMD pinned to the server core (and logs the command line in
# commands.txt); sets SERVER_PID. When nothing listens on PORT after a while: the last LOG_LINES
# lines of the server's output on stderr, the server stopped, status 1.
launch() {
  local name=$1 port=$2 lines=$3
  shift 3
  echo "taskset -c $SERVER_CORE $*" >>"$RESULTS/commands.txt"
  taskset -c $SERVER_CORE "$@" >"$TMP/server.log" 2>&1 &
  SERVER_PID=$!
  if ! wait_port "$port"; then
    echo "  $name did not start: $(tail -n "$lines" "$TMP/server.log" | paste -sd ' ')" >&2
    stop_server
    return 1
  fi
}

# start_server NAME PORT: starts the named server pinned to the server core; sets SERVER_PID.
start_server() {
  local name=$1 port=$2 cmd
  case "$name" in
    asio) cmd=("$ASIO" --listen 127.0.0.1:$port --udp 127.0.0.1:$port --threads 1) ;;
    libuv) cmd=("$UV" --listen 127.0.0.1:$port --udp 127.0.0.1:$port --threads 1) ;;
    sockit-pool) cmd=("$SOCKIT" echo-server --model pool --threads 16 --listen 127.0.0.1:$port) ;;
    sockit-epoll-plain)   # UDP through a plain recvfrom/sendto loop instead of recvmmsg/sendmmsg batches
      cmd=("$SOCKIT" echo-server --model epoll --threads 1 --listen 127.0.0.1:$port --udp 127.0.0.1:$port --udp-batch 1) ;;
    sockit-epoll-mmsg)    # UDP batches without UDP GSO coalescing of same-peer replies
      cmd=("$SOCKIT" echo-server --model epoll --threads 1 --listen 127.0.0.1:$port --udp 127.0.0.1:$port --no-udp-gso) ;;
    sockit-thread|sockit-fork|sockit-iterative)   # one thread/process per client: no --threads
      cmd=("$SOCKIT" echo-server --model "${name#sockit-}" --listen 127.0.0.1:$port --udp 127.0.0.1:$port) ;;
    sockit-*) cmd=("$SOCKIT" echo-server --model "${name#sockit-}" --threads 1 --listen 127.0.0.1:$port --udp 127.0.0.1:$port) ;;
    *) echo "unknown server $name" >&2; return 1 ;;
  esac
  launch "$name" "$port" 1 "${cmd[@]}"
}
stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.05; done
  kill -9 "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

# measure GROUP CELL SERVER PORT LOAD-ARGS...: runs the load pinned to the load core, appends a row.
measure() {
  local group=$1 cell=$2 server=$3 port=$4; shift 4
  local json=$TMP/out.json
  echo "taskset -c $LOAD_CORE $SOCKIT load $* --server-pid <pid> --json" >>"$RESULTS/commands.txt"
  taskset -c $LOAD_CORE "$SOCKIT" load "$@" --server-pid "$SERVER_PID" --json --no-progress >"$json" 2>"$TMP/load.err" || true
  if ! jq -e .units "$json" >/dev/null 2>&1; then
    echo "  $cell $server: load failed: $(tail -1 "$TMP/load.err")" >&2
    printf '%s\t%s\t%s\t-\t-\t-\t-\t-\t-\t-\tload failed\n' "$group" "$cell" "$server" >>"$TSV"
    return 0
  fi
  jq -r --arg g "$group" --arg c "$cell" --arg s "$server" \
    '[$g, $c, $s, .unit, (.rate_per_s|floor), (.server.cpu_us_per_unit*100|round/100), (.latency_us.p50|round),
      (.latency_us.p99|round), .errors_total, .units,
      (if .mode=="hold" then "held=\(.held) alive=\(.alive) rss_per_conn=\(.server.rss_per_conn_bytes|round) anon_per_conn=\(.server.rss_anon_per_conn_bytes|round)"
       elif .mode=="udp" then "sent=\(.sent) lost=\(.lost) late=\(.late)"
       elif .mode=="irc" then "sent=\(.sent) fanout=\(.fanout*10|round/10)"
       else "" end)] | @tsv' "$json" >>"$TSV"
  tail -1 "$TSV" | awk -F'\t' '{printf "  %-22s %-14s %12s %s/s  %8s us/%s  p99 %s us  errors %s %s\n", $2, $3, $5, $4, $6, $4, $8, $9, $11}' >&2
}

IFS=, read -r -a MODEL_LIST <<<"$MODELS"
ECHO_SERVERS=()
for m in "${MODEL_LIST[@]}"; do ECHO_SERVERS+=("sockit-$m"); done
ECHO_SERVERS+=(asio libuv)

# run_cell GROUP CELL CONNS SERVERS... -- LOAD-ARGS (HOST:PORT is appended by us)
run_cell() {
  local group=$1 cell=$2; shift 2
  local servers=()
  while [ "$1" != -- ]; do servers+=("$1"); shift; done
  shift
  local mode=$1; shift
  for s in "${servers[@]}"; do
    local port
    port=$(free_port)
    start_server "$s" "$port" || { printf '%s\t%s\t%s\t-\t-\t-\t-\t-\t-\t-\tserver failed to start\n' "$group" "$cell" "$s" >>"$TSV"; continue; }
    measure "$group" "$cell" "$s" "$port" "$mode" 127.0.0.1:$port "$@"
    stop_server
  done
}

echo "bench: $(nproc) cores, server on core $SERVER_CORE, load on core $LOAD_CORE, $DUR per cell" >&2
COMMON=(-d "$DUR" --warmup "$WARM" --timeout 2s)

if has pingpong; then
  for size in 64 16KiB; do
    for c in 1 10 100 1000; do
      servers=()
      for s in "${ECHO_SERVERS[@]}"; do
        case "$s" in
          sockit-iterative) [ "$c" = 1 ] || continue ;;   # one client at a time
          sockit-pool) [ "$c" -le 10 ] || continue ;;      # 16 workers: more clients wait or are refused
          sockit-select) [ "$c" -le 1000 ] || continue ;;
        esac
        servers+=("$s")
      done
      run_cell pingpong "pingpong $size x $c" "${servers[@]}" -- pingpong -c "$c" --size "$size" "${COMMON[@]}"
    done
  done
  # Latency spectra (pingpong 64 B x 100) for the plot.
  for s in sockit-epoll asio libuv; do
    case ",$MODELS," in *",${s#sockit-},"*|*) ;; esac
    port=$(free_port)
    if start_server "$s" "$port"; then
      taskset -c $LOAD_CORE "$SOCKIT" load pingpong 127.0.0.1:$port -c 100 "${COMMON[@]}" --no-progress \
        --hist-out "$RESULTS/hist-$s.txt" >/dev/null 2>&1 || true
      stop_server
    fi
  done
fi

if has flood; then
  servers=()
  for s in "${ECHO_SERVERS[@]}"; do [ "$s" = sockit-iterative ] && continue; servers+=("$s"); done
  run_cell flood "flood 16KiB x 10" "${servers[@]}" -- flood -c 10 --size 16KiB --window 64KiB "${COMMON[@]}"
fi

if has connect; then
  run_cell connect "connect x 10" "${ECHO_SERVERS[@]}" -- connect -c 10 "${COMMON[@]}"
fi

if has udp; then
  servers=()
  for s in "${ECHO_SERVERS[@]}"; do
    case "$s" in sockit-epoll|sockit-poll|sockit-select|asio|libuv) servers+=("$s") ;; esac
    # The batching target: the same epoll server with a plain recvfrom/sendto loop (--udp-batch 1).
    if [ "$s" = sockit-epoll ]; then servers+=(sockit-epoll-plain); fi
  done
  run_cell udp "udp 64 B x 8 (window 8)" "${servers[@]}" -- udp -c 8 --window 8 --size 64 -d "$DUR" --warmup "$WARM" --timeout 1s
  # Deeper queue (10-25 datagrams per wakeup; the plain server's core saturated): batched (with and
  # without GSO) against plain, three times alternating, as the machine is noisy.
  if [[ " ${servers[*]} " == *" sockit-epoll-plain "* ]]; then
    for round in 1 2 3; do
      run_cell udp "udp 64 B x 32 (window 32) run $round" sockit-epoll sockit-epoll-mmsg sockit-epoll-plain -- \
        udp -c 32 --window 32 --size 64 -d "$DUR" --warmup "$WARM" --timeout 1s
    done
  fi
fi

if has hold; then
  N=19000
  servers=()
  for s in "${ECHO_SERVERS[@]}"; do
    case "$s" in sockit-epoll|sockit-poll|asio|libuv) servers+=("$s") ;; esac
  done
  run_cell hold "hold $N idle" "${servers[@]}" -- hold -c $N -d 2s --timeout 10s
fi

if has irc; then
  # Server configurations and the limits that remain: bench/irc_servers.sh.
  CLIENTS=1000
  SENDERS=10
  for s in sockit-chat ngircd inspircd; do
    port=$(free_port)
    rc=0
    irc_server_cmd "$s" "$port" "$TMP/$s" "$SOCKIT" || rc=$?
    if [ $rc = 3 ]; then
      printf 'irc\tirc\t%s\t-\t-\t-\t-\t-\t-\t-\tnot installed\n' "$s" >>"$TSV"
      continue
    fi
    cmd=("${IRC_CMD[@]}")
    if ! launch "$s" "$port" 3 "${cmd[@]}"; then
      printf 'irc\tirc fan-out %s x %s\t%s\t-\t-\t-\t-\t-\t-\t-\tserver failed to start\n' "$CLIENTS" "$SENDERS" "$s" >>"$TSV"
      continue
    fi
    measure irc "irc fan-out $CLIENTS clients, $SENDERS senders" "$s" "$port" irc 127.0.0.1:$port \
      -c $CLIENTS --senders $SENDERS --window 4 -d "$DUR" --warmup "$WARM" --timeout 5s
    stop_server
  done
fi

if has irc-mix; then
  # A realistic network (`sockit load irc-mix`, presets small and large, docs/LOAD.md): the arms of
  # IRC_SERVERS (default: sockit chat-server on epoll, on uring with a 10 ms output hold, ngircd,
  # inspircd) alternate in every round (bench/irc-mix.sh); the medians and each sockit arm's CPU per
  # delivery and p99 against the best of the other two go to bench/results/irc-mix-*.txt.
  IRC_SERVERS=${IRC_SERVERS:-sockit-chat,sockit-chat-uring@10ms,ngircd,inspircd}
  : >"$RESULTS/irc-mix.tsv"
  for preset in small large; do
    echo "bench: irc-mix $preset" >&2
    "$ROOT/bench/irc-mix.sh" --build-dir "$BUILD_DIR" --rounds 6 --preset "$preset" --servers "$IRC_SERVERS" \
      -d "$DUR" --warmup "$WARM" --tsv "$RESULTS/irc-mix.tsv" >"$RESULTS/irc-mix-$preset.txt" 2>&1 ||
      echo "bench: irc-mix $preset failed" >&2
  done
  # Issue #21's other cells in the same rotation: the 100 x 1 and 1,000 x 10 fan-outs and the
  # registration storm (100 concurrent; p50, mean, p99 connect-to-001 and rate against ngircd's; the
  # uring arm also with SOCKIT_URING_ACCEPT=0, accepts on readiness, for the multishot accept's A/B).
  echo "bench: irc fan-out 100 x 1" >&2
  "$ROOT/bench/irc-mix.sh" --build-dir "$BUILD_DIR" --rounds 6 --mode irc --servers "$IRC_SERVERS" -c 100 --senders 1 \
    --window 4 -d "$DUR" --warmup "$WARM" --tsv "$RESULTS/irc-mix.tsv" >"$RESULTS/irc-100x1.txt" 2>&1 ||
    echo "bench: irc 100 x 1 failed" >&2
  echo "bench: irc fan-out 1000 x 10" >&2
  "$ROOT/bench/irc-mix.sh" --build-dir "$BUILD_DIR" --rounds 6 --mode irc --servers "$IRC_SERVERS" -c 1000 --senders 10 \
    --window 4 --timeout 10s -d "$DUR" --warmup "$WARM" --tsv "$RESULTS/irc-mix.tsv" >"$RESULTS/irc-1000x10.txt" 2>&1 ||
    echo "bench: irc 1000 x 10 failed" >&2
  echo "bench: irc registration storm" >&2
  "$ROOT/bench/irc-mix.sh" --build-dir "$BUILD_DIR" --rounds 6 --mode irc-register \
    --servers "$IRC_SERVERS,sockit-chat-uring-acc0@10ms" -c 100 -d "$DUR" --warmup "$WARM" \
    --tsv "$RESULTS/irc-mix.tsv" >"$RESULTS/irc-register.txt" 2>&1 || echo "bench: irc-register failed" >&2
fi

if has paired; then
  # Each target of issue 4 again, with both servers running AT THE SAME TIME on the server core
  # (bench/pair.sh): the machine's noise then hits both alike, which sequential cells cannot
  # promise on this VM. Only CPU per unit compares in this mode. Rows: bench/results/paired.tsv.
  PAIRED=$RESULTS/paired.tsv
  : >"$PAIRED"
  paired() {  # paired LABEL A B LOAD-ARGS...
    local label=$1
    shift
    echo "bench: paired $label: $1 vs $2" >&2
    "$ROOT/bench/pair.sh" --build-dir "$BUILD_DIR" --rounds 3 --tsv "$PAIRED" --label "$label" "$@" >&2 ||
      echo "bench: paired $label: $1 vs $2 failed" >&2
  }
  paired "pingpong 64 x 1000" epoll asio pingpong -c 1000 --size 64 "${COMMON[@]}"
  paired "pingpong 64 x 1000" epoll libuv pingpong -c 1000 --size 64 "${COMMON[@]}"
  # The floor: a bare epoll loop (bench/servers/bare_epoll_echo.c) against sockit and Asio.
  paired "pingpong 64 x 1000" epoll bare pingpong -c 1000 --size 64 "${COMMON[@]}"
  paired "pingpong 64 x 1000" bare asio pingpong -c 1000 --size 64 "${COMMON[@]}"
  # Issue 21 item 4: io_uring against the bare epoll loop, sockit's uring model and the
  # completion-based floor (bench/servers/bare_uring_echo.c, every step on; pair.sh takes its
  # switches: bare-uring:send=syscall,... for one step at a time).
  if [ -x "$BUILD_DIR/bench/bench_bare_uring_echo" ]; then
    paired "pingpong 64 x 1000" uring bare pingpong -c 1000 --size 64 "${COMMON[@]}"
    paired "pingpong 64 x 1000" bare-uring bare pingpong -c 1000 --size 64 "${COMMON[@]}"
  fi
  paired "pingpong 16KiB x 100" epoll asio pingpong -c 100 --size 16KiB "${COMMON[@]}"
  paired "pingpong 16KiB x 100" epoll libuv pingpong -c 100 --size 16KiB "${COMMON[@]}"
  paired "flood 16KiB x 10" epoll libuv flood -c 10 --size 16KiB --window 64KiB "${COMMON[@]}"
  # The same two targets without the splice echo (--no-splice): what the copy path costs.
  paired "pingpong 16KiB x 100" epoll-copy asio pingpong -c 100 --size 16KiB "${COMMON[@]}"
  paired "flood 16KiB x 10" epoll-copy libuv flood -c 10 --size 16KiB --window 64KiB "${COMMON[@]}"
  IRC_ARGS=(irc -c 1000 --senders 10 --window 4 -d "$DUR" --warmup "$WARM" --timeout 10s)
  paired "irc fan-out" sockit-chat ngircd "${IRC_ARGS[@]}"
  paired "irc fan-out" sockit-chat inspircd "${IRC_ARGS[@]}"
fi

if has micro && [ -x "$MICRO" ]; then
  taskset -c $LOAD_CORE "$MICRO" --benchmark_min_time=0.2 --benchmark_format=console 2>/dev/null \
    | grep -E '^(BM_|Benchmark|-)' >"$RESULTS/micro.txt" || true
fi

python3 "$ROOT/bench/report.py" --tsv "$TSV" --out "$OUT" --img "$ROOT/docs/img" --results "$RESULTS" \
  --duration "$DUR" --warmup "$WARM" --args="$ARGS_TEXT"
echo "bench: wrote $OUT and $TSV" >&2
