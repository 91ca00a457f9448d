#!/usr/bin/env bash
# instructions.sh: instructions executed by `mailscope contexts` (valgrind's callgrind), in
# total and per function, for this build and optionally another binary, on the same input.
#
# The machine is shared and its wall times vary by 20% from one run to the next; instruction
# counts do not vary at all, so a change of a few percent shows. They are not time: a cache
# miss costs one instruction here and hundreds of cycles there, so a change meant to avoid
# misses is measured with profile.sh (perf samples), and a change meant to save work here.
# The run is on 1 thread (the count does not depend on the thread count's scheduling).
#
# Input: the first MB megabytes (whole lines) of the seeded export that compare.sh uses.
#
# Usage: benches/instructions.sh [--base OTHER-BINARY] [--mb 60] [--size 2GB] [--seed 1]
#                                [--top 15]
set -euo pipefail

cd "$(dirname "$0")/.."
BASE=""
MB=60
SIZE=2GB
SEED=1
TOP=15
while [ $# -gt 0 ]; do
  case "$1" in
    --base) BASE=$2; shift 2 ;;
    --mb) MB=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --top) TOP=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/p}' "benches/$(basename "$0")"; exit 0 ;;
    *) echo "instructions.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

. benches/common.sh
need valgrind valgrind

FULL="$DATA/ual-$SIZE-seed$SEED.ndjson"
generated "$FULL" "$SIZE" "$SEED"
SLICE="$WORK/slice.ndjson"
# Whole lines only: the last, cut one is dropped.
head -c "$((MB * 1000000))" "$FULL" | head -n -1 > "$SLICE"

count() {
  local bin=$1 out=$2
  valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$bin" contexts -q --threads 1 --format csv "$SLICE" > "$out.csv" 2> "$out.log"
}

count "$BIN" "$WORK/this"
if [ -n "$BASE" ]; then
  count "$BASE" "$WORK/base"
  if ! cmp -s "$WORK/this.csv" "$WORK/base.csv"; then
    log "warning: the two binaries' contexts outputs differ"
  fi
fi

total() { awk '/^summary:|^totals:/ { print $2; exit }' "$1"; }
# Per function, instructions of its own (inclusive counts would count callers twice).
top() {
  callgrind_annotate --threshold=100 "$1" 2>/dev/null |
    awk '$2 == "(" || $2 ~ /^\(/ { n = $1; gsub(",", "", n); sub(/^[^:]*:/, "", $0); f = $0;
           sub(/ \[.*$/, "", f); sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "", f); print n "\t" f }' |
    grep -v "PROGRAM TOTALS"
}

bytes=$(stat -c %s "$SLICE")
echo "## Instructions of \`mailscope contexts\`, 1 thread, $bytes bytes (first $MB MB of $(basename "$FULL"))"
echo
if [ -z "$BASE" ]; then
  t=$(total "$WORK/this")
  echo "total: $t instructions, $(awk -v t="$t" -v b="$bytes" 'BEGIN { printf "%.1f", t / b }') per input byte"
  echo
  echo "| instructions | share | function |"
  echo "|---:|---:|---|"
  top "$WORK/this" | head -n "$TOP" |
    awk -F'\t' -v t="$t" '{ printf "| %d | %.1f%% | `%s` |\n", $1, 100 * $1 / t, $2 }'
else
  t=$(total "$WORK/this")
  b=$(total "$WORK/base")
  echo "total: this build $t, $BASE $b ($(awk -v t="$t" -v b="$b" 'BEGIN { printf "%+.1f%%", 100 * (t - b) / b }'))"
  echo
  echo "Functions inlined differently in the two builds move instructions between rows: the"
  echo "total is the comparison, the rows say where."
  echo
  echo "| this build | $BASE | change | function |"
  echo "|---:|---:|---:|---|"
  top "$WORK/base" > "$WORK/base.top"
  top "$WORK/this" | head -n "$TOP" | while IFS=$'\t' read -r n f; do
    o=$(awk -F'\t' -v f="$f" '$2 == f { print $1; exit }' "$WORK/base.top")
    awk -v n="$n" -v o="${o:-0}" -v f="$f" 'BEGIN {
      c = (o > 0) ? sprintf("%+.1f%%", 100 * (n - o) / o) : "new";
      printf "| %d | %d | %s | `%s` |\n", n, o, c, f }'
  done
fi
