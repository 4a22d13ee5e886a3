#!/usr/bin/env bash
# Installs the dependencies, builds from scratch and runs the whole test
# suite with ctest. Root integration tests skip (with the reason) when not
# run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
rm -rf build
bash scripts/build.sh
(cd build && ctest --output-on-failure -j 2 --timeout 600)
# clang-tidy over our sources (.clang-tidy), on the build just made.
bash scripts/tidy.sh -p build
# The same sources with the other compiler and other build types
# (gcc-Release, clang-Debug), warnings as errors; from scratch.
bash scripts/build-matrix.sh --clean
