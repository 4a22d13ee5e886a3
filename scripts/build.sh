#!/usr/bin/env bash
# Configures and builds ringprof into build/ (binary: build/ringprof), with
# warnings as errors (RINGPROF_WERROR=ON), as CI builds it.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRINGPROF_WERROR=ON
cmake --build build -j "$(nproc)"
