#!/usr/bin/env bash
# bench/core-compare.sh: two builds of sockit, paired, on the four cells of issue 15's "Done when".
#
#   bench/core-compare.sh [--rounds N] [-d DURATION] [--warmup W] [--out FILE] BASE NEW
#   bench/core-compare.sh /work/base/build/release/sockit build/release/sockit
#
# BASE and NEW are sockit binaries (release builds). Cells, server CPU per unit of work:
#   pingpong 64 B x 1000   echo-server --model epoll, `load pingpong -c 1000 --size 64`
#   flood 16 KiB x 10      echo-server --model epoll, `load flood -c 10 --size 16KiB --window 64KiB`
#   IRC 1000 x 10          chat-server, `load irc -c 1000 --senders 10 --window 4`
#   IRC 100 x 100          chat-server, `load irc -c 100 --senders 100 --window 1` (every client sends)
# Every round is one bench/pair.sh round: both servers run AT THE SAME TIME pinned to core 0, each
# with its own `sockit load` (NEW's binary) on core 1, and each server's CPU is read from its
# /proc/PID/stat. The order alternates from round to round (BASE NEW, then NEW BASE), so starting
# first favours neither. Prints, per cell, NEW/BASE of the CPU per unit: the median over the
# rounds, min-max and every round; --out also writes that Markdown table to FILE. Rows of every
# round go to bench/results/core-compare.tsv. Exit 2 for bad arguments, 1 when a cell failed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=6
DUR=4s
WARM=1s
OUT=
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    -d|--duration) DUR=$2; shift 2 ;;
    --warmup) WARM=$2; shift 2 ;;
    --out) OUT=$(realpath -m "$2"); shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    -*) echo "bench/core-compare.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -eq 2 ] || { echo "bench/core-compare.sh: need BASE and NEW sockit binaries (see --help)" >&2; exit 2; }
case "$ROUNDS" in '' | *[!0-9]* | 0) echo "bench/core-compare.sh: --rounds must be a positive integer" >&2; exit 2 ;; esac
BASE=$(realpath -m "$1")
NEW=$(realpath -m "$2")
for b in "$BASE" "$NEW"; do
  [ -x "$b" ] || { echo "bench/core-compare.sh: $b is not an executable" >&2; exit 2; }
done
# bench/pair.sh runs the load generator from NEW's directory: NEW must be a file named sockit.
[ "$(basename "$NEW")" = sockit ] ||
  { echo "bench/core-compare.sh: NEW must be a file named 'sockit' (its directory's sockit drives the load): $NEW" >&2; exit 2; }

mkdir -p "$ROOT/bench/results"
TSV=$ROOT/bench/results/core-compare.tsv
: >"$TSV"
COMMON=(-d "$DUR" --warmup "$WARM")
# label|server|load arguments (the address is appended by bench/pair.sh)
CELLS=(
  "pingpong 64 B x 1000|epoll|pingpong -c 1000 --size 64 --timeout 2s"
  "flood 16 KiB x 10|epoll|flood -c 10 --size 16KiB --window 64KiB --timeout 2s"
  "IRC 1000 clients x 10 senders|sockit-chat|irc -c 1000 --senders 10 --window 4 --timeout 10s"
  "IRC 100 clients x 1 sender each|sockit-chat|irc -c 100 --senders 100 --window 1 --timeout 10s"
)
status=0
for cell in "${CELLS[@]}"; do
  IFS='|' read -r label server load <<<"$cell"
  read -r -a load_args <<<"$load"
  for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then first=base; a=$BASE b=$NEW; else first=new; a=$NEW b=$BASE; fi
    echo "core-compare: $label, round $round ($first first)" >&2
    # The load generator is NEW's binary (bench/pair.sh runs $BUILD_DIR/sockit load).
    if ! "$ROOT/bench/pair.sh" --build-dir "$(dirname "$NEW")" --rounds 1 --tsv "$TSV" --label "$label|$first" \
      "$server:$a" "$server:$b" "${load_args[@]}" "${COMMON[@]}" >&2; then
      echo "core-compare: $label round $round failed" >&2
      status=1
    fi
  done
done

# Rows: label|first, A, B, round, A's CPU, B's CPU, A/B, unit. NEW/BASE is A/B when NEW ran as A.
python3 "$ROOT/bench/paired_summary.py" "$TSV" "$OUT" new base NEW BASE \
  "BASE \`$BASE\`, NEW \`$NEW\`: $ROUNDS paired rounds of $DUR per cell, order alternating."
exit $status
