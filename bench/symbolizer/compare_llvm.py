#!/usr/bin/env python3
"""Times `ringprof addr2line -f -i -C` against `llvm-symbolizer --inlining`
on the same random .text addresses of one binary, and measures how often
their function names agree (innermost frame and whole inline chain, after
dropping " [clone .xxx]" suffixes).

Usage:
  compare_llvm.py --ringprof "build/ringprof addr2line" --binary BIN \
      [--count 20000] [--seed 1] [--runs 5] [--show 10]
"""
import argparse
import random
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

# gcc clone suffixes as c++filt writes them (" [clone .cold]") and as the
# LLVM 14 demangler writes them (" (.cold)").
CLONE = re.compile(r"( \[clone [^\]]*\]| \(\.[A-Za-z0-9_.]+\))+$")


def text_range(binary):
    out = subprocess.run(["readelf", "-SW", binary], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        fields = line.replace("[ ", "[").split()
        if len(fields) > 5 and fields[1] == ".text":
            return int(fields[3], 16), int(fields[5], 16)
    sys.exit(f"no .text section in {binary}")


def timed(cmd, stdin_path, runs):
    times = []
    for _ in range(runs):
        with open(stdin_path, "rb") as f:
            start = time.perf_counter()
            subprocess.run(cmd, stdin=f, stdout=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - start)
    return statistics.median(times), times


# Demangler spelling differences between libstdc++ (__cxa_demangle, c++filt)
# and LLVM 14: "operator<< <T>" vs "operator<<<T>", "{lambda()#1}" vs
# "'lambda'()". Names are compared with these folded.
LAMBDA_GNU = re.compile(r"\{lambda\(([^{}]*)\)#\d+\}")
LAMBDA_LLVM = re.compile(r"'lambda\d*'\(")


def norm(name):
    name = CLONE.sub("", name.strip())
    name = LAMBDA_GNU.sub(r"lambda(\1)", name)
    name = LAMBDA_LLVM.sub("lambda(", name)
    return name.replace(" ", "")


def parse_ringprof(text, count):
    """Output of -a -f -i -C: an address line, then (function, file:line) pairs."""
    chains, cur = [], None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if re.fullmatch(r"0x[0-9a-f]{16}", line):
            cur = []
            chains.append(cur)
            i += 1
            continue
        cur.append(norm(line))
        i += 2  # skip the file:line line
    if len(chains) != count:
        sys.exit(f"ringprof printed {len(chains)} results for {count} addresses")
    return chains


def demangle_leftovers(chains):
    """llvm-symbolizer 14 leaves some names mangled; demangle them with c++filt."""
    mangled = sorted({n for c in chains for n in c if n.startswith("_Z")})
    if not mangled:
        return chains
    out = subprocess.run(["c++filt"], input="\n".join(mangled) + "\n", capture_output=True,
                         text=True, check=True).stdout.splitlines()
    fixed = {m: norm(d) for m, d in zip(mangled, out)}
    return [[fixed.get(n, n) for n in c] for c in chains]


def short(chain):
    return [n if len(n) <= 90 else n[:60] + "..." + n[-27:] for n in chain]


def parse_llvm(text, count):
    chains = []
    for block in text.split("\n\n"):
        lines = [l for l in block.splitlines() if l != ""]
        if not lines:
            continue
        chains.append([norm(lines[j]) for j in range(0, len(lines), 2)])
    if len(chains) != count:
        sys.exit(f"llvm-symbolizer printed {len(chains)} results for {count} addresses")
    return chains


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ringprof", required=True,
                    help='command prefix, e.g. "build/ringprof addr2line"')
    ap.add_argument("--binary", required=True)
    ap.add_argument("--llvm", default="llvm-symbolizer")
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--show", type=int, default=10, help="mismatches to print")
    args = ap.parse_args()

    start, size = text_range(args.binary)
    rng = random.Random(args.seed)
    addrs = [start + rng.randrange(size) for _ in range(args.count)]
    with tempfile.NamedTemporaryFile("w", suffix=".addrs", delete=False) as f:
        f.write("".join(f"0x{a:x}\n" for a in addrs))
        addr_path = f.name

    rp = shlex.split(args.ringprof)
    rp_cmd = rp + ["-f", "-i", "-C", "-e", args.binary]
    llvm_cmd = [args.llvm, "--inlining", f"--obj={args.binary}"]
    print(f"binary {args.binary}: .text 0x{start:x}+0x{size:x}, {args.count} addresses, seed {args.seed}")
    print(f"ringprof: {' '.join(rp_cmd)} < addrs")
    print(f"llvm:     {' '.join(llvm_cmd)} < addrs")

    # Interleave so both see the same machine state.
    rp_times, llvm_times = [], []
    for _ in range(args.runs):
        rp_times += timed(rp_cmd, addr_path, 1)[1]
        llvm_times += timed(llvm_cmd, addr_path, 1)[1]
    rp_med, llvm_med = statistics.median(rp_times), statistics.median(llvm_times)
    print(f"ringprof median {rp_med:.3f} s  (runs: {', '.join(f'{t:.3f}' for t in rp_times)})")
    print(f"llvm     median {llvm_med:.3f} s  (runs: {', '.join(f'{t:.3f}' for t in llvm_times)})")
    print(f"ratio ringprof/llvm = {rp_med / llvm_med:.2f}")

    # Two agreement measures: (a) the demangled output of each tool, with
    # spelling differences folded; (b) both tools without demangling, then
    # every name through the same c++filt, which takes the two demanglers'
    # disagreements (inheriting constructors, lambdas in templates) out.
    results = {}
    for mode, rp_flags, llvm_flags in (("printed", ["-C"], []),
                                       ("c++filt", [], ["--no-demangle"])):
        with open(addr_path) as f:
            rp_out = subprocess.run(rp + ["-a", "-f", "-i"] + rp_flags + ["-e", args.binary],
                                    stdin=f, capture_output=True, text=True, check=True).stdout
        with open(addr_path) as f:
            llvm_out = subprocess.run(llvm_cmd + llvm_flags, stdin=f, capture_output=True,
                                      text=True, check=True).stdout
        ours = demangle_leftovers(parse_ringprof(rp_out, args.count))
        theirs = demangle_leftovers(parse_llvm(llvm_out, args.count))
        inner = sum(1 for a, b in zip(ours, theirs) if a[0] == b[0])
        chain = sum(1 for a, b in zip(ours, theirs) if a == b)
        results[mode] = (inner, chain)
        print(f"[{mode}] innermost function agreement: {100.0 * inner / args.count:.2f}%  "
              f"whole inline chain agreement: {100.0 * chain / args.count:.2f}%")
        shown = 0
        for addr, a, b in zip(addrs, ours, theirs):
            if a != b and shown < args.show:
                shown += 1
                print(f"  0x{addr:x}\n    ringprof: {short(a)}\n    llvm:     {short(b)}")
    inner, chain = results["c++filt"]
    ok = inner >= 0.99 * args.count and chain >= 0.98 * args.count
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
