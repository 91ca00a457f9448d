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
#   3. with --call-graph, also samples a run of a build with frame pointers (built once into
#      target/frame-pointers) with call stacks, and splits the samples by the stage whose code
#      is on the stack (the parse workers, the producer that maps, hashes or decompresses the
#      input, the record merge, the accesses, the aggregation, the output) and, inside each,
#      by what the CPU was doing, counting a function with everything it called: page faults
#      wherever they happen (in a copy, an allocation, the first read of a mapped page),
#      simd-json, interning, the rest of the normalization, framing, the allocator, sorting.
#      The flat shares above count a page fault in the kernel and an allocation's cost in the
#      allocator, wherever they came from; this says which stage paid for them.
# See: README.md, "Performance" ("Where the time goes").
#
# Usage: benches/profile.sh [--size 2GB] [--seed 1] [--runs 2] [--threads N] [--file FILE]
#                           [--call-graph]
set -euo pipefail

cd "$(dirname "$0")/.."
CALL_GRAPH=0
args=()
for a in "$@"; do
  case "$a" in
    --call-graph) CALL_GRAPH=1 ;;
    *) args+=("$a") ;;
  esac
done
set -- ${args[@]+"${args[@]}"}
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
  # Read again before each run: this machine's page cache does not keep the file for sure.
  cat "$FILE" > /dev/null
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
cat "$FILE" > /dev/null
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

if [ "$CALL_GRAPH" = 0 ]; then
  exit 0
fi

FP_BIN=target/frame-pointers/release/mailscope
log "building with frame pointers (target/frame-pointers)"
RUSTFLAGS="-C force-frame-pointers=yes" CARGO_TARGET_DIR=target/frame-pointers \
  cargo build --release >&2
cat "$FILE" > /dev/null
log "sampling one run with call stacks"
perf record -q -F 999 --call-graph=fp -o "$WORK/perf-fp.data" \
  "$FP_BIN" contexts -q --threads "$THREADS" --format csv "$FILE" > /dev/null 2> "$WORK/perf.err"
perf script -i "$WORK/perf-fp.data" -F tid,time,ip,sym 2> /dev/null > "$WORK/stacks"

echo
python3 - "$WORK/stacks" <<'PY'
import re, sys
from collections import Counter, defaultdict

# The stage: the first of these found on the stack from its root up (the outermost).
STAGES = [
    ("parse workers (framing, parsing, normalizing)", r"mailscope::ingest::Worker::"),
    ("producer (mapping, SHA-256, decompression)", r"mailscope::ingest::Producer::"),
    ("merge and de-duplicate records", r"mailscope::ingest::(dedup|merge)"),
    ("accesses and the one-hour rule", r"mailscope::analyze::access::"),
    ("aggregation and rows", r"mailscope::analyze::contexts::|mailscope::cmd::contexts::run::"),
    ("output", r"mailscope::output::"),
]
# What the CPU was doing: page faults when one is on the stack; otherwise the first of these
# found from the sampled function down to the root.
WHAT = [
    ("kernel, other", r"^\[k\]"),
    ("allocator", r"^mi_|^_mi_|mimalloc"),
    ("simd-json", r"simd_json::"),
    ("SHA-256", r"sha2::"),
    ("interning", r"mailscope::sym::"),
    ("sorting", r"slice::sort|sort::"),
    ("normalization", r"mailscope::parse::|mailscope::model::"),
    ("framing and reading", r"mailscope::input::|mailscope::ingest::|memchr::"),
]

samples = []  # (time, frames from the sampled function down to the root)
for line in open(sys.argv[1], errors="replace"):
    line = line.rstrip("\n")
    head = re.match(r"^\s*\d+\s+([0-9.]+):", line)
    if head:
        samples.append((float(head.group(1)), []))
        continue
    m = re.match(r"\s+([0-9a-f]+)\s+(.*)$", line)
    if m and samples:
        # Kernel addresses are the top half of the address space.
        kernel = len(m.group(1)) == 16 and m.group(1).startswith("ffff")
        samples[-1][1].append(("[k] " if kernel else "") + m.group(2))
samples.sort(key=lambda s: s[0])

UNNAMED = "other (start-up, and samples too near a change of stage to place)"
stages = []
for _, st in samples:
    stages.append(next((n for f in reversed(st) for n, pat in STAGES if re.search(pat, f)), None))
# A job stolen by another thread (a part of a parallel loop or sort) often has no function of
# its stage on its stack: it gets the stage of the nearest sample in time that has one, when
# both samples that bracket it agree (the stages run one after another).
known = [i for i, st in enumerate(stages) if st]
placed = list(stages)
k = 0
for i, st in enumerate(stages):
    if st:
        continue
    while k < len(known) and known[k] < i:
        k += 1
    before = stages[known[k - 1]] if k > 0 else None
    after = stages[known[k]] if k < len(known) else None
    placed[i] = before if before == after and before else UNNAMED

total = len(samples)
stage_n = Counter()
what_n = defaultdict(Counter)
for (_, st), stage in zip(samples, placed):
    if any(re.search(r"exc_page_fault", f) for f in st):
        what = "page faults"
    else:
        what = next((n for f in st for n, pat in WHAT if re.search(pat, f)), "other")
    stage_n[stage] += 1
    what_n[stage][what] += 1

print(f"## Share of CPU samples by stage, with what each spent them on ({total} samples, call stacks)")
print()
print("| stage | share | of which (share of all samples) |")
print("|---|---:|---|")
order = [n for n, _ in STAGES] + [UNNAMED]
for stage in order:
    n = stage_n.get(stage, 0)
    if not n:
        continue
    parts = ", ".join(f"{w} {100 * c / total:.1f}%" for w, c in what_n[stage].most_common(6))
    print(f"| {stage} | {100 * n / total:.1f}% | {parts} |")
faults = sum(c for st in what_n.values() for w, c in st.items() if w == "page faults")
print()
print(f"Page faults in all stages: {100 * faults / total:.1f}% of the samples.")
PY
