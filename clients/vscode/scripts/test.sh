#!/usr/bin/env bash
# The VS Code extension's tests, run by ./test (after the daemon is built):
#   1. npm ci of the extension and of the UI harness (pinned by their package-lock.json;
#      skipped when node_modules matches the lockfile)
#   2. build (types from the schema, type check, bundle) and the .vsix with the daemon inside
#   3. node --test of the editor-independent code against the real daemon
#   4. UI tests in a real workbench: code-server + Debian's chromium via playwright-core
# Usage: scripts/test.sh [PATH_OF_ASYNCODED]  (default: build/asyncoded of the checkout)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
daemon="$(realpath "${1:-$here/../../build/asyncoded}")"
cd "$here"
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
start=$(date +%s)

# npm ci only when node_modules is not what the lockfile says.
install() {  # $1: folder with package.json and package-lock.json
  local dir="$1" stamp="$1/node_modules/.asyncode-lock"
  if [ -f "$stamp" ] && cmp -s "$dir/package-lock.json" "$stamp"; then return 0; fi
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
  cp "$dir/package-lock.json" "$stamp"
}
log "npm ci: extension and UI harness"
# @vscode/ripgrep (in code-server) downloads rg from GitHub unless it finds this tarball.
rgcache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
rgtar="$rgcache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -f "$rgtar" ]; then
  mkdir -p "$rgcache"
  tmp="$(mktemp -d)"; cp /usr/bin/rg "$tmp/rg"; tar -C "$tmp" -czf "$rgtar" rg; rm -rf "$tmp"
fi
# code-server's native modules build against Debian's node headers; its postinstall
# refuses root without unsafe_perm (npm warns it does not know the setting: it is read there).
export npm_config_nodedir=/usr npm_config_yes=true npm_config_unsafe_perm=true
install . & ext=$!
install test/workbench & wb=$!
wait $ext
wait $wb

log "building the extension and its .vsix"
vsix="$(scripts/package.sh "$daemon")"

log "extension unit tests (node --test, real daemon)"
ASYNCODE_DAEMON="$daemon" node --test --test-reporter=spec out/unit/

log "UI tests (code-server $(node -p 'require("./test/workbench/node_modules/code-server/package.json").version'), chromium)"
ASYNCODE_VSIX="$vsix" node --test --test-reporter=spec --test-concurrency=1 test/workbench/
log "VS Code client: $(( $(date +%s) - start )) s"
