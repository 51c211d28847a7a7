#!/usr/bin/env bash
# The full fuzz-style run (issue 16): tiles/tests/fuzz.rs's random query strings and malformed
# uploads, 1,000,000 and 100,000 of them (CI runs 3,000 and 200), release build. No answer may be a
# 5xx; prints the counts of each status and the time taken. CLIENTS requests are in flight at once.
# Built for the whole workspace (as scripts/test builds it), so the features are the same.
#
#   scripts/bench-fuzz.sh [QUERIES] [UPLOADS] [SEED] [CLIENTS]     defaults 1000000 100000 16 2
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
FENGQIAO_FUZZ_QUERIES="${1:-1000000}" FENGQIAO_FUZZ_UPLOADS="${2:-100000}" FENGQIAO_FUZZ_SEED="${3:-16}" \
  FENGQIAO_FUZZ_CLIENTS="${4:-2}" cargo test --release --workspace --test fuzz random_queries -- --nocapture
