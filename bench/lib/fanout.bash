# shellcheck shell=bash disable=SC2034  # sets variables for the sourcing script
# bench/lib/fanout.bash: what the channel fan-out benches (bench/ws-fanout.sh, bench/tags-fanout.sh)
# share, sourced, not run: the command line, the temp directory, the server's start and ports,
# and the round loop of paired `sockit load irc` runs with one line per run.
#
# The sourcing script sets FANOUT_NAME (its name in messages), FANOUT_HELP (the last line of its
# header comment, printed by -h), KINDS (the kinds of run compared) and defines
#   fanout_kind KIND   sets PORT and EXTRA (an array of `sockit load irc` options) for one run.
# Bench defaults: the release build, 6 rounds of 3 s, cells 100:1 and 1000:10.

# fanout_args "$@": --build-dir DIR, --rounds N, --duration D, --out FILE, CLIENTS:SENDERS...
# Sets BUILD_DIR ROUNDS DURATION OUT CELLS SOCKIT and T, the run's temp directory (removed at exit);
# exits 2 on a bad argument or a missing binary.
fanout_args() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  BUILD_DIR=$root/build/release
  ROUNDS=6
  DURATION=3s
  OUT=''
  CELLS=()
  while [[ $# -gt 0 ]]; do
    case $1 in
      --build-dir) BUILD_DIR=$2; shift 2 ;;
      --rounds) ROUNDS=$2; shift 2 ;;
      --duration) DURATION=$2; shift 2 ;;
      --out) OUT=$2; shift 2 ;;
      -h|--help) sed -n "2,${FANOUT_HELP}p" "$0"; exit 0 ;;
      *:*) CELLS+=("$1"); shift ;;
      *) echo "$FANOUT_NAME: unknown argument $1" >&2; exit 2 ;;
    esac
  done
  [[ ${#CELLS[@]} -gt 0 ]] || CELLS=(100:1 1000:10)
  SOCKIT=$BUILD_DIR/sockit
  [[ -x $SOCKIT ]] || { echo "$FANOUT_NAME: no $SOCKIT (cmake --build $BUILD_DIR --target sockit)" >&2; exit 2; }
  T=$(mktemp -d "/tmp/sockit-${FANOUT_NAME%.sh}.XXXXXX")
  SERVER=
  trap fanout_cleanup EXIT
}

# fanout_server ARGS...: `sockit chat-server ARGS...` pinned to core 0 in the background (SERVER,
# stopped at exit; its output in $T/server.out and $T/server.err).
fanout_server() {
  taskset -c 0 "$SOCKIT" chat-server "$@" >"$T/server.out" 2>"$T/server.err" &
  SERVER=$!
}
fanout_cleanup() {
  [[ -n $SERVER ]] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  rm -rf "$T"
}

# fanout_port WORDS: the port of the server's first "WORDS 127.0.0.1:PORT" line (e.g. 'listening on',
# 'WebSocket on ws://'), waited for up to 5 s; exits 1 if it never comes.
fanout_port() {
  local port='' _
  for _ in $(seq 100); do
    port=$(grep -Eoh "${1}127\.0\.0\.1:[0-9]+" "$T/server.out" "$T/server.err" | head -1 | grep -Eo '[0-9]+$' || true)
    [[ -n $port ]] && break
    sleep 0.05
  done
  [[ -n $port ]] || { echo "$FANOUT_NAME: the server announced no '$1' port" >&2; cat "$T"/server.* >&2; exit 1; }
  echo "$port"
}

# fanout_rounds: for every cell, ROUNDS rounds of one run per kind, the order of KINDS rotating one
# step a round so that the machine's drift hits every kind alike. Each run: `sockit load irc` on
# core 1, a fresh channel, --warmup 1s, -d DURATION, --server-pid (the server's CPU per delivery).
# Prints a line per run and appends "cell kind round deliveries/s cpu_us/delivery p50 p99 errors"
# to $T/rows.tsv.
fanout_rounds() {
  local w=5 k cell c s r i kind run=0
  for k in "${KINDS[@]}"; do ((${#k} > w)) && w=${#k}; done
  printf "%-10s %-${w}s %-3s %12s %14s %9s %9s\n" cell kind rnd deliveries/s server_us/dlv p50_us p99_us
  for cell in "${CELLS[@]}"; do
    c=${cell%%:*}; s=${cell##*:}
    for r in $(seq "$ROUNDS"); do
      for i in "${!KINDS[@]}"; do
        kind=${KINDS[$(( (i + r) % ${#KINDS[@]} ))]}
        run=$((run + 1))
        PORT=; EXTRA=()
        fanout_kind "$kind"
        taskset -c 1 "$SOCKIT" load irc "127.0.0.1:$PORT" "${EXTRA[@]}" -c "$c" --senders "$s" --channel "#f$run" \
          --warmup 1s -d "$DURATION" --server-pid "$SERVER" --no-progress --json >"$T/run.json" 2>"$T/run.err" || true
        jq -r --arg cell "$cell" --arg kind "$kind" --arg r "$r" \
          '[$cell, $kind, $r, .deliveries_per_s, .server.cpu_us_per_unit, .latency_us.p50, .latency_us.p99, .errors_total] | @tsv' \
          "$T/run.json" >>"$T/rows.tsv" || { echo "run failed:"; cat "$T/run.json" "$T/run.err"; exit 1; }
        tail -1 "$T/rows.tsv" | awk -F'\t' -v w="$w" \
          '{ printf "%-10s %-" w "s %-3s %12.0f %14.3f %9.0f %9.0f%s\n", $1, $2, $3, $4, $5, $6, $7, ($8 > 0 ? "  errors " $8 : "") }'
      done
    done
  done
}
