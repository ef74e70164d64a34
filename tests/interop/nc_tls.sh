#!/usr/bin/env bash
# sockit nc --ssl against real TLS peers on 127.0.0.1 (openssl s_client/s_server, ncat --ssl):
# byte-exact both ways, EOF both ways (close_notify then FIN), the temporary self-signed
# certificate's fingerprint, verification refused in words (self-signed, wrong host, expired),
# a TLS 1.1 client and a plaintext client refused. Certificates are made here, in $T. docs/TLS.md.
source "$(dirname "$0")/nc_lib.bash"
need openssl ncat python3 ss

ec=ec_paramgen_curve:P-256
gen() { openssl "$@" >/dev/null 2>&1 || { echo "# openssl $1 failed"; exit 1; }; }
gen req -x509 -newkey ec -pkeyopt $ec -nodes -keyout "$T/ca.key" -out "$T/ca.pem" -days 2 -subj "/CN=sockit test CA"
gen req -newkey ec -pkeyopt $ec -nodes -keyout "$T/srv.key" -out "$T/srv.csr" -subj /CN=localhost
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$T/ext"
gen x509 -req -in "$T/srv.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 -out "$T/srv.pem" -extfile "$T/ext"
gen x509 -req -in "$T/srv.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days -1 -out "$T/expired.pem" -extfile "$T/ext"
gen req -x509 -newkey ec -pkeyopt $ec -nodes -keyout "$T/self.key" -out "$T/self.pem" -days 2 -subj /CN=localhost

printf 'from the client\n' >"$T/in1"
head -c 200000 /dev/urandom >"$T/big"

echo "# 1. openssl s_client -> sockit nc -l --ssl (temporary self-signed certificate)"
# nc's stdin ends (so its close_notify goes) only once it has printed the client's line: s_client
# exits at our close_notify, and may not have sent its stdin yet if that comes first (2 runs in 5).
big_then_wait_for_client() {
  cat "$T/big"
  for ((i = 0; i < 500; i++)); do [[ -s "$T/us_got" ]] && break; sleep 0.02; done
}
start "${NC[@]}" -l -v --ssl 127.0.0.1 0 < <(big_then_wait_for_client) >"$T/us_got" 2>"$T/us_err"
US=$LAST
P=$(listen_port "$T/us_err")
check "fingerprint printed" grep -qE "SHA-256 fingerprint: ([0-9A-F]{2}:){31}[0-9A-F]{2}$" "$T/us_err"
timeout 15 openssl s_client -quiet -connect 127.0.0.1:$P <"$T/in1" >"$T/c_out" 2>"$T/c_err"; rc=$?
check_eq "s_client: exit 0" 0 $rc
check_file_eq "s_client: received our 200 KB byte-exact, then our close_notify" "$T/big" "$T/c_out"
wait_exit $US 10
check_eq "nc -l --ssl: exit 0 after the client's close" 0 $WAIT_RC
check_file_eq "nc -l --ssl: printed the client's bytes" "$T/in1" "$T/us_got"

echo "# 2. ncat --ssl -> sockit nc -l --ssl --ssl-cert (CA-signed), verified by ncat"
start "${NC[@]}" -l -v --ssl --ssl-cert "$T/srv.pem" --ssl-key "$T/srv.key" 127.0.0.1 0 <"$T/in1" >"$T/us_got" 2>"$T/us_err"
US=$LAST
P=$(listen_port "$T/us_err")
timeout 15 ncat --ssl --ssl-verify --ssl-trustfile "$T/ca.pem" localhost $P <"$T/big" >"$T/ncat_out" 2>"$T/ncat_err"; rc=$?
check_eq "ncat --ssl client: exit 0" 0 $rc
check_file_eq "ncat --ssl client: received our stdin" "$T/in1" "$T/ncat_out"
wait_exit $US 10
check_eq "nc -l --ssl --ssl-cert: exit 0" 0 $WAIT_RC
check_file_eq "nc -l --ssl --ssl-cert: got ncat's 200 KB byte-exact" "$T/big" "$T/us_got"

echo "# 3. sockit nc --ssl --ssl-trustfile -> openssl s_server"
P=$(free_port)
mkfifo "$T/srv_in"
exec 6<>"$T/srv_in"
start openssl s_server -quiet -naccept 1 -accept 127.0.0.1:$P -cert "$T/srv.pem" -key "$T/srv.key" <"$T/srv_in" >"$T/srv_got" 2>"$T/srv_err" 6>&-
SRV=$LAST
wait_listen $P
mkfifo "$T/nc_in"
exec 7<>"$T/nc_in"
start "${NC[@]}" --ssl --ssl-trustfile "$T/ca.pem" localhost $P <"$T/nc_in" >"$T/us_got" 2>"$T/us_err" 6>&- 7>&-
US=$LAST
cat "$T/in1" >&7
wait_for_cmd cmp -s "$T/in1" "$T/srv_got"
check_file_eq "s_server received our bytes" "$T/in1" "$T/srv_got"
printf 'from s_server\n' >&6
wait_for_line "$T/us_got" "from s_server"
exec 6>&-  # s_server's stdin ends: it sends close_notify (its direction's end)
exec 7>&-  # ours ends: close_notify, then FIN
wait_exit $US 10
check_eq "nc --ssl: exit 0 after s_server's close_notify" 0 $WAIT_RC
check_eq "nc --ssl: got s_server's line" "from s_server" "$(cat "$T/us_got")"
check "nc --ssl: nothing on stderr" test ! -s "$T/us_err"
wait_exit $SRV 5

echo "# 4. sockit nc --ssl -> ncat -l --ssl, both directions and EOF"
P=$(free_port)
start ncat -l --ssl --ssl-cert "$T/srv.pem" --ssl-key "$T/srv.key" 127.0.0.1 $P <"$T/in1" >"$T/ncat_got" 2>"$T/ncat_err"
NC_L=$LAST
wait_listen $P
timeout 15 "${NC[@]}" --ssl --ssl-verify --ssl-trustfile "$T/ca.pem" localhost $P <"$T/big" >"$T/us_got" 2>"$T/us_err"; rc=$?
check_eq "nc --ssl to ncat -l --ssl: exit 0" 0 $rc
check_file_eq "nc --ssl to ncat: received its bytes" "$T/in1" "$T/us_got"
wait_exit $NC_L 10
check_file_eq "ncat -l --ssl: got our 200 KB byte-exact" "$T/big" "$T/ncat_got"

# refused CERT KEY DESC WANT [nc flags...]: nc --ssl refuses s_server's certificate in words.
refused() {
  local cert=$1 key=$2 desc=$3 want=$4; shift 4
  P=$(free_port)
  start openssl s_server -quiet -naccept 1 -accept 127.0.0.1:$P -cert "$cert" -key "$key" </dev/null >/dev/null 2>&1
  wait_listen $P
  echo hi | timeout 15 "${NC[@]}" --ssl "$@" localhost $P >"$T/out" 2>"$T/err"; rc=$?
  check_eq "$desc: exit 1" 1 $rc
  check_eq "$desc: reason in words" "sockit nc: tls: certificate verify failed (CN=localhost): $want" "$(cat "$T/err")"
  check "$desc: nothing delivered" test ! -s "$T/out"
}
echo "# 5. verification refused in words"
refused "$T/self.pem" "$T/self.key" "self-signed without trustfile" "self-signed certificate" --ssl-verify
refused "$T/srv.pem" "$T/srv.key" "wrong host" "hostname mismatch" --ssl-trustfile "$T/ca.pem" --ssl-servername irc.example.org
refused "$T/expired.pem" "$T/srv.key" "expired" "certificate has expired" --ssl-trustfile "$T/ca.pem"

echo "# 6. a TLS 1.1-only client and a plaintext client are refused by nc -l --ssl"
start "${NC[@]}" -l -v --ssl 127.0.0.1 0 </dev/null >"$T/us_got" 2>"$T/us_err"
US=$LAST
P=$(listen_port "$T/us_err")
timeout 15 openssl s_client -tls1_1 -cipher DEFAULT@SECLEVEL=0 -connect 127.0.0.1:$P </dev/null >/dev/null 2>&1; rc=$?
check "TLS 1.1 client: handshake refused" test $rc -ne 0
wait_exit $US 10
check_eq "nc -l --ssl: exit 1 after the TLS 1.1 offer" 1 $WAIT_RC
check "nc -l --ssl: says why" grep -q "tls: handshake: unsupported protocol" "$T/us_err"

start "${NC[@]}" -l -v --ssl 127.0.0.1 0 </dev/null >"$T/us_got" 2>"$T/us_err"
US=$LAST
P=$(listen_port "$T/us_err")
printf 'GET / HTTP/1.0\r\n\r\n' | timeout 15 ncat 127.0.0.1 $P >/dev/null 2>&1; rc=$?
check "plaintext client: its connection ended (no hang)" test $rc -ne 124
wait_exit $US 10
check_eq "nc -l --ssl: exit 1 after a plaintext client" 1 $WAIT_RC
check "nc -l --ssl: says the peer does not speak TLS" grep -q "does not speak TLS" "$T/us_err"
check "nothing printed from the plaintext client" test ! -s "$T/us_got"

echo "# 7. bad input: --ssl with -u, a missing certificate file"
snc -u --ssl 127.0.0.1 9 </dev/null 2>"$T/err"; rc=$?
check_eq "--ssl -u: usage error" 2 $rc
snc -l --ssl --ssl-cert "$T/nope.pem" 127.0.0.1 0 </dev/null 2>"$T/err"; rc=$?
check_eq "missing --ssl-cert file: exit 1" 1 $rc
check "missing --ssl-cert file: named" grep -q "tls: certificate $T/nope.pem" "$T/err"

finish
