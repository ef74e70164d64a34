#!/usr/bin/env bash
# The full-screen interface of sockit chat, driven through tmux against ngircd: type a message
# (send-keys) and read it back from a second client and from the screen (capture-pane); line
# editing, Tab nick completion, UTF-8, window switching, the status line; Ctrl-D quits with 0.
source "$(dirname "$0")/chat_lib.bash"
need ngircd tmux python3
TMUX_SOCKET=sockit-test-$$
tm() { tmux -L "$TMUX_SOCKET" "$@"; }
CHAT_EXTRA_CLEANUP='tmux -L "$TMUX_SOCKET" kill-server 2>/dev/null'

start_ngircd
client bob "127.0.0.1:$PORT" --nick bob --join '#t'
expect "peer joined" "$T/bob.out" '^\[#t\] \* bob has joined #t$'

tm -f /dev/null new-session -d -s chat -x 120 -y 40 \
  "env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=screen-256color '$SOCKIT' chat 127.0.0.1:$PORT --nick alice --join '#t' 2>'$T/tui.err'; echo \$? >'$T/tui.exit'"
screen() { tm capture-pane -p -t chat; }
# on_screen DESC REGEX [SECONDS]: waits until the pane shows a matching line.
on_screen() {
  local i limit=${3:-5}
  for ((i = 0; i < limit * 10; i++)); do
    screen | grep -Eq -- "$2" && { pass "$1"; return 0; }
    sleep 0.1
  done
  fail "$1: [$2] not on screen"; screen | sed 's/^/    | /' | grep -v '^    | *$'
}

on_screen "joined, shown with a timestamp" '^[0-9]{2}:[0-9]{2} \* alice has joined #t'
on_screen "status line: nick and window" '\[alice\] \[2:#t\]'
on_screen "status line: lag" '\[Lag: [0-9]+\.[0-9]{2}s\]'
on_screen "input prompt" '^\[#t\]$'
expect "bob sees alice join" "$T/bob.out" '^\[#t\] \* alice has joined #t$'

tm send-keys -t chat -l "hello from tmux"
tm send-keys -t chat Enter
expect "typed message reaches the peer" "$T/bob.out" '^\[#t\] <alice> hello from tmux$'
on_screen "typed message on screen" '^[0-9]{2}:[0-9]{2} <alice> hello from tmux'

say bob "hi alice, ça va? 日本"
on_screen "peer message on screen (UTF-8)" '<bob> hi alice, ça va\? 日本'

# mIRC colours are drawn (^C04 = light red: SGR 91, or 31 on an 8-colour terminal); the codes
# themselves never reach the screen.
say bob $'\x0304redword\x03 and \x02boldword\x02'
on_screen "coloured text shown without its codes" '<bob> redword and boldword$'
if tm capture-pane -e -p -t chat | grep -Pq '\e\[[0-9;]*(31|91)[0-9;]*mredword'; then pass "mIRC red drawn in red"
else fail "no red SGR before redword"; tm capture-pane -e -p -t chat | grep redword | od -c | head -5; fi

# Editing: Backspace, Left/Right, Ctrl-U, Ctrl-W.
tm send-keys -t chat -l "abcX"; tm send-keys -t chat BSpace; tm send-keys -t chat -l "d"; tm send-keys -t chat Enter
expect "Backspace" "$T/bob.out" '^\[#t\] <alice> abcd$'
tm send-keys -t chat -l "acd"; tm send-keys -t chat Left Left; tm send-keys -t chat -l "b"; tm send-keys -t chat End; tm send-keys -t chat -l "e"; tm send-keys -t chat Enter
expect "Left / End insert in the middle" "$T/bob.out" '^\[#t\] <alice> abcde$'
tm send-keys -t chat -l "junk"; tm send-keys -t chat C-u; tm send-keys -t chat -l "one two"; tm send-keys -t chat C-w; tm send-keys -t chat -l "three"; tm send-keys -t chat Enter
expect "Ctrl-U and Ctrl-W" "$T/bob.out" '^\[#t\] <alice> one three$'
# Tab completes a nick at the start of the line ("bob: ").
tm send-keys -t chat -l "bo"; tm send-keys -t chat Tab; tm send-keys -t chat -l "yo"; tm send-keys -t chat Enter
expect "Tab nick completion" "$T/bob.out" '^\[#t\] <alice> bob: yo$'
# History: Up recalls the previous line.
tm send-keys -t chat Up; tm send-keys -t chat -l "!"; tm send-keys -t chat Enter
expect "Up recalls history" "$T/bob.out" '^\[#t\] <alice> bob: yo!$'

# A private message opens window 3; activity shows in the status line; Alt-3 goes there.
say bob "/msg alice psst"
on_screen "activity in the status line" '\[Act: 3!?\]'
tm send-keys -t chat M-3
on_screen "Alt-3 shows the query window" '^[0-9]{2}:[0-9]{2} <bob> psst'
on_screen "status line names the query" '\[3:bob\]'
tm send-keys -t chat -l "/win 1"; tm send-keys -t chat Enter
on_screen "/win 1: the status window" 'sockit chat - 127\.0\.0\.1:'
tm send-keys -t chat -l "/nosuchcommand"; tm send-keys -t chat Enter
on_screen "unknown command: one line in the status window" 'Unknown command /nosuchcommand \(try /help\)'
tm send-keys -t chat M-2
on_screen "Alt-2 back to #t" '\[2:#t\]'

# PageUp scrolls back (the status line says "-- more --"), PageDown returns to the bottom.
for i in 1 2 3; do tm send-keys -t chat -l "/help"; tm send-keys -t chat Enter; done
on_screen "help fills the window" '/quit \[MESSAGE\]'
tm send-keys -t chat PPage
on_screen "PageUp: scrolled back" '-- more --'
tm send-keys -t chat NPage NPage
for i in $(seq 20); do screen | grep -q -- '-- more --' || break; sleep 0.1; done
screen | grep -q -- '-- more --' && fail "PageDown did not return to the bottom" || pass "PageDown: back at the bottom"

# Ctrl-D on an empty line: QUIT, exit 0, the terminal given back.
tm send-keys -t chat C-d
expect "peer sees the quit" "$T/bob.out" '^\[#t\] \* alice has quit' 5
for i in $(seq 50); do [[ -s "$T/tui.exit" ]] && break; sleep 0.1; done
[[ "$(cat "$T/tui.exit" 2>/dev/null)" == 0 ]] && pass "Ctrl-D exits 0" || fail "exit status: $(cat "$T/tui.exit" 2>/dev/null)"
[[ ! -s "$T/tui.err" ]] && pass "nothing on stderr" || fail "stderr: $(cat "$T/tui.err")"

# Ctrl-C (SIGINT) quits cleanly too; a crash signal (SIGSEGV) still gives the terminal back
# (endwin, then the signal is re-raised: status 139). The panes stay open to be inspected.
run_pane() {  # run_pane NAME NICK
  tm new-session -d -s "$1" -x 100 -y 30 \
    "env LANG=C.UTF-8 TERM=screen-256color '$SOCKIT' chat 127.0.0.1:$PORT --nick $2 --join '#t'; echo EXIT=\$?; sleep 60"
}
pane_has() {  # pane_has SESSION REGEX
  local i
  for ((i = 0; i < 50; i++)); do tm capture-pane -p -t "$1" | grep -Eq -- "$2" && return 0; sleep 0.1; done
  return 1
}
run_pane int carl
expect "carl joined" "$T/bob.out" '^\[#t\] \* carl has joined #t$'
tm send-keys -t int C-c
expect "Ctrl-C sends QUIT" "$T/bob.out" '^\[#t\] \* carl has quit' 5
pane_has int '^EXIT=0$' && pass "Ctrl-C exits 0" || { fail "Ctrl-C exit"; tm capture-pane -p -t int | tail -5; }
[[ "$(tm display -p -t int '#{alternate_on}')" == 0 ]] && pass "terminal restored after Ctrl-C" || fail "still in the alternate screen"

run_pane crash dave
expect "dave joined" "$T/bob.out" '^\[#t\] \* dave has joined #t$'
pid=$(pgrep -P "$(tm display -p -t crash '#{pane_pid}')" -f "chat 127.0.0.1" | head -1)
if [[ -n "$pid" ]]; then
  kill -SEGV "$pid"
  pane_has crash '^EXIT=139$' && pass "SIGSEGV re-raised (status 139)" || { fail "crash exit"; tm capture-pane -p -t crash | tail -5; }
  [[ "$(tm display -p -t crash '#{alternate_on}')" == 0 ]] && pass "terminal restored after SIGSEGV" || fail "still in the alternate screen after the crash"
else
  fail "no sockit chat process in the crash pane"
fi
close_client bob
finish
