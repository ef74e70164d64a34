#!/usr/bin/env bash
# sockit nc exit statuses and messages (docs/NC.md "Exit status"): 1 + one line naming the
# failure for refused / timed out / unknown host / reset / idle timeout; 2 for usage errors;
# a closed stdout pipe ends quietly.
source "$(dirname "$0")/nc_lib.bash"
need python3 ss socat

# expect_fail DESC STATUS REGEX CMD...: exit status STATUS and exactly one stderr line matching REGEX.
expect_fail() {
  local desc=$1 want=$2 re=$3; shift 3
  "$@" </dev/null >"$T/out" 2>"$T/err"; local rc=$?
  check_eq "$desc: exit $want" "$want" "$rc"
  local lines
  lines=$(grep -c . "$T/err")
  if [[ $want -eq 1 ]]; then
    check_eq "$desc: one line on stderr" 1 "$lines"
  fi
  if grep -qE -- "$re" "$T/err"; then pass "$desc: message /$re/"; else fail "$desc: message /$re/ not in: $(cat "$T/err")"; fi
}

echo "# network failures (exit 1)"
P=$(free_port)
t0=$(now_ns)
expect_fail "refused" 1 "^sockit nc: connect 127\.0\.0\.1:$P: Connection refused$" snc 127.0.0.1 $P
ms=$(ms_since $t0)
check "refused is immediate (${ms}ms, process start-up included)" test $ms -lt 3000
BASE=$ms
expect_fail "unknown host" 1 "^sockit nc: resolve nosuch\.invalid:80: .*(not known|resolution|No address)" snc nosuch.invalid 80
expect_fail "udp refused (ICMP port unreachable)" 1 "^sockit nc: (recv|send) 127\.0\.0\.1:$P: Connection refused$" \
  bash -c "echo probe | timeout 20 '$SOCKIT' nc -u -q 2s 127.0.0.1 $P"

# Timing checks: a timeout must never fire early; "late" is judged against BASE, the time the
# same binary needs for an immediate failure (process start-up under ASan on a loaded machine
# can take a second by itself), plus a generous margin.
late_ok() {  # late_ok MS WANT_MS: MS is at most WANT + BASE + 1500
  test "$1" -le $(( $2 + BASE + 1500 ))
}
echo "# start-up + refused connect: ${BASE}ms"

echo "# -w: connect timeout against a listener whose accept queue is full"
# A listener that never accepts, with backlog 0, and two connections filling its queue: the
# kernel then drops further SYNs, so a third connect can only time out.
python3 - >"$T/full_port" <<'PY' &
import socket, time, sys
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(0)
port = l.getsockname()[1]
held = []
for _ in range(3):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(("127.0.0.1", port))
    except BlockingIOError: pass
    held.append(c)
# Until the queue is full: backlog 0 holds one established connection (writable); the other
# SYNs are dropped.
import select
select.select([], held, [], 5)
print(port, flush=True)
time.sleep(30)
PY
FULL=$!
PIDS+=("$FULL")
wait_for_line "$T/full_port" '^[0-9]+$' >/dev/null
FP=$(cat "$T/full_port")
t0=$(now_ns)
expect_fail "connect timeout" 1 "^sockit nc: connect 127\.0\.0\.1:$FP: Connection timed out$" snc -w 1s 127.0.0.1 $FP
ms=$(ms_since $t0)
check "-w 1s took ${ms}ms (not early)" test $ms -ge 950
check "-w 1s took ${ms}ms (not late)" late_ok $ms 1000
t0=$(now_ns)
snc -w 300ms 127.0.0.1 $FP </dev/null >/dev/null 2>&1
ms=$(ms_since $t0)
check "-w 300ms took ${ms}ms (not early)" test $ms -ge 280
check "-w 300ms took ${ms}ms (not late)" late_ok $ms 300
kill $FULL 2>/dev/null

echo "# -w in a network namespace with a blackhole (root only)"
if [[ $(id -u) -eq 0 ]] && ip netns add "sockit-nc-$$" 2>/dev/null; then
  NS="sockit-nc-$$"
  trap 'ip netns del "$NS" 2>/dev/null; nc_cleanup' EXIT
  # 10.77.0.2 is local to the namespace, but every SYN to its port 80 is dropped.
  ip -n "$NS" link set lo up
  ip -n "$NS" addr add 10.77.0.2/32 dev lo
  ip netns exec "$NS" iptables -A INPUT -p tcp --dport 80 -j DROP
  t0=$(now_ns)
  expect_fail "blackhole timeout" 1 "^sockit nc: connect 10\.77\.0\.2:80: Connection timed out$" \
    ip netns exec "$NS" timeout 20 "$SOCKIT" nc -w 1s 10.77.0.2 80
  ms=$(ms_since $t0)
  check "blackhole -w 1s took ${ms}ms (not early)" test $ms -ge 950
  check "blackhole -w 1s took ${ms}ms (not late)" late_ok $ms 1000
  ip -n "$NS" route add unreachable 10.78.0.0/24
  expect_fail "unreachable route" 1 "^sockit nc: connect 10\.78\.0\.1:80: No route to host$" \
    ip netns exec "$NS" timeout 20 "$SOCKIT" nc -w 1s 10.78.0.1 80
  ip -n "$NS" route add prohibit 10.79.0.0/24
  expect_fail "prohibited route" 1 "^sockit nc: connect 10\.79\.0\.1:80: Permission denied$" \
    ip netns exec "$NS" timeout 20 "$SOCKIT" nc -w 1s 10.79.0.1 80
  expect_fail "no route at all" 1 "^sockit nc: connect 10\.80\.0\.1:80: Network is unreachable$" \
    ip netns exec "$NS" timeout 20 "$SOCKIT" nc -w 1s 10.80.0.1 80
  ip netns del "$NS"
else
  echo "# skipped: not root or no netns support"
fi

echo "# -i: idle timeout while connected"
P=$(free_port)
start socat TCP-LISTEN:$P,bind=127.0.0.1,reuseaddr SYSTEM:'echo hi; sleep 10'
wait_listen $P
mkfifo "$T/fifo_idle"
exec 7<>"$T/fifo_idle"   # stdin stays open and silent
t0=$(now_ns)
snc -i 500ms 127.0.0.1 $P <"$T/fifo_idle" >"$T/out" 2>"$T/err" 7>&-; rc=$?
ms=$(ms_since $t0)
exec 7>&-
check_eq "-i: exit 1" 1 $rc
check_eq "-i: printed data before going idle" "hi" "$(cat "$T/out")"
check "-i: message names the idle timeout" grep -q "^sockit nc: idle timeout: no data for 500ms$" "$T/err"
check "-i 500ms took ${ms}ms (not early)" test $ms -ge 450
check "-i 500ms took ${ms}ms (not late)" late_ok $ms 500

echo "# reset by the peer while we write"
P=$(free_port)
python3 - $P <<'PY' &
import socket, struct, sys, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", int(sys.argv[1]))); l.listen(1)
c, _ = l.accept()
c.recv(1000)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()  # RST
time.sleep(2)
PY
PIDS+=("$!")
wait_listen $P
head -c 20000000 /dev/zero | snc 127.0.0.1 $P >"$T/out" 2>"$T/err"; rc=${PIPESTATUS[1]}
check_eq "reset: exit 1" 1 $rc
check_eq "reset: one line" 1 "$(grep -c . "$T/err")"
check "reset: message" grep -qE "^sockit nc: (send|read) 127\.0\.0\.1:$P: (Connection reset by peer|Broken pipe)$" "$T/err"

echo "# stdout closed early (| head -c1): quiet exit"
P=$(free_port)
head -c 2000000 /dev/zero >"$T/big"
start socat -u OPEN:"$T/big" TCP-LISTEN:$P,bind=127.0.0.1,reuseaddr 2>/dev/null
wait_listen $P
snc 127.0.0.1 $P </dev/null 2>"$T/err" | head -c1 >/dev/null; rc=${PIPESTATUS[0]}
check_eq "stdout EPIPE: exit 0" 0 $rc
check "stdout EPIPE: nothing on stderr" test ! -s "$T/err"

echo "# usage errors (exit 2)"
expect_fail "port 70000" 2 "invalid port: '70000'" snc 127.0.0.1 70000
expect_fail "listen port 70000" 2 "invalid port: '70000'" snc -l 70000
expect_fail "port abc" 2 "invalid port: 'abc'" snc 127.0.0.1 abc
expect_fail "missing args" 2 "missing host and port" snc
expect_fail "missing port" 2 "missing port" snc 127.0.0.1
expect_fail "too many args" 2 "too many arguments" snc a 1 2
expect_fail "unknown flag" 2 "--bogus" snc --bogus 127.0.0.1 80
expect_fail "bad duration" 2 "invalid duration for -w: 'soon'" snc -w soon 127.0.0.1 80
expect_fail "-4 with -6" 2 "-4 and -6" snc -4 -6 127.0.0.1 80
expect_fail "--send-only with --recv-only" 2 "cannot be used together" snc --send-only --recv-only 127.0.0.1 80
expect_fail "-k without -l" 2 "-k needs -l" snc -k 127.0.0.1 80
expect_fail "bad scan list" 2 "invalid port list" snc -z 127.0.0.1 25-20
expect_fail "-l missing port" 2 "missing port" snc -l
expect_fail "-U missing path" 2 "missing socket path" snc -U
snc --help >"$T/out" 2>"$T/err"; rc=$?
check_eq "--help: exit 0" 0 $rc
check "--help: on stdout" grep -q -- "--no-shutdown" "$T/out"

finish
