#!/usr/bin/env bash
# Soak benchmark (issue 16): a release `fengqiao serve` with a display token on the benchmark store
# of N cases (scripts/bench-store.sh) under the wall's own request pattern (scripts/bench/walls.py:
# WALLS walls in the four kiosk modes) for MINUTES minutes; the server's RSS every 10 s. The summary
# is the RSS after a warm-up of WARMUP minutes: its minimum, maximum and their spread around the mean.
#
#   scripts/bench-soak.sh [MINUTES] [CASES] [WALLS] [WARMUP]     defaults 30 1000000 8 5
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
minutes="${1:-30}"
n="${2:-1000000}"
walls="${3:-8}"
warmup="${4:-5}"
db="$(scripts/bench-store.sh "$n")"
bin="$CARGO_TARGET_DIR/release/fengqiao"
work="$PWD/bench-out/soak"
mkdir -p "$work"
port=18097
base="http://127.0.0.1:$port"
token=soak-wall-display-token-0123456789
printf '[[tokens]]\nname = "wall"\ntoken = "%s"\nrole = "display"\n' "$token" >"$work/fengqiao.toml"
"$bin" serve --db "$db" --addr "127.0.0.1:$port" --config "$work/fengqiao.toml" >"$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done
for _ in $(seq 1 600); do grep -q "heat layers warmed up" "$work/serve.log" && break; sleep 0.5; done
rss="$work/rss.tsv"
start=$(date +%s)
: >"$rss"
( while kill -0 $server 2>/dev/null; do
    echo "$(( $(date +%s) - start ))	$(awk '/VmRSS/ {print $2}' /proc/$server/status)" >>"$rss"; sleep 10
  done ) &
sampler=$!
python3 scripts/bench/walls.py "$base" "$token" "$minutes" "$walls" | tee "$work/walls.log"
kill $sampler 2>/dev/null || true
awk -F'\t' -v w=$((warmup * 60)) '$1 >= w { n++; s += $2; if (!min || $2 < min) min = $2; if ($2 > max) max = $2 }
  END { mean = s / n; printf "rss after %d s warm-up: %d samples, min %.0f MiB, max %.0f MiB, mean %.0f MiB, spread %+.1f%% / %+.1f%%\n",
        w, n, min / 1024, max / 1024, mean / 1024, 100 * (min - mean) / mean, 100 * (max - mean) / mean }' "$rss"
awk -F'\t' 'NR == 1 { printf "rss at start %.0f MiB\n", $2 / 1024 } END { printf "rss at the end %.0f MiB\n", $2 / 1024 }' "$rss"
