#!/usr/bin/env bash
# IRC over WebSocket (issue #19 items 1-2, docs/WEB.md): `sockit chat-server --ws-listen` and a
# [[listen]] tls = true, websocket = true entry (wss://), driven by python3-wsproto as a raw
# client over real sockets on 127.0.0.1 (tests/interop/ws_peer.py): handshake errors (400, 403,
# 405, 426, 431, slowloris cut at [websocket] handshake_timeout), subprotocols in the client's
# order, a WebSocket user chatting with a TCP user in one channel, fragmented messages across
# frames and TCP reads, ping/pong, unmasked -> 1002, invalid UTF-8 -> 1007, 16 MiB -> 1009,
# close both ways, clients that vanish mid-frame (FIN and RST). No certificate is committed.
source "$(dirname "$0")/chat_lib.bash"
need openssl
PY=/usr/bin/python3
"$PY" -c 'import wsproto' 2>/dev/null || { echo "SKIP: python3-wsproto is not installed"; exit 77; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/srv.key" -out "$T/srv.pem" \
  -days 2 -subj /CN=localhost >/dev/null 2>&1 || { echo "# openssl req failed"; exit 1; }
cat >"$T/chat.toml" <<TOML
[[listen]]
address = "127.0.0.1:0"
tls = true
websocket = true
cert = "$T/srv.pem"
key = "$T/srv.key"

[websocket]
handshake_timeout = "1s"
TOML

start_sockit_server -c "$T/chat.toml" --ws-listen 127.0.0.1:0 --ws-origin https://good.example --no-flood-control \
  || { fail "chat-server did not start"; finish; }
wait_for "$T/server.err" 'IRC over WebSocket on wss://' 10 || wait_for "$T/server.out" 'IRC over WebSocket on wss://' 1
PORT=$(grep -Eoh 'listening on 127\.0\.0\.1:[0-9]+' "$T/server.out" "$T/server.err" | head -1 | grep -Eo '[0-9]+$')  # --listen: the first
WS=$(grep -Eoh 'WebSocket on ws://127\.0\.0\.1:[0-9]+' "$T/server.out" "$T/server.err" | head -1 | grep -Eo '[0-9]+$')
WSS=$(grep -Eoh 'WebSocket on wss://127\.0\.0\.1:[0-9]+' "$T/server.out" "$T/server.err" | head -1 | grep -Eo '[0-9]+$')
[[ -n "$WS" && -n "$WSS" ]] && pass "chat-server announces ws://127.0.0.1:$WS/ and wss://127.0.0.1:$WSS/" \
  || { fail "no WebSocket listener announced"; cat "$T/server.out" "$T/server.err"; finish; }

timeout 120 "$PY" "$(dirname "$0")/ws_peer.py" --ws "$WS" --wss "$WSS" --tcp "$PORT" --origin https://good.example \
  >"$T/peer.out" 2>&1
rc=$?
cat "$T/peer.out"
[[ $rc -eq 0 ]] && pass "ws_peer.py: every check passed" || fail "ws_peer.py exit $rc"
kill -0 "$SERVER_PID" 2>/dev/null && pass "the server is still running" || fail "the server died"
grep -E 'ERROR: AddressSanitizer|runtime error' "$T/server.err" && fail "sanitizer report" || pass "no sanitizer report"

echo "# usage errors"
"$SOCKIT" chat-server --ws-listen nonsense >"$T/u.out" 2>&1; rc=$?
[[ $rc -eq 2 ]] && grep -q "nonsense" "$T/u.out" && pass "--ws-listen nonsense: exit 2, named" \
  || { fail "--ws-listen nonsense: exit $rc"; cat "$T/u.out"; }
printf '[websocket]\norigins = "x"\n' >"$T/bad.toml"
"$SOCKIT" chat-server -c "$T/bad.toml" --check-config >"$T/b.out" 2>&1; rc=$?
[[ $rc -eq 2 ]] && grep -q "websocket.origins" "$T/b.out" && pass "[websocket] origins = \"x\": exit 2, named" \
  || { fail "bad origins: exit $rc"; cat "$T/b.out"; }
"$SOCKIT" chat-server -c "$T/chat.toml" --ws-listen 127.0.0.1:8080 --check-config >"$T/c.out" 2>&1; rc=$?
[[ $rc -eq 0 ]] && grep -q 'websocket = true' "$T/c.out" && grep -q 'handshake_timeout = "1s"' "$T/c.out" \
  && pass "--check-config prints the WebSocket listeners and [websocket]" || { fail "--check-config: exit $rc"; cat "$T/c.out"; }
finish
