#!/usr/bin/env bash
# profile.sh: where `mailscope contexts` spends its time, on a generated export.
#
# Generates (or reuses) the seeded export that compare.sh uses (bench-data/ual-SIZE-seedN.ndjson),
# puts it in the page cache, then:
#   1. runs `MAILSCOPE_TIMINGS=1 mailscope contexts` RUNS times and prints each phase's wall
#      time, CPU time and resident memory (the run with the smallest total wall time);
#   2. samples one more run with `perf record` (no call graphs: the release build keeps no
#      frame pointers) and prints the share of CPU samples per part of the pipeline: simd-json,
#      interning, the rest of the normalization into records, record and access
#      de-duplication and aggregation, sorting, output, libc copies, the kernel (page faults of
#      fresh memory and of the mapped file), other.
# Functions inlined into others count where they were inlined. Shares are of CPU time, not of
# wall time: phases that leave a core idle weigh less here than in the timings.
# See: README.md, "Performance" ("Where the time goes").
#
# Usage: benches/profile.sh [--size 2GB] [--seed 1] [--runs 2] [--threads N] [--file FILE]
set -euo pipefail

cd "$(dirname "$0")/.."
. benches/args.sh

. benches/common.sh
need perf linux-perf

if [ -z "$FILE" ]; then
  FILE="$DATA/ual-$SIZE-seed$SEED.ndjson"
  generated "$FILE" "$SIZE" "$SEED"
fi
cat "$FILE" > /dev/null

echo "## Phases of \`mailscope contexts\` ($(stat -c %s "$FILE") bytes, $THREADS threads, best of $RUNS)"
echo
best=""
for i in $(seq 1 "$RUNS"); do
  MAILSCOPE_TIMINGS=1 "$BIN" contexts -q --threads "$THREADS" --format csv "$FILE" \
    2> "$WORK/timings.$i" > /dev/null
  total=$(awk -F'[:,]' '/^timing:/ { sub(/ s$/, "", $3); s += $3 } END { print s }' "$WORK/timings.$i")
  if [ -z "$best" ] || awk -v a="$total" -v b="$best" 'BEGIN { exit !(a < b) }'; then
    best=$total
    cp "$WORK/timings.$i" "$WORK/timings"
  fi
done
echo "| phase | wall s | CPU s | resident MB at its end |"
echo "|---|---:|---:|---:|"
sed -n 's/^timing: \([^:]*\): \([0-9.]*\) s, CPU \([0-9.]*\) s, resident \([0-9]*\) MB.*/| \1 | \2 | \3 | \4 |/p' \
  "$WORK/timings"
echo "| total | $best | | |"
echo

log "sampling one run with perf"
perf record -q -F 999 -o "$WORK/perf.data" \
  "$BIN" contexts -q --threads "$THREADS" --format csv "$FILE" > /dev/null 2> "$WORK/perf.err"
perf report -i "$WORK/perf.data" --no-children --stdio --sort dso,symbol 2> /dev/null \
  > "$WORK/report"

python3 - "$WORK/report" <<'PY'
import re, sys

# First matching part wins.
PARTS = [
    ("simd-json (tape, structural scan, strings, numbers)", r"simd_json::"),
    ("interning (`sym::`, thread-local tables)", r"mailscope::sym::|LocalKey<T>::with"),
    ("normalization into records (`parse::`)", r"mailscope::parse::|mailscope::model::"),
    ("framing, reading, decoding (`input::`, `ingest::`, memchr, zstd)", r"mailscope::input::|mailscope::ingest::|memchr::|zstd|ZSTD"),
    ("de-duplication and aggregation (`analyze::`, `distinct`, `flat`)", r"mailscope::analyze::|mailscope::distinct::|mailscope::flat::|hashbrown::|ahash::"),
    ("sorting", r"slice::sort|sort::"),
    ("output (`output::`, `report::`)", r"mailscope::output::|mailscope::report::"),
    ("libc (copies, compares, allocation)", r"^libc|\blibc\.so"),
    ("allocator (mimalloc)", r"mi_|mimalloc"),
    ("kernel (page faults: zeroing fresh memory, mapping the file)", r"\[kernel"),
]
shares = {name: 0.0 for name, _ in PARTS}
other = 0.0
top = []
for line in open(sys.argv[1]):
    m = re.match(r"\s+([0-9.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*?)\s*$", line)
    if not m:
        continue
    pct, dso = float(m.group(1)), m.group(2)
    sym = re.sub(r"\s+-(\s+-)*$", "", m.group(3))
    text = dso + " " + sym
    top.append((pct, sym))
    for name, pat in PARTS:
        if re.search(pat, text):
            shares[name] += pct
            break
    else:
        other += pct
print("## Share of CPU samples (perf, one run)")
print()
print("| part | share |")
print("|---|---:|")
for name, _ in PARTS:
    print(f"| {name} | {shares[name]:.1f}% |")
print(f"| other (rayon, std, closures inlined elsewhere) | {other:.1f}% |")
print()
print("Top functions:")
print()
for pct, sym in sorted(top, reverse=True)[:12]:
    print(f"- {pct:.2f}% {sym[:110]}")
PY
