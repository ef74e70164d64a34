#!/bin/sh
# Regenerates the expected decoder output of every fixture with tcpdump 4.99.3 (TZ=UTC):
#   FILE.txt (tcpdump -n -r FILE), FILE.e.txt (-e), FILE.X.txt (-X), FILE.q.txt (-q).
# The fixtures themselves: loopback_echo.pcap and any_irc.pcap were captured on lo / any with
# tcpdump -w during socat echo exchanges; synthetic_*.pcap come from make_synthetic.py.
set -e
cd "$(dirname "$0")"
for f in *.pcap; do
  TZ=UTC tcpdump -n -r "$f" 2>/dev/null > "$f.txt"
  TZ=UTC tcpdump -n -e -r "$f" 2>/dev/null > "$f.e.txt"
  TZ=UTC tcpdump -n -X -r "$f" 2>/dev/null > "$f.X.txt"
  TZ=UTC tcpdump -n -q -r "$f" 2>/dev/null > "$f.q.txt"
done
