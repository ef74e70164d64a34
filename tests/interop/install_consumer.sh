#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, then builds and runs a consumer program with
# find_package(sockit) and again with pkg-config, as a user of the library would.
set -euo pipefail
: "${SOCKIT_BUILD_DIR:?}" "${SOCKIT_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$SOCKIT_BUILD_DIR" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/lib/cmake/sockit/sockitConfig.cmake"
test -f "$tmp/prefix/lib/cmake/sockit/sockitConfigVersion.cmake"
test -f "$tmp/prefix/lib/pkgconfig/sockit.pc"
test -x "$tmp/prefix/bin/sockit"

# A sanitized build installs sanitized libraries: the consumer needs the same flags.
san=$(sed -n 's/^SOCKIT_SANITIZE:STRING=//p' "$SOCKIT_BUILD_DIR/CMakeCache.txt")
flags=""
[[ -n "$san" ]] && flags="-fsanitize=$san"

cmake -S "$SOCKIT_SOURCE_DIR/tests/interop/consumer" -B "$tmp/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_CXX_FLAGS="$flags" >/dev/null
cmake --build "$tmp/build" >/dev/null
out=$("$tmp/build/consumer")
[[ "$out" == "ok" ]] || { echo "find_package consumer printed '$out'"; exit 1; }
echo "find_package(sockit): ok"

export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
[[ "$(pkg-config --modversion sockit)" == 0.1.0 ]]
# shellcheck disable=SC2046
g++ $flags -o "$tmp/consumer-pc" "$SOCKIT_SOURCE_DIR/tests/interop/consumer/main.cpp" $(pkg-config --cflags --libs sockit)
out=$("$tmp/consumer-pc")
[[ "$out" == "ok" ]] || { echo "pkg-config consumer printed '$out'"; exit 1; }
echo "pkg-config sockit: ok"
