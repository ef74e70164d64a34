#!/usr/bin/env python3
"""Writes dns_edge.pcap: hand-built DNS messages over UDP (port 53, mDNS 5353, IPv4 and IPv6) and
TCP (length prefix right and wrong) for the edge cases of sockit dump's DNS printer: every
opcode, rcode (also extended by EDNS), flag, record and EDNS option type tcpdump 4.99.3 prints,
compression pointers (backward chains, forward, self, cycles, past the end), bad label types,
labels over 63 bytes, names over 255 characters, short headers, counts larger than the message,
and one rich answer cut by the snapshot length at every byte. The expected output is
`tcpdump -n [-v|-vv|-vvv] -r dns_edge.pcap` (regen-expected.sh). Usage: make_dns.py OUTDIR;
make_dns.py --seeds PCAP PREFIX CORPUSDIR [EVERY] writes fuzz seeds from a capture (see seeds());
make_dns.py --mutate SEED COUNT OUT PCAP... writes mutated DNS frames (see mutate())."""
import os, struct, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_synthetic import eth, ip4, ip6, tcp, udp, write  # noqa: E402

C, S = '10.0.0.1', '10.0.0.2'
C6, S6 = 'fd00::1', 'fd00::2'


def name(s):
    if s in ('', '.'):
        return b'\0'
    out = b''
    for label in s.rstrip('.').split('.'):
        b = label.encode('latin-1')
        out += bytes([len(b)]) + b
    return out + b'\0'


def ptr(off):
    return struct.pack('!H', 0xc000 | off)


def hdr(ident, flags, qd=1, an=0, ns=0, ar=0):
    return struct.pack('!HHHHHH', ident, flags, qd, an, ns, ar)


def q(n, t=1, c=1):
    return (name(n) if isinstance(n, str) else n) + struct.pack('!HH', t, c)


def rr(n, t, rdata, c=1, ttl=3600):
    return (name(n) if isinstance(n, str) else n) + struct.pack('!HHIH', t, c, ttl, len(rdata)) + rdata


def opt(options=b'', size=1232, ext_rcode=0, version=0, do=False):
    return b'\0' + struct.pack('!HHBBHH', 41, size, ext_rcode, version, 0x8000 if do else 0, len(options)) + options


def eopt(code, data):
    return struct.pack('!HH', code, len(data)) + data


QNAME = 12  # offset of the first question's name in a message


def query(n='example.com', t=1, c=1, ident=12345, flags=0x0100, ar=b'', arcount=0):
    return hdr(ident, flags, 1, 0, 0, arcount) + q(n, t, c) + ar


def answer(records, n='example.com', t=1, ident=12345, flags=0x8180, ns=b'', nscount=0, ar=b'', arcount=0):
    return hdr(ident, flags, 1, len(records), nscount, arcount) + q(n, t) + b''.join(records) + ns + ar


def udp4(msg, sport=40000, dport=53, src=C, dst=S, ulen=None):
    return eth(ip4(src, dst, 17, udp(sport, dport, msg, ulen)))


def udp6(msg, sport=40000, dport=53):
    return eth(ip6(C6, S6, 17, udp(sport, dport, msg)), 0x86dd)


def tcp4(data, sport=40000, dport=53, seq=1000):
    return eth(ip4(C, S, 6, tcp(sport, dport, seq, 2000, 0x18, 512, data=data)))


def messages():
    m = []
    # -- queries: plain, no RD, EDNS, every opcode, odd flags and counts
    m.append(query())
    m.append(query(flags=0))
    m.append(query(ar=opt(eopt(10, bytes(range(8)))), arcount=1))
    m.append(query(ar=opt(do=True), arcount=1, flags=0x0120))  # AD set (dig's default)
    m.append(query(flags=0x0110))  # CD
    for op in range(16):
        m.append(query(flags=op << 11 | 0x0100))
    m.append(query(flags=0x07cf))  # AA TC RA Z rcode in a query: [b2&3=...]
    m.append(hdr(7, 0x0100, 0))  # no question
    m.append(hdr(8, 0x0100, 2) + q('a.example') + q('b.example', 28))
    m.append(hdr(9, 0x0800, 1, 1) + q('a.example') + rr(ptr(QNAME), 1, bytes([1, 2, 3, 4])))  # IQUERY
    m.append(hdr(10, 0x0100, 1, 2, 1, 0) + q('a.example'))  # counts larger than the message
    m.append(query('.'))
    m.append(query('a.b.c.d.e.f.example.org', 255))
    # -- every query type tcpdump names, a few it does not, and the classes
    for t in list(range(0, 60)) + list(range(95, 110)) + list(range(245, 262)) + [32768, 65535]:
        m.append(query('t.example', t, ident=t))
    for c in (1, 2, 3, 4, 254, 255, 0x8001):
        m.append(query('c.example', 16, c, ident=c))
    # -- answers: every rcode and opcode, flags
    for rc in range(16):
        m.append(answer([], flags=0x8180 | rc, ident=rc))
    for op in range(16):
        m.append(answer([], flags=0x8180 | op << 11, ident=op))
    m.append(answer([], flags=0x8580))   # AA
    m.append(answer([], flags=0x8300))   # TC, no RA
    m.append(answer([], flags=0x81a0))   # AD
    m.append(answer([], flags=0x8190))   # CD
    for ext in (1, 2, 0xff):             # extended rcodes via OPT: BadVers, Resp35, Resp4083
        m.append(answer([], ar=opt(ext_rcode=ext), arcount=1, flags=0x8180 | (ext & 0xf)))
    # -- record types
    a = rr(ptr(QNAME), 1, bytes([93, 184, 216, 34]))
    m.append(answer([a]))
    m.append(answer([a, rr(ptr(QNAME), 1, bytes([10, 0, 0, 7]))], ident=2))
    m.append(answer([rr(ptr(QNAME), 28, bytes.fromhex('20010db8000000000000000000000001'))], t=28))
    m.append(answer([rr(ptr(QNAME), 5, name('www.example.net')), rr('www.example.net', 1, bytes([1, 1, 1, 1]))]))
    m.append(answer([rr(ptr(QNAME), 2, b'\x02ns' + ptr(QNAME))], t=2))
    m.append(answer([rr(ptr(QNAME), 12, name('host.example'))], t=12))
    m.append(answer([rr(ptr(QNAME), 39, name('other.example'))], t=39))
    m.append(answer([rr(ptr(QNAME), 15, struct.pack('!H', 10) + b'\x04mail' + ptr(QNAME)),
                     rr(ptr(QNAME), 15, struct.pack('!H', 20) + name('mx2.example.org'))], t=15))
    m.append(answer([rr(ptr(QNAME), 16, b'\x05hello\x0bworld\x00\x01\x7f\x80\xff"'), rr(ptr(QNAME), 16, b'')], t=16))
    soa = name('ns1.example.com') + b'\x0ahostmaster' + ptr(QNAME) + struct.pack('!IIIII', 2024010101, 7200, 3600, 1209600, 300)
    m.append(answer([], flags=0x8183, ns=rr(ptr(QNAME), 6, soa, ttl=300), nscount=1))
    m.append(answer([rr(ptr(QNAME), 6, soa)], t=6))
    m.append(answer([rr(ptr(QNAME), 33, struct.pack('!HHH', 10, 60, 5060) + name('sip.example'))], t=33))
    m.append(answer([rr(ptr(QNAME), 38, bytes([64]) + bytes(8) + name('a6.example')),
                     rr(ptr(QNAME), 38, bytes([0]) + bytes.fromhex('20010db8000000000000000000000002')),
                     rr(ptr(QNAME), 38, bytes([200]))], t=38))
    m.append(answer([rr(ptr(QNAME), 256, struct.pack('!HH', 1, 2) + b'https://example.com/'),
                     rr(ptr(QNAME), 256, b'\x00')], t=256))
    m.append(answer([rr(ptr(QNAME), 104, b'unspec ascii\x01')], t=104))
    m.append(answer([rr(ptr(QNAME), 13, b'\x03CPU\x02OS')], t=13))  # HINFO: type only
    tsig = name('hmac-sha256') + bytes(6) + struct.pack('!HH', 300, 4) + b'\xaa\xbb\xcc\xdd' + struct.pack('!HHH', 12345, 0, 0)
    m.append(answer([a], ar=rr('key.example', 250, tsig, c=255, ttl=0), arcount=1))
    m.append(answer([a], ident=3, ns=rr(ptr(QNAME), 2, name('ns1.example.com')), nscount=1,
                    ar=rr('ns1.example.com', 1, bytes([192, 0, 2, 53])) + opt(), arcount=2))
    m.append(answer([rr(ptr(QNAME), 1, bytes([1, 2, 3, 4]), c=3, ttl=0), rr(ptr(QNAME), 1, bytes([1, 2, 3, 4]), c=9, ttl=90061)]))
    m.append(answer([rr(ptr(QNAME), 1, bytes([1, 2, 3]))]))   # short A rdata
    m.append(answer([rr(ptr(QNAME), 28, bytes(8))], t=28))    # short AAAA rdata
    # -- EDNS options (printed with -vv in the additional section)
    options = [eopt(3, b'ns1'), eopt(5, bytes([8, 13, 15, 99])), eopt(6, bytes([1, 2, 9])), eopt(7, bytes([1, 2])),
               eopt(8, struct.pack('!HBB', 1, 24, 0) + bytes([192, 0, 2])),
               eopt(8, struct.pack('!HBB', 2, 56, 0) + bytes.fromhex('20010db8000000')),
               eopt(8, struct.pack('!HBB', 1, 24, 0) + bytes([192, 0])), eopt(8, struct.pack('!HBB', 3, 0, 0)),
               eopt(9, struct.pack('!I', 3600)), eopt(9, b'\x01'), eopt(10, bytes(range(8))), eopt(10, bytes(range(24))),
               eopt(10, bytes(9)), eopt(11, struct.pack('!H', 1234)), eopt(11, b''), eopt(12, bytes(20)),
               eopt(13, name('chain.example')), eopt(14, struct.pack('!HH', 20326, 19036)), eopt(14, b'\x01'),
               eopt(16, b'\x00\x01'), eopt(65001, b'\xde\xad')]
    for i, o in enumerate(options):
        m.append(answer([a], ident=100 + i, ar=opt(o, do=i % 2 == 0), arcount=1))
    m.append(answer([a], ident=200, ar=opt(b''.join(options[:4])), arcount=1))
    m.append(answer([a], ident=201, ar=opt(eopt(10, bytes(8))[:-2]), arcount=1))  # option longer than OPT rdata
    # -- names: pointers, bad labels, long names
    base = hdr(300, 0x8180, 1, 1) + q('a.example')
    m.append(base + rr(ptr(QNAME + 2), 5, b'\x03www' + ptr(QNAME)))  # pointer into a name
    m.append(base + rr(ptr(len(base)), 1, bytes(4)))                 # pointer to itself
    m.append(base + rr(ptr(len(base) + 2), 1, bytes(4)))             # forward pointer
    m.append(base + rr(ptr(0x3fff), 1, bytes(4)))                    # past the end
    cyc = hdr(301, 0x8180, 1, 1) + ptr(14) + ptr(12) + struct.pack('!HH', 1, 1)
    m.append(cyc + rr(ptr(12), 1, bytes(4)))                         # two pointers to each other
    labels = hdr(303, 0x8180, 1, 1) + q('x.example')
    back = len(labels)
    labels += b'\x01y' + ptr(QNAME)
    labels += struct.pack('!HHIH', 1, 1, 60, 4) + bytes(4)
    m.append(labels)
    m.append(hdr(304, 0x0100) + b'\x40abc\x00' + struct.pack('!HH', 1, 1))       # ELT 0
    m.append(hdr(305, 0x0100) + b'\x41\x10\xab\xcd\x00' + struct.pack('!HH', 1, 1))  # bit label
    m.append(hdr(306, 0x0100) + b'\x41\x00' + bytes(32) + b'\x00' + struct.pack('!HH', 1, 1))
    m.append(hdr(307, 0x0100) + b'\x41\x0c\xab\xcd\x00' + struct.pack('!HH', 1, 1))
    m.append(hdr(308, 0x0100) + b'\x80abc\x00' + struct.pack('!HH', 1, 1))       # reserved type
    m.append(hdr(309, 0x0100) + b'\x03abc\x80\x00' + struct.pack('!HH', 1, 1))
    long_label = b'\x3f' + b'a' * 63
    m.append(hdr(310, 0x0100) + long_label * 5 + b'\x00' + struct.pack('!HH', 1, 1))  # 320 characters
    m.append(hdr(311, 0x0100) + long_label * 4 + b'\x00' + struct.pack('!HH', 1, 1))  # 256 characters
    m.append(hdr(312, 0x0100) + long_label * 3 + b'\x3e' + b'b' * 62 + b'\x00' + struct.pack('!HH', 1, 1))  # 254
    m.append(hdr(313, 0x0100) + b'\x05a\x00b\x7fc' + b'\x03\xe9t\xff' + b'\x00' + struct.pack('!HH', 1, 1))
    big = b'\x3f' + b'b' * 63
    ans = hdr(314, 0x8180, 1, 1) + q('x.example') + big * 3 + ptr(QNAME) + struct.pack('!HHIH', 1, 1, 60, 4) + bytes(4)
    m.append(ans)
    # -- short messages
    m.append(b'')
    m.append(b'\x30\x39\x01')
    m.append(hdr(315, 0x0100)[:11])
    m.append(hdr(316, 0x0100, 0))
    return m


def tcp_frames():
    f = []
    msg = query('tcp.example', 28, ident=4242)
    f.append(tcp4(struct.pack('!H', len(msg)) + msg))
    resp = answer([rr(ptr(QNAME), 28, bytes.fromhex('20010db8000000000000000000000053'))], n='tcp.example', t=28, ident=4242)
    f.append(eth(ip4(S, C, 6, tcp(53, 40000, 2000, 1000 + 2 + len(msg), 0x18, 512, data=struct.pack('!H', len(resp)) + resp))))
    f.append(tcp4(struct.pack('!H', 500) + msg, seq=5000))     # prefix != length
    f.append(tcp4(b'\x00', seq=6000))                          # payload shorter than the prefix
    f.append(tcp4(struct.pack('!H', 5) + b'abcde', seq=7000))  # message shorter than a header
    f.append(tcp4(struct.pack('!H', len(msg)) + msg + struct.pack('!H', len(msg)) + msg, seq=8000))  # two in one
    return f


def main(out):
    frames = []
    for i, msg in enumerate(messages()):
        frames.append(udp4(msg, sport=40000 + i % 1000))
    resp = answer([rr(ptr(QNAME), 1, bytes([93, 184, 216, 34]))], ar=opt(eopt(10, bytes(16)), do=True), arcount=1)
    frames.append(udp4(resp, sport=53, dport=40000, src=S, dst=C))
    frames.append(udp6(query('v6.example', 28)))
    frames.append(udp6(resp, sport=53, dport=40000))
    # mDNS: QU bit, cache-flush bit
    frames.append(udp4(query('printer.local', 12, 0x8001, ident=0, flags=0), sport=5353, dport=5353))
    frames.append(udp4(answer([rr(ptr(QNAME), 1, bytes([10, 0, 0, 9]), c=0x8001, ttl=120)], n='printer.local', ident=0,
                              flags=0x8400), sport=5353, dport=5353))
    frames.append(udp4(query(), sport=53, dport=5353))
    # UDP length larger than the IP payload, and smaller (trailing bytes ignored)
    frames.append(udp4(query(), ulen=200))
    frames.append(udp4(query() + b'trailing', ulen=8 + len(query())))
    frames += tcp_frames()
    # which printer wins: over TCP tcpdump tries ssh (22) and telnet (23) first, SMB (139, 445) is
    # not built in; over UDP, 53 and then 5353 come first
    msg = query()
    for i, p in enumerate((22, 23, 139, 445)):
        frames.append(tcp4(struct.pack('!H', len(msg)) + msg, sport=p, seq=9000 + i))
    frames.append(udp4(msg, sport=123, dport=5353))
    frames.append(udp4(msg, sport=5353, dport=67))
    # names in a question (printed without -v): pointer to itself, two pointers to each other,
    # forward pointer, and a pointer to a label that points back into the header
    frames.append(udp4(hdr(400, 0x0100) + ptr(12) + struct.pack('!HH', 1, 1)))
    frames.append(udp4(hdr(401, 0x0100, 2) + b'\x01a' + ptr(17) + b'\x00' + ptr(14) + struct.pack('!HH', 1, 1)))
    frames.append(udp4(hdr(402, 0x0100) + ptr(20) + struct.pack('!HH', 1, 1) + name('x.example')))
    frames.append(udp4(hdr(403, 0x0100) + b'\x01b' + ptr(2) + struct.pack('!HH', 1, 1)))
    # one rich answer cut by the snapshot length at every byte of its DNS part
    rich = answer([rr(ptr(QNAME), 5, name('www.example.net')), rr('www.example.net', 1, bytes([1, 1, 1, 1]))],
                  ns=rr(ptr(QNAME), 2, name('ns1.example.com')), nscount=1,
                  ar=opt(eopt(10, bytes(16)), do=True), arcount=1)
    full = udp4(rich, sport=53, dport=40000, src=S, dst=C)
    for cut in range(14 + 20 + 8, len(full)):
        frames.append((full[:cut], len(full)))
    write(os.path.join(out, 'dns_edge.pcap'), 1, frames)


def read_pcap(path):
    """The frames of a classic little-endian microsecond pcap file (as tcpdump -w writes here)."""
    with open(path, 'rb') as f:
        data = f.read()
    frames, off = [], 24
    while off + 16 <= len(data):
        caplen = struct.unpack('<I', data[off + 8:off + 12])[0]
        frames.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return frames


def seeds(pcap, prefix, corpus, every=1):
    """Seeds for tests/fuzz/packet_decoder_fuzz.cpp from the DNS frames of an Ethernet capture:
    byte 0 = 20 * v (link type Ethernet, -v count v = 0..3 in turn), byte 1 = 0, one frame; and
    one PREFIX_seq file with the frames as a sequence (1-byte lengths, frames cut at 255 bytes)."""
    frames = [fr for fr in read_pcap(pcap) if b'\x00\x35' in fr[34:38] or b'\x14\xe9' in fr[34:38]]
    frames = frames[::every]
    for i, fr in enumerate(frames):
        with open(os.path.join(corpus, '%s_%02d' % (prefix, i)), 'wb') as f:
            f.write(bytes([20 * (i % 4), 0]) + fr)
    with open(os.path.join(corpus, prefix + '_seq'), 'wb') as f:
        f.write(bytes([20, 0]) + b''.join(bytes([min(len(fr), 255)]) + fr[:255] for fr in frames[:40]))


def mutate(seed, count, out, sources):
    """`count` copies of the IPv4/UDP DNS frames of `sources` (pcap files) with 1 to 4 bytes of the
    DNS message changed (random bytes, pointer and label-type bytes, bit flips), seeded: a
    differential test of the DNS printer against tcpdump (interop.dump_dns)."""
    import random
    rnd = random.Random(seed)
    base = [fr for src in sources for fr in read_pcap(src)
            if len(fr) > 42 and fr[12:14] == b'\x08\x00' and fr[14] == 0x45 and fr[23] == 17]
    frames = []
    for _ in range(count):
        fr = bytearray(rnd.choice(base))
        for _ in range(rnd.randint(1, 4)):
            i = rnd.randrange(42, len(fr))
            r = rnd.random()
            if r < 0.5:
                fr[i] = rnd.randrange(256)
            elif r < 0.7:
                fr[i] = rnd.choice([0xc0, 0xc0 | rnd.randrange(64), 0x3f, 0x40, 0x41, 0x80, 0, 1, 255])
            elif r < 0.85 and i + 1 < len(fr):
                fr[i], fr[i + 1] = 0xc0, rnd.randrange(256)
            else:
                fr[i] ^= 1 << rnd.randrange(8)
        frames.append(bytes(fr))
    write(out, 1, frames)


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--mutate':  # make_dns.py --mutate SEED COUNT OUT PCAP...
        mutate(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5:])
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == '--seeds':  # make_dns.py --seeds PCAP PREFIX CORPUSDIR [EVERY]
        seeds(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]) if len(sys.argv) > 5 else 1)
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else '.')
