#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (preset `fuzz`) and runs each for a bounded time on a
# copy of its seed corpus. Exit 77 (skipped) when clang's libFuzzer runtime is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# --seconds S bounds each target's time; --runs N (with a fixed seed) makes a run repeatable, as CI
# wants: the same inputs every time, so a red run is a real, reproducible crash.
seconds=30
runs=-1
seed=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; seed=1; shift 2 ;;
    *) echo "usage: $0 [--seconds S] [--runs N]" >&2; exit 2 ;;
  esac
done
if ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "fuzz: clang++ or libclang-rt (libFuzzer) missing: skipped"
  exit 77
fi
cmake --preset fuzz >/dev/null
targets=$(sed -n 's/^\(fuzz_[a-z0-9_]*\):.*/\1/p' <(cmake --build --preset fuzz --target help) | sort -u)
# shellcheck disable=SC2086
if ! cmake --build --preset fuzz -j"$(nproc)" --target $targets >build/fuzz/build.log 2>&1; then
  echo "fuzz: clang build failed:"; grep -E 'error|FAILED' -A4 build/fuzz/build.log | head -40; exit 1
fi
mkdir -p build/fuzz/artifacts
# Longest first, so that the two slots below end together. Seconds at 50000 runs / 60 s in the
# fresh-clone CI at 56b72d5: tls_transport 61 (the time cap), irc_dispatch 57, packet_decoder 31,
# ws_frame 24, config 23, the six others 1-10 each. In name order tls_transport started last and
# ran alone (137 s from the end of the build to the last target); longest first: ~118 s.
ordered=()
all=" ${targets//$'\n'/ } "
for t in fuzz_tls_transport fuzz_irc_dispatch fuzz_packet_decoder fuzz_ws_frame fuzz_config $targets; do
  if [[ $all == *" $t "* && " ${ordered[*]} " != *" $t "* ]]; then ordered+=("$t"); fi
done
targets="${ordered[*]}"
# Targets two at a time (as many as there are cores): a libFuzzer run is one thread, so one target
# at a time left a core idle. Each still gets its --runs and its --seconds, and in CI (RUN_SERIAL:
# nothing else runs) a core of its own. Measured on the shared machine (load 6-7), the 10 targets
# at 50000 runs / 60 s: 379 s one at a time, 263 s two at a time.
run_one() {
  local t=$1 name=${1#fuzz_} work
  work=$(mktemp -d)
  cp -r "tests/fuzz/corpus/$name/." "$work/" 2>/dev/null || true
  if build/fuzz/tests/fuzz/"$t" "$work" -max_total_time="$seconds" -runs="$runs" -seed="$seed" -rss_limit_mb=512 -max_len=16384 \
      -artifact_prefix=build/fuzz/artifacts/ -print_final_stats=1 >"build/fuzz/$t.log" 2>&1; then
    echo "fuzz $name: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "build/fuzz/$t.log" | grep -o '[0-9]*$') runs, no crash"
  else
    echo "fuzz $name: FAILED (see build/fuzz/$t.log)"; tail -30 "build/fuzz/$t.log"; rm -rf "$work"; return 1
  fi
  rm -rf "$work"
}
export -f run_one
export seconds runs seed
# shellcheck disable=SC2086
printf '%s\n' $targets | xargs -P"$(nproc)" -I{} bash -c 'run_one "$1"' _ {}
