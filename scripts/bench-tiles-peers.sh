#!/usr/bin/env bash
# The tile benchmark's peers (issue 5): martin serving the same hexagons (1) from PostgreSQL + PostGIS
# as table sources (one table per H3 resolution, the resolution Fengqiao draws at each zoom) and (2)
# pre-rendered by martin-cp into one MBTiles file per zoom (the upper bound: no computation at all;
# martin-cp writes MBTiles, not PMTiles, and no PMTiles writer is installable offline), measured
# with the same wrk script, URL lists and concurrency as scripts/bench-tiles.sh, unfiltered (martin
# has no server-side filters). Installs PostgreSQL + PostGIS (Debian packages) and martin
# (`cargo install martin`, the version this toolchain builds) when missing.
#
#   scripts/bench-tiles-peers.sh [CASES] [CONNS] [DURATION]     defaults 10000000 32 15
# Output: TSV `zoom server phase requests tiles_per_s p50_ms p99_ms max_ms errors` for Fengqiao and
# martin+PostGIS, one after the other, same machine, same run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
n="${1:-10000000}"
conns="${2:-32}"
duration="${3:-15}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/fengqiao"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgis >/dev/null
fi
martin="$cache/martin/bin/martin"
if [ ! -x "$martin" ]; then
  CARGO_TARGET_DIR="$cache/martin-target" cargo install martin@1.14.0 --locked --no-default-features --features postgres,pmtiles,mbtiles,metrics --root "$cache/martin"
fi
pyref="$cache/pyref"
"$pyref/bin/python" -c 'import h3' 2>/dev/null || "$pyref/bin/pip" install --quiet h3

db="$(scripts/bench-store.sh "$n")"
bin="$CARGO_TARGET_DIR/release/fengqiao"
work="$PWD/bench-out/tiles"
mkdir -p "$work"
port=18080
base="http://127.0.0.1:$port"

# PostgreSQL: the distribution's cluster, a bench role and database.
service postgresql start >/dev/null
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='bench'\"" | grep -q 1 \
  || su postgres -c "psql -qc \"CREATE ROLE bench LOGIN PASSWORD 'bench'\""
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='bench'\"" | grep -q 1 \
  || su postgres -c "createdb -O bench bench"
su postgres -c "psql -q -d bench -c 'CREATE EXTENSION IF NOT EXISTS postgis'"
export PGPASSWORD=bench
psql_bench() { psql -q -h 127.0.0.1 -U bench -d bench "$@"; }

# The same hexagons: Fengqiao's heat map at res 7, 8, 9 (zooms 8, 10, 12), cells a tile draws.
"$bin" serve --db "$db" --addr "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; [ -n "${martin_pid:-}" ] && kill $martin_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done
for _ in $(seq 1 300); do grep -q "case columns loaded" "$work/serve.log" && break; sleep 0.2; done
for res in 7 8 9; do
  psql_bench -c "DROP TABLE IF EXISTS hex_r$res;
    CREATE TABLE hex_r$res (h3 text PRIMARY KEY, count integer, score double precision, gi_z double precision,
      confidence integer, level text, top_category text, geom geometry(Polygon, 3857));"
  curl -sf "$base/api/heatmap?res=$res&format=csv" | "$pyref/bin/python" scripts/bench/hex_to_pg.py \
    | psql_bench -c "COPY hex_r$res FROM STDIN"
  psql_bench -c "CREATE INDEX ON hex_r$res USING gist (geom); ANALYZE hex_r$res;"
done

cat >"$work/martin.yaml" <<YAML
listen_addresses: '127.0.0.1:3000'
worker_processes: 2
postgres:
  connection_string: 'postgresql://bench:bench@127.0.0.1/bench'
  pool_size: 20
  auto_publish: false
  tables:
YAML
for res in 7 8 9; do
  cat >>"$work/martin.yaml" <<YAML
    hex_r$res:
      schema: public
      table: hex_r$res
      srid: 3857
      geometry_column: geom
      geometry_type: POLYGON
      properties: { h3: text, count: int4, score: float8, gi_z: float8, confidence: int4, level: text, top_category: text }
YAML
done
"$martin" --config "$work/martin.yaml" >"$work/martin.log" 2>&1 &
martin_pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:3000/health" >/dev/null && break; sleep 0.2; done

printf 'zoom\tserver\tphase\trequests\ttiles_per_s\tp50_ms\tp99_ms\tmax_ms\terrors\n'
for z in 8 10 12; do
  res=$(( z <= 9 ? 7 : (z <= 11 ? 8 : 9) ))
  ours="$work/urls-$z.txt"
  python3 scripts/bench/tile_urls.py "$base/tiles/hex" "$z" 400 >"$ours"
  theirs="$work/martin-urls-$z.txt"
  python3 scripts/bench/tile_urls.py "http://127.0.0.1:3000/hex_r$res" "$z" 400 \
    | sed 's/\.mvt$//' >"$theirs"
  for pass in 1 2; do  # the first pass warms both caches; the second is measured
    for side in fengqiao martin; do
      if [ "$side" = fengqiao ]; then urls="$ours"; target="$base"; else urls="$theirs"; target="http://127.0.0.1:3000"; fi
      [ "$side" = martin ] && side_name=martin_postgis || side_name=fengqiao
      result=$(WRK_URLS="$urls" wrk -t2 -c"$conns" -d"${duration}s" -s scripts/bench/urls.lua "$target" | grep '^RESULT')
      [ "$pass" = 2 ] && printf '%s\t%s\twarm\t%s\n' "$z" "$side_name" "$(echo "$result" | cut -f2-)"
    done
  done
done

# The upper bound: the same tiles pre-rendered into MBTiles by martin-cp, served by martin.
kill "$martin_pid" 2>/dev/null || true
mbtiles=()
for zr in "8 7" "10 8" "12 9"; do
  set -- $zr
  rm -f "$work/hex-z$1.mbtiles"
  "$cache/martin/bin/martin-cp" --config "$work/martin.yaml" --source "hex_r$2" --output-file "$work/hex-z$1.mbtiles" \
    --min-zoom "$1" --max-zoom "$1" --bbox 112.22,24.89,114.23,26.84 --encoding gzip >>"$work/martin-cp.log" 2>&1
  mbtiles+=("$work/hex-z$1.mbtiles")
done
"$martin" "${mbtiles[@]}" --listen-addresses 127.0.0.1:3001 --workers 2 >"$work/martin-mbtiles.log" 2>&1 &
martin_pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:3001/health" >/dev/null && break; sleep 0.2; done
for z in 8 10 12; do
  urls="$work/mbtiles-urls-$z.txt"
  python3 scripts/bench/tile_urls.py "http://127.0.0.1:3001/hex-z$z" "$z" 400 | sed 's/\.mvt$//' >"$urls"
  for pass in 1 2; do
    result=$(WRK_URLS="$urls" wrk -t2 -c"$conns" -d"${duration}s" -s scripts/bench/urls.lua http://127.0.0.1:3001 | grep '^RESULT')
    [ "$pass" = 2 ] && printf '%s\tmartin_mbtiles\twarm\t%s\n' "$z" "$(echo "$result" | cut -f2-)"
  done
done
