#!/usr/bin/env bash
# A real (non-headless) Neovim in tmux, driven by keys as a person types them; the screen is
# read with capture-pane to check what a person sees: the inline output under the code, the
# spinner, the error, the diagnostic, the input prompt and a real Ctrl-C there.
# Prints "ok - ..." / "not ok - ..." lines and the final screen; exits 1 when a check failed.
#   ASYNCODE_DAEMON, ASYNCODE_NVIM as for test.sh.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

work="$(mktemp -d)"
sock="asyncode-nvim-test-$$"
isolate_xdg "$work"
pane_pid=""
cleanup() {
  tmux -L "$sock" kill-server 2>/dev/null
  # Neovim ends on the hangup; make sure of it (and so of its daemon, which ends on EOF)
  if [ -n "$pane_pid" ] && kill -0 "$pane_pid" 2>/dev/null; then
    sleep 1
    kill -9 "$pane_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

failed=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; failed=1; }

cat >"$work/demo.py" <<'EOF'
import asyncio
for i in range(3):
    print("tick", i)
    await asyncio.sleep(0.3)
"done"
1/0
name = input("name? ")
try:
    input("again? ")
except EOFError:
    print("EOFError raised")
while True: pass
EOF
mkdir -p "$work/.git"

# the screen without the sign column, then as it is (signs, command line, statusline)
signs() { tmux -L "$sock" capture-pane -p -t t; }
screen() { local s; s="$(signs)"; cut -c3- <<<"$s"; echo "$s"; }
# Wait until the screen shows a line matching an extended regex (at most $2 s); the last
# screen is in $SCREEN.
wait_for() {
  local pattern="$1" limit="${2:-20}" start=$SECONDS
  while :; do
    SCREEN="$(screen)"
    grep -qE -- "$pattern" <<<"$SCREEN" && return 0
    [ $((SECONDS - start)) -ge "$limit" ] && return 1
    sleep 0.05
  done
}
keys() { tmux -L "$sock" send-keys -t t "$@"; }

# a user's init.lua: the plugin on the runtimepath, setup() with its defaults, a statusline
cat >"$work/init.lua" <<EOF
vim.opt.runtimepath:prepend('$PLUGIN')
-- ftplugin/python.vim asks the python3 provider (seconds): this plugin needs no provider
vim.g.loaded_python3_provider = 0
vim.o.number = false
vim.o.signcolumn = 'yes' -- two columns before each line; screen() leaves them out
vim.o.laststatus = 2
vim.o.statusline = "%f %{v:lua.require'asyncode'.status()}"
-- diagnostics as text at the end of the line (the default before Neovim 0.11)
vim.diagnostic.config({ virtual_text = true })
require('asyncode').setup({})
EOF
tmux -L "$sock" -f /dev/null new-session -d -s t -x 90 -y 32 -c "$work" \
  "$NVIM -u '$work/init.lua' -i NONE demo.py"
tmux -L "$sock" set-option -t t status off >/dev/null
pane_pid="$(tmux -L "$sock" display-message -p -t t '#{pane_pid}')"
if ! wait_for 'import asyncio' 10; then
  bad "Neovim starts in tmux"; echo "$SCREEN"; tmux -L "$sock" list-sessions; exit 1
fi

keys ':1,5AsyncodeRun' Enter
seen_spinner=0
seen_partial=0
start=$SECONDS
while [ $((SECONDS - start)) -lt 20 ]; do
  SCREEN="$(screen)"
  grep -qE '^└ . running' <<<"$SCREEN" && seen_spinner=1
  if grep -q '^│ tick 0' <<<"$SCREEN" && ! grep -q '^│ tick 2' <<<"$SCREEN"; then seen_partial=1; fi
  grep -q "^└ ✓ 'done'" <<<"$SCREEN" && break
  sleep 0.05
done
[ "$seen_spinner" = 1 ] && ok "a spinner under the code while it runs" || bad "a spinner under the code while it runs"
[ "$seen_partial" = 1 ] && ok "output shows line by line while the code runs" \
  || bad "output shows line by line while the code runs"
# the block sits right under line 5 ("done"), before line 6, in order
block="$(grep -A5 '^"done"$' <<<"$SCREEN" | head -6)"
expected_re=$'^"done"\n│ tick 0\n│ tick 1\n│ tick 2\n└ ✓ \'done\' · [0-9.]+ (ms|s)\n1/0'
if [[ "$block" =~ $expected_re ]]; then
  ok "the output and the result sit under the last line of the code"
else
  bad "the output and the result sit under the last line of the code"; echo "$SCREEN"
fi

keys ':6AsyncodeRun' Enter
if wait_for '^└ ✗ ZeroDivisionError: division by zero · ' 15 \
  && grep -qE '^1/0 .*ZeroDivisionError' <<<"$SCREEN" && signs | grep -qE '^E 1/0'; then
  ok "an error under its line, and the diagnostic on the line"
else
  bad "an error under its line, and the diagnostic on the line"; echo "$SCREEN"
fi

keys ':7,11AsyncodeRun' Enter
if wait_for '^name\?' 15; then
  keys 'Ada' Enter
  if wait_for '^again\?' 15; then
    ok "input() asks in the command line"
    keys 'x' C-c
    if wait_for '^│ EOFError raised' 15; then
      ok "a real Ctrl-C at the prompt raises EOFError"
    else
      bad "a real Ctrl-C at the prompt raises EOFError"; echo "$SCREEN"
    fi
  else
    bad "input() asks in the command line (the second prompt)"; echo "$SCREEN"
  fi
else
  bad "input() asks in the command line"; echo "$SCREEN"
fi

keys ':12AsyncodeRun' Enter
if wait_for 'asyncode . busy' 15; then
  ok "the statusline shows the busy session"
else
  bad "the statusline shows the busy session"; echo "$SCREEN"
fi
keys ':AsyncodeInterrupt' Enter
if wait_for '^└ ✗ interrupted · ' 15; then
  ok ":AsyncodeInterrupt typed while the code runs stops it"
else
  bad ":AsyncodeInterrupt typed while the code runs stops it"; echo "$SCREEN"
fi

keys ':AsyncodeOutput' Enter
if wait_for "^── \\[4\\] demo.py:12 ──" 10 && grep -q "^KeyboardInterrupt" <<<"$SCREEN"; then
  ok ":AsyncodeOutput opens the output window"
else
  bad ":AsyncodeOutput opens the output window"; echo "$SCREEN"
fi
keys ':AsyncodeOutput' Enter
wait_for '^while True: pass' 5 >/dev/null

echo "--- the screen a person sees:"
signs | sed -e 's/[[:space:]]*$//' | grep -v '^~$'
echo "---"
keys ':qa!' Enter
exit "$failed"
