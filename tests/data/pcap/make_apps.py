#!/usr/bin/python3
"""Writes synthetic_apps.pcap: hand-built NTP and DHCP/BOOTP packets (every NTP mode, key id and
digest trailers, odd strata and polls; DHCP Discover/Offer/Request/ACK with the common options,
client FQDN, relay agent information, classless static routes, a plain BOOTP reply with sname and
file, an option running past the end) and HTTP segments (request and status lines, a line with no
end in the segment, binary data on port 80) for sockit dump's application decoders. The expected
output is tcpdump 4.99.3's (`regen-expected.sh`, and -v in synthetic_apps.pcap.v.txt).
Needs Debian's python3-scapy: run with /usr/bin/python3. Usage: make_apps.py OUTDIR"""
import os
import struct
import sys

from scapy.all import BOOTP, DHCP, IP, IPv6, TCP, UDP, Ether, Raw, wrpcap

MAC_C = "02:00:00:00:00:01"
MAC_S = "02:00:00:00:00:02"
T0 = 1700000000


def ntp(li=0, vn=4, mode=3, stratum=0, poll=6, prec=-20, delay=(0, 0), disp=(0, 0), refid=b"\0\0\0\0",
        ref=(0, 0), org=(0, 0), rec=(0, 0), xmt=(0, 0), extra=b""):
    b = struct.pack("!BBbb", (li << 6) | (vn << 3) | mode, stratum, poll, prec)
    b += struct.pack("!HHHH", delay[0], delay[1], disp[0], disp[1]) + refid
    for ts in (ref, org, rec, xmt):
        b += struct.pack("!II", ts[0], ts[1])
    return b + extra


def udp4(sport, dport, payload, src="127.0.0.1", dst="127.0.0.1"):
    return Ether(src=MAC_C, dst=MAC_S) / IP(src=src, dst=dst, id=1, flags="DF") / UDP(sport=sport, dport=dport) / Raw(payload)


def tcp4(sport, dport, payload, seq=1000, flags="PA"):
    return (Ether(src=MAC_C, dst=MAC_S) / IP(src="127.0.0.1", dst="127.0.0.1", id=2, flags="DF") /
            TCP(sport=sport, dport=dport, seq=seq, ack=5000, flags=flags, window=512) / Raw(payload))


def packets():
    now = T0 + 2208988800
    ps = []
    # NTP: client request, server reply, old versions, strata, polls, trailers, control, private, short.
    ps.append(udp4(40000, 123, ntp(mode=3, xmt=(now, 0x80000000))))
    ps.append(udp4(123, 40000, ntp(vn=4, mode=4, stratum=2, poll=6, prec=-23, delay=(0, 0x1234),
                                   disp=(1, 0x8000), refid=bytes([192, 0, 2, 1]), ref=(now - 100, 0x40000000),
                                   org=(now, 0x80000000), rec=(now + 1, 0x10000000), xmt=(now + 1, 0x20000000))))
    ps.append(udp4(123, 123, ntp(li=3, vn=3, mode=1, stratum=1, poll=-6, prec=-6, refid=b"GPS\0",
                                 ref=(now, 1), org=(now + 5, 0), rec=(now, 0xffffffff), xmt=(now, 5))))
    ps.append(udp4(123, 123, ntp(li=1, vn=4, mode=2, stratum=16, poll=40, org=(0, 0), xmt=(now, 0))))
    ps.append(udp4(123, 123, ntp(li=2, vn=2, mode=5, stratum=0, poll=0, refid=b"INIT")))
    ps.append(udp4(40001, 123, ntp(mode=3, extra=struct.pack("!I", 7))))
    ps.append(udp4(40001, 123, ntp(mode=3, extra=struct.pack("!I", 7) + bytes(range(16)))))
    ps.append(udp4(40001, 123, ntp(mode=3, extra=struct.pack("!I", 8) + bytes(range(20)))))
    ps.append(udp4(40001, 123, ntp(mode=3, extra=bytes(12))))
    ps.append(udp4(40001, 123, ntp(vn=1, mode=0, stratum=62, refid=bytes([10, 0, 0, 1]))))
    ps.append(udp4(40001, 123, ntp(vn=7, mode=3, stratum=63, refid=bytes([10, 0, 0, 2]))))
    ps.append(udp4(40002, 123, struct.pack("!BBHHHHH", 0x26, 0x02, 1, 0, 0, 0, 0)))
    ps.append(udp4(123, 40002, struct.pack("!BBHHHHH", 0x26, 0xc2, 1, 0x0615, 3, 0, 8) + b"abc=1,de"))
    ps.append(udp4(123, 40002, struct.pack("!BBHHHHH", 0x26, 0x82, 1, 0, 0, 0, 40) + b"x"))
    ps.append(udp4(40003, 123, bytes([0x17, 0x00, 0x03, 0x2a]) + bytes(4)))
    ps.append(udp4(40003, 123, ntp(mode=4)[:20]))
    ps.append(udp4(40003, 123, b"\x23"))
    ps.append(Ether(src=MAC_C, dst=MAC_S) / IPv6(src="::1", dst="::1") / UDP(sport=40004, dport=123) / Raw(ntp(mode=3, xmt=(now, 0))))
    # DHCP: the four steps of a lease, then odd ones.
    bc = dict(src="0.0.0.0", dst="255.255.255.255")
    chaddr = bytes.fromhex("020000000001")

    def dhcp(op, opts, xid=0x3903f326, ciaddr="0.0.0.0", yiaddr="0.0.0.0", siaddr="0.0.0.0", giaddr="0.0.0.0",
             sport=68, dport=67, flags=0, secs=0, src="0.0.0.0", dst="255.255.255.255", hops=0, htype=1, hlen=6,
             sname=b"", file=b"", raw_opts=None):
        return (Ether(src=MAC_C, dst="ff:ff:ff:ff:ff:ff") / IP(src=src, dst=dst, id=3) / UDP(sport=sport, dport=dport) /
                BOOTP(op=op, htype=htype, hlen=hlen, hops=hops, xid=xid, secs=secs, flags=flags, ciaddr=ciaddr,
                      yiaddr=yiaddr, siaddr=siaddr, giaddr=giaddr, chaddr=chaddr, sname=sname, file=file,
                      **({} if raw_opts is None else {"options": b"c\x82Sc" + raw_opts})) /
                (DHCP(options=opts) if raw_opts is None else Raw(b"")))

    ps.append(dhcp(1, [("message-type", "discover"), ("client_id", b"\x01" + chaddr), ("requested_addr", "192.0.2.10"),
                       ("hostname", b"alice"), ("param_req_list", [1, 3, 6, 15, 28, 42, 51, 58, 59, 119, 121, 252]),
                       ("max_dhcp_size", 1500), ("vendor_class_id", b"sockit 1.0"), "end", "pad", "pad"], secs=3))
    ps.append(dhcp(2, [("message-type", "offer"), ("server_id", "192.0.2.1"), ("lease_time", 3600),
                       ("renewal_time", 1800), ("rebinding_time", 3150), ("subnet_mask", "255.255.255.0"),
                       ("router", "192.0.2.1"), ("name_server", "192.0.2.53", "192.0.2.54"),
                       ("domain", b"example.org"), ("broadcast_address", "192.0.2.255"), ("NTP_server", "192.0.2.123"),
                       "end"], yiaddr="192.0.2.10", siaddr="192.0.2.1", sport=67, dport=68, src="192.0.2.1",
                   dst="192.0.2.10", flags=0x8000))
    ps.append(dhcp(1, [("message-type", "request"), ("server_id", "192.0.2.1"), ("requested_addr", "192.0.2.10"),
                       ("client_FQDN", b"\x01\x00\x00alice.example.org"), ("user_class", b"\x04abcd\x02xy"),
                       ("param_req_list", [1, 3, 6, 200]), "end"]))
    ack = (b"\x35\x01\x05\x36\x04\xc0\x00\x02\x01\x33\x04\x00\x00\x0e\x10"
           b"\x79\x0d\x18\xc6\x33\x64\xc0\x00\x02\x01\x00\xc0\x00\x02\x01"  # classless routes
           b"\x52\x0f\x01\x04eth0\x02\x03abc\x09\x02\x01\x02"  # relay agent information
           b"\x2e\x01\x08\x02\x04\x00\x00\x0e\x10\xc8\x03\x01\x02\x03\xc9\x02\x01\x02"
           b"\xca\x04\x01\x02\x03\x04\x13\x01\x01\x1f\x02\x00\x07\x34\x01\x03\x21\x08\x0a\x00\x00\x01\x0a\x00\x00\x02"
           b"\x79\x02\x21\x01\x7f\x04\x00\xca\x00\xcb\xff")
    ps.append(dhcp(2, [], raw_opts=ack, yiaddr="192.0.2.10", sport=67, dport=68,
                   src="192.0.2.1", dst="192.0.2.10", hops=1, giaddr="192.0.2.254", ciaddr="192.0.2.9"))
    ps.append(dhcp(1, [("message-type", "release"), ("server_id", "192.0.2.1"), "end"], ciaddr="192.0.2.10",
                   src="192.0.2.10", dst="192.0.2.1", htype=6, hlen=6, xid=0))
    ps.append(dhcp(1, [("message-type", 9), ("client_id", b"\x00host-1"), ("hostname", b"x" * 4), "end"], htype=1, hlen=8))
    # A plain BOOTP reply (no magic cookie) with sname and file, and vendor data.
    boot = (Ether(src=MAC_S, dst=MAC_C) / IP(src="192.0.2.1", dst="192.0.2.10", id=4) / UDP(sport=67, dport=68) /
            BOOTP(op=2, xid=0x1234, yiaddr="192.0.2.10", siaddr="192.0.2.1", chaddr=chaddr, sname=b"bootserver",
                  file=b"/pxelinux.0", options=b"\x01\x02\x03\x04" + bytes(60)))
    ps.append(boot)
    ps.append(Ether(src=MAC_S, dst=MAC_C) / IP(src="192.0.2.1", dst="192.0.2.10", id=5) / UDP(sport=67, dport=68) /
              BOOTP(op=3, xid=0, chaddr=chaddr, options=b"CMU\0" + bytes(60)))
    # An option whose length runs past the end of the packet, and a packet cut in its fixed part.
    ps.append(dhcp(1, [], raw_opts=b"\x35\x01\x01\x0c\x40abc"))
    ps.append(dhcp(1, [], raw_opts=b"\x35\x01\x01\x0c"))
    ps.append(udp4(68, 67, bytes([1, 1, 6, 0]) + bytes(20)))
    # HTTP on 80 and 8080: request and status lines, headers, a line cut by the segment end,
    # a body continuation, binary data, a lowercase method, LF-only lines.
    req = b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"
    ps.append(tcp4(40100, 80, req))
    ps.append(tcp4(80, 40100, b"HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6\r\nContent-Length: 5\r\n\r\nhello"))
    ps.append(tcp4(40101, 8080, b"POST /api HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Len"))
    ps.append(tcp4(8080, 40101, b"continuation of a body\r\nmore\r\n"))
    ps.append(tcp4(40102, 80, b"\x16\x03\x01\x00\x05hello"))
    ps.append(tcp4(40103, 80, b"get / HTTP/1.0\nHost: a\tb\n\n"))
    ps.append(tcp4(80, 40103, b"HTTP/1.1 404 Not Found\r\nX: \x01\x02\r\n\r\n"))
    ps.append(tcp4(40104, 80, b"OPTIONS * HTTP/1.1\rX\r\n"))
    ps.append(tcp4(40105, 8080, b"HEAD / HTTP/1.1\r"))
    ps.append(tcp4(40106, 80, b"X" * 200 + b" 200\r\n"))
    ps.append(tcp4(40107, 80, b"HTTP/1.1  301   Moved\r\n"))
    ps.append(Ether(src=MAC_C, dst=MAC_S) / IPv6(src="::1", dst="::1") / TCP(sport=40108, dport=8080, flags="PA", seq=1, ack=1) /
              Raw(b"DELETE /x HTTP/1.1\r\n\r\n"))
    for i, p in enumerate(ps):
        p.time = T0 + i
    return ps


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    wrpcap(os.path.join(out, "synthetic_apps.pcap"), packets())


if __name__ == "__main__":
    main()
