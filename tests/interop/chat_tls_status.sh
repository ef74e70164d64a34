#!/usr/bin/env bash
# sockit chat --tls, full-screen (tmux): the status line says [TLS handshake] while the handshake
# runs -- against a peer that accepts and never answers the ClientHello -- and never [registering]
# before it has finished; against `openssl s_server` (the handshake completes, then no IRC reply)
# it says [registering], and the status window tells the TLS version (issue #16). The certificate
# is made here with the openssl CLI, never committed.
source "$(dirname "$0")/chat_lib.bash"
need tmux python3 openssl
TMUX_SOCKET=sockit-tls-status-$$
tm() { tmux -L "$TMUX_SOCKET" "$@"; }
CHAT_EXTRA_CLEANUP='tmux -L "$TMUX_SOCKET" kill-server 2>/dev/null'
screen() { tm capture-pane -p -t "$1"; }
# on_screen DESC SESSION REGEX [SECONDS]: waits until the pane shows a matching line.
on_screen() {
  local i limit=${4:-10}
  for ((i = 0; i < limit * 10; i++)); do
    screen "$2" | grep -Eq -- "$3" && { pass "$1"; return 0; }
    sleep 0.1
  done
  fail "$1: [$3] not on screen"; screen "$2" | sed 's/^/    | /' | grep -v '^    | *$'
}
# not_on_screen DESC SESSION REGEX: the pane shows no matching line now.
not_on_screen() {
  if screen "$2" | grep -Eq -- "$3"; then fail "$1"; screen "$2" | sed 's/^/    | /' | grep -v '^    | *$'; else pass "$1"; fi
}
# chat_in SESSION PORT: sockit chat --tls --tls-insecure to 127.0.0.1:PORT in a tmux session.
chat_in() {
  tm -f /dev/null new-session -d -s "$1" -x 120 -y 30 \
    "env LANG=C.UTF-8 TERM=screen-256color '$SOCKIT' chat --tls --tls-insecure --connect-timeout 60s --nick alice 127.0.0.1 $2 2>'$T/$1.err'"
}

# listening PORT: until something listens on 127.0.0.1:PORT (10 s at most).
listening() {
  local i
  for ((i = 0; i < 200; i++)); do ss -ltn "sport = :$1" 2>/dev/null | grep -q LISTEN && return 0; sleep 0.05; done
  fail "nothing listens on $1"
}

# 1. A peer that takes the connection and never answers: the handshake never ends.
STALL=$(free_port)
python3 -c '
import socket, sys, time
l = socket.socket()
l.bind(("127.0.0.1", int(sys.argv[1])))
l.listen(4)
c, _ = l.accept()
time.sleep(120)
' "$STALL" &
PIDS+=($!)
listening "$STALL"
chat_in stalled "$STALL"
on_screen "handshake not finished: the status line says [TLS handshake]" stalled '\[TLS handshake\]'
on_screen "the status window says so" stalled 'Connected, TLS handshake\.\.\.'
not_on_screen "no [registering] while the handshake runs" stalled '\[registering\]'
not_on_screen "no 'registering as' while the handshake runs" stalled 'registering as alice'

# 2. openssl s_server: the handshake completes, then no IRC reply, so registration goes on.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" \
  -days 2 -subj /CN=localhost >/dev/null 2>&1 || { fail "openssl req"; finish; }
SPORT=$(free_port)
rm -f "$T/srv_in"; mkfifo "$T/srv_in"
exec 6<>"$T/srv_in"
(close_inherited; exec openssl s_server -quiet -naccept 1 -accept "127.0.0.1:$SPORT" -cert "$T/cert.pem" -key "$T/key.pem") \
  <"$T/srv_in" >"$T/s_server.out" 2>"$T/s_server.err" &
PIDS+=($!)
listening "$SPORT"
chat_in done "$SPORT"
on_screen "handshake done: the status window tells the version" done 'TLS handshake done \(TLSv1\.[23]\), registering as alice'
on_screen "then the status line says [registering]" done '\[registering\]'
not_on_screen "no [TLS handshake] once it finished" done '\[TLS handshake\]'
expect "NICK and USER went out after the handshake" "$T/s_server.out" '^USER alice '
exec 6>&-
finish
