#!/usr/bin/env bash
# 50 MiB through sockit nc in both directions (they send to us, we send to them) with ncat and
# socat as the peers; the SHA-256 of what arrives must match what was sent.
source "$(dirname "$0")/nc_lib.bash"
need socat ncat sha256sum ss

SIZE_MIB=${SOCKIT_NC_BULK_MIB:-50}
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$T/blob"
want=$(sha256sum <"$T/blob" | cut -d' ' -f1)

echo "# 1. socat sends ${SIZE_MIB} MiB to our -l"
start "${NC[@]}" -l -v 127.0.0.1 0 </dev/null >"$T/got1" 2>"$T/err1"
US=$LAST
P=$(listen_port "$T/err1")
t0=$(now_ns)
timeout 60 socat -u OPEN:"$T/blob" TCP:127.0.0.1:$P; rc=$?
wait_exit $US 60
ms=$(ms_since $t0)
check_eq "socat -> us: socat exit 0" 0 $rc
check_eq "socat -> us: our exit 0" 0 $WAIT_RC
check_eq "socat -> us: SHA-256 matches" "$want" "$(sha256sum <"$T/got1" | cut -d' ' -f1)"
echo "# socat -> sockit nc: ${SIZE_MIB} MiB in ${ms} ms"

echo "# 2. we send ${SIZE_MIB} MiB to ncat -l --recv-only"
P=$(free_port)
start ncat -l --recv-only 127.0.0.1 $P >"$T/got2"
NC2=$LAST
wait_listen $P
t0=$(now_ns)
timeout 60 "$SOCKIT" nc 127.0.0.1 $P <"$T/blob"; rc=$?
wait_exit $NC2 60
ms=$(ms_since $t0)
check_eq "us -> ncat: exit 0" 0 $rc
check_eq "us -> ncat: SHA-256 matches" "$want" "$(sha256sum <"$T/got2" | cut -d' ' -f1)"
echo "# sockit nc -> ncat: ${SIZE_MIB} MiB in ${ms} ms"

echo "# 3. both directions at once over one connection (socat echo, -x off)"
P=$(free_port)
start socat -t 10 TCP-LISTEN:$P,bind=127.0.0.1,reuseaddr SYSTEM:cat
wait_listen $P
timeout 60 "$SOCKIT" nc 127.0.0.1 $P <"$T/blob" >"$T/got3"; rc=$?
check_eq "echo round trip: exit 0" 0 $rc
check_eq "echo round trip: SHA-256 matches" "$want" "$(sha256sum <"$T/got3" | cut -d' ' -f1)"

finish
