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
#   mailscope sessions, messages FILE.zst      (every record; messages keeps the ids' text)
#   mailscope scope --ip ATTACKER --no-hash FILE.zst   (every record, the report written)
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
  local best="" kb
  for _ in $(seq 1 "$RUNS"); do
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
# The generator plants its attacker at this address (src/generate.rs).
ATTACKER_IP=${ATTACKER_IP:-185.220.101.47}
for SIZE in $SIZES; do
  Z="$DATA/ual-$SIZE-seed$SEED.ndjson.zst"
  generated "$Z" "$SIZE" "$SEED" --format ndjson-zst
  cat "$Z" > /dev/null
  T="--threads $THREADS -q"
  log "$SIZE: stats"
  stats=$(peak "$BIN stats $T --format json $Z")
  unique=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['records']-d['duplicates']-d['malformed'])" "$WORK/out")
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
  {
    printf 'counts\t%s\t%s\t%s\t%s\n' "$SIZE" "$unique" "$listed" "$accesses"
    printf 'stats\t%s\t%s\n' "$SIZE" "$stats"
    printf 'contexts\t%s\t%s\n' "$SIZE" "$contexts"
  } >> "$ROWS"
  for cmd in throttled syncs sessions messages; do
    log "$SIZE: $cmd"
    printf '%s\t%s\t%s\n' "$cmd" "$SIZE" "$(peak "$BIN $cmd $T --format csv $Z")" >> "$ROWS"
  done
  log "$SIZE: scope --ip --no-hash"
  printf 'scope --ip --no-hash\t%s\t%s\n' "$SIZE" \
    "$(peak "rm -rf $WORK/scope && $BIN scope $T --ip $ATTACKER_IP --no-hash --no-timestamp --out $WORK/scope $Z")" >> "$ROWS"
  log "$SIZE: contexts from standard input"
  printf 'contexts from stdin\t%s\t%s\n' "$SIZE" "$(peak "zstd -dc $Z | $BIN contexts $T --format csv -")" >> "$ROWS"
done

python3 - "$ROWS" "$RUNS" "$THREADS" <<'PY'
import sys
lines = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
runs, threads = sys.argv[2], sys.argv[3]
counts = {l[1]: tuple(int(x) for x in l[2:]) for l in lines if l[0] == "counts"}
sizes = list(counts)
order = ["stats", "throttled", "syncs", "contexts", "contexts from stdin", "sessions", "messages", "scope --ip --no-hash"]
peaks = {(l[0], l[1]): int(l[2]) for l in lines if l[0] != "counts"}
print(f"Peak RSS in MiB (smallest of {runs} runs, {threads} threads), zstd input.\n")
print("| input | unique records | listed messages | accesses (one-hour rule) |")
print("|---|---:|---:|---:|")
for s in sizes:
    u, l, a = counts[s]
    print(f"| {s} .zst | {u:,} | {l:,} | {a:,} |")
print()
pairs = list(zip(sizes, sizes[1:]))
head = "| command | " + " | ".join(f"{s} .zst" for s in sizes)
head += "".join(f" | bytes per extra unique record, {a} -> {b}" for a, b in pairs) + " |"
print(head)
print("|---|" + "---:|" * (len(sizes) + len(pairs)))
for c in order:
    if not all((c, s) in peaks for s in sizes):
        continue
    cells = [f"{peaks[(c, s)] / 1024:,.0f}" for s in sizes]
    for a, b in pairs:
        du = counts[b][0] - counts[a][0]
        cells.append(f"{(peaks[(c, b)] - peaks[(c, a)]) * 1024 / du:.0f}" if du > 0 else "-")
    print(f"| {c} | " + " | ".join(cells) + " |")
print()
for a, b in pairs:
    da = counts[b][2] - counts[a][2]
    if da > 0:
        per = (peaks[("contexts", b)] - peaks[("contexts", a)]) * 1024 / da
        print(f"{a} -> {b}: contexts per extra de-duplicated access: {per:.0f} bytes")
PY
