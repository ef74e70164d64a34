# The prologue shared by tests/interop/chat_lib.bash and nc_lib.bash (sourced, not run): checks
# SOCKIT, makes the scratch directory $T, and the check counters with pass / fail / finish.
# Exit 0 = pass, 1 = a check failed, 77 = skipped (SOCKIT unset, or a program `need` names missing).
#   SOCKIT   path of the sockit binary (set by CTest)
#   $1       what the scratch directory is named after: ${TMPDIR:-/tmp}/sockit-$1.XXXXXX
# The sourcing file installs its own EXIT trap (it removes $T and ends what PIDS lists).
set -u
if [[ -z "${SOCKIT:-}" || ! -x "$SOCKIT" ]]; then
  echo "SKIP: SOCKIT is not set to the sockit binary"
  exit 77
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/sockit-$1.XXXXXX")
PIDS=()
FAILS=0
CHECKS=0

need() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || { echo "SKIP: $c is not installed"; exit 77; }
  done
}

pass() { CHECKS=$((CHECKS + 1)); echo "ok   - $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL - $*"; }
finish() {
  echo "# $CHECKS checks, $FAILS failed"
  [[ $FAILS -eq 0 ]] && exit 0 || exit 1
}

# free_port [tcp|udp]: a port the kernel just handed out on 127.0.0.1 (bind to 0, release).
free_port() {
  python3 - "${1:-tcp}" <<'PY'
import socket, sys
kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
PY
}
