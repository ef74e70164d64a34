#!/usr/bin/env bash
# Soak test (issue 8 §4; NOT run in CI): sockit echo-server and sockit chat-server under load at
# the same time for --minutes N (default 10), with --conns N idle echo connections held
# (default 10000) plus a pingpong stream, and --chat-clients N IRC clients in one channel
# (default 10000) with a few senders. Server RSS (VmRSS) and descriptor counts are sampled every
# --interval (10s) into a CSV; the run fails if either server dies, a load generator reports
# errors, or RSS / fd count grows over the last two thirds of the run (mean of the last quarter of
# that window vs mean of its first quarter: RSS +10% and +1 MiB, fds +1% and +5).
#
#   scripts/soak.sh [--sockit PATH] [--minutes N] [--conns N] [--chat-clients N] [--interval S]
#                   [--out DIR] [--model M]
# Exit 0 = no growth, 1 = growth / failure, 2 = usage. Everything on 127.0.0.0/8, ports chosen by
# the kernel (port 0); only the PIDs this script starts are killed.
set -u
SOCKIT=${SOCKIT:-}
MINUTES=10 CONNS=10000 CHAT=10000 INTERVAL=10 OUT= MODEL=epoll
usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --sockit) SOCKIT=$2; shift 2 ;;
    --minutes) MINUTES=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    --chat-clients) CHAT=$2; shift 2 ;;
    --interval) INTERVAL=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --model) MODEL=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "soak.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [[ -z "$SOCKIT" ]]; then
  for c in build/release/sockit build/*/sockit; do [[ -x $c ]] && { SOCKIT=$c; break; }; done
fi
[[ -x "$SOCKIT" ]] || { echo "soak.sh: no sockit binary (use --sockit PATH or SOCKIT=)" >&2; exit 2; }
[[ $MINUTES =~ ^[0-9]+([.][0-9]+)?$ && $CONNS =~ ^[0-9]+$ && $CHAT =~ ^[0-9]+$ && $INTERVAL =~ ^[0-9]+$ && $INTERVAL -ge 1 ]] \
  || { echo "soak.sh: --minutes, --conns, --chat-clients and --interval take numbers" >&2; exit 2; }
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/sockit-soak.XXXXXX")}
mkdir -p "$OUT"
ulimit -n "$(ulimit -Hn)" 2>/dev/null
SECS=$(awk -v m="$MINUTES" 'BEGIN{printf "%d", m*60}')
PIDS=()
cleanup() { local p; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done; }
trap cleanup EXIT
trap 'exit 1' INT TERM

port_of() {  # FILE REGEX: wait for the server's banner, print the port
  local i p
  for i in $(seq 100); do
    p=$(grep -oE "$2" "$1" 2>/dev/null | grep -oE '[0-9]+$' | head -1)
    [[ -n $p ]] && { echo "$p"; return 0; }
    sleep 0.1
  done
  return 1
}

"$SOCKIT" echo-server -m "$MODEL" -l 127.0.0.1:0 >"$OUT/echo-server.log" 2>&1 & EPID=$!; PIDS+=("$EPID")
"$SOCKIT" chat-server -q -l 127.0.0.1:0 --max-clients $((CHAT + 100)) --max-per-ip 0 --no-flood-control \
  >"$OUT/chat-server.log" 2>&1 & CPID=$!; PIDS+=("$CPID")
EPORT=$(port_of "$OUT/echo-server.log" 'listening on tcp 127\.0\.0\.1:[0-9]+') || { echo "soak.sh: echo-server did not start" >&2; cat "$OUT/echo-server.log" >&2; exit 1; }
CPORT=$(port_of "$OUT/chat-server.log" 'listening on 127\.0\.0\.1:[0-9]+') || { echo "soak.sh: chat-server did not start" >&2; cat "$OUT/chat-server.log" >&2; exit 1; }
echo "soak: $MINUTES min, echo-server ($MODEL) pid $EPID port $EPORT, chat-server pid $CPID port $CPORT, output in $OUT"

LOADS=()
"$SOCKIT" load hold "127.0.0.1:$EPORT" -c "$CONNS" -d "${SECS}s" --no-progress --json >"$OUT/load-hold.json" 2>"$OUT/load-hold.err" & LOADS+=($!)
"$SOCKIT" load pingpong "127.0.0.1:$EPORT" -c 50 -d "${SECS}s" --rate 2000 --no-progress --json >"$OUT/load-pingpong.json" 2>"$OUT/load-pingpong.err" & LOADS+=($!)
"$SOCKIT" load irc "127.0.0.1:$CPORT" -c "$CHAT" --senders 2 --rate 20 -d "${SECS}s" --timeout 30s --no-progress --json >"$OUT/load-irc.json" 2>"$OUT/load-irc.err" & LOADS+=($!)
PIDS+=("${LOADS[@]}")

CSV=$OUT/samples.csv
echo "t_s,server,rss_kib,fds" >"$CSV"
sample() {  # T NAME PID
  local rss fds
  rss=$(awk '/^VmRSS:/{print $2}' "/proc/$3/status" 2>/dev/null) || return 1
  fds=$(ls "/proc/$3/fd" 2>/dev/null | wc -l)
  [[ -n $rss ]] || return 1
  echo "$1,$2,$rss,$fds" >>"$CSV"
  printf '  t=%4ss %-5s rss=%7s KiB fds=%6s\n' "$1" "$2" "$rss" "$fds"
}
START=$(date +%s)
FAIL=0
while :; do
  T=$(( $(date +%s) - START ))
  sample "$T" echo "$EPID" || { echo "soak: echo-server died" >&2; FAIL=1; break; }
  sample "$T" chat "$CPID" || { echo "soak: chat-server died" >&2; FAIL=1; break; }
  (( T >= SECS )) && break
  sleep "$INTERVAL"
done
for p in "${LOADS[@]}"; do
  wait "$p"; rc=$?
  (( rc != 0 )) && { echo "soak: a load generator (pid $p) exited $rc" >&2; FAIL=1; }
done
for f in "$OUT"/load-*.json; do echo "== $(basename "$f"): $(tr -d '\n' <"$f" | cut -c1-400)"; done

# growth check over the last two thirds
python3 - "$CSV" <<'PY' || FAIL=1
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
bad = 0
for srv in ("echo", "chat"):
    r = [x for x in rows if x["server"] == srv]
    w = r[len(r) // 3:]
    if len(w) < 4:
        print(f"{srv}: too few samples ({len(w)}) in the last two thirds for a growth check"); continue
    q = max(1, len(w) // 4)
    for key, rel, absl in (("rss_kib", 0.10, 1024), ("fds", 0.01, 5)):
        a = sum(int(x[key]) for x in w[:q]) / q
        b = sum(int(x[key]) for x in w[-q:]) / q
        grew = b > a * (1 + rel) and b - a > absl
        bad |= grew
        print(f"{srv} {key}: first quarter of the window {a:.0f}, last quarter {b:.0f}, min {min(int(x[key]) for x in w)}, max {max(int(x[key]) for x in w)} -> {'GROWTH' if grew else 'flat'}")
sys.exit(1 if bad else 0)
PY
kill -TERM "$EPID" "$CPID" 2>/dev/null
wait "$EPID"; e=$?; wait "$CPID"; c=$?
echo "soak: echo-server exit $e, chat-server exit $c (SIGTERM under load)"
(( e == 0 && c == 0 )) || FAIL=1
PIDS=()
echo "soak: samples in $CSV"
(( FAIL == 0 )) && echo "soak: PASS" || echo "soak: FAIL"
exit "$FAIL"
