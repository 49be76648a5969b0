#!/usr/bin/env bash
# The Neovim plugin's tests: the method table against the schema, headless Neovim against
# the real daemon (tests/*_spec.lua, each in its own Neovim), and a real Neovim in tmux
# (scripts/tmux_test.sh). Ends with "N passed, M failed"; exits 1 when a test failed.
#
#   ASYNCODE_DAEMON  the daemon (default: build/asyncoded of this repository)
#   ASYNCODE_NVIM    the Neovim to test (default: nvim on PATH)
#   ASYNCODE_TEST_ONLY=text  only the tests whose name contains text
#   ASYNCODE_REQUIRE_REV1=1  run the "[rev1]" tests even when the daemon says revision 0
#                            (by default they are skipped, and counted, until it says 1)
#   $1...            spec files to run (default: all)
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [ ! -x "$ASYNCODE_DAEMON" ]; then
  echo "no daemon at $ASYNCODE_DAEMON: build it first" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
isolate_xdg "$work"

passed=0
failed=0
skipped=0
version="$("$NVIM" --version | head -1)"
echo "== $version, daemon $ASYNCODE_DAEMON"

# The checked-in method table is what the generator makes of the schema.
if python3 "$HERE/gen_protocol.py" --check; then
  echo "ok - lua/asyncode/protocol.lua is generated from schema/protocol.schema.json"
  passed=$((passed + 1))
else
  echo "not ok - lua/asyncode/protocol.lua is generated from schema/protocol.schema.json"
  failed=$((failed + 1))
fi

specs=("$@")
[ ${#specs[@]} -eq 0 ] && specs=("$PLUGIN"/tests/*_spec.lua)
for spec in "${specs[@]}"; do
  spec="$(cd "$(dirname "$spec")" && pwd)/$(basename "$spec")"
  name="$(basename "$spec" .lua)"
  echo "-- $name"
  results="$work/$name.results"
  (cd "$work" && timeout 300 "$NVIM" --headless -u NONE -i NONE --noplugin \
    --cmd "set rtp^=$PLUGIN" --cmd "runtime plugin/asyncode.lua" \
    -c "lua package.path = '$PLUGIN/tests/?.lua;' .. package.path; require('harness').main('$spec', '$results')" \
    </dev/null 2>"$work/$name.stderr")
  rc=$?
  # headless Neovim writes messages (prompts, notifications) on stderr: shown on failure only
  if [ "$rc" -ne 0 ] && [ -s "$work/$name.stderr" ]; then
    echo "   (its messages:)"; tr '\r' '\n' <"$work/$name.stderr" | tail -20 | sed 's/^/   | /'; echo
  fi
  if [ -f "$results" ]; then
    read -r p f s <"$results"
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + ${s:-0}))
  else
    echo "not ok - $name ended without results (exit $rc)"
    failed=$((failed + 1))
  fi
done

if [ -z "${ASYNCODE_TEST_ONLY:-}" ] && [ "$#" -eq 0 ]; then
  echo "-- tmux (a real Neovim on a terminal)"
  out="$("$HERE/tmux_test.sh" 2>&1)"
  rc=$?
  echo "$out"
  p="$(grep -c '^ok - ' <<<"$out")"
  f="$(grep -c '^not ok - ' <<<"$out")"
  # a script that failed without saying which check did is one failure
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p))
  failed=$((failed + f))
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
