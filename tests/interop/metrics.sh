#!/usr/bin/env bash
# --metrics (issue 22 item 1): echo-server, chat-server and proxy serve GET /metrics on 127.0.0.1 in the
# Prometheus text format, from their own event loop. Real clients move the values (10 held
# connections -> the open gauge reads 10; N bytes or N IRC lines -> the counter rises by exactly
# N, so the scrapes' own bytes are not counted as the server's), Debian's `promtool check metrics`
# accepts the page, and the endpoint answers 404 / 405 / 400 / HEAD / keep-alive as HTTP/1.1 says.
source "$(dirname "$0")/nc_lib.bash"
need curl promtool ss python3 jq

# metric PORT NAME[{labels}]: the value of one sample ("" if absent).
metric() {
  curl -s --max-time 5 "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'
}
# wait_metric PORT NAME VALUE: until the sample reads VALUE (5 s at most).
wait_metric() {
  local i v
  for ((i = 0; i < 100; i++)); do
    v=$(metric "$1" "$2")
    [[ "$v" == "$3" ]] && return 0
    sleep 0.05
  done
  echo "# $2 reads [$v], expected [$3]"
  return 1
}
banner_port() {  # banner_port FILE REGEX-BEFORE-THE-PORT
  wait_for_line "$1" "$2[0-9]+" >/dev/null || return 1
  grep -oE "$2[0-9]+" "$1" | head -1 | grep -oE '[0-9]+$'
}
# lint PORT WHAT: promtool check metrics prints nothing and exits 0.
lint() {
  local out rc
  out=$(curl -s --max-time 5 "http://127.0.0.1:$1/metrics" | promtool check metrics 2>&1); rc=$?
  if [[ $rc -eq 0 && -z "$out" ]]; then pass "$2: promtool check metrics finds no problem"
  else fail "$2: promtool check metrics (rc $rc): $out"; fi
}

# --- echo-server (epoll reactor): the endpoint on the server's loop ---
start "$SOCKIT" echo-server -l 127.0.0.1:0 --metrics 127.0.0.1:0 </dev/null >"$T/echo.out" 2>"$T/echo.err"
ECHO=$LAST
MP=$(banner_port "$T/echo.err" 'metrics on http://127\.0\.0\.1:')
EP=$(banner_port "$T/echo.err" 'listening on tcp 127\.0\.0\.1:')
check "echo-server banner names the metrics address" test -n "$MP"
headers=$(curl -s -D - -o "$T/page" --max-time 5 "http://127.0.0.1:$MP/metrics" | tr -d '\r')
check "200 with the text format's Content-Type" grep -q '^Content-Type: text/plain; version=0.0.4; charset=utf-8$' <<<"$headers"
check "the page has HELP and TYPE lines" grep -q '^# TYPE sockit_connections_open gauge$' "$T/page"
lint "$MP" "echo-server"

for i in $(seq 10); do exec {fd}<>"/dev/tcp/127.0.0.1/$EP"; FDS+=("$fd"); done
check "10 clients -> sockit_connections_open 10" wait_metric "$MP" sockit_connections_open 10
check "sockit_connections_accepted_total 10" wait_metric "$MP" sockit_connections_accepted_total 10
before=$(metric "$MP" sockit_received_bytes_total)
N=5000
head -c "$N" /dev/zero | tr '\0' x >&"${FDS[0]}"
check "$N bytes sent -> sockit_received_bytes_total rises by $N" wait_metric "$MP" sockit_received_bytes_total $((before + N))
check "... and sockit_sent_bytes_total by $N (echoed)" wait_metric "$MP" sockit_sent_bytes_total $((before + N))
check_eq "the $N bytes come back" "$N" "$(timeout 5 head -c "$N" <&"${FDS[0]}" | wc -c)"
# SIGUSR1: the counters: line reads the same registry as the page (one source of truth), so its
# bytes_in is the clients' bytes like sockit_received_bytes_total, without the scrapes' bytes.
kill -USR1 "$ECHO"
check "SIGUSR1 prints the counters: and metrics: lines" wait_for_line "$T/echo.err" 'metrics: .*sockit_received_bytes_total='
cin=$(grep -oE 'counters: tcp accepted=.* bytes_in=[0-9]+' "$T/echo.err" | tail -1 | grep -oE '[0-9]+$')
min=$(grep -oE 'metrics: .*sockit_received_bytes_total=[0-9]+' "$T/echo.err" | tail -1 | grep -oE '[0-9]+$')
check_eq "counters: bytes_in equals the page's sockit_received_bytes_total ($min)" "$min" "$cin"
check_eq "... the clients' $((before + N)) bytes, scrapes not counted" "$((before + N))" "$cin"
cacc=$(grep -oE 'counters: tcp accepted=[0-9]+' "$T/echo.err" | tail -1 | grep -oE '[0-9]+$')
check_eq "counters: accepted equals sockit_connections_accepted_total" "$(metric "$MP" sockit_connections_accepted_total)" "$cacc"
for fd in "${FDS[@]}"; do exec {fd}>&-; done
check "clients gone -> sockit_connections_open 0" wait_metric "$MP" sockit_connections_open 0
check "closed_total{reason=\"normal\"} 10" wait_metric "$MP" 'sockit_connections_closed_total{reason="normal"}' 10

status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
check_eq "GET / -> 404" 404 "$(status "http://127.0.0.1:$MP/")"
check_eq "POST /metrics -> 405" 405 "$(status -X POST -d x "http://127.0.0.1:$MP/metrics")"
check_eq "HEAD /metrics -> 200" 200 "$(status -I "http://127.0.0.1:$MP/metrics")"
raw() { timeout 20 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.argv[2].encode("latin-1"))
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b: break
        out += b
except ConnectionResetError:
    pass  # a server that answers and closes before reading everything may reset: the answer came first
sys.stdout.write(out.decode("latin-1"))' "$MP" "$1"; }
check_eq "garbage -> 400, then the server closes" 1 "$(raw $'garbage\r\n\r\n' | grep -c '^HTTP/1.1 400 Bad Request')"
check_eq "an 8 KiB head -> 431" 1 "$(raw "GET /metrics HTTP/1.1"$'\r\n'"X: $(head -c 9000 /dev/zero | tr '\0' a)"$'\r\n\r\n' | grep -c '^HTTP/1.1 431')"
check_eq "100,000 empty lines -> 400 (no stack overflow), the server still answers" "1 200" \
  "$(raw "$(head -c 100000 /dev/zero | tr '\0' '\n'; echo x)" | grep -c '^HTTP/1.1 400') $(status "http://127.0.0.1:$MP/metrics")"
req=$'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
check_eq "keep-alive: two pipelined requests, two pages, closed after Connection: close" 2 \
  "$(raw "$req" | grep -c '^HTTP/1.1 200 OK')"
kill -TERM "$ECHO"
wait_exit "$ECHO" 10
check_eq "echo-server with --metrics exits 0 on SIGTERM" 0 "$WAIT_RC"

# --- echo-server --model thread: no event loop, the endpoint runs on a thread of its own ---
start "$SOCKIT" echo-server --model thread -l 127.0.0.1:0 --metrics 0 </dev/null >"$T/thr.out" 2>"$T/thr.err"
THR=$LAST
MP=$(banner_port "$T/thr.err" 'metrics on http://127\.0\.0\.1:')
EP=$(banner_port "$T/thr.err" 'listening on tcp 127\.0\.0\.1:')
exec {fd}<>"/dev/tcp/127.0.0.1/$EP"
check "--model thread: 1 client -> sockit_connections_open 1" wait_metric "$MP" sockit_connections_open 1
exec {fd}>&-
lint "$MP" "echo-server --model thread"
kill -TERM "$THR"
wait_exit "$THR" 10
check_eq "echo-server --model thread exits 0" 0 "$WAIT_RC"

# --- echo-server --threads 2: one loop-turn histogram per event loop, loop="0" and loop="1" ---
start "$SOCKIT" echo-server -l 127.0.0.1:0 --threads 2 --metrics 127.0.0.1:0 </dev/null >"$T/echo2.out" 2>"$T/echo2.err"
ECHO2=$LAST
MP=$(banner_port "$T/echo2.err" 'metrics on http://127\.0\.0\.1:')
EP=$(banner_port "$T/echo2.err" 'listening on tcp 127\.0\.0\.1:')
FDS=()
for i in 1 2 3 4; do exec {fd}<>"/dev/tcp/127.0.0.1/$EP"; FDS+=("$fd"); printf 'x\n' >&"$fd"; done
turns_counted() {  # turns_counted LOOP: its histogram has counted turns (5 s at most)
  local i v
  for ((i = 0; i < 100; i++)); do
    v=$(metric "$MP" "sockit_loop_turn_seconds_count{loop=\"$1\"}")
    [[ "${v:-0}" -gt 0 ]] && return 0
    sleep 0.05
  done
  return 1
}
check "--threads 2: loop 0's turn histogram counts turns" turns_counted 0
check "--threads 2: loop 1's turn histogram counts turns" turns_counted 1
check "--threads 2: no loop 2" test -z "$(metric "$MP" 'sockit_loop_turn_seconds_count{loop="2"}')"
lint "$MP" "echo-server --threads 2"
for fd in "${FDS[@]}"; do exec {fd}>&-; done
kill -TERM "$ECHO2"
wait_exit "$ECHO2" 10
check_eq "echo-server --threads 2 --metrics exits 0" 0 "$WAIT_RC"

# --- bad --metrics values: a usage error, exit 2, nothing served ---
"$SOCKIT" echo-server -l 127.0.0.1:0 --metrics nonsense:x </dev/null >/dev/null 2>"$T/bad.err"
check_eq "echo-server --metrics nonsense:x exits 2" 2 "$?"
check "... and says why" grep -q -- '--metrics' "$T/bad.err"
"$SOCKIT" chat-server -l 127.0.0.1:0 --metrics 127.0.0.1:99999 </dev/null >/dev/null 2>"$T/bad2.err"
check_eq "chat-server --metrics 127.0.0.1:99999 exits 2" 2 "$?"

# --- proxy: its own poll() loop; the endpoint reads the counters the loop publishes ---
start "$SOCKIT" echo-server -l 127.0.0.1:0 </dev/null >"$T/up.out" 2>"$T/up.err"
UP=$(banner_port "$T/up.err" 'listening on tcp 127\.0\.0\.1:')
start "$SOCKIT" proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$UP" --metrics 127.0.0.1:0 </dev/null >"$T/proxy.out" 2>"$T/proxy.err"
PROXY=$LAST
MP=$(banner_port "$T/proxy.err" 'metrics on http://127\.0\.0\.1:')
PP=$(banner_port "$T/proxy.err" 'listening on 127\.0\.0\.1:')
exec {fd}<>"/dev/tcp/127.0.0.1/$PP"
check "proxy: 1 client -> sockit_proxy_connections_open 1" wait_metric "$MP" sockit_proxy_connections_open 1
printf 'through the proxy\n' >&"$fd"
check_eq "proxy: the line comes back" "through the proxy" "$(timeout 5 head -n 1 <&"$fd")"
check "proxy: 18 bytes upstream" wait_metric "$MP" 'sockit_proxy_forwarded_bytes_total{direction="upstream"}' 18
exec {fd}>&-
lint "$MP" "proxy"
kill -TERM "$PROXY"
wait_exit "$PROXY" 10
check_eq "proxy with --metrics exits 0 on SIGTERM" 0 "$WAIT_RC"

# --- chat-server: IRC figures read in the loop thread ---
start "$SOCKIT" chat-server -l 127.0.0.1:0 -q --no-flood-control --metrics 127.0.0.1:0 </dev/null >"$T/chat.out" 2>"$T/chat.err"
CHAT=$LAST
MP=$(banner_port "$T/chat.err" 'metrics on http://127\.0\.0\.1:')
CP=$(banner_port "$T/chat.err" 'listening on 127\.0\.0\.1:')
FDS=()
for i in $(seq 10); do
  exec {fd}<>"/dev/tcp/127.0.0.1/$CP"; FDS+=("$fd")
  printf 'NICK m%d\r\nUSER m%d 0 * :metrics\r\n' "$i" "$i" >&"$fd"
done
check "10 registered clients -> sockit_irc_users 10" wait_metric "$MP" sockit_irc_users 10
check "sockit_connections_open 10" wait_metric "$MP" sockit_connections_open 10
check "sockit_irc_registrations_total 10" wait_metric "$MP" sockit_irc_registrations_total 10
printf 'JOIN #m\r\n' >&"${FDS[0]}"
printf 'JOIN #m\r\n' >&"${FDS[1]}"
check "two JOINs -> sockit_irc_channels 1" wait_metric "$MP" sockit_irc_channels 1
check "... and sockit_irc_received_messages_total 22" wait_metric "$MP" sockit_irc_received_messages_total 22
sent=$(metric "$MP" sockit_irc_sent_messages_total)
N=50
for ((i = 0; i < N; i++)); do printf 'PRIVMSG #m :line %d\r\n' "$i"; done >&"${FDS[0]}"
check "$N PRIVMSGs -> sockit_irc_received_messages_total rises by $N" wait_metric "$MP" sockit_irc_received_messages_total $((22 + N))
check "... and the other member's $N deliveries -> sockit_irc_sent_messages_total +$N" \
  wait_metric "$MP" sockit_irc_sent_messages_total $((sent + N))
lint "$MP" "chat-server"
kill -USR1 "$CHAT"
check "SIGUSR1 prints the same registry's values on one line" wait_for_line "$T/chat.err" 'metrics: .*sockit_connections_open=10 .*sockit_irc_users=10 '
turns=$(metric "$MP" 'sockit_loop_turn_seconds_count{loop="0"}')
check "the loop-turn histogram has counted turns (${turns:-none})" test "${turns:-0}" -gt 0
check "... and its +Inf bucket (a later scrape) is at least that count" test "$(metric "$MP" 'sockit_loop_turn_seconds_bucket{loop="0",le="+Inf"}')" -ge "${turns:-1}"
for fd in "${FDS[@]}"; do exec {fd}>&-; done
check "clients gone -> sockit_irc_users 0" wait_metric "$MP" sockit_irc_users 0
kill -TERM "$CHAT"
wait_exit "$CHAT" 10
check_eq "chat-server with --metrics exits 0 on SIGTERM" 0 "$WAIT_RC"

# --- chat-server started with --config only (the systemd unit's way): [metrics] and [log] turn the
# endpoint on and the JSON lines; --metrics on the command line overrides the file ---
cat >"$T/metrics_chat.toml" <<'TOML'
[server]
listen = ["127.0.0.1:0"]
[metrics]
listen = "127.0.0.1:0"
[log]
format = "json"
TOML
start "$SOCKIT" chat-server -q --config "$T/metrics_chat.toml" </dev/null >"$T/chatc.out" 2>"$T/chatc.err"
CHAT=$LAST
MP=$(banner_port "$T/chatc.err" 'metrics on http://127\.0\.0\.1:')
check "chat-server --config with [metrics] listen serves the page" wait_metric "${MP:-1}" sockit_irc_users 0
check "[log] format = \"json\": every stderr line is a JSON object" bash -c 'jq -e . "$1" >/dev/null' _ "$T/chatc.err"
kill -TERM "$CHAT"
wait_exit "$CHAT" 10
check_eq "chat-server (metrics from the file) exits 0 on SIGTERM" 0 "$WAIT_RC"
"$SOCKIT" chat-server --check-config --config "$T/metrics_chat.toml" --metrics 127.0.0.1:9999 --log-format text \
  >"$T/chatc.toml" 2>/dev/null
check "--metrics overrides [metrics] listen" grep -qxF 'listen = "127.0.0.1:9999"' "$T/chatc.toml"
check "--log-format overrides [log] format" grep -qxF 'format = "text"' "$T/chatc.toml"
printf '[metrics]\nlisten = "127.0.0.1:99999"\n' >"$T/badm.toml"
"$SOCKIT" chat-server --config "$T/badm.toml" </dev/null >/dev/null 2>"$T/badm.err"
check_eq "[metrics] listen = \"127.0.0.1:99999\" exits 2" 2 "$?"
check "... naming file:line: metrics.listen" grep -q "badm.toml:2:10: metrics.listen" "$T/badm.err"
finish
