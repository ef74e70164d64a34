#!/usr/bin/env bash
# sockit nc -z: per-port open/closed reports (OpenBSD nc wording, with -v) and the exit status
# (0 when any port is open), on ranges and lists with known open and closed ports.
source "$(dirname "$0")/nc_lib.bash"
need python3 ss nc.openbsd

# Known ports: O1 and O2 listen; C is bound but not listening (connects are refused, and no other
# program can take it while the helper runs).
python3 - >"$T/ports" <<'PY' &
import socket, time
ls = []
for _ in range(2):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0)); s.listen(16); ls.append(s)
c = socket.socket(); c.bind(("127.0.0.1", 0))  # bound, not listening: connect is refused
print(ls[0].getsockname()[1], ls[1].getsockname()[1], c.getsockname()[1], flush=True)
time.sleep(30)
PY
PIDS+=("$!")
wait_for_line "$T/ports" '^[0-9]+ [0-9]+ [0-9]+$' >/dev/null
read -r O1 O2 C <"$T/ports"

snc -z -v 127.0.0.1 "$O1,$C,$O2" >"$T/out" 2>"$T/err"; rc=$?
check_eq "-z list with open ports: exit 0" 0 $rc
check "-z: nothing on stdout" test ! -s "$T/out"
check "-z -v: $O1 succeeded" grep -q "Connection to 127.0.0.1 $O1 port \[tcp/.*\] succeeded!" "$T/err"
check "-z -v: $O2 succeeded" grep -q "Connection to 127.0.0.1 $O2 port \[tcp/.*\] succeeded!" "$T/err"
check "-z -v: $C refused" grep -q "connect to 127.0.0.1 port $C (tcp) failed: Connection refused" "$T/err"
check_eq "-z -v: one line per port, in order" "$O1 $C $O2" \
  "$(sed -E 's/.*Connection to 127.0.0.1 ([0-9]+) .*/\1/; s/.*port ([0-9]+) \(tcp\).*/\1/' "$T/err" | tr '\n' ' ' | sed 's/ $//')"

# The same wording as OpenBSD nc for the open and closed lines (minus our "sockit nc: " prefix).
nc.openbsd -z -v 127.0.0.1 "$O1" 2>&1 | sed 's/^nc: //' >"$T/bsd" 
snc -z -v 127.0.0.1 "$O1" 2>&1 | sed 's/^sockit nc: //' >"$T/ours"
check_file_eq "-z -v open line matches OpenBSD nc" "$T/bsd" "$T/ours"

snc -z -v 127.0.0.1 "$C-$C" 2>"$T/err"; rc=$?
check_eq "-z range with only a closed port: exit 1" 1 $rc
check_eq "-z range of one: one report line" 1 "$(grep -c . "$T/err")"

lo=$((O1 > 2 ? O1 - 2 : O1)); hi=$((O1 + 2))
snc -z -v 127.0.0.1 "$lo-$hi" 2>"$T/err"; rc=$?
check_eq "-z range around an open port: exit 0" 0 $rc
check_eq "-z range $lo-$hi: one line per port" $((hi - lo + 1)) "$(grep -c . "$T/err")"
check "-z range: $O1 reported open" grep -q "Connection to 127.0.0.1 $O1 port" "$T/err"

snc -z 127.0.0.1 "$O1" 2>"$T/err"; rc=$?
check_eq "-z without -v: exit 0" 0 $rc
check "-z without -v: silent" test ! -s "$T/err"

finish
