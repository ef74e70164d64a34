#!/usr/bin/env bash
# Interop: weechat-headless on `sockit chat-server`'s TLS listener (GnuTLS, the test CA as its
# trust file, verification on, host name localhost; weechat 3.8 names the options -ssl, -ssl_verify), while an `ii` client is in the same channel
# over plaintext: autojoin, talk both ways; weechat's server log must show no error ("=!=") and
# hold the sts policy it was given. Certificates are made here with the openssl CLI. Exit 77
# (skip) when weechat-headless, ii or openssl is missing. Modelled on irc_weechat.sh.
set -euo pipefail
SOCKIT=${SOCKIT:-sockit}
source "$(dirname "$0")/irc_lib.bash"
for t in weechat-headless ii openssl; do command -v "$t" >/dev/null || { echo "skip: $t not installed"; exit 77; }; done

irc_client_setup weechat-tls  # $work, $wlog, the EXIT trap, chanlog/wait_chan/fail (irc_lib.bash)

make_tls_certs

printf 'Welcome to the sockit TLS interop test.\n' > "$work/motd.txt"
start_tls_chat_server --no-flood-control --motd "$work/motd.txt"

start_peer

mkdir -p "$work/wee"
weechat-headless --dir "$work/wee" \
  -r "/set logger.file.path $work/wee/logs;/set logger.file.flush_delay 0;/set logger.level.irc 9;/set weechat.network.gnutls_ca_user $work/ca.pem;/server add sockit 127.0.0.1/$tls_port -ssl -ssl_verify -nicks=weeuser -username=wee -realname=weechat -autojoin=#sockit;/set irc.server.sockit.addresses localhost/$tls_port;/connect sockit;/wait 2 /msg -server sockit #sockit hello over tls from weechat" \
  >"$work/wee.out" 2>&1 &
wee_pid=$!
wait_file "$work/peer/127.0.0.1/#sockit/out" "weeuser(.*has joined"
wait_file "$work/peer/127.0.0.1/#sockit/out" "<weeuser> hello over tls from weechat"
echo "hello weechat, plaintext ii here" > "$work/peer/127.0.0.1/#sockit/in"
wait_chan "hello weechat, plaintext ii here"
grep -q "Welcome to the sockit IRC Network" "$wlog" || fail "no server log"
grep -qi "TLS handshake\|gnutls\|certificate" "$wlog" || fail "weechat's log says nothing of TLS"
if grep -h -- '=!=' "$work/wee/logs/"*.weechatlog; then
  fail "weechat logged an error"
fi
echo "PASS: weechat over TLS (test CA verified) chatted with plaintext ii (port $tls_port)"
