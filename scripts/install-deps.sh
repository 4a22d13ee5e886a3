#!/usr/bin/env bash
# Installs every Debian 12 package ringprof needs to build, test and run.
# Run as root on a fresh machine.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
  ca-certificates build-essential cmake ninja-build pkg-config git \
  clang clang-tidy clang-format llvm bpftool libbpf-dev libelf-dev libdw-dev elfutils binutils \
  libpfm4-dev libunwind-dev libabsl-dev protobuf-compiler libprotobuf-dev \
  zlib1g-dev libzstd-dev libgtest-dev libgmock-dev libbenchmark-dev \
  golang-go linux-perf libxml2-utils util-linux python3
