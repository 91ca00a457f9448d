# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables are for the script that sources this file
# args.sh: the options of the bench scripts that run on one seeded export (profile.sh,
# commands.sh, invariance.sh). Sourced from the repository's root with the script's arguments;
# not run on its own. Sets SIZE (2GB, or SIZE as the script set it before), SEED (1), RUNS
# (2), THREADS (nproc) and FILE (empty: the seeded export bench-data/ual-SIZE-seedSEED.ndjson)
# from --size, --seed, --runs, --threads and --file; --help prints the calling script's header.
SIZE=${SIZE:-2GB}
SEED=1
RUNS=2
THREADS=$(nproc)
FILE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --file) FILE=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/p}' "benches/$(basename "$0")"; exit 0 ;;
    *) echo "$(basename "$0"): unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
