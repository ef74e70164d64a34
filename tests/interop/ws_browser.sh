#!/usr/bin/env bash
# The web chat page in a real browser (issue #19 item 3, docs/WEB.md): `sockit chat-server
# --listen --ws-listen` on 127.0.0.1, two headless Chromium sessions (Debian's chromium and
# chromium-driver through python3-selenium: tests/interop/ws_browser.py) and one ii client in
# #sockit; each sees the others' messages, joins, a nick change and the topic; an HTML-injection
# message shows as text. SOCKIT_WRITE_SCREENSHOT=1 writes docs/img/web-chat.png (off in CI, so
# the tree stays clean). Exit 77 where chromium, chromedriver, selenium or ii is missing.
source "$(dirname "$0")/chat_lib.bash"
PY=/usr/bin/python3
need ii
[[ -x /usr/bin/chromium ]] || { echo "SKIP: chromium is not installed"; exit 77; }
[[ -x /usr/bin/chromedriver ]] || { echo "SKIP: chromium-driver is not installed"; exit 77; }
"$PY" -c 'import selenium' 2>/dev/null || { echo "SKIP: python3-selenium is not installed"; exit 77; }

printf '[history]\nenabled = true\ndb = "%s"\n' "$T/history.db" >"$T/chat.toml"  # draft/chathistory
start_sockit_server -c "$T/chat.toml" --ws-listen 127.0.0.1:0 || { fail "chat-server did not start"; finish; }
wait_for "$T/server.err" 'IRC over WebSocket on ws://' 10 || wait_for "$T/server.out" 'IRC over WebSocket on ws://' 1
WS=$(grep -Eoh 'WebSocket on ws://127\.0\.0\.1:[0-9]+' "$T/server.out" "$T/server.err" | head -1 | grep -Eo '[0-9]+$')
[[ -n "$WS" ]] || { fail "no WebSocket listener announced"; cat "$T/server.out" "$T/server.err"; finish; }
PORT=$(grep -Eoh 'listening on 127\.0\.0\.1:[0-9]+' "$T/server.out" "$T/server.err" | head -1 | grep -Eo '[0-9]+$')  # --listen: the first
pass "chat-server: IRC on 127.0.0.1:$PORT, the page on http://127.0.0.1:$WS/"

# The ii user joins first (channel operator: it sets the topic).
(close_inherited; exec ii -s 127.0.0.1 -p "$PORT" -n iiuser -i "$T/ii" -f "ii user") >"$T/ii.log" 2>&1 &
PIDS+=("$!")
expect "ii connects" "$T/ii/127.0.0.1/out" "Welcome to the sockit IRC Network" 10
# (A FIFO without its reader would block the writer: bounded.)
timeout 5 bash -c 'echo "/j #sockit" >"$1"' _ "$T/ii/127.0.0.1/in" || fail "ii's input FIFO: no reader"
expect "ii joins #sockit" "$T/ii/127.0.0.1/#sockit/out" "iiuser\(.*has joined" 10

shot=()
if [[ "${SOCKIT_WRITE_SCREENSHOT:-}" == 1 ]]; then
  mkdir -p "${SOCKIT_SOURCE_DIR:-$(dirname "$0")/../..}/docs/img"
  shot=(--screenshot "${SOCKIT_SOURCE_DIR:-$(dirname "$0")/../..}/docs/img/web-chat.png")
fi
timeout 90 "$PY" "$(dirname "$0")/ws_browser.py" --ws "$WS" --ii "$T/ii/127.0.0.1" "${shot[@]}" >"$T/browser.out" 2>&1
rc=$?
cat "$T/browser.out"
[[ $rc -eq 0 ]] && pass "ws_browser.py: every check passed" || fail "ws_browser.py exit $rc"
kill -0 "$SERVER_PID" 2>/dev/null && pass "the server is still running" || fail "the server died"
grep -E 'ERROR: AddressSanitizer|runtime error' "$T/server.err" && fail "sanitizer report" || pass "no sanitizer report"
finish
