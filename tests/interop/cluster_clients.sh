#!/usr/bin/env bash
# Issue #20 with real clients: one chat network of three `sockit chat-server --cluster` nodes
# joined through a redis-server of its own (loopback, free port, temp dir, no persistence), with
# irssi (in a private tmux server) on node A, ii on node B and `sockit chat --plain` on node C, all
# in #net. Checks what each client shows: lines across nodes, TOPIC, +o given on A acting on B,
# +b, +k, +i with INVITE, +l counting the members of every node, KICK, WHOIS/WHO/NAMES/LIST of
# users on other nodes, PRIVMSG and NOTICE to a user on another node, KILL by an operator on A of
# a user on C. Every wait polls for its line with a deadline. Exit 77 when redis-server, redis-cli,
# irssi, tmux or ii is missing.
source "$(dirname "$0")/chat_lib.bash"
need redis-server redis-cli irssi tmux ii python3
sock="sockit-cluster-$$"   # irssi's private tmux server (pane/keys: irc_lib.bash)
# IRC_KEEP_DIR=DIR keeps a copy of the scratch directory (logs of every party), as irc_lib.bash does.
CHAT_EXTRA_CLEANUP='tmux -L "$sock" kill-server 2>/dev/null; [[ -z "${IRC_KEEP_DIR:-}" ]] || cp -r "$T" "$IRC_KEEP_DIR"'
# What irssi shows: its pane, the status window's log (WHOIS, WHO, LIST, NOTICEs land there) and
# the channel's and queries' autologs.
pane() {
  tmux -L "$sock" capture-pane -p -t irc -S -3000 2>/dev/null || true
  cat "$T"/irssi/logs/*.log 2>/dev/null || true
}
keys() { tmux -L "$sock" send-keys -t irc -l "$1"; tmux -L "$sock" send-keys -t irc Enter; }

# abort MESSAGE: a failed set-up step: what every party shows, then exit 1.
abort() {
  fail "$1"
  local f
  for f in "$T"/node*.err "$T"/redis/redis.log "$T"/*.out "$T"/*.err; do
    [[ -s "$f" ]] && { echo "--- $f"; tail -20 "$f"; }
  done
  echo "--- irssi pane:"; pane | grep -v '^ *$' | tail -40
  finish
}
# on_pane DESC REGEX [SECONDS=10]: a check that waits until irssi's pane shows a matching line.
on_pane() {
  local i
  for ((i = 0; i < ${3:-10} * 20; i++)); do
    pane | grep -Eq -- "$2" && { pass "$1"; return 0; }
    sleep 0.05
  done
  fail "$1: [$2] not in irssi's pane"; pane | grep -v '^ *$' | tail -15 | sed 's/^/    | /'
  return 1
}
# expect_n DESC FILE REGEX N: a check that waits until N lines of FILE match (a line seen before).
expect_n() {
  if wait_count "$2" "$3" "$4" 10; then pass "$1"; else
    fail "$1: fewer than $4 lines matching [$3] in $(basename "$2")"; tail -15 "$2" | sed 's/^/    | /'
  fi
}
# ii's files: its server window and #net (ii names the directory after the host).
IIS="$T/ii/127.0.0.1"
IIC="$IIS/#net"
ii_say() { printf '%s\n' "$2" >"$1/in"; }   # ii_say DIR LINE

# ---- redis-server and three nodes ----
mkdir -p "$T/redis"
RPORT=$(free_port)
(close_inherited; exec redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$T/redis" --logfile "$T/redis/redis.log" --daemonize no) &
PIDS+=("$!")
rcli() { redis-cli -h 127.0.0.1 -p "$RPORT" "$@"; }
for ((i = 0; i < 200; i++)); do [[ $(rcli PING 2>/dev/null) == PONG ]] && break; sleep 0.05; done
[[ $(rcli PING 2>/dev/null) == PONG ]] || abort "redis-server did not answer PING"

# An operator block (root / pw) for the KILL at the end; PBKDF2 at the floor of 1000 rounds.
hash=$(printf 'pw\n' | "$SOCKIT" chat-server --hash-password --iterations 1000) || abort "--hash-password"
printf '[[operator]]\nname = "root"\npassword = "%s"\n' "$hash" >"$T/oper.toml"
declare -A NPORT
for n in a b c; do
  (close_inherited; exec "$SOCKIT" chat-server -l 127.0.0.1:0 -q --no-flood-control --config "$T/oper.toml" \
    --cluster "redis://127.0.0.1:$RPORT" --node-name "node-$n" --server-name "$n.example") \
    2>"$T/node$n.err" &
  PIDS+=("$!")
done
for n in a b c; do
  for ((i = 0; i < 200; i++)); do grep -q "listening on" "$T/node$n.err" 2>/dev/null && break; sleep 0.05; done
  NPORT[$n]=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/node$n.err" | head -1)
  [[ -n "${NPORT[$n]}" ]] || abort "node $n printed no port"
done
# Each node subscribes to sockit:msg once it is up: wait for the three subscriptions.
for ((i = 0; i < 200; i++)); do
  [[ $(rcli PUBSUB NUMSUB sockit:msg 2>/dev/null | tail -1) == 3 ]] && break; sleep 0.05
done
[[ $(rcli PUBSUB NUMSUB sockit:msg | tail -1) == 3 ]] || abort "the three nodes did not subscribe"
pass "redis-server on $RPORT, nodes a/b/c on ${NPORT[a]}/${NPORT[b]}/${NPORT[c]}"

# ---- the clients: irssi "tester" on A (first in #net: its operator), ii "peer" on B, carol on C ----
mkdir -p "$T/irssi"
cat >"$T/irssi/config" <<CONF
settings = {
  core = { real_name = "irssi tester"; user_name = "tester"; nick = "tester"; };
  "irc/core" = { cmd_queue_speed = "10msec"; cmds_max_at_once = "50"; };  # irssi's own throttle off
  "fe-common/core" = { autolog = "yes"; autolog_path = "$T/irssi/logs/\$0.log"; };
};
CONF
tmux -L "$sock" -f /dev/null new-session -d -s irc -x 200 -y 50 \
  "TERM=screen irssi --home='$T/irssi' -n tester -c 127.0.0.1 -p ${NPORT[a]}"
on_pane "irssi registered on A" "Welcome to the sockit IRC Network" 15 || abort "irssi did not register"
mkdir -p "$T/irssi/logs"
keys "/log open -window $T/irssi/logs/status.log"
wait_for "$T/irssi/logs/status.log" "Log file .* opened" 5 || abort "irssi did not open the status window's log"
keys "/rawlog open $T/irssi/raw.log"
keys "/join #net"
on_pane "irssi joined #net" "Join to #net was synced" || abort "irssi did not join"

(close_inherited; exec ii -s 127.0.0.1 -p "${NPORT[b]}" -n peer -i "$T/ii" -f "ii peer") >"$T/ii.log" 2>&1 &
PIDS+=("$!")
wait_for "$IIS/out" "Welcome to the sockit IRC Network" 10 || abort "ii did not register on B"
ii_say "$IIS" "/j #net"
expect "ii (B) joined #net" "$IIC/out" 'peer\(.*has joined #net'
on_pane "irssi (A) sees peer (B) join" 'peer \[.*\] has joined #net'

client carol "127.0.0.1:${NPORT[c]}" --nick carol --join '#net'
expect "carol (C) joined #net" "$T/carol.out" '^\[#net\] \* carol has joined #net$'
on_pane "irssi (A) sees carol (C) join" 'carol \[.*\] has joined #net'
expect "ii (B) sees carol (C) join" "$IIC/out" 'carol\(.*has joined #net'

# ---- channel lines, every direction ----
keys "hello from irssi on A"
expect "A -> B: ii shows irssi's line" "$IIC/out" '<tester> hello from irssi on A$'
expect "A -> C: carol shows irssi's line" "$T/carol.out" '^\[#net\] <tester> hello from irssi on A$'
ii_say "$IIC" "hello from ii on B"
on_pane "B -> A: irssi shows ii's line" '<.peer> hello from ii on B'
expect "B -> C: carol shows ii's line" "$T/carol.out" '^\[#net\] <peer> hello from ii on B$'
say carol "hello from sockit chat on C"
on_pane "C -> A: irssi shows carol's line" '<.carol> hello from sockit chat on C'
expect "C -> B: ii shows carol's line" "$IIC/out" '<carol> hello from sockit chat on C$'

# ---- +o given on A acts on B; TOPIC ----
ii_say "$IIC" "/t refused topic"   # +t (a default mode) and peer is no operator yet: 482
expect "TOPIC from B without +o: 482" "$IIS/out" "482|not channel operator"
keys "/mode #net +o peer"
on_pane "irssi (A) shows its +o for peer" 'mode/#net \[\+o peer\] by tester'
expect "ii (B) sees the +o" "$IIC/out" 'changed mode/#net -> \+o +peer$'
expect "carol (C) sees the +o" "$T/carol.out" '^\[#net\] \* tester sets mode \+o peer on #net$'
ii_say "$IIC" "/t one network, three nodes"
on_pane "TOPIC set on B (op given on A) reaches irssi" 'peer changed the topic of #net to: one network, three nodes'
expect "TOPIC reaches carol (C)" "$T/carol.out" '^\[#net\] \* peer changed the topic of #net to: one network, three nodes$'

# ---- NAMES, WHO, WHOIS, LIST across nodes ----
keys "/names #net"
on_pane "NAMES on A: @peer (B) and carol (C)" '\[@peer *\].*\[ carol *\]|\[ carol *\].*\[@peer *\]'
say carol "/names #net"
expect "NAMES on C: @tester @peer carol" "$T/carol.out" '^\[#net\] \* Names on #net \(3\): .*@peer'
keys "/whois carol"
on_pane "WHOIS on A of carol: C's server" 'server +: c\.example'
say carol "/whois peer"
expect "WHOIS on C of peer: B's server" "$T/carol.out" 'peer server b\.example'
expect "WHOIS on C of peer: its channel" "$T/carol.out" 'peer channels: .*#net'
keys "/who #net"
on_pane "WHO #net on A lists carol (C)" '#net +carol +H '
on_pane "WHO #net on A: peer (B) with its @" '#net +peer +H\*?@'
# LIST counts the members of every node (not only this node's).
ii_say "$IIS" "/LIST"
expect "LIST on B counts all 3 members" "$IIS/out" '#net 3 '
ii_say "$IIS" "/WHOIS carol"
expect "WHOIS on B of carol (C): 312 c.example" "$IIS/out" 'carol c\.example'

# ---- PRIVMSG and NOTICE to a user on another node ----
keys "/msg peer private from A"
wait_for "$IIS/tester/out" '<tester> private from A$' 5 && pass "PRIVMSG A -> B (ii's query)" ||
  fail "PRIVMSG A -> B: not in ii's tester/out"
ii_say "$IIS" "/j carol private from B"
expect "PRIVMSG B -> C" "$T/carol.out" '^\[peer\] <peer> private from B$'
say carol "/msg tester private from C"
wait_for "$T/irssi/logs/carol.log" 'carol> private from C' 5 && pass "PRIVMSG C -> A (irssi's query)" ||
  fail "PRIVMSG C -> A: not in irssi's carol log"
keys "/notice carol notice from A"
expect "NOTICE A -> C" "$T/carol.out" '-tester- notice from A$'
ii_say "$IIS" "/NOTICE tester :notice from B"
on_pane "NOTICE B -> A" '-peer\(.*\)- notice from B'

# ---- +b, +k, +i with INVITE, KICK ----
say carol "/part #net"
expect "carol left #net" "$T/carol.out" 'You have left #net'
on_pane "irssi (A) sees carol (C) leave" 'carol \[.*\] has left #net'
# +b set on B (by the operator A made) keeps carol out on C; -b lets her in.
ii_say "$IIS" "/MODE #net +b carol!*@*"
on_pane "irssi (A) shows +b set on B" 'mode/#net \[\+b carol!\*@\*\] by peer'
say carol "/join #net"
expect "+b set on B refuses the JOIN on C: 474" "$T/carol.err" '#net: Cannot join channel \(\+b\)$'
ii_say "$IIS" "/MODE #net -b carol!*@*"
on_pane "irssi (A) shows -b" 'mode/#net \[-b carol!\*@\*\] by peer'
# +k set on A: 475 on C without the key, admitted with it.
keys "/mode #net +k sesame"
expect "ii (B) sees +k" "$IIC/out" 'changed mode/#net -> \+k +sesame$'
say carol "/join #net"
expect "+k set on A refuses the JOIN on C without the key: 475" "$T/carol.err" '#net: Cannot join channel \(\+k\)$'
say carol "/join #net sesame"
expect_n "carol (C) joins with the key" "$T/carol.out" '^\[#net\] \* carol has joined #net$' 2
expect_n "irssi (A) sees carol (C) join with the key" "$T/irssi/logs/#net.log" 'carol \[.*\] has joined #net' 2
keys "/mode #net -k sesame"
expect "ii (B) sees -k" "$IIC/out" 'changed mode/#net -> -k'
# +i set on A: 473 on C; an INVITE from B lets her in once.
say carol "/part #net"
expect_n "carol left #net again" "$T/carol.out" '^\[#net\] \* You have left #net$' 2
keys "/mode #net +i"
expect "ii (B) sees +i" "$IIC/out" 'changed mode/#net -> +\+i$'
say carol "/join #net"
expect "+i set on A refuses the JOIN on C: 473" "$T/carol.err" '#net: Cannot join channel \(\+i\)$'
ii_say "$IIS" "/INVITE carol #net"
expect "INVITE from B reaches carol (C)" "$T/carol.out" '\* peer invites you to #net$'
say carol "/join #net"
expect_n "carol (C) joins on B's invitation" "$T/carol.out" '^\[#net\] \* carol has joined #net$' 3
expect_n "ii (B) sees carol join on its invitation" "$IIC/out" 'carol\(.*has joined #net' 3
keys "/mode #net -i"
expect "ii (B) sees -i" "$IIC/out" 'changed mode/#net -> +-i$'
# +l 3 with tester (A), peer (B), carol (C): dave on C, where only carol is, is refused (471):
# the limit counts the members of every node. +l 4 lets him in.
keys "/mode #net +l 3"
expect "ii (B) sees +l 3" "$IIC/out" 'changed mode/#net -> \+l +3$'
client dave "127.0.0.1:${NPORT[c]}" --nick dave --join '#net' --no-reconnect
expect "+l 3 with one member on each node refuses dave on C: 471" "$T/dave.err" '#net: Cannot join channel \(\+l\)$'
keys "/mode #net +l 4"
expect "carol (C) sees +l 4" "$T/carol.out" 'sets mode \+l 4 on #net$'
say dave "/join #net"
expect "dave (C) joins under +l 4" "$T/dave.out" '^\[#net\] \* dave has joined #net$'
on_pane "irssi (A) sees dave (C) join" 'dave \[.*\] has joined #net'
keys "/names #net"
on_pane "NAMES on A: 4 members over 3 nodes" 'Total of 4 nicks \[2 ops, 0 halfops, 0 voices, 2 normal\]'
ii_say "$IIS" "/LIST #net"
expect "LIST on B counts 4 members" "$IIS/out" '#net 4 one network, three nodes'

# AWAY on B and OPER on A show in WHO and WHOIS on other nodes (remote AWAY and OPER replicated).
ii_say "$IIS" "/a gone fishing"
expect "ii (B) is away" "$IIS/out" 'marked as being away|306'
keys "/oper root pw"
on_pane "irssi (A) is an IRC operator" 'You are now an IRC operator'
keys "/who #net"
on_pane "WHO on A: peer (B) away, operator of #net" '#net +peer +G@ '
say carol "/whois peer"
expect "WHOIS on C: peer (B) is away" "$T/carol.out" 'peer is away: gone fishing'
ii_say "$IIS" "/WHO #net"
expect "WHO on B: tester (A) an IRC operator" "$IIS/out" 'a\.example tester H\*@'

# KICK from B of carol on C.
ii_say "$IIS" "/KICK #net carol :bye carol"
expect "carol (C) is kicked by peer (B)" "$T/carol.out" '\* You were kicked from #net by peer \(bye carol\)$'
on_pane "irssi (A) sees the KICK" 'carol was kicked from #net by peer \[bye carol\]'
expect "dave (C) sees the KICK" "$T/dave.out" '\* carol was kicked from #net by peer \(bye carol\)$'

# KILL by an operator on A of dave on C: dave is disconnected, A and B see his QUIT once.
keys "/kill dave too noisy"
expect "dave (C) gets the KILL" "$T/dave.err" 'Server error: Closing Link: .*\(Killed \(tester \(too noisy\)\)\)$'
reap_client dave
[[ $RC -eq 1 ]] && pass "dave (--no-reconnect) exits 1 once killed" || fail "dave's exit status after the KILL: $RC"
expect "ii (B) sees dave's QUIT" "$IIS/out" 'dave\(.*has quit "Killed \(tester \(too noisy\)\)"$'
on_pane "irssi (A) sees dave's QUIT" 'dave \[.*\] has quit \[Killed \(tester \(too noisy\)\)\]'
keys "/whois dave"
on_pane "WHOIS dave on A after the KILL: no such nick (401)" 'There is no such nick dave'
[[ $(grep -c 'dave(.*has quit' "$IIS/out") -eq 1 ]] && pass "ii (B) saw dave quit once" || fail "ii (B) saw dave quit $(grep -c 'dave(.*has quit' "$IIS/out") times"
# NICK on B seen on A; C's replica follows it (WHOIS of the new nick names B's server).
ii_say "$IIS" "/n peer2"
on_pane "NICK on B seen by irssi (A)" 'peer is now known as peer2'
say carol "/whois peer2"
expect "WHOIS on C of the new nick: B's server" "$T/carol.out" 'peer2 server b\.example'
# irssi's raw log (">>": what it received): no error numeric and no ERROR but the missing MOTD's 422
# and the 401/406 of the WHOIS dave above.
wait_for "$T/irssi/raw.log" ' 406 tester dave ' 5
errors=$(grep -E '^>> (@[^ ]+ )?(:[^ ]+ [45][0-9][0-9] |ERROR)' "$T/irssi/raw.log" | grep -Ev ' 422 tester | 40[16] tester dave ')
[[ -z "$errors" ]] && pass "irssi got no unexpected error numeric in $(grep -c '^>> ' "$T/irssi/raw.log") lines" ||
  fail "irssi got error numerics: $errors"
finish
