#!/usr/bin/env bash
# systemd integration (docs/OPERATIONS.md "systemd", issue 22 item 3):
#  (a) dist/systemd/*.service|*.socket pass `systemd-analyze verify` (ExecStart pointed at this
#      build) and hold the hardening the issue asks for; `systemd-analyze security` rates them;
#  (b) socket activation through systemd-socket-activate: it listens, the first client's connect
#      starts chat-server (and echo-server) with the socket in LISTEN_FDS, and that client is served;
#  (c) sd_notify seen by a fake NOTIFY_SOCKET made here: READY=1 once listening, RELOADING=1 with
#      MONOTONIC_USEC after SIGHUP then READY=1, STATUS= after SIGUSR1, STOPPING=1 after SIGTERM;
#      and a restart loses no pending connection: with this test holding the listening socket (as
#      systemd does) a client connects while no server runs and is served by the next one.
#  (d) TLS listeners under socket activation (issue #16): a passed socket named "tls", or
#      --tls-listen bound beside the passed ones; a "tls" socket without a certificate: exit 1.
#  (e) WebSocket listeners under socket activation (issue #19): passed sockets named "ws" and "wss",
#      or --ws-listen bound beside the passed ones.
source "$(dirname "$0")/chat_lib.bash"
need python3 jq openssl systemd-analyze systemd-socket-activate
SRC=${SOCKIT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=$(cd "$(dirname "$SOCKIT")" && pwd)/$(basename "$SOCKIT")

# --- (a) the unit files ---
mkdir -p "$T/units"
cp "$SRC"/dist/systemd/*.service "$SRC"/dist/systemd/*.socket "$T/units/"
sed -i "s|^ExecStart=/usr/bin/sockit |ExecStart=$BIN |" "$T"/units/*.service
if (cd "$T/units" && systemd-analyze verify --man=no ./*.service ./*.socket) >"$T/verify.out" 2>&1; then
  pass "systemd-analyze verify: $(cd "$T/units" && ls | tr '\n' ' ')"
else
  fail "systemd-analyze verify"; cat "$T/verify.out"
fi
for svc in sockit-chat-server sockit-echo-server; do
  u=$SRC/dist/systemd/$svc.service
  missing=()
  for key in Type=notify DynamicUser=yes ProtectSystem=strict NoNewPrivileges=yes CapabilityBoundingSet= \
             'LimitNOFILE=[0-9]+' "Requires=$svc.socket"; do
    grep -Eqx -- "$key" "$u" || missing+=("$key")
  done
  [[ ${#missing[@]} -eq 0 ]] && pass "$svc.service: Type=notify, hardening, LimitNOFILE, its .socket" ||
    fail "$svc.service lacks ${missing[*]}"
  level=$( (cd "$T/units" && systemd-analyze security --offline=yes "./$svc.service" 2>/dev/null) |
           sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  if [[ -n "$level" ]] && awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then
    pass "$svc.service: systemd-analyze security exposure $level (<= 2.0)"
  else
    fail "$svc.service: exposure '${level:-?}'"
  fi
done
grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$SRC/dist/systemd/sockit-chat-server.service" &&
  pass "chat-server: ExecReload sends SIGHUP" || fail "chat-server: no ExecReload=/bin/kill -HUP \$MAINPID"
grep -qx 'ListenStream=127.0.0.1:6667' "$SRC/dist/systemd/sockit-chat-server.socket" &&
  pass "chat-server.socket listens on 127.0.0.1:6667" || fail "chat-server.socket: ListenStream"

# --- (b) and (c), driven from Python (clients, the fake notify socket, the held listener) ---
python3 - "$BIN" "$T" <<'PY'
import os, re, signal, socket, subprocess, sys, time
sockit, tmp = sys.argv[1:]
ok = True
def report(good, what):
    global ok
    print(("ok   - " if good else "FAIL - ") + what)
    ok = ok and good

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port

def read_until(sock, pattern, limit=10.0):
    buf = b""
    sock.settimeout(0.2)
    end = time.monotonic() + limit
    while time.monotonic() < end and not re.search(pattern, buf):
        try:
            data = sock.recv(4096)
        except socket.timeout:
            continue
        if not data:
            break
        buf += data
    return buf

def irc_register(sock, nick):
    sock.sendall(f"NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n".encode())
    return re.search(rb" 001 " + nick.encode() + rb" ", read_until(sock, rb" 001 "))

def connect(port, limit=10.0):
    end = time.monotonic() + limit
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)

def stop(proc, what):
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    report(rc == 0, f"{what}: exit {rc} after SIGTERM")

# (b) systemd-socket-activate: nothing runs until the first connect.
port = free_port()
err = open(f"{tmp}/activate_chat.err", "wb")
act = subprocess.Popen(["systemd-socket-activate", "-l", f"127.0.0.1:{port}", sockit, "chat-server",
                        "--log-format", "json"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
try:
    c = connect(port)  # systemd-socket-activate listens at once, the server starts on this connect
    report(bool(irc_register(c, "first")), "socket activation: the connection that started chat-server gets 001")
    c.close()
    log = open(f"{tmp}/activate_chat.err", "rb").read()
    report(b"passed by systemd (LISTEN_FDS)" in log, "chat-server says it serves the socket systemd passed")
    report(f"listening on 127.0.0.1:{port}".encode() in log, "chat-server reports the inherited address")
finally:
    stop(act, "socket-activated chat-server")

port = free_port()
act = subprocess.Popen(["systemd-socket-activate", "-l", f"127.0.0.1:{port}", sockit, "echo-server"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=open(f"{tmp}/activate_echo.err", "wb"))
try:
    c = connect(port)
    c.sendall(b"hello, activated\n")
    report(read_until(c, rb"activated\n") == b"hello, activated\n", "socket activation: echo-server echoes")
    c.close()
finally:
    stop(act, "socket-activated echo-server")

# (c) sd_notify to a fake NOTIFY_SOCKET, and a restart with the listener held here.
notify_path = f"{tmp}/notify.sock"
notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify.bind(notify_path)
notify.settimeout(0.2)
def wait_notify(key, limit=10.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            msg = notify.recv(4096).decode()
        except socket.timeout:
            continue
        fields = dict(l.split("=", 1) for l in msg.splitlines() if "=" in l)
        if key in fields:
            return fields
    return None

listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(64)
lport = listener.getsockname()[1]

def start_with_listener(log):
    def child():
        os.dup2(listener.fileno(), 3)
        os.environ["LISTEN_PID"] = str(os.getpid())
        os.environ["LISTEN_FDS"] = "1"
        os.environ["NOTIFY_SOCKET"] = notify_path
    return subprocess.Popen([sockit, "chat-server", "--log-format", "json"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=open(log, "wb"), preexec_fn=child, pass_fds=(3,))

srv = start_with_listener(f"{tmp}/notify1.err")
try:
    f = wait_notify("READY")
    report(f is not None and f["READY"] == "1", f"READY=1 once listening (STATUS={f and f.get('STATUS')!r})")
    c1 = connect(lport)
    report(bool(irc_register(c1, "alice")), "the server started with LISTEN_FDS serves its listener")
    srv.send_signal(signal.SIGHUP)
    f = wait_notify("RELOADING")
    report(f is not None and f["RELOADING"] == "1" and f.get("MONOTONIC_USEC", "").isdigit(),
           f"SIGHUP: RELOADING=1 with MONOTONIC_USEC ({f and f.get('MONOTONIC_USEC')})")
    f = wait_notify("READY")
    report(f is not None, f"after the reload: READY=1 (STATUS={f and f.get('STATUS')!r})")
    srv.send_signal(signal.SIGUSR1)
    f = wait_notify("STATUS")
    report(f is not None and "clients" in f["STATUS"], f"SIGUSR1: STATUS={f and f['STATUS']!r}")
    srv.send_signal(signal.SIGTERM)
    f = wait_notify("STOPPING")
    report(f is not None and f["STOPPING"] == "1", "SIGTERM: STOPPING=1")
    stop(srv, "chat-server with LISTEN_FDS")
    c1.close()
    # No server runs now; the socket (held here, as systemd holds it) still takes connections.
    c2 = socket.create_connection(("127.0.0.1", lport), timeout=5)
    c2.sendall(b"NICK bob\r\nUSER bob 0 * :bob\r\n")
    srv = start_with_listener(f"{tmp}/notify2.err")
    report(wait_notify("READY") is not None, "the restarted server: READY=1")
    report(re.search(rb" 001 bob ", read_until(c2, rb" 001 ")) is not None,
           "restart: the client that connected while no server ran is served by the next one")
    c2.close()
    stop(srv, "restarted chat-server")
finally:
    if srv.poll() is None:
        srv.kill()
        srv.wait()
# (d) TLS listeners under socket activation (issue #16): a passed socket named "tls"
# (FileDescriptorName=tls) is a TLS listener with --tls-cert; with no socket so named, --tls-listen
# is bound beside the passed ones; a "tls" socket without a certificate: exit 1, says why.
import ssl
tlsdir = f"{tmp}/tls"
os.makedirs(tlsdir, exist_ok=True)
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", f"{tlsdir}/key.pem", "-out", f"{tlsdir}/cert.pem", "-days", "2", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
tls_flags = ["--tls-cert", f"{tlsdir}/cert.pem", "--tls-key", f"{tlsdir}/key.pem"]
tls_ctx = ssl.create_default_context(cafile=f"{tlsdir}/cert.pem")
def tls_register(port, nick):
    try:
        s = tls_ctx.wrap_socket(connect(port), server_hostname="localhost")
    except (OSError, ssl.SSLError) as e:
        print(f"     TLS to {port}: {e}")
        return None
    try:
        return irc_register(s, nick)
    finally:
        s.close()

for named in (True, False):
    pport, tport = free_port(), free_port()
    what = "a socket named tls" if named else "--tls-listen beside the passed socket"
    args = ["-l", f"127.0.0.1:{pport}"] + (["-l", f"127.0.0.1:{tport}", "--fdname=irc:tls"] if named else [])
    flags = tls_flags + ([] if named else ["--tls-listen", f"127.0.0.1:{tport}"])
    errlog = f"{tmp}/activate_tls_{int(named)}.err"
    act = subprocess.Popen(["systemd-socket-activate"] + args + [sockit, "chat-server", "--log-format", "json"] + flags,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(errlog, "wb"))
    try:
        c = connect(pport)
        report(bool(irc_register(c, "plain")), f"socket activation with {what}: plaintext client gets 001")
        report(bool(tls_register(tport, "secure")), f"socket activation with {what}: a TLS client gets 001 on {tport}")
        c.close()
        log = open(errlog, "rb").read()
        # The backend is the one the server chose (uring where the kernel has it, else epoll): the
        # same on the plaintext listener's line and on the TLS one.
        plain_b = re.search(rf"listening on 127\.0\.0\.1:{pport} \((\w+)\)".encode(), log)
        tls_b = re.search(rf"listening on 127\.0\.0\.1:{tport} \((\w+), TLS\)".encode(), log)
        report(bool(plain_b and tls_b and plain_b.group(1) == tls_b.group(1) and plain_b.group(1) in (b"uring", b"epoll")),
               f"{what}: the banner names the TLS listener and the backend")
        if named:
            report(b"1 named tls" in log, "chat-server says which passed socket is TLS")
    finally:
        stop(act, f"socket-activated chat-server with {what}")
plain_l = socket.socket()
plain_l.bind(("127.0.0.1", 0))
plain_l.listen(8)
def tls_named_child():
    os.dup2(plain_l.fileno(), 3)
    os.environ["LISTEN_PID"] = str(os.getpid())
    os.environ["LISTEN_FDS"] = "1"
    os.environ["LISTEN_FDNAMES"] = "tls"
r = subprocess.run([sockit, "chat-server"], stdin=subprocess.DEVNULL, capture_output=True, preexec_fn=tls_named_child,
                   pass_fds=(3,), timeout=20)
report(r.returncode == 1 and b"no TLS certificate is configured" in r.stderr,
       f"a socket named tls without --tls-cert: exit {r.returncode}, says why")
plain_l.close()

# (e) WebSocket listeners under socket activation (issue #19): a passed socket named "ws" serves IRC
# over WebSocket (ws://), one named "wss" over TLS (wss://, --tls-cert); with no socket named ws,
# --ws-listen is bound beside the passed ones.
import base64, hashlib
def ws_register(sock, nick):
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(f"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    head = read_until(sock, rb"\r\n\r\n")
    accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
    if not head.startswith(b"HTTP/1.1 101") or b"Sec-WebSocket-Accept: " + accept not in head:
        print(f"     upgrade answered {head[:200]!r}")
        return None
    for line in (f"NICK {nick}", f"USER {nick} 0 * :{nick}"):
        p, m = line.encode(), os.urandom(4)
        sock.sendall(bytes([0x81, 0x80 | len(p)]) + m + bytes(b ^ m[i % 4] for i, b in enumerate(p)))
    got = head + read_until(sock, rb" 001 ")
    return re.search(rb"\x81.:\S+ 001 " + nick.encode() + rb" ", got, re.S)  # in a text frame, no CRLF framing

for named in (True, False):
    pport, wport, sport = free_port(), free_port(), free_port()
    what = "sockets named ws and wss" if named else "--ws-listen beside the passed socket"
    if named:
        args = ["-l", f"127.0.0.1:{pport}", "-l", f"127.0.0.1:{wport}", "-l", f"127.0.0.1:{sport}", "--fdname=irc:ws:wss"]
        flags = tls_flags
    else:
        args, flags = ["-l", f"127.0.0.1:{pport}"], ["--ws-listen", f"127.0.0.1:{wport}"]
    errlog = f"{tmp}/activate_ws_{int(named)}.err"
    act = subprocess.Popen(["systemd-socket-activate"] + args + [sockit, "chat-server", "--log-format", "json"] + flags,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(errlog, "wb"))
    try:
        c = connect(pport)
        report(bool(irc_register(c, "plain")), f"socket activation with {what}: plaintext client gets 001")
        w = connect(wport)
        report(bool(ws_register(w, "webby")), f"socket activation with {what}: a WebSocket client gets 001 on {wport}")
        if named:
            try:
                ws = tls_ctx.wrap_socket(connect(sport), server_hostname="localhost")
                good = bool(ws_register(ws, "secweb"))
                ws.close()
            except (OSError, ssl.SSLError) as e:
                print(f"     wss to {sport}: {e}")
                good = False
            report(good, f"socket activation with {what}: a wss:// client gets 001 on {sport}")
        c.close()
        w.close()
        log = open(errlog, "rb").read()
        report(f"IRC over WebSocket on ws://127.0.0.1:{wport}/".encode() in log, f"{what}: the log names the ws:// listener")
        if named:
            report(f"IRC over WebSocket on wss://127.0.0.1:{sport}/".encode() in log and b"1 named ws, 1 named wss" in log,
                   "chat-server says which passed sockets are ws and wss")
    finally:
        stop(act, f"socket-activated chat-server with {what}")

# A passed descriptor that is not a listening stream socket: a clear error and exit 1.
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 0))
def udp_child():
    os.dup2(udp.fileno(), 3)
    os.environ["LISTEN_PID"] = str(os.getpid())
    os.environ["LISTEN_FDS"] = "1"
for cmd in ("chat-server", "echo-server"):
    r = subprocess.run([sockit, cmd], stdin=subprocess.DEVNULL, capture_output=True, preexec_fn=udp_child,
                       pass_fds=(3,), timeout=20)
    report(r.returncode == 1 and b"not a listening TCP or Unix stream socket" in r.stderr,
           f"{cmd} given a UDP socket in LISTEN_FDS: exit {r.returncode}, says why")
sys.exit(0 if ok else 1)
PY
rc=$?
[[ $rc -eq 0 ]] && pass "socket activation and sd_notify" || fail "socket activation and sd_notify (see above)"
for f in "$T"/notify1.err "$T"/notify2.err; do
  jq -e -s 'length > 0 and all(.[]; type == "object")' "$f" >/dev/null 2>&1 && pass "$(basename "$f"): json log lines" ||
    { fail "$(basename "$f"): not json lines"; cat "$f"; }
done
finish
