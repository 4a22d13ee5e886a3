#!/usr/bin/env python3
"""Fault injection through the ringprof command line.

Takes a whole recording, makes N seeded mutations of its bytes (remove,
duplicate or swap whole chunks, truncate, flip bytes, insert junk), and runs
each mutated file through `ringprof report`, `flamegraph`, `pprof` and
`diff` (against the intact file), each under a time limit. A run passes
when the command did not crash (no signal), did not hang (the limit), and
either refused the file at its header with one line (exit 1) or read it and
said it is damaged (the "recording is damaged" warning). Prints the counts
per mutation kind and command; exits 1 if any run failed.

The library-level mutation test (tests/formats/mutation_test.cc) covers the
same ground in-process; this one catches what only a process shows: a
crash in the CLI, a hang, an exit status, an unwritten output.

  scripts/mutation_run.py --ringprof build/ringprof --recording FILE -n 500
  scripts/mutation_run.py --ringprof build/ringprof --record build/workloads/workload_chain
"""
import argparse
import os
import random
import struct
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict

FILE_HEADER = 24
CHUNK_HEADER_V2 = 24
MARKER = b"RPCK"


def chunks(data):
    """(offset, length) of each chunk of a whole version 2 recording."""
    version = struct.unpack_from("<I", data, 8)[0]
    if version != 2:
        sys.exit(f"mutation_run: the recording is format version {version}; give a version 2 file")
    header_size = struct.unpack_from("<I", data, 12)[0]
    out = []
    pos = header_size
    while pos + CHUNK_HEADER_V2 <= len(data):
        if data[pos:pos + 4] != MARKER:
            sys.exit(f"mutation_run: no chunk at offset {pos}; give an intact recording")
        size = struct.unpack_from("<I", data, pos + 12)[0]
        end = pos + CHUNK_HEADER_V2 + size
        if end > len(data):
            sys.exit(f"mutation_run: chunk at {pos} runs past the end; give an intact recording")
        out.append((pos, end - pos))
        pos = end
    if pos != len(data):
        sys.exit(f"mutation_run: {len(data) - pos} trailing bytes; give an intact recording")
    return out


def mutate(data, spans, kind, rng):
    """One mutation of `kind`; returns bytes different from `data`."""
    pieces = [data[o:o + n] for o, n in spans]
    head = data[:spans[0][0]]
    if kind == "remove":
        i = rng.randrange(len(pieces))
        del pieces[i]
    elif kind == "duplicate":
        i = rng.randrange(len(pieces))
        pieces.insert(rng.randrange(len(pieces) + 1), pieces[i])
    elif kind == "swap":
        i, j = rng.sample(range(len(pieces)), 2)
        if pieces[i] == pieces[j]:
            return None
        pieces[i], pieces[j] = pieces[j], pieces[i]
    elif kind == "truncate":
        return data[:rng.randrange(1, len(data))]
    elif kind == "flip":
        out = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            k = rng.randrange(len(out))
            out[k] ^= rng.randint(1, 255)
        return bytes(out)
    elif kind == "junk":
        k = rng.randrange(len(data) + 1)
        return data[:k] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))) + data[k:]
    out = head + b"".join(pieces)
    return out if out != data else None


def run(cmd, limit):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=limit)
    except subprocess.TimeoutExpired:
        return "hang", ""
    err = p.stderr.decode(errors="replace")
    if p.returncode < 0:
        return f"signal {-p.returncode}", err
    return p.returncode, err


def verdict(status, err, what):
    """'refused', 'damage reported', or a failure description."""
    if isinstance(status, str):
        return f"FAIL {what}: {status}"
    if status == 1 and err.count("\n") == 1 and (
            "not a ringprof recording" in err or "unsupported" in err or "cannot read" in err):
        return "refused"
    if status == 0 and "recording is damaged" in err:
        return "damage reported"
    return f"FAIL {what}: exit {status}, stderr: {err.strip()[:300]}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ringprof", required=True)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--recording", help="a whole version 2 recording to mutate")
    src.add_argument("--record", help="record this command (and its arguments) first, as root")
    ap.add_argument("-n", type=int, default=500, help="mutations (default 500)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=float, default=60, help="seconds per command before 'hang'")
    ap.add_argument("--commands", default="report,flamegraph,pprof,diff")
    args, rest = ap.parse_known_args()
    rng = random.Random(args.seed)
    commands = args.commands.split(",")
    with tempfile.TemporaryDirectory(prefix="ringprof-mutation-") as tmp:
        base = args.recording
        if args.record and os.geteuid() != 0:
            print("mutation_run: skipped: recording the base file needs root (CAP_BPF, CAP_PERFMON)")
            return 77
        if args.record:
            base = os.path.join(tmp, "base.rpf")
            r = subprocess.run([args.ringprof, "record", "-q", "-o", base, "--", args.record] + rest)
            if r.returncode != 0:
                sys.exit("mutation_run: recording the base file failed")
        data = open(base, "rb").read()
        spans = chunks(data)
        kinds = ["remove", "duplicate", "swap", "truncate", "flip", "junk"]
        table = defaultdict(Counter)
        failures = []
        made = 0
        while made < args.n:
            kind = kinds[made % len(kinds)]
            mutated = mutate(data, spans, kind, rng)
            if mutated is None:
                continue
            made += 1
            path = os.path.join(tmp, "m.rpf")
            with open(path, "wb") as f:
                f.write(mutated)
            for c in commands:
                if c == "report":
                    cmd = [args.ringprof, "report", path]
                elif c == "flamegraph":
                    cmd = [args.ringprof, "flamegraph", path, "-o", os.path.join(tmp, "m.svg")]
                elif c == "pprof":
                    cmd = [args.ringprof, "pprof", path, "-o", os.path.join(tmp, "m.pb.gz")]
                elif c == "diff":
                    cmd = [args.ringprof, "diff", base, path, "-o", os.path.join(tmp, "d.svg")]
                else:
                    sys.exit(f"mutation_run: unknown command {c}")
                status, err = run(cmd, args.limit)
                v = verdict(status, err, f"{c} after {kind} #{made}")
                if v.startswith("FAIL"):
                    failures.append(v)
                    keep = os.path.join(os.getcwd(), f"mutation-fail-{made}.rpf")
                    with open(keep, "wb") as f:
                        f.write(mutated)
                    v = "failed"
                table[(kind, c)][v] += 1
        print(f"mutation_run: {made} mutations of {base} ({len(data)} bytes, {len(spans)} chunks), "
              f"seed {args.seed}, {len(commands)} commands each")
        print(f"{'mutation':10} {'command':11} {'runs':>5} {'refused':>8} {'damage':>7} {'failed':>7}")
        for kind in kinds:
            for c in commands:
                t = table[(kind, c)]
                print(f"{kind:10} {c:11} {sum(t.values()):5} {t['refused']:8} "
                      f"{t['damage reported']:7} {t['failed']:7}")
        for f in failures[:20]:
            print(f)
        total = sum(sum(t.values()) for t in table.values())
        print(f"mutation_run: {total} runs, {total - len(failures)} as promised, {len(failures)} not")
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
