#!/usr/bin/env python3
"""Writes the fixtures of `sockit dump`'s tcpdump flags (issue #25): synthetic_tcpopts.pcap (TCP
options tcpdump 4.99.3 names: MPTCP subtypes, TCP-AO, MD5, UTO, TFO, SCPS, echo/cc, AccECN 172/174
and other unknown kinds; then -v material: UDP checksums good/bad/absent, IP options RA/NOP/RR,
RST segments with text, a bad IP header checksum with ECN CE, the reserved IP flag, an IPv6
traffic class and flow label, neighbor discovery with options) and synthetic_linktype147.pcap (DLT_USER0, which tcpdump prints as
UNSUPPORTED plus hex). The expected output is tcpdump's own, compared live by
tests/integration/dump/flags_test.cpp. Reuses make_synthetic.py's builders.
Usage: make_flags.py OUTDIR [FUZZ_CORPUS_DIR]"""
import os, struct, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_synthetic import C, MAC_A, MAC_B, S, a6, csum, eth, icmp, ip4, ip6, tcp, udp, write

def seg(opts, flags=0x10):
    return eth(ip4(C, S, 6, tcp(40000, 33000, 1000, 2000, flags, 502, opts)))

def mptcp(sub_etc, rest, flags=0x10):
    return seg(bytes([30, 3 + len(rest), sub_etc]) + rest, flags)

def tcp_options():
    h = bytes.fromhex
    return [
        seg(b'\xac\x0b' + h('000001000002000003')),   # AccECN order 0 (172): unknown-172 in 4.99.3
        seg(b'\xae\x0b' + h('000001000002000003')),   # AccECN order 1 (174)
        seg(b'\xac\x02'),
        seg(b'\x13\x12' + bytes(range(16))),          # MD5 signature (19)
        seg(b'\x1d\x08' + h('0102aabbccdd')),         # TCP-AO (29): keyid, rnextkeyid, MAC
        seg(b'\x1d\x04\x01\x02'), seg(b'\x1d\x03\x01'),
        mptcp(0x00, h('81') + h('1122334455667788'), 0x02),   # MP_CAPABLE v0 SYN, key
        mptcp(0x01, h('81'), 0x02),                           # MP_CAPABLE v1 SYN, no key
        mptcp(0x01, h('01') + bytes(16)),                     # MP_CAPABLE ACK, both keys
        mptcp(0x02, h('81'), 0x02),                           # unknown version
        mptcp(0x10, h('01aabbccdd01020304'), 0x02),           # MP_JOIN SYN
        mptcp(0x11, h('01') + bytes(12), 0x12),               # MP_JOIN SYN/ACK, backup
        mptcp(0x10, h('00') + bytes(20)),                     # MP_JOIN ACK
        mptcp(0x20, h('0100000064')),                         # DSS, 4-byte data ack
        mptcp(0x20, h('1f') + h('0000000000000009') + h('00000001000000020003')),  # [bad opt]
        mptcp(0x20, h('00')), mptcp(0x20, h('000000')),
        mptcp(0x20, h('05') + h('00000064') + h('00000001') + h('00000002') + h('0010') + h('abcd')),
        mptcp(0x30, h('01') + bytes([10, 0, 0, 9])),          # ADD_ADDR v1 IPv4
        mptcp(0x34, h('04') + bytes([10, 0, 0, 9]) + bytes(8)),
        mptcp(0x36, h('06') + bytes(16) + b'\x00\x50'),       # IPv6 with port
        mptcp(0x40, h('0102')),                               # REMOVE_ADDR
        mptcp(0x51, b''), mptcp(0x50, h('01')),               # MP_PRIO
        mptcp(0x60, h('00') + h('0000000000000064')),         # MP_FAIL
        mptcp(0x70, h('00') + h('1122334455667788')),         # MP_FASTCLOSE
        mptcp(0x80, h('01')), mptcp(0xf0, h('00')),           # MP_TCPRST, unknown: "unknown"
        seg(b'\x06\x06\0\0\0\x05'), seg(b'\x07\x06\0\0\0\x05'), seg(b'\x0b\x06\0\0\0\x05'),
        seg(b'\x0c\x06\0\0\0\x05'), seg(b'\x0d\x06\0\0\0\x05'),
        seg(b'\x14\x04\x01\x02'), seg(b'\x15\x04\x01\x02'), seg(b'\x1b\x08' + h('010203040506')),
        seg(b'\x1c\x04\x80\x0a'),                     # UTO
        seg(b'\x22\x02'), seg(b'\x22\x0a' + bytes(8)),  # TFO request, cookie
        seg(b'\xfe\x04\x12\x34'), seg(b'\xfe\x06\xf9\x89\x01\x02'), seg(b'\xfe\x08\xf9\x89\x01\x02\x03\x04'),
        seg(b'\x63\x04\xab\xcd'),
    ]

def udp_ok(sport, dport, data):
    u = struct.pack('!HHHH', sport, dport, 8 + len(data), 0) + data
    pseudo = bytes(map(int, C.split('.'))) + bytes(map(int, S.split('.'))) + struct.pack('!BBH', 0, 17, len(u))
    return u[:6] + struct.pack('!H', csum(pseudo + u)) + u[8:]

def verbose_material():
    bad_ip = ip4(C, S, 6, tcp(33000, 40000, 5, 6, 0x10, 0))
    return [
        eth(ip4(C, S, 17, udp_ok(1000, 2000, b'okay'))),
        eth(ip4(C, S, 17, udp(1000, 2000, b'zero'))),
        eth(ip4(C, S, 17, udp_ok(1000, 2000, b'okay')[:6] + b'\x12\x34' + b'okay')),
        eth(ip4(C, S, 17, udp(1, 2, b'abc', ulen=40)[:6] + b'\x11\x11' + b'abc')),
        eth(ip4(C, S, 17, udp(1, 2, b'opt'), hl_words=6, opts=b'\x94\x04\x00\x00')),
        eth(ip4(C, S, 17, udp(1, 2, b'opt'), hl_words=6, opts=b'\x94\x04\x00\x07')),
        eth(ip4(C, S, 17, udp(1, 2, b'opt'), hl_words=6, opts=b'\x01\x01\x01\x00')),
        eth(ip4(C, S, 17, udp(1, 2, b'opt'), hl_words=8, opts=b'\x07\x0b\x04' + bytes([10, 0, 0, 1, 10, 0, 0, 2]) + b'\x00')),
        eth(ip4(C, S, 6, tcp(33000, 40000, 5, 6, 0x14, 0, data=b'reset reason\x01\xff'))),
        eth(ip4(C, S, 6, tcp(33000, 40000, 5, 6, 0x04, 0, data=b'x' * 40))),
        eth(bad_ip[:1] + b'\x03' + bad_ip[2:]),
        eth(ip4(C, S, 6, tcp(33000, 40000, 5, 6, 0x10, 0), frag=0x8000)),
        eth(struct.pack('!IHBB16s16s', 0x6ab12345, 8, 17, 3, a6('::1'), a6('::2')) + udp(5, 6, b''), 0x86dd),
    ] + [eth(p, 0x86dd) for p in neighbor_discovery()]

def nd_opt(kind, body):
    return bytes([kind, (len(body) + 2) // 8]) + body

def neighbor_discovery():
    """ICMPv6 RS/RA/NS/NA with the options -v prints (link-layer addresses, MTU, prefix, RDNSS)
    and one it dumps in hex (kind 99), an option cut by the end of the packet."""
    ll = lambda kind, mac: nd_opt(kind, mac)
    mtu = nd_opt(5, b'\0\0' + struct.pack('!I', 1500))
    prefix = nd_opt(3, struct.pack('!BBIII', 64, 0xc0, 0xffffffff, 3600, 0) + a6('2001:db8::'))
    rdnss = nd_opt(25, b'\0\0' + struct.pack('!I', 600) + a6('2001:db8::53'))
    unknown = nd_opt(99, b'\0\0' + struct.pack('!I', 600) + b'\x03abc\0\0\0\0')
    ra = lambda opts, flags: icmp(134, 0, struct.pack('!BBH', 64, flags, 1800), struct.pack('!II', 30000, 1000) + opts)
    return [
        ip6('fe80::1', 'ff02::1', 58, ra(ll(1, MAC_A) + mtu + prefix + rdnss, 0xc8)),
        ip6('fe80::1', 'ff02::1', 58, ra(unknown + mtu, 0x18)),
        ip6('fe80::2', 'ff02::2', 58, icmp(133, 0, bytes(4), ll(1, MAC_B))),
        ip6('fe80::1', 'fe80::2', 58, icmp(135, 0, bytes(4), a6('fe80::2') + ll(1, MAC_A) + b'\x01')),
        ip6('fe80::2', 'fe80::1', 58, icmp(136, 0, b'\xe0\0\0\0', a6('fe80::2') + ll(2, MAC_B))),
        ip6('fe80::2', 'fe80::1', 58, icmp(136, 0, bytes(4), a6('fe80::2') + b'\x02\x00' + MAC_B)),
    ]

def main(out, corpus=None):
    frames = tcp_options() + verbose_material()
    write(f'{out}/synthetic_tcpopts.pcap', 1, frames)
    write(f'{out}/synthetic_linktype147.pcap', 147, [b'hello world, link 147 frame', b'\x45\x00'])
    if corpus:  # fuzz seeds: byte 0 = Ethernet + 10 * (-v count << 1) (-v or -vvv), options 0
        for i, fr in enumerate(frames):
            with open(os.path.join(corpus, 'flags_%02d' % i), 'wb') as f:
                f.write(bytes([20 if i % 2 else 60, 0]) + fr)

if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else '.', sys.argv[2] if len(sys.argv) > 2 else None)
