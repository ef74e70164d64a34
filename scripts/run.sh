#!/usr/bin/env bash
# The main job: installs what is missing, builds (release preset), and runs sockit's servers on
# 127.0.0.1 -- the echo server (TCP and UDP, port 7007) and the IRC chat server (port 6667) --
# until Ctrl-C. Ports can be changed: ECHO_PORT=7070 CHAT_PORT=6668 scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --build-only
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target sockit
bin=build/release/sockit
echo_port=${ECHO_PORT:-7007}
chat_port=${CHAT_PORT:-6667}

pids=()
stop() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait || true
}
trap stop INT TERM EXIT

"$bin" echo-server --listen "127.0.0.1:$echo_port" --udp "127.0.0.1:$echo_port" &
pids+=($!)
"$bin" chat-server --listen "127.0.0.1:$chat_port" &
pids+=($!)
sleep 1
for p in "${pids[@]}"; do
  kill -0 "$p" 2>/dev/null || { echo "run: a server failed to start (see above)" >&2; exit 1; }
done
cat <<BANNER

  sockit is running on 127.0.0.1 (Ctrl-C stops both servers)

  echo server  TCP+UDP 127.0.0.1:$echo_port   connect:  $bin nc 127.0.0.1 $echo_port
                                                     $bin nc -u 127.0.0.1 $echo_port
  chat server  IRC     127.0.0.1:$chat_port   connect:  $bin chat 127.0.0.1:$chat_port --nick you
                                                     irssi -c 127.0.0.1 -p $chat_port

BANNER
wait -n "${pids[@]}"
