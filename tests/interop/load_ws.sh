#!/usr/bin/env bash
# Issue #19 item 4: `sockit load irc --websocket` against `sockit chat-server --ws-listen` (docs/LOAD.md,
# docs/WEB.md). A few clients for a second or two: every PRIVMSG sent is delivered to every other
# member over WebSocket (the report's deliveries = sent x (clients - 1) exactly: the tool waits for
# the deliveries of the messages sent in the measured interval, however late a receiver reads),
# no error; the same with binary.ircv3.net and over wss://; a plain IRC port refuses the upgrade
# with a clear note.
source "$(dirname "$0")/chat_lib.bash"
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/srv.key" -out "$T/srv.pem" \
  -days 1 -subj "/CN=127.0.0.1" >/dev/null 2>&1 || { echo "SKIP: openssl cannot make a certificate"; exit 77; }
cat >"$T/chat.toml" <<TOML
[[listen]]
address = "127.0.0.1:0"
tls = true
websocket = true
cert = "$T/srv.pem"
key = "$T/srv.key"
TOML
start_sockit_server -c "$T/chat.toml" --ws-listen 127.0.0.1:0 --no-flood-control || { fail "chat-server did not start"; finish; }
wait_for "$T/server.err" 'WebSocket on wss://' 10 || wait_for "$T/server.out" 'WebSocket on wss://' 1
WS=$(grep -Eoh 'WebSocket on ws://127\.0\.0\.1:[0-9]+' "$T/server.out" "$T/server.err" | head -1 | grep -Eo '[0-9]+$')
WSS=$(grep -Eoh 'WebSocket on wss://127\.0\.0\.1:[0-9]+' "$T/server.out" "$T/server.err" | head -1 | grep -Eo '[0-9]+$')
[[ -n "$WS" && -n "$WSS" ]] || { fail "no WebSocket listener announced"; cat "$T/server.out" "$T/server.err"; finish; }

# check NAME CLIENTS: the JSON report $T/NAME.json has sent x (CLIENTS - 1) deliveries, no error.
check() {
  local name=$1 c=$2 sent deliv errs want
  sent=$(jq -r '.sent' "$T/$name.json" 2>/dev/null)
  deliv=$(jq -r '.deliveries' "$T/$name.json" 2>/dev/null)
  errs=$(jq -r '[.errors[]] | add' "$T/$name.json" 2>/dev/null)
  if [[ -z "$sent" || "$sent" == null || "$sent" -lt 10 ]]; then
    fail "$name: too few PRIVMSGs sent ($sent)"; cat "$T/$name.json" "$T/$name.err"; return
  fi
  want=$((sent * (c - 1)))
  if [[ "$deliv" == "$want" && "$errs" == 0 ]]; then
    pass "$name: $sent PRIVMSGs sent, $deliv deliveries (sent x $((c - 1))), no error"
  else
    fail "$name: sent $sent, deliveries $deliv (want $want), errors $errs"; cat "$T/$name.json" "$T/$name.err"
  fi
}

"$SOCKIT" load irc "127.0.0.1:$WS" --websocket -c 6 --senders 2 -d 1500ms --threads 2 --no-progress --json \
  >"$T/ws.json" 2>"$T/ws.err"
rc=$?
[[ $rc -eq 0 ]] && pass "ws://, 6 clients x 2 senders: exit 0" || fail "ws://: exit $rc"
check ws 6
jq -e '.websocket == true and .ws_subprotocol == "text.ircv3.net"' "$T/ws.json" >/dev/null \
  && pass "the JSON report says websocket, text.ircv3.net" || fail "no websocket keys in the report"

"$SOCKIT" load irc "127.0.0.1:$WS" --websocket --ws-subprotocol binary -c 4 --senders 1 -d 1s --no-progress --json \
  >"$T/bin.json" 2>"$T/bin.err"
check bin 4

"$SOCKIT" load irc "127.0.0.1:$WSS" --websocket --tls -c 4 --senders 1 -d 1s --no-progress --json \
  >"$T/wss.json" 2>"$T/wss.err"
check wss 4

"$SOCKIT" load irc "127.0.0.1:$WS" --websocket -c 3 --senders 1 -d 1s --no-progress >"$T/text.txt" 2>"$T/text.err"
grep -q '^sockit load irc .*(WebSocket)' "$T/text.txt" && grep -q '^  deliveries ' "$T/text.txt" \
  && pass "the text report names the WebSocket" || { fail "text report"; cat "$T/text.txt" "$T/text.err"; }

# The plain IRC port answers no upgrade: every client fails, the note says why, exit 1.
PLAIN=$(grep -Eoh 'listening on 127\.0\.0\.1:[0-9]+' "$T/server.out" "$T/server.err" | head -1 | grep -Eo '[0-9]+$')
timeout 60 "$SOCKIT" load irc "127.0.0.1:$PLAIN" --websocket -c 2 --senders 1 -d 1s --timeout 1s --no-progress --json \
  >"$T/plain.json" 2>"$T/plain.err"
rc=$?
if [[ $rc -eq 1 ]] && jq -e '.deliveries == 0 and (.note | test("WebSocket"))' "$T/plain.json" >/dev/null; then
  pass "--websocket to a plain IRC port: exit 1, note: $(jq -r .note "$T/plain.json")"
else
  fail "--websocket to a plain IRC port: exit $rc"; cat "$T/plain.json" "$T/plain.err"
fi

"$SOCKIT" load pingpong "127.0.0.1:$WS" --websocket >"$T/u.out" 2>&1; rc=$?
[[ $rc -eq 2 ]] && grep -q 'irc' "$T/u.out" && pass "--websocket with pingpong: exit 2" || { fail "pingpong --websocket: exit $rc"; cat "$T/u.out"; }
"$SOCKIT" load irc "127.0.0.1:$WS" --websocket --ws-subprotocol json >"$T/u.out" 2>&1; rc=$?
[[ $rc -eq 2 ]] && grep -q 'json' "$T/u.out" && pass "--ws-subprotocol json: exit 2, named" || { fail "--ws-subprotocol json: exit $rc"; cat "$T/u.out"; }

kill -0 "$SERVER_PID" 2>/dev/null && pass "the server is still running" || fail "the server died"
grep -E 'ERROR: AddressSanitizer|runtime error' "$T/server.err" && fail "sanitizer report" || pass "no sanitizer report"
stop_server
finish
