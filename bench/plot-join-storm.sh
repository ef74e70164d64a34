#!/usr/bin/env bash
# bench/plot-join-storm.sh: RSS over time through a join storm (the samples bench/join-storm.sh
# writes: server, second, rss_kib; tab- or comma-separated) as an SVG, one line per server, and
# with --text the same plot as text (gnuplot's dumb terminal) on stdout.
#
#   bench/plot-join-storm.sh [--text] SAMPLES OUT.svg
#   bench/plot-join-storm.sh bench/results/join-storm-10000.csv docs/img/join-storm-rss.svg
#
# Needs gnuplot. Exit 2 for bad arguments or a missing gnuplot.
set -euo pipefail
TEXT=0
[ "${1:-}" = --text ] && { TEXT=1; shift; }
[ $# -eq 2 ] || { echo "usage: bench/plot-join-storm.sh [--text] SAMPLES OUT.svg" >&2; exit 2; }
IN=$1 OUT=$2
[ -r "$IN" ] || { echo "bench/plot-join-storm.sh: cannot read $IN" >&2; exit 2; }
command -v gnuplot >/dev/null || { echo "bench/plot-join-storm.sh: gnuplot is not installed" >&2; exit 2; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# One data file per server (gnuplot cannot filter by a string column portably), MiB per second.
servers=$(tr ',' '\t' <"$IN" | awk -F'\t' 'NR > 1 && !seen[$1]++ { print $1 }')
plot=
for s in $servers; do
  tr ',' '\t' <"$IN" | awk -F'\t' -v s="$s" 'NR > 1 && $1 == s { printf "%d %.1f\n", $2, $3 / 1024 }' >"$T/$s.dat"
  plot="${plot:+$plot, }'$T/$s.dat' using 1:2 with lines lw 2 title '$s'"
done
[ -n "$plot" ] || { echo "bench/plot-join-storm.sh: no samples in $IN" >&2; exit 2; }
common="set xlabel 'seconds since the storm began'; set ylabel 'VmRSS (MiB, log scale)'; set logscale y; set key bottom right; set grid"
gnuplot -e "set terminal svg size 800,400 dynamic; set output '$OUT'; set title 'RSS through a 10,000-client join storm (one channel)'; $common; plot $plot"
if [ "$TEXT" = 1 ]; then
  gnuplot -e "set terminal dumb size 90,24; $common; plot $plot"
fi
