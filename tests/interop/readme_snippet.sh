#!/usr/bin/env bash
# README's library snippet compiles without a warning (issue #23.8: `conn->shutdown_write();`
# dropped a [[nodiscard]] Result). The ```cpp block is wrapped in main() and checked with
# -Wall -Wextra -Werror, as a user who pastes it would build it.
set -euo pipefail
: "${SOCKIT_SOURCE_DIR:?}"
cxx=${CXX:-c++}
command -v "$cxx" >/dev/null || { echo "SKIP: no C++ compiler"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
block=$(awk '/^```cpp$/{f=1;next} f&&/^```$/{exit} f' "$SOCKIT_SOURCE_DIR/README.md")
[[ -n $block ]] || { echo "FAIL: no \`\`\`cpp block in README.md"; exit 1; }
{
  grep -E '^(#include|using )' <<<"$block"
  echo '#include <cstdio>'
  echo 'int main() {'
  grep -vE '^(#include|using )' <<<"$block"
  echo '  (void)n;'
  echo '  return 0;'
  echo '}'
} >"$tmp/snippet.cpp"
if "$cxx" -std=c++20 -fsyntax-only -Wall -Wextra -Werror -I"$SOCKIT_SOURCE_DIR/include" "$tmp/snippet.cpp" 2>"$tmp/err"; then
  echo "ok   README snippet compiles with -Wall -Wextra -Werror"
else
  echo "FAIL: README snippet:"; cat "$tmp/err"; cat -n "$tmp/snippet.cpp"; exit 1
fi
