#!/usr/bin/env bash
# sockit nc over TCP against real peers (socat, ncat, OpenBSD nc): both directions, half-close
# in both directions, -C, -x, --send-only, --recv-only, --no-shutdown, -q. See docs/NC.md.
source "$(dirname "$0")/nc_lib.bash"
need socat ncat nc.openbsd python3 ss

printf 'line one\nline two\n' >"$T/in1"
printf 'reply A\nreply B\n' >"$T/in2"

echo "# 1. we connect to socat; our FIN reaches the peer's program, we still read its answer"
P=$(free_port)
start socat -t 5 TCP-LISTEN:$P,bind=127.0.0.1,reuseaddr SYSTEM:'cat; echo after-eof'
wait_listen $P
snc 127.0.0.1 $P <"$T/in1" >"$T/out" 2>"$T/err"; rc=$?
check_eq "socat echo: exit 0" 0 $rc
printf 'line one\nline two\nafter-eof\n' >"$T/exp"
check_file_eq "socat echo: data after our FIN arrives" "$T/exp" "$T/out"
check "socat echo: nothing on stderr" test ! -s "$T/err"

echo "# 2. we connect to ncat -l; both sides send a file and half-close"
P=$(free_port)
start ncat -l 127.0.0.1 $P <"$T/in2" >"$T/ncat_got"
NCAT=$LAST
wait_listen $P
snc 127.0.0.1 $P <"$T/in1" >"$T/out"; rc=$?
check_eq "to ncat: exit 0" 0 $rc
check_file_eq "to ncat: we received its file" "$T/in2" "$T/out"
wait_exit $NCAT 5
check_file_eq "to ncat: it received ours" "$T/in1" "$T/ncat_got"

echo "# 3. ncat connects to us (sockit nc -l), both directions"
start "${NC[@]}" -l -v 127.0.0.1 0 <"$T/in2" >"$T/us_got" 2>"$T/us_err"
US=$LAST
P=$(listen_port "$T/us_err")
timeout 10 ncat 127.0.0.1 $P <"$T/in1" >"$T/ncat_out"; rc=$?
check_eq "ncat client: exit 0" 0 $rc
check_file_eq "ncat client: received our stdin" "$T/in2" "$T/ncat_out"
wait_exit $US 5
check_eq "listener exits 0 once the client is done (no -k)" 0 $WAIT_RC
check_file_eq "listener printed the client's data" "$T/in1" "$T/us_got"
check "listener -v names the client" grep -q "connection from 127.0.0.1:" "$T/us_err"

echo "# 4. socat connects to us"
start "${NC[@]}" -l -v 127.0.0.1 0 <"$T/in2" >"$T/us_got" 2>"$T/us_err"
US=$LAST
P=$(listen_port "$T/us_err")
timeout 10 socat -t 5 - TCP:127.0.0.1:$P <"$T/in1" >"$T/socat_out"; rc=$?
check_eq "socat client: exit 0" 0 $rc
check_file_eq "socat client: received our stdin" "$T/in2" "$T/socat_out"
wait_exit $US 5
check_eq "listener exit 0" 0 $WAIT_RC
check_file_eq "listener got socat's data" "$T/in1" "$T/us_got"

echo "# 5. the peer half-closes first (OpenBSD nc -N); we keep sending until our stdin ends"
P=$(free_port)
start nc.openbsd -N -l 127.0.0.1 $P <"$T/in2" >"$T/bsd_got"
BSD=$LAST
wait_listen $P
mkfifo "$T/fifo5"
exec 5<>"$T/fifo5"
start "${NC[@]}" -vv 127.0.0.1 $P <"$T/fifo5" >"$T/out" 2>"$T/err" 5>&-
US=$LAST
wait_for_line "$T/err" "closed its side" >/dev/null
check "peer FIN seen before we send anything" grep -q "closed its side" "$T/err"
check "still running after the peer's FIN (our direction is open)" kill -0 $US
cat "$T/in1" >&5
exec 5>&-
wait_exit $US 5
check_eq "exit 0 after both directions are done" 0 $WAIT_RC
check_file_eq "data sent after the peer's FIN arrived" "$T/in1" "$T/bsd_got"
check_file_eq "we printed the peer's data" "$T/in2" "$T/out"

echo "# 6. --no-shutdown: no FIN at stdin EOF (the peer never sees EOF); -q ends it"
P=$(free_port)
start socat -t 5 TCP-LISTEN:$P,bind=127.0.0.1,reuseaddr SYSTEM:'cat >/dev/null; echo peer-saw-eof'
wait_listen $P
t0=$(now_ns)
snc --no-shutdown -q 700ms 127.0.0.1 $P <"$T/in1" >"$T/out"; rc=$?
ms=$(ms_since $t0)
check_eq "--no-shutdown -q: exit 0" 0 $rc
check "--no-shutdown: peer never saw EOF" test ! -s "$T/out"
check "--no-shutdown -q 700ms: quit after ~700ms (took ${ms}ms)" test $ms -ge 650 -a $ms -lt 5000

echo "# 7. -q after stdin EOF with a peer that never closes"
P=$(free_port)
start socat -t 5 TCP-LISTEN:$P,bind=127.0.0.1,reuseaddr SYSTEM:'echo hello; sleep 10'
wait_listen $P
t0=$(now_ns)
snc -q 500ms 127.0.0.1 $P </dev/null >"$T/out"; rc=$?
ms=$(ms_since $t0)
check_eq "-q: exit 0" 0 $rc
check_eq "-q: printed what arrived" "hello" "$(cat "$T/out")"
check "-q 500ms: took ${ms}ms" test $ms -ge 450 -a $ms -lt 5000

echo "# 8. -C sends CRLF line endings"
P=$(free_port)
start socat -u TCP-LISTEN:$P,bind=127.0.0.1,reuseaddr CREATE:"$T/crlf_got"
SOC=$LAST
wait_listen $P
printf 'a\nb\r\nc\n' | snc -C 127.0.0.1 $P; rc=$?
check_eq "-C: exit 0" 0 $rc
wait_exit $SOC 5
printf 'a\r\nb\r\nc\r\n' >"$T/exp"
check_file_eq "-C: LF became CRLF, CRLF untouched" "$T/exp" "$T/crlf_got"

echo "# 9. -x FILE dumps both directions"
P=$(free_port)
start socat -t 5 TCP-LISTEN:$P,bind=127.0.0.1,reuseaddr SYSTEM:'cat >/dev/null; printf pong'
wait_listen $P
printf 'ping\n' | snc -x "$T/dump" 127.0.0.1 $P >"$T/out"; rc=$?
check_eq "-x: exit 0" 0 $rc
cat >"$T/exp" <<EXP
> 5 bytes to 127.0.0.1:$P
00000000   70 69 6e 67 0a                                    ping.
< 4 bytes from 127.0.0.1:$P
00000000   70 6f 6e 67                                       pong
EXP
check_file_eq "-x: dump of both directions" "$T/exp" "$T/dump"
check_eq "-x: stdout unchanged" "pong" "$(cat "$T/out")"

echo "# 10. -x - writes the dump to stderr"
P=$(free_port)
start socat -t 5 TCP-LISTEN:$P,bind=127.0.0.1,reuseaddr SYSTEM:'cat'
wait_listen $P
printf 'AB' | snc -x - 127.0.0.1 $P >"$T/out" 2>"$T/err"
check "-x -: sent chunk on stderr" grep -q '^> 2 bytes to 127.0.0.1' "$T/err"
check "-x -: received chunk on stderr" grep -q '^00000000   41 42  *AB$' "$T/err"

echo "# 11. --send-only: received data is discarded, exit at stdin EOF"
P=$(free_port)
start socat -t 5 TCP-LISTEN:$P,bind=127.0.0.1,reuseaddr SYSTEM:"echo junk; cat >$T/sendonly_got; sleep 10"
wait_listen $P
t0=$(now_ns)
snc --send-only 127.0.0.1 $P <"$T/in1" >"$T/out"; rc=$?
ms=$(ms_since $t0)
check_eq "--send-only: exit 0" 0 $rc
check "--send-only: nothing printed" test ! -s "$T/out"
check "--send-only: did not wait for the peer (${ms}ms)" test $ms -lt 5000
wait_for_cmd cmp -s "$T/in1" "$T/sendonly_got"
check_file_eq "--send-only: the peer got our data" "$T/in1" "$T/sendonly_got"

echo "# 12. --recv-only: stdin is never read, nothing is sent"
P=$(free_port)
start socat -t 5 TCP-LISTEN:$P,bind=127.0.0.1,reuseaddr SYSTEM:"echo data; timeout 1 cat >$T/recvonly_got; true"
wait_listen $P
# stdin stays open (fifo held by fd 6) to show that the peer's close alone ends --recv-only
mkfifo "$T/fifo12"
exec 6<>"$T/fifo12"
echo "must-not-be-sent" >&6
snc --recv-only 127.0.0.1 $P <"$T/fifo12" >"$T/out" 6>&-; rc=$?
exec 6>&-
check_eq "--recv-only: exit 0 when the peer closes" 0 $rc
check_eq "--recv-only: printed the peer's data" "data" "$(cat "$T/out")"
check "--recv-only: the peer received nothing" test ! -s "$T/recvonly_got"

echo "# 13. -s/-p: connect from a chosen source port"
P=$(free_port)
SP=$(free_port)
start socat -t 5 TCP-LISTEN:$P,bind=127.0.0.1,reuseaddr SYSTEM:'echo $SOCAT_PEERPORT'
wait_listen $P
out=$(snc -s 127.0.0.1 -p $SP 127.0.0.1 $P </dev/null)
check_eq "-s 127.0.0.1 -p $SP: the peer saw our source port" "$SP" "$out"

echo "# 14. IPv6 loopback with -6"
if ip -6 addr show lo 2>/dev/null | grep -q '::1'; then
  P=$(free_port)
  start socat -t 5 TCP6-LISTEN:$P,bind=[::1],reuseaddr SYSTEM:'echo v6-ok'
  wait_listen $P
  out=$(snc -6 ::1 $P </dev/null)
  check_eq "-6 ::1: connected over IPv6" "v6-ok" "$out"
else
  echo "# skipped: no ::1 on lo"
fi

echo "# 15. a closed stdin (<&-) counts as empty input, never as the socket"
P=$(free_port)
start socat -t 5 TCP-LISTEN:$P,bind=127.0.0.1,reuseaddr SYSTEM:'echo hi; cat'
wait_listen $P
out=$(snc 127.0.0.1 $P <&-); rc=$?
check_eq "closed stdin: exit 0 after the peer closes" 0 $rc
check_eq "closed stdin: printed the peer's data only" "hi" "$out"

finish
