#!/usr/bin/env bash
# Differential IRC sessions (issue #17): the scripted client sessions in tests/interop/irc_diff/
# sessions/*.irc are played against sockit chat-server, Debian's ngircd and Debian's inspircd,
# each started on 127.0.0.1 with a configuration made in a temporary directory. Replies are
# compared by command/numeric and parameters (nicks, channels, server names, timestamps,
# versions and free text masked). Every difference must be listed in
# tests/interop/irc_diff/expected_differences.txt (TOFIX: a sockit bug, ACCEPT: sockit follows the
# specification), see docs/CHAT-SERVER.md "Differences"; a new one fails the test.
# Skips (77) when ngircd or inspircd is not installed. Run by hand with -v for every difference:
#   SOCKIT=build/asan/sockit bash tests/interop/irc_diff.sh -v --transcript /tmp/irc-diff
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.bash" irc_diff
trap 'rm -rf "$T"' EXIT
# The conformance table (docs/CONFORMANCE.md) names only sessions and gtests that exist, and its
# counts are current; checked first, also where ngircd or inspircd is missing.
need python3
python3 "$here/irc_diff/table_check.py" || exit 1
need ngircd inspircd
# The ngircd and inspircd configurations are bench/irc_servers.sh's (flood limits lifted);
# run.py adds the operator and the channel defaults the sessions need.
source "$here/../../bench/irc_servers.sh"
configs=()
for name in ngircd inspircd; do
  irc_server_cmd "$name" "$(free_port)" "$T/$name" "$SOCKIT" || { echo "SKIP: $name is not installed"; exit 77; }
  configs+=(--config "$name=$(ls "$T/$name"/*.conf)")
done
python3 "$here/irc_diff/run.py" --sockit "$SOCKIT" "${configs[@]}" "$@"
