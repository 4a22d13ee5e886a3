#!/usr/bin/env python3
"""Real Debian programs under four profilers, side by side.

Profiles programs nobody here wrote (Debian's stripped binaries, with
libc6-dbg's debug files for libc and ld.so where installed) under

    ringprof auto   ringprof record -e cpu-clock --call-graph auto
    ringprof dwarf  ringprof record -e cpu-clock --call-graph dwarf   (the reference)
    perf dwarf      perf record -N -e cpu-clock --call-graph dwarf
    perf -g         perf record -N -e cpu-clock -g

all at -F HZ (default 999), except the fork/exec loop, which samples every
--fork-period ns of CPU time (-c, default 100000: 10 kHz). perf gets -N
(no build-id cache: it only skips copying binaries into ~/.debug, the
file still lists build-ids). perf 6.1 can abort at the end of a recording
("assertion failed at util/build-id.c:1010", "stack smashing detected")
when samples land in a BPF program that another tool attached system-wide,
e.g. another session's ringprof --counters; such runs are retried, then
recorded with -B (see Runner.record; the JSON counts them).

Programs:
  cc1plus  g++ -std=c++20 -O2 -c of a file that includes <bits/stdc++.h>
           (the whole g++ tree: driver, cc1plus, as)
  fork     sh -c 'i=0; while [ $i -lt N ]; do /bin/true; i=$((i+1)); done'
  python   /usr/bin/python3 -I importing 80 stdlib modules, then a little work
  xz       xz -T2 -1 --block-size=1MiB over generated text (two threads)
  dlopen   bench_dlopen_loop N: dlopen+dlclose six Debian libraries N times

Columns (per program and profiler; medians over --runs interleaved rounds;
every stack figure uses the same rule for every profiler):

  samples     samples in the file (perf: SAMPLE records; ringprof: samples)
  user%       share of samples with at least one user frame
  root%       of the samples with user frames, the share whose user chain
              reaches a process or thread root: some user frame is named
              (after dropping a symbol version, "@@GLIBC_2.34") one of
              ROOT_NAMES below (_start, __libc_start_main[_impl],
              __libc_start_call_main, main, start_thread, clone3/__clone3,
              clone/__clone)
  leaf%       of the samples with user frames, the share with exactly one
              user frame (the walk went nowhere)
  agree%      of the samples with user frames, the share whose chain string
              also occurs among the chains of the ringprof dwarf recording
              of the same round (tests/integration/unwind_integration_test.cc
              Agreement, applied to whole chains). A chain string is the user
              frames' names from root to leaf joined by ';' with consecutive
              repeats collapsed; a frame with no symbol counts as its file's
              base name ("cc1plus"), a frame in no file-backed mapping as
              "[unknown]"
              Control row "ringprof dwarf 2": a second, independent dwarf
              recording; its agree% is what a correct unwinder scores, since
              two runs never sample the same set of chains (a chain seen once
              cannot agree). Also printed: the reference split in two halves
              (samples dealt alternately), one half against the other
  B/sample    output file bytes / samples
  prof CPU s  user+sys CPU of the profiler process alone (all its threads,
              none of its children): getrusage(RUSAGE_SELF) written at exit by
              librusage_at_exit.so, LD_PRELOADed into the profiler only (its
              constructor takes LD_PRELOAD out of the environment, so the
              workload runs without it). Cross-checked against the zombie's
              /proc/PID/stat utime+stime (10 ms ticks; in the JSON)
  RSS MiB     the profiler's own peak RSS: VmHWM of /proc/self/status, read
              by the same library at exit (not ru_maxrss, which the kernel
              carries over exec() from the forked harness)
  wl CPU s    CPU of everything the profiler started (the workload), from
              wait4() on the profiler minus the profiler's own: the in-kernel
              cost of sampling (BPF program, perf's stack copies) is charged
              here, since it runs in the workload's context. "bare" is the
              workload alone
  decode s    CPU to turn the file into symbolized stacks: `perf script`
              (where perf's dwarf unwinding happens) or ReadRecording +
              BuildProfile (what `ringprof report` does) in
              bench_real_programs_stacks

Under each table: root% of the perf rows with perf's own names; the share
of ringprof samples whose user walk ended at a table miss (from each raw
sample's flags, so it includes the samples that the report's "ended at"
line leaves out, see docs/PERFORMANCE.md); lost records where there were any.

Names: every user frame of every profiler is named by ringprof's symbolizer
(bench_real_programs_stacks; mangled names, no inline frames), so that
symbol-table aliases (__GI_setlocale against setlocale, versioned
__libc_start_main@@GLIBC_2.34) do not count as unwinding differences: perf's
frames come from `perf script -F comm,pid,tid,ip,sym,dso --no-inline`, whose
ip column is the offset in the frame's file (checked for ET_EXEC cc1plus and
PIE objects), looked up at offset-1 for every frame but the leaf, as ringprof
does. [vdso] frames keep perf's own name. The JSON also has perf's figures
with perf's own names (root_share_perf_names).

Also measured: `record -- /bin/true` (start-up: profiler CPU, RSS, file
size; median of --startup-runs) and system-wide recording (`-a -F 99`,
--system-seconds, with two busy processes: ringprof --duration SECS, perf
-- sleep SECS); there "rec s" is the span the recording covers (ringprof:
the profile's duration; perf: SECS), "wall s" how long the profiler ran and
"setup s" (ringprof) the time from its launch to the recording's start time
(CLOCK_MONOTONIC in both).

Run as root from the repository root after building (bench targets
bench_real_programs_stacks, rusage_at_exit, bench_dlopen_loop):

    python3 bench/collector/real_programs.py --runs 3 --json out.json
    python3 bench/collector/real_programs.py --quick
"""
import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT_NAMES = {"_start", "__libc_start_main", "__libc_start_main_impl", "__libc_start_call_main",
              "main", "start_thread", "clone3", "__clone3", "clone", "__clone"}

PROFILERS = ["ringprof auto", "ringprof dwarf", "perf dwarf", "perf -g"]
REFERENCE = "ringprof dwarf"
# A second, independent ringprof dwarf recording: its agreement with the
# reference is what a correct unwinder scores, given that two runs never
# sample the same set of chains (--no-control leaves it out).
CONTROL = "ringprof dwarf 2"

PY_SCRIPT = r'''
import argparse, array, ast, asyncio, base64, bisect, bz2, calendar, collections, concurrent.futures
import configparser, contextlib, copy, csv, dataclasses, datetime, decimal, difflib, dis, email
import email.mime.multipart, email.mime.text, email.parser, email.policy, enum, fractions
import functools, gettext, glob, gzip, hashlib, heapq, hmac, html, html.parser, http.client
import http.cookies, inspect, io, ipaddress, itertools, json, locale, logging, lzma, mimetypes
import operator, pathlib, pickle, platform, pprint, queue, random, re, secrets, selectors, shlex
import shutil, socket, sqlite3, ssl, statistics, string, struct, tarfile, tempfile, textwrap
import threading, timeit, tokenize, typing, unittest, urllib.parse, urllib.request, uuid
import xml.dom.minidom, xml.etree.ElementTree, zipfile, zlib
import sys

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 1
total = 0
for r in range(rounds):
    doc = {"id": r, "items": [{"k": i, "v": str(i) * 3, "f": i / 7} for i in range(400)]}
    total += len(json.loads(json.dumps(doc, sort_keys=True))["items"])
    decimal.getcontext().prec = 60
    total += int(sum(decimal.Decimal(1) / decimal.Decimal(i) for i in range(1, 300)))
    async def work(i):
        await asyncio.sleep(0)
        return i * i
    async def gather():
        return sum(await asyncio.gather(*(work(i) for i in range(200))))
    total += asyncio.run(gather())
    msg = email.mime.multipart.MIMEMultipart()
    msg["Subject"] = "round %d" % r
    msg.attach(email.mime.text.MIMEText("hello " * 200))
    parsed = email.parser.Parser(policy=email.policy.default).parsestr(msg.as_string())
    total += len(parsed.get_payload())
    root = xml.etree.ElementTree.fromstring(
        "<r>" + "".join('<e a="%d">%d</e>' % (i, i) for i in range(500)) + "</r>")
    total += sum(int(e.get("a")) for e in root.iter("e"))
    db = sqlite3.connect(":memory:")
    db.execute("create table t (k integer primary key, v text)")
    db.executemany("insert into t values (?, ?)", ((i, str(i)) for i in range(2000)))
    total += db.execute("select count(*), sum(k) from t where v like '1%'").fetchone()[1]
    db.close()
    total += len(re.findall(r"\b\w+@\w+\.com\b", "a@b.com x@y.com " * 300))
    total += len(hashlib.sha256(pickle.dumps(doc)).hexdigest())
    total += len(difflib.unified_diff(["a", "b"] * 50, ["a", "c"] * 50).__next__())
    conn = http.client.HTTPConnection("localhost", 9)  # built, never connected
    total += len(conn.host)
print(total)
'''


class PerfScriptAborted(Exception):
    pass


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def read_stat_cpu(pid):
    """utime+stime (s) of a zombie from /proc/PID/stat (whole thread group, no children)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


class Runner:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.build = os.path.abspath(args.build)
        self.ringprof = os.path.join(self.build, "ringprof")
        self.stacks_tool = os.path.join(self.build, "bench", "collector", "bench_real_programs_stacks")
        self.preload = os.path.join(self.build, "bench", "collector", "librusage_at_exit.so")
        self.dlopen_loop = os.path.join(self.build, "bench", "collector", "bench_dlopen_loop")
        self.spinner = os.path.join(self.build, "workloads", "workload_chain_ehframe")
        for p in (self.ringprof, self.stacks_tool, self.preload, self.dlopen_loop, self.spinner):
            if not os.path.exists(p):
                sys.exit(f"missing {p}: build first (cmake --build {args.build})")
        self.perf = shutil.which("perf")
        if self.perf is None:
            sys.exit("perf not found (Debian: linux-perf)")
        self.counter = 0

    def path(self, name):
        self.counter += 1
        return os.path.join(self.tmp, f"{self.counter:04d}-{name}")

    def measured(self, argv, preload=True, stdout=subprocess.DEVNULL, cwd=None):
        """Runs argv; returns a dict: wall, total CPU (wait4, it and all its
        descendants), its own CPU and peak RSS (librusage_at_exit), its own CPU
        from the zombie's /proc stat, exit code, stderr."""
        ru_path = self.path("rusage")
        err_path = self.path("stderr")
        env = dict(os.environ)
        if preload:
            env["LD_PRELOAD"] = self.preload
            env["RUSAGE_AT_EXIT_OUT"] = ru_path
        with open(err_path, "w") as err:
            launched_ns = time.monotonic_ns()  # CLOCK_MONOTONIC, as ringprof's start time
            t0 = time.monotonic()
            p = subprocess.Popen(argv, env=env, stdout=stdout, stderr=err, cwd=cwd)
            os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
            wall = time.monotonic() - t0
            stat_cpu = read_stat_cpu(p.pid)
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
        with open(err_path, errors="replace") as f:
            stderr = f.read()
        os.unlink(err_path)
        r = {"wall_s": wall, "total_cpu_s": ru.ru_utime + ru.ru_stime,
             "wait4_maxrss_kib": ru.ru_maxrss, "stat_cpu_s": stat_cpu,
             "rc": p.returncode, "stderr": stderr[-4000:], "launched_ns": launched_ns}
        if preload:
            try:
                with open(ru_path) as f:
                    ut, st, hwm, maxrss = f.read().split()
                os.unlink(ru_path)
                r["self_cpu_s"] = (int(ut) + int(st)) / 1e6
                r["self_user_s"] = int(ut) / 1e6
                r["self_sys_s"] = int(st) / 1e6
                r["self_rss_kib"] = int(hwm) if int(hwm) >= 0 else None
                r["ru_maxrss_kib"] = int(maxrss)
                r["workload_cpu_s"] = r["total_cpu_s"] - r["self_cpu_s"]
            except (OSError, ValueError):
                r["self_cpu_s"] = None  # the profiler left through _exit or a signal
                r["self_rss_kib"] = None
                r["workload_cpu_s"] = None
        return r

    def record(self, profiler, out, sampling, cmd=None, system=None):
        """Records once; returns measured()'s dict plus file_bytes. perf 6.1
        aborts at the end of `perf record -N` here when samples landed in a
        BPF program that another tool attached system-wide (seen with
        ringprof --counters' sched_switch program running in another session:
        "assertion failed at util/build-id.c:1010", "stack smashing
        detected"): such a run is retried (up to 3 times), then recorded
        with -B (no build-ids at all) instead, and the JSON says so."""
        crashes = []
        no_buildid = False
        while True:
            argv = self.record_argv(profiler, out, sampling, cmd=cmd, system=system,
                                    no_buildid=no_buildid)
            r = self.measured(argv)
            if (r["rc"] != 0 and profiler.startswith("perf")
                    and "util/build-id.c" in r["stderr"]):
                crashes.append(r["rc"])
                print(f"    perf aborted in its build-id code (exit {r['rc']}); "
                      f"{'retrying' if len(crashes) < 3 else 'retrying with -B'}", flush=True)
                if len(crashes) >= 3:
                    if no_buildid:
                        break
                    no_buildid = True
                continue
            break
        r["perf_build_id_aborts"] = len(crashes)
        r["perf_no_buildid"] = no_buildid
        r["argv"] = argv
        if r["rc"] == 0:
            r["file_bytes"] = os.path.getsize(out)
        return r

    def record_argv(self, profiler, out, sampling, cmd=None, system=None, no_buildid=False):
        """sampling: ("F", hz) or ("c", period). system: seconds for -a."""
        flag = "-F" if sampling[0] == "F" else "-c"
        if profiler.startswith("ringprof"):
            mode = profiler.split()[1]
            argv = [self.ringprof, "record", "-e", "cpu-clock", flag, str(sampling[1]),
                    "--call-graph", mode, "-o", out]
            if system is not None:
                return argv + ["-a", "--duration", str(system)]
            return argv + ["--"] + cmd
        cg = ["--call-graph", "dwarf"] if profiler == "perf dwarf" else ["-g"]
        argv = [self.perf, "record", "-B" if no_buildid else "-N", "-e", "cpu-clock", flag,
                str(sampling[1])] + cg + ["-o", out]
        if system is not None:
            return argv + ["-a", "--", "sleep", str(system)]
        return argv + ["--"] + cmd

    # --- stacks ---------------------------------------------------------------

    def ringprof_stacks(self, rec):
        """[(count, pid, comm, n_kernel, [user names leaf first])], summary, decode CPU."""
        out = self.path("stacks.txt")
        with open(out, "w") as f:
            r = self.measured([self.stacks_tool, "stacks", rec], preload=False, stdout=f)
        if r["rc"] != 0:
            raise RuntimeError(f"stacks tool failed on {rec}: {r['stderr']}")
        summary, samples = {}, []
        with open(out, errors="replace") as f:
            for line in f:
                line = line.rstrip("\n")
                if line.startswith("# "):
                    k, v = line[2:].split(" ", 1)
                    summary[k] = int(v)
                    continue
                parts = line.split("\t")
                count, pid, _tid, comm, nk = int(parts[1]), int(parts[2]), parts[3], parts[4], int(parts[5])
                names = [p.split(":", 1)[1] for p in parts[6:]]
                samples.append((count, pid, comm, nk, names, names))
        os.unlink(out)
        return samples, summary, r["total_cpu_s"]

    def perf_stacks(self, data):
        """Same shape as ringprof_stacks; names by ringprof's symbolizer, and
        perf's own names kept alongside."""
        out = self.path("script.txt")
        with open(out, "w") as f:
            r = self.measured([self.perf, "script", "-i", data, "-F", "comm,pid,tid,ip,sym,dso",
                               "--no-demangle", "--no-inline"], preload=False, stdout=f)
        if r["rc"] != 0:
            os.unlink(out)
            if "util/build-id.c" in r["stderr"]:
                raise PerfScriptAborted(r["stderr"][-300:])
            raise RuntimeError(f"perf script failed on {data}: {r['stderr']}")
        head_re = re.compile(r"^\s*(.*?)\s+(-?\d+)/(-?\d+)\s*$")
        raw = []  # (comm, pid, [kernel count], [(ip, sym, dso)] user leaf first)
        cur = None
        with open(out, errors="replace") as f:
            for line in f:
                if line.startswith("\t"):
                    s = line.strip()
                    if not s or cur is None:
                        continue
                    ip_s, _, rest = s.partition(" ")
                    at = rest.rfind(" (")
                    sym, dso = (rest[:at], rest[at + 2:-1]) if at >= 0 else (rest, "")
                    ip = int(ip_s, 16)
                    if ip >= 0xffff800000000000 or dso.startswith("[kernel") or dso.startswith("[bpf") \
                            or dso.startswith("[guest.kernel"):
                        cur[2] += 1
                    else:
                        cur[3].append((ip, sym, dso))
                    continue
                line = line.rstrip("\n")
                if not line.strip():
                    continue
                m = head_re.match(line)
                if m is None:
                    continue
                cur = [m.group(1), int(m.group(2)), 0, []]
                raw.append(cur)
        os.unlink(out)
        # Resolve every (file, offset) with ringprof's symbolizer in one batch.
        queries, index = [], {}
        for _, _, _, frames in raw:
            for i, (ip, _, dso) in enumerate(frames):
                if dso.startswith("/"):
                    key = (dso, ip, 1 if i > 0 else 0)
                    if key not in index:
                        index[key] = len(queries)
                        queries.append(key)
        names = {}
        if queries:
            q_path = self.path("queries.txt")
            with open(q_path, "w") as f:
                for dso, ip, ret in queries:
                    f.write(f"{dso}\t{ip:x}\t{ret}\n")
            res_path = self.path("names.txt")
            with open(q_path) as fin, open(res_path, "w") as fout:
                p = subprocess.run([self.stacks_tool, "symbolize"], stdin=fin, stdout=fout,
                                   stderr=subprocess.PIPE, text=True)
            if p.returncode != 0:
                raise RuntimeError(f"symbolize failed: {p.stderr}")
            with open(res_path, errors="replace") as f:
                lines = f.read().split("\n")
            for key, res in zip(queries, lines):
                kind, _, name = res.partition("\t")
                names[key] = name if kind == "s" else None
            os.unlink(q_path)
            os.unlink(res_path)
        samples = []
        for comm, pid, nk, frames in raw:
            ours, theirs = [], []
            for i, (ip, sym, dso) in enumerate(frames):
                base = os.path.basename(dso)
                own = sym if sym != "[unknown]" else None
                if dso.startswith("/"):
                    n = names.get((dso, ip, 1 if i > 0 else 0))
                    ours.append(n if n else base)
                    theirs.append(own if own else base)
                elif dso == "[vdso]":
                    ours.append(own if own else "[vdso]")
                    theirs.append(own if own else "[vdso]")
                else:  # [unknown], [stack], [heap], //anon: no file to name it by
                    ours.append("[unknown]")
                    theirs.append(own if own else "[unknown]")
            samples.append((1, pid, comm, nk, ours, theirs))
        return samples, {"samples": len(raw)}, r["total_cpu_s"]

    def perf_stats(self, data):
        p = subprocess.run([self.perf, "report", "-i", data, "--stats"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, errors="replace")
        out = {}
        for m in re.finditer(r"^\s*(\w+) events:\s+(\d+)", p.stdout, re.M):
            out.setdefault(m.group(1), int(m.group(2)))  # the first block: aggregated
        return out


def strip_version(name):
    at = name.find("@")
    return name[:at] if at > 0 else name


def chain_text(names_leaf_first):
    out = []
    for n in reversed(names_leaf_first):
        if out and out[-1] == n:
            continue
        out.append(n)
    return ";".join(out)


def stack_figures(samples, which=4, reference_chains=None):
    """Figures of one recording. which: 4 = names by ringprof's symbolizer,
    5 = the profiler's own names (perf)."""
    total = sum(s[0] for s in samples)
    user = rooted = leaf = agree = 0
    chains = {}
    roots = {}
    for s in samples:
        count, names = s[0], s[which]
        if not names:
            continue
        user += count
        if any(strip_version(n) in ROOT_NAMES for n in names):
            rooted += count
        else:
            outer = strip_version(names[-1])
            roots[outer] = roots.get(outer, 0) + count
        if len(names) == 1:
            leaf += count
        c = chain_text(names)
        chains[c] = chains.get(c, 0) + count
        if reference_chains is not None and c in reference_chains:
            agree += count
    f = {"samples": total, "user_samples": user,
         "user_share": user / total if total else None,
         "root_share": rooted / user if user else None,
         "leaf_only": leaf, "leaf_only_share": leaf / user if user else None,
         "distinct_chains": len(chains),
         "unrooted_outermost_top": sorted(roots.items(), key=lambda kv: -kv[1])[:8]}
    if reference_chains is not None:
        f["agreement"] = agree / user if user else None
    return f, set(chains)


def split_half_agreement(samples):
    """The reference against itself: its samples dealt alternately into two
    halves; the share of one half's user samples whose chain the other half
    shows (both directions, averaged). What a perfect unwinder would score
    against a reference of half the size: chains seen once cannot agree."""
    halves = [[], []]
    i = 0
    for s in samples:
        if not s[4]:
            continue
        c = chain_text(s[4])
        for _ in range(s[0]):
            halves[i % 2].append(c)
            i += 1
    sets = [set(h) for h in halves]
    vals = []
    for a in (0, 1):
        if halves[a]:
            vals.append(sum(1 for c in halves[a] if c in sets[1 - a]) / len(halves[a]))
    return sum(vals) / len(vals) if vals else None


def make_programs(args, tmp, runner):
    progs = {}
    src = os.path.join(tmp, "stdcpp.cc")
    with open(src, "w") as f:
        f.write("#include <bits/stdc++.h>\n"
                "int main() {\n"
                "  std::vector<int> v{3, 1, 2};\n"
                "  std::sort(v.begin(), v.end());\n"
                "  std::map<std::string, int> m{{\"a\", 1}};\n"
                "  std::cout << v[0] << m.size() << std::endl;\n"
                "}\n")
    progs["cc1plus"] = {"cmd": ["/usr/bin/g++", "-std=c++20", "-O2", "-c", src, "-o",
                                os.path.join(tmp, "stdcpp.o")],
                        "desc": "g++ -std=c++20 -O2 -c (#include <bits/stdc++.h>)"}
    loop = (f"i=0; while [ $i -lt {args.fork_iterations} ]; do /bin/true; i=$((i+1)); done")
    progs["fork"] = {"cmd": ["/bin/sh", "-c", loop], "sampling": ("c", args.fork_period),
                     "desc": f"sh -c '... {args.fork_iterations} x /bin/true'"}
    py = os.path.join(tmp, "imports.py")
    with open(py, "w") as f:
        f.write(PY_SCRIPT)
    progs["python"] = {"cmd": ["/usr/bin/python3", "-I", py, str(args.python_rounds)],
                       "desc": f"python3 -I: 80 stdlib imports, {args.python_rounds} rounds of work"}
    data = os.path.join(tmp, "xz-input.txt")
    rng = random.Random(1)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
             for _ in range(5000)]
    target = args.xz_mib * 1024 * 1024
    with open(data, "w") as f:
        written = 0
        while written < target:
            line = " ".join(rng.choice(words) for _ in range(12)) + f" {rng.random():.6f}\n"
            f.write(line)
            written += len(line)
    progs["xz"] = {"cmd": ["/usr/bin/xz", "-T2", "-1", "--block-size=1MiB", "-c", data],
                   "desc": f"xz -T2 -1 --block-size=1MiB, {args.xz_mib} MiB of text"}
    progs["dlopen"] = {"cmd": [runner.dlopen_loop, str(args.dlopen_loops)],
                       "desc": f"bench_dlopen_loop {args.dlopen_loops} (6 Debian libraries)"}
    return {k: progs[k] for k in args.programs}


def fmt(v, spec, none="-"):
    if v is None:
        width = re.match(r"\d*", spec).group(0)
        return none.rjust(int(width)) if width else none
    return format(v, spec)


def print_table(name, desc, sampling, rows, bare_cpu, runs):
    samp = f"-F {sampling[1]}" if sampling[0] == "F" else f"-c {sampling[1]}"
    print(f"\n== {name}: {desc}; {samp}; medians of {runs} round(s)")
    print(f"{'profiler':16} {'samples':>8} {'user%':>6} {'root%':>6} {'leaf%':>6} {'agree%':>7} "
          f"{'B/sample':>9} {'prof CPU s':>10} {'RSS MiB':>8} {'wl CPU s':>9} {'decode s':>9}")
    print(f"{'bare':16} {'':>8} {'':>6} {'':>6} {'':>6} {'':>7} {'':>9} {'':>10} {'':>8} "
          f"{fmt(bare_cpu, '9.2f')} {'':>9}")
    for prof, r in rows.items():
        pct = lambda v: fmt(None if v is None else 100 * v, "6.1f")
        agree = "ref" if prof == REFERENCE else pct(r.get("agreement"))
        print(f"{prof:16} {fmt(r['samples'], '8.0f')} {pct(r['user_share'])} {pct(r['root_share'])} "
              f"{pct(r['leaf_only_share'])} {agree:>7} {fmt(r['bytes_per_sample'], '9.0f')} "
              f"{fmt(r['self_cpu_s'], '10.2f')} {fmt(None if r['self_rss_kib'] is None else r['self_rss_kib'] / 1024, '8.1f')} "
              f"{fmt(r['workload_cpu_s'], '9.2f')} {fmt(r['decode_cpu_s'], '9.2f')}")
    notes = []
    for prof, r in rows.items():
        if prof.startswith("perf") and r.get("root_share_perf_names") is not None:
            notes.append(f"{prof} root% with perf's own names {100 * r['root_share_perf_names']:.1f}")
    if notes:
        print(f"{'':16} " + "; ".join(notes))
    misses = [f"{p} {100 * r['table_miss_share']:.1f}%" for p, r in rows.items()
              if p.startswith("ringprof") and r.get("table_miss_share") is not None]
    if misses:
        print(f"{'':16} ringprof samples whose user walk ended at a table miss: " + ", ".join(misses))
    aborts = [f"{p} {r['perf_build_id_aborts']:.0f}" for p, r in rows.items()
              if r.get("perf_build_id_aborts")]
    if aborts:
        print(f"{'':16} perf runs retried after aborting in its build-id code (median per round): "
              + ", ".join(aborts))
    lost = [f"{p} {r['lost']:.0f}" for p, r in rows.items() if r.get("lost")]
    if lost:
        print(f"{'':16} LOST records (median): " + ", ".join(lost))
    if rows.get(REFERENCE, {}).get("split_half_agreement") is not None:
        print(f"{'':16} control: ringprof dwarf half against half: "
              f"{100 * rows[REFERENCE]['split_half_agreement']:.1f}% agree")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--quick", action="store_true", help="small sizes, 1 round, 3 start-up runs")
    ap.add_argument("--runs", type=int, default=None, help="interleaved rounds (default 3; --quick 1)")
    ap.add_argument("--hz", type=int, default=999)
    ap.add_argument("--programs", default="cc1plus,fork,python,xz,dlopen")
    ap.add_argument("--profilers", default=",".join(PROFILERS))
    ap.add_argument("--fork-iterations", type=int, default=None, help="default 2000; --quick 300")
    ap.add_argument("--fork-period", type=int, default=100000,
                    help="-c for the fork loop (cpu-clock ns; 100000 = 10 kHz)")
    ap.add_argument("--python-rounds", type=int, default=None, help="default 20; --quick 3")
    ap.add_argument("--xz-mib", type=int, default=None, help="default 32; --quick 4")
    ap.add_argument("--dlopen-loops", type=int, default=None, help="default 10000; --quick 1000")
    ap.add_argument("--startup-runs", type=int, default=None, help="default 10; --quick 3")
    ap.add_argument("--system-seconds", type=float, default=5)
    ap.add_argument("--system-runs", type=int, default=None, help="default 3; --quick 1")
    ap.add_argument("--no-control", action="store_true",
                    help="skip the second ringprof dwarf recording (the agreement floor)")
    ap.add_argument("--no-startup", action="store_true")
    ap.add_argument("--no-system", action="store_true")
    ap.add_argument("--json", default=None, help="write all figures here (default real_programs.json "
                                                 "in the temporary directory, which is printed)")
    ap.add_argument("--keep", action="store_true", help="keep recordings and the temporary directory")
    args = ap.parse_args()
    q = args.quick
    pick = lambda v, full, quick: v if v is not None else (quick if q else full)
    args.runs = pick(args.runs, 3, 1)
    args.fork_iterations = pick(args.fork_iterations, 2000, 300)
    args.python_rounds = pick(args.python_rounds, 20, 3)
    args.xz_mib = pick(args.xz_mib, 32, 4)
    args.dlopen_loops = pick(args.dlopen_loops, 10000, 1000)
    args.startup_runs = pick(args.startup_runs, 10, 3)
    args.system_runs = pick(args.system_runs, 3, 1)
    args.programs = [p for p in args.programs.split(",") if p]
    profilers = [p for p in args.profilers.split(",") if p]
    for p in profilers:
        if p not in PROFILERS:
            sys.exit(f"unknown profiler {p!r}; known: {', '.join(PROFILERS)}")
    if not args.no_control and REFERENCE in profilers:
        profilers.append(CONTROL)
    tools = [p for p in profilers if p != CONTROL]  # start-up and system-wide runs
    if os.geteuid() != 0:
        sys.exit("run as root (perf_event_open and BPF for every CPU and process)")
    tmp = tempfile.mkdtemp(prefix="real-programs-")
    runner = Runner(args, tmp)
    programs = make_programs(args, tmp, runner)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"real_programs: {' '.join(sys.argv[1:]) or '(defaults)'}; temporary files in {tmp}")
    print(f"machine: {os.cpu_count()} CPUs, kernel {platform.release()}; load average at start "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    per_run = {name: {p: [] for p in profilers} for name in programs}
    bare = {name: [] for name in programs}
    for rnd in range(args.runs):
        for name, prog in programs.items():
            sampling = prog.get("sampling", ("F", args.hz))
            r = runner.measured(prog["cmd"], preload=False)
            if r["rc"] != 0:
                sys.exit(f"{name} failed by itself: {r['stderr']}")
            bare[name].append(r["total_cpu_s"])
            order = profilers[rnd % len(profilers):] + profilers[:rnd % len(profilers)]
            recs = {}
            for prof in order:
                out = runner.path(prof.replace(" ", "_").replace("-", "") +
                                  (".rpf" if prof.startswith("ringprof") else ".data"))
                r = runner.record(prof, out, sampling, cmd=prog["cmd"])
                if r["rc"] != 0:
                    sys.exit(f"{prof} on {name} failed (exit {r['rc']}):\n{r['stderr']}")
                recs[prof] = (out, r)
                print(f"  round {rnd + 1} {name:8} {prof:15} wall {r['wall_s']:6.2f} s  "
                      f"profiler CPU {fmt(r['self_cpu_s'], '.2f')} s", flush=True)
            stacks = {}
            for prof, (out, r) in recs.items():
                if prof.startswith("ringprof"):
                    samples, summary, dec = runner.ringprof_stacks(out)
                    r["ringprof_summary"] = summary
                else:
                    # perf script aborts in the same build-id code as perf
                    # record (see Runner.record) when samples landed in
                    # another tool's BPF program: record that run again.
                    script_aborts = 0
                    while True:
                        try:
                            samples, summary, dec = runner.perf_stacks(out)
                            break
                        except PerfScriptAborted as e:
                            script_aborts += 1
                            if script_aborts > 3:
                                sys.exit(f"perf script keeps aborting on {prof} {name}: {e}")
                            print(f"    perf script aborted in its build-id code; recording "
                                  f"{prof} {name} again", flush=True)
                            r = runner.record(prof, out, sampling, cmd=prog["cmd"])
                            if r["rc"] != 0:
                                sys.exit(f"{prof} on {name} failed (exit {r['rc']}):\n{r['stderr']}")
                            recs[prof] = (out, r)
                    r["perf_script_aborts"] = script_aborts
                    r["perf_stats"] = runner.perf_stats(out)
                r["decode_cpu_s"] = dec
                stacks[prof] = samples
                if not args.keep:
                    os.unlink(out)
            ref_chains = None
            if REFERENCE in stacks:
                _, ref_chains = stack_figures(stacks[REFERENCE])
            for prof, (out, r) in recs.items():
                fig, _ = stack_figures(stacks[prof], 4, ref_chains)
                r.update(fig)
                if prof.startswith("perf"):
                    own, _ = stack_figures(stacks[prof], 5)
                    r["root_share_perf_names"] = own["root_share"]
                    r["leaf_only_share_perf_names"] = own["leaf_only_share"]
                if prof == REFERENCE:
                    r["split_half_agreement"] = split_half_agreement(stacks[prof])
                    r.pop("agreement", None)
                r["bytes_per_sample"] = r["file_bytes"] / r["samples"] if r["samples"] else None
                if prof.startswith("ringprof"):
                    summ = r["ringprof_summary"]
                    n = summ.get("samples") or 0
                    r["table_miss_share"] = summ.get("raw_stop_table_miss", 0) / n if n else None
                    if summ.get("start_time_ns"):
                        r["setup_s"] = (summ["start_time_ns"] - r["launched_ns"]) / 1e9
                    r["mappings_recorded"] = summ.get("mappings_recorded")
                    r["unmapped_user_frames"] = summ.get("unmapped_user_frames")
                    r["lost"] = summ.get("lost_samples", 0) + summ.get("lost_perf_records", 0)
                else:
                    st = r["perf_stats"]
                    r["mappings_recorded"] = st.get("MMAP2", 0) + st.get("MMAP", 0)
                    r["lost"] = st.get("LOST", 0) + st.get("LOST_SAMPLES", 0)
                comms = {}
                for s in stacks[prof]:
                    comms[s[2]] = comms.get(s[2], 0) + s[0]
                r["samples_by_comm"] = dict(sorted(comms.items(), key=lambda kv: -kv[1])[:10])
                per_run[name][prof].append(r)

    keys = ["samples", "user_share", "root_share", "leaf_only_share", "agreement", "bytes_per_sample",
            "self_cpu_s", "self_rss_kib", "workload_cpu_s", "decode_cpu_s", "wall_s", "file_bytes",
            "stat_cpu_s", "self_user_s", "self_sys_s", "split_half_agreement", "root_share_perf_names",
            "leaf_only_share_perf_names", "table_miss_share", "mappings_recorded",
            "unmapped_user_frames", "lost", "perf_build_id_aborts", "perf_script_aborts", "setup_s"]
    result = {"started": started, "argv": sys.argv, "machine": {
        "cpus": os.cpu_count(), "kernel": platform.release(), "perf": subprocess.run(
            [runner.perf, "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()},
        "root_names": sorted(ROOT_NAMES), "programs": {}}
    for name, prog in programs.items():
        sampling = prog.get("sampling", ("F", args.hz))
        rows = {}
        for prof in profilers:
            runs = per_run[name][prof]
            rows[prof] = {k: median([r.get(k) for r in runs]) for k in keys}
        print_table(name, prog["desc"], sampling, rows, median(bare[name]), args.runs)
        result["programs"][name] = {"command": prog["cmd"], "sampling": list(sampling),
                                    "bare_cpu_s": bare[name], "medians": rows,
                                    "runs": per_run[name]}

    if not args.no_startup:
        print(f"\n== start-up: record -- /bin/true; medians of {args.startup_runs} runs")
        print(f"{'profiler':16} {'prof CPU s':>10} {'RSS MiB':>8} {'file KiB':>9} {'wall s':>7}")
        startup = {p: [] for p in tools}
        for i in range(args.startup_runs):
            for prof in tools:
                out = runner.path("startup")
                r = runner.record(prof, out, ("F", args.hz), cmd=["/bin/true"])
                if r["rc"] != 0:
                    sys.exit(f"{prof} on /bin/true failed: {r['stderr']}")
                os.unlink(out)
                startup[prof].append(r)
        result["startup"] = {}
        for prof in tools:
            m = {k: median([r.get(k) for r in startup[prof]])
                 for k in ("self_cpu_s", "self_user_s", "self_sys_s", "self_rss_kib", "file_bytes", "wall_s", "stat_cpu_s")}
            result["startup"][prof] = {"medians": m, "runs": startup[prof]}
            print(f"{prof:16} {fmt(m['self_cpu_s'], '10.3f')} "
                  f"{fmt(None if m['self_rss_kib'] is None else m['self_rss_kib'] / 1024, '8.1f')} "
                  f"{m['file_bytes'] / 1024:9.0f} {m['wall_s']:7.2f}")

    if not args.no_system:
        secs = args.system_seconds
        print(f"\n== system-wide: -a -F 99, {secs:g} s, two busy processes "
              f"(workload_chain_ehframe); medians of {args.system_runs} runs")
        print(f"{'profiler':16} {'samples':>8} {'rec s':>6} {'wall s':>7} {'setup s':>7} {'prof CPU s':>10} "
              f"{'RSS MiB':>8} {'file KiB':>9} {'B/sample':>9}")
        system = {p: [] for p in tools}
        for i in range(args.system_runs):
            for prof in tools:
                spin = [subprocess.Popen([runner.spinner, "1000"]) for _ in range(2)]
                time.sleep(0.2)
                out = runner.path("system")
                try:
                    r = runner.record(prof, out, ("F", 99), system=secs)
                finally:
                    for s in spin:
                        s.kill()
                        s.wait()
                if r["rc"] != 0:
                    sys.exit(f"{prof} -a failed: {r['stderr']}")
                if prof.startswith("ringprof"):
                    _, summary, _ = runner.ringprof_stacks(out)
                    r["samples"] = summary.get("samples")
                    r["recorded_s"] = summary.get("duration_ns", 0) / 1e9
                    r["ringprof_summary"] = summary
                    if summary.get("start_time_ns"):
                        r["setup_s"] = (summary["start_time_ns"] - r["launched_ns"]) / 1e9
                else:
                    r["samples"] = runner.perf_stats(out).get("SAMPLE")
                    r["recorded_s"] = secs  # perf record -a -- sleep SECS
                os.unlink(out)
                system[prof].append(r)
        result["system"] = {}
        for prof in tools:
            m = {k: median([r.get(k) for r in system[prof]])
                 for k in ("samples", "self_cpu_s", "self_user_s", "self_sys_s", "self_rss_kib",
                           "file_bytes", "stat_cpu_s", "wall_s", "recorded_s", "setup_s")}
            result["system"][prof] = {"medians": m, "runs": system[prof]}
            bps = m["file_bytes"] / m["samples"] if m["samples"] else None
            print(f"{prof:16} {fmt(m['samples'], '8.0f')} {fmt(m['recorded_s'], '6.2f')} "
                  f"{fmt(m['wall_s'], '7.2f')} {fmt(m['setup_s'], '7.2f')} {fmt(m['self_cpu_s'], '10.3f')} "
                  f"{fmt(None if m['self_rss_kib'] is None else m['self_rss_kib'] / 1024, '8.1f')} "
                  f"{m['file_bytes'] / 1024:9.0f} {fmt(bps, '9.0f')}")

    result["load_average_end"] = os.getloadavg()
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    json_path = args.json or os.path.join(tmp, "real_programs.json")
    with open(json_path, "w") as f:
        json.dump(result, f, indent=1)
    print(f"JSON: {json_path}")
    if not args.keep and args.json:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
