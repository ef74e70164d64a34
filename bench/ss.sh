#!/usr/bin/env bash
# bench/ss.sh: CPU of `sockit ss` against iproute2 `ss` on the same sockets, in paired runs.
#
#   bench/ss.sh [--build-dir DIR] [--baseline DIR] [--sockets N] [--rounds R] [--args 'ARGS']
#               [--tsv FILE --label TEXT]
#   bench/ss.sh --sockets 3000 --rounds 21
#   bench/ss.sh --build-dir build/ss-rel --baseline build/release --sockets 15000 --args '-tanp'
#
# Opens about N loopback TCP sockets (a `sockit echo-server` on 127.0.0.1 and `sockit load hold`
# holding N/2 connections to it; at most 19,000 connections: 20,000 descriptors per process), then
# R rounds of: `ss ARGS` and `sockit ss ARGS` (default ARGS: -tan), each once, the order alternating
# round by round, stdout to /dev/null; with --baseline, another build's `sockit ss ARGS` too (e.g.
# before/after a change), in the same rounds. The CPU time of each run is the child's user + system
# time and its page faults (getrusage via wait4). Prints one line per round and the median, min and
# max of the sockit/ss ratios; with --tsv appends one row per round and binary (label, sockets,
# args, round, binary, ss ms, sockit ms, ratio, sockit page faults). Pairing keeps the ratio fair
# when other work shares the machine. Kills only the two processes it started.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$ROOT/build/release
BASELINE=
SOCKETS=3000
ROUNDS=11
ARGS=-tan
TSV_OUT=
LABEL=
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR=$(realpath -m "$2"); shift 2 ;;
    --baseline) BASELINE=$(realpath -m "$2")/sockit; shift 2 ;;
    --sockets) SOCKETS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --args) ARGS=$2; shift 2 ;;
    --tsv) TSV_OUT=$(realpath -m "$2"); shift 2 ;;
    --label) LABEL=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "bench/ss.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$SOCKETS" in ''|*[!0-9]*) echo "bench/ss.sh: --sockets needs a number" >&2; exit 2 ;; esac
case "$ROUNDS" in ''|*[!0-9]*|0) echo "bench/ss.sh: --rounds needs a positive number" >&2; exit 2 ;; esac
[ "$SOCKETS" -le 38000 ] || { echo "bench/ss.sh: at most 38000 sockets (19,000 connections)" >&2; exit 2; }
SOCKIT=$BUILD_DIR/sockit
for bin in "$SOCKIT" ${BASELINE:+"$BASELINE"}; do
  [ -x "$bin" ] || { echo "bench/ss.sh: $bin is missing (build the sockit target)" >&2; exit 1; }
done
SS=$(command -v ss) || { echo "bench/ss.sh: iproute2 ss is not installed" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
CONNS=$((SOCKETS / 2))
"$SOCKIT" echo-server -l "127.0.0.1:$PORT" >/dev/null 2>&1 &
PIDS+=($!)
python3 - "$PORT" <<'EOF'
import socket, sys, time
deadline = time.monotonic() + 10
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close(); break
    except OSError:
        if time.monotonic() > deadline: sys.exit("bench/ss.sh: echo-server did not start")
        time.sleep(0.05)
EOF
if [ "$CONNS" -gt 0 ]; then
  "$SOCKIT" load hold "127.0.0.1:$PORT" -c "$CONNS" -d 3600s --no-progress >/dev/null 2>&1 &
  PIDS+=($!)
fi

# Waits until the connections are up, then runs the rounds.
python3 - "$SS" "$PORT" "$CONNS" "$ROUNDS" "$ARGS" "$TSV_OUT" "$LABEL" "$SOCKIT" ${BASELINE:+"$BASELINE"} <<'EOF'
import os, shlex, statistics, subprocess, sys, time
ss, port, conns, rounds, args, tsv, label = sys.argv[1:8]
sockits = sys.argv[8:]
conns, rounds = int(conns), int(rounds)
args = shlex.split(args)

def established():
    out = subprocess.run([ss, "-Htn", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True, check=True).stdout
    return out.count("\n")

deadline = time.monotonic() + 120
while established() < conns:
    if time.monotonic() > deadline:
        sys.exit(f"bench/ss.sh: only {established()} of {conns} connections up after 120 s")
    time.sleep(0.2)
total = subprocess.run([ss, "-Htan"], capture_output=True, text=True, check=True).stdout.count("\n")

def cpu_ms(cmd):
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen(cmd, stdout=null)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"bench/ss.sh: {' '.join(cmd)} exited {p.returncode}")
    return (ru.ru_utime + ru.ru_stime) * 1000.0, ru.ru_minflt

names = ["sockit"] if len(sockits) == 1 else ["sockit", "baseline"]
print(f"{total} TCP sockets on the machine; ss {' '.join(args)}: iproute2 vs {' and '.join(names)}, "
      f"{rounds} paired rounds")
ss_ms, ms, faults, ratios = [], [[] for _ in sockits], [[] for _ in sockits], [[] for _ in sockits]
rows = []
for r in range(1, rounds + 1):
    runs = [[ss] + args] + [[b, "ss"] + args for b in sockits]
    order = list(range(len(runs)))
    order = order[r % len(order):] + order[:r % len(order)]  # each binary goes first in turn
    got = {}
    for i in order:
        got[i] = cpu_ms(runs[i])
    ss_ms.append(got[0][0])
    line = f"round {r:2}: ss {got[0][0]:6.1f} ms"
    for k in range(len(sockits)):
        t, f = got[k + 1]
        ms[k].append(t); faults[k].append(f); ratios[k].append(t / got[0][0])
        rows.append((r, names[k], got[0][0], t, t / got[0][0], f))
        line += f"  {names[k]} {t:6.1f} ms ({f} faults) ratio {t / got[0][0]:.2f}"
    print(line)
ss_faults = cpu_ms([ss] + args)[1]
for k in range(len(sockits)):
    print(f"{names[k]}: median sockit/ss {statistics.median(ratios[k]):.2f} (min {min(ratios[k]):.2f}, "
          f"max {max(ratios[k]):.2f}); median CPU ss {statistics.median(ss_ms):.1f} ms, "
          f"sockit {statistics.median(ms[k]):.1f} ms; page faults ss {ss_faults}, "
          f"sockit {statistics.median(faults[k]):.0f} ({sockits[k]})")
if tsv:
    with open(tsv, "a") as f:
        for r, name, a, b, ratio, flt in rows:
            f.write(f"{label}\t{total}\t{' '.join(args)}\t{r}\t{name}\t{a:.1f}\t{b:.1f}\t{ratio:.3f}\t{flt}\n")
EOF
