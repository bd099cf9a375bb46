# shellcheck shell=bash
# Sourced by the scripts in scripts/ and bench/: installs missing Debian
# packages, so every command in README.md and docs/ works on a fresh Debian
# machine.
#
#   source scripts/lib/packages.sh
#   ensure_packages cmake nginx-light ...
#
# Packages already installed cost one dpkg query each; missing ones are
# installed with apt-get (through sudo when not root), with a line saying which.

ensure_packages() {
  local missing=() package
  for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$package")
    fi
  done
  ((${#missing[@]})) || return 0
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
  echo "== installing ${missing[*]}" >&2
  "${sudo[@]}" apt-get update >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    "${missing[@]}" >&2
}

# The packages that build kvs and run its tests.
# shellcheck disable=SC2034 # used by the scripts that source this file
KVS_BUILD_PACKAGES=(build-essential cmake ninja-build pkgconf libboost-dev catch2 libssl-dev
  libsqlite3-dev libyaml-cpp-dev nlohmann-json3-dev libfcgi-dev libcpp-httplib-dev)

# What scripts/fuzz needs besides: clang, and its runtime libraries (libFuzzer
# and the sanitizers), which the clang package only recommends.
# shellcheck disable=SC2034 # used by the scripts that source this file
KVS_FUZZ_PACKAGES=(clang libclang-rt-dev)
