#!/usr/bin/env bash
# Onboarding benchmarks (issue 15): `fengqiao region import` of a province-sized region (30,000
# villages, 100,000 grid polygons, made by scripts/make_test_regions.py --bench), and address
# matching of 1 M address-only rows: the gazetteer alone (ingest/benches/gazetteer.rs, all cores and
# one thread) and the whole `fengqiao ingest --mapping` of the 1 M-row CSV. Wall time and peak RSS
# (GNU time; the bench prints its own VmHWM).
#
#   scripts/bench-onboard.sh [VILLAGES GRIDS]
# Output: Markdown on stdout; work files in bench-out/onboard/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
villages="${1:-30000}"
grids="${2:-100000}"
out=bench-out/onboard
rm -rf "$out"
mkdir -p "$out"
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
measure() { # prints "seconds peak_kib" of a command
  /usr/bin/time -f '%e %M' -o "$out/time.txt" "$@" >"$out/stdout.txt" 2>"$out/stderr.txt" || { cat "$out/stderr.txt" >&2; exit 1; }
  cat "$out/time.txt"
}
cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/fengqiao"
python3 scripts/make_test_regions.py --bench "$out/src" --villages "$villages" --grids "$grids" >&2

read -r imp_s imp_kib < <(measure "$bin" region import "$out/src/recipe.toml" --out "$out/region")
units=$(tail -n +2 "$out/src/units.csv" | wc -l)
echo "| step | input | wall s | peak RSS MiB | rate |"
echo "|---|---|---:|---:|---:|"
echo "| region import | $units units ($villages villages), $grids grid polygons | $imp_s | $((imp_kib / 1024)) | $(python3 -c "print(f'{$units / $imp_s:,.0f} units/s')") |"

cat > "$out/mapping.toml" <<'TOML'
[columns]
"编号" = "case_id"
"详细地址" = "address"
TOML
rows=$(($(wc -l < "$out/src/addresses.csv") - 1))
read -r ing_s ing_kib < <(measure env CI=1 "$bin" ingest --db "$out/store.duckdb" --region "$out/region" --mapping "$out/mapping.toml" "$out/src/addresses.csv")
loaded=$(grep -o '— [0-9]* loaded' "$out/stderr.txt" | grep -o '[0-9]*')
echo "| ingest by address (\`fengqiao ingest --mapping\`) | $rows address-only rows, $loaded loaded | $ing_s | $((ing_kib / 1024)) | $(python3 -c "print(f'{$rows / $ing_s:,.0f} rows/s')") |"

FENGQIAO_BENCH_REGION="$PWD/$out/region" FENGQIAO_BENCH_ADDRESSES="$PWD/$out/src/addresses.csv" \
  cargo bench --quiet -p fengqiao-ingest --bench gazetteer > "$out/gazetteer.txt"
while IFS=$'\t' read -r name median min rate; do
  case "$name" in
    by_address_*) echo "| address matching alone (\`Gazetteer::by_address\`, ${name#by_address_}) | $rows addresses | $(python3 -c "print(f'{$median / 1000:.2f}')") (min $(python3 -c "print(f'{$min / 1000:.2f}')")) | $(awk -F'\t' '/^peak_rss_mib/ {print $2}' "$out/gazetteer.txt") | $(python3 -c "print(f'{$rate:,.0f} rows/s')") |" ;;
  esac
done < "$out/gazetteer.txt"
grep '^info' "$out/gazetteer.txt" | sed 's/^info\t/    /' >&2
echo
echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%Y-%m-%d)."
