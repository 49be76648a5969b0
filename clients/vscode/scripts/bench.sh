#!/usr/bin/env bash
# The extension's benchmark (test/workbench/bench.mjs): Ctrl+Enter to the first output line
# visible, and to 200,000 lines rendered, each beside the daemon's own figure for the same
# run. Needs scripts/test.sh's installs. Usage: scripts/bench.sh [PATH_OF_ASYNCODED]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
daemon="$(realpath "${1:-$here/../../build/asyncoded}")"
cd "$here"
vsix="$(scripts/package.sh "$daemon")"
ASYNCODE_VSIX="$vsix" node test/workbench/bench.mjs
