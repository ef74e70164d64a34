#!/usr/bin/env bash
# sockit chat --plain against Debian's ngircd on 127.0.0.1: join, messages both ways (UTF-8,
# mIRC colours stripped), /me, /msg, nick change, 433 -> nick_ retry, CTCP VERSION to a raw
# client, bad input, reconnect + rejoin after the server restarts on the same port, clean quit,
# exit statuses.
source "$(dirname "$0")/chat_lib.bash"
need ngircd python3

start_ngircd
echo "# ngircd on 127.0.0.1:$PORT"

client alice 127.0.0.1:$PORT --nick alice --join '#t' --reconnect-min 200ms --reconnect-max 1s
expect "alice joins #t" "$T/alice.out" '^\[#t\] \* alice has joined #t$'
client bob "irc://127.0.0.1:$PORT/t" --nick bob --reconnect-min 200ms --reconnect-max 1s
expect "bob joins through an irc:// URL path" "$T/bob.out" '^\[#t\] \* bob has joined #t$'
expect "alice sees bob join" "$T/alice.out" '^\[#t\] \* bob has joined #t$'

say bob "hello alice"
expect "bob -> alice in the channel" "$T/alice.out" '^\[#t\] <bob> hello alice$'
expect "bob sees his own line" "$T/bob.out" '^\[#t\] <bob> hello alice$'
say alice "hi bob"
expect "alice -> bob in the channel" "$T/bob.out" '^\[#t\] <alice> hi bob$'
say bob "héllo 世界 ✓"
expect "UTF-8 arrives intact" "$T/alice.out" '^\[#t\] <bob> héllo 世界 ✓$'
say bob $'\x02bold\x02 \x0304,01red\x03 plain'
expect "mIRC codes stripped in --plain" "$T/alice.out" '^\[#t\] <bob> bold red plain$'
say alice "/me waves"
expect "/me is a CTCP ACTION" "$T/bob.out" '^\[#t\] \* alice waves$'
say alice "/msg bob psst"
expect "/msg opens a query on the other side" "$T/bob.out" '^\[alice\] <alice> psst$'
say alice "/names"
expect "/names lists both" "$T/alice.out" '^\[#t\] \* Names on #t \(2\): (@alice bob|bob @alice)$'

say bob "/nick bobby"
expect "alice sees the nick change" "$T/alice.out" '^\[#t\] \* bob is now known as bobby$'
expect "bob's own nick change" "$T/bob.out" '^\[status\] \* You are now known as bobby$'

# 433: a second "alice" registers as alice_ and gets into the channel.
client carol 127.0.0.1:$PORT --nick alice --join '#t'
expect "433 -> retry with alice_" "$T/carol.out" 'Nick alice is in use, trying alice_$'
expect "alice_ joins" "$T/alice.out" '^\[#t\] \* alice_ has joined #t$'
close_client carol
[[ $RC -eq 0 ]] && pass "Ctrl-D (EOF) quits with status 0" || fail "carol exit status $RC"
expect "QUIT seen by the others" "$T/alice.out" '^\[#t\] \* alice_ has quit'

# CTCP VERSION from a raw client: the answer is a NOTICE with our version.
exec {raw}<>"/dev/tcp/127.0.0.1/$PORT"
printf 'NICK raw\r\nUSER raw 0 * :raw client\r\n' >&$raw
got=
while IFS= read -r -t 5 line <&$raw; do [[ "$line" == *" 001 "* ]] && break; done
printf 'PRIVMSG alice :\001VERSION\001\r\n' >&$raw
while IFS= read -r -t 5 line <&$raw; do
  [[ "$line" == *"NOTICE raw :"$'\001'"VERSION sockit chat"* ]] && { got=1; break; }
done
[[ -n "$got" ]] && pass "CTCP VERSION answered" || fail "no CTCP VERSION reply"
printf 'QUIT\r\n' >&$raw
exec {raw}>&-
expect "CTCP request shown" "$T/alice.out" 'CTCP VERSION request from raw'

# Bad input: one line on stderr, the client lives on.
say alice "/frobnicate now"
say alice "/join"
say alice "still here"
expect "unknown command -> stderr" "$T/alice.err" '^chat: Unknown command /frobnicate \(try /help\)$'
expect "missing argument -> usage on stderr" "$T/alice.err" '^chat: Usage: /join #channel \[key\]$'
expect "the client lives on after bad input" "$T/bob.out" '^\[#t\] <alice> still here$'

# The server goes away and comes back on the same port: both reconnect and rejoin #t.
stop_ngircd
expect "disconnect reported" "$T/alice.err" 'Disconnected'
start_ngircd "$PORT"
if wait_count "$T/alice.out" '^\[#t\] \* alice has joined #t$' 2 10; then
  pass "alice reconnects and rejoins #t"
else
  fail "alice did not rejoin"; tail -5 "$T/alice.out" "$T/alice.err"
fi
expect "bob rejoins under his new nick" "$T/bob.out" '^\[#t\] \* bobby has joined #t$' 20
say alice "after restart"
expect "messages flow after the restart" "$T/bob.out" '^\[#t\] <alice> after restart$' 10

quit_client alice "/quit see you"
[[ $RC -eq 0 ]] && pass "/quit exits 0" || fail "/quit exit status $RC"
expect "quit message relayed" "$T/bob.out" '^\[#t\] \* alice has quit \(.*see you.*\)$'
close_client bob
[[ $RC -eq 0 ]] && pass "bob quits on EOF with status 0" || fail "bob exit status $RC"

# Exit statuses: an unreachable server with --no-reconnect is 1 (one line on stderr), usage is 2.
dead=$(free_port)
"$SOCKIT" chat --plain --no-reconnect --nick z "127.0.0.1:$dead" </dev/null >"$T/dead.out" 2>"$T/dead.err"; RC=$?
[[ $RC -eq 1 ]] && pass "unreachable + --no-reconnect exits 1" || fail "unreachable: status $RC"
grep -q "Connection refused" "$T/dead.err" && pass "the refusal is reported" || fail "no refusal on stderr: $(cat "$T/dead.err")"
"$SOCKIT" chat --plain >/dev/null 2>&1 </dev/null; RC=$?
[[ $RC -eq 2 ]] && pass "no server: usage status 2" || fail "no server: status $RC"
"$SOCKIT" chat --plain 127.0.0.1:99999 --nick z >/dev/null 2>"$T/usage.err" </dev/null; RC=$?
[[ $RC -eq 2 ]] && pass "bad port: usage status 2" || fail "bad port: status $RC"
"$SOCKIT" chat --plain 127.0.0.1 --nick '9bad nick' >/dev/null 2>&1 </dev/null; RC=$?
[[ $RC -eq 2 ]] && pass "bad nick: usage status 2" || fail "bad nick: status $RC"
finish
