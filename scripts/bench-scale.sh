#!/usr/bin/env bash
# National volume on one box (issue 17): every step of the pipeline on N cases (default 100 M), each
# as one process timed by GNU time (wall seconds, peak RSS), in order:
#   generate (Parquet) · ingest · heat maps (year: first run, which keeps the case columns beside
#   the store, then warm; week; filtered; risk) · trends at res 8 and 9 · recurring · alerts ·
#   weekly briefing · server start-up (listening, columns loaded, warmed) · tiles cold and warm.
#
#   scripts/bench-scale.sh [CASES] [DIR] [PART]    defaults 100000000, bench-out/scale, all
# PART `serve`: only the server's start-up and tiles (e.g. to compare two encoders on one store).
# Reuses DIR/cases-CASES.parquet and DIR/store-CASES.duckdb when present (delete them to re-measure
# generate and ingest). Output: TSV rows `step  seconds  peak_MiB  note` on stdout; each step's
# output and standard error in DIR/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
source scripts/env.sh
n="${1:-100000000}"
dir="${2:-$repo/bench-out/scale}"
part="${3:-all}"
mkdir -p "$dir/logs"
# FENGQIAO_BIN: another build to measure (e.g. before a change), instead of this checkout's release.
bin="${FENGQIAO_BIN:-$CARGO_TARGET_DIR/release/fengqiao}"
[ -n "${FENGQIAO_BIN:-}" ] || cargo build --release --quiet --bin fengqiao
parquet="$dir/cases-$n.parquet"
db="$dir/store-$n.duckdb"
as_of=2026-11-01

# step NAME NOTE CMD...: one timed process.
step() {
  local name="$1" note="$2"
  shift 2
  /usr/bin/time -f '%e %M' -o "$dir/logs/$name.time" "$@" >"$dir/logs/$name.out" 2>"$dir/logs/$name.err" \
    || { echo "step $name failed: $(tail -3 "$dir/logs/$name.err")" >&2; return 1; }
  read -r secs kib <"$dir/logs/$name.time"
  printf '%s\t%s\t%d\t%s\n' "$name" "$secs" $((kib / 1024)) "$note"
}

printf 'step\tseconds\tpeak_MiB\tnote\n'
if [ "$part" = all ]; then
[ -f "$parquet" ] || step generate "$n cases, 12 months, seed 42" \
  "$bin" generate --cases "$n" --months 12 --end 2026-10-31 --seed 42 --out "$parquet"
if [ ! -f "$db" ]; then
  rm -f "$db.wal" "$db.columns"
  step ingest "Parquet → store" "$bin" ingest --db "$db" "$parquet"
fi
rm -f "$db.columns"
heat=("$bin" heatmap --db "$db" --res 8 --as-of "$as_of")
step heatmap-year-first "count, res 8; keeps the case columns" "${heat[@]}" --measure count --out "$dir/logs/year.csv"
step heatmap-year "count, res 8, from the kept columns" "${heat[@]}" --measure count --out "$dir/logs/year.csv"
step heatmap-year-risk "excess, res 8" "${heat[@]}" --out "$dir/logs/year-risk.csv"
step heatmap-week "excess, res 8, one week" "${heat[@]}" --from 2026-10-19 --to 2026-10-25 --out "$dir/logs/week.csv"
step heatmap-filtered "excess, res 8, labour in county 431002" "${heat[@]}" --category labour --unit 431002 \
  --out "$dir/logs/filtered.csv"
step heatmap-year-res9 "count, res 9" "$bin" heatmap --db "$db" --res 9 --as-of "$as_of" --measure count \
  --out "$dir/logs/year9.csv"
step trends-res8 "52 weeks, excess" "$bin" trends --db "$db" --res 8 --out "$dir/logs/trends8.csv"
step trends-res9 "52 weeks, excess" "$bin" trends --db "$db" --res 9 --out "$dir/logs/trends9.csv"
step recurring "villages, 8 weeks" "$bin" recurring --db "$db" --out "$dir/logs/recurring.csv"
step alerts "villages, last 7 days" "$bin" alerts --db "$db" --out "$dir/logs/alerts.csv"
rm -rf "$dir/briefing"
step briefing "week 2026-W44, PDF + HTML" "$bin" briefing --db "$db" --week 2026-W44 --out "$dir/briefing"
fi

# The server: start-up to listening, to columns loaded, peak RSS; then tiles cold (first request of
# each tile, one at a time) and warm (wrk, 32 connections).
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
port=18090
base="http://127.0.0.1:$port"
log="$dir/logs/serve.err"
t0=$(date +%s.%N)
"$bin" serve --db "$db" --addr "127.0.0.1:$port" >"$dir/logs/serve.out" 2>"$log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
until curl -sf "$base/healthz" >/dev/null; do sleep 0.1; done
t1=$(date +%s.%N)
until grep -q "case columns loaded" "$log"; do sleep 0.5; done
t2=$(date +%s.%N)
hwm() { awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$server/status"; }
printf 'serve-listening\t%.2f\t%s\t/healthz answers\n' "$(echo "$t1 - $t0" | bc -l)" "$(hwm)"
printf 'serve-columns\t%.2f\t%s\tcase columns loaded\n' "$(echo "$t2 - $t0" | bc -l)" "$(hwm)"
# Without tokens in a configuration the server makes an admin token for the run, in a file beside
# the store; tiles take it in the URL as the wall does.
token=$(cat "${db%.duckdb}.admin-token")
for z in 8 10 12; do
  urls="$dir/logs/urls-$z.txt"
  python3 scripts/bench/tile_urls.py "$base/tiles/hex" "$z" 200 "access_token=$token" >"$urls"
  cold=$(while read -r url; do curl -s -o /dev/null -w '%{time_total}\n' "$url"; done <"$urls" | sort -n \
    | awk '{a[NR]=$1} END {printf "p50 %.1f ms, p99 %.1f ms, max %.1f ms", a[int(NR*0.5)+1]*1000, a[int(NR*0.99)+1]*1000, a[NR]*1000}')
  printf 'tiles-z%s-cold\t\t%s\t%s (%s tiles, one at a time)\n' "$z" "$(hwm)" "$cold" "$(wc -l <"$urls")"
  WRK_URLS="$urls" wrk -t2 -c32 -d10s -s scripts/bench/urls.lua "$base" \
    | awk -F'\t' -v z="$z" -v m="$(hwm)" '/^RESULT/ {printf "tiles-z%s-warm\t\t%s\t%s requests, %s tiles/s, p50 %s ms, p99 %s ms, errors %s\n", z, m, $2, $3, $4, $5, $7}'
done
printf 'serve-peak\t\t%s\tthe server over the whole run\n' "$(hwm)"
kill "$server"
wait "$server" 2>/dev/null || true
