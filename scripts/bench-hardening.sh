#!/usr/bin/env bash
# Load benchmark of the hardened server (issue 16): a release `fengqiao serve` with tokens on the
# benchmark store of N cases (scripts/bench-store.sh), loopback, wrk (Debian's, installed when
# missing). First the wall's tiles alone (8 connections, 20 s: the unloaded latency); then the wall's
# traffic for DURATION seconds — 150 connections on its tiles (a display token) and 40 on its API
# calls (another display token) — once alone ("baseline") and once with 10 more connections of one
# abusive analyst ("abused", 200 in all; scripts/bench/hardening_urls.py says what each asks), the
# server's RSS sampled every second.
#
#   scripts/bench-hardening.sh [CASES] [DURATION]     defaults 1000000 60
# Output: TSV `phase client requests req_per_s p50_ms p99_ms max_ms connect/read/write/timeout non_2xx`,
# then the RSS, the load average, and the abuser's refusals (413, 503) by route.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
n="${1:-1000000}"
duration="${2:-60}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
db="$(scripts/bench-store.sh "$n")"
bin="$CARGO_TARGET_DIR/release/fengqiao"
work="$PWD/bench-out/hardening"
mkdir -p "$work"
port=18096
base="http://127.0.0.1:$port"
wall=wall-display-token-0123456789abcdef
api=api-display-token-0123456789abcdef
abuser=abusive-analyst-token-0123456789ab
cat >"$work/fengqiao.toml" <<TOML
[[tokens]]
name = "wall-tiles"
token = "$wall"
role = "display"
[[tokens]]
name = "wall-api"
token = "$api"
role = "display"
[[tokens]]
name = "abuser"
token = "$abuser"
role = "analyst"
TOML
"$bin" serve --db "$db" --addr "127.0.0.1:$port" --config "$work/fengqiao.toml" >"$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done
for _ in $(seq 1 600); do grep -q "heat layers warmed up" "$work/serve.log" && break; sleep 0.5; done
version="$(curl -sf -H "Authorization: Bearer $api" "$base/api/version")"
last="$(echo "$version" | python3 -c 'import json,sys; print(json.load(sys.stdin)["last_day"])')"
v="$(echo "$version" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')"
python3 scripts/bench/hardening_urls.py "$work" "$last" "$v"
run() { # phase client token urls connections seconds
  WRK_URLS="$work/$4" WRK_TOKEN="$3" wrk -t1 -c"$5" -d"$6s" --timeout 10s -s scripts/bench/mix.lua "$base" \
    | awk -v p="$1" -v c="$2" -F'\t' '/^RESULT/ { OFS="\t"; $1 = p "\t" c; print }'
}
# Warm: every URL of the wall once (layers of the week computed, tiles cached).
for list in tiles api; do
  while read -r path; do curl -s -o /dev/null -H "Authorization: Bearer $wall" "$base$path"; done <"$work/$list.txt"
done
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
printf 'phase\tclient\trequests\treq_per_s\tp50_ms\tp99_ms\tmax_ms\tconnect/read/write/timeout\tnon_2xx\n'
run unloaded tiles "$wall" tiles.txt 8 20
sample() { # file: the server's RSS (KiB) every second while it runs
  ( while kill -0 $server 2>/dev/null; do
      echo "$(date +%s)	$(awk '/VmRSS/ {print $2}' /proc/$server/status)" >>"$1"; sleep 1
    done ) &
  sampler=$!
}
rss_summary() {
  awk -F'\t' -v p="$2" 'NR == 1 || $2 > max { max = $2 } NR == 1 || $2 < min { min = $2 } END {
    printf "%s\trss_mib\tmin %.0f\tmax %.0f\tsamples %d\n", p, min / 1024, max / 1024, NR }' "$1"
}
# The same wall traffic without and with the abusive client, each for DURATION seconds.
for phase in baseline abused; do
  rss="$work/rss-$phase.tsv"
  : >"$rss"
  sample "$rss"
  run "$phase" tiles "$wall" tiles.txt 150 "$duration" >"$work/tiles.out" &
  a=$!
  run "$phase" api "$api" api.txt 40 "$duration" >"$work/api.out" &
  b=$!
  if [ "$phase" = abused ]; then
    run "$phase" abuser "$abuser" abuse.txt 10 "$duration" >"$work/abuse.out" &
    c=$!
  else
    : >"$work/abuse.out"
    c=
  fi
  wait $a $b $c
  kill $sampler 2>/dev/null || true
  cat "$work/tiles.out" "$work/api.out" "$work/abuse.out"
  rss_summary "$rss" "$phase"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "status codes of the abuser's answers (server log has none; from /metrics):"
curl -sf -H "Authorization: Bearer $api" "$base/metrics" | grep -E '^fengqiao_requests_total' | awk '{ s[$1] = $2 } END { for (k in s) print k, s[k] }' | sort | grep -E 'status="(413|503|429|500)"' || true
