#!/usr/bin/env bash
# Renders a flame graph SVG to a PNG with headless Chromium, for docs/.
#
#   scripts/screenshot-flamegraph.sh GRAPH.svg OUT.png [WIDTH HEIGHT]
#
# WIDTH x HEIGHT is the browser window (default 1220 x 700: a 1200-pixel
# graph plus margins). Chromium runs offline: no network, sync, component
# updates or first-run work, with a throwaway profile directory that is
# removed on exit. CHROMIUM overrides the browser (default: chromium).
set -euo pipefail

if [[ $# -ne 2 && $# -ne 4 ]]; then
  echo "usage: $0 GRAPH.svg OUT.png [WIDTH HEIGHT]" >&2
  exit 2
fi
svg=$1
out=$2
width=${3:-1220}
height=${4:-700}
browser=${CHROMIUM:-chromium}

if [[ ! -r $svg ]]; then
  echo "$0: cannot read $svg; pass an SVG made by 'ringprof flamegraph' or 'ringprof diff'" >&2
  exit 1
fi
if ! command -v "$browser" >/dev/null 2>&1; then
  echo "$0: $browser not found; install chromium or set CHROMIUM" >&2
  exit 1
fi
if command -v xmllint >/dev/null 2>&1 && ! xmllint --noout "$svg"; then
  echo "$0: $svg is not well-formed XML; not rendering it" >&2
  exit 1
fi

svg_abs=$(realpath "$svg")
out_abs=$(realpath -m "$out")
profile_dir=$(mktemp -d)
trap 'rm -rf "$profile_dir"' EXIT
rm -f "$out_abs"

# Chromium writes progress lines to stderr; keep them for failures only.
if ! timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile_dir" --window-size="$width,$height" \
  --screenshot="$out_abs" "file://$svg_abs" >"$profile_dir/log" 2>&1; then
  cat "$profile_dir/log" >&2
  echo "$0: $browser failed to render $svg" >&2
  exit 1
fi
if [[ ! -s $out_abs ]]; then
  cat "$profile_dir/log" >&2
  echo "$0: $browser wrote no screenshot to $out" >&2
  exit 1
fi
echo "$out: ${width}x${height} screenshot of $svg"
