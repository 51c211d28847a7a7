#!/usr/bin/env bash
# Trends benchmark (issue 4) on the 10 M-case store: the space-time cube of 52 weekly steps at res 8,
# the emerging-hot-spot analysis of all its cells, alerts for every village × 18 categories,
# recurring problems and repeat chains (analytics/benches/emerging.rs), then the Mann–Kendall +
# classification benchmark against pymannkendall (scripts/bench-mann-kendall.sh).
#
#   scripts/bench-trends.sh [CASES] [RUNS]     defaults 10000000 and 5
# The store: scripts/bench-store.sh (bench-out/ingest-CASES.duckdb, made once). Output: the raw timings (TSV) on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
n="${1:-10000000}"
runs="${2:-5}"

db="$(scripts/bench-store.sh "$n")"
bin="$CARGO_TARGET_DIR/release/fengqiao"

echo "# in-process (analytics/benches/emerging.rs), $(nproc) cores, $(date -u +%F)"
FENGQIAO_BENCH_DB="$db" FENGQIAO_BENCH_RUNS="$runs" cargo bench --quiet -p fengqiao-analytics --bench emerging

echo "# end to end: the CLI, one process each (wall time and peak RSS)"
for cmd in "trends --steps 52" "alerts --limit 0" "recurring" "recurring --chains"; do
  # shellcheck disable=SC2086
  /usr/bin/time -f "$cmd	%e s	%M KiB" "$bin" $cmd --db "$db" --out /dev/null --format csv 2>&1 >/dev/null | tail -1
done

echo "# Mann–Kendall + classification vs pymannkendall"
scripts/bench-mann-kendall.sh
