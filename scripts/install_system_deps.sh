#!/usr/bin/env bash
# Installs Debian packages when missing (needs root for apt-get): the ones given as arguments (e.g. `chromium`
# for the documentation checks), or by default those edgequant builds against.
set -euo pipefail
packages=(libeigen3-dev zlib1g-dev libgtest-dev googletest cmake ninja-build libprotobuf-dev protobuf-compiler patchelf ccache
  gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)  # the last three: the Cortex-M4 check of runtime/c
if [ $# -gt 0 ]; then
  packages=("$@")
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "edgequant needs these Debian packages: ${missing[*]}" >&2
  echo "run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
