#!/usr/bin/env bash
# bench/tags-fanout.sh: the cost of IRCv3 tags per channel delivery (issue #18's bench): the
# server's CPU per delivery with message-tags + server-time on for every receiver against none,
# and with a logged-in sender (account-tag) against a guest.
#
#   bench/tags-fanout.sh [--build-dir DIR] [--rounds N] [--duration D] [--out FILE] [CLIENTS:SENDERS ...]
#   bench/tags-fanout.sh --rounds 6 100:1 1000:10
#
# One `sockit chat-server --no-flood-control --accounts-db DB` pinned to core 0 (a fresh database
# with one throwaway account, its password in a file of the run's temp directory); `sockit load
# irc` pinned to core 1 runs four kinds, in an order that rotates each round so the machine's
# drift hits them alike:
#   plain        guest senders, receivers with no caps
#   tags         guest senders, every client with message-tags server-time
#   login        the senders logged in (SASL PLAIN, --sasl-user), receivers with no caps
#   login-tags   the senders logged in, every client with message-tags server-time account-tag
# Each run: --warmup 1s, -d D measured, --server-pid: the server's CPU per delivery. Prints a
# line per run, then per cell the medians and the ratios tags/plain, login/plain and
# login-tags/tags of the CPU per delivery (median, min-max over the rounds); --out FILE gets the
# summary as Markdown.
set -euo pipefail
# shellcheck source=lib/fanout.bash
source "$(dirname "$0")/lib/fanout.bash"
FANOUT_NAME=tags-fanout.sh FANOUT_HELP=20
fanout_args "$@"

head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$T/pass"
"$SOCKIT" chat-server account add loadbench --db "$T/accounts.db" <"$T/pass" >/dev/null
fanout_server --listen 127.0.0.1:0 --no-flood-control --accounts-db "$T/accounts.db"
PORT_=$(fanout_port 'listening on ')

KINDS=(plain tags login login-tags)
fanout_kind() {
  PORT=$PORT_
  case $1 in
    tags) EXTRA=(--caps "message-tags server-time") ;;
    login) EXTRA=(--sasl-user loadbench --sasl-pass-file "$T/pass") ;;
    login-tags) EXTRA=(--sasl-user loadbench --sasl-pass-file "$T/pass" --caps "message-tags server-time account-tag") ;;
  esac
  return 0
}
echo "# sockit $("$SOCKIT" --version 2>/dev/null | head -1); server pid $SERVER on core 0 (port $PORT_), load on core 1"
fanout_rounds

python3 - "$T/rows.tsv" "$OUT" <<'PY'
import statistics, sys
rows, out = sys.argv[1], sys.argv[2]
data = {}
for line in open(rows):
    cell, kind, rnd, rate, cpu, p50, p99, errs = line.rstrip("\n").split("\t")
    if float(cpu) > 0 and int(float(errs)) == 0:
        data.setdefault(cell, {}).setdefault(int(rnd), {})[kind] = float(cpu)
pairs = [("tags", "plain"), ("login", "plain"), ("login-tags", "tags")]
lines = ["| clients:senders | rounds | server us/delivery: plain / tags / login / login-tags "
         "| tags/plain | login/plain | login-tags/tags |",
         "|---|---|---|---|---|---|"]
for cell, rounds in data.items():
    full = [v for v in rounds.values() if len(v) == 4]
    if not full:
        continue
    med = " / ".join(f"{statistics.median(v[k] for v in full):.3f}" for k in ("plain", "tags", "login", "login-tags"))
    cols = []
    for a, b in pairs:
        rs = [v[a] / v[b] for v in full]
        cols.append(f"{statistics.median(rs):.2f} ({min(rs):.2f}-{max(rs):.2f})")
    lines.append(f"| {cell} | {len(full)} | {med} | " + " | ".join(cols) + " |")
text = "\n".join(lines) + "\n"
print()
print(text, end="")
if out:
    open(out, "w").write(text)
PY
