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
# shellcheck source=lib/fanout.bash
source "$(dirname "$0")/lib/fanout.bash"
FANOUT_NAME=ws-fanout.sh FANOUT_HELP=15
fanout_args "$@"

fanout_server --listen 127.0.0.1:0 --ws-listen 127.0.0.1:0 --no-flood-control
WS=$(fanout_port 'WebSocket on ws://')
TCP=$(fanout_port 'listening on ')

# The rounds alternate tcp, ws / ws, tcp.
KINDS=(ws tcp)
fanout_kind() {
  PORT=$TCP
  [[ $1 == ws ]] && PORT=$WS && EXTRA=(--websocket)
  return 0
}
echo "# sockit $("$SOCKIT" --version 2>/dev/null | head -1); server pid $SERVER on core 0 (tcp $TCP, ws $WS), load on core 1"
fanout_rounds

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
