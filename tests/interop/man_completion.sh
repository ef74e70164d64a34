#!/usr/bin/env bash
# Man pages and shell completions (issue 22 item 5), generated from the option tree `--help`
# prints: every subcommand has a page, every page renders without a groff or man warning, every
# flag `sockit SUB --help` shows is on its page and is offered by bash completion; bash completes
# subcommands, flags and known values; the zsh script parses; bad input gets exit 1 or 2.
# A subcommand's own subcommands (chat-server account, history; issue 20) get a section of its
# page with the flags of `sockit SUB NESTED --help`, and bash completes them and their flags.
source "$(dirname "$0")/lib.bash" man
trap 'rm -rf "$T"' EXIT
need groff man col zsh

export LC_ALL=C.UTF-8 MANWIDTH=200
"$SOCKIT" help --man "$T/man1" && pass "sockit help --man writes the pages" || fail "sockit help --man: exit $?"

# The subcommands, from `sockit --help` (help is described in sockit(1), it has no page).
mapfile -t SUBS < <("$SOCKIT" --help | awk '/^Subcommands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }')
[[ ${#SUBS[@]} -ge 9 ]] && pass "sockit --help lists ${#SUBS[@]} subcommands" || fail "only ${#SUBS[@]} subcommands: ${SUBS[*]}"

# FLAGS[SUB]: every option name in `sockit SUB --help` (-n --nick ...); FLAGS["SUB NESTED"] the
# same for a subcommand's own subcommands, which NESTED[SUB] lists (from its --help).
declare -A FLAGS NESTED
help_flags() {
  "$SOCKIT" "$@" --help | awk '/^Options:/ { on = 1; next } /^[^ ]/ { on = 0 } on && /^  -/ { print $1 }' |
    tr ',' '\n' | sed 's/{.*//' | grep '^-' | tr '\n' ' '
}
for sub in "${SUBS[@]}"; do
  FLAGS[$sub]=$(help_flags "$sub")
  [[ $sub == help ]] && continue
  NESTED[$sub]=$("$SOCKIT" "$sub" --help | awk '/^Subcommands:/ { on = 1; next } /^[^ ]/ { on = 0 } on && /^  [a-z]/ { print $1 }' |
    tr '\n' ' ')
  for nested in ${NESTED[$sub]}; do FLAGS["$sub $nested"]=$(help_flags "$sub" "$nested"); done
done
[[ ${NESTED[chat-server]} == "account history " ]] && pass "sockit chat-server --help lists account and history" ||
  fail "chat-server's subcommands: '${NESTED[chat-server]}'"
# has_word TEXT WORD: WORD as a whole option word (so -n does not match inside --nick).
has_word() { grep -qE -- "(^|[^-[:alnum:]])$2([^-[:alnum:]]|\$)" <<<"$1"; }

render() { man -l "$1" 2>/dev/null | col -b; }

root=$(render "$T/man1/sockit.1")
missing=""
for sub in "${SUBS[@]}"; do
  [[ $sub == help ]] && continue
  page=$T/man1/sockit-$sub.1
  if [[ ! -s $page ]]; then
    fail "no page for $sub"
    continue
  fi
  warnings=$( { groff -man -Tutf8 -ww -z "$page"; man --warnings -E UTF-8 -l -Tutf8 -Z "$page" >/dev/null; } 2>&1)
  [[ -z $warnings ]] && pass "sockit-$sub.1 renders without warnings" || fail "sockit-$sub.1: $warnings"
  text=$(render "$page")
  grep -q "^NAME" <<<"$text" && grep -q "sockit-$sub - " <<<"$text" || fail "sockit-$sub.1 has no NAME line"
  gaps=""
  for flag in ${FLAGS[$sub]}; do has_word "$text" "$flag" || gaps+=" $flag"; done
  [[ -z $gaps ]] && pass "sockit-$sub.1 documents every flag of 'sockit $sub --help'" || fail "sockit-$sub.1 lacks:$gaps"
  has_word "$root" "sockit-$sub" || missing+=" $sub"
  # Its own subcommands: a section "sockit SUB NESTED" (up to the next one or the next heading).
  for nested in ${NESTED[$sub]}; do
    section=$(awk -v h="sockit $sub $nested" '$0 ~ /^[^ \t]/ || (on && /^   sockit /) { on = 0 } $0 == "   " h { on = 1 } on' <<<"$text")
    [[ -n $section ]] || { fail "sockit-$sub.1 has no section 'sockit $sub $nested'"; continue; }
    gaps=""
    for flag in ${FLAGS["$sub $nested"]}; do has_word "$section" "$flag" || gaps+=" $flag"; done
    [[ -z $gaps ]] && pass "sockit-$sub.1's section 'sockit $sub $nested' documents every flag of its --help" ||
      fail "sockit-$sub.1's section 'sockit $sub $nested' lacks:$gaps"
  done
done
chat=$(render "$T/man1/sockit-chat-server.1")
history=$(awk '/^   sockit chat-server history$/ { on = 1 } /^[^ \t]/ { on = 0 } on' <<<"$chat")
grep -q "sockit chat-server history import \[OPTIONS\]" <<<"$history" && has_word "$history" --db &&
  pass "sockit-chat-server.1: 'sockit chat-server history import [OPTIONS]' and its --db" ||
  fail "sockit-chat-server.1's history section: $history"
grep -q "^       sockit chat-server account certfp add|del NAME FP \[OPTIONS\]" <<<"$chat" &&
  pass "sockit-chat-server.1's SYNOPSIS has the forms of account" || fail "no account certfp form in: $(head -30 <<<"$chat")"
[[ -z $missing ]] && pass "sockit.1 points to every subcommand's page" || fail "sockit.1 does not mention:$missing"
warnings=$(groff -man -Tutf8 -ww -z "$T/man1/sockit.1" 2>&1)
[[ -z $warnings ]] && pass "sockit.1 renders without warnings" || fail "sockit.1: $warnings"

# ---- bash ---------------------------------------------------------------------------------------
"$SOCKIT" completion bash >"$T/sockit.bash" && bash -n "$T/sockit.bash" && pass "the bash script parses" ||
  fail "sockit completion bash: not a valid script"
# complete WORD...: what _sockit offers for the last word (as bash would call it).
complete_words() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _sockit; printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$T/sockit.bash" sockit "$@" | sort | tr '\n' ' ' | sed 's/ $//'
}
expect() {
  local want=$1 got
  shift
  got=$(complete_words "$@")
  [[ $got == "$want" ]] && pass "bash: sockit $* -> $want" || fail "bash: sockit $* -> '$got', want '$want'"
}
expect "echo-server" ec
expect "chat chat-server" ch
expect "--model" echo-server --mo
expect "poll pool" echo-server --model po
expect "auto epoll poll select uring" chat-server --backend ''
expect "chat chat-server" help ch
expect "bash zsh" completion ''
expect "irc irc-mix irc-register" load ir
expect "irc irc-mix irc-register" load -c 10 ir
expect "" load -c 10 pingpong ''            # the target: nothing known, default completion
touch "$T/conf-a.toml"
expect "$T/conf-a.toml" chat-server --config "$T/conf-"
expect "$T/conf-a.toml" chat-server --config = "$T/conf-"
# A subcommand's own subcommands, their words and their flags (after the parent's options too).
expect "account history" chat-server ''
expect "account" chat-server -q --config "$T/conf-a.toml" a
expect "add certfp del import list passwd" chat-server account ''
expect "import" chat-server history ''
expect "--cluster --config --db --help" chat-server history import --
# bash splits 127.0.0.1:0 at the colon (COMP_WORDBREAKS), as it does --opt=value at the '='.
expect "--cluster --config --db --help" chat-server --listen 127.0.0.1 : 0 history import --db x --
expect "history" chat-server --listen [ :: 1] : 6667 --server-name = irc.example h
expect "$T/conf-a.toml" chat-server history import --db "$T/conf-"
expect "--json" chat-server account list --j
expect "" chat-server account add alice ''   # NAME: nothing known
expect "add del" chat-server account certfp ''
expect "" chat-server account certfp add ''
for key in "${!FLAGS[@]}"; do
  offered=" $(complete_words $key -) "
  gaps=""
  for flag in ${FLAGS[$key]}; do [[ $offered == *" $flag "* ]] || gaps+=" $flag"; done
  [[ -z $gaps ]] && pass "bash offers every flag of sockit $key" || fail "bash does not offer for $key:$gaps"
done

# ---- zsh ----------------------------------------------------------------------------------------
"$SOCKIT" completion zsh >"$T/_sockit" && zsh -n "$T/_sockit" && pass "the zsh script parses" ||
  fail "sockit completion zsh: not a valid script"
head -1 "$T/_sockit" | grep -qx '#compdef sockit' && pass "the zsh script starts with #compdef sockit" ||
  fail "no #compdef line"
# Loaded by compinit from $fpath, as the package installs it: compdef registers it for sockit.
mkdir -p "$T/fpath" && cp "$T/_sockit" "$T/fpath/"
out=$(HOME=$T zsh -f -c 'fpath=("$1" $fpath); autoload -Uz compinit; compinit -u -d "$2/zcompdump"; print -r -- "$_comps[sockit]"' \
  _ "$T/fpath" "$T" 2>&1)
[[ $out == _sockit ]] && pass "zsh compinit maps sockit to _sockit" || fail "zsh compinit: '$out'"
# zcomplete WORD...: what zsh's completion system offers for the last word (maybe ''), typed at an
# interactive zsh in a pty (zpty) with Tab; compadd is wrapped to print each match it adds.
cat >"$T/zcomplete.zsh" <<'ZSH'
zmodload zsh/zpty || exit 1
dir=$1; shift
zpty z zsh -f -i
zpty -w z "unset zle_bracketed_paste; PS1=''; fpath=(${(q)dir}/fpath \$fpath); autoload -Uz compinit; compinit -u -d ${(q)dir}/zcompdump"
zpty -w z 'compadd() { if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi; local -a hits; builtin compadd -A hits "$@"; local h; for h in $hits; do print -r -- "<""M>$h"; done; builtin compadd "$@"; }'
zpty -w z '_t_done() { print -r -- "<""END>"; }; _t_complete() { comppostfuncs=(_t_done); _main_complete "$@"; }'
zpty -w z "zle -C t-complete complete-word _t_complete; bindkey '^I' t-complete; zstyle ':completion:*' menu no"
zpty -n -w z "${(j: :)@}"$'\t'
while zpty -r z line; do
  [[ $line == *'<END>'* ]] && break
  [[ $line == *'<M>'* ]] && print -r -- "${${line#*<M>}%%$'\r'*}"
done
zpty -d z
ZSH
zexpect() {
  local want=$1 got
  shift
  got=$(HOME=$T timeout 20 zsh -f "$T/zcomplete.zsh" "$T" sockit "$@" | sort -u | tr '\n' ' ' | sed 's/ $//')
  [[ $got == "$want" ]] && pass "zsh: sockit $* -> $want" || fail "zsh: sockit $* -> '$got', want '$want'"
}
zexpect "chat chat-server" ch
zexpect "auto epoll poll select uring" chat-server --backend ''
zexpect "account history" chat-server ''
zexpect "account" chat-server -q --server-name irc.example a
zexpect "add certfp del import list passwd" chat-server account ''
zexpect "" chat-server account list ''
zexpect "import" chat-server history ''
zexpect "--cluster --config --db --help" chat-server history import --

# ---- bad input ----------------------------------------------------------------------------------
"$SOCKIT" completion fish >/dev/null 2>"$T/err"; rc=$?
[[ $rc -eq 2 ]] && grep -q "sockit completion" "$T/err" && pass "completion fish: exit 2 and a clear error" ||
  fail "completion fish: exit $rc, $(cat "$T/err")"
"$SOCKIT" help --man /proc/self/no/such/dir >/dev/null 2>"$T/err"; rc=$?
[[ $rc -eq 1 ]] && grep -q "cannot" "$T/err" && pass "help --man into an impossible directory: exit 1 and why" ||
  fail "help --man bad dir: exit $rc, $(cat "$T/err")"
finish
