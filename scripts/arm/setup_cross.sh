#!/usr/bin/env bash
# Prepares this x86-64 Debian machine to build edgequant for 64-bit ARM (Raspberry Pi 5) and to run
# what it builds under emulation: Debian's aarch64 cross compiler and qemu-user, and an arm64 sysroot
# unpacked from Debian's own packages (the libraries the C++ core and engine link against, GoogleTest,
# the CPython 3.11 headers, and the arm64 CPython 3.11 itself to run the aarch64 wheel under qemu).
# Idempotent; used by `make test-arm`. No dpkg --add-architecture: the arm64 packages are downloaded
# with a private apt configuration and unpacked into the sysroot.
#
#   scripts/arm/setup_cross.sh            # prints the sysroot's path on its last line
#   EDGEQUANT_ARM_DIR=DIR scripts/arm/setup_cross.sh
#
# The sysroot has two views for qemu-user, told apart by the /proc/cpuinfo they carry (qemu shows a
# guest the host's x86 text otherwise): SYSROOT (a Pi 5, Cortex-A76, with the dot-product extension)
# and SYSROOT-cortex-a53 (a Pi 3, without it).
set -euo pipefail
dir=${EDGEQUANT_ARM_DIR:-$HOME/.cache/edgequant/arm}
sysroot="$dir/sysroot"
mkdir -p "$dir"
log() { printf 'setup_cross: %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v aarch64-linux-gnu-g++ >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  log "installing the cross compiler and qemu-user (Debian)"
  ls /var/lib/apt/lists/*Packages* >/dev/null 2>&1 || as_root apt-get update -q >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q g++-aarch64-linux-gnu qemu-user >/dev/null
fi

# The Debian mirrors this machine already uses ("URI SUITE..." per line, deb822 or one-line sources).
mirrors() {
  { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
      /^URIs:/ {u=$2} /^Suites:/ {s=""; for (i=2;i<=NF;i++) s=s" "$i}
      /^$/ {if (u!="") print u s; u=""} END {if (u!="") print u s}'
    grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | sed -E 's/^deb (\[[^]]*\] )?//' | awk '{print $1, $2}' || true
  } | sort -u
}

# What the build links against, for arm64. Bump the stamp when the list changes.
packages="libc6-dev libstdc++-12-dev libgomp1 zlib1g-dev libprotobuf-dev libeigen3-dev libgtest-dev python3.11-dev"
stamp="$sysroot/.edgequant-sysroot-1"
if [ ! -f "$stamp" ]; then
  log "downloading the arm64 packages into $dir/apt"
  apt_dir="$dir/apt"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  : > "$apt_dir/status"
  mirrors | awk '{for (i=2;i<=NF;i++) printf "deb [arch=arm64] %s %s main\n", $1, $i}' > "$apt_dir/sources.list"
  cat > "$apt_dir/apt.conf" <<EOF
APT::Architecture "arm64";
APT::Architectures { "arm64"; };
Dir::State "$apt_dir"; Dir::State::Lists "$apt_dir/lists"; Dir::State::status "$apt_dir/status";
Dir::Cache "$apt_dir/cache"; Dir::Etc::SourceList "$apt_dir/sources.list"; Dir::Etc::SourceParts "/dev/null";
Dir::Etc::Preferences "/dev/null"; Dir::Etc::PreferencesParts "/dev/null";
APT::Install-Recommends "false"; Debug::NoLocking "true";
EOF
  # An empty dpkg status: apt downloads the packages' whole arm64 closure (libc included).
  APT_CONFIG="$apt_dir/apt.conf" apt-get update -q >/dev/null
  APT_CONFIG="$apt_dir/apt.conf" apt-get install --download-only -y -q $packages >/dev/null
  rm -rf "$sysroot" && mkdir -p "$sysroot"
  for deb in "$apt_dir"/cache/archives/*.deb; do dpkg -x "$deb" "$sysroot"; done
  touch "$stamp"
fi

# The aarch64 CPython 3.11 interpreter and its standard library, for running the aarch64 wheel under
# qemu-user (scripts/arm/check_wheel_emulated.sh). Unpacked on top of the sysroot, with a stamp of its
# own, so that adding it does not unpack the build packages again. Bump the stamp when the list changes.
runtime_packages="python3.11 libpython3.11-stdlib"
runtime_stamp="$sysroot/.edgequant-sysroot-python-1"
if [ ! -f "$runtime_stamp" ]; then
  log "downloading the arm64 CPython 3.11 into $dir/apt"
  apt_dir="$dir/apt"
  APT_CONFIG="$apt_dir/apt.conf" apt-get update -q >/dev/null
  APT_CONFIG="$apt_dir/apt.conf" apt-get install --download-only -y -q $runtime_packages >/dev/null
  for deb in "$apt_dir"/cache/archives/*.deb; do dpkg -x "$deb" "$sysroot"; done
  touch "$runtime_stamp"
fi

# /proc/cpuinfo per emulated core: the Pi 5's Cortex-A76 (asimddp = dot product) and the Pi 3's A53.
cpuinfo() {  # file features variant part revision model
  : > "$1"
  for i in 0 1 2 3; do
    printf 'processor\t: %s\nBogoMIPS\t: 108.00\nFeatures\t: %s\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: %s\nCPU part\t: %s\nCPU revision\t: %s\n\n' \
      "$i" "$2" "$3" "$4" "$5" >> "$1"
  done
  printf 'Model\t\t: %s\n' "$6" >> "$1"
}
a53="$sysroot-cortex-a53"
mkdir -p "$sysroot/proc" "$a53/proc"
for sub in bin lib sbin usr etc var; do [ -e "$sysroot/$sub" ] && ln -sfn "$sysroot/$sub" "$a53/$sub"; done
cpuinfo "$sysroot/proc/cpuinfo" "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp" \
  0x4 0xd0b 1 "Raspberry Pi 5 Model B Rev 1.0"
cpuinfo "$a53/proc/cpuinfo" "fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid" 0x0 0xd03 4 "Raspberry Pi 3 Model B Rev 1.2"
echo "$sysroot"
