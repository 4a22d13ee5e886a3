#!/usr/bin/env python3
"""End-to-end overhead of `ringprof record` next to `perf record`.

Runs a fixed amount of work (a chain workload with ROUNDS) alone, under
`ringprof record -F HZ` in each --call-graph mode asked for, and under
`perf record -F HZ` with each call-graph mode asked for (fp = -g, dwarf =
--call-graph dwarf), interleaved, several times, and reports medians: the
workload's wall time, the slowdown ratio against the bare run, the CPU time
the profiler added, the file size, and (with --report) the CPU time of
turning the file into a report (`ringprof report` / `perf report --stdio`),
where perf does its dwarf unwinding. Run as root from the repository root:

    python3 bench/collector/overhead_vs_perf.py --runs 7 --hz 999
    python3 bench/collector/overhead_vs_perf.py --workload workload_chain_sframe \
        --ringprof-modes auto,fp,dwarf --perf-modes fp,dwarf --report
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
    ap.add_argument("--workload", default="workload_chain",
                    help="a chain workload in BUILD/workloads (takes SECONDS ROUNDS)")
    ap.add_argument("--ringprof-modes", default="default",
                    help="comma-separated --call-graph modes for ringprof ('default': none given)")
    ap.add_argument("--perf-modes", default="fp", help="comma-separated: fp (-g), dwarf")
    ap.add_argument("--report", action="store_true",
                    help="also time the report step (where perf unwinds dwarf stacks)")
    args = ap.parse_args()
    work = [os.path.join(args.build, "workloads", args.workload), "0", str(args.rounds)]
    tmp = tempfile.mkdtemp()
    ringprof = os.path.join(args.build, "ringprof")
    modes = {"bare": work}
    outs = {}
    reports = {}
    for cg in args.ringprof_modes.split(","):
        name = "ringprof" if cg == "default" else f"ringprof {cg}"
        outs[name] = os.path.join(tmp, name.replace(" ", "-") + ".rpf")
        modes[name] = ([ringprof, "record", "-q", "-F", str(args.hz), "-o", outs[name]]
                       + ([] if cg == "default" else ["--call-graph", cg])
                       + (["--counters", args.counters] if args.counters else []) + ["--"] + work)
        reports[name] = [ringprof, "report", "-i", outs[name]]
    for cg in args.perf_modes.split(","):
        name = f"perf {cg}"
        outs[name] = os.path.join(tmp, f"perf-{cg}.data")
        modes[name] = (["perf", "record", "-q", "-F", str(args.hz)]
                       + (["-g"] if cg == "fp" else ["--call-graph", cg]) + ["-o", outs[name]]
                       + (["-e", "{cpu-clock," + args.counters + "}:S"] if args.counters else [])
                       + ["--"] + work)
        reports[name] = ["perf", "report", "--stdio", "-i", outs[name]]
    results = {m: [] for m in modes}
    report_cpu = {m: [] for m in reports}
    sizes = {m: [] for m in outs}
    for _ in range(args.runs):
        for m, argv in modes.items():
            results[m].append(run(argv))
            if m in outs:
                sizes[m].append(os.path.getsize(outs[m]))
            if args.report and m in reports:
                report_cpu[m].append(run(reports[m])[1])
    bare_wall = statistics.median(w for w, _ in results["bare"])
    bare_cpu = statistics.median(c for _, c in results["bare"])
    print(f"workload: {' '.join(work)}; {args.runs} interleaved runs; {args.hz} Hz; medians")
    print(f"{'mode':16} {'wall s':>8} {'ratio':>7} {'CPU s':>8} {'added CPU s':>12} "
          f"{'file KiB':>9}" + (f" {'report CPU s':>13}" if args.report else ""))
    for m in modes:
        wall = statistics.median(w for w, _ in results[m])
        cpu = statistics.median(c for _, c in results[m])
        size = f"{statistics.median(sizes[m]) / 1024:9.0f}" if m in sizes else f"{'-':>9}"
        line = f"{m:16} {wall:8.3f} {wall / bare_wall:7.3f} {cpu:8.3f} {cpu - bare_cpu:12.3f} {size}"
        if args.report:
            line += (f" {statistics.median(report_cpu[m]):13.3f}" if report_cpu.get(m)
                     else f" {'-':>13}")
        print(line)


if __name__ == "__main__":
    main()
