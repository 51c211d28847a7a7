#!/usr/bin/env bash
# Ingest benchmark (issue 2): generates N cases (default 1 M and 10 M), ingests each with
# `fengqiao ingest` into a fresh store, and, in the same run, loads the same CSV with DuckDB's own
# `read_csv` into a plain table (Python duckdb 1.5.6, the same DuckDB version) — the floor for
# "loading a CSV into DuckDB". Reports wall time, rows/s and peak RSS (GNU time), and the ratio.
#
#   scripts/bench-ingest.sh [N ...]        e.g. scripts/bench-ingest.sh 1000000 10000000
# Output: a Markdown table on stdout; work files in bench-out/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 10000000)

cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/fengqiao"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/fengqiao/bench-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import duckdb' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet duckdb==1.5.6
fi
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }

out=bench-out
mkdir -p "$out"
measure() { # prints "seconds peak_kib" of a command
  /usr/bin/time -f '%e %M' -o "$out/time.txt" "$@" >/dev/null 2>"$out/stderr.txt" || { cat "$out/stderr.txt" >&2; exit 1; }
  cat "$out/time.txt"
}

echo "| cases | generate s | fengqiao ingest s | rows/s | peak RSS MiB | DuckDB read_csv s | rows/s | peak RSS MiB | ingest / read_csv |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for n in "${sizes[@]}"; do
  csv="$out/cases-$n.csv"
  read -r gen_s _ < <(measure "$bin" generate --cases "$n" --months 12 --end 2026-10-31 --seed 42 --out "$csv")
  rm -f "$out/ingest-$n.duckdb" "$out/ingest-$n.duckdb.wal"
  read -r ing_s ing_kib < <(measure env CI=1 "$bin" ingest --db "$out/ingest-$n.duckdb" "$csv")
  rm -f "$out/duckdb-$n.duckdb" "$out/duckdb-$n.duckdb.wal"
  read -r dd_s dd_kib < <(measure "$venv/bin/python" -c "
import duckdb, sys
con = duckdb.connect(sys.argv[1])
con.execute('SET enable_progress_bar = false')
con.execute(\"CREATE TABLE cases AS SELECT * FROM read_csv(?)\", [sys.argv[2]])
assert con.execute('SELECT count(*) FROM cases').fetchone()[0] == int(sys.argv[3])
" "$out/duckdb-$n.duckdb" "$csv" "$n")
  loaded=$("$venv/bin/python" -c "
import duckdb, sys
print(duckdb.connect(sys.argv[1], read_only=True).execute('SELECT count(*) FROM cases').fetchone()[0])" "$out/ingest-$n.duckdb")
  [ "$loaded" = "$n" ] || { echo "fengqiao loaded $loaded of $n rows" >&2; exit 1; }
  awk -v n="$n" -v g="$gen_s" -v i="$ing_s" -v im="$ing_kib" -v d="$dd_s" -v dm="$dd_kib" 'BEGIN {
    printf "| %d | %.1f | %.2f | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f× |\n", n, g, i, n / i, im / 1024, d, n / d, dm / 1024, i / d }'
done
