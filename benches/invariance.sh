#!/usr/bin/env bash
# invariance.sh: results must not depend on input order, file order, chunking, thread count or
# how the evidence is delivered; checked at export scale, byte for byte.
#
# The property tests and the `threads` fuzz target check this on small inputs in every
# `cargo test`; this script checks it where small inputs cannot reach: hundreds of 4 MiB work
# units, millions of accesses, hash collisions and sorts at full size. It generates (or reuses)
# the seeded export bench-data/ual-SIZE-seedN.ndjson (scope and lookup on its planted
# attacker), then makes two other deliveries of the same records:
#   shuffled  its lines shuffled (fixed seed) and split into two files, given last half first,
#             read on 1 thread;
#   streamed  the same two halves, the second from standard input and the first as a zstd file,
#             read on THREADS threads in work units of 64 KiB (--chunk-bytes).
# Each command's output on each delivery is compared with its output on the export itself
# (THREADS threads, default work units): contexts (by every key, and by mailbox and IP),
# sessions, messages, syncs, throttled --records, lookup (three listed ids), stats (its JSON
# without the per-file part) and scope --ip (the report's CSVs and its
# summary without the per-file part). Prints a table; exits 1 when any output differs.
# With --file, the same on any NDJSON export (a real one, say), `lookup` and `scope` on the
# first address of its first message row. Needs python3 and zstd (installed when missing).
# See: README.md, "Design".
#
# Usage: benches/invariance.sh [--size 500MB] [--seed 1] [--threads N] [--file FILE]
set -euo pipefail

cd "$(dirname "$0")/.."
SIZE=500MB
. benches/args.sh
. benches/common.sh
need zstd zstd

# mailscope, exit status 3 (something was skipped, e.g. malformed records, said on stderr)
# taken as success.
ms() { "$BIN" "$@" || [ $? = 3 ]; }

# The planted attacker of a generated export; on another export, the first address of the
# first message row.
IP=185.220.101.47
if [ -z "$FILE" ]; then
  FILE="$DATA/ual-$SIZE-seed$SEED.ndjson"
  generated "$FILE" "$SIZE" "$SEED"
else
  IP=$(ms messages -q --format csv "$FILE" |
    python3 -c 'import csv, sys; print(next(csv.DictReader(sys.stdin))["client_ips"].split(";")[0])')
fi
log "shuffling $FILE into two halves"
python3 - "$FILE" "$WORK/first.ndjson" "$WORK/second.ndjson" <<'PY'
import random, sys
lines = open(sys.argv[1], "rb").read().splitlines(keepends=True)
random.Random(20261203).shuffle(lines)
half = len(lines) // 2
with open(sys.argv[2], "wb") as f:
    f.writelines(lines[:half])
with open(sys.argv[3], "wb") as f:
    f.writelines(lines[half:])
PY
zstd -q -T0 "$WORK/first.ndjson" -o "$WORK/first.ndjson.zst"

# Three message ids read from that address, for `lookup`.
IDS=()
while IFS= read -r id; do IDS+=(--id "$id"); done < <(
  ms messages -q --ip "$IP" --format csv "$FILE" |
    python3 -c 'import csv, sys; rows = list(csv.DictReader(sys.stdin)); [print(r["internet_message_id"]) for r in rows[:3]]'
)
[ ${#IDS[@]} -gt 0 ] || { log "no message read from $IP found"; exit 1; }

# The parts of a JSON document that do not name the input files or places in them.
without_files() {
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("files", "inputs", "malformed_examples"):
    d.pop(k, None)
print(json.dumps(d, sort_keys=True, indent=1))' "$1"
}

# run NAME DELIVERY OUT: the command NAME on one delivery; its output (a file, or for scope a
# directory of the files compared) in OUT.
run() {
  local name=$1 delivery=$2 out=$3
  local -a args
  read -r -a args <<< "$name"
  local -a how
  case "$delivery" in
    generated) how=(--threads "$THREADS" "$FILE") ;;
    shuffled) how=(--threads 1 "$WORK/second.ndjson" "$WORK/first.ndjson") ;;
    streamed) how=(--threads "$THREADS" --chunk-bytes 65536 - "$WORK/first.ndjson.zst") ;;
  esac
  local -a cmd=(ms "${args[@]}" -q)
  case "${args[0]}" in
    stats) cmd+=(--no-hash --format json) ;;
    scope) cmd+=(--no-hash --no-timestamp --out "$out.dir") ;;
    lookup) cmd+=("${IDS[@]}" --format csv) ;;
    *) cmd+=(--format csv) ;;
  esac
  rm -rf "$out.dir"
  if [ "$delivery" = streamed ]; then
    "${cmd[@]}" "${how[@]}" < "$WORK/second.ndjson" > "$out.raw"
  else
    "${cmd[@]}" "${how[@]}" > "$out.raw"
  fi
  case "${args[0]}" in
    stats) without_files "$out.raw" > "$out" ;;
    scope)
      {
        cat "$out.raw"
        without_files "$out.dir/summary.json"
        cat "$out.dir/messages.csv" "$out.dir/folders.csv" "$out.dir/unaudited.csv"
      } > "$out"
      ;;
    *) mv "$out.raw" "$out" ;;
  esac
}

echo "## Invariance on $FILE ($(( $(stat -c %s "$FILE") / 1000000 )) MB): outputs compared byte for byte"
echo
echo "| command | output lines | shuffled, 2 files, 1 thread | stdin + zstd, $THREADS threads, 64 KiB units |"
echo "|---|---:|---|---|"
failed=0
for name in "contexts" "contexts --by mailbox,ip" "sessions" "messages" "syncs" \
  "throttled --records" "lookup" "stats" "scope --ip $IP"; do
  log "$name"
  run "$name" generated "$WORK/want"
  row="| $name | $(wc -l < "$WORK/want")"
  for delivery in shuffled streamed; do
    run "$name" "$delivery" "$WORK/got"
    if cmp -s "$WORK/want" "$WORK/got"; then
      row="$row | same"
    else
      failed=1
      diff_at=$(cmp "$WORK/want" "$WORK/got" 2>&1 | sed -n '1s/.*: //p' || true)
      row="$row | **differs** ($diff_at)"
    fi
  done
  echo "$row |"
done
echo
if [ "$failed" = 1 ]; then
  echo "Some outputs differ: a result depends on how the evidence was delivered."
  exit 1
fi
echo "Every output is the same on every delivery."
