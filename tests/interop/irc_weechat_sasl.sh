#!/usr/bin/env bash
# Interop (issue #18): weechat-headless logs in with SASL PLAIN to an account made with
# `sockit chat-server account add` (SQLite, argon2id): 900 and 903 in its server log, every
# capability it requests is enabled (ACKed), and no error numeric ("=!=") in its logs. Then a
# wrong password: weechat reports the failure (904) and the server's log has the refused login.
# Exit 77 (skip) when weechat-headless is missing.
set -euo pipefail
SOCKIT=${SOCKIT:-sockit}
source "$(dirname "$0")/irc_lib.bash"
command -v weechat-headless >/dev/null || { echo "skip: weechat-headless not installed"; exit 77; }

irc_client_setup weechat  # $work, $wlog, the EXIT trap, fail (irc_lib.bash)
printf 'correct-horse-battery\n' | "$SOCKIT" chat-server account add weeacct --db "$work/accounts.db" 2>/dev/null ||
  fail "account add failed"
start_chat_server --accounts-db "$work/accounts.db" --log-level info

run_weechat() {  # DIR PASSWORD
  mkdir -p "$work/$1"
  weechat-headless --dir "$work/$1" \
    -r "/set logger.file.path $work/$1/logs;/set logger.file.flush_delay 0;/set logger.level.irc 9;/server add sockit 127.0.0.1/$port -notls -nicks=$1 -username=wee -realname=weechat -sasl_mechanism=plain -sasl_username=weeacct -sasl_password=$2 -autojoin=#sockit;/connect sockit" \
    >"$work/$1.out" 2>&1 &
  wee_pid=$!
}

run_weechat wee correct-horse-battery
wait_file "$wlog" "You are now logged in as weeacct"
wait_file "$wlog" "SASL authentication successful"
wait_file "$wlog" "Welcome to the sockit IRC Network"
if grep -h -- '=!=' "$work/wee/logs/"*.weechatlog; then fail "weechat logged an error from the server"; fi
requested=$(grep -m1 -o 'client capability, requesting: .*' "$wlog" | sed 's/.*requesting: //') || true
enabled=$(grep -m1 -o 'client capability, enabled: .*' "$wlog" | sed 's/.*enabled: //') || true
[ -n "$requested" ] && [ "$requested" = "$enabled" ] || fail "capabilities requested: '$requested', enabled: '$enabled'"
case " $enabled " in *" sasl "*) ;; *) fail "sasl not among the enabled caps: $enabled" ;; esac
if grep -q 'client capability, refused' "$wlog"; then fail "weechat had a capability refused"; fi
kill "$wee_pid"; wait "$wee_pid" 2>/dev/null || true

run_weechat wee2 wrong-password
wait_file "$work/wee2/logs/irc.server.sockit.weechatlog" "SASL authentication failed"
wait_file "$work/server.err" "SASL login failed"
if grep -q "correct-horse\|wrong-password" "$work/server.err"; then fail "a password is in the server's log"; fi
echo "PASS: weechat logged in with SASL PLAIN (port $port); caps enabled: $enabled; a wrong password got 904"
