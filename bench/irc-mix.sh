#!/usr/bin/env bash
# bench/irc-mix.sh: `sockit load irc-mix` (a realistic chat network, docs/LOAD.md) against sockit
# chat-server, ngircd and inspircd in one run: the servers alternate within each round (their order
# rotates), each alone on the server core (taskset core 0) with the load on core 1, each started
# afresh and configured as bench/irc_servers.sh does (flood limits lifted). Prints one line per
# server and round and the medians: server CPU per delivery, p99 delivery latency (from the
# scheduled send time), deliveries/s, lost, RSS per client; and sockit's CPU per delivery against
# the best of the other two, per round (median and range). Appends rows to --tsv FILE.
# --mode runs another IRC load mode in the same rotation (issue #21's other cells): `irc` (the
# fan-out: `--mode irc -c 100 --senders 1`) or `irc-register` (the registration storm:
# `--mode irc-register -c 100`, unit one registration, latency connect-to-001, p50 printed too and
# compared with ngircd's per round). --preset applies to irc-mix only. --servers LIST (comma-separated
# names of bench/irc_servers.sh, default sockit-chat,ngircd,inspircd) sets the arms of the rotation,
# e.g. sockit-chat,sockit-chat-uring,ngircd,inspircd (NAME+base: the binary SOCKIT_BASE, for a
# before/after A/B of two builds, each NAME against NAME+base per round); every sockit arm is compared with the best of
# ngircd and inspircd in the same round (CPU per unit, and p99 against the lower of their p99s;
# for irc-register also p50, mean and rate against ngircd's). "gen" is the generator's CPU over the
# measured interval as a share of that interval: a generator starved of its core (gen far below
# its other rounds, p50 in seconds) makes the round invalid (docs/BENCHMARKS.md, irc-mix large).
# PERF_ARM=NAME PERF_ROUND=N [PERF_DELAY=S] [PERF_SECS=S] [PERF_OUT=FILE]: record the server of
# that arm and round with `perf record -e cpu-clock -F 2000 -g` for PERF_SECS (default 5) seconds,
# starting PERF_DELAY (default 4) seconds after the load starts (set it past the warm-up/join).
# On a shared machine with kernel.sched_autogroup_enabled=1, `nice` does not cross sessions: raise
# the bench session's group instead (root): echo -15 > /proc/$$/autogroup (docs/BENCHMARKS.md).
#
#   bench/irc-mix.sh [--build-dir DIR] [--rounds N] [--mode irc-mix|irc|irc-register] [--preset small|large]
#                    [--servers LIST] [--tsv FILE] [LOAD-ARGS...]
#   bench/irc-mix.sh --rounds 6 --preset small -d 10s --warmup 2s
#   bench/irc-mix.sh --rounds 6 --mode irc-register -c 100 -d 5s --warmup 1s
#   bench/irc-mix.sh --rounds 6 --mode irc -c 100 --senders 1 --window 4 -d 5s --warmup 1s
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/irc_servers.sh
. "$ROOT/bench/irc_servers.sh"
BUILD_DIR=$ROOT/build/release
ROUNDS=3
PRESET=small
MODE=irc-mix
TSV_OUT=
SERVERS=(sockit-chat ngircd inspircd)
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR=$(realpath -m "$2"); shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --preset) PRESET=$2; shift 2 ;;
    --mode) MODE=$2; shift 2 ;;
    --tsv) TSV_OUT=$(realpath -m "$2"); shift 2 ;;
    --servers) IFS=, read -r -a SERVERS <<<"$2"; shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) break ;;
  esac
done
case "$MODE" in
  irc-mix) MODE_ARGS=(--preset "$PRESET"); CELL="irc-mix $PRESET" ;;
  irc | irc-register) MODE_ARGS=(); CELL=$MODE ;;
  *) echo "bench/irc-mix.sh: --mode must be irc-mix, irc or irc-register" >&2; exit 2 ;;
esac
SOCKIT=$BUILD_DIR/sockit
[ -x "$SOCKIT" ] || { echo "bench/irc-mix.sh: $SOCKIT is missing (bench/run.sh builds it)" >&2; exit 1; }
TMP=$(mktemp -d /tmp/sockit-ircmix.XXXXXX)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }; rm -rf "$TMP"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
ROWS=$TMP/rows.tsv
: >"$ROWS"
for round in $(seq 1 "$ROUNDS"); do
  for i in "${!SERVERS[@]}"; do
    s=${SERVERS[$(( (i + round - 1) % ${#SERVERS[@]} ))]}
    port=$(free_port)
    rc=0
    irc_server_cmd "$s" "$port" "$TMP/$s.$port" "$SOCKIT" || rc=$?
    [ $rc = 0 ] || { echo "bench/irc-mix.sh: $s is not installed" >&2; continue; }
    taskset -c 0 "${IRC_CMD[@]}" >/dev/null 2>&1 &
    SERVER_PID=$!
    wait_port "$port" || { echo "bench/irc-mix.sh: $s did not start" >&2; exit 1; }
    PERF_PID=
    if [ "${PERF_ARM:-}" = "$s" ] && [ "${PERF_ROUND:-1}" = "$round" ]; then
      (sleep "${PERF_DELAY:-4}"; exec taskset -c 1 perf record -q -e cpu-clock -F 2000 -g -p "$SERVER_PID" \
        -o "${PERF_OUT:-perf-$s.data}" -- sleep "${PERF_SECS:-5}") >/dev/null 2>&1 &
      PERF_PID=$!
    fi
    taskset -c 1 "$SOCKIT" load "$MODE" "127.0.0.1:$port" "${MODE_ARGS[@]}" "$@" --server-pid "$SERVER_PID" \
      --json --no-progress >"$TMP/run.json" 2>"$TMP/run.err" || true
    [ -n "$PERF_PID" ] && { wait "$PERF_PID" || true; echo "perf: ${PERF_OUT:-perf-$s.data} ($s, round $round)"; }
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
    jq -e '.server.cpu_us_per_unit' "$TMP/run.json" >/dev/null ||
      { echo "bench/irc-mix.sh: load against $s failed: $(tail -1 "$TMP/run.err")" >&2; exit 1; }
    jq -r --arg s "$s" --arg r "$round" \
      '[$s, $r, .server.cpu_us_per_unit, .latency_us.p99, (.deliveries_per_s // .rate_per_s), (.lost // 0),
        (.deliveries_expected // .units), (.server.rss_per_client_bytes // 0), .client_cpu_s, .errors_total,
        .latency_us.p50, .latency_us.mean, .duration_s] | @tsv' "$TMP/run.json" >>"$ROWS"
    tail -1 "$ROWS" | awk -F'\t' '{printf "round %s %-12s %6.2f us CPU/unit  p50 %8.0f us  mean %8.0f us  p99 %8.0f us  %8.0f units/s  lost %s of %s  rss %6.0f B/client  client cpu %.1fs (gen %.0f%%)  errors %s\n", $2, $1, $3, $11, $12, $4, $5, $6, $7, $8, $9, ($13 > 0 ? 100 * $9 / $13 : 0), $10}'
  done
done
[ -n "$TSV_OUT" ] && sed "s/^/$CELL\t/" "$ROWS" >>"$TSV_OUT"
python3 - "$ROWS" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
by = {}
for s, r, cpu, p99, rate, lost, exp, rss, ccpu, err, p50, mean, dur in rows:
    by.setdefault(s, {})[int(r)] = (float(cpu), float(p99), float(rate), int(lost), float(rss), float(p50),
                                    float(mean), float(ccpu) / float(dur) if float(dur) > 0 else 0.0)
med = lambda xs: statistics.median(xs) if xs else float("nan")
for s, rs in by.items():
    v = list(rs.values())
    print(f"median {s:<12} {med([x[0] for x in v]):6.2f} us CPU/unit  p50 {med([x[5] for x in v]):8.0f} us  "
          f"mean {med([x[6] for x in v]):8.0f} us  "
          f"p99 {med([x[1] for x in v]):8.0f} us  {med([x[2] for x in v]):8.0f} units/s  lost {sum(x[3] for x in v)}  "
          f"rss {med([x[4] for x in v]):6.0f} B/client  gen {100 * med([x[7] for x in v]):.0f}%")
for mine_name in [s for s in by if s.startswith("sockit")]:
    for k, name in ((0, "CPU per unit"), (1, "p99 (against the lower p99)")):
        ratios = []
        for r, mine in sorted(by[mine_name].items()):
            others = [by[s][r][k] for s in ("ngircd", "inspircd") if r in by.get(s, {})]
            if others and min(others) > 0:
                ratios.append(mine[k] / min(others))
        if ratios:
            print(f"{mine_name} / best other, {name}: median {med(ratios):.3f} (range {min(ratios):.3f}-{max(ratios):.3f}, "
                  f"{len(ratios)} rounds: {' '.join(f'{x:.3f}' for x in ratios)})")
# Each variant against its base in the same rounds: uring against epoll, NAME@HOLD against NAME,
# the uring arm with accepts on readiness (-acc0) against the ring's accepts.
pairs = [("sockit-chat-uring", "sockit-chat")] + [(s, s.split("@")[0]) for s in by if "@" in s]
pairs += [(s.replace("-acc0", ""), s) for s in by if "-acc0" in s]
pairs += [(s[: -len("+base")], s) for s in by if s.endswith("+base")]  # this build / SOCKIT_BASE's
for a, b in pairs:
    if a not in by or b not in by:
        continue
    rs = [by[a][r][0] / m[0] for r, m in sorted(by[b].items()) if r in by[a]]
    if rs:
        print(f"{a} / {b}, CPU per unit: median {med(rs):.3f} (range {min(rs):.3f}-{max(rs):.3f}: "
              f"{' '.join(f'{x:.3f}' for x in rs)})")
    for k, name in ((5, "p50"), (1, "p99")):
        rs = [by[a][r][k] / m[k] for r, m in sorted(by[b].items()) if r in by[a] and m[k] > 0]
        if rs:
            print(f"{a} / {b}, {name}: median {med(rs):.3f} (range {min(rs):.3f}-{max(rs):.3f})")
for mine_name in [s for s in by if s.startswith("sockit")]:
    for k, name in ((5, "p50"), (6, "mean"), (1, "p99"), (2, "units/s")):
        rs = [mine[k] / by["ngircd"][r][k] for r, mine in sorted(by[mine_name].items())
              if r in by.get("ngircd", {}) and by["ngircd"][r][k] > 0]
        if rs:
            print(f"{mine_name} / ngircd, {name}: median {med(rs):.3f} (range {min(rs):.3f}-{max(rs):.3f}, {len(rs)} rounds)")
PY
