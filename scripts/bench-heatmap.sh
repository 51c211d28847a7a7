#!/usr/bin/env bash
# Heat-map benchmark (issue 3), in one run on the same 10 M cases:
#   1. Rust, warm, in-process (analytics/benches/heatmap.rs): heat maps at res 8 (year, week, two
#      categories, week × county), aggregate_cells alone, Gi* over the region at res 9 by parts, the
#      Gi* kernel alone on 50,000 res-9 cells; the risk heat maps (issue 14: year and week, first call)
#      and Kulldorff's scan with 999 replications; median and min of N runs after a warm-up; peak RSS.
#   2. The analyst's Python path (scripts/reference/python_heatmap_path.py) on the same cases exported
#      from the store to Parquet by DuckDB: pandas + h3 latlng_to_cell + groupby + libpysal W + esda
#      G_Local, step by step; the risk path on the same counts (residents per cell from
#      `fengqiao heatmap --measure rate`, PySAL empirical-Bayes rates, G_Local on them); and esda
#      G_Local alone on the Rust bench's 50,000-cell input.
#   3. Equal numbers: the Python script exits non-zero when its per-cell counts differ from Rust's or
#      its z-scores differ by 1e-6 or more.
#
#   scripts/bench-heatmap.sh [CASES] [RUNS]     defaults 10000000 and 5
# Reuses bench-out/ingest-CASES.duckdb (and bench-out/cases-CASES.csv) when present, otherwise
# generates and ingests them as scripts/bench-ingest.sh does. Work files in bench-out/heatmap/
# (git-ignored). Output: the raw timings (TSV) and a Markdown summary on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
source scripts/env.sh
n="${1:-10000000}"
runs="${2:-5}"

cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/fengqiao"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/fengqiao"
# DuckDB for the Parquet export: the same venv (and DuckDB version) as scripts/bench-ingest.sh.
ddvenv="$cache/bench-venv"
if [ ! -x "$ddvenv/bin/python" ] || ! "$ddvenv/bin/python" -c 'import duckdb' 2>/dev/null; then
  python3 -m venv "$ddvenv"
  "$ddvenv/bin/pip" install --quiet duckdb==1.5.6
fi
# The analyst's stack: the venv of scripts/reference/gistar_esda.py plus pandas and pyarrow.
pyref="$cache/pyref"
if [ ! -x "$pyref/bin/python" ]; then
  python3 -m venv "$pyref"
fi
if ! "$pyref/bin/python" -c 'import esda, libpysal, h3, numpy, scipy, pandas, pyarrow' 2>/dev/null; then
  "$pyref/bin/pip" install --quiet esda libpysal h3 numpy scipy pandas pyarrow
fi

out="$repo/bench-out"
work="$out/heatmap"
mkdir -p "$work"
db="$(scripts/bench-store.sh "$n")"

# 1. Rust (cargo runs benches from the package directory: absolute paths).
rust="$work/rust.tsv"
FENGQIAO_BENCH_DB="$db" FENGQIAO_BENCH_OUT="$work" FENGQIAO_BENCH_RUNS="$runs" \
  cargo bench --quiet -p fengqiao-analytics --bench heatmap >"$rust"

# 2. Export the cases for the Python path (reused when newer than the store).
parquet="$work/cases-$n.parquet"
export_s=""
if [ ! -f "$parquet" ] || [ "$db" -nt "$parquet" ]; then
  export_s=$("$ddvenv/bin/python" -c "
import duckdb, sys, time
t = time.perf_counter()
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute('SET enable_progress_bar = false')
con.execute(\"COPY (SELECT lng, lat, reported_at, category FROM cases) TO '\" + sys.argv[2] + \"' (FORMAT parquet)\")
print(f'{time.perf_counter() - t:.3f}')" "$db" "$parquet.tmp")
  mv "$parquet.tmp" "$parquet"
fi
# Residents per res-8 cell for the analyst's risk path (PySAL EB rates + G_Local).
population="$work/population-res8.csv"
"$bin" heatmap --measure rate --res 8 --as-of 2026-11-01 --db "$db" --out "$population" 2>/dev/null
python="$work/python.tsv"
"$pyref/bin/python" scripts/reference/python_heatmap_path.py \
  "$parquet" "$work/rust-res8-year.json" "$work/rust-kernel50k.json" "$runs" "$population" >"$python"

echo "## raw: Rust ($rust)"
cat "$rust"
echo "## raw: Python ($python)"
cat "$python"
[ -z "$export_s" ] || echo "duckdb_export_parquet_s	$export_s"

# 3. Summary.
awk -F'\t' '
  FNR == NR { rust[$1] = $2; rmin[$1] = $3; next }
  { py[$1] = $2; pmin[$1] = $3 }
  END {
    printf "\n| measure | value |\n|---|---:|\n"
    printf "| Rust heat map res 8, year (median ms) | %.0f |\n", rust["heatmap_res8_year"]
    printf "| Python path res 8, year, end to end (ms) | %.0f |\n", py["python_res8_year_total"]
    printf "| Rust vs Python end to end | %.1f× |\n", py["python_res8_year_total"] / rust["heatmap_res8_year"]
    printf "| Rust risk heat map res 8, year (median ms) | %.0f |\n", rust["heatmap_res8_year_risk"]
    printf "| Rust risk vs count heat map | %.2f× |\n", rust["heatmap_res8_year_risk"] / rust["heatmap_res8_year"]
    printf "| Python risk path (EB rates + G_Local), end to end (ms) | %.0f |\n", py["python_res8_year_risk_total"]
    printf "| Rust risk vs Python risk path | %.1f× |\n", py["python_res8_year_risk_total"] / rust["heatmap_res8_year_risk"]
    printf "| Kulldorff scan, res 8, year, 999 replications (ms) | %.0f |\n", rust["scan_res8_year_999"]
    printf "| Rust gi_star, 50,000 cells (median ms) | %.3f |\n", rust["kernel50k_gi_star"]
    printf "| esda G_Local, 50,000 cells (median ms) | %.0f |\n", py["python_kernel50k_g_local"]
    printf "| kernel vs esda | %.0f× |\n", py["python_kernel50k_g_local"] / rust["kernel50k_gi_star"]
    printf "| peak RSS Rust / Python end to end / Python (MiB) | %s / %s / %s |\n", rust["peak_rss_mib"], py["peak_rss_mib_end_to_end"], py["peak_rss_mib"]
    printf "| max abs z diff, res 8 year (parent binning / direct binning) / 50,000 cells | %s / %s / %s |\n", py["max_abs_z_diff_res8_year_parent"], py["max_abs_z_diff_res8_year_direct"], py["max_abs_z_diff_kernel50k"]
  }' "$rust" "$python"
