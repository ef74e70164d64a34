# The preamble shared by the network-namespace scripts, tests/interop/cluster_netns.sh and
# faults_netns.sh (sourced, not run): SOCKIT, skip, the root and program checks, and the
# namespaces and veth pairs they make. The sourcing script's EXIT trap calls netns_cleanup, which
# deletes them all. Exit 77 (skipped) with the reason when something needed is missing.
set -u
SOCKIT=${SOCKIT:?SOCKIT must point at the sockit binary}

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root for ip netns"
command -v ip >/dev/null || skip "iproute2 (ip) not installed"

# netns_need PROGRAM [WHAT FOR]: skipped unless PROGRAM is installed.
netns_need() { command -v "$1" >/dev/null || skip "$1 not installed${2:+ ($2)}"; }

NETNS_MADE=()   # the namespaces made here
NETNS_LINKS=()  # the veth ends made on the host

# netns_add NAME...: new namespaces, each with its loopback up.
netns_add() {
  local n
  for n in "$@"; do
    ip netns add "$n" 2>/dev/null || skip "cannot create a network namespace"
    NETNS_MADE+=("$n")
    ip -n "$n" link set lo up
  done
}

# netns_veth NS1 DEV1 ADDR1 NS2 DEV2 ADDR2: a veth pair, DEV1 in namespace NS1 and DEV2 in NS2
# ("" = the host), each end given its ADDR (a.b.c.d/prefix) and up.
netns_veth() {
  # shellcheck disable=SC2086  # ${ns:+...} expands to nothing or to two words on purpose
  ip link add "$2" ${1:+netns "$1"} type veth peer name "$5" ${4:+netns "$4"} 2>/dev/null ||
    skip "veth not available"
  [ -n "$1" ] || NETNS_LINKS+=("$2")
  [ -n "$4" ] || NETNS_LINKS+=("$5")
  # shellcheck disable=SC2086
  ip ${1:+-n "$1"} addr add "$3" dev "$2" && ip ${1:+-n "$1"} link set "$2" up
  # shellcheck disable=SC2086
  ip ${4:+-n "$4"} addr add "$6" dev "$5" && ip ${4:+-n "$4"} link set "$5" up
}

netns_cleanup() {
  local x
  for x in "${NETNS_LINKS[@]}"; do ip link del "$x" 2>/dev/null; done
  for x in "${NETNS_MADE[@]}"; do ip netns del "$x" 2>/dev/null; done
}
