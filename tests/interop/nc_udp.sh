#!/usr/bin/env bash
# sockit nc -u against socat and ncat: both directions, -q after stdin EOF, ICMP refused, the
# first-peer rule of -l and the reply-to-last-peer rule of -l -k (docs/NC.md "UDP").
source "$(dirname "$0")/nc_lib.bash"
need socat ncat python3 ss

echo "# 1. we send to a socat UDP echo; -q 500ms after stdin EOF"
P=$(free_port udp)
start socat -T 5 UDP-LISTEN:$P,bind=127.0.0.1 EXEC:cat
wait_listen $P udp
t0=$(now_ns)
printf 'ping\n' | snc -u -q 500ms 127.0.0.1 $P >"$T/out" 2>"$T/err"; rc=${PIPESTATUS[1]}
ms=$(ms_since $t0)
check_eq "udp echo: exit 0" 0 $rc
check_eq "udp echo: the reply arrived" "ping" "$(cat "$T/out")"
check "udp echo: -q 500ms (${ms}ms)" test $ms -ge 450 -a $ms -lt 5000

echo "# 2. every stdin read is one datagram; ncat -u -l receives them"
P=$(free_port udp)
mkfifo "$T/ncat_in"
exec 4<>"$T/ncat_in"
start ncat -u -l 127.0.0.1 $P <"$T/ncat_in" >"$T/ncat_got" 4>&-
wait_listen $P udp
mkfifo "$T/us_in"
exec 5<>"$T/us_in"
start "${NC[@]}" -u 127.0.0.1 $P <"$T/us_in" >"$T/out" 5>&- 4>&-
US=$LAST
echo "first" >&5
wait_for_line "$T/ncat_got" '^first$' >/dev/null
echo "second" >&5
wait_for_line "$T/ncat_got" '^second$' >/dev/null
printf 'first\nsecond\n' >"$T/exp"
check_file_eq "ncat received both datagrams" "$T/exp" "$T/ncat_got"
echo "answer" >&4   # ncat replies to us
wait_for_line "$T/out" '^answer$' >/dev/null
check_eq "we printed ncat's reply" "answer" "$(cat "$T/out")"
exec 5>&-           # stdin EOF without -q: UDP keeps receiving
# deliberate idle: the client must not exit within 0.3 s of stdin EOF (wait_exit returns early if it does).
wait_exit $US 0.3
check_eq "no -q: still running after stdin EOF (UDP has no end of stream)" 124 $WAIT_RC
echo "late" >&4
wait_for_line "$T/out" '^late$' >/dev/null
check "no -q: datagrams after stdin EOF are printed" grep -q '^late$' "$T/out"
kill $US
exec 4>&-

echo "# 3. socat sends to our -u -l; we answer the sender"
start "${NC[@]}" -u -l -v -q 300ms 127.0.0.1 0 <<<"pong" >"$T/us_got" 2>"$T/us_err"
US=$LAST
P=$(listen_port "$T/us_err")
echo ping | timeout 10 socat -t 1 - UDP:127.0.0.1:$P >"$T/socat_out"; rc=$?
check_eq "socat client: exit 0" 0 $rc
check_eq "socat client: got our stdin as the reply" "pong" "$(cat "$T/socat_out")"
wait_exit $US 5
check_eq "-u -l -q: exit 0" 0 $WAIT_RC
check_eq "-u -l: printed the datagram" "ping" "$(cat "$T/us_got")"
check "-u -l -v names the sender" grep -q "datagram from 127.0.0.1:" "$T/us_err"

echo "# 3b. ncat -u connects to our -u -l; datagrams both ways"
mkfifo "$T/n3_in" "$T/u3_in"
exec 4<>"$T/n3_in" 5<>"$T/u3_in"
start "${NC[@]}" -u -l -v 127.0.0.1 0 <"$T/u3_in" >"$T/u3_out" 2>"$T/u3_err" 4>&- 5>&-
US=$LAST
P=$(listen_port "$T/u3_err")
start ncat -u 127.0.0.1 $P <"$T/n3_in" >"$T/n3_out" 4>&- 5>&-
echo "from-ncat" >&4
wait_for_line "$T/u3_out" '^from-ncat$' >/dev/null
check "ncat's datagram printed" grep -q '^from-ncat$' "$T/u3_out"
echo "from-us" >&5
wait_for_line "$T/n3_out" '^from-us$' >/dev/null
check "ncat received our reply" grep -q '^from-us$' "$T/n3_out"
kill $US
exec 4>&- 5>&-

echo "# 4. -u -l without -k: the first sender is the peer, others are ignored"
mkfifo "$T/srv_in"
exec 6<>"$T/srv_in"
start "${NC[@]}" -u -l -v 127.0.0.1 0 <"$T/srv_in" >"$T/srv_out" 2>"$T/srv_err" 6>&-
SRV=$LAST
P=$(listen_port "$T/srv_err")
A=$(free_port udp); B=$(free_port udp)
echo "from-a" | timeout 5 socat -t 0.2 - UDP:127.0.0.1:$P,bind=127.0.0.1:$A >/dev/null
wait_for_line "$T/srv_out" '^from-a$' >/dev/null
echo "from-b" | timeout 5 socat -t 0.2 - UDP:127.0.0.1:$P,bind=127.0.0.1:$B >/dev/null
wait_for_line "$T/srv_err" "ignoring datagram from 127.0.0.1:$B" >/dev/null
check "first sender's datagram printed" grep -q '^from-a$' "$T/srv_out"
check "second sender ignored without -k" bash -c "! grep -q from-b '$T/srv_out'"
check "-v says it ignored the other sender" grep -q "ignoring datagram from 127.0.0.1:$B" "$T/srv_err"
kill $SRV; exec 6>&-

echo "# 5. -u -l -k: any sender is printed; stdin goes to the most recent one"
mkfifo "$T/k_in"
exec 6<>"$T/k_in"
start "${NC[@]}" -u -l -k -v 127.0.0.1 0 <"$T/k_in" >"$T/k_out" 2>"$T/k_err" 6>&-
SRV=$LAST
P=$(listen_port "$T/k_err")
# two long-lived senders with their own stdin fifos
mkfifo "$T/a_in" "$T/b_in"
exec 8<>"$T/a_in" 9<>"$T/b_in"
start socat -T 10 - UDP:127.0.0.1:$P <"$T/a_in" >"$T/a_out" 6>&- 8>&- 9>&-
start socat -T 10 - UDP:127.0.0.1:$P <"$T/b_in" >"$T/b_out" 6>&- 8>&- 9>&-
echo "hello-from-a" >&8
wait_for_line "$T/k_out" '^hello-from-a$' >/dev/null
echo "hello-from-b" >&9
wait_for_line "$T/k_out" '^hello-from-b$' >/dev/null
check "-k: both senders printed" grep -q '^hello-from-b$' "$T/k_out"
echo "to-last" >&6
wait_for_line "$T/b_out" '^to-last$' >/dev/null
check "-k: reply went to the most recent sender (b)" grep -q '^to-last$' "$T/b_out"
check "-k: not to the earlier sender (a)" test ! -s "$T/a_out"
kill $SRV
exec 6>&- 8>&- 9>&-

echo "# 6. -C and -x over UDP"
P=$(free_port udp)
start socat -T 5 UDP-LISTEN:$P,bind=127.0.0.1 EXEC:cat
wait_listen $P udp
printf 'a\n' | snc -u -C -q 300ms -x "$T/dump" 127.0.0.1 $P >"$T/out"
printf 'a\r\n' >"$T/exp"
check_file_eq "-u -C: CRLF sent (and echoed)" "$T/exp" "$T/out"
check "-u -x: sent datagram dumped" grep -q "^> 3 bytes to 127.0.0.1:$P$" "$T/dump"
check "-u -x: received datagram dumped" grep -q "^< 3 bytes from 127.0.0.1:$P$" "$T/dump"

finish
