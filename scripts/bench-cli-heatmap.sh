#!/usr/bin/env bash
# The analyst's command-line heat map against the Python path (issue 17's bar), on N cases
# (default 2 M): a one-year res-8 count heat map as each produces it, as whole processes.
#   1. `fengqiao heatmap --res 8 --measure count` (release, CSV out): once without the files kept
#      beside the store (case columns, stamp, study area: it reads the store and keeps them), then
#      RUNS times with them; then the default risk map (`--measure excess`) RUNS times.
#   2. scripts/reference/python_heatmap_path.py on the same cases exported to Parquet by DuckDB
#      (pandas + h3 + groupby + libpysal W + esda G_Local), its end-to-end total; it exits non-zero
#      when its per-cell counts or z-scores (1e-6) differ from the command's own output.
#
#   scripts/bench-cli-heatmap.sh [CASES] [RUNS]     defaults 2000000 and 5
# Store: bench-out/ingest-CASES.duckdb (scripts/bench-store.sh). Work files in bench-out/cli-heatmap/.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
source scripts/env.sh
n="${1:-2000000}"
runs="${2:-5}"
db="$(scripts/bench-store.sh "$n")"
bin="$CARGO_TARGET_DIR/release/fengqiao"
pyref="${XDG_CACHE_HOME:-$HOME/.cache}/fengqiao/pyref"
[ -x "$pyref/bin/python" ] || python3 -m venv "$pyref"
"$pyref/bin/python" -c 'import esda, libpysal, h3, numpy, scipy, pandas, pyarrow, duckdb' 2>/dev/null \
  || "$pyref/bin/pip" install --quiet esda libpysal h3 numpy scipy pandas pyarrow duckdb==1.5.6
work="$repo/bench-out/cli-heatmap"
mkdir -p "$work"
as_of=2026-11-01

# ms of one run of the command-line heat map.
cli() {
  local start end
  start=$(date +%s%N)
  "$bin" heatmap --db "$db" --res 8 --as-of "$as_of" "$@" 2>>"$work/cli.err"
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

rm -f "$db.columns" "$db.stamp" "$db".area-r*
first=$(cli --measure count --out "$work/year.csv")
count=$(for _ in $(seq "$runs"); do cli --measure count --out "$work/year.csv"; done | median)
risk=$(for _ in $(seq "$runs"); do cli --out "$work/year-risk.csv"; done | median)
# Once more as JSON (full-precision z-scores) for the check.
cli --measure count --out "$work/year.json" >/dev/null

# The command's own cells, counts and z-scores, for the Python path's check.
"$pyref/bin/python" - "$work/year.json" "$work/rust-res8-year.json" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))
json.dump({"cells": [r["h3"] for r in rows], "counts": [r["count"] for r in rows],
           "z": [r["gi_z"] for r in rows], "cases": sum(r["count"] for r in rows)}, open(sys.argv[2], "w"))
EOF
parquet="$work/cases-$n.parquet"
if [ ! -f "$parquet" ] || [ "$db" -nt "$parquet" ]; then
  "$pyref/bin/python" -c "
import duckdb, sys
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute(\"COPY (SELECT lng, lat, reported_at, category FROM cases) TO '\" + sys.argv[2] + \"' (FORMAT parquet)\")" \
    "$db" "$parquet.tmp"
  mv "$parquet.tmp" "$parquet"
fi
"$pyref/bin/python" scripts/reference/python_heatmap_path.py "$parquet" "$work/rust-res8-year.json" - 1 >"$work/python.tsv"
python_ms=$(awk -F'\t' '$1 == "python_res8_year_total" {printf "%d", $2}' "$work/python.tsv")

printf 'what\tms\n'
printf 'cli_count_first_run_keeps_columns\t%s\n' "$first"
printf 'cli_count_median_of_%s\t%s\n' "$runs" "$count"
printf 'cli_risk_median_of_%s\t%s\n' "$runs" "$risk"
printf 'python_path_end_to_end\t%s\n' "$python_ms"
printf 'ratio_python_over_cli_count\t%s\n' "$(echo "scale=1; $python_ms / $count" | bc -l)"
printf 'ratio_python_over_cli_risk\t%s\n' "$(echo "scale=1; $python_ms / $risk" | bc -l)"
