#!/usr/bin/env bash
# Runs clang-tidy (checks: .clang-tidy) over ringprof's own sources and the
# headers they include, and fails on any finding.
#
#   scripts/tidy.sh [-p BUILD_DIR] [-j N] [--tests] [FILE...]
#
# BUILD_DIR (default: build) must hold a finished build: clang-tidy reads its
# compile_commands.json and needs the headers the build generates (the BPF
# skeleton, profile.pb.h). scripts/build.sh makes one. Without FILEs, every
# .cc of base collector unwind symbolizer formats report cli in the
# compilation database is checked; --tests adds tests/ and bench/. Headers
# are checked through the sources that include them. -j N runs N clang-tidy
# processes at once (default: nproc). CLANG_TIDY overrides the binary
# (default: clang-tidy-14, else clang-tidy).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

build=build
jobs=$(nproc)
dirs=(base collector unwind symbolizer formats report cli)
files=()
while [ $# -gt 0 ]; do
  case "$1" in
    -p) build=${2:?-p needs a build directory}; shift ;;
    -j) jobs=${2:?-j needs a number}; shift ;;
    -j*) jobs=${1#-j} ;;
    --tests) dirs+=(tests bench) ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2 ;;
    -*) echo "tidy: unknown option: $1" >&2; exit 2 ;;
    *) files+=("$1") ;;
  esac
  shift
done

tidy=${CLANG_TIDY:-}
if [ -z "$tidy" ]; then
  tidy=$(command -v clang-tidy-14 || command -v clang-tidy || true)
fi
[ -n "$tidy" ] || { echo "tidy: clang-tidy not installed (apt-get install clang-tidy)" >&2; exit 1; }
db=$build/compile_commands.json
if [ ! -f "$db" ]; then
  echo "tidy: no $db; build first (bash scripts/build.sh), or pass -p BUILD_DIR" >&2
  exit 1
fi

if [ ${#files[@]} -eq 0 ]; then
  # Every translation unit of ours in the database, once (a file may be
  # compiled into several targets).
  dir_re=$(IFS='|'; echo "${dirs[*]}")
  mapfile -t files < <(python3 -c '
import json, os, re, sys
root, db, dir_re = sys.argv[1:4]
seen = set()
for e in json.load(open(db)):
    f = os.path.normpath(os.path.join(e["directory"], e["file"]))
    rel = os.path.relpath(f, root)
    if re.match(r"(%s)/" % dir_re, rel) and rel.endswith(".cc") and rel not in seen:
        seen.add(rel)
        print(rel)
' "$root" "$db" "$dir_re" | sort)
fi
if [ ${#files[@]} -eq 0 ]; then
  echo "tidy: nothing to check"
  exit 0
fi

# Diagnostics in our headers count too; the build's generated headers and
# system headers do not. Paths in the database are absolute.
header_filter="^$(printf '%s' "$root" | sed 's/[.[\*^$()+?{|]/\\&/g')/($(IFS='|'; echo "${dirs[*]}"))/"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
start=$SECONDS
# One clang-tidy per file, N at a time; each writes its own log, so output
# from parallel runs is not interleaved.
printf '%s\n' "${files[@]}" | nl -ba -w1 -s' ' |
  xargs -P "$jobs" -L 1 sh -c '
    "$1" -p "$2" --quiet --warnings-as-errors="*" --header-filter="$3" "$6" \
      >"$4/$5.log" 2>&1 || echo "$6" >"$4/$5.fail"' \
    _ "$tidy" "$build" "$header_filter" "$out" || true
t=$((SECONDS - start))

mapfile -t failed < <(cat "$out"/*.fail 2>/dev/null | sort)
if [ ${#failed[@]} -gt 0 ]; then
  for n in $(ls "$out" | sed -n 's/\.fail$//p' | sort -n); do
    echo "=== clang-tidy $(cat "$out/$n.fail")"
    # Drop clang-tidy's "N warnings generated" / "Suppressed ..." chatter.
    grep -vE '^[0-9]+ (warning|error)s? (and [0-9]+ (warning|error)s? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter|^Error while processing' \
      "$out/$n.log" || true
  done
  echo "tidy: findings in ${#failed[@]} of ${#files[@]} files (${t}s): ${failed[*]}"
  exit 1
fi
echo "tidy: ${#files[@]} files clean (${t}s, -j $jobs)"
