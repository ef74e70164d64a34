#!/usr/bin/env bash
# sockit nc -l -k: three concurrent clients (ncat, socat, OpenBSD nc); stdin is broadcast to all,
# their data goes to stdout; stdin EOF sends FIN to every client; the listener keeps running.
source "$(dirname "$0")/nc_lib.bash"
need socat ncat nc.openbsd ss

mkfifo "$T/srv_in" "$T/c1_in" "$T/c2_in" "$T/c3_in"
exec 4<>"$T/srv_in" 5<>"$T/c1_in" 6<>"$T/c2_in" 7<>"$T/c3_in"
start "${NC[@]}" -l -k -v 127.0.0.1 0 <"$T/srv_in" >"$T/srv_out" 2>"$T/srv_err" 4>&- 5>&- 6>&- 7>&-
SRV=$LAST
P=$(listen_port "$T/srv_err")

start ncat 127.0.0.1 $P <"$T/c1_in" >"$T/c1_out" 4>&- 5>&- 6>&- 7>&-
C1=$LAST
start socat -t 5 - TCP:127.0.0.1:$P <"$T/c2_in" >"$T/c2_out" 4>&- 5>&- 6>&- 7>&-
C2=$LAST
start nc.openbsd 127.0.0.1 $P <"$T/c3_in" >"$T/c3_out" 4>&- 5>&- 6>&- 7>&-
C3=$LAST
for i in 1 2 3; do echo "hello from client $i" >&$((4 + i)); done
for i in 1 2 3; do wait_for_line "$T/srv_out" "^hello from client $i\$" >/dev/null; done
for i in 1 2 3; do check "client $i's line reached stdout" grep -q "^hello from client $i\$" "$T/srv_out"; done
check_eq "three connections logged" 3 "$(grep -c 'connection from 127.0.0.1:' "$T/srv_err")"

echo "broadcast one" >&4
for i in 1 2 3; do wait_for_line "$T/c${i}_out" '^broadcast one$' >/dev/null; done
for i in 1 2 3; do check "client $i got the broadcast" grep -q '^broadcast one$' "$T/c${i}_out"; done
check "clients' data is not relayed to other clients" bash -c "! grep -q 'hello from' '$T/c1_out' '$T/c2_out' '$T/c3_out'"

# One client leaves (its stdin ends; the listener still has stdin open so it does not FIN it).
exec 7>&-
# deliberate idle: the half-closed client must not be dropped within 0.3 s (wait_exit returns early if it is).
wait_exit $C3 0.3
check_eq "a client that half-closed is kept while stdin is open" 124 $WAIT_RC
echo "broadcast two" >&4
for i in 1 2 3; do wait_for_line "$T/c${i}_out" '^broadcast two$' >/dev/null; done
check "the half-closed client still receives broadcasts" grep -q '^broadcast two$' "$T/c3_out"

# Listener stdin EOF: every client gets FIN; each exits once its own stdin ends.
exec 4>&-
wait_exit $C3 5
check_eq "nc client (already half-closed) exits 0 after our FIN" 0 $WAIT_RC
exec 5>&- 6>&-
wait_exit $C1 5; check_eq "ncat client exits 0" 0 $WAIT_RC
wait_exit $C2 5; check_eq "socat client exits 0" 0 $WAIT_RC
# deliberate idle: the listener must not exit within 0.2 s of its clients leaving.
wait_exit $SRV 0.2
check_eq "-k listener keeps running after stdin EOF" 124 $WAIT_RC

# A client arriving after stdin EOF gets FIN at once and can still send.
echo "late client" | timeout 10 socat -t 5 - TCP:127.0.0.1:$P >"$T/late_out"; rc=$?
check_eq "late client: exit 0 (got FIN, nothing to read)" 0 $rc
wait_for_line "$T/srv_out" '^late client$' >/dev/null
check "late client's data printed" grep -q '^late client$' "$T/srv_out"
check "late client received nothing" test ! -s "$T/late_out"
kill $SRV

finish
