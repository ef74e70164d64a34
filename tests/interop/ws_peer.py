#!/usr/bin/python3
"""Raw WebSocket peer for tests/interop/ws_protocol.sh: python3-wsproto (Debian) as the client of
`sockit chat-server --ws-listen`, over real sockets on 127.0.0.1. Frames the server must refuse
(unmasked, invalid UTF-8, 16 MiB) are written by hand; the server's frames are read by wsproto.
Prints "ok   - ..." / "FAIL - ..." lines; exit 0 when every check passed, 1 otherwise."""
import argparse
import socket
import ssl
import struct
import sys
import time

from wsproto import ConnectionType, WSConnection
from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Ping, Pong, RejectConnection,
                            RejectData, Request, TextMessage)

FAILS = 0
CHECKS = 0
KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def check(ok, what, detail=""):
    global FAILS, CHECKS
    CHECKS += 1
    if ok:
        print(f"ok   - {what}")
    else:
        FAILS += 1
        print(f"FAIL - {what}" + (f": {detail}" if detail else ""))
    sys.stdout.flush()


def frame(opcode, payload, fin=True, mask=True, length=None):
    """One client frame; `length` overrides the announced payload length."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | opcode])
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack("!H", n)
    else:
        head += bytes([m | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = b"\x11\x22\x33\x44"
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class Ws:
    """A wsproto client on one socket."""

    def __init__(self, port, protocols=(), origin=None, tls=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname="localhost")
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.events = []
        self.closed_by_peer = False
        extra = [("Origin", origin)] if origin else []
        self.sock.sendall(self.ws.send(Request(host=f"127.0.0.1:{port}", target="/", subprotocols=list(protocols),
                                               extra_headers=extra)))
        self.accept = self.wait(lambda e: isinstance(e, (AcceptConnection, RejectConnection)))

    def pump(self, deadline):
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return
        except (ConnectionResetError, ssl.SSLError):
            data = b""
        if not data:
            self.closed_by_peer = True
            self.ws.receive_data(None)
        else:
            self.ws.receive_data(data)
        self.events.extend(self.ws.events())

    def wait(self, pred, seconds=10):
        """The first event (consumed) matching pred, or None once the deadline passed or the peer closed."""
        deadline = time.monotonic() + seconds
        while True:
            for i, e in enumerate(self.events):
                if pred(e):
                    del self.events[i]
                    return e
            if self.closed_by_peer or time.monotonic() >= deadline:
                return None
            self.pump(deadline)

    def text(self, line):
        self.sock.sendall(self.ws.send(TextMessage(data=line)))

    def raw(self, data):
        self.sock.sendall(data)

    def line(self, needle, seconds=10):
        e = self.wait(lambda e: isinstance(e, (TextMessage, BytesMessage)) and needle in self.as_text(e), seconds)
        return self.as_text(e) if e else None

    def close_code(self, seconds=10):
        e = self.wait(lambda e: isinstance(e, CloseConnection), seconds)
        return e.code if e else None

    @staticmethod
    def as_text(e):
        return e.data if isinstance(e, TextMessage) else bytes(e.data).decode("utf-8", "replace")


class Tcp:
    """A plain IRC client."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def line(self, needle, seconds=10):
        deadline = time.monotonic() + seconds
        while True:
            while b"\n" in self.buf:
                l, self.buf = self.buf.split(b"\n", 1)
                if needle.encode() in l:
                    return l.rstrip(b"\r").decode("utf-8", "replace")
            if time.monotonic() >= deadline:
                return None
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                return None
            self.buf += data


def http(port, head, seconds=10):
    """A raw request head; the server's whole answer (until it closes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=seconds)
    s.sendall(head.encode())
    out = b""
    while True:
        try:
            d = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not d:
            break
        out += d
    s.close()
    return out.decode("latin-1")


def upgrade_head(port, extra="", version="13", key=KEY, method="GET"):
    h = f"{method} / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    if version is not None:
        h += f"Sec-WebSocket-Version: {version}\r\n"
    if key is not None:
        h += f"Sec-WebSocket-Key: {key}\r\n"
    return h + extra + "\r\n"


def register(c, nick, channel=None):
    c.text(f"NICK {nick}")
    c.text(f"USER {nick} 0 * :{nick}")
    welcome = c.line(" 001 ")
    if channel:
        c.text(f"JOIN {channel}")
        c.line(f" JOIN {channel}")
        c.line(" 366 ")
    return welcome


def handshake_checks(port, good_origin):
    print("# handshake errors: raw HTTP")
    a = http(port, upgrade_head(port, key=None))
    check(a.startswith("HTTP/1.1 400 "), "no Sec-WebSocket-Key -> 400", a[:60])
    a = http(port, upgrade_head(port, key="c2hvcnQ="))
    check(a.startswith("HTTP/1.1 400 "), "a key of 5 bytes -> 400", a[:60])
    a = http(port, upgrade_head(port, version="8"))
    check(a.startswith("HTTP/1.1 426 ") and "\r\nSec-WebSocket-Version: 13\r\n" in a,
          "version 8 -> 426 with Sec-WebSocket-Version: 13", a[:120])
    a = http(port, upgrade_head(port, extra="Origin: https://evil.example\r\n"))
    check(a.startswith("HTTP/1.1 403 "), "Origin not in the allow-list -> 403", a[:60])
    a = http(port, upgrade_head(port, method="POST"))
    check(a.startswith("HTTP/1.1 405 ") and "\r\nAllow: GET\r\n" in a, "POST -> 405 with Allow: GET", a[:80])
    a = http(port, upgrade_head(port, extra="X-Fill: " + "a" * 10000 + "\r\n"))
    check(a.startswith("HTTP/1.1 431 "), "a 10 KB header -> 431", a[:60])
    a = http(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    check(a.startswith("HTTP/1.1 200 ") and "text/html" in a, "a plain GET (no upgrade) -> the web page (ws_page.sh)", a[:60])
    # Slowloris: a head that never ends is cut at the handshake limit ([websocket] handshake_timeout = 1s).
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    t0 = time.monotonic()
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    got = b"x"
    try:
        while got:
            got = s.recv(100)
            if got:
                continue
            s.sendall(b"X-Slow: 1\r\n")  # never reached: recv() blocks until the server closes
    except (socket.timeout, ConnectionResetError):
        pass
    took = time.monotonic() - t0
    check(0.5 <= took < 8, f"slowloris head: closed after {took:.1f} s (limit 1 s)")
    s.close()
    c = Ws(port, origin=good_origin)
    check(isinstance(c.accept, AcceptConnection), "allowed Origin -> 101")
    c.sock.close()


def subprotocol_checks(port):
    print("# subprotocols: the client's order wins, none -> text")
    c = Ws(port, protocols=["binary.ircv3.net", "text.ircv3.net"])
    check(isinstance(c.accept, AcceptConnection) and c.accept.subprotocol == "binary.ircv3.net",
          "binary.ircv3.net, text.ircv3.net -> binary", repr(getattr(c.accept, "subprotocol", c.accept)))
    c.sock.sendall(c.ws.send(BytesMessage(data=b"PING :bin")))
    e = c.wait(lambda e: isinstance(e, (BytesMessage, TextMessage)))
    check(isinstance(e, BytesMessage) and b" PONG " in bytes(e.data) and bytes(e.data).endswith(b" :bin"),
          "binary: PING -> PONG in a binary message, no CRLF", repr(e))
    c.sock.close()
    c = Ws(port, protocols=["foo", "text.ircv3.net", "binary.ircv3.net"])
    check(isinstance(c.accept, AcceptConnection) and c.accept.subprotocol == "text.ircv3.net",
          "foo, text.ircv3.net, binary.ircv3.net -> text", repr(getattr(c.accept, "subprotocol", c.accept)))
    c.sock.close()
    c = Ws(port)
    check(isinstance(c.accept, AcceptConnection) and c.accept.subprotocol is None, "none offered -> no header")
    c.text("PING :txt")
    e = c.wait(lambda e: isinstance(e, (BytesMessage, TextMessage)))
    check(isinstance(e, TextMessage) and e.data.startswith(":") and e.data.endswith(" :txt"),
          "none: PING -> PONG in a text message, no CRLF", repr(e))
    c.sock.close()


def chat_checks(port, tcp_port):
    print("# a WebSocket user and a TCP user in one channel")
    t = Tcp(tcp_port)
    t.send("NICK tcpuser")
    t.send("USER tcpuser 0 * :t")
    check(t.line(" 001 ") is not None, "tcpuser registered over TCP")
    t.send("JOIN #web")
    t.line(" 366 ")
    w = Ws(port, protocols=["text.ircv3.net"])
    check(register(w, "wsuser", "#web") is not None, "wsuser registered over WebSocket, joined #web")
    check(t.line(":wsuser!") is not None, "tcpuser sees wsuser join")
    w.text("PRIVMSG #web :hello from ws")
    check(t.line("PRIVMSG #web :hello from ws") is not None, "ws -> tcp")
    t.send("PRIVMSG #web :hello from tcp")
    l = w.line("PRIVMSG #web :hello from tcp")
    check(l is not None and l.startswith(":tcpuser!") and "\r" not in l and "\n" not in l,
          "tcp -> ws, one line per message, no CRLF", repr(l))
    w.text("PRIVMSG #web :with its own crlf\r\n")
    check(t.line(":with its own crlf") is not None, "a message's trailing CRLF is stripped")
    w.text("PRIVMSG #web :first\r\nPRIVMSG #web :injected")
    check(t.line(":first") is not None, "a message with an inner CRLF: its first line")
    w.text("PRIVMSG #web :after")
    l = t.line("PRIVMSG #web :")
    check(l is not None and l.endswith(":after"), "... and nothing after the inner CRLF", repr(l))
    w.text("PRIVMSG #web :" + "x" * 600)
    l = w.line(" 417 ")
    check(l is not None and "too long" in l, "a 614-byte line: 417 Input line was too long, as on TCP", repr(l))
    t.send("PRIVMSG #web :" + "x" * 600)
    check(t.line(" 417 ") is not None, "... the same line over TCP: 417 too")
    w.text("PRIVMSG #web :after the long one")
    l = t.line("PRIVMSG #web :")
    check(l is not None and l.endswith(":after the long one"), "... and the long line was not relayed", repr(l))
    w.text("WHOIS wsuser")
    l = w.line(" 311 ")
    check(l is not None and "127.0.0.1" in l, "WHOIS wsuser: an ordinary user from 127.0.0.1", repr(l))
    print("# fragmented text: across frames and across TCP reads")
    msg = frame(0x1, b"PRIVMSG #w", fin=False) + frame(0x0, b"eb :frag", fin=False) + frame(0x0, b"mented", fin=True)
    for i in range(0, len(msg), 3):
        w.raw(msg[i:i + 3])
        time.sleep(0.005)  # deliberate idle: separate TCP segments (TCP_NODELAY), the behaviour under test
    check(t.line("PRIVMSG #web :fragmented") is not None, "3 frames sent 3 bytes at a time -> one line")
    w.raw(frame(0x1, b"PRIVMSG #web :ping-", fin=False) + frame(0x9, b"mid") + frame(0x0, b"between", fin=True))
    p = w.wait(lambda e: isinstance(e, Pong))
    check(p is not None and bytes(p.payload) == b"mid", "a ping between fragments -> pong")
    check(t.line("PRIVMSG #web :ping-between") is not None, "... and the fragmented message is whole")
    print("# ping, close by the server (QUIT)")
    w.sock.sendall(w.ws.send(Ping(payload=b"are you there")))
    p = w.wait(lambda e: isinstance(e, Pong))
    check(p is not None and bytes(p.payload) == b"are you there", "ping -> pong with the same payload")
    w.text("QUIT :bye")
    check(t.line("QUIT :Quit: bye") is not None, "tcpuser sees wsuser quit")
    code = w.close_code()
    check(code == 1000, f"QUIT: the server closes with 1000 (got {code})")
    return t


def failure_checks(port, t, t_port):
    def fresh(nick):
        c = Ws(port)
        register(c, nick, "#web")
        t.line(f":{nick}!")
        return c

    print("# frames the server refuses")
    c = fresh("unmasked")
    c.raw(frame(0x1, b"PRIVMSG #web :no mask", mask=False))
    code = c.close_code()
    check(code == 1002, f"unmasked client frame -> close 1002 (got {code})")
    c = fresh("badutf")
    c.raw(frame(0x1, b"PRIVMSG #web :\xff\xfe"))
    code = c.close_code()
    check(code == 1007, f"invalid UTF-8 in a text frame -> close 1007 (got {code})")
    c = fresh("bigone")
    c.raw(frame(0x1, b"", length=16 << 20) + b"\x00" * 65536)  # announces 16 MiB, sends 64 KiB
    code = c.close_code()
    check(code == 1009, f"a 16 MiB frame -> close 1009 (got {code})")
    check(t.line(":bigone!") is not None, "tcpuser sees bigone leave")
    print("# close by the client")
    c = fresh("closer")
    c.sock.sendall(c.ws.send(CloseConnection(code=1000, reason="done")))
    code = c.close_code()
    check(code == 1000, f"client close 1000 -> server answers 1000 (got {code})")
    c.wait(lambda e: False, 5)
    check(c.closed_by_peer, "... then the server ends the TCP connection")
    check(t.line(":closer!") is not None, "tcpuser sees closer leave")
    print("# clients that vanish mid-frame")
    c = fresh("vanish")
    c.raw(frame(0x1, b"PRIVMSG #web :never finished")[:9])
    c.sock.close()
    check(t.line(":vanish!") is not None and True, "FIN mid-frame: tcpuser sees vanish quit")
    c = fresh("reset")
    c.raw(frame(0x1, b"PRIVMSG #web :never finished")[:5])
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.sock.close()
    check(t.line(":reset!") is not None, "RST mid-frame: tcpuser sees reset quit")
    print("# the same limits: SendQ")
    f = Tcp(t_port)
    f.send("NICK flooder")
    f.send("USER f 0 * :f")
    f.line(" 001 ")
    f.send("JOIN #f")
    f.line(" 366 ")
    c = Ws(port)
    register(c, "sleeper", "#f")  # then reads nothing more
    f.line(":sleeper!")
    f.sock.sendall(b"".join(b"PRIVMSG #f :" + b"y" * 400 + b"\r\n" for _ in range(20000)))  # 8.4 MB
    l = f.line(":sleeper!", 20)
    check(l is not None and "SendQ exceeded" in l, "a WebSocket user that does not read: SendQ exceeded, as on TCP", repr(l))
    c.sock.close()
    c = Ws(port)
    check(isinstance(c.accept, AcceptConnection), "the server still accepts WebSocket clients")
    t.send("PING :alive")
    check(t.line("PONG") is not None, "... and serves its TCP user")


def wss_checks(port):
    print("# wss://: WebSocket over the TLS listener ([[listen]] tls = true, websocket = true)")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = Ws(port, protocols=["text.ircv3.net"], tls=ctx)
    check(isinstance(c.accept, AcceptConnection), "wss: 101 over TLS")
    check(register(c, "secure") is not None, "wss: registered")
    c.text("WHOIS secure")
    l = c.line(" 671 ", 5)
    check(l is not None, "wss: WHOIS says a secure connection (671)", repr(l))
    c.sock.sendall(c.ws.send(Ping(payload=b"tls")))
    p = c.wait(lambda e: isinstance(e, Pong))
    check(p is not None and bytes(p.payload) == b"tls", "wss: ping -> pong")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ws", type=int, required=True)
    ap.add_argument("--tcp", type=int, required=True)
    ap.add_argument("--wss", type=int)
    ap.add_argument("--origin", default="https://good.example")
    a = ap.parse_args()
    handshake_checks(a.ws, a.origin)
    subprotocol_checks(a.ws)
    t = chat_checks(a.ws, a.tcp)
    failure_checks(a.ws, t, a.tcp)
    if a.wss:
        wss_checks(a.wss)
    print(f"# ws_peer: {CHECKS} checks, {FAILS} failed")
    return 0 if FAILS == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
