#!/usr/bin/env bash
# Installs the Debian 12 packages sockit builds and tests with. Idempotent: prints nothing and
# touches nothing when everything is present. Nothing is downloaded except Debian packages.
set -euo pipefail

BUILD_PKGS=(cmake g++ ninja-build pkg-config git
  libcli11-dev libfmt-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
  libpcap-dev libncurses-dev libedit-dev libssl-dev libtomlplusplus-dev libboost-dev libuv1-dev libsystemd-dev
  libsqlite3-dev libargon2-dev libwslay-dev libhiredis-dev liburing-dev
  clang libclang-rt-14-dev valgrind openssl)
# Real peers and tools the tests drive (netcat, IRC servers and clients, capture tools, tmux;
# promtool lints /metrics, lintian the .deb, scapy and dig make the packets dump decodes).
TEST_PKGS=(socat ncat netcat-openbsd tcpdump tshark ngircd inspircd irssi weechat-headless ii sic
  tmux iproute2 iptables procps psmisc python3 gnuplot-nox jq strace util-linux
  prometheus lintian python3-scapy dnsutils zsh busybox openssl python3-wsproto
  chromium chromium-driver python3-selenium redis-server)

want=("${BUILD_PKGS[@]}")
[[ "${1:-}" == "--build-only" ]] || want+=("${TEST_PKGS[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
echo "setup: installing ${missing[*]}" >&2
# The IRC server packages (and redis-server) would start system daemons; keep them off.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee $policy >/dev/null
  $SUDO chmod +x $policy
  made_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[[ $made_policy -eq 1 ]] && $SUDO rm -f $policy
exit 0
