#!/usr/bin/env bash
# Cluster node cut off by the network (issue #20, docs/CLUSTER.md "Failures"): a redis-server on
# the host side of a veth pair, node alpha on the host (loopback), node beta inside its own
# network namespace reaching Redis over the veth. alice on alpha and bob on beta share #net.
# beta's link is cut with iptables inside beta's namespace (DROP in and out on its veth):
#   - alice sees bob QUIT with `*.net *.split` within TTL + 1 s of the cut (time printed),
#   - bob gets the degraded NOTICE (beta's Redis commands time out),
#   - bob's membership leaves `sockit:chan:#net` with the reap.
# The rules are deleted (by their spec): beta reconnects and resyncs: bob is back in alice's NAMES
# once, in `sockit:chan:#net` again, lines flow both ways, nobody twice.
# Needs root, `ip netns`, veth and iptables; exits 77 (skipped) with the reason otherwise. Only
# the namespace's own firewall is touched, never the host's; the namespace is deleted on exit.
source "$(dirname "$0")/netns_lib.bash"
netns_need iptables
netns_need python3 "the IRC clients"
netns_need redis-server
netns_need redis-cli

NS=sockitcn$$
HV=cnh$$  # host side of the veth
BV=cnb$$  # beta's side
SUB=10.213.$(($$ % 250)).
TMP=$(mktemp -d /tmp/sockit-cluster-netns-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  netns_cleanup
  rm -rf "$TMP"
}
trap cleanup EXIT

netns_add "$NS"
netns_veth "" "$HV" "${SUB}1/24" "$NS" "$BV" "${SUB}2/24"
ip netns exec "$NS" iptables -L -n >/dev/null 2>&1 || skip "iptables does not work in a namespace here"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RP=$(free_port)
AP=$(free_port)
redis-server --port "$RP" --bind "127.0.0.1 ${SUB}1" --protected-mode no --save '' --appendonly no \
  --dir "$TMP" --logfile "$TMP/redis.log" &
pids+=($!)
rcli() { redis-cli -h 127.0.0.1 -p "$RP" "$@"; }
for _ in $(seq 100); do rcli PING 2>/dev/null | grep -q PONG && break; sleep 0.05; done
rcli PING | grep -q PONG || { echo "FAIL - redis-server did not start"; cat "$TMP/redis.log"; exit 1; }

"$SOCKIT" chat-server -l "127.0.0.1:$AP" --cluster "redis://127.0.0.1:$RP" --node-name alpha >"$TMP/alpha.log" 2>&1 &
pids+=($!)
ip netns exec "$NS" "$SOCKIT" chat-server -l "127.0.0.1:$AP" --cluster "redis://${SUB}1:$RP" --node-name beta \
  >"$TMP/beta.log" 2>&1 &
pids+=($!)

# The scenario, in one Python process: its socket to beta is made inside beta's namespace (setns),
# so the cut (beta's veth) does not cut bob's own connection. Every wait polls with a deadline.
python3 - "$NS" "$AP" "$RP" "$BV" <<'EOF'
import ctypes, os, re, socket, subprocess, sys, time
ns, port, rport, bv = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
libc = ctypes.CDLL(None, use_errno=True)
fails = 0
def check(what, ok):
    global fails
    print(("ok   - " if ok else "FAIL - ") + what, flush=True)
    if not ok: fails += 1
def rcli(*a):
    return subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", rport, *a], capture_output=True, text=True).stdout
def in_ns(fn):
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    fd = os.open("/var/run/netns/" + ns, os.O_RDONLY)
    try:
        if libc.setns(fd, 0x40000000) != 0: raise OSError(ctypes.get_errno(), "setns")
        return fn()
    finally:
        libc.setns(own, 0x40000000)
        os.close(fd); os.close(own)
def connect(deadline=20):
    end = time.time() + deadline
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=2)
        except OSError:
            if time.time() > end: raise
            time.sleep(0.1)

class Irc:
    def __init__(self, sock, nick):
        self.s, self.nick, self.buf, self.seen = sock, nick, b"", []
        self.send(f"NICK {nick}"); self.send(f"USER {nick} 0 * :{nick}")
    def send(self, l): self.s.sendall((l + "\r\n").encode())
    def line(self, timeout):
        end = time.time() + timeout
        while b"\r\n" not in self.buf:
            left = end - time.time()
            if left <= 0: return None
            self.s.settimeout(left)
            try: d = self.s.recv(65536)
            except socket.timeout: return None
            if not d: return None
            self.buf += d
        l, self.buf = self.buf.split(b"\r\n", 1)
        l = l.decode(errors="replace")
        if l.startswith("PING "): self.send("PONG " + l[5:])
        self.seen.append(l)
        return l
    def wait(self, pred, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            l = self.line(end - time.time())
            if l is None: return None
            if pred(l): return l
        return None
    def names(self, chan="#net"):
        self.send("NAMES " + chan)
        out = []
        while True:
            l = self.line(5)
            if l is None or " 366 " in l: break
            if " 353 " in l: out += [n.lstrip("@+") for n in l.split(" :", 1)[1].split()]
        return sorted(out)
    def names_become(self, want, timeout=15):
        end = time.time() + timeout
        got = None
        while time.time() < end:
            got = self.names()
            if got == sorted(want): return got
            time.sleep(0.2)
        return got

def flows(a, b, text, timeout=15):
    end, n = time.time() + timeout, 0
    while time.time() < end:
        t = f"{text} {n}"; n += 1
        a.send("PRIVMSG #net :" + t)
        if b.wait(lambda l: l.endswith(" PRIVMSG #net :" + t), 1): return True
    return False

alice = Irc(connect(), "alice")
bob = Irc(in_ns(connect), "bob")
for c in (alice, bob):
    check(f"{c.nick} registered", c.wait(lambda l: " 001 " in l, 20) is not None)
    c.send("JOIN #net")
    check(f"{c.nick} joined #net", c.wait(lambda l: " 366 " in l, 10) is not None)
check("NAMES #net on alpha lists bob (beta)", alice.names_become(["alice", "bob"]) == ["alice", "bob"])
check("lines flow alpha -> beta before the cut", flows(alice, bob, "before"))
check("lines flow beta -> alpha before the cut", flows(bob, alice, "before"))
members = rcli("HKEYS", "sockit:chan:#net")
check("sockit:chan:#net holds alpha's and beta's members", "alpha:" in members and "beta:" in members)

rules = [["INPUT", "-i", bv, "-j", "DROP"], ["OUTPUT", "-o", bv, "-j", "DROP"]]
for r in rules: subprocess.run(["ip", "netns", "exec", ns, "iptables", "-A", *r], check=True)
cut = time.time()
# Both clients read in turn, so each line's time is when it arrived, not when it was looked for.
quit_line = deg = None
quit_ms = deg_ms = -1
while time.time() < cut + 12 and (quit_line is None or deg is None):
    if quit_line is None:
        l = alice.line(0.02)
        if l and l.startswith(":bob!") and " QUIT " in l: quit_line, quit_ms = l, int((time.time() - cut) * 1000)
    if deg is None:
        l = bob.line(0.02)
        if l and " NOTICE " in l and "network is degraded" in l: deg, deg_ms = l, int((time.time() - cut) * 1000)
print(f"cut: alice saw bob QUIT {quit_ms} ms after the cut: {quit_line}", flush=True)
print(f"cut: bob's degraded NOTICE {deg_ms} ms after the cut", flush=True)
check("alice sees bob QUIT with *.net *.split", quit_line is not None and quit_line.endswith("QUIT :*.net *.split"))
check(f"within TTL + 1 s ({quit_ms} ms <= 6000 ms)", quit_line is not None and quit_ms <= 6000)
check("bob gets the degraded NOTICE", deg is not None)
check("bob's membership left sockit:chan:#net with the reap", "beta:" not in rcli("HKEYS", "sockit:chan:#net"))
check("NAMES #net on alpha without bob", alice.names() == ["alice"])

for r in rules: subprocess.run(["ip", "netns", "exec", ns, "iptables", "-D", *r], check=True)
restored = time.time()
back = bob.wait(lambda l: " NOTICE " in l and "network is back" in l, 20)
print(f"restore: bob's back NOTICE {int((time.time() - restored) * 1000)} ms after the link came back", flush=True)
check("bob gets the back NOTICE", back is not None)
join = alice.wait(lambda l: l.startswith(":bob!") and " JOIN " in l, 15)
check("alice sees bob JOIN #net again", join is not None)
check("NAMES #net on alpha: alice, bob, once each", alice.names_become(["alice", "bob"]) == ["alice", "bob"])
check("NAMES #net on beta: alice, bob, once each", bob.names_become(["alice", "bob"]) == ["alice", "bob"])
end = time.time() + 10
while time.time() < end and "beta:" not in rcli("HKEYS", "sockit:chan:#net"): time.sleep(0.1)
members = rcli("HKEYS", "sockit:chan:#net").split()
check(f"sockit:chan:#net holds both members again, once each ({members})",
      len(members) == 2 and sum(m.startswith("beta:") for m in members) == 1)
check("lines flow alpha -> beta after the restore", flows(alice, bob, "after"))
check("lines flow beta -> alpha after the restore", flows(bob, alice, "after"))
print(f"restore: resynced, lines flowing {time.time() - restored:.1f} s after the link came back", flush=True)
sys.exit(1 if fails else 0)
EOF
rc=$?
if [ "$rc" != 0 ]; then
  echo "--- alpha log"; tail -20 "$TMP/alpha.log"; echo "--- beta log"; tail -20 "$TMP/beta.log"
  echo "some checks failed"
  exit 1
fi
echo "all checks passed"
