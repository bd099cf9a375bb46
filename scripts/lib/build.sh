# shellcheck shell=bash
# Sourced by scripts/test and scripts/serve: configures a build tree the way
# both use it.
#
#   source scripts/lib/build.sh
#   configure_tree build -DCMAKE_BUILD_TYPE=RelWithDebInfo

# Configures (or reconfigures) the tree in $1 from this repository with
# Ninja; the rest are cmake arguments. A tree configured earlier with another
# generator is started over, since cmake refuses to switch generators in place.
configure_tree() {
  local dir=$1
  shift
  local repo
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  if [[ -f $dir/CMakeCache.txt ]] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$dir/CMakeCache.txt"; then
    rm -rf "$dir"
  fi
  cmake -S "$repo" -B "$dir" -G Ninja "$@"
}
