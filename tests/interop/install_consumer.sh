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
out=$("$tmp/build/consumer_layers")
[[ "$out" == "ok" ]] || { echo "find_package consumer of store/ws/cluster printed '$out'"; exit 1; }
echo "find_package(sockit) store, ws, cluster: ok"

# Every header set is installed, and each installed header compiles on its own against the prefix
# (its sockit includes are installed too) without naming a private dependency.
for set in net loop tls serve proto irc store ws cluster; do
  ls "$tmp/prefix/include/sockit/$set/"*.hpp >/dev/null || { echo "no headers of sockit/$set installed"; exit 1; }
done
if grep -rEn '#include [<"](sqlite3|argon2|hiredis|wslay|toml|nlohmann|fmt|liburing|openssl)' "$tmp/prefix/include"; then
  echo "an installed header includes a private dependency (above)"; exit 1
fi
# One TU of every installed header, each twice (its guard), against the prefix alone.
(cd "$tmp/prefix/include" && find sockit -name '*.hpp' | sort) >"$tmp/headers"
n=$(wc -l <"$tmp/headers")
{ sed 's/.*/#include <&>/' "$tmp/headers"; sed 's/.*/#include <&>/' "$tmp/headers"; echo 'int main() {}'; } >"$tmp/all.cpp"
g++ -std=c++20 -fsyntax-only -Wall -Werror -I"$tmp/prefix/include" "$tmp/all.cpp" ||
  { echo "the installed headers do not compile against the prefix"; exit 1; }
echo "$n installed headers compile against the prefix (each included twice)"

export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
[[ "$(pkg-config --modversion sockit)" == 0.1.0 ]]
# shellcheck disable=SC2046
g++ $flags -o "$tmp/consumer-pc" "$SOCKIT_SOURCE_DIR/tests/interop/consumer/main.cpp" $(pkg-config --cflags --libs sockit)
out=$("$tmp/consumer-pc")
[[ "$out" == "ok" ]] || { echo "pkg-config consumer printed '$out'"; exit 1; }
echo "pkg-config sockit: ok"
# shellcheck disable=SC2046
g++ $flags -o "$tmp/layers-pc" "$SOCKIT_SOURCE_DIR/tests/interop/consumer/layers.cpp" $(pkg-config --static --cflags --libs sockit)
out=$("$tmp/layers-pc")
[[ "$out" == "ok" ]] || { echo "pkg-config --static consumer of store/ws/cluster printed '$out'"; exit 1; }
echo "pkg-config --static sockit (store, ws, cluster): ok"
