#!/usr/bin/env bash
# The main job, end to end: installs the dependencies, builds, profiles the
# bundled demo workload (main -> a -> b -> c), and writes a report, a flame
# graph and a pprof file into out/. Run as root (recording needs CAP_BPF and
# CAP_PERFMON).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
rm -rf build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$(nproc)" --target ringprof workload_chain
mkdir -p out
./build/ringprof record -F 999 -o out/demo.rpf -- ./build/workloads/workload_chain 2
./build/ringprof report -i out/demo.rpf > out/report.txt
./build/ringprof flamegraph -i out/demo.rpf -o out/flamegraph.svg
./build/ringprof pprof -i out/demo.rpf -o out/profile.pb.gz
echo
head -n 30 out/report.txt
echo
echo "Recording:   $(pwd)/out/demo.rpf"
echo "Report:      $(pwd)/out/report.txt"
echo "Flame graph: $(pwd)/out/flamegraph.svg"
echo "pprof:       $(pwd)/out/profile.pb.gz   (go tool pprof -top out/profile.pb.gz)"
