#!/usr/bin/env bash
# Builds the Debian packages sockit and libsockit-dev from a release build of their own
# (build/pkg: RelWithDebInfo, no tests, benchmarks or examples; cpack strips the binary), puts
# them in build/pkg/packages/ and runs lintian on them. See docs/OPERATIONS.md, "Install".
#   scripts/package.sh [--no-lintian]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --build-only
cmake -S . -B build/pkg -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOCKIT_BUILD_TESTS=OFF \
  -DSOCKIT_BUILD_BENCH=OFF -DSOCKIT_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build/pkg
rm -rf build/pkg/packages
(cd build/pkg && cpack -G DEB -B "$PWD/packages" >/dev/null)
rm -rf build/pkg/packages/_CPack_Packages
ls -l build/pkg/packages/*.deb
if [[ "${1:-}" != "--no-lintian" ]] && command -v lintian >/dev/null; then
  lintian --tag-display-limit 0 build/pkg/packages/*.deb || true
  if lintian build/pkg/packages/*.deb 2>/dev/null | grep -q '^E:'; then
    echo "package: lintian reports errors" >&2
    exit 1
  fi
fi
