#!/usr/bin/env bash
# Mann–Kendall + emerging hot-spot classification benchmark, on identical series on both sides:
#   1. Rust (analytics/benches/trend.rs): pattern::classify_all on 50,000 locations × 52 weekly z-scores
#      (Mann–Kendall + class, all cores), and trend::mann_kendall alone on one thread; median and min of
#      RUNS runs after a warm-up; peak RSS. Writes bench-out/trend/rust-mk50k.json.
#   2. Python (scripts/reference/bench_pymannkendall.py): the same series regenerated from the shared
#      formula, pymannkendall.original_test per location (all 50,000, or 5,000 extrapolated when all
#      would take over 2 minutes — the output says which); checks S, Z and the trend equal Rust's.
#
#   scripts/bench-mann-kendall.sh [RUNS]     default 11
# Output: the raw timings (TSV) and a Markdown summary on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
source scripts/env.sh
runs="${1:-11}"

cache="${XDG_CACHE_HOME:-$HOME/.cache}/fengqiao"
pyref="$cache/pyref"
if [ ! -x "$pyref/bin/python" ]; then
  python3 -m venv "$pyref"
fi
if ! "$pyref/bin/python" -c 'import numpy, scipy, pymannkendall' 2>/dev/null; then
  "$pyref/bin/pip" install --quiet numpy scipy pymannkendall
fi

work="$repo/bench-out/trend"
mkdir -p "$work"
rust="$work/rust.tsv"
FENGQIAO_BENCH_OUT="$work" FENGQIAO_BENCH_RUNS="$runs" \
  cargo bench --quiet -p fengqiao-analytics --bench trend >"$rust"
python="$work/python.tsv"
"$pyref/bin/python" scripts/reference/bench_pymannkendall.py "$work/rust-mk50k.json" >"$python"

echo "## raw: Rust ($rust)"
cat "$rust"
echo "## raw: Python ($python)"
cat "$python"

awk -F'\t' '
  FNR == NR { rust[$1] = $2; next }
  { py[$1] = $2 }
  END {
    printf "\n| measure | value |\n|---|---:|\n"
    printf "| Rust classify_all, 50,000 × 52, all cores (median ms) | %.1f |\n", rust["classify_all_50k"]
    printf "| Rust mann_kendall, 50,000 × 52, one thread (median ms) | %.1f |\n", rust["mann_kendall_50k_one_thread"]
    printf "| pymannkendall original_test, 50,000 × 52 (s)%s | %.1f |\n", (py["python_pymk_extrapolated"] == 1 ? ", extrapolated from " py["python_pymk_timed_series"] : ""), py["python_pymk_50k_s"]
    printf "| pymannkendall vs Rust classify_all | %.0f× |\n", py["python_pymk_50k_s"] * 1000 / rust["classify_all_50k"]
    printf "| pymannkendall vs Rust one thread | %.0f× |\n", py["python_pymk_50k_s"] * 1000 / rust["mann_kendall_50k_one_thread"]
    printf "| peak RSS Rust / Python (MiB) | %s / %s |\n", rust["peak_rss_mib"], py["peak_rss_mib"]
    printf "| series checked / S mismatches / trend mismatches / max abs Z diff | %s / %s / %s / %s |\n", py["checked_series"], py["s_mismatches"], py["trend_mismatches"], py["max_abs_z_diff"]
  }' "$rust" "$python"
