#!/usr/bin/env bash
# The dispatcher's contract: help to stdout with exit 0, usage errors to stderr with exit 2.
set -uo pipefail
: "${SOCKIT:?}"
fail=0
check() {  # check NAME EXPECTED_STATUS STREAM(out|err) PATTERN -- ARGS...
  local name=$1 want=$2 stream=$3 pattern=$4
  shift 5
  local out err status
  out=$(timeout -k 5 20 "$SOCKIT" "$@" </dev/null 2>/tmp/cli.$$.err); status=$?
  err=$(cat /tmp/cli.$$.err); rm -f /tmp/cli.$$.err
  local text=$out
  [[ $stream == err ]] && text=$err
  if [[ $status -ne $want ]] || ! grep -qE -- "$pattern" <<<"$text"; then
    echo "FAIL $name: status $status (want $want); stdout='${out:0:200}' stderr='${err:0:200}'"
    fail=1
  else
    echo "ok   $name"
  fi
}
check help          0 out 'Subcommands:'            -- --help
check version       0 out '^sockit [0-9]+\.[0-9]+'  -- --version
check help-help     0 out 'Usage'                   -- help
check unknown-flag  2 err 'not expected|unknown'    -- --bogus
check unknown-sub   2 err "unknown subcommand 'nosuchcommand'.*chat-server" -- help nosuchcommand
# Issue #23.8: a mistyped subcommand is named and the real ones listed; usage lines say "sockit SUB".
check unknown-word  2 err "unknown subcommand 'nosuchsub' \(subcommands: .*echo-server.*nc" -- nosuchsub
check unknown-late  2 err "unknown subcommand 'nosuchsub'" -- -V nosuchsub --help
check usage-sub     0 out '^Usage: sockit nc \[OPTIONS\]'  -- nc --help
check usage-help    0 out '^Usage: sockit load \[OPTIONS\]' -- help load
for model in iterative fork thread; do
  check "threads-$model" 2 err '--threads applies to --model pool .*select, poll, epoll' -- \
    echo-server --model "$model" --threads 2 -l 127.0.0.1:0
done
# Issue #23.3: a port above 65535 is refused by every subcommand, never wrapped (70000 became 4464).
for args in "echo-server -l 127.0.0.1:70000" "echo-server --no-tcp --udp 127.0.0.1:70000" "echo-server -l 65536" \
            "load pingpong 127.0.0.1:70000" "load irc localhost:70000" "load udp [::1]:65536" \
            "proxy --listen 127.0.0.1:70000 --upstream 127.0.0.1:9" \
            "proxy --listen 127.0.0.1:0 --upstream 127.0.0.1:70000" "chat-server -l 127.0.0.1:70000" \
            "nc 127.0.0.1 70000" "nc -l 127.0.0.1 70000" "ping -c 1 127.0.0.1 70000" "ss -tan sport = :70000"; do
  read -ra argv <<<"$args"
  check "port-range: $args" 2 err 'out of range|0-65535' -- "${argv[@]}"
done
for sub in $("$SOCKIT" --help | awk '/^Subcommands:/{f=1;next} f&&!NF{exit} f&&/^  [a-z]/{print $1}'); do
  [[ $sub == help ]] && continue
  check "help-$sub"      0 out 'Usage'  -- help "$sub"
  check "$sub --help"    0 out 'Usage'  -- "$sub" --help
  check "$sub bad flag"  2 err "--definitely-not-a-flag|not expected|unknown|Try" -- "$sub" --definitely-not-a-flag
done
exit $fail
