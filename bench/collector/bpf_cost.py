#!/usr/bin/env python3
"""Per-sample cost of ringprof's BPF programs, two ways.

1. The kernel's own BPF run-time statistics (sysctl kernel.bpf_stats_enabled):
   while `ringprof record` runs a workload, run_time_ns / run_cnt of the
   sample program (on_sample) and, with --counters, of the context-switch
   accounting program (on_switch), read through `bpftool prog show`. That is
   a mean per invocation, which a few preempted runs of a virtual CPU
   inflate by microseconds.
   Also the median of those means over short slices of the run, which
   discards the slices where a preempted run landed.
2. `ringprof record --bpf-self-timing`: the sample program times every run
   itself (from its clock read to the end of its ring output) into
   histograms for samples that interrupted user and kernel mode; the median
   per run is what issue 4's target is about.

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


def one_run(argv, settle, slices):
    """Per program: the mean ns per invocation from the start of recording to
    `settle` seconds, and the median of the means of `slices` equal slices of
    the last half of that time (statistics read at each slice boundary): a
    median drawn from the kernel's own figures, which one preempted run
    inflates for one slice only."""
    rec = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(settle / 2)
    snaps = [prog_stats()]
    for _ in range(slices):
        time.sleep(settle / 2 / slices)
        snaps.append(prog_stats())
    _, err = rec.communicate()
    if rec.returncode != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{err}")
    out = {}
    for prog, (ns, cnt) in snaps[-1].items():
        means = []
        for a, b in zip(snaps, snaps[1:]):
            if prog in a and prog in b and b[prog][1] > a[prog][1]:
                means.append((b[prog][0] - a[prog][0]) / (b[prog][1] - a[prog][1]))
        if cnt:
            out[prog] = (ns / cnt, statistics.median(means) if means else None)
    return out


def self_timed(argv):
    """Median and p90 ns per run from --bpf-self-timing, and the share of
    table rows that came from the row cache (None if absent)."""
    # Without -q, for the summary line with the row cache's share.
    argv = [a for a in argv if a != "-q"]
    at = argv.index("record") + 1
    p = subprocess.run(argv[:at] + ["--bpf-self-timing"] + argv[at:], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{p.stderr}")
    m = re.search(r"self-timed over \d+ runs: median (>= )?(\d+) ns, p90 (>= )?(\d+) ns, "
                  r"p99 (>= )?\d+ ns, mean (\d+) ns", p.stderr)
    hits = re.search(r"(\d+)% of rows from the row cache", p.stderr)
    kind = {k: re.search(k + r" mode: (\d+) runs, median (>= )?(\d+) ns.*mean (\d+) ns", p.stderr)
            for k in ("user", "kernel")}
    if not m:
        return None
    return {"median": int(m.group(2)), "p90": int(m.group(4)), "mean": int(m.group(6)),
            "hits": int(hits.group(1)) if hits else None,
            "user_median": int(kind["user"].group(3)) if kind["user"] else None,
            # Runs without kernel-mode samples count as a 0% share, and have
            # no kernel-mode mean.
            "kernel_share": (int(kind["kernel"].group(1)) /
                             (int(kind["kernel"].group(1)) +
                              (int(kind["user"].group(1)) if kind["user"] else 0))
                             if kind["kernel"] else 0.0),
            "kernel_mean": int(kind["kernel"].group(4)) if kind["kernel"] else None}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default="",
                    help="run only the configurations whose name contains this text")
    ap.add_argument("--workload-cpu", default=None,
                    help="pin the workload to this CPU (taskset -c); the BPF program runs "
                    "on the CPU of the task it samples, and on our 2-vCPU machines one vCPU "
                    "was often 2-3x slower than the other")
    ap.add_argument("--ringprof-cpu", default=None, help="pin ringprof itself to this CPU")
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
    # Stacks of distinct functions (workload_spread): one fixed 32-frame path
    # (every frame a different function), and random paths through 2048
    # functions, new at every burst of leaf work, which the row cache cannot
    # hold; then a real program with diverse stacks and a big .eh_frame table:
    # the C++ compiler (cc1plus) compiling one of ringprof's sources.
    for mode, build, wargs in (("fp", "workload_spread", ["28", "1"]),
                              ("auto", "workload_spread_sframe", ["28", "1"]),
                              ("auto", "workload_spread_ehframe", ["28", "1"]),
                              ("auto", "workload_spread_sframe", ["32", "64"])):
        configs[f"{mode}, {build} {' '.join(wargs)}"] = [
            ringprof, "record", "-q", "-F", "999", "--call-graph", mode, "-o", out, "--",
            os.path.join(wl, build), "3"] + wargs
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    configs["auto, c++ -O2 compiling collector/recorder.cc"] = [
        ringprof, "record", "-q", "-F", "999", "-o", out, "--", "c++", "-O2", "-std=c++20",
        "-I", src, "-I", os.path.join(args.build, "collector"), "-o", os.devnull, "-c",
        os.path.join(src, "collector", "recorder.cc")]
    configs = {k: v for k, v in configs.items() if args.only in k}
    for k, argv in configs.items():
        if args.workload_cpu is not None:
            at = argv.index("--") + 1
            argv[at:at] = ["taskset", "-c", args.workload_cpu]
        if args.ringprof_cpu is not None:
            argv[0:0] = ["taskset", "-c", args.ringprof_cpu]
    if not configs:
        sys.exit(f"no configuration matches --only {args.only!r}")
    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        before = f.read().strip()
    with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
        f.write("1")
    try:
        print(f"{args.runs} runs each, 999 Hz; medians over runs of: the kernel statistics' mean "
              "ns per invocation and their median over 10 slices of 125 ms; on_sample's "
              "self-timed median, p90 and mean ns per run, its median over samples that "
              "interrupted user mode, and the share and mean of those that interrupted kernel "
              "mode (they also walk the kernel stack)")
        # Round robin over the configurations, so that the slow and fast
        # phases of a shared virtual machine fall on all of them alike.
        res = {name: {"per": {"on_sample": [], "on_switch": []},
                      "sliced": {"on_sample": [], "on_switch": []},
                      "self": []} for name in configs}
        for _ in range(args.runs):
            for name, argv in configs.items():
                r = res[name]
                stats = one_run(argv, 2.5, 10)
                for prog, (mean, sliced) in stats.items():
                    r["per"][prog].append(mean)
                    if sliced is not None:
                        r["sliced"][prog].append(sliced)
                t = self_timed(argv)
                if t:
                    r["self"].append(t)
        for name in configs:
            per, per_sliced, runs = res[name]["per"], res[name]["sliced"], res[name]["self"]
            cols = [f"{p} mean {statistics.median(v):6.0f}" for p, v in per.items() if v]
            cols += [f"{p} sliced median {statistics.median(v):6.0f}"
                     for p, v in per_sliced.items() if v]

            def mid(key):
                v = [t[key] for t in runs if t[key] is not None]
                return statistics.median(v) if v else None
            if runs:
                cols.append(f"self-timed median {mid('median'):5.0f} p90 {mid('p90'):5.0f} "
                            f"mean {mid('mean'):5.0f}")
                if mid("user_median") is not None:
                    cols.append(f"user-mode median {mid('user_median'):5.0f}")
                if mid("kernel_mean") is not None:
                    cols.append(f"kernel-mode {100 * mid('kernel_share'):4.1f}% of runs, "
                                f"mean {mid('kernel_mean'):6.0f}")
                if mid("hits") is not None:
                    cols.append(f"row cache {mid('hits'):3.0f}%")
                cols.append("self-timed medians by run: " +
                            " ".join(str(t["median"]) for t in runs))
            print(f"  {name:44} " + "   ".join(cols))
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(before)


if __name__ == "__main__":
    main()
