# Shared helpers for tests/interop/nc_*.sh (sourced, not run). Each script is one CTest test:
# exit 0 = pass, 1 = some check failed, 77 = skipped (a peer program is missing).
#   SOCKIT   path of the sockit binary (set by CTest)
# Every background process is started with `start` so the EXIT trap can kill it by PID.
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash" nc

nc_cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  for fd in 4 5 6 7 8 9; do eval "exec $fd>&-" 2>/dev/null; done
  rm -rf "$T"
}
trap nc_cleanup EXIT
trap 'exit 1' INT TERM

# start CMD... [redirections]: runs CMD in the background and records its PID in LAST. The
# explicit <&0 keeps the caller's stdin (bash would give a background command /dev/null).
start() {
  "$@" <&0 &
  LAST=$!
  PIDS+=("$LAST")
}

# check DESC CMD...: runs CMD (a test expression), records pass/fail.
check() {
  local desc=$1; shift
  if "$@"; then pass "$desc"; else fail "$desc"; fi
}
check_eq() {  # check_eq DESC EXPECTED ACTUAL
  if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1: expected [$2], got [$3]"; fi
}
check_file_eq() {  # check_file_eq DESC EXPECTED_FILE ACTUAL_FILE
  if cmp -s "$2" "$3"; then pass "$1"; else
    fail "$1: files differ"; echo "--- expected"; od -c "$2" | head -20; echo "--- actual"; od -c "$3" | head -20
  fi
}

# wait_listen PORT [tcp|udp]: until something listens on 127.0.0.1:PORT (5 s at most).
wait_listen() {
  local port=$1 flag=-ltn i
  [[ "${2:-tcp}" == udp ]] && flag=-lun
  for ((i = 0; i < 250; i++)); do
    if ss -H $flag "sport = :$port" 2>/dev/null | grep -q .; then return 0; fi
    sleep 0.02
  done
  echo "# nothing listens on port $port"
  return 1
}

# wait_for_line FILE REGEX: until FILE has a line matching REGEX (5 s at most).
wait_for_line() {
  local i
  for ((i = 0; i < 250; i++)); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.02
  done
  echo "# no line matching /$2/ in $1:"; cat "$1" 2>/dev/null
  return 1
}

# wait_for_cmd CMD...: until CMD succeeds (5 s at most); its status then.
wait_for_cmd() {
  local i
  for ((i = 0; i < 250; i++)); do
    "$@" && return 0
    sleep 0.02
  done
  "$@"
}

# listen_port STDERR_FILE: the port `sockit nc -l -v ... 0` reports ("listening on 127.0.0.1:NNN").
listen_port() {
  wait_for_line "$1" 'listening on ' || return 1
  sed -n 's/.*listening on .*:\([0-9][0-9]*\).*/\1/p' "$1" | head -1
}

# wait_exit PID SECONDS: waits for PID to end (status in WAIT_RC); 124 when it is still running.
wait_exit() {
  local pid=$1 i n
  n=$(awk "BEGIN { print int($2 * 50) }")
  for ((i = 0; i < n; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"; WAIT_RC=$?
      return 0
    fi
    sleep 0.02
  done
  WAIT_RC=124
  return 1
}

# ms_since START_NS: milliseconds elapsed.
now_ns() { date +%s%N; }
ms_since() { echo $(( ($(now_ns) - $1) / 1000000 )); }

NC=("$SOCKIT" nc)
# Bounded run of sockit nc: nothing in these tests should take more than 20 s.
snc() { timeout 20 "$SOCKIT" nc "$@"; }
