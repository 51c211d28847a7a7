#!/usr/bin/env bash
# The benchmark store of N generated cases (12 months to 2026-10-31, seed 42), made once as
# scripts/bench-ingest.sh makes it: prints its path. Used by the benchmark scripts.
#
#   db="$(scripts/bench-store.sh N)"
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
n="${1:-10000000}"
cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/fengqiao"
out="$PWD/bench-out"
mkdir -p "$out"
db="$out/ingest-$n.duckdb"
if [ ! -f "$db" ]; then
  csv="$out/cases-$n.csv"
  [ -f "$csv" ] || "$bin" generate --cases "$n" --months 12 --end 2026-10-31 --seed 42 --out "$csv" >&2
  rm -f "$db.wal"
  CI=1 "$bin" ingest --db "$db" "$csv" >&2
fi
echo "$db"
