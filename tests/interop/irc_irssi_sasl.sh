#!/usr/bin/env bash
# Interop (issue #18): a stock irssi (in a private tmux server) logs in with SASL PLAIN to an
# account made with `sockit chat-server account add`: its raw log shows 900 and 903, every
# capability it requested ACKed, and no error numeric (4xx/5xx, 9xx failures) or ERROR.
# Exit 77 (skip) when irssi or tmux is missing.
set -euo pipefail
SOCKIT=${SOCKIT:-sockit}
source "$(dirname "$0")/irc_lib.bash"
for t in irssi tmux; do command -v "$t" >/dev/null || { echo "skip: $t not installed"; exit 77; }; done

irc_client_setup irc  # $work, the EXIT trap, pane/keys/wait_pane/fail (irc_lib.bash)
printf 'irssi-pass-phrase\n' | "$SOCKIT" chat-server account add irssiacct --db "$work/accounts.db" 2>/dev/null ||
  fail "account add failed"
printf 'Welcome to the sockit interop test.\n' > "$work/motd.txt"  # no 422 in the raw log
start_chat_server --accounts-db "$work/accounts.db" --motd "$work/motd.txt"

mkdir -p "$work/irssi"
cat > "$work/irssi/config" <<CONF
servers = ( { address = "127.0.0.1"; chatnet = "sockit"; port = "$port"; use_tls = "no"; autoconnect = "no"; } );
chatnets = { sockit = { type = "IRC"; sasl_mechanism = "PLAIN"; sasl_username = "irssiacct"; sasl_password = "irssi-pass-phrase"; }; };
settings = {
  core = { real_name = "irssi tester"; user_name = "tester"; nick = "tester"; rawlog_lines = "2000"; };
  "fe-common/core" = { autolog = "no"; };
};
CONF
tmux -L "$sock" new-session -d -s irc -x 160 -y 50 "TERM=screen irssi --home='$work/irssi' -c sockit"
wait_pane "Welcome to the sockit IRC Network"
keys "/whois tester"
wait_pane "End of WHOIS"
keys "/rawlog save $work/raw.log"
wait_file "$work/raw.log" " 318 "
grep -Eq '^>> (@[^ ]+ )?:[^ ]+ 900 [^ ]+ [^ ]+ irssiacct ' "$work/raw.log" || fail "no 900 (logged in as irssiacct) in irssi's raw log"
grep -Eq '^>> (@[^ ]+ )?:[^ ]+ 903 ' "$work/raw.log" || fail "no 903 in irssi's raw log"
grep -Eq '^>> (@[^ ]+ )?:[^ ]+ 330 tester tester irssiacct ' "$work/raw.log" || fail "WHOIS shows no 330 for the account"
if grep -E '^>> (@[^ ]+ )?(:[^ ]+ ([45][0-9][0-9]|90[24-8]) |ERROR)' "$work/raw.log"; then
  fail "the server answered irssi with an error numeric"
fi
requested=$(grep -E '^<< CAP REQ ' "$work/raw.log" | sed 's/.*CAP REQ :*//' | tr ' ' '\n' | grep . | sort -u | tr '\n' ' ') || true
acked=$(grep -E '^>> (@[^ ]+ )?:[^ ]+ CAP [^ ]+ ACK ' "$work/raw.log" | sed 's/.* ACK :*//' | tr ' ' '\n' | grep . | sort -u | tr '\n' ' ') || true
[ -n "$requested" ] && [ "$requested" = "$acked" ] || fail "capabilities requested: '$requested', ACKed: '$acked'"
case " $acked " in *" sasl "*) ;; *) fail "sasl not ACKed: $acked" ;; esac
echo "PASS: irssi logged in with SASL PLAIN (port $port); caps ACKed: $acked"
