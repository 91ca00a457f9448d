#!/usr/bin/env bash
# compare.sh: mailscope against DuckDB (and zstd -d) on the same generated audit export.
#
# Generates (or reuses) a Unified Audit Log export with `mailscope generate`, puts it in the
# page cache, then runs, each under /usr/bin/time -v:
#   mailscope stats --format json -q FILE          (the evidence inventory)
#   mailscope contexts -q FILE                      (if this build has the command)
#   mailscope scope FILE --ip ATTACKER --out DIR    (the generator's planted attacker IP)
#   the same with --no-hash                         (no SHA-256 of the input: DuckDB's work)
#   DuckDB: read_ndjson(FILE) GROUP BY Operation, count(*) and count(DISTINCT Id), once with
#           the schema detected (the baseline of the ratios) and once with the 2 columns declared;
#           the contexts computation in SQL (the peer of `mailscope contexts`), and the
#           attacker's exposure in SQL (the peer of `mailscope scope`)
# and prints a markdown table: wall s, MB/s, MB per CPU-second, peak RSS, ratio vs DuckDB.
# With --zst it also writes the same data as one zstd frame and compares `zstd -d` with
# `mailscope stats` and `mailscope contexts` on it. Machines are shared: read MB per
# CPU-second and the ratios, which are measured in the same run, rather than wall-clock MB/s.
# See: ../shared/docs/performance.md
#
# Usage: benches/compare.sh [--size 2GB] [--seed 1] [--zst] [--runs N] [--threads N]
#                           [--file FILE] [--keep]
#   --size     size of the generated NDJSON (default 2GB; decimal units)
#   --zst      also measure the .zst of the same data (zstd -d vs mailscope stats, contexts)
#   --runs     N rounds, each running every command once (interleaved, so that a slow
#              stretch of the shared machine falls on all tools alike); the table shows each
#              command's fastest run and its slowest wall time (default 1)
#   --threads  worker threads for mailscope and DuckDB (default: nproc)
#   --file     use this NDJSON file instead of generating one (read only; with --zst its
#              zstd frame is made in a temporary directory; scope still asks for the
#              generator's attacker address unless ATTACKER_IP is set)
#   --keep     keep the generated files (default: keep; use --clean to delete them at the end)
#   --clean    delete the generated files at the end (never a file given with --file)
set -euo pipefail

cd "$(dirname "$0")/.."
SIZE=2GB
SEED=1
ZST=0
RUNS=1
THREADS=$(nproc)
FILE=""
CLEAN=0
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --zst) ZST=1; shift ;;
    --runs) RUNS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --file) FILE=$2; shift 2 ;;
    --keep) CLEAN=0; shift ;;
    --clean) CLEAN=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/p}' "benches/$(basename "$0")"; exit 0 ;;
    *) echo "compare.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

. benches/common.sh

# --- tools --------------------------------------------------------------------------------
need /usr/bin/time time
if [ "$ZST" = 1 ]; then
  need zstd zstd
fi
if ! python3 -c 'import duckdb' 2>/dev/null; then
  log "installing the DuckDB Python package"
  pip install -q duckdb >&2
fi
DUCKDB_VERSION=$(python3 -c 'import duckdb; print(duckdb.__version__)')

# --- input --------------------------------------------------------------------------------
GIVEN=0
if [ -z "$FILE" ]; then
  FILE="$DATA/ual-$SIZE-seed$SEED.ndjson"
  generated "$FILE" "$SIZE" "$SEED"
else
  GIVEN=1
fi
ZFILE=""
if [ "$ZST" = 1 ] && [ "$GIVEN" = 1 ]; then
  # A file of the user's: its frame is made in the work directory (removed on exit), never
  # beside the file, and from the file itself (the generator would write other records).
  ZFILE="$WORK/$(basename "$FILE").zst"
  log "compressing $FILE into one zstd frame (level 3, as the generator writes it)"
  zstd -q -3 -c "$FILE" > "$ZFILE"
elif [ "$ZST" = 1 ]; then
  ZFILE="$FILE.zst"
  # Older than the NDJSON: written from an earlier version of it.
  if [ -e "$ZFILE" ] && [ "$ZFILE" -ot "$FILE" ]; then
    rm -f "$ZFILE"
  fi
  generated "$ZFILE" "$SIZE" "$SEED" --format ndjson-zst
fi
BYTES=$(stat -c %s "$FILE")

warm() { cat "$@" > /dev/null; cat "$@" > /dev/null; }
log "reading the input into the page cache"
warm "$FILE" ${ZFILE:+"$ZFILE"}
# This machine's page cache is not kept whole between runs (a 2 GB file read a minute earlier
# was once read back from disk at 50 MB/s in the middle of a run), so each run's input is read
# once more right before it, outside its timing.
rewarm() {
  case $1 in
    plain) cat "$FILE" > /dev/null ;;
    zst) cat "$ZFILE" > /dev/null ;;
  esac
}

# --- measurement --------------------------------------------------------------------------
RESULTS="$WORK/results.tsv"
: > "$RESULTS"

# measure GROUP NAME STORED_BYTES DATA_BYTES -- command...: one run of the command (its stdout
# is kept), appended to RESULTS. The rounds below call it once per command each; the report
# takes each command's fastest run.
measure() {
  local group=$1 name=$2 stored=$3 bytes=$4
  shift 5
  local tv="$WORK/time" out
  out="$WORK/out.$group.$(printf '%s' "$name" | tr -c 'a-zA-Z0-9' _)"
  log "round $ROUND/$RUNS: $name"
  rewarm "$group"
  if ! /usr/bin/time -v -o "$tv" "$@" > "$out" 2> "$WORK/stderr"; then
    local rc
    rc=$(sed -n 's/.*Exit status: //p' "$tv")
    # mailscope exits 3 when it skipped something: still a measurement, but say so.
    log "$name exited with status ${rc:-?}: $(tail -n 3 "$WORK/stderr" | tr '\n' ' ')"
  fi
  local line
  line=$(python3 - "$tv" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def field(name):
    m = re.search(re.escape(name) + r".*?:\s*(\S+)\s*$", t, re.M)
    return m.group(1) if m else "0"
wall = field("Elapsed (wall clock) time")
parts = [float(p) for p in wall.split(":")]
secs = 0.0
for p in parts:
    secs = secs * 60 + p
user = float(field("User time (seconds)"))
sys_ = float(field("System time (seconds)"))
rss = int(field("Maximum resident set size (kbytes)"))
print(f"{secs}\t{user}\t{sys_}\t{rss}")
PY
)
  printf '%s\t%s\t%s\t%s\t%s\n' "$group" "$name" "$stored" "$bytes" "$line" >> "$RESULTS"
}

DUCK_PY="$WORK/duck.py"
cat > "$DUCK_PY" <<'PY'
import duckdb, sys
path, threads, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
if mode in ("auto", "columns"):
    # auto: the schema is detected from a sample (the plain `read_ndjson(FILE)`);
    # columns: only the two columns the query needs are declared.
    source = (
        "read_ndjson(?)"
        if mode == "auto"
        else "read_ndjson(?, columns = {'Id': 'VARCHAR', 'Operation': 'VARCHAR'})"
    )
    # The inventory's counts: records by operation and distinct record ids (duplicates).
    rows = con.execute(
        f"""
        SELECT Operation, count(*) AS records, count(DISTINCT Id) AS unique_ids
        FROM {source}
        GROUP BY Operation ORDER BY records DESC, Operation
        """,
        [path],
    ).fetchall()
    for op, n, u in rows:
        print(f"{op}\t{n}\t{u}")
elif mode == "contexts":
    # contexts: what `mailscope contexts` computes, minus the one-hour de-duplication and the
    # sum of OperationCount (so DuckDB does less work): records de-duplicated by Id, bind
    # records only, client IP normalized, one row per context (the eight properties plus
    # AppId and ClientAppId) with first and last seen, records, listed messages, distinct
    # messages and bytes.
    rows = con.execute(
        """
        WITH raw AS (
          SELECT * FROM read_ndjson(?, columns = {
            'Id': 'VARCHAR', 'CreationTime': 'TIMESTAMP', 'Operation': 'VARCHAR',
            'UserId': 'VARCHAR', 'MailboxOwnerUPN': 'VARCHAR', 'ClientIPAddress': 'VARCHAR',
            'ClientInfoString': 'VARCHAR', 'SessionId': 'VARCHAR', 'LogonType': 'INTEGER',
            'AppId': 'VARCHAR', 'ClientAppId': 'VARCHAR',
            'OperationProperties': 'STRUCT(Name VARCHAR, Value VARCHAR)[]',
            'Folders': 'STRUCT(Id VARCHAR, Path VARCHAR, FolderItems STRUCT(InternetMessageId VARCHAR, SizeInBytes BIGINT)[])[]'})
          WHERE Operation = 'MailItemsAccessed'),
        rec AS (
          SELECT * EXCLUDE (rn) FROM (
            SELECT *, row_number() OVER (PARTITION BY Id ORDER BY CreationTime) rn FROM raw)
          WHERE rn = 1
            AND list_filter(OperationProperties, lambda p: p.Name = 'MailAccessType')[1].Value <> 'Sync'),
        b AS (
          SELECT *, CASE
              WHEN ClientIPAddress LIKE '[%' THEN regexp_extract(ClientIPAddress, '^\\[([^\\]]*)\\]', 1)
              WHEN length(ClientIPAddress) - length(replace(ClientIPAddress, ':', '')) = 1
                THEN split_part(ClientIPAddress, ':', 1)
              ELSE ClientIPAddress END AS ip
          FROM rec),
        f AS (SELECT b.*, u.f.Path AS folder, u.f.FolderItems AS items FROM b, unnest(b.Folders) AS u(f)),
        i AS (SELECT f.*, lower(trim(v.i.InternetMessageId, '<> ')) AS msg, v.i.SizeInBytes AS size
              FROM f, unnest(f.items) AS v(i))
        SELECT lower(MailboxOwnerUPN), lower(UserId), lower(ip), ClientInfoString, SessionId, LogonType,
               folder, AppId, ClientAppId, min(CreationTime), max(CreationTime), count(DISTINCT Id),
               count(*), count(DISTINCT msg), sum(size)
        FROM i GROUP BY ALL
        """,
        [path],
    ).fetchall()
    print(len(rows))
elif mode == "scope":
    # scope: what `mailscope scope --ip IP` computes, minus the session pivot, the one-hour
    # rule and the report: records de-duplicated by Id; the attacker's MailItemsAccessed
    # records (client IP normalized); per mailbox the distinct messages of their binds, the
    # folders of their syncs and the throttled records of the mailbox.
    ip = sys.argv[4]
    rows = con.execute(
        """
        WITH raw AS (
          SELECT * FROM read_ndjson(?, columns = {
            'Id': 'VARCHAR', 'CreationTime': 'TIMESTAMP', 'Operation': 'VARCHAR',
            'MailboxOwnerUPN': 'VARCHAR', 'ClientIPAddress': 'VARCHAR',
            'OperationProperties': 'STRUCT(Name VARCHAR, Value VARCHAR)[]',
            'Item': 'STRUCT(ParentFolder STRUCT(Path VARCHAR))',
            'Folders': 'STRUCT(Id VARCHAR, Path VARCHAR, FolderItems STRUCT(InternetMessageId VARCHAR, SizeInBytes BIGINT)[])[]'})
          WHERE Operation = 'MailItemsAccessed'),
        rec AS (
          SELECT * EXCLUDE (rn),
            list_filter(OperationProperties, lambda p: p.Name = 'MailAccessType')[1].Value AS access,
            list_filter(OperationProperties, lambda p: p.Name = 'IsThrottled')[1].Value = 'True' AS throttled,
            CASE
              WHEN ClientIPAddress LIKE '[%' THEN regexp_extract(ClientIPAddress, '^\\[([^\\]]*)\\]', 1)
              WHEN length(ClientIPAddress) - length(replace(ClientIPAddress, ':', '')) = 1
                THEN split_part(ClientIPAddress, ':', 1)
              ELSE ClientIPAddress END AS ip
          FROM (SELECT *, row_number() OVER (PARTITION BY Id ORDER BY CreationTime) rn FROM raw)
          WHERE rn = 1),
        att AS (SELECT * FROM rec WHERE ip = ?),
        msgs AS (
          SELECT lower(MailboxOwnerUPN) AS mailbox, count(DISTINCT lower(trim(v.i.InternetMessageId, '<> '))) AS messages
          FROM att, unnest(att.Folders) AS u(f), unnest(u.f.FolderItems) AS v(i)
          WHERE access <> 'Sync' GROUP BY ALL),
        syncs AS (
          SELECT lower(MailboxOwnerUPN) AS mailbox,
                 count(DISTINCT coalesce(Item.ParentFolder.Path, Folders[1].Path)) AS folders
          FROM att WHERE access = 'Sync' GROUP BY ALL),
        thr AS (
          SELECT lower(MailboxOwnerUPN) AS mailbox, count(*) AS throttled
          FROM rec WHERE throttled GROUP BY ALL)
        SELECT m.mailbox, coalesce(msgs.messages, 0), coalesce(syncs.folders, 0), coalesce(thr.throttled, 0)
        FROM (SELECT DISTINCT lower(MailboxOwnerUPN) AS mailbox FROM att) m
        LEFT JOIN msgs USING (mailbox) LEFT JOIN syncs USING (mailbox) LEFT JOIN thr USING (mailbox)
        ORDER BY 1
        """,
        [path, ip],
    ).fetchall()
    for r in rows:
        print("\t".join(str(x) for x in r))
PY

MB=$(python3 -c "print(f'{$BYTES/1e6:.0f}')")
STATS_JSON="$WORK/out.plain.mailscope_stats"
DUCK_OUT="$WORK/out.plain.DuckDB_${DUCKDB_VERSION//[^a-zA-Z0-9]/_}_read_ndjson__schema_detected"
HAS_CONTEXTS=0 HAS_SCOPE=0 HAS_NO_HASH=0
if "$BIN" --help | grep -qE '^\s+contexts\s'; then HAS_CONTEXTS=1; else log "this build has no 'contexts' command: skipped"; fi
if "$BIN" --help | grep -qE '^\s+scope\s'; then
  HAS_SCOPE=1
  if "$BIN" scope --help | grep -q -- '--no-hash'; then HAS_NO_HASH=1; fi
fi
# The generator plants its attacker at this address (src/generate.rs).
ATTACKER_IP=${ATTACKER_IP:-185.220.101.47}
[ -n "$ZFILE" ] && ZBYTES=$(stat -c %s "$ZFILE")

# One round: every command once. Rounds rather than each command RUNS times in a row, so that
# a slow stretch of the shared machine falls on mailscope and its peers alike.
round() {
  measure plain "mailscope stats" "$BYTES" "$BYTES" -- "$BIN" stats --format json -q --threads "$THREADS" "$FILE"
  if [ "$HAS_CONTEXTS" = 1 ]; then
    measure plain "mailscope contexts" "$BYTES" "$BYTES" -- "$BIN" contexts --format csv -q --threads "$THREADS" "$FILE"
  fi
  if [ "$HAS_SCOPE" = 1 ]; then
    measure plain "mailscope scope --ip (report directory)" "$BYTES" "$BYTES" -- \
      "$BIN" scope -q --threads "$THREADS" --ip "$ATTACKER_IP" --no-timestamp --out "$WORK/scope" "$FILE"
  fi
  if [ "$HAS_NO_HASH" = 1 ]; then
    measure plain "mailscope scope --ip --no-hash (report directory)" "$BYTES" "$BYTES" -- \
      "$BIN" scope -q --threads "$THREADS" --ip "$ATTACKER_IP" --no-timestamp --no-hash --out "$WORK/scope-no-hash" "$FILE"
  fi
  measure plain "DuckDB $DUCKDB_VERSION read_ndjson, schema detected" "$BYTES" "$BYTES" -- python3 "$DUCK_PY" "$FILE" "$THREADS" auto
  measure plain "DuckDB $DUCKDB_VERSION read_ndjson, 2 columns declared" "$BYTES" "$BYTES" -- python3 "$DUCK_PY" "$FILE" "$THREADS" columns
  measure plain "DuckDB $DUCKDB_VERSION contexts query (no one-hour de-dup)" "$BYTES" "$BYTES" -- python3 "$DUCK_PY" "$FILE" "$THREADS" contexts
  measure plain "DuckDB $DUCKDB_VERSION scope query (no session pivot, no report)" "$BYTES" "$BYTES" -- python3 "$DUCK_PY" "$FILE" "$THREADS" scope "$ATTACKER_IP"
  if [ -n "$ZFILE" ]; then
    measure zst "zstd -d (one frame)" "$ZBYTES" "$BYTES" -- zstd -d -q -f -o /dev/null "$ZFILE"
    measure zst "mailscope stats (.zst)" "$ZBYTES" "$BYTES" -- "$BIN" stats --format json -q --threads "$THREADS" "$ZFILE"
    if [ "$HAS_CONTEXTS" = 1 ]; then
      measure zst "mailscope contexts (.zst)" "$ZBYTES" "$BYTES" -- "$BIN" contexts --format csv -q --threads "$THREADS" "$ZFILE"
    fi
  fi
}
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for ROUND in $(seq 1 "$RUNS"); do
  round
done

# --- report -------------------------------------------------------------------------------
echo
echo "## Machine"
echo
echo "- CPU: $(lscpu | sed -n 's/^Model name:\s*//p' | head -1), $(nproc) CPUs available"
echo "- RAM: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "- Kernel: $(uname -r); load average before the runs: $LOAD_BEFORE, after them: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- mailscope: $("$BIN" --version), threads $THREADS; DuckDB $DUCKDB_VERSION (Python), threads $THREADS"
echo "- Input: $FILE, $MB MB, $(wc -l < "$FILE") lines, in the page cache; fastest of $RUNS interleaved round(s)"
echo
python3 - "$RESULTS" <<'PY'
import sys
runs = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
# Each command's fastest run (in the order the commands first ran), and its slowest wall time.
rows, slowest = [], {}
for r in runs:
    key = (r[0], r[1])
    slowest[key] = max(slowest.get(key, 0.0), float(r[4]))
    at = next((i for i, q in enumerate(rows) if (q[0], q[1]) == key), None)
    if at is None:
        rows.append(r)
    elif float(r[4]) < float(rows[at][4]):
        rows[at] = r
def table(group, base_prefix, base_label):
    rs = [r for r in rows if r[0] == group]
    if not rs:
        return
    base = next((r for r in rs if r[1].startswith(base_prefix)), None)
    def m(r):
        stored, data = int(r[2]), int(r[3])
        wall, user, sys_, rss = float(r[4]), float(r[5]), float(r[6]), int(r[7])
        cpu = user + sys_
        return stored, data, wall, cpu, rss
    print(f"| tool | input MB | data MB | wall s | slowest wall s | CPU s (user+sys) | MB/s | MB per CPU-second | peak RSS MB | wall vs {base_label} | CPU vs {base_label} |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    bw = bc = None
    if base:
        _, _, bw, bc, _ = m(base)
    # `mailscope contexts` and `scope` are compared with their peers, the contexts and
    # scope queries in DuckDB.
    peers = {k: next((r for r in rs if f"{k} query" in r[1]), None) for k in ("contexts", "scope")}
    for r in rs:
        stored, data, wall, cpu, rss = m(r)
        peer = next((p for k, p in peers.items() if p and f"mailscope {k}" in r[1]), None)
        if peer is None and any(p is r for p in peers.values()):
            peer = r
        if peer is not None:
            bw, bc = m(peer)[2], m(peer)[3]
        else:
            bw, bc = (m(base)[2], m(base)[3]) if base else (None, None)
        mbs = data / 1e6 / wall if wall else 0
        mbc = data / 1e6 / cpu if cpu else 0
        # Ratios > 1 mean faster / cheaper than the baseline.
        rw = f"{bw / wall:.2f}x" if bw and wall else "-"
        rc = f"{bc / cpu:.2f}x" if bc and cpu else "-"
        print(f"| {r[1]} | {stored/1e6:.0f} | {data/1e6:.0f} | {wall:.2f} | {slowest[(r[0], r[1])]:.2f} | {cpu:.2f} | {mbs:.0f} | {mbc:.0f} | {rss/1024:.0f} | {rw} | {rc} |")
    print()
print("## Plain NDJSON")
print()
table("plain", "DuckDB", "DuckDB (detected)")
if any(r[0] == "zst" for r in rows):
    print("## The same data as one zstd frame (MB/s and MB per CPU-second count decompressed bytes)")
    print()
    table("zst", "zstd -d", "zstd -d")
print("Ratios: the peer's time divided by the tool's time (above 1 = faster, or fewer CPU-seconds).")
print("The peer of the contexts and scope rows is DuckDB's contexts or scope query (a query row")
print("against itself shows 1.00x); of the others, the schema-detected query.")
PY

# --- cross-check: the same counts from both tools ------------------------------------------
python3 - "$STATS_JSON" "$DUCK_OUT" <<'PY'
import json, sys
try:
    stats = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"\n(cross-check skipped: no mailscope JSON: {e})")
    sys.exit(0)
duck = {}
for line in open(sys.argv[2]):
    op, n, u = line.rstrip("\n").split("\t")
    duck[op] = (int(n), int(u))
lines = sum(n for n, _ in duck.values())
unique = sum(u for _, u in duck.values())
ok = (stats.get("records") == lines
      and stats.get("records", 0) - stats.get("duplicates", 0) == unique
      and all(stats.get("by_operation", {}).get(op) == u for op, (_, u) in duck.items()))
print()
print(f"Cross-check: DuckDB {lines} lines, {unique} distinct ids; mailscope {stats.get('records')} "
      f"records, {stats.get('duplicates')} duplicates, {stats.get('mail_items_accessed')} "
      f"MailItemsAccessed: {'counts agree' if ok else 'COUNTS DIFFER'}")
PY

# Only generated files: a file given with --file, and anything beside it, stays.
if [ "$CLEAN" = 1 ] && [ "$GIVEN" = 0 ]; then
  rm -f "$FILE" "$FILE.made-by"
  [ -n "$ZFILE" ] && rm -f "$ZFILE" "$ZFILE.made-by"
fi
