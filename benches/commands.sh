#!/usr/bin/env bash
# commands.sh: every command of mailscope on the same generated export, with its phases.
#
# Generates (or reuses) the seeded export that compare.sh uses (bench-data/ual-SIZE-seedN.ndjson),
# puts it in the page cache, then runs each command RUNS times with MAILSCOPE_TIMINGS=1 under
# /usr/bin/time and prints, for the fastest run of each, the wall time, the CPU time, the peak
# resident memory, the output size and how the wall time splits between reading (read, parse
# and the record merge, which every command shares) and the rest (the command's own analysis
# and writing, phase by phase). A command whose own part is large next to its reading is
# where to look: a sequential pass over millions of records shows up here first.
# Commands: stats, contexts, contexts --by mailbox,ip, sessions, messages, syncs, throttled
# --records, lookup (one id), scope --ip (the planted attacker, --no-hash, report written).
# See: README.md, "Performance".
#
# Usage: benches/commands.sh [--size 2GB] [--seed 1] [--runs 2] [--threads N] [--file FILE]
set -euo pipefail

cd "$(dirname "$0")/.."
. benches/args.sh

. benches/common.sh
need /usr/bin/time time

if [ -z "$FILE" ]; then
  FILE="$DATA/ual-$SIZE-seed$SEED.ndjson"
  generated "$FILE" "$SIZE" "$SEED"
fi
cat "$FILE" > /dev/null
MB=$(( $(stat -c %s "$FILE") / 1000000 ))

echo "## Every command on $FILE ($MB MB, $THREADS threads, best of $RUNS)"
echo
echo "| command | wall s | CPU s | peak RSS MB | output MB | reading s | own phases (wall s) |"
echo "|---|---:|---:|---:|---:|---:|---|"
run() {
  local name=$1
  shift
  local best="" i
  for i in $(seq 1 "$RUNS"); do
    rm -rf "$WORK/out.dir"
    # Read again before each run: this machine's page cache does not keep the file for sure.
    cat "$FILE" > /dev/null
    MAILSCOPE_TIMINGS=1 /usr/bin/time -f 'time: %e %U %S %M' "$@" > "$WORK/out" 2> "$WORK/err.$i" \
      || { log "$name failed:"; cat "$WORK/err.$i" >&2; return 1; }
    local wall
    wall=$(awk '/^time:/ { print $2 }' "$WORK/err.$i")
    if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$wall
      cp "$WORK/err.$i" "$WORK/err"
      local size
      size=$(stat -c %s "$WORK/out")
      [ -d "$WORK/out.dir" ] && size=$(du -sb "$WORK/out.dir" | cut -f1)
      echo "$size" > "$WORK/size"
    fi
  done
  awk -v name="$name" -v size="$(cat "$WORK/size")" '
    /^timing:/ {
      line = $0
      sub(/^timing: /, "", line)
      split(line, parts, ": ")
      phase = parts[1]
      split(parts[2], t, " ")
      if (phase ~ /^(read and parse|merge and de-duplicate records)$/) reading += t[1]
      else own = own (own == "" ? "" : "; ") phase " " t[1]
    }
    /^time:/ { wall = $2; cpu = $3 + $4; rss = $5 / 1024 }
    END {
      printf "| %s | %.2f | %.2f | %.0f | %.1f | %.2f | %s |\n", name, wall, cpu, rss,
        size / 1e6, reading, own
    }' "$WORK/err"
}
T=(--threads "$THREADS" -q)
run "stats --no-hash" "$BIN" stats "${T[@]}" --no-hash --format json "$FILE"
run "contexts" "$BIN" contexts "${T[@]}" --format csv "$FILE"
run "contexts --by mailbox,ip" "$BIN" contexts "${T[@]}" --by mailbox,ip --format csv "$FILE"
run "sessions" "$BIN" sessions "${T[@]}" --format csv "$FILE"
run "messages" "$BIN" messages "${T[@]}" --format csv "$FILE"
run "syncs" "$BIN" syncs "${T[@]}" --format csv "$FILE"
run "throttled --records" "$BIN" throttled "${T[@]}" --records --format csv "$FILE"
run "lookup (one id)" "$BIN" lookup "${T[@]}" --id '<none@example.com>' --format csv "$FILE"
run "scope --ip --no-hash" "$BIN" scope "${T[@]}" --no-hash --ip 185.220.101.47 \
  --out "$WORK/out.dir" "$FILE"
echo
echo "Reading: read, parse and merge the records (every command does it). Own phases: what"
echo "MAILSCOPE_TIMINGS shows after it (a command without phases of its own shows none)."
