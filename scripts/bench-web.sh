#!/usr/bin/env bash
# Page benchmark (issue 6) on the 10 M-case store (scripts/bench-store.sh): a release `fengqiao serve`
# on loopback without tokens, and web/browser-tests/bench.mjs in headless Chromium (wall and explorer
# load times, explorer interactions, a playback soak with the JS heap before and after).
#   scripts/bench-web.sh [CASES] [SOAK_SECONDS]     defaults 10000000 180
# Output: TSV `page  phase  value` on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
n="${1:-10000000}"
export SOAK_SECONDS="${2:-180}"
scripts/browser-deps.sh
cargo build --release --quiet --bin fengqiao
db="$(scripts/bench-store.sh "$n")"
work="$PWD/bench-out/web"
mkdir -p "$work"
port=18081
export FENGQIAO_URL="http://127.0.0.1:$port"
"$CARGO_TARGET_DIR/release/fengqiao" serve --db "$db" --addr "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "$FENGQIAO_URL/healthz" >/dev/null && break; sleep 0.2; done
# The in-memory case columns serve every later layer: wait for them, as a wall server would have.
for _ in $(seq 1 300); do grep -q "case columns loaded" "$work/serve.log" && break; sleep 0.2; done
printf 'page\tphase\tvalue\n'
node web/browser-tests/bench.mjs
# The details API alone (what a click waits for), three times each.
last=$(curl -s "$FENGQIAO_URL/api/version" | python3 -c 'import json,sys; print(json.load(sys.stdin)["last_day"])')
cell=$(curl -s "$FENGQIAO_URL/api/hotspots?from=2026-10-02&to=$last" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["cells"][0])')
for q in "cell=$cell" "unit=431002" ""; do
  for i in 1 2 3; do
    t=$(curl -s -o /dev/null -w '%{time_total}' "$FENGQIAO_URL/api/profile?$q&from=2026-10-02&to=$last")
    printf 'api\tprofile %s (run %s) ms\t%s\n' "${q:-region}" "$i" "$(awk -v t="$t" 'BEGIN { printf "%.0f", t * 1000 }')"
  done
done
