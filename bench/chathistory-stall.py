#!/usr/bin/env python3
"""bench/chathistory-stall.py: how long big CHATHISTORY reads stall the event loop (issue #18).

   bench/chathistory-stall.py [--sockit PATH] [--rows N] [--limit L] [--rounds R] [--duration S] [--pipeline P]

One `sockit chat-server` (one loop thread) with [history] on a database of N messages in #big
(filled once, by the first run). Per run, client Q keeps P `CHATHISTORY LATEST #big * L` requests
in flight (a new one per batch that ends) while client P measures PING round trips; P's round
trips are what any other client waits. Two modes, alternating round by round (the order flips
each round, so the machine's drift hits both alike):
  on-loop  SOCKIT_BENCH_HISTORY_ON_LOOP=1: the loop waits for the store's answer (as before the
           reader thread)
  reader   the read runs on the store's reader thread; the loop sends the reply when it is in
A third, idle, has no Q (the round trip without reads). Prints per run P's round trip p50/p99/max
(ms) and Q's queries per second, then the medians over the rounds and the ratios on-loop/reader.
Loopback only; the server is killed by its PID.
"""
import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def connect(port, nick):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    f = s.makefile("rb")
    s.sendall(f"CAP REQ :batch\r\nCAP END\r\nNICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n".encode())
    for line in f:
        if b" 001 " in line:
            return s, f
    raise RuntimeError(f"{nick}: no welcome")


def until(f, needle):
    for line in f:
        if needle in line:
            return line
    raise RuntimeError(f"connection closed before {needle!r}")


def start(args, db, env_on_loop):
    conf = os.path.join(os.path.dirname(db), "stall.toml")
    with open(conf, "w") as c:
        c.write(f'[flood]\nrate = 0\n[history]\nenabled = true\ndb = "{db}"\nquery_limit = {args.limit}\n'
                f"max_messages = {args.rows + 10}\n")
    env = dict(os.environ)
    env.pop("SOCKIT_BENCH_HISTORY_ON_LOOP", None)
    if env_on_loop:
        env["SOCKIT_BENCH_HISTORY_ON_LOOP"] = "1"
    p = subprocess.Popen([args.sockit, "chat-server", "-l", "127.0.0.1:0", "-q", "--config", conf],
                         stderr=subprocess.PIPE, env=env)
    banner = p.stderr.readline().decode()
    m = re.search(r"listening on 127\.0\.0\.1:(\d+)", banner)
    if not m:
        p.kill()
        raise RuntimeError(f"no banner: {banner}")
    return p, int(m.group(1))


def fill(port, rows):
    s, f = connect(port, "filler")
    s.sendall(b"JOIN #big\r\n")
    until(f, b" 366 ")
    chunk = []
    for i in range(rows):
        chunk.append(f"PRIVMSG #big :history line {i} with some text to make it look like chat\r\n")
        if len(chunk) == 500:
            s.sendall("".join(chunk).encode() + b"PING :f\r\n")
            until(f, b"PONG")
            chunk = []
    s.sendall("".join(chunk).encode() + b"PING :f\r\n")
    until(f, b"PONG")
    s.close()


def run(args, db, mode):
    p, port = start(args, db, mode == "on-loop")
    try:
        pinger, pf = connect(port, "pinger")
        stop = threading.Event()
        queries = [0]

        def query():
            q, qf = connect(port, "querier")
            q.sendall(b"JOIN #big\r\n")
            until(qf, b" 366 ")
            # `pipeline` requests in flight, so the server always has one to answer; the replies
            # are counted by their batch ends in the raw bytes (no line parsing here).
            req = f"CHATHISTORY LATEST #big * {args.limit}\r\n".encode()
            q.sendall(req * args.pipeline)
            pending = args.pipeline
            tail = b""
            while pending > 0:
                data = q.recv(1 << 20)
                if not data:
                    break
                chunk = tail + data
                done = chunk.count(b"BATCH -")
                tail = chunk[-6:]  # a "BATCH -" cut in two: its start (too short to count twice)
                queries[0] += done
                pending -= done
                if not stop.is_set() and done:
                    q.sendall(req * done)
                    pending += done
            q.close()

        t = threading.Thread(target=query) if mode != "idle" else None
        if t:
            t.start()
            time.sleep(0.3)  # the querier's registration and first reads
        rtts = []
        end = time.monotonic() + args.duration
        n = 0
        while time.monotonic() < end:
            n += 1
            t0 = time.perf_counter()
            pinger.sendall(f"PING :{n}\r\n".encode())
            until(pf, b"PONG")
            rtts.append((time.perf_counter() - t0) * 1000)
        stop.set()
        if t:
            t.join()
        pinger.close()
        rtts.sort()
        return {"p50": rtts[len(rtts) // 2], "p99": rtts[int(len(rtts) * 0.99)], "max": rtts[-1],
                "qps": queries[0] / args.duration}
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sockit", default=os.path.join(root, "build/release/sockit"))
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--limit", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--pipeline", type=int, default=4, help="CHATHISTORY requests in flight (default 4)")
    args = ap.parse_args()
    if not os.access(args.sockit, os.X_OK):
        sys.exit(f"chathistory-stall: {args.sockit}: not an executable (build it, or --sockit PATH)")
    if args.rows < 1 or args.limit < 1 or args.rounds < 1 or args.duration <= 0 or args.pipeline < 1:
        sys.exit("chathistory-stall: --rows, --limit, --rounds, --duration and --pipeline must be positive")
    with tempfile.TemporaryDirectory(prefix="sockit-stall-") as d:
        db = os.path.join(d, "history.db")
        p, port = start(args, db, False)
        try:
            fill(port, args.rows)
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(30)
        results = {"idle": [], "on-loop": [], "reader": []}
        for r in range(args.rounds):
            order = ["on-loop", "reader"] if r % 2 == 0 else ["reader", "on-loop"]
            for mode in ["idle"] + order:
                res = run(args, db, mode)
                results[mode].append(res)
                print(f"round {r + 1} {mode:8s} ping p50 {res['p50']:7.3f} ms  p99 {res['p99']:7.3f} ms  "
                      f"max {res['max']:7.3f} ms  queries/s {res['qps']:6.1f}", flush=True)
        med = {m: {k: statistics.median(x[k] for x in v) for k in ("p50", "p99", "max", "qps")}
               for m, v in results.items()}
        print(f"\nmedians over {args.rounds} rounds ({args.rows} rows, LATEST * {args.limit}):")
        for m, v in med.items():
            print(f"  {m:8s} ping p50 {v['p50']:7.3f} ms  p99 {v['p99']:7.3f} ms  max {v['max']:7.3f} ms  "
                  f"queries/s {v['qps']:6.1f}")
        r = med["reader"]
        o = med["on-loop"]
        print(f"  on-loop/reader: p50 {o['p50'] / r['p50']:.2f}x  p99 {o['p99'] / r['p99']:.2f}x  "
              f"max {o['max'] / r['max']:.2f}x")


if __name__ == "__main__":
    main()
