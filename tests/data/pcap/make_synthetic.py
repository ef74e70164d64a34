#!/usr/bin/env python3
"""Writes synthetic.*.pcap: hand-built frames (every link type sockit dump decodes, odd TCP
options, IPv6 extension headers, ARP, VLAN, truncated and malformed packets). The expected
output of each file is `tcpdump -n -r FILE` (tcpdump 4.99.3), stored as FILE.txt by
regen-expected.sh. Usage: make_synthetic.py OUTDIR"""
import struct, sys, os

def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

def ip4(src, dst, proto, payload, ident=1, frag=0x4000, hl_words=5, total=None, opts=b''):
    tl = total if total is not None else 20 + len(opts) + len(payload)
    h = struct.pack('!BBHHHBBH4s4s', 0x40 | (hl_words), 0, tl, ident, frag, 64, proto, 0,
                    bytes(map(int, src.split('.'))), bytes(map(int, dst.split('.'))))
    h = h + opts
    return h[:10] + struct.pack('!H', csum(h)) + h[12:] + payload

def a6(s):
    import ipaddress
    return ipaddress.IPv6Address(s).packed

def ip6(src, dst, nh, payload, plen=None):
    return struct.pack('!IHBB16s16s', 0x60000000, len(payload) if plen is None else plen, nh, 64, a6(src), a6(dst)) + payload

def tcp(sport, dport, seq, ack, flags, win=512, opts=b'', data=b'', off=None):
    while len(opts) % 4: opts += b'\x01'
    o = off if off is not None else (20 + len(opts)) // 4
    return struct.pack('!HHIIBBHHH', sport, dport, seq, ack, o << 4, flags, win, 0, 0) + opts + data

def udp(sport, dport, data, ulen=None):
    return struct.pack('!HHHH', sport, dport, 8 + len(data) if ulen is None else ulen, 0) + data

def icmp(t, c, rest, data=b''):
    return struct.pack('!BBH', t, c, 0) + rest + data

MAC_A = bytes.fromhex('020000000001'); MAC_B = bytes.fromhex('020000000002')

def eth(payload, etype=0x0800, dst=MAC_B, src=MAC_A):
    return dst + src + struct.pack('!H', etype) + payload

def write(path, linktype, frames, snaplen=262144):
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, snaplen, linktype))
        t = 1700000000
        for i, fr in enumerate(frames):
            if isinstance(fr, tuple): data, wire = fr
            else: data, wire = fr, len(fr)
            f.write(struct.pack('<IIII', t, 1000 * i, len(data), wire))
            f.write(data)

C, S = '10.0.0.1', '10.0.0.2'
MSS = b'\x02\x04\x05\xb4'; SACKOK = b'\x04\x02'; TS = b'\x08\x0a' + struct.pack('!II', 100, 0); WS = b'\x01\x03\x03\x07'

def tcp_session():
    f = []
    f.append(ip4(C, S, 6, tcp(40000, 7007, 1000, 0, 0x02, 64240, MSS + SACKOK + TS + WS)))
    f.append(ip4(S, C, 6, tcp(7007, 40000, 5000, 1001, 0x12, 65160, MSS + SACKOK + TS + WS)))
    f.append(ip4(C, S, 6, tcp(40000, 7007, 1001, 5001, 0x10, 502)))
    f.append(ip4(C, S, 6, tcp(40000, 7007, 1001, 5001, 0x18, 502, data=b'hello\n')))
    # out of order: second segment first, then the first, then a retransmission
    f.append(ip4(S, C, 6, tcp(7007, 40000, 5004, 1007, 0x18, 509, data=b'lo\n')))
    f.append(ip4(S, C, 6, tcp(7007, 40000, 5001, 1007, 0x18, 509, data=b'hel')))
    f.append(ip4(S, C, 6, tcp(7007, 40000, 5001, 1007, 0x18, 509, data=b'hel')))
    # SACK block, urgent pointer, unknown option, ECE/CWR flags
    sack = b'\x05\x0a' + struct.pack('!II', 5004, 5007)
    f.append(ip4(C, S, 6, tcp(40000, 7007, 1007, 5001, 0x10, 502, b'\x01\x01' + sack)))
    f.append(ip4(C, S, 6, tcp(40000, 7007, 1007, 5007, 0xf0 | 0x08, 502, b'\xfd\x04\xab\xcd', data=b'!')))
    f.append(ip4(C, S, 6, tcp(40000, 7007, 1008, 5007, 0x11, 502)))
    f.append(ip4(S, C, 6, tcp(7007, 40000, 5007, 1009, 0x04, 0)))
    return f

def main(out):
    os.makedirs(out, exist_ok=True)
    sess = tcp_session()
    write(f'{out}/synthetic_ether.pcap', 1, [eth(p) for p in sess] + [
        eth(struct.pack('!HHBBH', 1, 0x0800, 6, 4, 1) + MAC_A + bytes([10, 0, 0, 1]) + bytes(6) + bytes([10, 0, 0, 2]), 0x0806, dst=b'\xff' * 6),
        eth(struct.pack('!HHBBH', 1, 0x0800, 6, 4, 2) + MAC_B + bytes([10, 0, 0, 2]) + MAC_A + bytes([10, 0, 0, 1]), 0x0806),
        eth(struct.pack('!HH', 10, 0x0800) + ip4(C, S, 17, udp(5000, 6000, b'vlan')), 0x8100),
        eth(ip4(C, S, 1, icmp(8, 0, struct.pack('!HH', 77, 1), b'x' * 56))),
        eth(ip4(S, C, 1, icmp(0, 0, struct.pack('!HH', 77, 1), b'x' * 56))),
        eth(ip4(S, C, 1, icmp(11, 0, b'\0' * 4, ip4(C, '8.8.8.8', 17, udp(1, 33434, b''))))),
        eth(ip4(C, S, 99, b'abcd')),
        eth(ip4(C, S, 17, udp(5000, 6000, b'x' * 100), frag=0x2000)),
        eth(ip4(C, S, 17, b'y' * 40, frag=0x0010)),
        eth(b'\x12\x34', 0x88b5),
    ])
    bad = []
    syn = eth(sess[0])
    bad.append((syn[:14 + 20 + 10], len(syn)))   # snaplen cut inside the TCP header
    bad.append((syn[:14 + 20 + 2], len(syn)))    # cut before the ports are complete
    bad.append((syn[:14 + 10], len(syn)))        # cut inside the IP header
    bad.append((syn[:10], len(syn)))             # cut inside the Ethernet header
    bad.append(eth(ip4(C, S, 6, tcp(1, 2, 3, 4, 0x02), total=200)))       # IP length beyond the frame
    bad.append(eth(ip4(C, S, 6, tcp(1, 2, 3, 4, 0x02), hl_words=3)))      # IP header length < 20
    bad.append(eth(ip4(C, S, 6, tcp(1, 2, 3, 4, 0x02, off=3))))           # TCP header length < 20
    bad.append(eth(ip4(C, S, 6, tcp(1, 2, 3, 4, 0x02, off=15))))          # TCP header longer than the packet
    bad.append(eth(ip4(C, S, 6, tcp(1, 2, 3, 4, 0x02, opts=b'\x02\x09\x05\xb4'))))  # option length too long
    bad.append(eth(ip4(C, S, 6, tcp(1, 2, 3, 4, 0x02, opts=b'\x02\x01\x00\x00'))))  # option length < 2
    bad.append(eth(ip4(C, S, 17, udp(1, 2, b'abc', ulen=40))))            # UDP length too long
    bad.append(eth(ip4(C, S, 17, udp(1, 2, b'abc', ulen=4))))             # UDP length < 8
    bad.append(eth(ip4(C, S, 17, b'\x00\x01')))                           # UDP shorter than its header
    bad.append(eth(b'\x65' + b'\0' * 30))                                 # IP version 6 in an IPv4 frame
    bad.append((eth(ip4(C, S, 1, icmp(3, 3, b'\0' * 4, b'\x45')))))       # ICMP unreachable, short inner
    write(f'{out}/synthetic_bad.pcap', 1, bad)

    six = [
        ip6('2001:db8::1', '2001:db8::2', 6, tcp(40000, 80, 1, 0, 0x02, 64800, MSS)),
        ip6('2001:db8::1', '2001:db8::2', 0, b'\x3a\x00\x05\x02\x00\x00\x01\x00' + icmp(128, 0, struct.pack('!HH', 9, 2), b'ping')),
        ip6('2001:db8::1', '2001:db8::2', 60, b'\x11\x00' + b'\x01\x04\x00\x00\x00\x00' + udp(1234, 5678, b'dst')),
        ip6('2001:db8::1', '2001:db8::2', 44, b'\x11\x00\x00\x01\x00\x00\x00\x2a' + udp(1234, 5678, b'frag0')),
        ip6('2001:db8::1', '2001:db8::2', 44, b'\x11\x00\x00\x10\x00\x00\x00\x2a' + b'rest'),
        ip6('fe80::1', 'ff02::1:ff00:2', 58, icmp(135, 0, b'\0' * 4, a6('fe80::2'))),
        ip6('fe80::2', 'fe80::1', 58, icmp(136, 0, b'\x60\0\0\0', a6('fe80::2'))),
        ip6('2001:db8::2', '2001:db8::1', 58, icmp(2, 0, struct.pack('!I', 1280), b'\0' * 40)),
        ip4(C, S, 17, udp(5300, 6000, b'raw')),
    ]
    write(f'{out}/synthetic_raw.pcap', 101, six)
    write(f'{out}/synthetic_null.pcap', 0, [struct.pack('<I', 2) + ip4(C, S, 17, udp(1, 2, b'n')),
                                            struct.pack('<I', 24) + ip6('::1', '::1', 17, udp(1, 2, b'six')),
                                            struct.pack('<I', 99) + b'zz'])
    sll = lambda p, pt=0, et=0x0800: struct.pack('!HHH8sH', pt, 772, 6, bytes(8), et) + p
    write(f'{out}/synthetic_sll.pcap', 113, [sll(p, i % 5) for i, p in enumerate(sess[:4])] + [sll(six[1][:], 4, 0x86dd)])

if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else '.')
