#!/usr/bin/python3
"""A small authoritative DNS responder for tests/interop/dump_dns.sh: UDP and TCP on ADDR:53
(run inside the test's network namespace). Zone `test.`: a.test (2 A, AAAA, MX, TXT, SOA),
www.test (CNAME to a.test), nx.test (NXDOMAIN + SOA), fail.test (SERVFAIL), big.test (30 A:
over UDP the answer is cut and TC set, over TCP it is whole), 1.2.0.192.in-addr.arpa (PTR).
EDNS queries get an OPT record back. Prints "ready" once both sockets are bound.
Usage: dump_dns_responder.py ADDR"""
import socket, struct, sys, threading

from scapy.layers.dns import DNS, DNSQR, DNSRR, DNSRROPT, DNSRRMX, DNSRRSOA

ADDR = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
SOA = dict(rrname='test.', type='SOA', ttl=300, mname='ns1.test.', rname='hostmaster.test.',
           serial=2026120601, refresh=7200, retry=3600, expire=1209600, minimum=300)


def records(name, qtype, tcp):
    """(rcode, answers, authority, truncated) for one question."""
    n = name.lower()
    if n == 'a.test.':
        if qtype == 1:
            return 0, [DNSRR(rrname=name, type='A', ttl=3600, rdata='192.0.2.1'),
                       DNSRR(rrname=name, type='A', ttl=3600, rdata='192.0.2.2')], [], False
        if qtype == 28:
            return 0, [DNSRR(rrname=name, type='AAAA', ttl=3600, rdata='2001:db8::1')], [], False
        if qtype == 15:
            return 0, [DNSRRMX(rrname=name, type='MX', ttl=3600, preference=10, exchange='mail.a.test.')], [], False
        if qtype == 16:
            return 0, [DNSRR(rrname=name, type='TXT', ttl=60, rdata=['hello world', 'second'])], [], False
        if qtype == 6:
            return 0, [DNSRRSOA(**SOA)], [], False
        return 0, [], [DNSRRSOA(**SOA)], False
    if n == 'www.test.':
        return 0, [DNSRR(rrname=name, type='CNAME', ttl=600, rdata='a.test.'),
                   DNSRR(rrname='a.test.', type='A', ttl=3600, rdata='192.0.2.1')], [], False
    if n == 'fail.test.':
        return 2, [], [], False
    if n == 'big.test.':
        ans = [DNSRR(rrname=name, type='A', ttl=60, rdata='198.51.100.%d' % i) for i in range(1, 31)]
        return (0, ans, [], False) if tcp else (0, ans[:3], [], True)
    if n == '1.2.0.192.in-addr.arpa.':
        return 0, [DNSRR(rrname=name, type='PTR', ttl=3600, rdata='a.test.')], [], False
    return 3, [], [DNSRRSOA(**SOA)], False


def chain(rrs):
    """scapy 2.5 holds a section as records chained with '/'."""
    if not rrs:
        return None
    out = rrs[0]
    for r in rrs[1:]:
        out = out / r
    return out


def answer(data, tcp):
    q = DNS(data)
    if q.qr or not q.qd:
        return None
    qd = q.qd  # scapy 2.5: the first question (further ones are chained behind it)
    rcode, an, ns, tc = records(qd.qname.decode(), qd.qtype, tcp)
    r = DNS(id=q.id, qr=1, aa=1, rd=q.rd, ra=0, tc=int(tc), rcode=rcode, qd=qd)
    r.an = chain(an)
    r.ns = chain(ns)
    edns = q.arcount > 0
    if edns:
        r.ar = DNSRROPT(rclass=1232)
    return bytes(r)


def serve_udp(sock):
    while True:
        data, peer = sock.recvfrom(4096)
        out = answer(data, False)
        if out:
            sock.sendto(out, peer)


def serve_tcp_conn(conn):
    with conn:
        buf = b''
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                return
            buf += chunk
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack('!H', buf[:2])[0]:
                n = struct.unpack('!H', buf[:2])[0]
                out = answer(buf[2:2 + n], True)
                buf = buf[2 + n:]
                if out:
                    conn.sendall(struct.pack('!H', len(out)) + out)


def serve_tcp(sock):
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=serve_tcp_conn, args=(conn,), daemon=True).start()


def main():
    fam = socket.AF_INET6 if ':' in ADDR else socket.AF_INET
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.bind((ADDR, 53))
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((ADDR, 53))
    t.listen(16)
    threading.Thread(target=serve_udp, args=(u,), daemon=True).start()
    print('ready', flush=True)
    serve_tcp(t)


if __name__ == '__main__':
    main()
