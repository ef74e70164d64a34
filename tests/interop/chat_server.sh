#!/usr/bin/env bash
# sockit chat --plain against our own `sockit chat-server` on 127.0.0.1: join, messages both ways,
# nick change, 433 -> nick_ retry, reconnect + rejoin after the server restarts on the same port.
source "$(dirname "$0")/chat_lib.bash"
need python3
start_sockit_server || { echo "SKIP: sockit chat-server is not available"; exit 77; }
echo "# sockit chat-server on 127.0.0.1:$PORT"

client alice 127.0.0.1 "$PORT" --nick alice --join '#t' --reconnect-min 200ms --reconnect-max 1s
expect "alice joins #t (HOST PORT form)" "$T/alice.out" '^\[#t\] \* alice has joined #t$'
client bob "127.0.0.1:$PORT" --nick bob --join t --reconnect-min 200ms --reconnect-max 1s
expect "bob joins #t" "$T/bob.out" '^\[#t\] \* bob has joined #t$'
expect "alice sees bob join" "$T/alice.out" '^\[#t\] \* bob has joined #t$'
say bob "hello alice ✓"
expect "bob -> alice" "$T/alice.out" '^\[#t\] <bob> hello alice ✓$'
say alice "/me waves"
expect "alice -> bob (action)" "$T/bob.out" '^\[#t\] \* alice waves$'
say alice "/msg bob psst"
expect "private message" "$T/bob.out" '^\[alice\] <alice> psst$'
say bob "/nick bobby"
expect "nick change seen in the channel" "$T/alice.out" '^\[#t\] \* bob is now known as bobby$'

client carol "127.0.0.1:$PORT" --nick alice --join '#t'
expect "433 -> retry with alice_" "$T/carol.out" 'Nick alice is in use, trying alice_$'
expect "alice_ joins" "$T/alice.out" '^\[#t\] \* alice_ has joined #t$'
close_client carol
[[ $RC -eq 0 ]] && pass "EOF quits with status 0" || fail "carol exit status $RC"

kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
expect "disconnect reported" "$T/alice.err" 'Disconnected' 10
(close_inherited; exec "$SOCKIT" chat-server --listen "127.0.0.1:$PORT") >"$T/server2.out" 2>&1 &
PIDS+=("$!")
if wait_count "$T/alice.out" '^\[#t\] \* alice has joined #t$' 2 15; then
  pass "alice reconnects and rejoins #t"
else
  fail "alice did not rejoin"; tail -5 "$T/alice.out" "$T/alice.err" "$T/server2.out"
fi
expect "bob rejoins as bobby" "$T/bob.out" '^\[#t\] \* bobby has joined #t$' 10
say bob "back again"
expect "messages flow after the restart" "$T/alice.out" '^\[#t\] <bobby> back again$' 10
quit_client alice "/quit bye"
[[ $RC -eq 0 ]] && pass "/quit exits 0" || fail "/quit exit status $RC"
expect "quit relayed" "$T/bob.out" '^\[#t\] \* alice has quit \(.*bye.*\)$'
close_client bob
finish
