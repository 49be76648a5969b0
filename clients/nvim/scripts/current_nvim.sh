#!/usr/bin/env bash
# A current Neovim for the tests: Debian 12 ships 0.7.2 only, so this takes Neovim 0.10 from
# Debian 13 (trixie) with apt-get itself, using a sources list and package state of its own in
# DIR (the machine's apt configuration and installed packages are left as they are), unpacks
# the .debs there with dpkg -x, points the nvim binary at trixie's own loader and libraries
# (patchelf: trixie's binaries need a newer glibc than Debian 12's; an ELF interpreter rather
# than `ld.so nvim`, because Neovim's UI starts its own binary again as the server), and
# writes DIR/nvim, a wrapper that sets its runtime. Prints the wrapper's path; exits 1 when
# it cannot. Needs patchelf (Debian package).
#   current_nvim.sh [DIR]   (default: build/nvim-trixie of this repository)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
DIR="${1:-$ROOT/build/nvim-trixie}"
# ASYNCODE_NVIM_SUITE=forky (Debian testing) gives Neovim 0.12 the same way.
SUITE="${ASYNCODE_NVIM_SUITE:-trixie}"

if [ -x "$DIR/nvim" ] && "$DIR/nvim" --version >/dev/null 2>&1; then
  echo "$DIR/nvim"
  exit 0
fi
mkdir -p "$DIR/apt/lists/partial" "$DIR/apt/cache/archives/partial" "$DIR/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $SUITE main" \
  >"$DIR/apt/sources.list"
APT=(-o "Dir::Etc::SourceList=$DIR/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$DIR/apt/lists" -o "Dir::Cache=$DIR/apt/cache" -o Debug::NoLocking=1
  -o APT::Sandbox::User=root -qq)
apt-get "${APT[@]}" update >&2
# Neovim, its runtime, and what they depend on in that suite (its libc too, to run them)
mapfile -t PACKAGES < <(apt-cache "${APT[@]}" depends --recurse --no-recommends --no-suggests \
  --no-conflicts --no-breaks --no-replaces --no-enhances neovim | grep -v '^[ <]' | sort -u)
rm -f "$DIR"/debs/*.deb
(cd "$DIR/debs" && apt-get "${APT[@]}" download "${PACKAGES[@]}" >&2)
rm -rf "$DIR/unpacked"
for deb in "$DIR"/debs/*.deb; do
  dpkg -x "$deb" "$DIR/unpacked"
done
LIBS="$DIR/unpacked/usr/lib/x86_64-linux-gnu"
patchelf --set-interpreter "$LIBS/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$LIBS" \
  "$DIR/unpacked/usr/bin/nvim"
cat >"$DIR/nvim" <<EOF
#!/bin/sh
# Neovim from Debian $SUITE with its own C library (made by clients/nvim/scripts/current_nvim.sh)
R="$DIR/unpacked"
export VIM="\$R/usr/share/nvim" VIMRUNTIME="\$R/usr/share/nvim/runtime" \\
  LUA_CPATH="\$R/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;;"
exec "\$R/usr/bin/nvim" "\$@"
EOF
chmod +x "$DIR/nvim"
"$DIR/nvim" --version | head -1 >&2
echo "$DIR/nvim"
