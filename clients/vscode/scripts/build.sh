#!/usr/bin/env bash
# Builds the extension: generates the protocol types from the schema, type-checks, and
# bundles the extension and its unit tests with esbuild. Needs `npm ci` done.
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/gen-protocol.mjs
node_modules/.bin/tsc -p .
common=(--bundle --platform=node --format=cjs --target=node20 --sourcemap --log-level=warning)
node_modules/.bin/esbuild src/extension.ts "${common[@]}" --external:vscode --outfile=dist/extension.js
rm -rf out
node_modules/.bin/esbuild test/unit/*.test.ts "${common[@]}" --outdir=out/unit
