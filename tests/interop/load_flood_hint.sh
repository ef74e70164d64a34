#!/usr/bin/env bash
# Issue #23.6: `sockit load irc` against a default `sockit chat-server` (flood control: burst 5,
# then 2 lines/s) measured the limiter without a word. The report now says so and points at
# --no-flood-control; against a server started with --no-flood-control it says nothing.
source "$(dirname "$0")/chat_lib.bash"
load() {  # load NAME: the issue's run against $PORT, text in $T/NAME.txt, JSON in $T/NAME.json
  "$SOCKIT" load irc "127.0.0.1:$PORT" -c 10 --senders 2 -d 2s --no-progress >"$T/$1.txt" 2>"$T/$1.err"
  "$SOCKIT" load irc "127.0.0.1:$PORT" -c 10 --senders 2 -d 2s --no-progress --json >"$T/$1.json" 2>>"$T/$1.err"
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; }

start_sockit_server || { echo "SKIP: sockit chat-server is not available"; exit 77; }
echo "# sockit chat-server (default flood control) on 127.0.0.1:$PORT"
load limited
if grep -Eq '^  hint .*flood limiter.*--no-flood-control' "$T/limited.txt"; then
  pass "default server: the text report names the flood limiter and --no-flood-control"
else
  fail "default server: no hint in"$'\n'"$(cat "$T/limited.txt" "$T/limited.err")"
fi
if grep -q '"flood_limited": *true' "$T/limited.json" && grep -Eq '"flood_step_ms": *(4[89][0-9]|5[01][0-9])[.,]' "$T/limited.json"; then
  pass "default server: JSON flood_limited true, step 480-520 ms"
else
  fail "default server: JSON $(grep -Eo '"(flood[a-z_]*|sent|deliveries)": *[^,]*' "$T/limited.json" | tr '\n' ' ')"
fi
# Open loop: 100 PRIVMSGs/s offered, the limiter lets about 2 lines/s per sender through.
"$SOCKIT" load irc "127.0.0.1:$PORT" -c 10 --senders 2 --rate 100 -d 2s --no-progress >"$T/open.txt" 2>"$T/open.err"
if grep -Eq '^  hint .*PRIVMSGs/s out of the 100/s offered.*--no-flood-control' "$T/open.txt"; then
  pass "default server, open loop: the report says the offered rate did not get out"
else
  fail "default server, open loop: no hint in"$'\n'"$(cat "$T/open.txt" "$T/open.err")"
fi
stop_server

start_sockit_server --no-flood-control || { fail "chat-server --no-flood-control did not start"; finish; }
echo "# sockit chat-server --no-flood-control on 127.0.0.1:$PORT"
load free
if grep -q 'hint' "$T/free.txt" || ! grep -q '^  deliveries ' "$T/free.txt"; then
  fail "--no-flood-control: unexpected report"$'\n'"$(cat "$T/free.txt" "$T/free.err")"
else
  pass "--no-flood-control: no hint"
fi
if grep -q '"flood_limited": *false' "$T/free.json"; then
  pass "--no-flood-control: JSON flood_limited false"
else
  fail "--no-flood-control: JSON $(grep -Eo '"(flood[a-z_]*|sent|deliveries)": *[^,]*' "$T/free.json" | tr '\n' ' ')"
fi
"$SOCKIT" load irc "127.0.0.1:$PORT" -c 10 --senders 2 --rate 100 -d 2s --no-progress >"$T/open-free.txt" 2>"$T/open-free.err"
if grep -q 'hint' "$T/open-free.txt" || ! grep -q '^  deliveries ' "$T/open-free.txt"; then
  fail "--no-flood-control, open loop: unexpected report"$'\n'"$(cat "$T/open-free.txt" "$T/open-free.err")"
else
  pass "--no-flood-control, open loop (100/s): no hint"
fi
stop_server
finish
