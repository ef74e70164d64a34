# bench/irc_servers.sh: sourced by bench/run.sh and bench/pair.sh. Writes the configuration of one
# IRC server for the fan-out benchmark and sets IRC_CMD to the command that runs it.
#
#   irc_server_cmd NAME PORT DIR SOCKIT   NAME: sockit-chat | sockit-chat-uring | ngircd | inspircd
#
# sockit-chat is sockit chat-server --backend epoll, sockit-chat-uring is --backend uring (io_uring
# poller, sends through the ring); both name the backend and the hold explicitly, so an arm means
# the same whatever the chat server's defaults are. A sockit name may end in @DURATION: the same
# server with --output-hold DURATION (a passive receiver's small output waits up to that long,
# docs/BENCHMARKS.md), e.g. sockit-chat-uring@5ms; without it --output-hold 0 (off).
# sockit-chat-uring-acc0 is sockit-chat-uring with SOCKIT_URING_ACCEPT=0 (accepts on readiness
# instead of the ring's multishot accept), for the A/B of the registration storm; it takes @ too.
# A sockit name ending in +base runs the binary SOCKIT_BASE instead (a before/after A/B of two
# builds in one rotation), e.g. sockit-chat+base,sockit-chat or sockit-chat-uring@10ms+base.
#
# Returns 2 for an unknown name, 3 when the server is not installed. Flood limits are lifted as
# far as each server's configuration allows. What remains is compiled in: ngircd 26 handles at
# most 3 commands per client per loop pass (MAX_COMMANDS; 10 with user mode +F, which only an
# operator can set), so the 4th line of a --window 4 sender waits for a later pass; it flushes a
# client's write buffer synchronously at 4 KiB and drops the client at 32 KiB ("Write buffer
# space exhausted"), and reads at most 2 KiB per client ("Receive buffer space exhausted").
# MaxPenaltyTime = 0 turns its 1 s throttling penalties off. inspircd 3.15: nothing that this load
# reaches (fakelag off, commandrate/threshold/sendq/recvq far above it); lines stay limited to
# 512 bytes in all three servers.
irc_server_cmd() {
  local name=$1 port=$2 dir=$3 sockit=$4 hold=(--output-hold 0) env=()
  mkdir -p "$dir"
  case "$name" in
    sockit-*+base)
      [ -x "${SOCKIT_BASE:-}" ] || { echo "irc_server_cmd: $name needs SOCKIT_BASE=BINARY" >&2; return 3; }
      sockit=$SOCKIT_BASE; name=${name%+base} ;;
  esac
  case "$name" in
    sockit-chat@* | sockit-chat-uring@* | sockit-chat-uring-acc0@*) hold=(--output-hold "${name#*@}"); name=${name%@*} ;;
  esac
  case "$name" in
    sockit-chat-uring-acc0) env=(env SOCKIT_URING_ACCEPT=0); name=sockit-chat-uring ;;
  esac
  case "$name" in
    sockit-chat)
      IRC_CMD=("${env[@]}" "$sockit" chat-server --backend epoll --listen 127.0.0.1:$port --no-flood-control --max-per-ip 0 --quiet "${hold[@]}") ;;
    sockit-chat-uring)
      IRC_CMD=("${env[@]}" "$sockit" chat-server --backend uring --listen 127.0.0.1:$port --no-flood-control --max-per-ip 0 --quiet "${hold[@]}") ;;
    ngircd)
      command -v ngircd >/dev/null || return 3
      echo "Welcome" >"$dir/motd"
      cat >"$dir/ngircd.conf" <<EOC
[Global]
Name = bench.ngircd
Info = sockit bench
Listen = 127.0.0.1
Ports = $port
MotdFile = $dir/motd
PidFile = $dir/ngircd.pid
[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxNickLength = 30
MaxPenaltyTime = 0
PingTimeout = 3600
PongTimeout = 3600
[Options]
DNS = no
Ident = no
PAM = no
MorePrivacy = no
EOC
      IRC_CMD=(ngircd -n -f "$dir/ngircd.conf") ;;
    inspircd)
      command -v inspircd >/dev/null || return 3
      echo "Welcome" >"$dir/motd"
      cat >"$dir/inspircd.conf" <<EOC
<server name="bench.inspircd" description="sockit bench" network="bench">
<admin name="bench" nick="bench" email="bench@localhost">
<bind address="127.0.0.1" port="$port" type="clients">
<connect allow="*" timeout="60" pingfreq="3600" threshold="1000000" commandrate="1000000000" fakelag="no"
         hardsendq="64M" softsendq="64M" recvq="64M" localmax="100000" globalmax="100000" limit="100000"
         maxchans="100" useident="no" resolvehostnames="no" maxconnwarn="no">
<performance netbuffersize="65536" somaxconn="4096" softlimit="20000" clonesonconnect="no" quietbursts="yes">
<channels users="1000" opers="1000">
<limits maxnick="30" maxchan="64" maxmodes="20" maxident="11" maxquit="255" maxtopic="307" maxkick="255" maxreal="128" maxaway="200">
<files motd="$dir/motd">
<pid file="$dir/inspircd.pid">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="$dir/ircd.log">
<dns timeout="1">
<security hidesplits="no" maxtargets="20">
EOC
      IRC_CMD=(inspircd --nofork --config "$dir/inspircd.conf")
      [ "$(id -u)" = 0 ] && IRC_CMD+=(--runasroot)
      ;;
    *) return 2 ;;
  esac
  return 0
}
