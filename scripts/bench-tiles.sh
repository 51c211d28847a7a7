#!/usr/bin/env bash
# Tile-server benchmark (issue 5) on the 10 M-case store (scripts/bench-store.sh), loopback, wrk:
#   for zooms 8, 10, 12, unfiltered and filtered (category=labour):
#     cold — a fresh server; the first tile (computes the zoom's heat layer), then each tile of the
#            list once (curl, sequential): median / p99 latency;
#     warm — wrk, 2 threads, CONNS connections, DURATION seconds over the same list: tiles/s,
#            p50 / p99 latency, errors.
#   Installs wrk from the Debian packages when missing.
#
#   scripts/bench-tiles.sh [CASES] [CONNS] [DURATION]     defaults 10000000 32 15
# Output: TSV lines `zoom filter phase requests tiles_per_s p50_ms p99_ms max_ms errors` on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
n="${1:-10000000}"
conns="${2:-32}"
duration="${3:-15}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
db="$(scripts/bench-store.sh "$n")"
bin="$CARGO_TARGET_DIR/release/fengqiao"
work="$PWD/bench-out/tiles"
mkdir -p "$work"
port=18080
base="http://127.0.0.1:$port"

start_server() {
  "$bin" serve --db "$db" --addr "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && return; sleep 0.2; done
  echo "the server did not start: $(cat "$work/serve.log")" >&2
  exit 1
}
stop_server() { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; }
trap stop_server EXIT

printf 'zoom\tfilter\tphase\trequests\ttiles_per_s\tp50_ms\tp99_ms\tmax_ms\terrors\n'
for filter in "" "category=labour"; do
  start_server
  # Let the in-memory case columns load (they serve every later layer).
  for _ in $(seq 1 300); do grep -q "case columns loaded" "$work/serve.log" && break; sleep 0.2; done
  for z in 8 10 12; do
    urls="$work/urls-$z.txt"
    # Without tokens in a configuration the server makes an admin token for the run, beside the
    # store; tiles take it in the URL as the wall does.
    token=$(cat "${db%.duckdb}.admin-token")
    python3 scripts/bench/tile_urls.py "$base/tiles/hex" "$z" 400 "${filter:+$filter&}access_token=$token" >"$urls"
    # Cold: the first tile computes the layer; then every tile once.
    first=$(curl -s -o /dev/null -w '%{time_total}' "$(head -1 "$urls")")
    printf '%s\t%s\tfirst_tile\t1\t\t%.1f\t\t\t0\n' "$z" "${filter:-none}" "$(echo "$first * 1000" | bc -l)"
    tail -n +2 "$urls" | while read -r url; do curl -s -o /dev/null -w '%{time_total}\n' "$url"; done \
      | sort -n | awk -v z="$z" -v f="${filter:-none}" '{a[NR]=$1} END {printf "%s\t%s\tcold\t%d\t\t%.2f\t%.2f\t%.2f\t0\n", z, f, NR, a[int(NR*0.5)+1]*1000, a[int(NR*0.99)+1]*1000, a[NR]*1000}'
    # Warm.
    WRK_URLS="$urls" wrk -t2 -c"$conns" -d"${duration}s" -s scripts/bench/urls.lua "$base" \
      | awk -F'\t' -v z="$z" -v f="${filter:-none}" '/^RESULT/ {printf "%s\t%s\twarm\t%s\t%s\t%s\t%s\t%s\t%s\n", z, f, $2, $3, $4, $5, $6, $7}'
  done
  stop_server
done
