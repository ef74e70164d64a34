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
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *:*) CELLS+=("$1"); shift ;;
    *) echo "tags-fanout.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ ${#CELLS[@]} -gt 0 ]] || CELLS=(100:1 1000:10)
SOCKIT=$BUILD_DIR/sockit
[[ -x $SOCKIT ]] || { echo "tags-fanout.sh: no $SOCKIT (cmake --build $BUILD_DIR --target sockit)" >&2; exit 2; }
T=$(mktemp -d /tmp/sockit-tags-fanout.XXXXXX)
SERVER=
cleanup() {
  [[ -n $SERVER ]] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT

head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$T/pass"
"$SOCKIT" chat-server account add loadbench --db "$T/accounts.db" <"$T/pass" >/dev/null
taskset -c 0 "$SOCKIT" chat-server --listen 127.0.0.1:0 --no-flood-control --accounts-db "$T/accounts.db" \
  >"$T/server.out" 2>"$T/server.err" &
SERVER=$!
PORT=
for _ in $(seq 100); do
  PORT=$(grep -Eoh 'listening on 127\.0\.0\.1:[0-9]+' "$T/server.out" "$T/server.err" | head -1 | grep -Eo '[0-9]+$' || true)
  [[ -n $PORT ]] && break
  sleep 0.05
done
[[ -n $PORT ]] || { echo "tags-fanout.sh: the server announced no port" >&2; cat "$T"/server.*; exit 1; }

echo "# sockit $("$SOCKIT" --version 2>/dev/null | head -1); server pid $SERVER on core 0 (port $PORT), load on core 1"
printf '%-10s %-11s %-3s %12s %14s %9s %9s\n' cell kind rnd deliveries/s server_us/dlv p50_us p99_us
KINDS=(plain tags login login-tags)
run=0
for cell in "${CELLS[@]}"; do
  c=${cell%%:*}; s=${cell##*:}
  for r in $(seq "$ROUNDS"); do
    for i in 0 1 2 3; do
      kind=${KINDS[$(( (i + r) % 4 ))]}
      run=$((run + 1))
      extra=()
      case $kind in
        tags) extra=(--caps "message-tags server-time") ;;
        login) extra=(--sasl-user loadbench --sasl-pass-file "$T/pass") ;;
        login-tags) extra=(--sasl-user loadbench --sasl-pass-file "$T/pass" --caps "message-tags server-time account-tag") ;;
      esac
      taskset -c 1 "$SOCKIT" load irc "127.0.0.1:$PORT" "${extra[@]}" -c "$c" --senders "$s" --channel "#t$run" \
        --warmup 1s -d "$DURATION" --server-pid "$SERVER" --no-progress --json >"$T/run.json" 2>"$T/run.err" || true
      jq -r --arg cell "$cell" --arg kind "$kind" --arg r "$r" \
        '[$cell, $kind, $r, .deliveries_per_s, .server.cpu_us_per_unit, .latency_us.p50, .latency_us.p99, .errors_total] | @tsv' \
        "$T/run.json" >>"$T/rows.tsv" || { echo "run failed:"; cat "$T/run.json" "$T/run.err"; exit 1; }
      tail -1 "$T/rows.tsv" | awk -F'\t' '{ printf "%-10s %-11s %-3s %12.0f %14.3f %9.0f %9.0f%s\n", $1, $2, $3, $4, $5, $6, $7, ($8 > 0 ? "  errors " $8 : "") }'
    done
  done
done

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
