#!/usr/bin/env bash
# Builds ringprof (product, tests and benchmarks) with warnings as errors in
# several (compiler, build type) combinations, each from its own build
# directory: build-matrix/<compiler>-<build type>. Prints one line per
# combination (ok, or FAILED with the path of its log) and exits nonzero if
# any combination failed.
#
#   scripts/build-matrix.sh                  # the default set: gcc-Release clang-Debug
#   scripts/build-matrix.sh --all            # all six combinations
#   scripts/build-matrix.sh clang-Release gcc-Debug ...
#
# Compilers: gcc (gcc/g++), clang (clang/clang++). Build types: Release,
# Debug, RelWithDebInfo. The default set is the two combinations that differ
# most from the one scripts/test.sh builds and tests (gcc RelWithDebInfo):
# the other compiler at the other end of optimization, and gcc at -O3, where
# GCC's flow-based warnings differ. Build directories are reused (an
# incremental build) unless --clean is given. -j N sets the build's
# parallelism (default: nproc). BUILD_MATRIX_DIR overrides build-matrix/.
# A compiler launcher such as ccache can be set through CMake's environment
# variables CMAKE_C_COMPILER_LAUNCHER / CMAKE_CXX_COMPILER_LAUNCHER.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
  exit 2
}

all=(gcc-Release gcc-Debug gcc-RelWithDebInfo clang-Release clang-Debug clang-RelWithDebInfo)
combos=()
clean=0
jobs=$(nproc)
while [ $# -gt 0 ]; do
  case "$1" in
    --all) combos=("${all[@]}") ;;
    --clean) clean=1 ;;
    -j) jobs=${2:?-j needs a number}; shift ;;
    -j*) jobs=${1#-j} ;;
    -h | --help) usage ;;
    gcc-* | clang-*) combos+=("$1") ;;
    *) echo "build-matrix: unknown argument: $1" >&2; usage ;;
  esac
  shift
done
[ ${#combos[@]} -gt 0 ] || combos=(gcc-Release clang-Debug)

root=${BUILD_MATRIX_DIR:-build-matrix}
mkdir -p "$root"

bad=()
for combo in "${combos[@]}"; do
  compiler=${combo%%-*}
  type=${combo#*-}
  case "$compiler" in
    gcc) cc=gcc cxx=g++ ;;
    clang) cc=clang cxx=clang++ ;;
    *) echo "build-matrix: unknown compiler in $combo (gcc or clang)" >&2; exit 2 ;;
  esac
  case "$type" in
    Release | Debug | RelWithDebInfo) ;;
    *) echo "build-matrix: unknown build type in $combo (Release, Debug, RelWithDebInfo)" >&2; exit 2 ;;
  esac
  dir=$root/$combo
  log=$root/$combo.log
  [ "$clean" = 0 ] || rm -rf "$dir"
  start=$SECONDS
  if {
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" \
      -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
      -DRINGPROF_WERROR=ON -DRINGPROF_BUILD_TESTS=ON -DRINGPROF_BUILD_BENCH=ON &&
      cmake --build "$dir" -j "$jobs"
  } >"$log" 2>&1; then
    t=$((SECONDS - start))
    printf 'build-matrix: %-22s ok      %dm%02ds\n' "$combo" $((t / 60)) $((t % 60))
  else
    t=$((SECONDS - start))
    printf 'build-matrix: %-22s FAILED  %dm%02ds  log: %s\n' "$combo" $((t / 60)) $((t % 60)) "$log"
    # CI keeps only the console: show where it broke.
    grep -E 'error|FAILED' "$log" | head -n 40 | sed 's/^/  | /' || true
    bad+=("$combo")
  fi
done

if [ ${#bad[@]} -gt 0 ]; then
  echo "build-matrix: FAILED: ${bad[*]}"
  exit 1
fi
echo "build-matrix: all ok: ${combos[*]}"
