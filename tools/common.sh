# Shared by ./run and ./test: install what is missing (Debian packages), build.
# Sourced, not run. Every step prints what it does; nothing is installed by hand.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${ASYNCODE_BUILD_DIR:-$ROOT/build}"

# What building and running asyncode needs.
RUN_PACKAGES=(build-essential cmake ninja-build pkg-config python3 libpython3.11-dev
  nlohmann-json3-dev libspdlog-dev libuv1-dev libreadline-dev python3-trio python3-jedi)
# What the tests need on top.
TEST_PACKAGES=(catch2 python3-pytest python3-jsonschema tmux clang libclang-rt-14-dev)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || printf '%s\n' "$p"
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

build() {
  local dir="${1:-$BUILD_DIR}"; shift || true
  if [ ! -f "$dir/build.ninja" ]; then
    log "configuring $dir"
    cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  fi
  log "building $dir"
  cmake --build "$dir" -- -j"$(nproc)"
}
