"""Shared by servers_faults_udp_reflect.py and servers_faults_echo_membudget.py (issue 24): an
`sockit echo-server` child read through its stderr banner and SIGUSR1 counters, checks, and a
run() that kills only the PIDs started here and exits 0 / 1."""
import os, re, select, signal, subprocess, sys, time

PROCS = []
FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILS.append(what)


class EchoServer:
    """`SOCKIT echo-server ARGS`; `port` is the first one the banner matched by `port_re` names."""

    def __init__(self, sockit, args, port_re, env=None):
        self.p = subprocess.Popen([sockit, "echo-server", *args], stderr=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL, env=env)
        PROCS.append(self.p)
        self.out = ""
        self.port = int(self.wait_for(port_re))

    def read(self, timeout):
        r, _, _ = select.select([self.p.stderr], [], [], timeout)
        if r:
            self.out += os.read(self.p.stderr.fileno(), 65536).decode(errors="replace")

    def wait_for(self, pattern, start=0, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            m = re.search(pattern, self.out[start:])
            if m:
                return m.group(1)
            self.read(0.1)
        raise SystemExit(f"FAIL server never printed {pattern!r}: {self.out[-2000:]!r}")

    def counters(self, part=None):
        """SIGUSR1; the key=value pairs of the line it prints (of its "udp" part if part="udp")."""
        start = len(self.out)
        self.p.send_signal(signal.SIGUSR1)
        line = self.wait_for(r"(counters:.*)\n", start)
        if part:
            line = line.split(f" {part} ", 1)[1]
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}

    def stop(self, timeout=20):
        self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return self.p.wait()


def run(main):
    try:
        main()
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait()
    if FAILS:
        print(f"{len(FAILS)} check(s) failed")
        sys.exit(1)
    print("all checks passed")
