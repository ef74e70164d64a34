#!/usr/bin/env bash
# bench/join-storm.sh: an IRC server's resident memory through a join storm, sampled every
# second (issue #21: "after a 10,000-client join storm RSS returns within 1.25x of the steady
# state within 30 s", and RSS per connected client).
#
#   bench/join-storm.sh [-c CLIENTS] [--hold SECONDS] [--join-timeout SECONDS] [--leave SECONDS] [--out FILE] SERVER...
#   bench/join-storm.sh -c 10000 sockit=build/release/sockit base=/work/base/build/release/sockit ngircd inspircd
#
# SERVER: NAME=PATH of a sockit binary (its chat-server), or ngircd / inspircd (Debian's, the
# configurations of bench/irc_servers.sh). Each server runs alone, pinned to core 0, with
# `sockit load irc -c CLIENTS --senders 1 --rate 1 -d HOLDs` on core 1 (the sockit of the first
# SERVER runs the load): every client connects and JOINs one channel at once (each JOIN goes to
# every member already there, each joiner gets a NAMES reply of up to CLIENTS nicks: the queues
# swell, then drain), then all of them stay for HOLD seconds (default 60) with one PRIVMSG a
# second. The server's VmRSS is read every second from /proc. --join-timeout (default 300) bounds
# the storm: the load waits that long for every client to register and join (its --timeout). The
# storm is quadratic (10,000 joins, each sent to every member already there: 50 M JOIN lines, and
# NAMES replies of 50 M nicks in all); on a shared 2-core machine it takes 30-90 s, so the load's
# default 30 s gave up half-way (5,738 of 10,000 joined) and the hold measured a storm still
# running. The hold starts once all have joined. Then every client closes at once (a mass
# disconnect: each QUIT goes to every member still there): sampling goes on until the server holds
# no connection and its CPU time stood still for two samples, at most --leave seconds (default
# 60); the server is then killed. Reported: the peak RSS while they leave and how long it took
# ("leave s").
#
# Per server: RSS before the storm, the peak, the RSS 10, 20 and 30 s after the peak, at the end
# of the hold (clients still connected), and that end figure per client. "Steady state" is the
# lowest end-of-hold RSS among the sockit binaries of the run: the same clients in the same
# channel, long after the storm, so the memory the state really needs; each sockit's RSS 30 s
# after its peak is given as a ratio to it (target <= 1.25). Rows of every sample:
# bench/results/join-storm.tsv (or --out). ulimit -n is raised to the hard limit.
# Exit 2 for bad arguments, 1 when a run failed. Not part of ctest: benchmarks do not assert.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLIENTS=10000
HOLD=60
JOIN_TIMEOUT=300
LEAVE=60
OUT=$ROOT/bench/results/join-storm.tsv
SERVERS=()
while [ $# -gt 0 ]; do
  case "$1" in
    -c|--clients) CLIENTS=$2; shift 2 ;;
    --hold) HOLD=$2; shift 2 ;;
    --join-timeout) JOIN_TIMEOUT=$2; shift 2 ;;
    --leave) LEAVE=$2; shift 2 ;;
    --out) OUT=$(realpath -m "$2"); shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    -*) echo "bench/join-storm.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    *) SERVERS+=("$1"); shift ;;
  esac
done
case "$CLIENTS" in '' | *[!0-9]* | 0) echo "bench/join-storm.sh: -c must be a positive integer" >&2; exit 2 ;; esac
case "$HOLD" in '' | *[!0-9]*) echo "bench/join-storm.sh: --hold must be a number of seconds" >&2; exit 2 ;; esac
case "$LEAVE" in '' | *[!0-9]*) echo "bench/join-storm.sh: --leave must be a number of seconds" >&2; exit 2 ;; esac
case "$JOIN_TIMEOUT" in '' | *[!0-9]* | 0) echo "bench/join-storm.sh: --join-timeout must be a positive number of seconds" >&2; exit 2 ;; esac
[ "$HOLD" -ge 35 ] || { echo "bench/join-storm.sh: --hold must be at least 35 s (the 30 s after the peak are read)" >&2; exit 2; }
[ ${#SERVERS[@]} -gt 0 ] || { echo "bench/join-storm.sh: name at least one SERVER (see --help)" >&2; exit 2; }
LOADER=
for s in "${SERVERS[@]}"; do
  case "$s" in
    *=*) b=${s#*=}; [ -x "$b" ] || { echo "bench/join-storm.sh: $b is not an executable" >&2; exit 2; }
         [ -n "$LOADER" ] || LOADER=$(realpath "$b") ;;
    ngircd | inspircd) command -v "$s" >/dev/null || { echo "bench/join-storm.sh: $s is not installed" >&2; exit 2; } ;;
    *) echo "bench/join-storm.sh: '$s' is neither NAME=PATH nor ngircd/inspircd" >&2; exit 2 ;;
  esac
done
[ -n "$LOADER" ] || { echo "bench/join-storm.sh: name at least one sockit binary (NAME=PATH): it runs the load" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt $((CLIENTS + 200)) ] || { echo "bench/join-storm.sh: ulimit -n $(ulimit -n) is too low for $CLIENTS clients" >&2; exit 2; }
# shellcheck source=bench/irc_servers.sh
. "$ROOT/bench/irc_servers.sh"

T=$(mktemp -d)
SRV_PID=
cleanup() {
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q LISTEN; }

mkdir -p "$(dirname "$OUT")"
printf 'server\tsecond\trss_kib\n' >"$OUT"
declare -A BEFORE PEAK AT10 AT20 AT30 END LEAVE_PEAK LEAVE_S
failed=0
for s in "${SERVERS[@]}"; do
  name=${s%%=*}
  port=$(free_port)
  if [ "$s" != "$name" ]; then
    IRC_CMD=("${s#*=}" chat-server --listen "127.0.0.1:$port" --no-flood-control --max-per-ip 0 --max-clients $((CLIENTS + 100)) --quiet)
  else
    irc_server_cmd "$name" "$port" "$T/$name" "$LOADER"
  fi
  taskset -c 0 "${IRC_CMD[@]}" >"$T/$name.out" 2>&1 &
  SRV_PID=$!
  for _ in $(seq 100); do listening "$port" && break; sleep 0.1; done
  listening "$port" || { echo "bench/join-storm.sh: $name did not listen on $port" >&2; failed=1; kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true; SRV_PID=; continue; }
  BEFORE[$name]=$(rss_kib "$SRV_PID")
  taskset -c 1 "$LOADER" load irc "127.0.0.1:$port" -c "$CLIENTS" --senders 1 --rate 1 -d "${HOLD}s" --timeout "${JOIN_TIMEOUT}s" \
    --no-progress >"$T/$name.load" 2>&1 &
  load_pid=$!
  sec=0 peak=0 peak_at=0
  declare -a series=()
  while kill -0 "$load_pid" 2>/dev/null; do
    r=$(rss_kib "$SRV_PID")
    series[$sec]=$r
    printf '%s\t%d\t%d\n' "$name" "$sec" "$r" >>"$OUT"
    if [ "$r" -gt "$peak" ]; then peak=$r peak_at=$sec; fi
    sleep 1  # the sampling period, not a wait for an event
    sec=$((sec + 1))
  done
  wait "$load_pid" || { echo "bench/join-storm.sh: the load against $name failed:" >&2; cat "$T/$name.load" >&2; failed=1; }
  at() { local i=$((peak_at + $1)); [ "$i" -lt "$sec" ] && echo "${series[$i]}" || echo "${series[$((sec - 1))]}"; }
  PEAK[$name]=$peak AT10[$name]=$(at 10) AT20[$name]=$(at 20) AT30[$name]=$(at 30) END[$name]=${series[$((sec - 1))]}
  echo "== $name: $(grep -E 'errors|deliveries' "$T/$name.load" | tr -s ' ' | tr '\n' ';')" >&2
  # The mass disconnect: the load's clients all closed at once. Sampled on (same series) until the
  # server holds no connection, for at most --leave seconds; a server still busy then is killed.
  left_at=$sec leave_peak=0 conns=1 cpu_was=-1 still=0
  while [ $((sec - left_at)) -lt "$LEAVE" ]; do
    r=$(rss_kib "$SRV_PID")
    printf '%s\t%d\t%d\n' "$name" "$sec" "$r" >>"$OUT"
    [ "$r" -gt "$leave_peak" ] && leave_peak=$r
    conns=$(ss -Htn "sport = :$port" 2>/dev/null | grep -vc "^TIME-WAIT" || true)  # CLOSE-WAIT counts: not yet closed by the server
    # Sockets reset by the clients leave ss's list before the server has handled them: done only
    # once none is left AND the server's CPU time (utime + stime) stood still for two samples.
    cpu=$(awk '{ print $14 + $15 }' "/proc/$SRV_PID/stat" 2>/dev/null || echo 0)
    if [ "$cpu" = "$cpu_was" ]; then still=$((still + 1)); else still=0; fi
    cpu_was=$cpu
    [ "$conns" -eq 0 ] && [ "$still" -ge 2 ] && break
    sleep 1  # the sampling period
    sec=$((sec + 1))
  done
  LEAVE_PEAK[$name]=$leave_peak LEAVE_S[$name]=$((sec - left_at))
  { [ "$conns" -eq 0 ] && [ "$still" -ge 2 ]; } || LEAVE_S[$name]=">${LEAVE}"
  kill -KILL "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null || true; SRV_PID=
  unset series
done

steady=0
for s in "${SERVERS[@]}"; do
  name=${s%%=*}
  [ "$s" != "$name" ] || continue
  e=${END[$name]:-0}
  if [ "$e" -gt 0 ] && { [ "$steady" -eq 0 ] || [ "$e" -lt "$steady" ]; }; then steady=$e; fi
done
printf '%-10s %10s %10s %10s %10s %10s %10s %12s %16s %12s %8s\n' server before peak +10s +20s +30s end end/client "+30s/steady" "leave peak" "leave s"
for s in "${SERVERS[@]}"; do
  name=${s%%=*}
  [ -n "${PEAK[$name]:-}" ] || continue
  ratio=-
  [ "$s" != "$name" ] && [ "$steady" -gt 0 ] && ratio=$(awk -v a="${AT30[$name]}" -v b="$steady" 'BEGIN { printf "%.2f", a / b }')
  per=$(awk -v e="${END[$name]}" -v b="${BEFORE[$name]}" -v n="$CLIENTS" 'BEGIN { printf "%.2f KiB", (e - b) / n }')
  printf '%-10s %8s Ki %8s Ki %8s Ki %8s Ki %8s Ki %8s Ki %12s %16s %9s Ki %8s\n' "$name" "${BEFORE[$name]}" "${PEAK[$name]}" \
    "${AT10[$name]}" "${AT20[$name]}" "${AT30[$name]}" "${END[$name]}" "$per" "$ratio" "${LEAVE_PEAK[$name]}" "${LEAVE_S[$name]}"
done
echo "steady state: ${steady} KiB (the lowest end-of-hold RSS of the sockit binaries); samples in $OUT"
exit "$failed"
