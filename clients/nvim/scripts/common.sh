# Sourced by test.sh and tmux_test.sh: where things are, and a home of the test's own.
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PLUGIN="$(dirname "$HERE")"
ROOT="$(cd "$PLUGIN/../.." && pwd)"
export ASYNCODE_DAEMON="${ASYNCODE_DAEMON:-$ROOT/build/asyncoded}"
NVIM="${ASYNCODE_NVIM:-nvim}"

# Neovim writes lsp.log, shada, swap and state under these: keep them in the folder $1.
isolate_xdg() {
  export XDG_CACHE_HOME="$1/cache" XDG_STATE_HOME="$1/state" XDG_DATA_HOME="$1/data" \
    XDG_CONFIG_HOME="$1/config"
}
