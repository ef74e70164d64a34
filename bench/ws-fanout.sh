#!/usr/bin/env bash
# bench/ws-fanout.sh: the cost of the WebSocket framing per IRC delivery (issue #19 item 4).
#
#   bench/ws-fanout.sh [--build-dir DIR] [--rounds N] [--duration D] [--out FILE] [CLIENTS:SENDERS ...]
#   bench/ws-fanout.sh --rounds 6 100:1 1000:10
#
# One `sockit chat-server --no-flood-control` pinned to core 0 listens on a TCP port and a
# WebSocket port (--ws-listen); `sockit load irc` pinned to core 1 drives the same fan-out over TCP
# and over WebSocket (--websocket, text.ircv3.net) in alternating order, round after round, so the
# machine's drift hits both alike. Each run: --warmup 1s, -d D measured, --server-pid: the
# server's CPU per delivery. Prints one line per run and, per cell, the medians and the ratio
# WebSocket/TCP of the server's CPU per delivery (median, min-max over the rounds) and of the
# deliveries per second; --out FILE gets the summary as Markdown. (Both transports on one server,
# so the server's state -- channel, member count -- is the same for both; the channel is fresh
# per run.)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$ROOT/build/release
ROUNDS=6
DURATION=3s
OUT=
CELLS=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) BUILD_DIR=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *:*) CELLS+=("$1"); shift ;;
    *) echo "ws-fanout.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ ${#CELLS[@]} -gt 0 ]] || CELLS=(100:1 1000:10)
SOCKIT=$BUILD_DIR/sockit
[[ -x $SOCKIT ]] || { echo "ws-fanout.sh: no $SOCKIT (cmake --build $BUILD_DIR --target sockit)" >&2; exit 2; }
T=$(mktemp -d)
SERVER=
cleanup() {
  [[ -n $SERVER ]] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT

taskset -c 0 "$SOCKIT" chat-server --listen 127.0.0.1:0 --ws-listen 127.0.0.1:0 --no-flood-control \
  >"$T/server.out" 2>"$T/server.err" &
SERVER=$!
for _ in $(seq 100); do
  WS=$(grep -Eoh 'WebSocket on ws://127\.0\.0\.1:[0-9]+' "$T/server.out" "$T/server.err" | head -1 | grep -Eo '[0-9]+$' || true)
  [[ -n $WS ]] && break
  sleep 0.05
done
TCP=$(grep -Eoh 'listening on 127\.0\.0\.1:[0-9]+' "$T/server.out" "$T/server.err" | head -1 | grep -Eo '[0-9]+$')
[[ -n ${WS:-} && -n $TCP ]] || { echo "ws-fanout.sh: the server announced no ports" >&2; cat "$T"/server.*; exit 1; }

echo "# sockit $("$SOCKIT" --version 2>/dev/null | head -1); server pid $SERVER on core 0 (tcp $TCP, ws $WS), load on core 1"
printf '%-10s %-5s %-3s %12s %14s %9s %9s\n' cell kind rnd deliveries/s server_us/dlv p50_us p99_us
run=0
for cell in "${CELLS[@]}"; do
  c=${cell%%:*}; s=${cell##*:}
  for r in $(seq "$ROUNDS"); do
    order=(tcp ws); (( r % 2 == 0 )) && order=(ws tcp)
    for kind in "${order[@]}"; do
      run=$((run + 1))
      port=$TCP; extra=()
      [[ $kind == ws ]] && port=$WS && extra=(--websocket)
      taskset -c 1 "$SOCKIT" load irc "127.0.0.1:$port" "${extra[@]}" -c "$c" --senders "$s" --channel "#b$run" \
        --warmup 1s -d "$DURATION" --server-pid "$SERVER" --no-progress --json >"$T/run.json" 2>"$T/run.err" || true
      jq -r --arg cell "$cell" --arg kind "$kind" --arg r "$r" \
        '[$cell, $kind, $r, .deliveries_per_s, .server.cpu_us_per_unit, .latency_us.p50, .latency_us.p99, .errors_total] | @tsv' \
        "$T/run.json" >>"$T/rows.tsv" || { echo "run failed:"; cat "$T/run.json" "$T/run.err"; exit 1; }
      tail -1 "$T/rows.tsv" | awk -F'\t' '{ printf "%-10s %-5s %-3s %12.0f %14.3f %9.0f %9.0f%s\n", $1, $2, $3, $4, $5, $6, $7, ($8 > 0 ? "  errors " $8 : "") }'
    done
  done
done

python3 - "$T/rows.tsv" "$OUT" <<'PY'
import statistics, sys
rows, out = sys.argv[1], sys.argv[2]
data = {}
for line in open(rows):
    cell, kind, rnd, rate, cpu, p50, p99, errs = line.rstrip("\n").split("\t")
    data.setdefault(cell, {}).setdefault(int(rnd), {})[kind] = (float(rate), float(cpu), float(p50), float(p99))
lines = ["| clients:senders | rounds | TCP deliveries/s | WS deliveries/s | TCP server us/delivery | WS server us/delivery "
         "| WS/TCP CPU per delivery, median (min-max) | WS/TCP deliveries/s, median | p99 us TCP / WS |",
         "|---|---|---|---|---|---|---|---|---|"]
for cell, rounds in data.items():
    both = [v for v in rounds.values() if "tcp" in v and "ws" in v and v["tcp"][1] > 0 and v["ws"][1] > 0]
    if not both:
        continue
    med = lambda k, i: statistics.median(v[k][i] for v in both)
    cpu_ratio = [v["ws"][1] / v["tcp"][1] for v in both]
    rate_ratio = [v["ws"][0] / v["tcp"][0] for v in both]
    lines.append(f"| {cell} | {len(both)} | {med('tcp', 0):,.0f} | {med('ws', 0):,.0f} | {med('tcp', 1):.3f} | {med('ws', 1):.3f} "
                 f"| {statistics.median(cpu_ratio):.2f} ({min(cpu_ratio):.2f}-{max(cpu_ratio):.2f}) "
                 f"| {statistics.median(rate_ratio):.2f} | {med('tcp', 3):,.0f} / {med('ws', 3):,.0f} |")
text = "\n".join(lines) + "\n"
print()
print(text, end="")
if out:
    open(out, "w").write(text)
PY
