#!/usr/bin/env bash
# bench/irc-mix-rates.sh: delivery latency against offered rate for `sockit load irc-mix` (issue
# #21 item 5: "latency percentiles against offered rate for irc-mix"). For each --rates value it
# runs bench/irc-mix.sh (sockit chat-server, ngircd and inspircd alternating, each alone on core 0,
# the load on core 1) with `--rate R`, and collects per server and rate the p50 and p99 delivery
# latency (from the scheduled send time: coordinated omission corrected) and the CPU per delivery.
# Writes FILE.csv (rate,server,round,cpu_us_per_delivery,p50_us,p99_us,deliveries_per_s,lost) and,
# with gnuplot installed, FILE.svg (p50 and p99 against the offered rate, log scale).
#
#   bench/irc-mix-rates.sh [--rates LIST] [--rounds N] [--out FILE] [--build-dir DIR] [LOAD-ARGS...]
#   bench/irc-mix-rates.sh --rates 250,500,1000,2000 --rounds 1 --out bench/results/irc-mix-rates -d 6s --warmup 2s
#
# Defaults: --rates 250,500,1000,2000 (PRIVMSGs per second, whole network; the preset's is 500),
# --rounds 1, --out bench/results/irc-mix-rates, preset small. Exit 2 for bad arguments, 1 when
# a run failed. Not part of ctest: benchmarks do not assert.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RATES=250,500,1000,2000
ROUNDS=1
OUT=$ROOT/bench/results/irc-mix-rates
BUILD=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rates) RATES=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --out) OUT=$(realpath -m "$2"); shift 2 ;;
    --build-dir) BUILD=(--build-dir "$2"); shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) break ;;
  esac
done
case "$RATES" in '' | *[!0-9,]* | ,* | *,) echo "bench/irc-mix-rates.sh: --rates must be a comma list of positive integers" >&2; exit 2 ;; esac
case "$ROUNDS" in '' | *[!0-9]* | 0) echo "bench/irc-mix-rates.sh: --rounds must be a positive integer" >&2; exit 2 ;; esac
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$(dirname "$OUT")"
echo "rate,server,round,cpu_us_per_delivery,p50_us,p99_us,deliveries_per_s,lost" >"$OUT.csv"
failed=0
for rate in ${RATES//,/ }; do
  : >"$T/rows.tsv"
  echo "bench/irc-mix-rates.sh: --rate $rate" >&2
  "$ROOT/bench/irc-mix.sh" "${BUILD[@]}" --rounds "$ROUNDS" --preset small --tsv "$T/rows.tsv" "$@" --rate "$rate" \
    >"$T/run.txt" 2>&1 || { echo "bench/irc-mix-rates.sh: the run at $rate/s failed:" >&2; tail -3 "$T/run.txt" >&2; failed=1; }
  # irc-mix.sh's rows: cell, server, round, cpu, p99, deliveries/s, lost, expected, rss, client cpu, errors, p50
  awk -F'\t' -v r="$rate" '{ printf "%s,%s,%s,%s,%s,%s,%s,%s\n", r, $2, $3, $4, $12, $5, $6, $7 }' "$T/rows.tsv" >>"$OUT.csv"
done
if command -v gnuplot >/dev/null; then
  plot=
  for s in sockit-chat ngircd inspircd; do
    awk -F, -v s="$s" 'NR > 1 && $2 == s { print $1, $5 / 1000, $6 / 1000 }' "$OUT.csv" | sort -n >"$T/$s.dat"
    [ -s "$T/$s.dat" ] || continue
    plot="${plot:+$plot, }'$T/$s.dat' using 1:3 with linespoints lw 2 title '$s p99', '$T/$s.dat' using 1:2 with linespoints dt 2 title '$s p50'"
  done
  [ -z "$plot" ] || gnuplot -e "set terminal svg size 800,400 dynamic; set output '$OUT.svg'; set title 'irc-mix small: delivery latency against offered rate'; set xlabel 'offered PRIVMSGs per second (whole network)'; set ylabel 'delivery latency (ms, log scale)'; set logscale xy; set key outside right; set grid; plot $plot"
fi
cat "$OUT.csv"
exit "$failed"
