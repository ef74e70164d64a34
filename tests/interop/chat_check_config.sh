#!/usr/bin/env bash
# sockit chat-server --check-config (issue 22 item 6) and examples/chat.toml: the example loads and
# holds every key the loader knows, each with its default and a comment; the printed effective
# configuration loads back and prints the same; broken files exit 2 with file:line; nothing is bound.
source "$(dirname "$0")/chat_lib.bash"
need python3
SRC=${SOCKIT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
EXAMPLE=$SRC/examples/chat.toml
check() { "$SOCKIT" chat-server --check-config "$@"; }

# (a) the example loads, and its values are the defaults (the same output as no file at all).
check -c "$EXAMPLE" >"$T/example.out" 2>"$T/example.err"; rc=$?
[[ $rc -eq 0 ]] && pass "examples/chat.toml loads (exit 0)" || { fail "example: exit $rc"; cat "$T/example.err"; }
grep -q 'examples/chat.toml is valid' "$T/example.err" && pass "stderr says the file is valid" || fail "no 'is valid' line"
check >"$T/defaults.out" 2>/dev/null
cmp -s "$T/example.out" "$T/defaults.out" && pass "every value in the example is the default" ||
  { fail "the example differs from the defaults"; diff "$T/defaults.out" "$T/example.out"; }

# (b) the example's keys (its commented [[operator]] block uncommented, with a real hash) are
# exactly the keys --check-config prints, which the binary checks against the loader's key lists.
HASH=$(echo 'op-secret' | "$SOCKIT" chat-server --hash-password --iterations 1000)
sed -e 's/^#\(\[\[operator\]\]\)/\1/' -e 's/^#\(name\|host\) = /\1 = /' \
    -e "s|^#password = .*|password = \"$HASH\"|" "$EXAMPLE" >"$T/with_op.toml"
check -c "$T/with_op.toml" >"$T/with_op.out" 2>"$T/with_op.err" && pass "the example's [[operator]] block loads once uncommented" ||
  { fail "uncommented operator block: $(cat "$T/with_op.err")"; }
python3 - "$T/with_op.toml" "$T/with_op.out" "$EXAMPLE" <<'PY' && pass "example keys == printed keys, each with a comment" || fail "example keys differ"
import re, sys, tomllib
def keys(path):
    with open(path, "rb") as f:
        doc = tomllib.load(f)
    out = set()
    for sect, val in doc.items():
        for t in (val if isinstance(val, list) else [val]):
            out |= {f"{sect}.{k}" for k in t}
    return out
example, printed = keys(sys.argv[1]), keys(sys.argv[2])
ok = True
for k in sorted(printed - example): print(f"# missing in examples/chat.toml: {k}"); ok = False
for k in sorted(example - printed): print(f"# not printed by --check-config: {k}"); ok = False
if len(printed) < 30: print(f"# only {len(printed)} keys printed"); ok = False
# Every key line of the example has a comment on it or just above it (the admin block shares one).
lines = open(sys.argv[3]).read().splitlines()
for i, l in enumerate(lines):
    if re.match(r"^#?\w+ = ", l) and "#" not in l.split("=", 1)[1] and not lines[i - 1].startswith("#") \
       and not re.match(r"^\w+ = ", lines[i - 1]):
        print(f"# no comment for line {i + 1}: {l}"); ok = False
sys.exit(0 if ok else 1)
PY

# (c) round trip: a file with every kind of value, plus overriding flags; what it prints loads back
# (from another folder) and prints the same.
mkdir -p "$T/conf" "$T/other"
printf 'Welcome\n' >"$T/conf/motd.txt"
cat >"$T/conf/chat.toml" <<TOML
[server]
name = "irc.round.trip"
description = 'quote " backslash \\ tab	end ✓'
listen = ["127.0.0.1:0", "[::1]:0"]
motd_file = "motd.txt"
password = "$HASH"
[limits]
sendq = "1MiB"
recvq = 4096
max_per_ip = 0
exempt_loopback = false
[timeouts]
registration = 12
ping_interval = "1500ms"
ping_timeout = "2m"
[flood]
rate = 0.1
exempt_opers = false
[admin]
email = "ops@example.org"
[accounts]
hash_memory_kib = 64
hash_iterations = 1
weak_hash_for_tests = true
[[operator]]
name = "alice"
password = "$HASH"
host = "*!*@127.0.0.1"
[[operator]]
name = "bob"
password = "$HASH"
TOML
check -c "$T/conf/chat.toml" --max-clients 77 --flood-burst 9 --allow-invalid-utf8 >"$T/other/print1.toml" 2>"$T/rt.err"; rc=$?
[[ $rc -eq 0 ]] && pass "a file of every value type loads" || { fail "round trip file: exit $rc"; cat "$T/rt.err"; }
check -c "$T/other/print1.toml" >"$T/print2.toml" 2>"$T/rt2.err"; rc=$?
[[ $rc -eq 0 ]] && pass "the printed configuration loads back" || { fail "print1 reload: exit $rc"; cat "$T/rt2.err"; }
cmp -s "$T/other/print1.toml" "$T/print2.toml" && pass "and prints the same" ||
  { fail "round trip differs"; diff "$T/other/print1.toml" "$T/print2.toml"; }
for want in 'max_clients = 77' 'burst = 9' 'enforce_utf8 = false' 'sendq = 1048576' 'ping_interval = "1500ms"' \
            'registration = "12s"' 'ping_timeout = "120s"' 'rate = 0.1' "motd_file = \"$T/conf/motd.txt\"" \
            'listen = ["127.0.0.1:0", "[::1]:0"]' 'host = "*!*@127.0.0.1"' 'hash_memory_kib = 64' \
            'hash_iterations = 1' 'hash_parallelism = 1' 'weak_hash_for_tests = true' 'description = "quote \" backslash \\ tab\u0009end ✓"'; do
  grep -qxF -- "$want" "$T/other/print1.toml" && pass "effective: $want" || fail "not printed: $want"
done
[[ $(grep -c '^\[\[operator\]\]$' "$T/other/print1.toml") -eq 2 ]] && pass "both operators printed" || fail "operators"
check -c "$T/conf/chat.toml" -l 127.0.0.1:7000 --motd "$T/conf/motd.txt" >"$T/flags.out" 2>/dev/null
grep -qxF 'listen = ["127.0.0.1:7000"]' "$T/flags.out" && pass "--listen replaces the file's list" || fail "--listen not applied"

# Broken input: exit 2, one line naming file:line:column (or the flag), nothing on stdout.
bad() {  # NAME EXPECTED-STDERR-REGEX TOML-TEXT [FLAGS...]
  local name=$1 re=$2 text=$3 rc; shift 3
  printf '%s\n' "$text" >"$T/$name.toml"
  check -c "$T/$name.toml" "$@" >"$T/$name.out" 2>"$T/$name.err"; rc=$?
  if [[ $rc -eq 2 && ! -s "$T/$name.out" ]] && grep -Eq -- "$re" "$T/$name.err"; then
    pass "$name: exit 2, $(head -1 "$T/$name.err")"
  else
    fail "$name: exit $rc, stderr: $(cat "$T/$name.err"), stdout $(wc -c <"$T/$name.out") bytes"
  fi
}
bad syntax "$T/syntax.toml:2:[0-9]+: " $'[server]\nname = "unterminated'
bad unknown_key "$T/unknown_key.toml:3:14: limits.max_client: unknown key" $'[limits]\nsendq = "64k"\nmax_client = 5'
bad bad_size "$T/bad_size.toml:2:9: limits.sendq: not a size" $'[limits]\nsendq = "lots"'
bad bad_type "$T/bad_type.toml:2:9: flood.burst: expected an integer >= 1" $'[flood]\nburst = "5"'
bad bad_duration "$T/bad_duration.toml:2:16: timeouts.ping_timeout: not a duration" $'[timeouts]\nping_timeout = "0.4ms"'
bad bad_name "$T/bad_name.toml:2:8: server.name: \"localhost\": must look like a host name" $'[server]\nname = "localhost"'
bad plain_password "$T/plain_password.toml:2:12: server.password: not a hash" $'[server]\npassword = "hunter2"'
bad plain_oper "$T/plain_oper.toml:3:12: operator.password: not a hash" $'[[operator]]\nname = "a"\npassword = "x"'
bad missing_motd "motd file .*nothere.txt: cannot open" $'[server]\nmotd_file = "nothere.txt"'
mkfifo "$T/conf/motd.fifo"  # opening it would block the load: refused before any open
bad fifo_motd "motd file .*motd.fifo: not a regular file" "[server]"$'\n'"motd_file = \"$T/conf/motd.fifo\""
bad weak_hash "$T/weak_hash.toml:2:19: accounts.hash_iterations: argon2id cost m=19456 KiB, t=1, p=1: below OWASP" $'[accounts]\nhash_iterations = 1'
bad weak_memory "$T/weak_memory.toml:2:19: accounts.hash_memory_kib: argon2id cost m=4096 KiB, t=9, p=1: below OWASP" $'[accounts]\nhash_memory_kib = 4096\nhash_iterations = 9'
bad hash_lanes "$T/hash_lanes.toml:2:20: accounts.hash_parallelism: at most 16" $'[accounts]\nhash_parallelism = 17'
bad hash_zero "$T/hash_zero.toml:3:19: accounts.hash_iterations: expected an integer >= 1" $'[accounts]\nweak_hash_for_tests = true\nhash_iterations = 0'
bad hash_floor "accounts.hash_memory_kib: argon2id cost m=8 KiB, t=1, p=2: memory must be at least 8 KiB per lane" \
  $'[accounts]\nhash_memory_kib = 8\nhash_iterations = 1\nhash_parallelism = 2\nweak_hash_for_tests = true'
bad flag_max_clients "^sockit chat-server: --max-clients: expected an integer >= 1" "" --max-clients 0
bad flag_flood_rate "^sockit chat-server: --flood-rate: expected a number >= 0" "" --flood-rate -1
bad flag_listen "invalid --listen '127.0.0.1:99999'" "" -l 127.0.0.1:99999

# Never binds: the address of a running server checks fine (exit 0), while starting there fails.
start_sockit_server -q || { fail "could not start a server"; finish; }
check -l "127.0.0.1:$PORT" >/dev/null 2>"$T/busy.err"; rc=$?
[[ $rc -eq 0 ]] && pass "--check-config on a busy port: exit 0 (nothing bound)" || fail "busy port: exit $rc $(cat "$T/busy.err")"
timeout 10 "$SOCKIT" chat-server -l "127.0.0.1:$PORT" >/dev/null 2>"$T/busy2.err"; rc=$?
[[ $rc -eq 1 ]] && pass "(a real start there exits 1: $(head -1 "$T/busy2.err"))" || fail "real start on a busy port: exit $rc"
finish
