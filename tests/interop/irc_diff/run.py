#!/usr/bin/env python3
"""Differential IRC sessions: the same scripted client sessions against sockit chat-server,
Debian's ngircd and Debian's inspircd (each started here on 127.0.0.1, configured in a temporary
directory), replies normalized (nicks, channels, server names, timestamps, versions and free text
masked) and compared, sockit against each of the others. Python 3 standard library only.

  run.py --sockit PATH --config ngircd=FILE --config inspircd=FILE [--sessions DIR] [--expected FILE] [--only GLOB] [--servers a,b,c] [-v]

Session files (sessions/*.irc), one session per block:

  == name: A B~ C        a session and its clients; A and C register as $A and $C first, B~ is a
                         raw connection that registers itself (or not)
  A> LINE                client A sends LINE; then every open client is synced (PING/PONG) and
                         what each received is that step's reply
  A>! LINE               the same without syncing A (a server that holds A's later lines back)
  A? KIND[|KIND]         client A waits (deadline) for a line of that command/numeric; ERROR or
                         CLOSE also waits for the connection to close
  # comment

In LINE, $A..$Z are the clients' nicks (unique per session; $Ax appends x), #word is a channel
unique to the session (\\# keeps a literal #), $~A is $A in lower case, $OPER/$OPERPASS the operator credentials.
Unregistered (raw) clients are not synced with PING: give them `?` steps.

Exit: 0 when every difference is listed in the expected file, 1 when a difference is new, 2 for
usage or start-up errors, 77 when ngircd or inspircd is missing.
"""
import argparse
import difflib
import fnmatch
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

TIMES = {}
DEADLINE = 5.0          # seconds a reply may take (sockit answers a failed OPER after 1 s)
OPER, OPERPASS = "diffoper", "diffpass"
SERVER_NAMES = {"sockit": "diff.sockit.test"}   # the others' are read from their configurations


class Fatal(Exception):
    """A start-up or input error: reported on stderr, exit status 2."""


def die(msg):
    raise Fatal(msg)


# ---------------------------------------------------------------- servers

def wait_port(port, proc, log, what):
    end = time.monotonic() + 20
    while time.monotonic() < end:
        if proc.poll() is not None:
            die(f"{what} exited with {proc.returncode}: {open(log).read()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            pass
        select.select([], [], [], 0.05)   # poll interval of the start-up wait
    die(f"{what} did not listen on {port}: {open(log).read()[-2000:]}")


# What the differential sessions need on top of bench/irc_servers.sh's configurations (which
# tests/interop/irc_diff.sh writes with irc_server_cmd and passes in with --config): an operator,
# channels created without modes as in sockit's configuration below (ngircd 26 has no default channel
# modes), inspircd's CAP module and the modules of the modes sockit has (banexception +e,
# inviteexception +I, noctcp +C, monitor, botmode +B).
EXTRA_CONFIG = {
    "ngircd": f"""[Options]
OperCanUseMode = yes
[Operator]
Name = {OPER}
Password = {OPERPASS}
""",
    "inspircd": f"""<options defaultmodes="o">
<module name="cap">
<module name="banexception">
<module name="inviteexception">
<module name="noctcp">
<module name="monitor">
<module name="botmode">
<class name="diffall" commands="*" privs="*" usermodes="*" chanmodes="*">
<type name="diffadmin" classes="diffall">
<oper name="{OPER}" password="{OPERPASS}" host="*@*" type="diffadmin">
""",
}


def start_server(name, tmp, sockit, conf=None):
    """-> (process, port). sockit gets a configuration written here; ngircd and inspircd start
    from CONF with EXTRA_CONFIG appended, their port and server name read back from it."""
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    log = os.path.join(d, "log")
    if name == "sockit":
        port = None       # port 0: the banner tells the one the kernel picked
        motd = os.path.join(d, "motd")
        with open(motd, "w") as f:
            f.write("Welcome\n")
        h = subprocess.run([sockit, "chat-server", "--hash-password", "--iterations", "1000"],
                           input=OPERPASS + "\n", capture_output=True, text=True, check=True)
        conf = os.path.join(d, "chat.toml")
        with open(conf, "w") as f:
            f.write(f'[server]\nname = "{SERVER_NAMES[name]}"\nmotd_file = "{motd}"\n'
                    f'default_channel_modes = ""\n[limits]\nmax_per_ip = 0\n'
                    f'[[operator]]\nname = "{OPER}"\npassword = "{h.stdout.strip()}"\nhost = "*"\n')
        cmd = [sockit, "chat-server", "--config", conf, "--listen", "127.0.0.1:0",
               "--no-flood-control", "--quiet"]
    else:
        with open(conf, "a") as f:
            f.write(EXTRA_CONFIG[name])
        text = open(conf).read()
        if name == "ngircd":
            port = int(re.search(r"(?m)^Ports = (\d+)", text).group(1))
            SERVER_NAMES[name] = re.search(r"(?m)^Name = (\S+)", text).group(1)
            cmd = ["ngircd", "-n", "-f", conf]
        else:
            port = int(re.search(r'<bind [^>]*port="(\d+)"', text).group(1))
            SERVER_NAMES[name] = re.search(r'<server name="([^"]+)"', text).group(1)
            cmd = ["inspircd", "--nofork", "--config", conf]
            if os.getuid() == 0:
                cmd.append("--runasroot")
    logf = open(log, "w")
    proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=d)
    end = time.monotonic() + 20
    while port is None:
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", open(log).read())
        if m:
            port = int(m.group(1))
        elif proc.poll() is not None or time.monotonic() > end:
            die(f"{name} printed no address: {open(log).read()[-2000:]}")
        else:
            select.select([], [], [], 0.05)   # poll interval of the start-up wait
    wait_port(port, proc, log, name)
    return proc, port


# ---------------------------------------------------------------- messages

def parse(line):
    """-> (prefix, command, params) of one IRC line (tags dropped)."""
    if line.startswith("@"):
        line = line.split(" ", 1)[1] if " " in line else ""
    prefix = ""
    if line.startswith(":"):
        prefix, _, line = line[1:].partition(" ")
    trailing = None
    if " :" in line:
        line, trailing = line.split(" :", 1)
    elif line.startswith(":"):
        line, trailing = "", line[1:]
    words = line.split()
    cmd = words[0].upper() if words else ""
    params = words[1:]
    if trailing is not None:
        params.append(trailing)
    return prefix, cmd, params


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
        self.buf = b""
        self.pending = []
        self.closed = False
        self.sync_n = 0

    def send(self, line):
        if self.closed:
            return
        try:
            self.sock.sendall(line.encode("utf-8", "surrogateescape") + b"\r\n")
        except OSError:
            self.closed = True

    def _fill(self, until):
        left = until - time.monotonic()
        if left <= 0 or self.closed:
            return False
        r, _, _ = select.select([self.sock], [], [], left)
        if not r:
            return False
        try:
            data = self.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self.closed = True
            if self.buf:
                self.pending.append(self.buf.decode("utf-8", "replace"))
                self.buf = b""
            return False
        self.buf += data
        *lines, self.buf = self.buf.split(b"\n")
        self.pending += [x.rstrip(b"\r").decode("utf-8", "replace") for x in lines]
        return True

    def until(self, pred, timeout=DEADLINE):
        """Lines up to and including the first one pred accepts; (lines, found)."""
        end = time.monotonic() + timeout
        i = 0
        while True:
            while i < len(self.pending):
                if pred(self.pending[i]):
                    got, self.pending = self.pending[:i + 1], self.pending[i + 1:]
                    return got, True
                i += 1
            if not self._fill(end):
                if self.closed or time.monotonic() >= end:
                    got, self.pending = self.pending, []
                    return got, False

    def wait_close(self, timeout=DEADLINE):
        end = time.monotonic() + timeout
        while not self.closed and self._fill(end):
            pass
        got, self.pending = self.pending, []
        return got

    def sync(self):
        """Everything the server sent before it answered a PING sent now."""
        self.sync_n += 1
        token = f"diffsync{self.sync_n}"
        self.send(f"PING :{token}")
        got, found = self.until(lambda l: parse(l)[1] == "PONG" and parse(l)[2][-1:] == [token])
        if found:
            got = got[:-1]
        elif not self.closed:
            got.append("<no PONG before the deadline>")
        return got

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------- sessions

class Session:
    def __init__(self, name, clients, steps, where):
        self.name, self.clients, self.steps, self.where = name, clients, steps, where


def load_sessions(paths):
    sessions = []
    for path in paths:
        cur = None
        for n, raw in enumerate(open(path, encoding="utf-8"), 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            where = f"{os.path.basename(path)}:{n}"
            m = re.match(r"^== (\S+):((?: [A-Z]~?)+)\s*$", line)
            if m:
                cur = Session(m.group(1), m.group(2).split(), [], where)
                sessions.append(cur)
                continue
            m = re.match(r"^([A-Z])(>!|[>?]) ?(.*)$", line)
            if not m or cur is None:
                die(f"{where}: cannot read: {line}")
            if m.group(1) not in [c.rstrip("~") for c in cur.clients]:
                die(f"{where}: client {m.group(1)} is not in the session's list")
            cur.steps.append((m.group(1), m.group(2), m.group(3), where))
    names = [s.name for s in sessions]
    dup = {x for x in names if names.count(x) > 1}
    if dup:
        die(f"duplicate session names: {sorted(dup)}")
    return sessions


def nick_of(letter, idx):
    return f"{letter}x{idx}"


def expand(text, idx):
    text = re.sub(r"\$OPERPASS", OPERPASS, text)
    text = re.sub(r"\$OPER", OPER, text)
    text = re.sub(r"\$~([A-Z])", lambda m: nick_of(m.group(1), idx).lower(), text)
    text = re.sub(r"\$([A-Z])", lambda m: nick_of(m.group(1), idx), text)
    text = re.sub(r"(?<![\\\w])#([A-Za-z][\w-]*)", lambda m: f"#{m.group(1)}-{idx}", text)
    return text.replace("\\#", "#")


# Numerics whose last parameter is data, not free text (kept in the comparison).
KEEP_LAST = {"221", "301", "302", "303", "311", "314", "319", "322", "324", "332", "341", "352",
             "353", "367", "346", "348", "354", "730", "731", "732"}
# Lines left out of every comparison: version-, configuration- and count-dependent welcome lines.
SKIP_KINDS = {"002", "003", "004", "005", "042", "250", "251", "252", "253", "254", "255", "265",
              "266", "396"}


def normalize(line, idx, server):
    prefix, cmd, params = parse(line)
    srv = SERVER_NAMES[server]

    def word(w):
        w = w.replace(srv, "<srv>")
        w = re.sub(r"(?i)(?<![\w])([a-z])x%d(?![\d])" % idx, lambda m: "$" + m.group(1).upper(), w)
        w = re.sub(r"(?i)#([\w]+)-%d(?![\d])" % idx, lambda m: "#" + m.group(1).lower(), w)
        w = re.sub(r"^\d{9,}$", "<ts>", w)
        return w
    if prefix:
        p = word(prefix)
        p = re.sub(r"^([^!@]+)!~?[^@]*@.*$", r"\1!<u>@<h>", p)
        prefix = p
    if cmd in SKIP_KINDS:
        return None
    # Server notices are free text (connection notices, snomasks): not compared.
    if cmd == "NOTICE" and (prefix == "<srv>" or not prefix):
        return None
    params = [word(p) for p in params]
    if re.fullmatch(r"\d{3}", cmd):
        if cmd == "351":
            params = params[:1] + ["<version>"] * (len(params) - 1)
        elif cmd == "317":
            params = params[:2] + ["<n>"] * (len(params) - 2)
        elif cmd == "352" and params:
            params[-1] = re.sub(r"^\d+ ", "<hops> ", params[-1])
        elif cmd in {"311", "314"} and len(params) >= 4:
            params[2] = "<u>" if params[2].lstrip("~") == "u" else params[2]
            params[3] = "<h>"
        elif cmd in {"312"} and len(params) >= 3:
            params[-1] = "<text>"
        elif cmd not in KEEP_LAST and len(params) >= 2:
            params[-1] = "<text>"
        if cmd in {"352"} and len(params) >= 4:
            params[2] = "<u>" if params[2].lstrip("~") == "u" else params[2]
            params[3] = "<h>"
        if cmd in {"302"} and params:
            params[-1] = re.sub(r"=([+-])~?u@127\.0\.0\.1", r"=\1<u>@<h>", params[-1])
        if cmd in {"302", "303"} and params:
            params[-1] = " ".join(params[-1].split())
        if cmd == "730" and params:   # MONITOR: nick!user@host,... (user and host masked)
            params[-1] = re.sub(r"!~?[^@,]*@[^,]*", "!<u>@<h>", params[-1])
        if cmd in {"730", "731", "732"} and params:   # MONITOR lists: order is the server's
            params[-1] = ",".join(sorted(params[-1].split(",")))
        if cmd == "319" and params:
            params[-1] = " ".join(sorted(params[-1].split()))
        if cmd == "353" and params:
            params[-1] = " ".join(sorted(params[-1].split()))
        if cmd == "367" and len(params) >= 4:
            params[3] = re.sub(r"!.*", "", params[3])
    elif cmd == "ERROR":
        params = ["<text>"]
    elif cmd == "CAP" and len(params) >= 3 and params[1] in ("LS", "LIST"):
        params[-1] = "<caps>"
    elif cmd in {"PONG", "PING"} and params:
        params = ["<srv>" if p == srv else p for p in params]
    out = (f":{prefix} " if prefix else "") + cmd
    if params:
        out += "".join(f" {p}" for p in params[:-1]) + " :" + params[-1]
    return out


def run_session(sess, idx, port, server):
    """-> list of (step label, client, [normalized lines])"""
    clients = {}
    out = []
    lazy = set()        # clients expected to be closed by someone else: synced only on their own steps
    for c in sess.clients:
        letter = c.rstrip("~")
        for (who, kind, arg, _) in sess.steps:
            if who == letter and kind == "?" and re.search(r"\b(ERROR|CLOSE)\b", arg):
                lazy.add(letter)
    raw = {c.rstrip("~") for c in sess.clients if c.endswith("~")}
    try:
        for c in sess.clients:
            letter = c.rstrip("~")
            clients[letter] = Client(port)
            if letter not in raw:
                clients[letter].send(f"NICK {nick_of(letter, idx)}")
                clients[letter].send(f"USER u 0 * :Real {letter}")
        for letter, cl in clients.items():
            if letter not in raw:
                got, ok = cl.until(lambda l: parse(l)[1] in {"376", "422"})
                if not ok:
                    out.append(("register", letter, ["<registration failed> " + " | ".join(got[-3:])]))
                cl.sync()
        for n, (who, kind, arg, _) in enumerate(sess.steps, 1):
            cl = clients[who]
            if kind in (">", ">!"):
                line = expand(arg, idx)
                cl.send(line)
                label = f"{n} {who}> {arg}"
                if parse(line)[1] == "QUIT":
                    out.append((label, who, cl.wait_close()))
                    cl.closed = True
                elif who in raw or who in lazy or kind == ">!":
                    pass
                else:
                    out.append((label, who, cl.sync()))
                for other, ocl in clients.items():
                    if other == who or other in raw or other in lazy or ocl.closed:
                        continue
                    got = ocl.sync()
                    if got:
                        out.append((label, other, got))
            else:
                kinds = set(arg.upper().split("|"))
                label = f"{n} {who}? {arg}"
                got, ok = cl.until(lambda l: parse(l)[1] in kinds)
                if ok and kinds & {"ERROR", "CLOSE"}:
                    got += cl.wait_close()
                if not ok and not ("CLOSE" in kinds and cl.closed):
                    got.append(f"<no {arg} before the deadline>")
                out.append((label, who, got))
        # What is left for the lazy and raw clients (their last replies).
        for letter, cl in clients.items():
            if (letter in lazy or letter in raw) and not cl.closed and cl.pending:
                out.append(("end", letter, cl.pending))
    finally:
        for cl in clients.values():
            if not cl.closed:
                cl.send("QUIT :end of session")
                cl.wait_close(2.0)
            cl.close()
    result = []
    for label, who, lines in out:
        norm = [x for x in (normalize(l, idx, server) if not l.startswith("<") else l for l in lines) if x]
        result.append((label, who, sort_runs(norm)))
    return result


# Replies whose order is the server's table order (inspircd's follows memory addresses): a run of
# consecutive lines of one of these numerics is compared sorted. The WHOIS replies between 311 and
# 318 come in each server's own order (no text fixes it): compared sorted too.
UNORDERED = {"352": "352", "354": "354", "353": "353", "322": "322", "314": "314"}
UNORDERED.update({k: "whois" for k in ("301", "307", "311", "312", "313", "317", "319", "320",
                                      "330", "338", "378", "379", "671")})


def sort_runs(lines):
    """Unordered runs sorted, and a line repeated right after itself kept once (INFO and MOTD
    bodies, whose text is masked, differ only in their number of lines)."""
    out, i = [], 0
    while i < len(lines):
        group = UNORDERED.get(parse(lines[i])[1])
        j = i + 1
        if group:
            while j < len(lines) and UNORDERED.get(parse(lines[j])[1]) == group:
                j += 1
            out += sorted(lines[i:j])
        else:
            out.append(lines[i])
        i = j
    return [l for k, l in enumerate(out) if k == 0 or l != out[k - 1]]


def transcript(result):
    """One element per received line, "step\x00client: line"; steps keep the alignment."""
    out = []
    for label, who, lines in result:
        for l in lines:
            out.append(f"{label}\x00{who}: {l}")
        out.append(f"{label}\x00--")
    return out


def diff_lines(base, other):
    """(step, '-client: line') for lines only sockit sent and (step, '+client: line') for lines only
    the other server sent."""
    diffs = []
    sm = difflib.SequenceMatcher(a=base, b=other, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        for sign, seq in (("-", base[i1:i2]), ("+", other[j1:j2])):
            for l in seq:
                step, _, text = l.partition("\x00")
                if text != "--":
                    diffs.append((step, sign + text))
    return diffs


def load_expected(path):
    rules = []
    if not path or not os.path.exists(path):
        return rules
    for n, raw in enumerate(open(path, encoding="utf-8"), 1):
        line = raw.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(None, 3)
        if len(parts) != 4 or not re.match(r"^(TOFIX|ACCEPT):\S+$", parts[0]):
            die(f"{path}:{n}: want 'TOFIX:id|ACCEPT:id SERVER SESSION-GLOB LINE-GLOB'")
        rules.append({"status": parts[0], "server": parts[1], "session": parts[2], "line": parts[3],
                      "where": f"{os.path.basename(path)}:{n}", "used": 0})
    return rules


def match_rule(rules, server, session, dline):
    for r in rules:
        if r["server"] not in ("*", server):
            continue
        if not fnmatch.fnmatchcase(session, r["session"]):
            continue
        if fnmatch.fnmatchcase(dline, r["line"]):
            r["used"] += 1
            return r
    return None


def serial(sess):
    """Sessions that see server-wide state (operators get WALLOPS, NAMES/LIST without a channel,
    LIST with a filter or a mask,
    LUSERS counts) run alone; the others run WORKERS at a time (inspircd completes a registration
    on its once-a-second timer, so one after another would take minutes)."""
    return any(re.match(r"(?i)^(WALLOPS|OPER|KILL|LUSERS|NAMES\s*$|LIST\s*$|LIST\s+\S*[*?<>!]|WHO\s*$)", arg)
               for _, kind, arg, _ in sess.steps if kind.startswith(">"))


WORKERS = 16


def run_all(server, sessions, port, results, offset):
    def one(i, s):
        t0 = time.monotonic()
        try:
            results[(server, s.name)] = run_session(s, offset + i, port, server)
        except Exception as e:  # a session that breaks is a difference, not a crash of the suite
            results[(server, s.name)] = [("error", "", [f"<session failed: {type(e).__name__}: {e}>"])]
        TIMES[(server, s.name)] = time.monotonic() - t0

    todo = [(i, s) for i, s in enumerate(sessions) if not serial(s)]
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                i, s = todo.pop(0)
            one(i, s)
    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, s in enumerate(sessions):
        if serial(s):
            one(i, s)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sockit", required=True)
    ap.add_argument("--config", action="append", default=[], metavar="SERVER=FILE",
                    help="ngircd=FILE, inspircd=FILE: configurations from bench/irc_servers.sh")
    ap.add_argument("--sessions", default=os.path.join(here, "sessions"))
    ap.add_argument("--expected", default=os.path.join(here, "expected_differences.txt"))
    ap.add_argument("--only", default="*", help="session name glob")
    ap.add_argument("--servers", default="sockit,ngircd,inspircd")
    ap.add_argument("--transcript", help="write each server's normalized transcripts to this directory")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every difference")
    ap.add_argument("--coverage", action="store_true",
                    help="print, for each command the sessions send themselves (not the harness's registration), "
                         "how many sessions send it; start no server")
    args = ap.parse_args()

    servers = args.servers.split(",")
    args.sockit = os.path.abspath(args.sockit)
    for s in servers:
        if s != "sockit" and not shutil.which(s):
            print(f"SKIP: {s} is not installed")
            return 77
    files = sorted(os.path.join(args.sessions, f) for f in os.listdir(args.sessions) if f.endswith(".irc"))
    sessions = [s for s in load_sessions(files) if fnmatch.fnmatchcase(s.name, args.only)]
    rules = load_expected(args.expected)
    if args.coverage:
        sent = {}
        for sess in sessions:
            for _, kind, arg, _ in sess.steps:
                if kind.startswith(">"):
                    cmd = parse(expand(arg, 0))[1] or "(empty)"
                    sent.setdefault(cmd, set()).add(sess.name)
        for cmd in sorted(sent):
            print(f"{cmd:10} {len(sent[cmd]):4}")
        return 0
    confs = dict(c.split("=", 1) for c in args.config if "=" in c)
    missing = [s for s in servers if s != "sockit" and s not in confs]
    if missing:
        die(f"--config {missing[0]}=FILE is missing (tests/interop/irc_diff.sh writes them)")
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="sockit-irc-diff.")
    procs = {}
    try:
        for s in servers:
            try:
                procs[s] = start_server(s, tmp, args.sockit, confs.get(s))
            except (OSError, subprocess.CalledProcessError) as e:
                die(f"cannot start {s}: {e}")
        results = {}
        threads = [threading.Thread(target=run_all, args=(s, sessions, procs[s][1], results, 100))
                   for s in servers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for s, (p, _) in procs.items():
            p.terminate()
        for s, (p, _) in procs.items():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if args.transcript:
            os.makedirs(args.transcript, exist_ok=True)
            for s in servers:
                if os.path.exists(os.path.join(tmp, s, "log")):
                    shutil.copy(os.path.join(tmp, s, "log"), os.path.join(args.transcript, f"{s}.log"))
        shutil.rmtree(tmp, ignore_errors=True)

    if args.transcript:
        for s in servers:
            with open(os.path.join(args.transcript, f"{s}.txt"), "w") as f:
                for sess in sessions:
                    f.write(f"== {sess.name}\n")
                    for l in transcript(results[(s, sess.name)]):
                        step, _, text = l.partition("\x00")
                        f.write(f"{text}\n" if text != "--" else f"   -- {step}\n")

    new = []
    counts = {}
    both = 0
    for other in servers:
        if other == "sockit":
            continue
        counts[other] = {"sessions": 0, "lines": 0, "tofix": 0, "accept": 0, "new": 0}
    for sess in sessions:
        base = transcript(results[("sockit", sess.name)])
        per = {}
        for other in counts:
            d = diff_lines(base, transcript(results[(other, sess.name)]))
            per[other] = d
            if d:
                counts[other]["sessions"] += 1
            for step, dl in d:
                counts[other]["lines"] += 1
                r = match_rule(rules, other, sess.name, dl)
                if r is None:
                    counts[other]["new"] += 1
                    new.append((other, sess.name, step, dl))
                elif r["status"].startswith("TOFIX"):
                    counts[other]["tofix"] += 1
                else:
                    counts[other]["accept"] += 1
                if args.verbose:
                    print(f"{other:8} {sess.name:24} {r['status'] if r else 'NEW':20} [{step}] {dl}")
        if len(per) == 2 and all(per.values()):
            o = list(counts)
            if transcript(results[(o[0], sess.name)]) == transcript(results[(o[1], sess.name)]):
                both += 1
                if args.verbose:
                    print(f"# {sess.name}: ngircd and inspircd agree, sockit differs")
    dt = time.monotonic() - t0
    print(f"# {len(sessions)} sessions against {', '.join(servers)} in {dt:.1f} s")
    for other, c in counts.items():
        print(f"# sockit vs {other}: {c['sessions']} sessions differ, {c['lines']} lines "
              f"({c['tofix']} to fix, {c['accept']} accepted, {c['new']} new)")
    print(f"# sessions where ngircd and inspircd agree and sockit differs: {both}")
    if args.verbose:
        slow = sorted(TIMES.items(), key=lambda kv: -kv[1])[:10]
        print("# slowest: " + ", ".join(f"{k[0]}/{k[1]} {v:.1f}s" for k, v in slow))
    for other, name, step, dl in new:
        print(f"NEW  {other} {name} [{step}] {dl}")
    if args.only == "*" and len(servers) == 3:
        for r in rules:
            if not r["used"]:
                print(f"note: {r['where']} matched nothing (fixed? remove it): {r['status']} {r['server']} "
                      f"{r['session']} {r['line']}")
    return 1 if new else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Fatal as e:
        print(f"irc_diff: {e}", file=sys.stderr)
        sys.exit(2)
