#!/usr/bin/env bash
# The Debian packages (issue 22 item 4): `cpack -G DEB` on this build tree makes sockit and
# libsockit-dev; their files sit where the FHS wants them (nothing under /usr/local, the example
# configuration a conffile in /etc/sockit, man pages gzipped, completions and units in their
# directories); the maintainer scripts add and purge the sockit system user; unpacked into a
# scratch root, the installed sockit prints its version, reads its man pages and runs each unit's
# ExecStart with --check-config where it has one; lintian reports no error.
source "$(dirname "$0")/lib.bash" deb
trap 'rm -rf "$T"' EXIT
need cpack dpkg-deb lintian man
: "${SOCKIT_BUILD_DIR:?}" "${SOCKIT_SOURCE_DIR:?}"
SRC=$SOCKIT_SOURCE_DIR
export LC_ALL=C.UTF-8
if [[ ! -f $SOCKIT_BUILD_DIR/share/stamp || $SOCKIT_BUILD_DIR/share/stamp -ot $SOCKIT ]]; then
  echo "FAIL: the man pages and completions are older than the binary: build the target sockit_docs (or all)"
  exit 1
fi
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$SOCKIT_BUILD_DIR/CMakeCache.txt")

cpack -G DEB -B "$T/out" --config "$SOCKIT_BUILD_DIR/CPackConfig.cmake" >"$T/cpack.log" 2>&1 ||
  { cat "$T/cpack.log"; fail "cpack -G DEB failed"; finish; }
BIN_DEB=$T/out/sockit_${version}_amd64.deb
DEV_DEB=$T/out/libsockit-dev_${version}_amd64.deb
[[ -f $BIN_DEB && -f $DEV_DEB ]] && pass "cpack made sockit_${version} and libsockit-dev_${version}" ||
  { ls "$T/out"; fail "the two .deb files are missing"; finish; }

# ---- where the files go -------------------------------------------------------------------------
dpkg-deb -c "$BIN_DEB" | awk '{ print $6 }' | sed 's|^\./|/|' | grep -v '/$' | sort >"$T/bin.files"
dpkg-deb -c "$DEV_DEB" | awk '{ print $6 }' | sed 's|^\./|/|' | grep -v '/$' | sort >"$T/dev.files"
want_bin=(/usr/bin/sockit /etc/sockit/chat.toml /usr/share/man/man1/sockit.1.gz
  /usr/share/bash-completion/completions/sockit /usr/share/zsh/vendor-completions/_sockit
  /usr/share/doc/sockit/copyright /usr/share/doc/sockit/changelog.gz)
mapfile -t SUBS < <("$SOCKIT" --help | awk '/^Subcommands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }')
for sub in "${SUBS[@]}"; do [[ $sub == help ]] || want_bin+=("/usr/share/man/man1/sockit-$sub.1.gz"); done
for unit in "$SRC"/dist/systemd/*.service "$SRC"/dist/systemd/*.socket; do
  [[ -e $unit ]] && want_bin+=("/usr/lib/systemd/system/$(basename "$unit")")
done
want_dev=(/usr/include/sockit/net.hpp /usr/lib/libsockit_net.a /usr/lib/cmake/sockit/sockitConfig.cmake
  /usr/lib/cmake/sockit/sockitTargets.cmake /usr/lib/pkgconfig/sockit.pc /usr/share/doc/libsockit-dev/copyright)
check_files() {
  local list=$1 pkg=$2 gaps="" f
  shift 2
  for f in "$@"; do grep -qx -- "$f" "$list" || gaps+=" $f"; done
  [[ -z $gaps ]] && pass "$pkg holds its $# expected files" || fail "$pkg lacks:$gaps"
}
check_files "$T/bin.files" sockit "${want_bin[@]}"
check_files "$T/dev.files" libsockit-dev "${want_dev[@]}"
outside=$(cat "$T/bin.files" "$T/dev.files" | grep -vE '^/(usr/(bin|include|lib|share)|etc/sockit)/' || true)
[[ -z $outside ]] && pass "every file is under /usr/{bin,include,lib,share} or /etc/sockit" || fail "outside the FHS places: $outside"
grep -q '^/usr/include\|\.a$' "$T/bin.files" && fail "headers or static libraries in the sockit package" ||
  pass "the sockit package has no development files"
grep -q '^/usr/bin' "$T/dev.files" && fail "a binary in libsockit-dev" || pass "libsockit-dev has no binary"
uncompressed=$(grep '^/usr/share/man/.*\.1$' "$T/bin.files" || true)
[[ -z $uncompressed ]] && pass "man pages are gzipped" || fail "uncompressed: $uncompressed"

# ---- control files and maintainer scripts ---------------------------------------------------------
dpkg-deb -e "$BIN_DEB" "$T/control"
grep -qx /etc/sockit/chat.toml "$T/control/conffiles" && pass "/etc/sockit/chat.toml is a conffile" || fail "no conffile"
sh -n "$T/control/postinst" && sh -n "$T/control/postrm" && pass "postinst and postrm parse" || fail "maintainer scripts do not parse"
grep -q 'adduser --system' "$T/control/postinst" && pass "postinst adds the sockit system user" || fail "postinst adds no user"
grep -q 'purge' "$T/control/postrm" && grep -q 'deluser --system' "$T/control/postrm" &&
  pass "postrm purge removes it" || fail "postrm does not remove the user on purge"
grep -q '^Depends:.*adduser' "$T/control/control" && pass "sockit depends on adduser" || fail "no Depends: adduser"

# ---- installed into a scratch root ----------------------------------------------------------------
ROOT=$T/root
dpkg-deb -x "$BIN_DEB" "$ROOT" && dpkg-deb -x "$DEV_DEB" "$ROOT"
out=$("$ROOT/usr/bin/sockit" --version 2>&1)
[[ $out == "sockit $version" ]] && pass "installed sockit --version: $out" || fail "sockit --version printed '$out'"
text=$(MANWIDTH=100 man -l "$ROOT/usr/share/man/man1/sockit-chat-server.1.gz" 2>&1 | col -b)
grep -q -- '--check-config' <<<"$text" && pass "man -l reads the installed sockit-chat-server.1.gz" ||
  fail "installed man page: $(head -3 <<<"$text")"
grep -qx 'echo-server' <(bash -c 'source "$1"; COMP_WORDS=(sockit ec); COMP_CWORD=1; _sockit; echo "${COMPREPLY[@]}"' _ \
  "$ROOT/usr/share/bash-completion/completions/sockit") && pass "the installed bash completion completes 'sockit ec'" ||
  fail "installed bash completion"
ran=0
for unit in "$ROOT"/usr/lib/systemd/system/*.service; do
  [[ -e $unit ]] || continue
  line=$(sed -n 's/^ExecStart=//p' "$unit" | head -1)
  [[ $line == *chat-server* ]] || continue  # only the chat server has --check-config
  # The unit's own command line, with the scratch root in front of /usr/bin and /etc/sockit.
  read -r -a argv <<<"${line//\/etc\/sockit/$ROOT/etc/sockit}"
  argv[0]=$ROOT${argv[0]}
  "${argv[@]}" --check-config >"$T/check.out" 2>"$T/check.err"; rc=$?
  ran=$((ran + 1))
  [[ $rc -eq 0 ]] && pass "$(basename "$unit"): ExecStart --check-config exits 0" ||
    fail "$(basename "$unit"): '$line --check-config' exit $rc: $(cat "$T/check.err")"
done
if ls "$SRC"/dist/systemd/*chat-server*.service >/dev/null 2>&1; then
  [[ $ran -gt 0 ]] && pass "$ran unit(s) checked" || fail "no chat-server unit with an ExecStart in the package"
else
  echo "# dist/systemd has no chat-server unit: no ExecStart to check"
fi
cfg=$("$ROOT/usr/bin/sockit" chat-server --config "$ROOT/etc/sockit/chat.toml" --check-config 2>&1 >/dev/null)
[[ $? -eq 0 ]] && pass "sockit chat-server --config <installed chat.toml> --check-config: $cfg" || fail "installed chat.toml: $cfg"
# The CMake package of libsockit-dev names the installed paths, not the build tree.
grep -q "$SOCKIT_BUILD_DIR\|$SRC" "$ROOT/usr/lib/cmake/sockit/sockitTargets.cmake" "$ROOT/usr/lib/pkgconfig/sockit.pc" &&
  fail "the CMake package or sockit.pc points into the build tree" || pass "CMake package and sockit.pc are relocatable"

# ---- lintian ------------------------------------------------------------------------------------
lintian --tag-display-limit 0 "$BIN_DEB" "$DEV_DEB" >"$T/lintian.out" 2>&1
errors=$(grep '^E:' "$T/lintian.out" || true)
[[ -z $errors ]] && pass "lintian: no errors ($(grep -c '^W:' "$T/lintian.out") warnings)" || fail "lintian errors: $errors"
finish
