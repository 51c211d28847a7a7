#!/usr/bin/env bash
# The full fuzz-style run (issue 16): tiles/tests/fuzz.rs's random query strings and malformed
# uploads, 1,000,000 and 100,000 of them (CI runs 3,000 and 200), release build. No answer may be a
# 5xx; prints the counts of each status and the time taken.
#
#   scripts/bench-fuzz.sh [QUERIES] [UPLOADS] [SEED]     defaults 1000000 100000 16
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
FENGQIAO_FUZZ_QUERIES="${1:-1000000}" FENGQIAO_FUZZ_UPLOADS="${2:-100000}" FENGQIAO_FUZZ_SEED="${3:-16}" \
  cargo test --release -p fengqiao-tiles --test fuzz random_queries -- --nocapture
