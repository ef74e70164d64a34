#!/usr/bin/env bash
# The main job: installs what is missing, builds (release preset), and runs sockit's servers on
# 127.0.0.1 -- the echo server (TCP and UDP, port 7007; over TLS on 7008) and the IRC chat server
# (port 6667; over TLS on 6697; IRC over WebSocket and the web chat page on 8080) -- until Ctrl-C. The TLS listeners use a self-signed certificate
# for localhost/127.0.0.1 made on first run in build/run-tls (its key never leaves that directory).
# Ports can be changed: ECHO_PORT=7070 ECHO_TLS_PORT=7071 CHAT_PORT=6668 CHAT_TLS_PORT=6698 CHAT_WS_PORT=8081
# scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --build-only
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target sockit
bin=build/release/sockit
echo_port=${ECHO_PORT:-7007}
echo_tls_port=${ECHO_TLS_PORT:-7008}
chat_port=${CHAT_PORT:-6667}
chat_tls_port=${CHAT_TLS_PORT:-6697}
chat_ws_port=${CHAT_WS_PORT:-8080}

# A self-signed certificate for the TLS listeners (ECDSA P-256, 30 days; made again when expired).
tls_dir=$PWD/build/run-tls
cert=$tls_dir/cert.pem
key=$tls_dir/key.pem
if ! openssl x509 -in "$cert" -noout -checkend 86400 >/dev/null 2>&1; then
  mkdir -p "$tls_dir"
  if ! out=$(umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
       -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
       -keyout "$key" -out "$cert" 2>&1); then
    echo "run: could not make the TLS certificate in $tls_dir:" >&2
    echo "$out" >&2
    exit 1
  fi
fi

pids=()
stop() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait || true
}
trap stop INT TERM EXIT

"$bin" echo-server --listen "127.0.0.1:$echo_port" --udp "127.0.0.1:$echo_port" &
pids+=($!)
"$bin" echo-server --listen "127.0.0.1:$echo_tls_port" --tls-cert "$cert" --tls-key "$key" &
pids+=($!)
"$bin" chat-server --listen "127.0.0.1:$chat_port" \
  --tls-listen "127.0.0.1:$chat_tls_port" --tls-cert "$cert" --tls-key "$key" \
  --ws-listen "127.0.0.1:$chat_ws_port" &
pids+=($!)
sleep 1
for p in "${pids[@]}"; do
  kill -0 "$p" 2>/dev/null || { echo "run: a server failed to start (see above)" >&2; exit 1; }
done
cat <<BANNER

  sockit is running on 127.0.0.1 (Ctrl-C stops the servers)

  echo server  TCP+UDP 127.0.0.1:$echo_port   connect:  $bin nc 127.0.0.1 $echo_port
                                                     $bin nc -u 127.0.0.1 $echo_port
               TLS     127.0.0.1:$echo_tls_port   connect:  $bin nc --ssl --ssl-trustfile $cert 127.0.0.1 $echo_tls_port
                                                     openssl s_client -CAfile $cert -connect 127.0.0.1:$echo_tls_port
  chat server  IRC     127.0.0.1:$chat_port   connect:  $bin chat 127.0.0.1:$chat_port --nick you
                                                     irssi -c 127.0.0.1 -p $chat_port
               IRC+TLS 127.0.0.1:$chat_tls_port   connect:  $bin chat ircs://127.0.0.1:$chat_tls_port --tls-ca $cert --nick you
                                                     irssi, then: /connect -tls -tls_cafile $cert 127.0.0.1 $chat_tls_port
               IRC/WS  127.0.0.1:$chat_ws_port   connect:  the web chat page at http://127.0.0.1:$chat_ws_port/ (docs/WEB.md)
                                                     or a browser IRC client (gamja, Kiwi IRC) to ws://127.0.0.1:$chat_ws_port/

  The TLS certificate is self-signed (for localhost and 127.0.0.1): $cert

  open http://127.0.0.1:$chat_ws_port/ in your browser

BANNER
wait -n "${pids[@]}"
