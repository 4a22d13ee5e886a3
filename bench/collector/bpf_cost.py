#!/usr/bin/env python3
"""Per-sample cost of ringprof's BPF programs, two ways.

1. The kernel's own BPF run-time statistics (sysctl kernel.bpf_stats_enabled):
   while `ringprof record` runs a workload, run_time_ns / run_cnt of the
   sample program (on_sample) and, with --counters, of the context-switch
   accounting program (on_switch), read through `bpftool prog show`. That is
   a mean per invocation, which a few preempted runs of a virtual CPU
   inflate by microseconds.
2. `ringprof record --bpf-self-timing`: the sample program times every run
   itself (from its clock read to the end of its ring output) into a
   histogram; the median per run is what issue 4's target is about.

Each configuration runs --runs times; the script prints the median over runs
of each figure. Run as root:

    python3 bench/collector/bpf_cost.py --runs 5
"""
import re
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def prog_stats():
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         check=True).stdout
    stats = {}
    for p in json.loads(out):
        name = p.get("name")
        if name in ("on_sample", "on_switch"):
            stats[name] = (p.get("run_time_ns", 0), p.get("run_cnt", 0))
    return stats


def one_run(argv, settle):
    rec = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(settle)
    stats = prog_stats()
    _, err = rec.communicate()
    if rec.returncode != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{err}")
    return stats


def self_timed(argv):
    """Median and p90 ns per run from --bpf-self-timing (None if absent)."""
    p = subprocess.run(argv[:2] + ["--bpf-self-timing"] + argv[2:], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{p.stderr}")
    m = re.search(r"median (\d+) ns, p90 (>= )?(\d+) ns", p.stderr)
    return (int(m.group(1)), int(m.group(3))) if m else None


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    ringprof = os.path.join(args.build, "ringprof")
    wl = os.path.join(args.build, "workloads")
    out = os.path.join(tempfile.mkdtemp(), "r.rpf")
    configs = {
        "fp, 5-frame stacks (chain)": [ringprof, "record", "-q", "-F", "999", "--call-graph",
                                       "fp", "-o", out, "--",
                                       os.path.join(wl, "workload_chain"), "3"],
        "auto + 2 counters (chain)": [ringprof, "record", "-q", "-F", "999", "--counters",
                                    "page-faults,context-switches", "-o", out, "--",
                                    os.path.join(wl, "workload_chain"), "3"],
    }
    # Table unwinding (issue 4): the same 32-frame stacks without frame
    # pointers, through .sframe and .eh_frame tables, and the fp program on
    # the frame-pointer build for comparison.
    for mode, build in (("fp", "workload_deep"), ("auto", "workload_deep"),
                        ("auto", "workload_deep_sframe"), ("auto", "workload_deep_ehframe")):
        configs[f"{mode}, 32 frames ({build} 28)"] = [
            ringprof, "record", "-q", "-F", "999", "--call-graph", mode, "-o", out, "--",
            os.path.join(wl, build), "28", "3"]
    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        before = f.read().strip()
    with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
        f.write("1")
    try:
        print(f"{args.runs} runs each, 999 Hz; medians over runs of: the kernel statistics' mean "
              "ns per invocation, and the self-timed median and p90 ns per run of on_sample")
        for name, argv in configs.items():
            per = {"on_sample": [], "on_switch": []}
            med, p90 = [], []
            for _ in range(args.runs):
                stats = one_run(argv, 2.5)
                for prog, (ns, cnt) in stats.items():
                    if cnt:
                        per[prog].append(ns / cnt)
                t = self_timed(argv)
                if t:
                    med.append(t[0])
                    p90.append(t[1])
            cols = [f"{p} mean {statistics.median(v):6.0f}" for p, v in per.items() if v]
            if med:
                cols.append(f"self-timed median {statistics.median(med):5.0f} "
                            f"p90 {statistics.median(p90):5.0f}")
            print(f"  {name:44} " + "   ".join(cols))
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(before)


if __name__ == "__main__":
    main()
