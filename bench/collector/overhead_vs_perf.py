#!/usr/bin/env python3
"""End-to-end overhead of `ringprof record` next to `perf record`.

Runs a fixed amount of work (workload_chain with ROUNDS) alone, under
`ringprof record -F HZ`, and under `perf record -F HZ -g` (frame pointers),
interleaved, several times, and reports medians: the workload's wall time,
the slowdown ratio against the bare run, the CPU time the profiler added,
and the file size. Run as root from the repository root:

    python3 bench/collector/overhead_vs_perf.py --runs 7 --hz 999
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time


def run(argv):
    """Runs argv; returns (wall seconds, CPU seconds of it and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{p.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--hz", type=int, default=999)
    ap.add_argument("--rounds", type=int, default=8000)
    ap.add_argument("--counters", default="",
                    help="also read these counters at each sample (ringprof --counters, "
                         "perf -e leader + group members read with -s)")
    args = ap.parse_args()
    work = [os.path.join(args.build, "workloads", "workload_chain"), "0", str(args.rounds)]
    tmp = tempfile.mkdtemp()
    outs = {"ringprof": os.path.join(tmp, "r.rpf"), "perf": os.path.join(tmp, "perf.data")}
    modes = {
        "bare": work,
        "ringprof": [os.path.join(args.build, "ringprof"), "record", "-q", "-F", str(args.hz),
                     "-o", outs["ringprof"]]
                    + (["--counters", args.counters] if args.counters else []) + ["--"] + work,
        "perf": ["perf", "record", "-q", "-F", str(args.hz), "-g", "-o", outs["perf"]]
                + (["-e", "{cpu-clock," + args.counters + "}:S"] if args.counters else [])
                + ["--"] + work,
    }
    results = {m: [] for m in modes}
    sizes = {m: [] for m in outs}
    for _ in range(args.runs):
        for m, argv in modes.items():
            results[m].append(run(argv))
            if m in outs:
                sizes[m].append(os.path.getsize(outs[m]))
    bare_wall = statistics.median(w for w, _ in results["bare"])
    bare_cpu = statistics.median(c for _, c in results["bare"])
    print(f"workload: {' '.join(work)}; {args.runs} interleaved runs; {args.hz} Hz; medians")
    print(f"{'mode':10} {'wall s':>8} {'ratio':>7} {'CPU s':>8} {'added CPU s':>12} {'file KiB':>9}")
    for m in modes:
        wall = statistics.median(w for w, _ in results[m])
        cpu = statistics.median(c for _, c in results[m])
        size = f"{statistics.median(sizes[m]) / 1024:9.0f}" if m in sizes else f"{'-':>9}"
        print(f"{m:10} {wall:8.3f} {wall / bare_wall:7.3f} {cpu:8.3f} {cpu - bare_cpu:12.3f} {size}")


if __name__ == "__main__":
    main()
