#!/usr/bin/env bash
# Half-close in both orders through `sockit proxy` and `sockit nc` (both on sockit::loop's
# Connection::half_close): nc -> proxy -> a Python peer, 1 MiB each way, byte-exact.
#   1. nc's FIN first: the peer reads to EOF, then answers 1 MiB and closes.
#   2. the peer's FIN first: it sends 1 MiB and half-closes; nc's stdin only then sends 1 MiB.
# nc must exit 0 in both, with nothing on stderr; the proxy must end the link cleanly.
source "$(dirname "$0")/nc_lib.bash"
need python3 ss

head -c $((1 << 20)) /dev/urandom >"$T/up"
head -c $((1 << 20)) /dev/urandom >"$T/down"
SIZE=$((1 << 20))

# peer PORT MODE GOT: one connection; MODE read_first | send_first; what it read goes to GOT.
peer() {
  python3 - "$1" "$2" "$3" "$T/down" <<'PY'
import socket, sys
port, mode, got_path, reply_path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
reply = open(reply_path, "rb").read()
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port))
l.listen(1)
l.settimeout(20)
c, _ = l.accept()
c.settimeout(20)
def read_all():
    data = bytearray()
    while True:
        b = c.recv(65536)
        if not b:
            return bytes(data)
        data += b
if mode == "read_first":
    got = read_all()
    c.sendall(reply)
else:
    c.sendall(reply)
    c.shutdown(socket.SHUT_WR)
    got = read_all()
open(got_path, "wb").write(got)
c.close()
PY
}

# wait_size FILE BYTES: until FILE holds BYTES bytes (10 s at most).
wait_size() {
  local i
  for ((i = 0; i < 500; i++)); do
    [[ $(stat -c %s "$1" 2>/dev/null || echo 0) -ge $2 ]] && return 0
    sleep 0.02
  done
  return 1
}

for mode in read_first send_first; do
  echo "# $mode"
  UP=$(free_port)
  PX=$(free_port)
  start peer "$UP" "$mode" "$T/got_$mode"
  PEER=$LAST
  wait_listen "$UP"
  start "$SOCKIT" proxy --listen "127.0.0.1:$PX" --upstream "127.0.0.1:$UP" -v 2>"$T/proxy_$mode"
  PROXY=$LAST
  wait_listen "$PX"
  : >"$T/out_$mode"
  if [[ $mode == read_first ]]; then
    snc 127.0.0.1 "$PX" <"$T/up" >"$T/out_$mode" 2>"$T/err_$mode"; rc=$?
  else
    # stdin opens only once the peer's whole answer (and so its FIN) has come through.
    { wait_size "$T/out_$mode" $SIZE; cat "$T/up"; } | snc 127.0.0.1 "$PX" >"$T/out_$mode" 2>"$T/err_$mode"; rc=$?
  fi
  check_eq "$mode: nc exits 0" 0 $rc
  check "$mode: nothing on nc's stderr" test ! -s "$T/err_$mode"
  wait_exit $PEER 10
  check_eq "$mode: the peer finished" 0 $WAIT_RC
  check_file_eq "$mode: the peer got nc's 1 MiB" "$T/up" "$T/got_$mode"
  check_file_eq "$mode: nc printed the peer's 1 MiB" "$T/down" "$T/out_$mode"
  check "$mode: the proxy ended the link cleanly" wait_for_line "$T/proxy_$mode" 'closed \(both directions finished\)'
  check "$mode: no reset in the proxy" test -z "$(grep -i resetting "$T/proxy_$mode")"
  kill "$PROXY" 2>/dev/null
  wait_exit $PROXY 5
done
finish
