#!/usr/bin/env bash
# Issue #21.1: `sockit load irc-mix`, a realistic chat network, against `sockit chat-server`
# (--no-flood-control: the run measures the server, not its limiter). Bounded: 50 clients over 10
# channels for 2 s. Checks that nothing is lost (lost = expected - received, expected counting only
# members present for a message's whole lifetime), that deliveries happen, that churn, nick changes
# and AWAY ran, that the same seed gives the same network (--print-plan), and that bad flags exit 2
# with one clear line and a too-low descriptor limit is refused in words.
source "$(dirname "$0")/chat_lib.bash"
need jq

# --- the plan: no connection, deterministic per seed
plan() { "$SOCKIT" load irc-mix 127.0.0.1:9 -c 50 --channels 10 --per-client 3 --zipf 1.2 --print-plan "$@"; }
plan --seed 7 >"$T/plan7a.txt" && plan --seed 7 >"$T/plan7b.txt" && plan --seed 8 >"$T/plan8.txt"
if [[ -s "$T/plan7a.txt" ]] && cmp -s "$T/plan7a.txt" "$T/plan7b.txt"; then
  pass "--print-plan: the same seed gives the same network"
else
  fail "--print-plan: seed 7 twice differs or is empty"$'\n'"$(cat "$T/plan7a.txt" "$T/plan7b.txt")"
fi
sizes7=$(grep '^sizes:' "$T/plan7a.txt"); sizes8=$(grep '^sizes:' "$T/plan8.txt")
total7=$(tr ' ' '\n' <<<"${sizes7#sizes:}" | awk '{s+=$1} END {print s}')
if [[ -n "$sizes7" && "$sizes7" != "$sizes8" && "$total7" == 150 ]]; then
  pass "--print-plan: 10 channel sizes summing to 50 x 3 members; another seed, another network"
else
  fail "--print-plan: seed 7 '$sizes7' (sum $total7), seed 8 '$sizes8'"
fi
# Zipf: the first channel is the largest with exponent 1.2 over 150 memberships.
first=$(awk '{print $2}' <<<"$sizes7"); max=$(tr ' ' '\n' <<<"${sizes7#sizes:}" | sort -n | tail -1)
if [[ "$first" == "$max" ]]; then pass "--print-plan: channel 0 is the largest ($first)"; else fail "channel 0 has $first, the largest $max"; fi
if "$SOCKIT" load irc-mix 127.0.0.1:9 --preset large --print-plan | grep -q '^irc-mix plan: seed 1, 10000 clients, 2000 channels'; then
  pass "--preset large: 10,000 clients over 2,000 channels"
else
  fail "--preset large plan: $("$SOCKIT" load irc-mix 127.0.0.1:9 --preset large --print-plan 2>&1 | head -1)"
fi

# --- bad flags: exit 2 and one line saying what is wrong
bad() {  # bad PATTERN ARGS...
  local want=$1; shift
  "$SOCKIT" load irc-mix 127.0.0.1:9 "$@" >"$T/bad.out" 2>"$T/bad.err"
  local rc=$?
  if [[ $rc -eq 2 ]] && grep -q -- "$want" "$T/bad.err"; then
    pass "bad flags exit 2: $* -> $(head -1 "$T/bad.err")"
  else
    fail "$*: exit $rc, stderr: $(cat "$T/bad.err")"
  fi
}
bad "unknown preset 'huge'" --preset huge
bad "is more than --channels" --channels 4 --per-client 5
bad "must be a number, 0 or more" --zipf -1
bad "private is a share" --private 1.5
bad "one thread" --threads 2
bad "timed" -n 100
"$SOCKIT" load irc 127.0.0.1:9 --preset small >"$T/bad.out" 2>"$T/bad.err"
if [[ $? -eq 2 ]] && grep -q 'irc-mix options' "$T/bad.err"; then pass "--preset outside irc-mix exits 2"; else fail "--preset on irc: $(cat "$T/bad.err")"; fi

# --- the descriptor limit: 10,000 clients do not fit in 1,000 descriptors
(ulimit -n 1000; exec "$SOCKIT" load irc-mix 127.0.0.1:9 --preset large --no-progress) >"$T/fd.out" 2>"$T/fd.err"
rc=$?
if [[ $rc -ne 0 ]] && grep -q '10000 connections need .* descriptors.*ulimit -n' "$T/fd.err"; then
  pass "--preset large under ulimit -n 1000: refused in words (exit $rc)"
else
  fail "--preset large under ulimit -n 1000: exit $rc, $(cat "$T/fd.err")"
fi

# --- a bounded run against sockit chat-server
start_sockit_server --no-flood-control || { echo "SKIP: sockit chat-server is not available"; exit 77; }
echo "# sockit chat-server --no-flood-control on 127.0.0.1:$PORT"
"$SOCKIT" load irc-mix "127.0.0.1:$PORT" -c 50 --channels 10 -d 2s --warmup 500ms --rate 200 --churn 10 \
  --nick-rate 5 --away-rate 5 --server-pid "$SERVER_PID" --no-progress --json >"$T/run.json" 2>"$T/run.err"
rc=$?
j() { jq -r "$1" "$T/run.json" 2>/dev/null; }
if [[ $rc -eq 0 && "$(j .lost)" == 0 && "$(j .deliveries)" -gt 0 && "$(j .deliveries)" == "$(j .deliveries_expected)" ]]; then
  pass "50 clients, 10 channels, 2 s: exit 0, lost 0, $(j .deliveries) deliveries of $(j .deliveries_expected) expected"
else
  fail "run: exit $rc, $(jq -c '{lost, deliveries, deliveries_expected, excluded, unexpected, errors, note}' "$T/run.json" 2>&1) $(cat "$T/run.err")"
fi
if [[ "$(j .clients_joined)" == 50 && "$(j .sent_channel)" -gt 0 && "$(j .sent_private)" -gt 0 && "$(j .parts)" -gt 0 &&
      "$(j .nicks)" -gt 0 && "$(j .aways)" -gt 0 ]]; then
  pass "every client joined; channel and private messages, PARTs, nick changes and AWAYs were sent"
else
  fail "run: $(jq -c '{clients_joined, sent_channel, sent_private, joins, parts, nicks, aways}' "$T/run.json" 2>&1)"
fi
if [[ "$(j '.latency_us.p99 > 0')" == true && "$(j '.server.cpu_us_per_unit > 0')" == true &&
      "$(j '.server.rss_per_client_bytes > 0')" == true && "$(j .mode)" == irc-mix ]]; then
  pass "JSON: p99 $(j .latency_us.p99) us, server $(j .server.cpu_us_per_unit) us CPU per delivery, $(j .server.rss_per_client_bytes) B RSS per client"
else
  fail "JSON: $(jq -c '{mode, latency_us, server}' "$T/run.json" 2>&1)"
fi
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
finish
