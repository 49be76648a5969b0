# Shared by ./run and ./test: install what is missing (Debian packages), build.
# Sourced, not run. Every step prints what it does; nothing is installed by hand.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${ASYNCODE_BUILD_DIR:-$ROOT/build}"

# What building and running asyncode needs.
RUN_PACKAGES=(build-essential cmake ninja-build pkg-config python3 libpython3.11-dev
  nlohmann-json3-dev libspdlog-dev libuv1-dev libreadline-dev python3-trio python3-jedi)
# What the tests need on top (python3-venv .. python3-discord: the Python package's tests,
# which pip-install it into a venv and run the discord.py example; python3-aiohttp: the host
# program of the attach tests).
TEST_PACKAGES=(catch2 python3-pytest python3-jsonschema tmux clang libclang-rt-14-dev
  python3-venv python3-setuptools python3-wheel python3-discord python3-aiohttp)
# The Neovim plugin's tests (clients/nvim): Debian's Neovim 0.7.2; patchelf runs Debian 13's
# Neovim 0.10 as well (clients/nvim/scripts/current_nvim.sh).
TEST_PACKAGES+=(neovim patchelf)
# The VS Code extension's UI tests (clients/vscode): chromium; libkrb5-dev and ripgrep for
# code-server's npm install. node and npm come with the machine.
TEST_PACKAGES+=(chromium libkrb5-dev ripgrep)
# What bench/run needs on top of RUN_PACKAGES: the two it compares with (ipykernel, driven by
# jupyter_client) and matplotlib for its chart (bench.py --svg).
BENCH_PACKAGES=(python3-ipykernel python3-jupyter-client python3-matplotlib)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

missing_packages() {  # one dpkg-query for all: ./run starts with this, every time
  local -A installed=()
  local p status
  while IFS=$'\t' read -r p status; do
    [ "$status" = "install ok installed" ] && installed["$p"]=1
  done < <(dpkg-query -W -f='${Package}\t${Status}\n' "$@" 2>/dev/null)
  for p in "$@"; do
    [ -n "${installed[$p]:-}" ] || printf '%s\n' "$p"
  done
}

ensure_packages() {
  local missing
  mapfile -t missing < <(missing_packages "$@")
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "installing ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Builds everything in `dir` (default build/) with the tests and the benchmark's helpers;
# later -D options override earlier ones. Configures when the directory is new or was
# configured otherwise (./run configures without the tests).
build() {
  local dir="${1:-$BUILD_DIR}"; shift || true
  local options=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DASYNCODE_TESTS=ON -DASYNCODE_BENCH=ON "$@")
  if [ ! -f "$dir/build.ninja" ] || ! configured_with "$dir" "${options[@]}"; then
    log "configuring $dir"
    cmake -S "$ROOT" -B "$dir" -G Ninja "${options[@]}" >/dev/null
  fi
  log "building $dir"
  cmake --build "$dir" -- -j"$(nproc)"
}

# True when every -DNAME=VALUE of the arguments (the last one of a NAME counts) is what
# `dir`'s CMake cache holds.
configured_with() {
  local dir="$1"; shift
  local -A wanted=()
  local option name
  for option in "$@"; do
    name="${option#-D}"
    wanted["${name%%=*}"]="${name#*=}"
  done
  for name in "${!wanted[@]}"; do
    grep -q "^$name:[A-Z]*=${wanted[$name]}\$" "$dir/CMakeCache.txt" || return 1
  done
}

# What ./run needs: the prompt's two programs (asyncode and the daemon it starts), not the
# tests nor the benchmark. Silent when they are up to date, so that `./run -c CODE` prints
# only what CODE prints; a build that has work to do shows it, errors included, on stderr.
build_prompt() {
  local dir="$BUILD_DIR"
  if [ ! -f "$dir/build.ninja" ]; then
    log "configuring $dir"
    cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DASYNCODE_TESTS=OFF \
      -DASYNCODE_BENCH=OFF >/dev/null
  fi
  if ninja -C "$dir" -n asyncode asyncoded 2>/dev/null | grep -q '^ninja: no work to do'; then
    return 0
  fi
  log "building asyncode and asyncoded in $dir"
  cmake --build "$dir" --target asyncode asyncoded -- -j"$(nproc)" >&2
}
