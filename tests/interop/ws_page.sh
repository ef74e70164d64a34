#!/usr/bin/env bash
# The web chat page on the WebSocket listener (issue #19 item 3, docs/WEB.md): `sockit chat-server
# --ws-listen` answers plain HTTP requests from the files embedded at build time, asked by a raw
# socket client on 127.0.0.1: GET / and the assets with their Content-Type, Cache-Control, ETag
# (304 on If-None-Match), a strict Content-Security-Policy, nosniff and Referrer-Policy; HEAD;
# 404 for unknown paths and traversal attempts (.., percent-encoded, absolute form), the query
# string ignored; 405 with Allow: GET, HEAD; the connection closed after the answer; and the
# WebSocket upgrade on / still working beside it.
source "$(dirname "$0")/chat_lib.bash"
PY=/usr/bin/python3
start_sockit_server --ws-listen 127.0.0.1:0 || { fail "chat-server did not start"; finish; }
wait_for "$T/server.err" 'IRC over WebSocket on ws://' 10 || wait_for "$T/server.out" 'IRC over WebSocket on ws://' 1
WS=$(grep -Eoh 'WebSocket on ws://127\.0\.0\.1:[0-9]+' "$T/server.out" "$T/server.err" | head -1 | grep -Eo '[0-9]+$')
[[ -n "$WS" ]] || { fail "no WebSocket listener announced"; cat "$T/server.out" "$T/server.err"; finish; }

timeout 60 "$PY" - "$WS" "$(dirname "$0")/../../web" <<'PY'
import base64, os, re, socket, sys, time
port, web = int(sys.argv[1]), sys.argv[2]
fails = 0

def check(ok, what, got=""):
    global fails
    print(("ok   - " if ok else "FAIL - ") + what + ("" if ok else f"  [got {got!r}]"))
    fails += 0 if ok else 1

def http(head):
    """Sends a raw request; returns (status, headers dict, body, closed) once the server closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(head.encode())
    out = b""
    deadline = time.monotonic() + 10
    closed = False
    while time.monotonic() < deadline:
        d = s.recv(65536)
        if not d:
            closed = True
            break
        out += d
    s.close()
    head_end = out.find(b"\r\n\r\n")
    lines = out[:head_end].decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1]) if lines[0].startswith("HTTP/1.1 ") else 0
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, out[head_end + 4:], closed

def get(path, method="GET", extra=""):
    return http(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n")

index = open(os.path.join(web, "index.html"), "rb").read()
app = open(os.path.join(web, "app.js"), "rb").read()
css = open(os.path.join(web, "style.css"), "rb").read()

print("# GET / and the assets")
st, h, body, closed = get("/")
check(st == 200, "GET / -> 200", st)
check(body == index, "GET / is web/index.html, byte for byte", body[:40])
check(h.get("content-type") == "text/html; charset=utf-8", "Content-Type: text/html; charset=utf-8", h.get("content-type"))
check(h.get("content-length") == str(len(index)), "Content-Length is the file's size", h.get("content-length"))
check(h.get("cache-control") == "no-cache", "the HTML: Cache-Control: no-cache", h.get("cache-control"))
csp = h.get("content-security-policy", "")
check("default-src 'self'" in csp and "connect-src 'self' ws: wss:" in csp and "script-src 'self'" in csp
      and "style-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp,
      "a strict Content-Security-Policy (self only, ws: wss:, no inline)", csp)
check(h.get("x-content-type-options") == "nosniff", "X-Content-Type-Options: nosniff", h.get("x-content-type-options"))
check(h.get("referrer-policy") == "no-referrer", "Referrer-Policy: no-referrer", h.get("referrer-policy"))
check(closed and h.get("connection") == "close", "Connection: close, and the server closes", (closed, h.get("connection")))
check(b"<script>" not in index and b" style=" not in index and b"<style" not in index
      and not re.search(rb"\son[a-z]+\s*=", index, re.I) and b"javascript:" not in index,
      "the page holds no inline script or style (the CSP would block them)")
st2, h2, body2, _ = get("/index.html?nick=web1#x")
check(st2 == 200 and body2 == index, "GET /index.html?query -> the same page (query ignored)", st2)
st, h, body, _ = get("/app.js")
check(st == 200 and body == app and h.get("content-type") == "text/javascript; charset=utf-8",
      "GET /app.js -> 200 text/javascript, the file", (st, h.get("content-type")))
check(h.get("cache-control") == "max-age=300" and h.get("etag", "").startswith('"'),
      "an asset: Cache-Control: max-age=300 and an ETag", (h.get("cache-control"), h.get("etag")))
etag = h.get("etag", "")
st, h, body, _ = get("/style.css")
check(st == 200 and body == css and h.get("content-type") == "text/css; charset=utf-8", "GET /style.css -> 200 text/css", st)
st, h, body, _ = get("/app.js", extra=f"If-None-Match: {etag}\r\n")
check(st == 304 and body == b"", "If-None-Match with the ETag -> 304, no body", (st, body[:20]))

print("# HEAD")
st, h, body, _ = get("/", method="HEAD")
check(st == 200 and body == b"" and h.get("content-length") == str(len(index)), "HEAD / -> 200, the length, no body", (st, len(body)))
st, h, body, _ = get("/nope", method="HEAD")
check(st == 404 and body == b"", "HEAD /nope -> 404 without a body", (st, body[:20]))

print("# 404: unknown paths and traversal")
for path in ["/nope", "/../index.html", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc%2fpasswd", "/../../../../etc/passwd",
             "//etc/passwd", "/./app.js", "/%61pp.js", "/web/app.js", "/index.html/", "/src/ws/handshake.cpp",
             "http://127.0.0.1/etc/passwd", "/..\\..\\etc\\passwd"]:
    st, h, body, _ = get(path)
    check(st == 404 and b"root:" not in body and "content-security-policy" in h, f"GET {path} -> 404", st)

print("# 405")
for method in ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"]:
    st, h, body, _ = get("/", method=method)
    check(st == 405 and h.get("allow") == "GET, HEAD", f"{method} / -> 405 with Allow: GET, HEAD", (st, h.get("allow")))

print("# the WebSocket upgrade on / still works")
key = base64.b64encode(os.urandom(16)).decode()
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall((f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: text.ircv3.net\r\n\r\n").encode())
got = b""
while b"\r\n\r\n" not in got:
    d = s.recv(4096)
    if not d:
        break
    got += d
s.close()
check(got.startswith(b"HTTP/1.1 101 ") and b"Sec-WebSocket-Protocol: text.ircv3.net" in got, "an upgrade on / -> 101", got[:40])
sys.exit(1 if fails else 0)
PY
rc=$?
[[ $rc -eq 0 ]] && pass "every page check passed" || fail "page checks: exit $rc"
kill -0 "$SERVER_PID" 2>/dev/null && pass "the server is still running" || fail "the server died"
grep -E 'ERROR: AddressSanitizer|runtime error' "$T/server.err" && fail "sanitizer report" || pass "no sanitizer report"
finish
