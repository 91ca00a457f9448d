# common.sh: what the bench scripts share. Sourced by compare.sh, memory.sh and profile.sh
# from the repository's root, after they have read their arguments; not run on its own.
#
# Sets BIN (the mailscope binary: $MAILSCOPE, or the release build, built when it is missing
# or older than the sources), DATA (bench-data/, created) and WORK (a temporary directory,
# removed on exit), and defines:
#   log MESSAGE...                    MESSAGE on stderr, prefixed with the script's name
#   need COMMAND DEBIAN-PACKAGE       installs the package when COMMAND is not found
#   generated FILE SIZE SEED [ARGS]   FILE as `mailscope generate --size SIZE --seed SEED
#                                     --attacker ARGS` writes it, generated when missing or made
#                                     by another version of src/generate.rs (noted beside it in
#                                     FILE.made-by), under a temporary name renamed when
#                                     complete, so a run stopped halfway never leaves a
#                                     truncated file to be reused

SCRIPT=$(basename "$0")
log() { echo "$SCRIPT: $*" >&2; }

BIN=${MAILSCOPE:-target/release/mailscope}
if [ ! -x "$BIN" ] || [ -n "$(find src Cargo.toml -newer "$BIN" -print -quit 2>/dev/null)" ]; then
  log "building the release binary"
  cargo build --release >&2
fi
DATA=bench-data
mkdir -p "$DATA"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/${SCRIPT%.sh}.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

need() {
  if ! command -v "$1" > /dev/null; then
    log "installing $2"
    (apt-get update -qq && apt-get install -y -qq "$2") >&2
  fi
}

generated() {
  local file=$1 size=$2 seed=$3
  shift 3
  # The generator's source, hashed: a file made by another version of the generator (the
  # same seed then gives other records) is made again rather than reused.
  local made_by
  made_by=$(sha256sum src/generate.rs | cut -c1-16)
  if [ -s "$file" ] && [ "$(cat "$file.made-by" 2> /dev/null)" = "$made_by" ]; then
    log "reusing $file"
  else
    log "generating $file"
    "$BIN" generate --size "$size" --seed "$seed" --attacker -q "$@" -o "$file.partial"
    mv "$file.partial" "$file"
    echo "$made_by" > "$file.made-by"
  fi
}
