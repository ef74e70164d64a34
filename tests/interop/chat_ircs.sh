#!/usr/bin/env bash
# sockit chat --tls (issue #16 item 4) against real TLS peers on 127.0.0.1: Debian's ngircd with
# an [SSL] listener (a CA-signed certificate made here) beside its plaintext one: an ircs:// URL
# joins and chats with a plaintext client, the client certificate's fingerprint shows in ngircd's
# WHOIS (CertFP); verification is on by default (the test CA is not in the system store: refused
# in words, exit 1); `openssl s_server` with a wrong-host and a self-signed certificate: refused
# with the reason; --tls-insecure connects (a warning line) and registers; usage errors. No key is
# committed: everything is made in $T. docs/TLS.md.
source "$(dirname "$0")/chat_lib.bash"
need ngircd openssl
trap '' PIPE  # a client that ended early fails its checks with their output, not the script

ec=ec_paramgen_curve:P-256
gen() { openssl "$@" >/dev/null 2>&1 || { echo "# openssl $1 failed"; exit 1; }; }
gen req -x509 -newkey ec -pkeyopt $ec -nodes -keyout "$T/ca.key" -out "$T/ca.pem" -days 2 -subj "/CN=sockit test CA"
signed() {  # signed NAME CN SAN: a certificate NAME.pem (key NAME.key) the test CA signs
  gen req -newkey ec -pkeyopt $ec -nodes -keyout "$T/$1.key" -out "$T/$1.csr" -subj "/CN=$2"
  printf 'subjectAltName=%s\n' "$3" >"$T/$1.ext"
  gen x509 -req -in "$T/$1.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 -out "$T/$1.pem" -extfile "$T/$1.ext"
}
signed srv localhost DNS:localhost,IP:127.0.0.1
signed other other.example DNS:other.example
gen req -x509 -newkey ec -pkeyopt $ec -nodes -keyout "$T/self.key" -out "$T/self.pem" -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1
gen req -x509 -newkey ec -pkeyopt $ec -nodes -keyout "$T/cli.key" -out "$T/cli.pem" -days 2 -subj /CN=alice
FP=$(openssl x509 -in "$T/cli.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f')

# ngircd: plaintext on PORT, TLS on TLSPORT.
TLSPORT=$(free_port)
NGIRCD_EXTRA_CONF="[SSL]
CertFile = $T/srv.pem
KeyFile = $T/srv.key
Ports = $TLSPORT"
start_ngircd
echo "# ngircd on 127.0.0.1:$PORT, TLS on $TLSPORT"

echo "# 1. ircs:// URL, the test CA, a client certificate; a plaintext client in the same channel"
client alice "ircs://localhost:$TLSPORT/#t" --tls-ca "$T/ca.pem" --tls-cert "$T/cli.pem" --tls-key "$T/cli.key" --nick alice
expect "alice joins #t over TLS" "$T/alice.out" '^\[#t\] \* alice has joined #t$' 10
expect "ngircd says the link is TLS" "$T/alice.out" 'Connected using Cipher .*TLS1\.[23]'
client bob "127.0.0.1:$PORT" --nick bob --join '#t'
expect "bob (plaintext) joins #t" "$T/bob.out" '^\[#t\] \* bob has joined #t$'
say alice "over tls"
expect "alice (TLS) -> bob (plaintext)" "$T/bob.out" '^\[#t\] <alice> over tls$'
say bob "over tcp"
expect "bob (plaintext) -> alice (TLS)" "$T/alice.out" '^\[#t\] <bob> over tcp$'
say alice "/whois alice"
expect "CertFP: ngircd's WHOIS shows our certificate's SHA-256" "$T/alice.out" "has client certificate fingerprint $FP\$"
expect "WHOIS: connected via SSL" "$T/alice.out" 'alice is connected via SSL'
quit_client alice "/quit bye"
[[ $RC -eq 0 ]] && pass "alice: /quit -> exit 0" || fail "alice exit status $RC"
expect "bob sees alice quit" "$T/bob.out" '^\[#t\] \* alice has quit'
check_no_stderr() { [[ ! -s "$T/$1.err" ]] && pass "$1: nothing on stderr" || { fail "$1: stderr"; sed 's/^/    | /' "$T/$1.err"; }; }
check_no_stderr alice

echo "# 2. verification is on by default: the test CA is not in the system trust store"
timeout 20 "$SOCKIT" chat --tls --plain --nick carol localhost "$TLSPORT" </dev/null >"$T/c2.out" 2>"$T/c2.err"; rc=$?
[[ $rc -eq 1 ]] && pass "no --tls-ca: exit 1" || fail "no --tls-ca: exit $rc"
grep -q '^chat: tls: certificate verify failed (CN=localhost): unable to get local issuer certificate$' "$T/c2.err" \
  && pass "no --tls-ca: the reason in words" || { fail "no --tls-ca: reason"; sed 's/^/    | /' "$T/c2.err"; }
grep -q 'Welcome' "$T/c2.out" && fail "no --tls-ca: registered anyway" || pass "no --tls-ca: never registered"

# s_server CERT KEY: openssl s_server on a free port (sets SPORT, SRV) with stdin from a FIFO on fd 6.
s_server() {
  SPORT=$(free_port)
  rm -f "$T/srv_in"; mkfifo "$T/srv_in"
  exec 6<>"$T/srv_in"
  (close_inherited; exec openssl s_server -quiet -naccept 1 -accept "127.0.0.1:$SPORT" -cert "$1" -key "$2") \
    <"$T/srv_in" >"$T/s_server.out" 2>"$T/s_server.err" &
  SRV=$!
  PIDS+=("$SRV")
  for ((i = 0; i < 200; i++)); do
    ss -ltn "sport = :$SPORT" 2>/dev/null | grep -q LISTEN && return 0
    sleep 0.05
  done
  echo "s_server did not start"; cat "$T/s_server.err"; exit 1
}
s_server_done() { exec 6>&-; kill "$SRV" 2>/dev/null; wait "$SRV" 2>/dev/null; }

# refused DESC CERT KEY HOST REASON: chat --tls --tls-ca refuses s_server's certificate, exit 1.
refused() {
  s_server "$2" "$3"
  timeout 20 "$SOCKIT" chat --tls --tls-ca "$T/ca.pem" --plain --nick dave "$4" "$SPORT" </dev/null >"$T/r.out" 2>"$T/r.err"; rc=$?
  [[ $rc -eq 1 ]] && pass "$1: exit 1" || fail "$1: exit $rc"
  grep -qF "chat: tls: certificate verify failed $5" "$T/r.err" && pass "$1: '$5'" \
    || { fail "$1: no '$5'"; sed 's/^/    | /' "$T/r.err"; }
  s_server_done
}
echo "# 3. refused in words: a wrong host, an IP the certificate does not name, a self-signed certificate"
refused "wrong host" "$T/other.pem" "$T/other.key" localhost "(CN=other.example): hostname mismatch"
refused "wrong address" "$T/other.pem" "$T/other.key" 127.0.0.1 "(CN=other.example): IP address mismatch"
refused "self-signed" "$T/self.pem" "$T/self.key" localhost "(CN=localhost): self-signed certificate"

echo "# 4. --tls-insecure connects to the self-signed server (with a warning) and registers"
s_server "$T/self.pem" "$T/self.key"
client erin "127.0.0.1:$SPORT" --tls --tls-insecure --nick erin --no-reconnect
if wait_for "$T/s_server.out" '^USER erin ' 10; then pass "s_server got NICK/USER over TLS"; else fail "no USER line"; cat "$T/s_server.out"; fi
printf ':srv 001 erin :Welcome over an unchecked link\r\n' >&6
expect "erin registered" "$T/erin.out" '^\[status\] Welcome over an unchecked link$'
expect "the warning line" "$T/erin.err" "^chat: warning: --tls-insecure: the server's certificate is not checked"
close_client erin
wait_for "$T/s_server.out" '^QUIT' 5 && pass "Ctrl-D: QUIT sent over TLS" || fail "no QUIT"
s_server_done

echo "# 5. --tls alone: port 6697; usage errors"
timeout 20 "$SOCKIT" chat --tls --plain --no-reconnect --connect-timeout 2s 127.0.0.1 </dev/null >"$T/p.out" 2>"$T/p.err"
grep -q '^\[status\] Connecting to 127.0.0.1 port 6697\.\.\.$' "$T/p.out" && pass "--tls: default port 6697" \
  || { fail "--tls: port"; cat "$T/p.out"; }
usage() {  # usage DESC WANT-IN-STDERR ARGS...
  local desc=$1 want=$2; shift 2
  timeout 10 "$SOCKIT" chat --plain "$@" </dev/null >/dev/null 2>"$T/u.err"; rc=$?
  [[ $rc -eq 2 ]] && grep -qF -- "$want" "$T/u.err" && pass "$desc" || { fail "$desc: exit $rc"; cat "$T/u.err"; }
}
usage "--tls-ca without --tls: usage error" "--tls-ca needs --tls" 127.0.0.1 --tls-ca "$T/ca.pem"
usage "--tls-insecure with --tls-ca: usage error" "contradict" --tls --tls-insecure --tls-ca "$T/ca.pem" 127.0.0.1
usage "--tls-key without --tls-cert: usage error" "--tls-key needs --tls-cert" --tls --tls-key "$T/cli.key" 127.0.0.1
timeout 10 "$SOCKIT" chat --plain --tls --tls-ca "$T/missing.pem" 127.0.0.1 </dev/null >/dev/null 2>"$T/f.err"; rc=$?
[[ $rc -eq 1 ]] && grep -qF "sockit chat: tls: trust file $T/missing.pem" "$T/f.err" && pass "a missing --tls-ca file: exit 1, named" \
  || { fail "missing CA file: exit $rc"; cat "$T/f.err"; }

if [[ $FAILS -gt 0 ]]; then
  for f in "$T"/*.err; do echo "# $(basename "$f"):"; sed 's/^/    | /' "$f" | tail -20; done
fi
finish
