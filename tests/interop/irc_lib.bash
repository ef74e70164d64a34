# Shared set-up of tests/interop/irc_*.sh (sourced, not run): `sockit chat-server` on 127.0.0.1
# and a free port, and an `ii` client as the other party. The sourcing script sets -euo pipefail,
# $work (its scratch directory; irc_client_setup makes it); wait_file and start_peer call
# `fail MESSAGE` (below: prints each party's diagnostics and exits 1; a script may define its own).
#   SOCKIT   path of the sockit binary (set by CTest)

# start_chat_server ARGS...: `sockit chat-server -l 127.0.0.1:0 -q ARGS` in the background, its
# stderr in $work/server.err; sets server_pid, and port from the banner (exit 1 without one).
# SOCKIT_TEST_CHAT_BACKEND=uring (the ctest instances uring.interop.*) adds --backend uring.
start_chat_server() {
  "$SOCKIT" chat-server -l 127.0.0.1:0 -q ${SOCKIT_TEST_CHAT_BACKEND:+--backend "$SOCKIT_TEST_CHAT_BACKEND"} "$@" \
    2>"$work/server.err" &
  server_pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$work/server.err" 2>/dev/null && break; sleep 0.05; done
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/server.err" | head -1)
  [ -n "$port" ] || { echo "FAIL: no port in banner"; cat "$work/server.err"; exit 1; }
}

# wait_file FILE PATTERN: until a line of FILE matches PATTERN (15 s at most, then fail).
wait_file() {
  for _ in $(seq 150); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  fail "'$2' not in $1"
}

# make_tls_certs: a test CA ($work/ca.pem) and a server certificate for localhost and 127.0.0.1
# signed by it ($work/srv.pem, $work/srv.key), made with the openssl CLI (never committed keys).
make_tls_certs() {
  local ec=ec_paramgen_curve:P-256
  gen() { openssl "$@" >/dev/null 2>&1 || fail "openssl $1 failed"; }
  gen req -x509 -newkey ec -pkeyopt $ec -nodes -keyout "$work/ca.key" -out "$work/ca.pem" -days 2 -subj "/CN=sockit test CA"
  gen req -newkey ec -pkeyopt $ec -nodes -keyout "$work/srv.key" -out "$work/srv.csr" -subj /CN=localhost
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$work/ext"
  gen x509 -req -in "$work/srv.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
    -out "$work/srv.pem" -extfile "$work/ext"
}

# start_tls_chat_server ARGS...: start_chat_server with a TLS listener on 127.0.0.1 (make_tls_certs'
# files) and ARGS; sets tls_port from the banner too.
start_tls_chat_server() {
  start_chat_server "$@" --tls-listen 127.0.0.1:0 --tls-cert "$work/srv.pem" --tls-key "$work/srv.key"
  for _ in $(seq 100); do grep -q "TLS)" "$work/server.err" 2>/dev/null && break; sleep 0.05; done
  tls_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) (.*, TLS).*/\1/p' "$work/server.err" | head -1)
  [ -n "$tls_port" ] || fail "no TLS listener in the banner"
}

# start_peer: the other party, ii as nick "peer" (files under $work/peer), joins #sockit first and
# so is its channel operator; sets ii_pid.
start_peer() {
  ii -s 127.0.0.1 -p "$port" -n peer -i "$work/peer" -f "ii peer" >"$work/ii.log" 2>&1 &
  ii_pid=$!
  wait_file "$work/peer/127.0.0.1/out" "Welcome to the sockit IRC Network"
  echo "/j #sockit" > "$work/peer/127.0.0.1/in"
  wait_file "$work/peer/127.0.0.1/#sockit/out" "peer(.*has joined"
}

# irc_client_setup NAME: the client scripts' (irc_irssi*, irc_weechat*) common start: $work, the
# tmux socket name $sock (irssi), the PIDs the EXIT trap ends (server_pid, ii_pid, wee_pid; each
# by its PID), $wlog (weechat's server log), and the helpers below. IRC_KEEP_DIR=DIR keeps a copy
# of $work. The scripts' own `fail` may replace irc_fail.
irc_client_setup() {
  work=$(mktemp -d)
  sock="sockit-$1-$$"
  server_pid="" ii_pid="" wee_pid=""
  wlog="$work/wee/logs/irc.server.sockit.weechatlog"
  trap irc_client_cleanup EXIT
}
irc_client_cleanup() {
  tmux -L "$sock" kill-server 2>/dev/null || true
  local p
  for p in "$wee_pid" "$ii_pid" "$server_pid"; do [ -z "$p" ] || kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -z "${IRC_KEEP_DIR:-}" ] || cp -r "$work" "$IRC_KEEP_DIR"
  rm -rf "$work"
}
# irssi in tmux: its pane, keys typed into it, waiting until the pane shows a pattern.
pane() { tmux -L "$sock" capture-pane -p -t irc -S -300 2>/dev/null || true; }
keys() { tmux -L "$sock" send-keys -t irc "$1" Enter; }
wait_pane() {  # pattern
  for _ in $(seq 150); do pane | grep -q -- "$1" && return 0; sleep 0.1; done
  fail "irssi never showed '$1'"
}
# weechat: its #sockit log, waiting until it holds a pattern.
chanlog() { cat "$work/wee/logs/"*"#sockit"* 2>/dev/null || true; }
wait_chan() {
  for _ in $(seq 150); do chanlog | grep -q -- "$1" && return 0; sleep 0.1; done
  fail "weechat never logged '$1'"
}
# fail MESSAGE: what each party shows (irssi's pane, weechat's logs, ii, the server), exit 1.
fail() {
  echo "FAIL: $1"
  if tmux -L "$sock" has-session 2>/dev/null; then echo "--- irssi pane:"; pane; fi
  if [ -d "$work/wee" ]; then
    echo "--- weechat #sockit log:"; chanlog; echo "--- weechat server log:"; cat "$wlog" 2>/dev/null || true
    echo "--- weechat core log:"; cat "$work/wee/logs/core.weechat.weechatlog" 2>/dev/null || true
  fi
  echo "--- ii:"; cat "$work/peer/127.0.0.1/#sockit/out" 2>/dev/null || true
  echo "--- server:"; cat "$work/server.err" 2>/dev/null || true
  exit 1
}
