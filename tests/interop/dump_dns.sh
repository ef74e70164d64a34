#!/usr/bin/env bash
# sockit dump's DNS printer against tcpdump 4.99 on real DNS traffic (issue #25): in a network
# namespace this script creates, a small responder (dump_dns_responder.py, /usr/bin/python3 with
# scapy) serves the zone `test.` on 127.0.0.1:53 (UDP and TCP) while tcpdump -w captures `lo`,
# and dig asks A (two answers), AAAA, MX, TXT, SOA, CNAME, PTR, NXDOMAIN, SERVFAIL, with and
# without EDNS (dig's COOKIE option, +dnssec's DO bit), over TCP (+tcp), and a truncated answer
# (TC, with +ignore, then dig's own retry over TCP). Then `sockit dump -r` must print every line
# exactly as `tcpdump -n -r` (plain, -q, -e, -X, and -v/-vv/-vvv when sockit dump has -v), and
# the capture must hold what was asked (a TC answer, ServFail, NXDomain, a query over TCP). Then
# 2000 seeded mutations of these DNS messages and of dns_edge.pcap's: every line as tcpdump's.
# Needs root, ip netns, dig, tcpdump and scapy; exits 77 (skipped) otherwise. ~16 s under ASan.
source "$(dirname "${BASH_SOURCE[0]}")/nc_lib.bash"
need ip dig tcpdump
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for ip netns"; exit 77; }
/usr/bin/python3 -c 'import scapy.layers.dns' 2>/dev/null || { echo "SKIP: python3-scapy not installed"; exit 77; }

NS=sockitdns$$
dns_cleanup() {
  nc_cleanup
  ip netns del "$NS" 2>/dev/null
}
trap dns_cleanup EXIT
ip netns add "$NS" 2>/dev/null || { echo "SKIP: cannot create a network namespace"; exit 77; }
ip -n "$NS" link set lo up
# (started without a shell function in between, so that the PID `start` records is the program's)

PCAP=$T/dns.pcap
start ip netns exec "$NS" tcpdump -i lo --immediate-mode -U -w "$PCAP" port 53 2>"$T/tcpdump.err"
TCPDUMP=$LAST
wait_for_line "$T/tcpdump.err" 'listening on' || { fail "tcpdump started"; finish; }
start ip netns exec "$NS" /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/dump_dns_responder.py" 127.0.0.1 >"$T/responder.out" 2>&1
wait_for_line "$T/responder.out" '^ready' || { fail "responder started"; finish; }

q() { ip netns exec "$NS" timeout 10 dig @127.0.0.1 +tries=1 +time=2 "$@" >>"$T/dig.out" 2>&1; }
q a.test A
q a.test AAAA +noedns
q a.test MX
q a.test TXT +nocookie
q a.test SOA +dnssec
q www.test A
q -x 192.0.2.1
q nx.test A
q fail.test A
q a.test A +tcp
q www.test A +tcp +noedns
q big.test A +ignore
q big.test A
grep -q 'status: NXDOMAIN' "$T/dig.out" && pass "dig saw NXDOMAIN" || fail "dig saw NXDOMAIN"
grep -q 'flags: qr aa rd; QUERY: 1, ANSWER: 30' "$T/dig.out" && pass "dig got big.test whole over TCP" \
  || fail "dig got big.test whole over TCP"

# A last query marks the end: once its answer is in the file (written packet by packet, -U with
# --immediate-mode), everything before it is too. Then stop tcpdump (SIGINT) and wait by PID.
q end.test A +noedns
for ((i = 0; i < 250; i++)); do
  tcpdump -n -r "$PCAP" 2>/dev/null | grep -q 'NXDomain.* 0/1/0 (' && break
  sleep 0.02
done
kill -INT "$TCPDUMP"
wait_exit "$TCPDUMP" 10 || fail "tcpdump stopped"
# DUMP_DNS_KEEP=FILE keeps the capture (the fuzz seeds dns_live_* come from one: make_dns.py --seeds).
[ -n "${DUMP_DNS_KEEP:-}" ] && cp "$PCAP" "$DUMP_DNS_KEEP"
count=$(tcpdump -n -r "$PCAP" 2>/dev/null | wc -l)
echo "# $count packets captured"
check "the capture holds the whole exchange (>= 50 packets)" [ "$count" -ge 50 ]

compare() {  # compare FLAGS...: tcpdump -n FLAGS vs sockit dump FLAGS on the capture
  local name="tcpdump -n $*" want got
  want=$(TZ=UTC tcpdump -n "$@" -r "$PCAP" 2>/dev/null)
  got=$(TZ=UTC timeout 20 "$SOCKIT" dump --no-hints --no-summary "$@" -r "$PCAP" 2>"$T/sockit.err")
  if [ "$want" = "$got" ]; then
    pass "sockit dump $* = $name ($(echo "$want" | wc -l) lines)"
  else
    fail "sockit dump $* = $name"
    diff <(echo "$want") <(echo "$got") | head -20
  fi
}
compare
compare -q
compare -e
compare -X
if "$SOCKIT" dump --help 2>&1 | grep -qE '^ *-v'; then
  compare -v
  compare -vv
  compare -vvv
else
  echo "# sockit dump has no -v: the -v levels are checked by unit_dump (Tcpdump/DnsVerbose)"
fi

# Differential: 2000 seeded mutations of the DNS messages of this capture and of dns_edge.pcap
# (bytes, compression pointers, label types): every line as tcpdump's, and no crash (ASan).
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
/usr/bin/python3 "$SRC/tests/data/pcap/make_dns.py" --mutate 25 2000 "$T/mutated.pcap" "$PCAP" "$SRC/tests/data/pcap/dns_edge.pcap"
LIVE=$PCAP
PCAP=$T/mutated.pcap
compare
compare -vv
PCAP=$LIVE

plain=$(TZ=UTC "$SOCKIT" dump --no-hints --no-summary -r "$PCAP" 2>/dev/null)
for want in ' A\? a\.test\. ' ' 2/0/1 A 192.0.2.1, A 192.0.2.2 ' ' AAAA 2001:db8::1 ' ' MX mail\.a\.test\. 10 ' \
  ' TXT "hello world" "second" ' ' CNAME a.test., A 192.0.2.1 ' ' PTR a.test. ' ' NXDomain\*- 0/1/' \
  ' ServFail\*- 0/0/' '\*-\| 3/0/' '\[1au\] A\? ' 'length [0-9]+ [0-9]+\+ \[1au\] A\? a.test\. '; do
  if echo "$plain" | grep -qE -- "$want"; then pass "a line shows /$want/"; else fail "a line shows /$want/"; fi
done
[ "$FAILS" = 0 ] || echo "$plain"
finish
