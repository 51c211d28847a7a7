#!/usr/bin/env bash
# Fetch DuckDB's official prebuilt libduckdb.so (1.5.6) from the npm registry and check its sha256.
# Prints the directory that holds it. Idempotent: a verified copy is reused.
#
# Why: compiling DuckDB from source (the duckdb crate's `bundled` feature) takes 30-45 minutes per
# profile on a 2-core machine; linking the prebuilt library takes seconds.
set -euo pipefail
version=1.5.6-r.1
sha=3f4962cdd266eab2b479a5b5a4a6d063d279b2954ae814ed00385d553b747633
dir="${FENGQIAO_DUCKDB_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fengqiao/duckdb-$version}"
if [ -f "$dir/libduckdb.so" ] && echo "$sha  $dir/libduckdb.so" | sha256sum -c --status; then
  echo "$dir"
  exit 0
fi
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@duckdb/node-bindings-linux-x64@$version" >/dev/null)
tar -xzf "$tmp"/duckdb-node-bindings-linux-x64-*.tgz -C "$tmp" package/libduckdb.so package/LICENSE
if ! echo "$sha  $tmp/package/libduckdb.so" | sha256sum -c --status; then
  echo "libduckdb.so from @duckdb/node-bindings-linux-x64@$version has an unexpected sha256" >&2
  exit 1
fi
mv "$tmp/package/libduckdb.so" "$tmp/package/LICENSE" "$dir/"
echo "$dir"
