#!/usr/bin/env bash
# Libraries only some subcommands need are loaded on first use (apps/common/lazy_lib.hpp): the
# binary does not list libpcap or libsystemd as DT_NEEDED, `sockit ss -tan` and `sockit --version`
# load neither (nor libpcap's libdbus/libgcrypt chain), and the subcommands that use them still
# do: dump reads a capture. libssl/libcrypto are linked directly since TLS (sockit::tls, issue
# #16): chat-server still hashes a password with them.
set -uo pipefail
: "${SOCKIT:?}" "${SOCKIT_SOURCE_DIR:?}"
command -v readelf >/dev/null || { echo "SKIP: readelf missing"; exit 77; }
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }
lazy='libpcap\.so|libsystemd\.so|libdbus-1\.so|libgcrypt\.so'

needed=$(readelf -d "$SOCKIT" | grep NEEDED)
if grep -qE "$lazy" <<<"$needed"; then bad "DT_NEEDED lists a lazy library: $(grep -oE "$lazy" <<<"$needed" | tr '\n' ' ')"; else ok "DT_NEEDED"; fi

for args in "--version" "ss -tan"; do
  # LD_DEBUG=files names every object the loader maps, at start-up or by dlopen.
  loaded=$(LD_DEBUG=files timeout -k 5 20 "$SOCKIT" $args 2>&1 >/dev/null | grep -oE "file=[^ ]+" | sort -u)
  if grep -qE "$lazy" <<<"$loaded"; then bad "sockit $args loads $(grep -E "$lazy" <<<"$loaded" | tr '\n' ' ')"; else ok "sockit $args loads no lazy library"; fi
done

pcap=$SOCKIT_SOURCE_DIR/tests/data/pcap/loopback_echo.pcap
out=$(LD_DEBUG=files timeout -k 5 20 "$SOCKIT" dump -n -r "$pcap" -c 1 2>/tmp/lazy_libs.$$.err); status=$?
err=$(cat /tmp/lazy_libs.$$.err); rm -f /tmp/lazy_libs.$$.err
if [[ $status -eq 0 && $out == *" IP"* ]] && grep -q 'file=libpcap.so.0.8' <<<"$err"; then ok "dump -r loads libpcap on first use"
else bad "dump -r: status $status out='${out:0:200}'"; fi

hash=$(echo secret | timeout -k 5 20 "$SOCKIT" chat-server --hash-password 2>&1); status=$?
if [[ $status -eq 0 && -n $hash && $hash != *secret* ]]; then ok "chat-server --hash-password (libcrypto)"
else bad "chat-server --hash-password: status $status output='${hash:0:200}'"; fi

exit $fail
