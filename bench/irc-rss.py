#!/usr/bin/env python3
"""bench/irc-rss.py: an IRC server's resident memory per connected client (issue #21: RSS per
client at 10,000 clients), sockit chat-server, ngircd and inspircd in one run.

    bench/irc-rss.py [-c CLIENTS] [--per-channel N] [--rounds R] [--sockit PATH] [SERVER...]
    bench/irc-rss.py -c 10000 --per-channel 100 --rounds 2 --sockit build/release/sockit

SERVER: sockit-chat, ngircd, inspircd (default: all three), configured as bench/irc_servers.sh
does and pinned to core 0; the clients (this script, one thread, non-blocking sockets) run on
core 1. Each client connects, registers (NICK/USER, waits for 001) and JOINs one channel of
--per-channel members (0: none); once all are in, the script waits for the server's output to
drain (no byte received for 1 s), reads VmRSS and RssAnon from /proc/PID/status and prints the
growth over the idle server's RSS divided by the clients. Servers alternate within each round.
Exit 2 for bad arguments, 1 when a server did not start or clients failed to register in time.
Not part of ctest: benchmarks do not assert.
"""
import argparse
import os
import resource
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon"):
                out[k] = int(v.split()[0])
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(name, port, tmp, sockit):
    # bench/irc_servers.sh writes the configuration and prints the command, one argument a line.
    script = (f'. "{ROOT}/bench/irc_servers.sh"; irc_server_cmd "$1" "$2" "$3" "$4" || exit $?; '
              'printf "%s\\n" "${IRC_CMD[@]}"')
    cmd = subprocess.run(["bash", "-c", script, "_", name, str(port), os.path.join(tmp, f"{name}.{port}"), sockit],
                         capture_output=True, text=True)
    if cmd.returncode != 0:
        raise SystemExit(f"bench/irc-rss.py: {name} is not available")
    argv = cmd.stdout.splitlines()
    p = subprocess.Popen(["taskset", "-c", "0", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return p
        except OSError:
            time.sleep(0.05)
    p.kill()
    raise SystemExit(f"bench/irc-rss.py: {name} did not start")


def fill(port, clients, per_channel, timeout):
    sel = selectors.DefaultSelector()
    socks = []
    state = {}
    pending = clients
    last_rx = time.monotonic()
    deadline = time.monotonic() + timeout
    opened = 0
    while (pending > 0 or time.monotonic() - last_rx < 1.0) and time.monotonic() < deadline:
        # Keep at most 200 registrations in flight: a storm of connects overflows listen backlogs.
        while opened < clients and opened - (clients - pending) < 200:
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            k = opened
            chan = f"JOIN #c{k // per_channel}\r\n" if per_channel > 0 else ""
            state[s] = [k, b"", f"NICK u{k}\r\nUSER u{k} 0 * :rss\r\n".encode(), chan.encode(), False]
            sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
            socks.append(s)
            opened += 1
        for key, ev in sel.select(timeout=0.1):
            s = key.fileobj
            st = state[s]
            if ev & selectors.EVENT_WRITE and st[2]:
                try:
                    st[2] = st[2][s.send(st[2]):]
                except BlockingIOError:
                    pass
                except OSError:
                    continue
                if not st[2]:
                    sel.modify(s, selectors.EVENT_READ)
            if ev & selectors.EVENT_READ:
                try:
                    data = s.recv(65536)
                except (BlockingIOError, ConnectionError):
                    continue
                if not data:
                    sel.unregister(s)
                    continue
                last_rx = time.monotonic()
                if not st[4]:
                    buf = st[1] + data
                    for line in buf.split(b"\r\n"):
                        if line.startswith(b"PING"):
                            s.send(b"PONG" + line[4:] + b"\r\n")
                    if b" 001 " in buf:
                        st[4] = True
                        pending -= 1
                        if st[3]:
                            s.send(st[3])
                        st[1] = b""
                    else:
                        st[1] = buf[-600:]
                elif b"PING" in data:
                    for line in data.split(b"\r\n"):
                        if line.startswith(b"PING"):
                            s.send(b"PONG" + line[4:] + b"\r\n")
    return socks, clients - pending


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-c", "--clients", type=int, default=10000)
    ap.add_argument("--per-channel", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--sockit", default=os.path.join(ROOT, "build/release/sockit"))
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds for all clients to register")
    ap.add_argument("servers", nargs="*", default=["sockit-chat", "ngircd", "inspircd"])
    a = ap.parse_args()
    if a.clients <= 0 or a.per_channel < 0 or a.rounds <= 0:
        print("bench/irc-rss.py: -c and --rounds must be positive, --per-channel >= 0", file=sys.stderr)
        return 2
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < a.clients + 100:
        print(f"bench/irc-rss.py: ulimit -Hn {hard} is too low for {a.clients} clients", file=sys.stderr)
        return 2
    os.sched_setaffinity(0, {1} if os.cpu_count() > 1 else {0})
    results = {}
    failed = False
    with tempfile.TemporaryDirectory(prefix="sockit-ircrss.") as tmp:
        for r in range(a.rounds):
            order = a.servers[r % len(a.servers):] + a.servers[:r % len(a.servers)]
            for name in order:
                port = free_port()
                p = start(name, port, tmp, os.path.abspath(a.sockit))
                try:
                    time.sleep(0.5)
                    before = rss(p.pid)
                    t0 = time.monotonic()
                    socks, ok = fill(port, a.clients, a.per_channel, a.timeout)
                    took = time.monotonic() - t0
                    after = rss(p.pid)
                    per = (after["VmRSS"] - before["VmRSS"]) * 1024 / max(ok, 1)
                    anon = (after["RssAnon"] - before["RssAnon"]) * 1024 / max(ok, 1)
                    results.setdefault(name, []).append((per, anon, after["VmRSS"]))
                    print(f"round {r + 1} {name:<12} registered {ok}/{a.clients} in {took:5.1f}s  "
                          f"VmRSS {before['VmRSS']} -> {after['VmRSS']} KiB  {per:7.0f} B/client  "
                          f"RssAnon {anon:7.0f} B/client", flush=True)
                    if ok < a.clients:
                        failed = True
                    for s in socks:
                        s.close()
                finally:
                    p.terminate()
                    try:
                        p.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()
    for name, rs in results.items():
        print(f"median {name:<12} {statistics.median(x[0] for x in rs):7.0f} B/client VmRSS  "
              f"{statistics.median(x[1] for x in rs):7.0f} B/client RssAnon  ({len(rs)} rounds)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
