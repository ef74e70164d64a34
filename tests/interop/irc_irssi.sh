#!/usr/bin/env bash
# Interop: a stock irssi (in a private tmux server) uses `sockit chat-server` with an `ii` client
# as the other party: connect, join, talk both ways, get voiced, change nick, get kicked. At the
# end irssi's raw log must hold no error numeric (4xx/5xx) and no ERROR from the server.
# Exit 77 (skip) when irssi, tmux or ii is missing.
set -euo pipefail
SOCKIT=${SOCKIT:-sockit}
source "$(dirname "$0")/irc_lib.bash"
for t in irssi tmux ii; do command -v "$t" >/dev/null || { echo "skip: $t not installed"; exit 77; }; done

irc_client_setup irc  # $work, the EXIT trap, pane/keys/wait_pane/fail (irc_lib.bash)

printf 'Welcome to the sockit interop test.\n' > "$work/motd.txt"
start_chat_server --motd "$work/motd.txt"

# The other party: ii, channel operator of #sockit.
start_peer

mkdir -p "$work/irssi"
cat > "$work/irssi/config" <<CONF
settings = {
  core = { real_name = "irssi tester"; user_name = "tester"; nick = "tester"; rawlog_lines = "2000"; };
  "fe-common/core" = { autolog = "no"; };
};
CONF
tmux -L "$sock" new-session -d -s irc -x 160 -y 50 \
  "TERM=screen irssi --home='$work/irssi' -n tester -c 127.0.0.1 -p $port"
wait_pane "Welcome to the sockit IRC Network"
keys "/join #sockit"
wait_file "$work/peer/127.0.0.1/#sockit/out" "tester(.*has joined"
wait_pane "Join to #sockit was synced"
keys "hello from irssi"
wait_file "$work/peer/127.0.0.1/#sockit/out" "<tester> hello from irssi"
echo "hello irssi, ii here" > "$work/peer/127.0.0.1/#sockit/in"
wait_pane "hello irssi, ii here"
echo "/MODE #sockit +v tester" > "$work/peer/127.0.0.1/in"
wait_pane "mode/#sockit \[+v tester\] by peer"
keys "/nick tester2"
wait_pane "You're now known as tester2"
echo "/KICK #sockit tester2 :test over" > "$work/peer/127.0.0.1/in"
wait_pane "kicked from #sockit by peer"
keys "/rawlog save $work/raw.log"   # the whole session: irssi keeps the last rawlog_lines lines
wait_file "$work/raw.log" "KICK #sockit tester2"   # the last line irssi received is in
[ -n "${IRC_KEEP_RAWLOG:-}" ] && cp "$work/raw.log" "$IRC_KEEP_RAWLOG"
# irssi's raw log: "<< " lines irssi sent, ">> " lines it received (with our @time tag).
grep -Eq '^>> (@[^ ]+ )?:[^ ]+ 366 ' "$work/raw.log" || fail "raw log has no 366 line (format changed?)"
if grep -E '^>> (@[^ ]+ )?(:[^ ]+ [45][0-9][0-9] |ERROR)' "$work/raw.log"; then
  fail "the server answered irssi with an error numeric"
fi
# IRCv3 (issue #18): every capability irssi requests is ACKed, none NAKed.
requested=$(grep -E '^<< CAP REQ ' "$work/raw.log" | sed 's/.*CAP REQ :*//' | tr ' ' '\n' | grep . | sort -u | tr '\n' ' ') || true
acked=$(grep -E '^>> (@[^ ]+ )?:[^ ]+ CAP [^ ]+ ACK ' "$work/raw.log" | sed 's/.* ACK :*//' | tr ' ' '\n' | grep . | sort -u | tr '\n' ' ') || true
[ -n "$requested" ] && [ "$requested" = "$acked" ] || fail "capabilities requested: '$requested', ACKed: '$acked'"
if grep -E '^>> (@[^ ]+ )?:[^ ]+ CAP [^ ]+ NAK ' "$work/raw.log"; then fail "the server NAKed a capability irssi asked for"; fi
echo "PASS: irssi connected, joined, talked, was voiced, renamed and kicked (port $port); caps ACKed: $requested"
