#!/usr/bin/env bash
# What the browser tests (tests/browser.rs) need, installed when missing: Debian's Chromium and a CJK
# font (apt), and playwright-core pinned by web/browser-tests/package-lock.json (npm ci). Run by
# scripts/test; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# (grep -c reads all of fc-list: with -q, fc-list would die of SIGPIPE and pipefail call it missing)
[ "$(fc-list 2>/dev/null | grep -ci "Noto Sans CJK")" -gt 0 ] || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -gt 0 ]; then
  echo "scripts/browser-deps.sh: installing ${missing[*]} (apt)" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
pinned=$(node -p "require('./web/browser-tests/package.json').dependencies['playwright-core']")
installed=$(node -p "require('./web/browser-tests/node_modules/playwright-core/package.json').version" 2>/dev/null || true)
if [ "$pinned" != "$installed" ]; then
  echo "scripts/browser-deps.sh: npm ci in web/browser-tests" >&2
  npm ci --prefix web/browser-tests --no-audit --no-fund --loglevel=error >/dev/null
fi
