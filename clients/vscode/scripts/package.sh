#!/usr/bin/env bash
# Builds asyncode-<version>-linux-x64.vsix: the bundled extension with asyncoded inside
# (bin/asyncoded, stripped), as `vsce package --target linux-x64`.
# Usage: scripts/package.sh [PATH_OF_ASYNCODED]   (default: build/asyncoded of the checkout)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
daemon="${1:-$here/../../build/asyncoded}"
cd "$here"
[ -x "$daemon" ] || { echo "package.sh: no asyncoded at $daemon (build the daemon first)" >&2; exit 1; }
scripts/build.sh
mkdir -p bin
strip -o bin/asyncoded "$daemon"
cp ../../LICENSE LICENSE  # the project's, shipped in the .vsix
version="$(node -p 'require("./package.json").version')"
out="asyncode-$version-linux-x64.vsix"
node_modules/.bin/vsce package --target linux-x64 --no-dependencies \
  --allow-missing-repository --out "$out" >/dev/null
echo "$here/$out"
