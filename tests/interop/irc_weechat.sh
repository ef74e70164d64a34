#!/usr/bin/env bash
# Interop: weechat-headless uses `sockit chat-server` with an `ii` client as the other party:
# connect (with CAP), autojoin, talk both ways, get voiced, change nick, get kicked. weechat is
# driven by startup commands and checked through its logger files; its core log must show no
# error numeric from the server. The FIFO plugin is not in weechat-headless's package, so weechat's
# own actions are scheduled with /wait at startup. Exit 77 (skip) when weechat-headless or ii is missing.
set -euo pipefail
SOCKIT=${SOCKIT:-sockit}
source "$(dirname "$0")/irc_lib.bash"
for t in weechat-headless ii; do command -v "$t" >/dev/null || { echo "skip: $t not installed"; exit 77; }; done

irc_client_setup weechat  # $work, $wlog, the EXIT trap, chanlog/wait_chan/fail (irc_lib.bash)

printf 'Welcome to the sockit interop test.\n' > "$work/motd.txt"
start_chat_server --motd "$work/motd.txt"

start_peer

mkdir -p "$work/wee"
weechat-headless --dir "$work/wee" \
  -r "/set logger.file.path $work/wee/logs;/set logger.file.flush_delay 0;/set logger.level.irc 9;/set irc.server_default.msg_quit bye;/server add sockit 127.0.0.1/$port -notls -nicks=weeuser -username=wee -realname=weechat -autojoin=#sockit;/connect sockit;/wait 2 /msg -server sockit #sockit hello from weechat;/wait 5 /command -buffer irc.server.sockit irc /nick weeuser2" \
  >"$work/wee.out" 2>&1 &
wee_pid=$!
wait_file "$work/peer/127.0.0.1/#sockit/out" "weeuser(.*has joined"
wait_file "$work/peer/127.0.0.1/#sockit/out" "<weeuser> hello from weechat"
echo "hello weechat, ii here" > "$work/peer/127.0.0.1/#sockit/in"
wait_chan "hello weechat, ii here"
echo "/MODE #sockit +v weeuser" > "$work/peer/127.0.0.1/in"
wait_chan "+v weeuser"
wait_chan "weeuser2"
echo "/KICK #sockit weeuser2 :test over" > "$work/peer/127.0.0.1/in"
wait_chan "kicked"
# weechat prints server errors (error numerics, ERROR) with its error prefix "=!=".
grep -q "Welcome to the sockit IRC Network" "$work/wee/logs/irc.server.sockit.weechatlog" || fail "no server log"
if grep -h -- '=!=' "$work/wee/logs/"*.weechatlog; then
  fail "weechat logged an error from the server"
fi
# IRCv3 (issue #18): every capability weechat requests is enabled (ACKed), none refused.
requested=$(grep -m1 -o 'client capability, requesting: .*' "$wlog" | sed 's/.*requesting: //') || true
enabled=$(grep -m1 -o 'client capability, enabled: .*' "$wlog" | sed 's/.*enabled: //') || true
[ -n "$requested" ] && [ "$requested" = "$enabled" ] || fail "capabilities requested: '$requested', enabled: '$enabled'"
if grep -q 'client capability, refused' "$wlog"; then fail "weechat had a capability refused"; fi
echo "PASS: weechat connected, joined, talked, was voiced, renamed and kicked (port $port); caps enabled: $enabled"
