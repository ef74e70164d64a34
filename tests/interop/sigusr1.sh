#!/usr/bin/env bash
# `kill -USR1 $(pidof sockit)` (the README's way to see the echo server's counters) reaches every
# sockit process: each long-running subcommand must handle or ignore SIGUSR1, never die of it
# (exit status 138). Each one is started on 127.0.0.1, sent SIGUSR1 by its own PID once it is
# running, then shown to still work: the servers print their counters and answer, the clients
# carry on and end with their usual status.
source "$(dirname "$0")/nc_lib.bash"
need ss python3

# ready PID: until PID has SIGUSR1 ignored or blocked (its signal set-up is done; 5 s at most).
ready() {
  local i ign blk
  for ((i = 0; i < 250; i++)); do
    ign=$(awk '/^SigIgn:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
    blk=$(awk '/^SigBlk:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
    [[ -n "$ign" ]] && (( (0x$ign | 0x$blk) & 0x200 )) && return 0
    sleep 0.02
  done
  echo "# PID $1 neither ignores nor blocks SIGUSR1"
  return 0  # send it anyway: the checks below then show what SIGUSR1 does
}
usr1() { ready "$1"; kill -USR1 "$1"; }
alive() { check "$1 still runs after SIGUSR1" kill -0 "$2"; }

# --- echo-server: prints its counters, keeps serving ---
EP=$(free_port)
start "$SOCKIT" echo-server -l "127.0.0.1:$EP" --udp "127.0.0.1:$EP" </dev/null >"$T/echo.out" 2>"$T/echo.err"
ECHO=$LAST
wait_for_line "$T/echo.err" 'counters: kill -USR1' >/dev/null
usr1 $ECHO
check "echo-server prints its counters" wait_for_line "$T/echo.err" 'counters: tcp accepted='
alive echo-server $ECHO
check_eq "echo-server still echoes" "after" "$(echo after | snc -q 1s 127.0.0.1 "$EP")"

# --- chat-server: prints its counters, keeps serving ---
CP=$(free_port)
start "$SOCKIT" chat-server -l "127.0.0.1:$CP" -q --no-flood-control </dev/null >"$T/chat.out" 2>"$T/chat.err"
CHAT=$LAST
wait_for_line "$T/chat.err" 'listening on' >/dev/null
usr1 $CHAT
check "chat-server prints its counters" wait_for_line "$T/chat.err" 'counters: users=0 registered=0'
alive chat-server $CHAT

# --- chat (line mode): still connected, its /quit still ends it with 0 ---
mkfifo "$T/chat_in"
exec 4<>"$T/chat_in"
start "$SOCKIT" chat 127.0.0.1 "$CP" --nick usr1 --plain --no-reconnect <"$T/chat_in" >"$T/client.out" 2>"$T/client.err" 4>&-
CLIENT=$LAST
wait_for_line "$T/client.out" 'No message of the day|MOTD' >/dev/null
usr1 $CLIENT
echo "/join #usr1" >&4
check "chat still talks to the server after SIGUSR1" wait_for_line "$T/client.out" 'usr1 has joined #usr1'
echo "/quit bye" >&4
exec 4>&-
wait_exit $CLIENT 10
check_eq "chat exit status after SIGUSR1 and /quit" 0 "$WAIT_RC"

# --- nc -l: still receives ---
start "${NC[@]}" -l -v 127.0.0.1 0 </dev/null >"$T/nc.out" 2>"$T/nc.err"
NCL=$LAST
NP=$(listen_port "$T/nc.err")
usr1 $NCL
alive "nc -l" $NCL
echo "after usr1" | snc -q 1s 127.0.0.1 "$NP" >/dev/null
check "nc -l still receives after SIGUSR1" wait_for_line "$T/nc.out" '^after usr1$'

# --- proxy: still forwards ---
start "$SOCKIT" proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$EP" </dev/null >"$T/proxy.out" 2>"$T/proxy.err"
PROXY=$LAST
wait_for_line "$T/proxy.err" '127\.0\.0\.1:[0-9]+' >/dev/null
PP=$(grep -oE '127\.0\.0\.1:[0-9]+' "$T/proxy.err" | head -1 | cut -d: -f2)
usr1 $PROXY
alive proxy $PROXY
check_eq "proxy still forwards" "through" "$(echo through | snc -q 1s 127.0.0.1 "$PP")"

# --- ping: finishes its count with status 0 (it runs longer than ready's 5 s, so a ping that
# neither ignores nor blocks SIGUSR1 still gets it) ---
start "$SOCKIT" ping -c 30 -i 200ms 127.0.0.1 "$EP" </dev/null >"$T/ping.out" 2>"$T/ping.err"
PING=$LAST
wait_for_line "$T/ping.out" 'seq=|bytes from' >/dev/null
usr1 $PING
wait_exit $PING 20
check_eq "ping exit status after SIGUSR1" 0 "$WAIT_RC"

# --- load hold: holds for its duration and reports, status 0 ---
start "$SOCKIT" load hold "127.0.0.1:$EP" -c 2 -d 6s </dev/null >"$T/load.out" 2>"$T/load.err"
LOAD=$LAST
usr1 $LOAD
wait_exit $LOAD 20
check_eq "load hold exit status after SIGUSR1" 0 "$WAIT_RC"

# --- dump -r from a pipe: reads on, ends with status 0 at the end of its input ---
mkfifo "$T/pcap"
start "$SOCKIT" dump -r "$T/pcap" </dev/null >"$T/dump.out" 2>"$T/dump.err"
DUMP=$LAST
exec 5>"$T/pcap"  # returns once dump has opened its input
python3 -c 'import struct,sys; sys.stdout.buffer.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))' >&5
usr1 $DUMP
alive dump $DUMP
exec 5>&-
wait_exit $DUMP 10
check_eq "dump exit status after SIGUSR1" 0 "$WAIT_RC"

finish
