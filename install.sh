#!/usr/bin/env bash
# Installs claude-proxy on a Debian machine: the Debian packages it builds with, a Release
# build, the binary in PREFIX/bin (default ~/.local/bin), and models.yaml.example as the user's
# config when there is none yet. Safe to run again: it changes nothing that is already right.
set -euo pipefail

prefix="${HOME}/.local"
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    -h|--help) echo "usage: ./install.sh [--prefix DIR]   (installs DIR/bin/claude-proxy; default ~/.local)"; exit 0 ;;
    *) echo "install.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

here="$(cd "$(dirname "$0")" && pwd)"
packages=(build-essential cmake pkg-config libevent-dev libcurl4-openssl-dev libcjson-dev
          libyaml-dev libncurses-dev libcmocka-dev)

# Installs the named Debian packages that are missing (via sudo when not root).
apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

apt_install "${packages[@]}"

cmake -S "$here" -B "$here/build-release" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$here/build-release" -j"$(nproc)" >/dev/null
cmake --install "$here/build-release" --prefix "$prefix" | grep -v '^-- Install configuration' || true

config_dir="${XDG_CONFIG_HOME:-$HOME/.config}/claude-proxy"
if [ ! -e "$config_dir/models.yaml" ]; then
  mkdir -p "$config_dir"
  cp "$here/models.yaml.example" "$config_dir/models.yaml"
  echo "wrote $config_dir/models.yaml from models.yaml.example: edit it to choose your models"
fi

case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "note: $prefix/bin is not on your PATH; run $prefix/bin/claude-proxy or add it to PATH" ;;
esac
echo "claude-proxy installed: $prefix/bin/claude-proxy"
