#!/usr/bin/env bash
# bench/cluster-fanout.sh: one channel's fan-out on a chat cluster of 2, 3, 4... nodes joined
# through Redis against the same on one node (issue #20's bench; docs/CLUSTER.md, "Bench").
#
#   bench/cluster-fanout.sh [--build-dir DIR] [--rounds N] [--duration D] [--nodes LIST] [--no-pin] [--out FILE] [CLIENTS:SENDERS ...]
#   bench/cluster-fanout.sh --rounds 4 1000:10
#   bench/cluster-fanout.sh --nodes 1,2,3,4 --rounds 3 --duration 2s 1000:12
#
# One redis-server (loopback only: a unix socket in the run's temp directory, no TCP port, no
# persistence) and one plain `sockit chat-server` (no --cluster), pinned to core 0 with every node;
# `sockit load irc` pinned to core 1 (--no-pin: no taskset). --nodes (default 1,2) lists the kinds:
#   1  `sockit load irc ONE`: every client on the single node (no Redis)
#   K  K nodes `sockit chat-server --cluster unix:SOCK --node-name ...`, started for the run and
#      stopped after it (no idle node receives the channel's events), `sockit load irc N1,...,NK`:
#      clients and senders round-robin over them
# Each round runs every kind, the order rotated from round to round, on a fresh channel. Each run:
# --warmup 1s, -d D measured. Per run: deliveries/s, p50/p99 delivery latency (us), the CPU of the
# server processes (single node: it; cluster: its nodes + Redis) per delivery, Redis's CPU (INFO
# cpu) as a share of one core over the run, and PUBLISH calls per channel message (INFO
# commandstats): (PUBLISHes during the run - 3 per client: its HAVE at registration, JOIN and
# QUIT) / PRIVMSGs sent. Then per cell and kind: medians, and the paired ratio K/1 of the
# deliveries/s (median, min-max over the rounds); --out FILE gets that summary as Markdown.
# Bounded: rounds x kinds x (D + 1 s warm-up + start/stop), about 8 s a run for D = 3s.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$ROOT/build/release
ROUNDS=4
DURATION=3s
OUT=
PIN=1
NODES=1,2
CELLS=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) BUILD_DIR=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --nodes) NODES=$2; shift 2 ;;
    --no-pin) PIN=0; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *:*) CELLS+=("$1"); shift ;;
    *) echo "cluster-fanout.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ ${#CELLS[@]} -gt 0 ]] || CELLS=(1000:10)
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "cluster-fanout.sh: --rounds takes a positive number" >&2; exit 2; }
[[ $NODES =~ ^[1-9](,[1-9])*$ ]] || { echo "cluster-fanout.sh: --nodes takes node counts 1-9, e.g. 1,2,3,4" >&2; exit 2; }
IFS=, read -r -a KINDS <<<"$NODES"
SOCKIT=$BUILD_DIR/sockit
[[ -x $SOCKIT ]] || { echo "cluster-fanout.sh: no $SOCKIT (cmake --build $BUILD_DIR --target sockit)" >&2; exit 2; }
command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
  { echo "cluster-fanout.sh: needs redis-server and redis-cli (apt-get install redis-server)" >&2; exit 2; }
command -v jq >/dev/null || { echo "cluster-fanout.sh: needs jq" >&2; exit 2; }
SRV=(); LOAD=()
[[ $PIN == 1 ]] && SRV=(taskset -c 0) && LOAD=(taskset -c 1)

T=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT

SOCK=$T/redis.sock
"${SRV[@]}" redis-server --port 0 --unixsocket "$SOCK" --unixsocketperm 700 --save '' --appendonly no \
  --dir "$T" --logfile "$T/redis.log" --maxclients 1000 &
REDIS=$!; PIDS+=("$REDIS")
rcli() { redis-cli -s "$SOCK" "$@"; }
for _ in $(seq 100); do [[ $(rcli PING 2>/dev/null) == PONG ]] && break; sleep 0.05; done
[[ $(rcli PING 2>/dev/null) == PONG ]] || { echo "cluster-fanout.sh: redis-server did not start" >&2; cat "$T/redis.log"; exit 1; }

# start NAME ARGS...: a chat-server on 127.0.0.1:0; sets PORT_<NAME> and PID_<NAME>.
start() {
  local name=$1; shift
  "${SRV[@]}" "$SOCKIT" chat-server --listen 127.0.0.1:0 --no-flood-control "$@" >"$T/$name.out" 2>"$T/$name.err" &
  local pid=$!; PIDS+=("$pid")
  local port=
  for _ in $(seq 200); do
    port=$(grep -Eoh 'listening on 127\.0\.0\.1:[0-9]+' "$T/$name.out" "$T/$name.err" | head -1 | grep -Eo '[0-9]+$' || true)
    [[ -n $port ]] && break
    sleep 0.05
  done
  [[ -n $port ]] || { echo "cluster-fanout.sh: $name announced no port" >&2; cat "$T/$name".*; exit 1; }
  printf -v "PORT_$name" '%s' "$port"
  printf -v "PID_$name" '%s' "$pid"
}
start one
subscribers() { rcli PUBSUB NUMSUB sockit:msg | tail -1; }
# nodes K RUN: K cluster nodes for run RUN (r<RUN>n1...); sets TARGET and NODE_PIDS once every one
# has subscribed.
nodes() {
  local k=$1 run=$2 i name port pid
  TARGET=; NODE_PIDS=()
  for i in $(seq "$k"); do
    name=r${run}n$i
    start "$name" --cluster "unix:$SOCK" --node-name "$name"
    port=PORT_$name; pid=PID_$name
    TARGET+=${TARGET:+,}127.0.0.1:${!port}; NODE_PIDS+=("${!pid}")
  done
  for _ in $(seq 200); do [[ $(subscribers) == "$k" ]] && return; sleep 0.05; done
  echo "cluster-fanout.sh: the nodes did not subscribe" >&2; exit 1
}
# stop_nodes: SIGTERM the run's nodes and wait for them (and for Redis to see them gone).
stop_nodes() {
  local p
  for p in "${NODE_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${NODE_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for _ in $(seq 100); do [[ $(subscribers) == 0 ]] && break; sleep 0.05; done
  NODE_PIDS=()
}

ticks() { local t=0; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
HZ=$(getconf CLK_TCK)
publishes() { rcli INFO commandstats | tr -d '\r' | sed -n 's/^cmdstat_publish:calls=\([0-9]*\).*/\1/p' | grep . || echo 0; }
redis_cpu() { rcli INFO cpu | tr -d '\r' | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.6f", s }'; }
# The PUBLISH count once it stopped moving (the QUITs of the load's clients arrive after it exits).
settled_publishes() {
  local a b
  a=$(publishes)
  for _ in $(seq 50); do sleep 0.2; b=$(publishes); [[ $a == "$b" ]] && break; a=$b; done
  echo "$a"
}

echo "# sockit $("$SOCKIT" --version 2>/dev/null | head -1); $(redis-server --version | cut -d' ' -f1-3)"
echo "# one: pid $PID_one port $PORT_one; redis pid $REDIS; kinds (nodes) $NODES;" \
  "$([[ $PIN == 1 ]] && echo 'servers on core 0, load on core 1' || echo 'not pinned')"
printf '%-10s %-4s %-3s %12s %9s %9s %14s %9s %12s\n' cell kind rnd deliveries/s p50_us p99_us server_us/dlv redis_cpu publish/msg
run=0
for cell in "${CELLS[@]}"; do
  c=${cell%%:*}; s=${cell##*:}
  for r in $(seq "$ROUNDS"); do
    order=()
    for i in "${!KINDS[@]}"; do order+=("${KINDS[$(( (i + r - 1) % ${#KINDS[@]} ))]}"); done
    for kind in "${order[@]}"; do
      run=$((run + 1))
      if [[ $kind == 1 ]]; then
        target=127.0.0.1:$PORT_one; procs=("$PID_one")
      else
        nodes "$kind" "$run"
        target=$TARGET; procs=("${NODE_PIDS[@]}" "$REDIS")
      fi
      p0=$(settled_publishes); r0=$(redis_cpu); t0=$(ticks "${procs[@]}"); w0=$(date +%s.%N)
      "${LOAD[@]}" "$SOCKIT" load irc "$target" -c "$c" --senders "$s" --channel "#b$run" \
        --warmup 1s -d "$DURATION" --no-progress --json >"$T/run.json" 2>"$T/run.err" || true
      t1=$(ticks "${procs[@]}"); w1=$(date +%s.%N); r1=$(redis_cpu); p1=$(settled_publishes)
      [[ $kind == 1 ]] || stop_nodes
      jq -e .deliveries_per_s "$T/run.json" >/dev/null 2>&1 || { echo "run failed:"; cat "$T/run.json" "$T/run.err"; exit 1; }
      jq -r --arg cell "$cell" --arg kind "$kind" --arg r "$r" --argjson c "$c" \
        --argjson cpu "$(echo "($t1 - $t0) / $HZ" | bc -l)" --argjson wall "$(echo "$w1 - $w0" | bc -l)" \
        --argjson rcpu "$(echo "$r1 - $r0" | bc -l)" --argjson pub "$((p1 - p0))" --argjson two "$([[ $kind != 1 ]] && echo 1 || echo 0)" \
        '[$cell, $kind, $r, .deliveries_per_s, .latency_us.p50, .latency_us.p99,
          ($cpu * 1e6 / ([.delivered_all, 1] | max)), (if $two == 1 then $rcpu / $wall else 0 end),
          (if $two == 1 then ($pub - 3 * $c) / ([.sent_all, 1] | max) else 0 end), .errors_total, .sent_all, $pub] | @tsv' \
        "$T/run.json" >>"$T/rows.tsv"
      tail -1 "$T/rows.tsv" | awk -F'\t' '{ printf "%-10s %-4s %-3s %12.0f %9.0f %9.0f %14.3f %8.1f%% %12.4f%s\n", $1, $2, $3, $4, $5, $6, $7, 100 * $8, $9, ($10 > 0 ? "  errors " $10 : "") }'
    done
  done
done

python3 - "$T/rows.tsv" "$OUT" <<'PY'
import statistics, sys
rows, out = sys.argv[1], sys.argv[2]
data = {}
for line in open(rows):
    cell, kind, rnd, rate, p50, p99, cpu, rcpu, ppm, errs, sent, pub = line.rstrip("\n").split("\t")
    data.setdefault(cell, {}).setdefault(int(rnd), {})[kind] = tuple(map(float, (rate, p50, p99, cpu, rcpu, ppm)))
lines = ["| clients:senders | nodes | rounds | deliveries/s | K/1 deliveries/s, median (min-max) "
         "| p50 / p99 us | server CPU us/delivery | Redis CPU (share of a core) | PUBLISH per message |",
         "|---|---|---|---|---|---|---|---|---|"]
for cell, rounds in data.items():
    kinds = sorted({k for v in rounds.values() for k in v}, key=int)
    for kind in kinds:
        both = [v for v in rounds.values() if "1" in v and kind in v and v["1"][0] > 0]
        if not both:
            continue
        med = lambda i: statistics.median(v[kind][i] for v in both)
        ratio = [v[kind][0] / v["1"][0] for v in both]
        ppm = [v[kind][5] for v in both]
        lines.append(f"| {cell} | {kind} | {len(both)} | {med(0):,.0f} "
                     f"| {statistics.median(ratio):.2f} ({min(ratio):.2f}-{max(ratio):.2f}) "
                     f"| {med(1):,.0f} / {med(2):,.0f} | {med(3):.3f} "
                     + ("| - | - |" if kind == "1" else
                        f"| {100 * med(4):.1f} % | {statistics.median(ppm):.4f} ({min(ppm):.4f}-{max(ppm):.4f}) |"))
text = "\n".join(lines) + "\n"
print()
print(text, end="")
if out:
    open(out, "w").write(text)
PY
