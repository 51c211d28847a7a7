#!/usr/bin/env bash
# Vendors the wall display's front-end libraries from npm into web/static/vendor/ (committed: the
# server embeds them and needs no network at run time). Pinned versions and tarball sha256s; each
# library's licence comes with it. Re-run after changing a version (and its sha256) below.
#
#   scripts/vendor-web.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out="web/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# package@version  sha256 of the npm tarball  files to keep (paths inside the package)
packages=(
  "maplibre-gl@6.17.0 587807d8d6c99349022e027fa310c16cfaa55392131f6263df080306db6809b0 dist/maplibre-gl.mjs dist/maplibre-gl-worker.mjs dist/maplibre-gl.css LICENSE.txt"
  "echarts@6.1.0 681aff88cc1038c3fa941a3a53d1b177a52250b05335efc607d6105ae13be481 dist/echarts.min.js LICENSE NOTICE"
)

for entry in "${packages[@]}"; do
  read -r spec sha files <<<"$entry"
  name="${spec%@*}"
  (cd "$work" && npm pack "$spec" --silent >/dev/null)
  tarball="$work/$(echo "$name" | tr -d @ | tr / -)-${spec#*@}.tgz"
  echo "$sha  $tarball" | sha256sum --check --quiet || { echo "$spec: sha256 mismatch" >&2; exit 1; }
  rm -rf "${out:?}/$name"
  mkdir -p "$out/$name"
  for f in $files; do
    tar xzf "$tarball" -C "$work" "package/$f"
    cp "$work/package/$f" "$out/$name/$(basename "$f")"
  done
  echo "$spec ($sha)" >"$out/$name/VERSION"
  echo "vendored $spec into $out/$name"
done
