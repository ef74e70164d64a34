#!/usr/bin/env bash
# The servers' logs (docs/OPERATIONS.md "Logs", issue 22 item 2): with --log-format json every
# stderr line of chat-server is one JSON object (ts, level, app, msg, fields) that jq parses, with
# the operator events (connections, registrations, PASS and OPER failures, OPER, KILL, quits,
# SIGHUP reload, SIGTERM); --log-level filters; and no password - the server's (PASS), an
# operator's (OPER, even given in the name's place), the one `sockit chat --password` takes on its
# command line - appears in any log line, in json or text form.
source "$(dirname "$0")/chat_lib.bash"
CHAT_EXTRA_CLEANUP=${KEEP:+"cp -r \$T /tmp/keep"}
need jq python3

SRV_PW='srv-Secret-7f3a'
OP_PW='op-Secret-91bd'
BAD_PASS='wrong-Pass-x1c'
BAD_OPER='wrong-Oper-x2d'
SECRETS=("$SRV_PW" "$OP_PW" "$BAD_PASS" "$BAD_OPER")
HASH_SRV=$(echo "$SRV_PW" | "$SOCKIT" chat-server --hash-password --iterations 1000)
HASH_OP=$(echo "$OP_PW" | "$SOCKIT" chat-server --hash-password --iterations 1000)
cat >"$T/chat.toml" <<TOML
[server]
listen = ["127.0.0.1:0"]
password = "$HASH_SRV"

[[operator]]
name = "root"
password = "$HASH_OP"
host = "*"
TOML

# drive FORMAT LEVEL SCENARIO: runs chat-server (stderr -> $T/FORMAT.log), the IRC clients of
# SCENARIO (full | short), then SIGHUP and SIGTERM; exit status 0 when every client step went as
# the protocol says.
drive() {
  python3 - "$SOCKIT" "$T" "$1" "$2" "$3" "$SRV_PW" "$OP_PW" "$BAD_PASS" "$BAD_OPER" <<'PY'
import json, os, re, signal, socket, subprocess, sys, time
sockit, tmp, fmt, level, scenario, srv_pw, op_pw, bad_pass, bad_oper = sys.argv[1:]
log_path = f"{tmp}/{fmt}.log"
err = open(log_path, "wb")
srv = subprocess.Popen([sockit, "chat-server", "-c", f"{tmp}/chat.toml", "--log-format", fmt, "--log-level", level,
                        "--no-flood-control"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
ok = True
def fail(what):
    global ok
    ok = False
    print(f"# {fmt}: {what}")
def wait_log(pattern, limit=10.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        m = re.search(pattern, open(log_path, encoding="utf-8", errors="replace").read())
        if m:
            return m
        time.sleep(0.05)
    return None
class Client:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
    def send(self, *lines):
        self.s.sendall(b"".join(l.encode() + b"\r\n" for l in lines))
    def expect(self, pattern, what):
        end = time.monotonic() + 10
        while time.monotonic() < end:
            m = re.search(pattern.encode(), self.buf)
            if m:
                return True
            try:
                data = self.s.recv(4096)
            except socket.timeout:
                break
            if not data:
                m = re.search(pattern.encode(), self.buf)
                break
            self.buf += data
        if not re.search(pattern.encode(), self.buf):
            fail(f"{what}: no {pattern!r} in {self.buf[-300:]!r}")
            return False
        return True
try:
    m = wait_log(r"listening on 127\.0\.0\.1:(\d+)")
    if not m:
        fail("the server did not say where it listens")
        sys.exit(1)
    port = int(m.group(1))
    bad = Client(port)
    bad.send(f"PASS {bad_pass}", "NICK mallory", "USER m 0 * :m")
    bad.expect(r" 464 ", "a wrong PASS gets 464")
    alice = Client(port)
    alice.send(f"PASS {srv_pw}", "NICK alice", "USER a 0 * :Alice")
    alice.expect(r" 001 alice ", "the right PASS registers")
    if scenario == "full":
        alice.send(f"OPER root {bad_oper}")
        alice.expect(r" 491 ", "a wrong OPER password gets 491")
        alice.send(f"OPER {op_pw} root")  # the password in the name's place
        alice.expect(r" 491 .*\n(.|\n)* 491 ", "OPER with the parameters swapped gets 491")
    alice.send(f"OPER root {op_pw}")
    alice.expect(r" 381 ", "the right OPER password gets 381")
    if scenario == "full":
        bob = Client(port)
        bob.send(f"PASS {srv_pw}", "NICK bob", "USER b 0 * :Bob")
        bob.expect(r" 001 bob ", "bob registers")
        alice.send("KILL bob :enough")
        bob.expect(r"KILL bob :enough", "bob sees the KILL")
        # The client's --password, on its command line.
        out = open(f"{tmp}/client.out", "wb")
        carol = subprocess.Popen([sockit, "chat", f"127.0.0.1:{port}", "--nick", "carol", "--plain",
                                  "--password", srv_pw], stdin=subprocess.PIPE, stdout=out, stderr=out)
        if not wait_log(r"client registered.*carol|carol.*client registered"):
            fail("sockit chat --password did not register (server log has no 'client registered' for carol)")
        carol.communicate(b"/quit bye\n", timeout=20)
    alice.send("QUIT :done")
    alice.expect(r"ERROR", "QUIT closes")
    for c in [bad, alice] + ([bob] if scenario == "full" else []):
        c.s.close()  # the server's linger after SIGTERM then has no one to wait for
    srv.send_signal(signal.SIGHUP)
    if not wait_log(r"configuration reloaded"):
        fail("no 'configuration reloaded' after SIGHUP")
    srv.send_signal(signal.SIGTERM)
    rc = srv.wait(timeout=15)
    if rc != 0:
        fail(f"exit status {rc} after SIGTERM")
finally:
    if srv.poll() is None:
        srv.kill()
        srv.wait()
sys.exit(0 if ok else 1)
PY
}

drive json debug full && pass "json: every client step as expected" || fail "json: a client step failed"
J=$T/json.log
n=$(wc -l <"$J")
if jq -e -s --argjson n "$n" 'length == $n and length > 10 and all(.[];
      type == "object" and (.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"))
      and (.level | IN("debug", "info", "warn", "error")) and .app == "chat-server" and (.msg | type == "string"))' \
    "$J" >/dev/null; then
  pass "json: all $n stderr lines are objects with ts, level, app, msg"
else
  fail "json: a line is not a log object"; head -c 3000 "$J"
fi
# event MSG LEVEL [JQ-CONDITION]: a line with that message and level.
event() {
  jq -e -s --arg m "$1" --arg l "$2" "any(.[]; .msg == \$m and .level == \$l and (${3:-true}))" "$J" >/dev/null &&
    pass "json: '$1' at $2" || fail "json: no '$1' at $2 ${3:-}"
}
event "connection" debug '.ip == "127.0.0.1" and (.client | type == "number")'
event "wrong server password (PASS)" warn '.ip == "127.0.0.1" and .nick == "mallory"'
event "client registered" info '.nick == "alice"'
event "OPER refused" warn '.nick == "alice" and .operator == "root"'
event "OPER refused" warn '.nick == "alice" and has("operator") == false'
event "OPER succeeded" info '.operator == "root"'
event "client killed" info '.nick == "bob" and .ip == "127.0.0.1" and (.reason | test("by alice!~?[a-z]+@127.0.0.1: enough"))'
event "client quit" debug '.nick == "alice" and .reason == "Quit: done"'
event "client quit" debug '.nick == "mallory" and .reason == "Bad password"'
event "SIGHUP: reloading the configuration" info '(.file | endswith("chat.toml"))'
event "SIGTERM, closing connections (drain 5s)" info

drive text info short && pass "text: every client step as expected" || fail "text: a client step failed"
X=$T/text.log
grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z info  sockit chat-server: client registered client=[0-9]+ nick=alice ip=127\.0\.0\.1$' "$X" &&
  pass "text: 'TIMESTAMP LEVEL sockit chat-server: message key=value' lines" || { fail "text: no registration line"; cat "$X"; }
# At info a connection is one line at most (its registration): its quit is at debug.
[ "$(grep -Ec 'chat-server: client [a-z]+ client=[0-9]+ nick=alice ' "$X")" = 1 ] && ! grep -q 'client quit' "$X" &&
  pass "text: at info one line per connection (registration; the quit at debug)" ||
  { fail "text: more than one info line for alice's connection"; cat "$X"; }
grep -q ' debug ' "$X" && fail "text: --log-level info shows debug lines" || pass "text: --log-level info hides debug lines"
grep -Eq '^[^ ]+ warn  sockit chat-server: wrong server password \(PASS\) ' "$X" && pass "text: PASS failure at warn" ||
  fail "text: no PASS failure line"

leaks=0
for s in "${SECRETS[@]}"; do
  for f in "$J" "$X" "$T/client.out"; do
    if grep -qF -- "$s" "$f"; then leaks=1; echo "# secret '$s' in $(basename "$f"): $(grep -F -- "$s" "$f" | head -2)"; fi
  done
done
[[ $leaks -eq 0 ]] && pass "no password (PASS, OPER, OPER swapped, chat --password) in any log line" || fail "a password was logged"

# The stderr-reading checks below share wait(pattern): polls the file `log` for a regex (10 s).
export WAIT_PY='def wait(pattern):
    end = time.monotonic() + 10
    while time.monotonic() < end:
        m = re.search(pattern, open(log).read())
        if m:
            return m
        time.sleep(0.05)
'

# echo-server: the same layer; its banner, SIGUSR1 counters and SIGTERM lines are JSON too.
python3 - "$SOCKIT" "$T/echo.log" <<'PY' && pass "echo-server --log-format json: serves, exits 0" || fail "echo-server --log-format json"
import os, re, signal, socket, subprocess, sys, time
sockit, log = sys.argv[1:]
p = subprocess.Popen([sockit, "echo-server", "-l", "127.0.0.1:0", "--log-format", "json"], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=open(log, "wb"))
exec(os.environ["WAIT_PY"])  # wait(pattern)
m = wait(r"listening on tcp 127\.0\.0\.1:(\d+)")
ok = m is not None
if ok:
    with socket.create_connection(("127.0.0.1", int(m.group(1))), timeout=5) as c:
        c.sendall(b"ping\n")
        ok = c.recv(16) == b"ping\n"
    p.send_signal(signal.SIGUSR1)
    ok = ok and wait(r"counters: tcp accepted=1") is not None
p.send_signal(signal.SIGTERM)
sys.exit(0 if ok and p.wait(timeout=15) == 0 else 1)
PY
jq -e -s 'length >= 4 and all(.[]; type == "object" and .app == "echo-server" and (.msg | type == "string"))' "$T/echo.log" >/dev/null &&
  pass "echo-server: every stderr line is a JSON log object ($(wc -l <"$T/echo.log") lines)" || { fail "echo-server json lines"; cat "$T/echo.log"; }

# proxy: the same layer; its banner, metrics address, -v connection lines, an upstream that refuses
# (an error line) and the stopped: line are JSON objects too.
python3 - "$SOCKIT" "$T/proxy.log" <<'PY' && pass "proxy --log-format json: refused upstream reported, exits 0" || fail "proxy --log-format json"
import os, re, signal, socket, subprocess, sys, time
sockit, log = sys.argv[1:]
closed = socket.socket()
closed.bind(("127.0.0.1", 0))
up = closed.getsockname()[1]
closed.close()  # nothing listens there now: the proxy's upstream connect is refused
p = subprocess.Popen([sockit, "proxy", "--upstream", f"127.0.0.1:{up}", "--metrics", "127.0.0.1:0", "-v",
                      "--log-format", "json"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=open(log, "wb"))
exec(os.environ["WAIT_PY"])  # wait(pattern)
m = wait(r"listening on 127\.0\.0\.1:(\d+)")
ok = m is not None and wait(r"metrics on http://127\.0\.0\.1:\d+/metrics") is not None
if ok:
    try:  # the proxy may reset us before the byte goes, even inside connect(): that is what is tested
        with socket.create_connection(("127.0.0.1", int(m.group(1))), timeout=5) as c:
            c.sendall(b"x")
    except (ConnectionResetError, BrokenPipeError):
        pass
    ok = wait(r"resetting the client") is not None
p.send_signal(signal.SIGTERM)
ok = p.wait(timeout=15) == 0 and ok
sys.exit(0 if ok and wait(r"stopped: ") is not None else 1)
PY
jq -e -s 'length >= 5 and all(.[]; type == "object" and .app == "proxy" and (.msg | type == "string")) and
  any(.[]; .level == "error" and (.msg | test("connect .*resetting the client"))) and
  any(.[]; .msg | startswith("metrics on http://")) and any(.[]; .msg | startswith("stopped: "))' "$T/proxy.log" >/dev/null &&
  pass "proxy: every stderr line is a JSON log object, the upstream failure at level error" || { fail "proxy json lines"; cat "$T/proxy.log"; }
"$SOCKIT" proxy --upstream 127.0.0.1:9 --log-level loud >/dev/null 2>"$T/pbad.err"; rc=$?
[[ $rc -eq 2 ]] && grep -q 'log-level' "$T/pbad.err" && pass "proxy --log-level loud: usage error, exit 2" || fail "proxy --log-level loud: exit $rc"

# journald: in a mount namespace of its own (a tmpfs over /run/systemd, nothing of the host's
# changes), a fake journald socket; stderr is the "journal stream" (JOURNAL_STREAM = its
# device:inode): lines arrive as journal fields (PRIORITY, SYSLOG_IDENTIFIER, SOCKIT_*), without a
# timestamp of ours, and none on stderr.
if unshare -m --propagation private true 2>/dev/null; then
  unshare -m --propagation private bash -c 'mount -t tmpfs none /run/systemd && mkdir /run/systemd/journal &&
    exec python3 - "$@"' _ "$SOCKIT" "$T" <<'PY' && pass "journald: fields, priorities, no timestamp, nothing on stderr" || fail "journald"
import os, re, signal, socket, subprocess, sys, time
sockit, tmp = sys.argv[1:]
j = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
j.bind("/run/systemd/journal/socket")
j.settimeout(0.2)
err_path = f"{tmp}/journal.stderr"
err = open(err_path, "wb")
st = os.fstat(err.fileno())
env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
srv = subprocess.Popen([sockit, "chat-server", "-l", "127.0.0.1:0"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=err, env=env)
entries = []
def wait(pred, limit=10.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        for e in entries:
            if pred(e):
                return e
        try:
            data = j.recv(65536).decode()
        except socket.timeout:
            continue
        entries.append(dict(l.split("=", 1) for l in data.splitlines() if "=" in l))
    return None
ok = True
def check(cond, what):
    global ok
    if not cond:
        ok = False
        print(f"# journald: {what}: {entries[-3:]}")
e = wait(lambda e: "listening on" in e.get("MESSAGE", ""))
check(e is not None and e.get("PRIORITY") == "6" and e.get("SYSLOG_IDENTIFIER") == "sockit" and
      e.get("SOCKIT_APP") == "chat-server", "a listening line at PRIORITY=6")
check(e is not None and not re.search(r"\d{4}-\d\d-\d\dT", e["MESSAGE"]), "no timestamp of ours in MESSAGE")
if e is not None:
    port = int(re.search(r"127\.0\.0\.1:(\d+)", e["MESSAGE"]).group(1))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(b"NICK alice\r\nUSER a 0 * :a\r\n")
        r = wait(lambda e: e.get("SOCKIT_NICK") == "alice" and "registered" in e.get("MESSAGE", ""))
        check(r is not None and r.get("SOCKIT_IP") == "127.0.0.1", "a registration with SOCKIT_NICK, SOCKIT_IP")
srv.send_signal(signal.SIGTERM)
check(srv.wait(timeout=15) == 0, "exit 0")
check(open(err_path, "rb").read() == b"", "nothing on stderr")
sys.exit(0 if ok else 1)
PY
else
  echo "# journald check skipped: no mount namespace here (unshare -m)"
fi

"$SOCKIT" chat-server --log-format xml >/dev/null 2>"$T/bad.err"; rc=$?
[[ $rc -eq 2 ]] && grep -q 'log-format' "$T/bad.err" && pass "--log-format xml: usage error, exit 2" || fail "--log-format xml: exit $rc"
finish
