# Shared helpers for tests/interop/chat_*.sh (sourced, not run): an ngircd (or sockit chat-server)
# on 127.0.0.1 and a free port, `sockit chat --plain` clients driven through FIFOs, raw clients.
# Exit 0 = pass, 1 = a check failed, 77 = skipped (ngircd / tmux missing).
#   SOCKIT   path of the sockit binary (set by CTest)
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash" chat
declare -A CPID CFD

chat_cleanup() {
  local p
  for p in "${CFD[@]}"; do eval "exec $p>&-" 2>/dev/null; done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  [[ -n "${CHAT_EXTRA_CLEANUP:-}" ]] && eval "$CHAT_EXTRA_CLEANUP"
  rm -rf "$T"
}
trap chat_cleanup EXIT
trap 'exit 1' INT TERM

# In a background child: close the FIFO writers of the clients, or that child would keep their
# stdin open and a client would never see its EOF.
close_inherited() {
  local fd
  for fd in "${CFD[@]}"; do eval "exec $fd>&-"; done
}

# wait_for FILE EXTENDED-REGEX [SECONDS=5]: true once a line of FILE matches.
wait_for() {
  local file=$1 re=$2 limit=${3:-5} i
  for ((i = 0; i < limit * 20; i++)); do
    grep -Eq -- "$re" "$file" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
# wait_count FILE EXTENDED-REGEX N [SECONDS=5]: true once N lines of FILE match.
wait_count() {
  local file=$1 re=$2 n=$3 limit=${4:-5} i
  for ((i = 0; i < limit * 20; i++)); do
    [[ $(grep -Ec -- "$re" "$file" 2>/dev/null) -ge $n ]] && return 0
    sleep 0.05
  done
  return 1
}
# expect DESC FILE REGEX [SECONDS]: a check that waits for a line.
expect() {
  if wait_for "$2" "$3" "${4:-5}"; then pass "$1"; else
    fail "$1: no line matching [$3] in $(basename "$2")"; sed 's/^/    | /' "$2" | tail -15
  fi
}

# ---- servers ----
NGIRCD_PID=
# start_ngircd [PORT]: ngircd in the foreground on 127.0.0.1:PORT (a free one by default). Sets PORT.
# NGIRCD_EXTRA_CONF: more sections for its configuration file (chat_ircs.sh: [SSL]).
start_ngircd() {
  PORT=${1:-$(free_port)}
  cat > "$T/ngircd.conf" <<CONF
[Global]
Name = irc.sockit.test
Info = sockit test server
Listen = 127.0.0.1
Ports = $PORT
MotdPhrase = sockit test
AdminInfo1 = sockit tests
AdminEMail = nobody@localhost
[Limits]
PingTimeout = 120
PongTimeout = 20
MaxNickLength = 9
[Options]
PAM = no
DNS = no
Ident = no
CONF
  [[ -n "${NGIRCD_EXTRA_CONF:-}" ]] && printf '%s\n' "$NGIRCD_EXTRA_CONF" >>"$T/ngircd.conf"
  ngircd --configtest -f "$T/ngircd.conf" >"$T/configtest.log" 2>&1 || { echo "ngircd --configtest failed"; cat "$T/configtest.log"; exit 1; }
  (close_inherited; exec ngircd -n -f "$T/ngircd.conf") >>"$T/ngircd.log" 2>&1 &
  NGIRCD_PID=$!
  PIDS+=("$NGIRCD_PID")
  local i
  for ((i = 0; i < 100; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "ngircd did not start:"; cat "$T/ngircd.log"; exit 1
}
stop_ngircd() {
  kill "$NGIRCD_PID" 2>/dev/null
  wait "$NGIRCD_PID" 2>/dev/null
}

# start_sockit_server: our chat server on 127.0.0.1:0; sets PORT from its first output line that
# names the address. Returns 1 when `sockit chat-server` does not exist.
SERVER_PID=
start_sockit_server() {  # [extra chat-server flags...]; SOCKIT_TEST_CHAT_BACKEND=uring: --backend uring
  "$SOCKIT" chat-server --help >/dev/null 2>&1 || return 1
  (close_inherited; exec "$SOCKIT" chat-server --listen 127.0.0.1:0 \
    ${SOCKIT_TEST_CHAT_BACKEND:+--backend "$SOCKIT_TEST_CHAT_BACKEND"} "$@") >"$T/server.out" 2>"$T/server.err" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  local i
  for ((i = 0; i < 100; i++)); do
    PORT=$(grep -Eoh '127\.0\.0\.1:[0-9]+' "$T/server.out" "$T/server.err" 2>/dev/null | head -1 | cut -d: -f2)
    [[ -n "$PORT" ]] && return 0
    sleep 0.05
  done
  echo "sockit chat-server printed no port:"; cat "$T/server.out" "$T/server.err"; return 1
}

# ---- clients ----
# client NAME ARGS...: `sockit chat --plain ARGS` with stdin from a FIFO (write with `say`),
# stdout in $T/NAME.out and stderr in $T/NAME.err.
client() {
  local name=$1; shift
  mkfifo "$T/$name.in"
  (close_inherited; exec "$SOCKIT" chat --plain "$@") <"$T/$name.in" >"$T/$name.out" 2>"$T/$name.err" &
  CPID[$name]=$!
  PIDS+=("$!")
  local fd
  exec {fd}>"$T/$name.in"
  CFD[$name]=$fd
}
say() { printf '%s\n' "$2" >&"${CFD[$1]}"; }
# close_client NAME: EOF on its stdin (Ctrl-D); sets RC to its exit status (124 after 5 s).
close_client() {
  local name=$1
  eval "exec ${CFD[$name]}>&-"
  unset "CFD[$name]"
  reap_client "$name"
}
# quit_client NAME LINE: NAME types LINE (a /quit); sets RC to its exit status (124 after 5 s).
quit_client() {
  say "$1" "$2"
  reap_client "$1"
}
# reap_client NAME: waits up to 5 s for the client to end and sets RC to its exit status; one still
# running then is killed and RC is 124.
reap_client() {
  local name=$1 i
  for ((i = 0; i < 100; i++)); do
    kill -0 "${CPID[$name]}" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "${CPID[$name]}" 2>/dev/null; then
    kill "${CPID[$name]}"; wait "${CPID[$name]}" 2>/dev/null; RC=124
  else
    wait "${CPID[$name]}"; RC=$?
  fi
}
