#!/usr/bin/env bash
# The dispatcher's contract: help to stdout with exit 0, usage errors to stderr with exit 2.
set -uo pipefail
: "${SOCKIT:?}"
fail=0
check() {  # check NAME EXPECTED_STATUS STREAM(out|err) PATTERN -- ARGS...
  local name=$1 want=$2 stream=$3 pattern=$4
  shift 5
  local out err status
  out=$("$SOCKIT" "$@" 2>/tmp/cli.$$.err); status=$?
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
check unknown-sub   2 err 'no such subcommand'      -- help nosuchcommand
for sub in $("$SOCKIT" --help | awk '/^Subcommands:/{f=1;next} f&&!NF{exit} f&&/^  [a-z]/{print $1}'); do
  [[ $sub == help ]] && continue
  check "help-$sub"      0 out 'Usage'  -- help "$sub"
  check "$sub --help"    0 out 'Usage'  -- "$sub" --help
  check "$sub bad flag"  2 err "--definitely-not-a-flag|not expected|unknown|Try" -- "$sub" --definitely-not-a-flag
done
exit $fail
