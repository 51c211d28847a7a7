#!/usr/bin/env bash
# Fetches the CJK font of the briefings (and, later, the web pages) from the npm registry, checks the
# package's pinned sha256, and copies Noto Sans SC Regular and Bold with their SIL OFL 1.1 licence into
# data/fonts/. The result is committed: builds and runs never need the network.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
package="@expo-google-fonts/noto-sans-sc"
version="0.4.3"
sha256="0d69d0f4971d2ff574e3d93cbc218dc950bf3f3f8f8e2c008d97687ed53aee59"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$package@$version" >/dev/null)
tarball="$work/expo-google-fonts-noto-sans-sc-$version.tgz"
echo "$sha256  $tarball" | sha256sum --check --quiet
tar -xzf "$tarball" -C "$work" \
    package/400Regular/NotoSansSC_400Regular.ttf package/700Bold/NotoSansSC_700Bold.ttf package/LICENSE_FONT
mkdir -p "$repo/data/fonts"
cp "$work/package/400Regular/NotoSansSC_400Regular.ttf" "$repo/data/fonts/NotoSansSC-Regular.ttf"
cp "$work/package/700Bold/NotoSansSC_700Bold.ttf" "$repo/data/fonts/NotoSansSC-Bold.ttf"
cp "$work/package/LICENSE_FONT" "$repo/data/fonts/OFL.txt"
echo "data/fonts: Noto Sans SC Regular and Bold ($package@$version, SIL OFL 1.1)"
