#!/usr/bin/env bash
# bench/tls-compare.sh: sockit's TLS echo server against Boost.Asio's (asio::ssl), in ONE run.
#
#   bench/tls-compare.sh [--build-dir DIR] [--rounds N] [-d DURATION] [--warmup W]
#                        [--idle N] [--only paired|idle] [--out FILE]
#   bench/tls-compare.sh --build-dir build/release --rounds 6
#
# Servers: `sockit echo-server --model epoll --threads 1 --tls-cert F --tls-key F` and
# bench_asio_tls_echo (bench/servers/asio_tls_echo.cpp), the same certificate, the same TLS
# settings (TLS 1.3, X25519, TLS_AES_256_GCM_SHA384 with both). Certificates are made at run time
# with openssl in a temporary directory (ECDSA P-256 and RSA-2048), never kept.
# Paired cells (bench/pair.sh: both servers AT THE SAME TIME on core 0, each with its own
# `sockit load` on core 1, server CPU from /proc/PID/stat), round-major: each round runs every cell
# once, and the order of the two servers alternates from round to round:
#   handshake ECDSA P-256   load handshake -c 4            (full handshakes, no resumption)
#   handshake RSA-2048      load handshake -c 4
#   pingpong 64 B x 100     load pingpong --tls -c 100 --size 64
#   pingpong 16 KiB x 100   load pingpong --tls -c 100 --size 16KiB
# Prints per cell sockit/Asio of the server CPU per unit (median, min-max, every round) and, the
# inverse, sockit's handshakes (messages) per server CPU-second over Asio's. Rows of every round:
# bench/results/tls-compare.tsv. Targets (issue #16): handshakes per CPU-second >= 1.0x Asio's,
# pingpong CPU per message <= 0.9x Asio's.
# Idle cells (--idle N, default 10000; 0 skips): each server alone, `sockit load hold --tls -c N`
# (256 connects at a time), the server's RSS growth per connection held, with OpenSSL's
# SSL_MODE_RELEASE_BUFFERS (both servers set it) and without it (the bench_no_release_buffers.so
# LD_PRELOAD shim clears it); rows: bench/results/tls-idle.tsv. ulimit -n is raised to the hard
# limit (N + a few hundred descriptors are needed on each side).
# Exit 2 for bad arguments, 1 when a cell failed. Not part of ctest: benchmarks do not assert.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$ROOT/build/release
ROUNDS=6
DUR=4s
WARM=1s
IDLE=10000
ONLY=
OUT=
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR=$(realpath -m "$2"); shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    -d|--duration) DUR=$2; shift 2 ;;
    --warmup) WARM=$2; shift 2 ;;
    --idle) IDLE=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --out) OUT=$(realpath -m "$2"); shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "bench/tls-compare.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$ROUNDS" in '' | *[!0-9]* | 0) echo "bench/tls-compare.sh: --rounds must be a positive integer" >&2; exit 2 ;; esac
case "$IDLE" in '' | *[!0-9]*) echo "bench/tls-compare.sh: --idle must be a number of connections" >&2; exit 2 ;; esac
case "$ONLY" in '' | paired | idle) ;; *) echo "bench/tls-compare.sh: --only paired or idle" >&2; exit 2 ;; esac
SOCKIT=$BUILD_DIR/sockit
ASIO=$BUILD_DIR/bench/bench_asio_tls_echo
SHIM=$BUILD_DIR/bench/bench_no_release_buffers.so
for f in "$SOCKIT" "$ASIO" "$SHIM"; do
  [ -e "$f" ] || { echo "bench/tls-compare.sh: $f is missing (cmake --build $BUILD_DIR --target sockit bench_asio_tls_echo bench_no_release_buffers)" >&2; exit 2; }
done
command -v openssl >/dev/null || { echo "bench/tls-compare.sh: the openssl CLI is needed for the certificates" >&2; exit 2; }

TMP=$(mktemp -d /tmp/sockit-tls-compare.XXXXXX)
SERVER=
cleanup() { if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi; rm -rf "$TMP"; }
trap cleanup EXIT
for k in ec rsa; do
  if [ $k = ec ]; then newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256); else newkey=(-newkey rsa:2048); fi
  openssl req -x509 "${newkey[@]}" -nodes -days 2 -keyout "$TMP/$k.key" -out "$TMP/$k.pem" -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>"$TMP/openssl.err" ||
    { echo "bench/tls-compare.sh: openssl req failed: $(cat "$TMP/openssl.err")" >&2; exit 1; }
done
mkdir -p "$ROOT/bench/results"
status=0
echo "tls-compare: $(date -u '+%F %R') UTC, load average $(cut -d' ' -f1-3 /proc/loadavg), $SOCKIT" >&2

if [ "$ONLY" != idle ]; then
  TSV=$ROOT/bench/results/tls-compare.tsv
  : >"$TSV"
  # label|certificate|load arguments (bench/pair.sh appends the address)
  CELLS=(
    "handshake ECDSA P-256|ec|handshake -c 4 --timeout 5s"
    "handshake RSA-2048|rsa|handshake -c 4 --timeout 5s"
    "pingpong 64 B x 100 (TLS)|ec|pingpong --tls -c 100 --size 64 --timeout 5s"
    "pingpong 16 KiB x 100 (TLS)|ec|pingpong --tls -c 100 --size 16KiB --timeout 5s"
  )
  for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then first=sockit; a=epoll-tls:$SOCKIT b=asio-tls; else first=asio; a=asio-tls b=epoll-tls:$SOCKIT; fi
    for cell in "${CELLS[@]}"; do
      IFS='|' read -r label cert load <<<"$cell"
      read -r -a load_args <<<"$load"
      echo "tls-compare: $label, round $round ($first first)" >&2
      if ! "$ROOT/bench/pair.sh" --build-dir "$BUILD_DIR" --rounds 1 --tsv "$TSV" --label "$label|$first" \
        --tls-cert "$TMP/$cert.pem" --tls-key "$TMP/$cert.key" "$a" "$b" "${load_args[@]}" -d "$DUR" --warmup "$WARM" >&2; then
        echo "tls-compare: $label round $round failed" >&2
        status=1
      fi
    done
  done
  python3 "$ROOT/bench/paired_summary.py" "$TSV" "$OUT" sockit asio sockit Asio \
    "sockit \`$SOCKIT\` (echo-server --model epoll --threads 1 --tls-cert) vs Asio \`$ASIO\`: $ROUNDS paired rounds of $DUR per cell, order alternating; the last column is sockit's units per server CPU-second over Asio's." \
    --per-second
fi

if [ "$ONLY" != paired ] && [ "$IDLE" -gt 0 ]; then
  ulimit -n "$(ulimit -Hn)"
  ITSV=$ROOT/bench/results/tls-idle.tsv
  : >"$ITSV"
  free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
  wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
  echo
  echo "Idle TLS connections: $IDLE held (sockit load hold --tls), server RSS growth per connection."
  echo
  echo "| server | SSL_MODE_RELEASE_BUFFERS | held | RSS before → held (KiB) | bytes per connection (RSS) | bytes per connection (anonymous) |"
  echo "|---|---|---:|---|---:|---:|"
  for variant in on off; do
    for server in sockit asio; do
      port=$(free_port)
      if [ $server = sockit ]; then
        cmd=("$SOCKIT" echo-server --model epoll --threads 1 --listen "127.0.0.1:$port" \
          --tls-cert "$TMP/ec.pem" --tls-key "$TMP/ec.key")
      else
        cmd=("$ASIO" --listen "127.0.0.1:$port" --cert "$TMP/ec.pem" --key "$TMP/ec.key" --threads 1)
      fi
      if [ $variant = off ]; then
        LD_PRELOAD=$SHIM taskset -c 0 "${cmd[@]}" >"$TMP/server.out" 2>&1 &
      else
        taskset -c 0 "${cmd[@]}" >"$TMP/server.out" 2>&1 &
      fi
      SERVER=$!
      if ! wait_port "$port"; then
        echo "tls-compare: $server did not start: $(tail -2 "$TMP/server.out")" >&2
        status=1
      elif taskset -c 1 "$SOCKIT" load hold --tls "127.0.0.1:$port" -c "$IDLE" -d 2s --timeout 30s \
        --server-pid "$SERVER" --json --no-progress >"$TMP/hold.json" 2>"$TMP/hold.err"; then
        jq -r --arg s "$server" --arg v "$variant" \
          '[$s, $v, .held // .units, .server.rss_before_kib, .server.rss_held_kib, .server.rss_per_conn_bytes, .server.rss_anon_per_conn_bytes] | @tsv' \
          "$TMP/hold.json" | tee -a "$ITSV" |
          awk -F'\t' '{ printf "| %s | %s | %d | %d → %d | %.0f | %.0f |\n", $1, $2, $3, $4, $5, $6, $7 }'
        held=$(tail -1 "$ITSV" | cut -f3)
        [ "${held%.*}" -ge "$IDLE" ] ||
          { echo "tls-compare: $server ($variant) held $held of $IDLE: $(jq -r '.errors | tostring' "$TMP/hold.json")" >&2; status=1; }
      else
        echo "tls-compare: hold against $server ($variant) failed: $(tail -2 "$TMP/hold.err")" >&2
        status=1
      fi
      kill "$SERVER" 2>/dev/null || true
      wait "$SERVER" 2>/dev/null || true
      SERVER=
    done
  done
fi
exit $status
