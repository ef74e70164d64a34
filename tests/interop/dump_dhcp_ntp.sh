#!/usr/bin/env bash
# sockit dump's BOOTP/DHCP and NTP printers against tcpdump 4.99 on real traffic (issue #25): in a
# network namespace this script creates, busybox udhcpd serves leases on one end of a veth pair
# and busybox udhcpc takes one on the other (Discover, Offer, Request, ACK with the server's
# options); a small SNTP server and client (/usr/bin/python3, plain sockets)
# exchange a client request and a server reply on 127.0.0.1:123 with real timestamps. tcpdump -w
# captures both; `sockit dump -r` must print every line exactly as `tcpdump -n -r` (plain, -q, -e,
# -X, -v, -vv, -vvv) and the capture must hold the four DHCP steps and both NTP modes.
# Needs root, ip netns, busybox (udhcpd, udhcpc) and tcpdump; exits 77 (skipped) otherwise. ~5 s.
source "$(dirname "${BASH_SOURCE[0]}")/nc_lib.bash"
need ip tcpdump busybox
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for ip netns"; exit 77; }
busybox udhcpd --help >/dev/null 2>&1 || [ $? = 1 ] || { echo "SKIP: busybox has no udhcpd"; exit 77; }

NS=sockitdhcp$$
dhcp_cleanup() {
  nc_cleanup
  ip netns del "$NS" 2>/dev/null
}
trap dhcp_cleanup EXIT
ip netns add "$NS" 2>/dev/null || { echo "SKIP: cannot create a network namespace"; exit 77; }
ip -n "$NS" link set lo up
ip -n "$NS" link add dc0 type veth peer name ds0 || { echo "SKIP: no veth"; exit 77; }
ip -n "$NS" addr add 192.0.2.1/24 dev ds0
ip -n "$NS" link set ds0 up
ip -n "$NS" link set dc0 up

cat >"$T/udhcpd.conf" <<CONF
start 192.0.2.10
end 192.0.2.20
interface ds0
lease_file $T/leases
opt subnet 255.255.255.0
opt router 192.0.2.1
opt dns 192.0.2.53 192.0.2.54
opt domain example.org
opt lease 3600
opt ntpsrv 192.0.2.123
CONF
touch "$T/leases"

PCAP=$T/dhcp.pcap PCAP_NTP=$T/ntp.pcap
start ip netns exec "$NS" tcpdump -i dc0 --immediate-mode -U -w "$PCAP" udp port 67 or udp port 68 2>"$T/tcpdump.err"
TCPDUMP=$LAST
start ip netns exec "$NS" tcpdump -i lo --immediate-mode -U -w "$PCAP_NTP" udp port 123 2>"$T/tcpdump_ntp.err"
TCPDUMP_NTP=$LAST
wait_for_line "$T/tcpdump.err" 'listening on' || { fail "tcpdump started"; finish; }
wait_for_line "$T/tcpdump_ntp.err" 'listening on' || { fail "tcpdump (ntp) started"; finish; }
start ip netns exec "$NS" busybox udhcpd -f "$T/udhcpd.conf" >"$T/udhcpd.out" 2>&1
UDHCPD=$LAST
# The client: a lease (-q: quit once bound), no script run. Up to 10 tries 3 s apart: on a loaded
# machine udhcpd's answer once came after a 1 s wait had given up (CI: tcpdump saw the ACK, the
# client had no lease).
ip netns exec "$NS" timeout 40 busybox udhcpc -i dc0 -f -q -n -t 10 -T 3 -s /bin/true \
  -x hostname:sockit-test -V sockit >"$T/udhcpc.out" 2>&1
if grep -q 'lease of 192.0.2.[12][0-9]* obtained' "$T/udhcpc.out"; then
  pass "udhcpc got a lease"
else
  fail "udhcpc got a lease"
  sed 's/^/    udhcpc: /' "$T/udhcpc.out"
fi

ip netns exec "$NS" /usr/bin/python3 - >"$T/sntp.out" 2>&1 <<'PY'
import socket, struct, threading, time
JAN_1970 = 2208988800
def ntp_now():
    t = time.time()
    return int(t) + JAN_1970, int((t % 1) * 2**32)
srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
srv.bind(("127.0.0.1", 123))
def serve():
    data, peer = srv.recvfrom(512)
    rs, rf = ntp_now()
    org = data[40:48]
    xs, xf = ntp_now()
    reply = struct.pack("!BBbb", (0 << 6) | (4 << 3) | 4, 2, 6, -23)
    reply += struct.pack("!HHHH", 0, 0x0123, 0, 0x0456) + bytes([192, 0, 2, 123])
    reply += struct.pack("!II", rs - 64, 0) + org + struct.pack("!IIII", rs, rf, xs, xf)
    srv.sendto(reply, peer)
threading.Thread(target=serve, daemon=True).start()
cli = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
cli.settimeout(5)
s, f = ntp_now()
cli.sendto(struct.pack("!BBbb", (4 << 3) | 3, 0, 6, -20) + bytes(36) + struct.pack("!II", s, f), ("127.0.0.1", 123))
print("reply", len(cli.recvfrom(512)[0]))
PY
check "the SNTP client got its reply" grep -q 'reply 48' "$T/sntp.out"

# The last packets mark the end: the ACK and the NTP server's reply (up to 20 s: on a loaded
# machine tcpdump -U can take seconds to write them out; a 5 s bound failed once in a dev run).
for ((end = SECONDS + 20; SECONDS < end; )); do
  tcpdump -n -v -r "$PCAP" 2>/dev/null | grep -q 'DHCP-Message (53), length 1: ACK' \
    && tcpdump -n -r "$PCAP_NTP" 2>/dev/null | grep -q 'NTPv4, Server' && break
  sleep 0.02
done
kill -INT "$TCPDUMP" "$TCPDUMP_NTP"
wait_exit "$TCPDUMP" 10 || fail "tcpdump stopped"
wait_exit "$TCPDUMP_NTP" 10 || fail "tcpdump (ntp) stopped"
kill "$UDHCPD"
# DUMP_DHCP_KEEP=DIR keeps both captures (for fuzz seeds).
[ -n "${DUMP_DHCP_KEEP:-}" ] && cp "$PCAP" "$PCAP_NTP" "$DUMP_DHCP_KEEP"

verbose=$(tcpdump -n -v -r "$PCAP" 2>/dev/null)
for step in Discover Offer Request ACK; do
  if echo "$verbose" | grep -q "DHCP-Message (53), length 1: $step"; then pass "tcpdump saw a DHCP $step"
  else fail "tcpdump saw a DHCP $step"; fi
done
ntp=$(tcpdump -n -r "$PCAP_NTP" 2>/dev/null)
for mode in Client Server; do
  if echo "$ntp" | grep -q "NTPv4, $mode, length 48"; then pass "tcpdump saw NTPv4 $mode"; else fail "tcpdump saw NTPv4 $mode"; fi
done

compare() {  # compare FILE FLAGS...: tcpdump -n FLAGS vs sockit dump FLAGS on FILE
  local file=$1 want got; shift
  want=$(TZ=UTC tcpdump -n "$@" -r "$file" 2>/dev/null)
  got=$(TZ=UTC timeout 20 "$SOCKIT" dump --no-hints --no-summary "$@" -r "$file" 2>"$T/sockit.err")
  if [ "$want" = "$got" ]; then
    pass "sockit dump $* = tcpdump -n $* on $(basename "$file") ($(echo "$want" | wc -l) lines)"
  else
    fail "sockit dump $* = tcpdump -n $* on $(basename "$file")"
    diff <(echo "$want") <(echo "$got") | head -20
  fi
}
for flags in "" -q -e -X -v -vv -vvv; do
  # shellcheck disable=SC2086
  compare "$PCAP" $flags
  # shellcheck disable=SC2086
  compare "$PCAP_NTP" $flags
done
finish
