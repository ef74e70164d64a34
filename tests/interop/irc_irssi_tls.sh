#!/usr/bin/env bash
# Interop: a stock irssi (in a private tmux server) on `sockit chat-server`'s TLS listener, with
# the test CA (verification on) and a client certificate, while an `ii` client is in the same
# channel over plaintext: register, join, talk both ways, WHOIS shows 671 and the certificate's
# fingerprint (276) to irssi, OPER by that certificate ([[operator]] certfp). Certificates are
# made here with the openssl CLI. Exit 77 (skip) when irssi, tmux, ii or openssl is missing.
set -euo pipefail
SOCKIT=${SOCKIT:-sockit}
source "$(dirname "$0")/irc_lib.bash"
for t in irssi tmux ii openssl; do command -v "$t" >/dev/null || { echo "skip: $t not installed"; exit 77; }; done

irc_client_setup irc-tls  # $work, the EXIT trap, pane/keys/wait_pane/fail (irc_lib.bash)

# A test CA, the server's certificate for 127.0.0.1 signed by it, and irssi's own (self-signed).
make_tls_certs
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/client.key" -out "$work/client.pem" -days 2 -subj /CN=tester >/dev/null 2>&1 || fail "no client certificate"
fp=$(openssl x509 -in "$work/client.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
printf '[[operator]]\nname = "certop"\ncertfp = "%s"\n' "$fp" >"$work/chat.toml"

# No fakelag: irssi sends a burst of lines after JOIN and WHOIS.
printf 'Welcome to the sockit TLS interop test.\n' >"$work/motd.txt"
start_tls_chat_server --no-flood-control --motd "$work/motd.txt" --config "$work/chat.toml"

# The other party over plaintext: ii, channel operator of #sockit.
start_peer

mkdir -p "$work/irssi"
cat > "$work/irssi/config" <<CONF
settings = {
  core = { real_name = "irssi tester"; user_name = "tester"; nick = "tester"; rawlog_lines = "2000"; };
  "fe-common/core" = { autolog = "no"; };
};
CONF
tmux -L "$sock" new-session -d -s irc -x 200 -y 50 "TERM=screen irssi --home='$work/irssi' -n tester"
wait_pane "Irssi"
# irssi checks the DNS names of the certificate only (not its IP entry): localhost, over IPv4.
keys "/connect -4 -tls -tls_verify -tls_cafile $work/ca.pem -tls_cert $work/client.pem -tls_pkey $work/client.key localhost $tls_port"
wait_pane "Welcome to the sockit IRC Network"
keys "/join #sockit"
wait_file "$work/peer/127.0.0.1/#sockit/out" "tester(.*has joined"
wait_pane "Join to #sockit was synced"
keys "hello over tls"
wait_file "$work/peer/127.0.0.1/#sockit/out" "<tester> hello over tls"
echo "hello irssi, plaintext ii here" > "$work/peer/127.0.0.1/#sockit/in"
wait_pane "hello irssi, plaintext ii here"
# WHOIS and OPER replies go to irssi's status window: read them from its raw log, saved again
# until the line has come (15 s at most).
wait_raw() {  # pattern
  for _ in $(seq 50); do
    keys "/rawlog save $work/raw.log"
    sleep 0.3
    grep -Eq -- "$1" "$work/raw.log" 2>/dev/null && return 0
  done
  fail "irssi's raw log never held '$1'"
}
keys "/whois tester"
wait_raw " 318 tester tester "
keys "/quote OPER certop"  # irssi's /oper would ask for a password
wait_raw " 381 tester :You are now an IRC operator"
echo "/WHOIS tester" > "$work/peer/127.0.0.1/in"
wait_file "$work/peer/127.0.0.1/out" "is using a secure connection"
# irssi's raw log: ">> " lines it received (with our @time tag when asked for).
grep -Eq "^>> (@[^ ]+ )?:[^ ]+ 671 tester tester :is using a secure connection" "$work/raw.log" ||
  fail "no 671 for irssi's own WHOIS"
grep -Eq "^>> (@[^ ]+ )?:[^ ]+ 276 tester tester :has client certificate fingerprint $fp" "$work/raw.log" ||
  fail "no 276 with irssi's certificate fingerprint $fp"
grep -Eq "^>> (@[^ ]+ )?:tester MODE tester :\+Z" "$work/raw.log" || fail "no +Z for the TLS user"
if grep -E "^>> (@[^ ]+ )?(:[^ ]+ [45][0-9][0-9] |ERROR)" "$work/raw.log"; then
  fail "the server answered irssi with an error numeric"
fi
if grep -q " 276 " "$work/peer/127.0.0.1/out"; then fail "the plaintext peer was shown the fingerprint"; fi
echo "PASS: irssi over TLS (test CA, client certificate) chatted with plaintext ii, WHOIS 671/276, OPER by certfp (port $tls_port)"
