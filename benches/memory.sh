#!/usr/bin/env bash
# memory.sh: peak memory of mailscope on zstd and standard-input sources at two or more input
# sizes, and what it grows by per unique record and per de-duplicated access.
#
# For each size, generates (or reuses) the seeded export as one zstd frame
# (bench-data/ual-SIZE-seedN.ndjson.zst, the file compare.sh --zst writes), then runs, each
# under /usr/bin/time and RUNS times (the smallest peak RSS is kept):
#   mailscope stats FILE.zst            (inventory: records without folders or message ids)
#   mailscope throttled FILE.zst        (the same reading; throttled records kept whole)
#   mailscope syncs FILE.zst            (no message ids kept; sync records kept whole)
#   mailscope contexts FILE.zst         (every record with its folders and messages)
#   zstd -dc FILE.zst | mailscope contexts -   (the same from standard input)
# A .zst or standard-input source is decoded into a bounded set of recycled buffers, so no
# mapped file counts in these figures: what they show is mailscope's own memory. The counts
# come from the outputs themselves: unique records from `stats --format json`, listed
# messages and accesses after the one-hour rule from the contexts CSV (sums of accesses_raw
# and accesses). Between consecutive sizes it prints the slope: extra peak bytes per extra
# unique record, and (contexts) per extra de-duplicated access.
# See: README.md, "Memory".
#
# Usage: benches/memory.sh [--sizes "500MB 2GB"] [--seed 1] [--runs 2] [--threads N]
set -euo pipefail

cd "$(dirname "$0")/.."
SIZES="500MB 2GB"
SEED=1
RUNS=2
THREADS=$(nproc)
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) SIZES=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/p}' "benches/$(basename "$0")"; exit 0 ;;
    *) echo "memory.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

. benches/common.sh
need /usr/bin/time time
need zstd zstd

# peak KB of a command (smallest of RUNS); the command's stdout goes to $WORK/out
peak() {
  local best="" i kb
  for i in $(seq 1 "$RUNS"); do
    /usr/bin/time -f %M -o "$WORK/rss" bash -c "$1" > "$WORK/out" 2> "$WORK/err" || {
      # exit 3: something was skipped; still a measurement
      [ "$?" = 3 ] || { log "failed: $1: $(tail -n 3 "$WORK/err" | tr '\n' ' ')"; exit 1; }
    }
    kb=$(tail -n 1 "$WORK/rss")
    if [ -z "$best" ] || [ "$kb" -lt "$best" ]; then best=$kb; fi
  done
  echo "$best"
}

ROWS="$WORK/rows.tsv"
: > "$ROWS"
for SIZE in $SIZES; do
  Z="$DATA/ual-$SIZE-seed$SEED.ndjson.zst"
  generated "$Z" "$SIZE" "$SEED" --format ndjson-zst
  cat "$Z" > /dev/null
  T="--threads $THREADS -q"
  log "$SIZE: stats"
  stats=$(peak "$BIN stats $T --format json $Z")
  unique=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['records']-d['duplicates']-d['malformed'])" "$WORK/out")
  log "$SIZE: throttled"
  throttled=$(peak "$BIN throttled $T $Z")
  log "$SIZE: syncs"
  syncs=$(peak "$BIN syncs $T $Z")
  log "$SIZE: contexts"
  contexts=$(peak "$BIN contexts $T --format csv $Z")
  read -r listed accesses < <(python3 - "$WORK/out" <<'PY'
import csv, sys
rows = csv.DictReader(open(sys.argv[1], newline=""))
raw = kept = 0
for r in rows:
    raw += int(r["accesses_raw"]); kept += int(r["accesses"])
print(raw, kept)
PY
)
  log "$SIZE: contexts from standard input"
  stdin=$(peak "zstd -dc $Z | $BIN contexts $T --format csv -")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$SIZE" "$unique" "$listed" "$accesses" \
    "$stats" "$throttled" "$syncs" "$contexts" "$stdin" >> "$ROWS"
done

python3 - "$ROWS" "$RUNS" "$THREADS" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
runs, threads = sys.argv[2], sys.argv[3]
mib = lambda kb: int(kb) / 1024
print(f"Peak RSS in MiB (smallest of {runs} runs, {threads} threads), zstd input:\n")
print("| input | unique records | listed messages | accesses (one-hour rule) | stats | throttled | syncs | contexts | contexts from stdin |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for size, uniq, listed, acc, st, th, sy, cx, si in rows:
    print(f"| {size} .zst | {int(uniq):,} | {int(listed):,} | {int(acc):,} | {mib(st):,.0f} | {mib(th):,.0f} | {mib(sy):,.0f} | {mib(cx):,.0f} | {mib(si):,.0f} |")
print()
for a, b in zip(rows, rows[1:]):
    du = int(b[1]) - int(a[1])
    da = int(b[3]) - int(a[3])
    if du <= 0 or da <= 0:
        continue
    per = lambda i, d: (int(b[i]) - int(a[i])) * 1024 / d
    print(f"{a[0]} -> {b[0]}: bytes per extra unique record: stats {per(4, du):.0f}, "
          f"throttled {per(5, du):.0f}, syncs {per(6, du):.0f}, contexts {per(7, du):.0f}, "
          f"contexts from stdin {per(8, du):.0f}; "
          f"contexts per extra de-duplicated access {per(7, da):.0f}")
PY
