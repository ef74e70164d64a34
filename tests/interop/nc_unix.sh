#!/usr/bin/env bash
# sockit nc -U: Unix-domain stream sockets against socat, both directions, half-close, -k, and
# removal of the socket file when the listener exits.
source "$(dirname "$0")/nc_lib.bash"
need socat ncat

printf 'to the server\n' >"$T/in1"
printf 'to the client\n' >"$T/in2"

echo "# 1. we connect to socat UNIX-LISTEN"
start socat -t 5 UNIX-LISTEN:"$T/s1.sock" SYSTEM:'cat; echo after-eof'
for i in $(seq 100); do [[ -S "$T/s1.sock" ]] && break; sleep 0.02; done
snc -U "$T/s1.sock" <"$T/in1" >"$T/out"; rc=$?
check_eq "-U connect: exit 0" 0 $rc
printf 'to the server\nafter-eof\n' >"$T/exp"
check_file_eq "-U connect: echo plus data after our FIN" "$T/exp" "$T/out"

echo "# 2. socat connects to our -l -U"
start "${NC[@]}" -l -U -v "$T/s2.sock" <"$T/in2" >"$T/us_got" 2>"$T/us_err"
US=$LAST
wait_for_line "$T/us_err" 'listening on' >/dev/null
timeout 10 socat -t 5 - UNIX-CONNECT:"$T/s2.sock" <"$T/in1" >"$T/socat_out"; rc=$?
check_eq "socat client: exit 0" 0 $rc
check_file_eq "socat client got our stdin" "$T/in2" "$T/socat_out"
wait_exit $US 5
check_eq "-l -U: exit 0 when the client is done" 0 $WAIT_RC
check_file_eq "-l -U: printed the client's data" "$T/in1" "$T/us_got"
check "-l -U: socket file removed on exit" test ! -e "$T/s2.sock"

echo "# 3. ncat -U connects to our -l -k -U (two clients in turn)"
mkfifo "$T/k_in"
exec 4<>"$T/k_in"
start "${NC[@]}" -lkU -v "$T/s3.sock" <"$T/k_in" >"$T/k_out" 2>"$T/k_err" 4>&-
SRV=$LAST
wait_for_line "$T/k_err" 'listening on' >/dev/null
echo one | timeout 10 ncat --send-only -U "$T/s3.sock"
echo two | timeout 10 ncat --send-only -U "$T/s3.sock"
wait_for_line "$T/k_out" '^two$' >/dev/null
printf 'one\ntwo\n' >"$T/exp"
check_file_eq "-lkU: both clients' data printed" "$T/exp" "$T/k_out"
kill $SRV
wait_exit $SRV 5
exec 4>&-

echo "# 4. a stale socket file is replaced; a missing one is refused"
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$T/stale.sock"
start "${NC[@]}" -l -U -v "$T/stale.sock" </dev/null >/dev/null 2>"$T/stale_err"
wait_for_line "$T/stale_err" 'listening on' >/dev/null
check "-l -U over a stale socket file: listening" grep -q 'listening on' "$T/stale_err"
snc -U "$T/missing.sock" </dev/null 2>"$T/err"; rc=$?
check_eq "-U to a missing path: exit 1" 1 $rc
check "-U to a missing path: one line naming the error" grep -qE "^sockit nc: connect .*missing\.sock: No such file or directory$" "$T/err"

finish
