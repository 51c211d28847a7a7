# Sourced by scripts/demo, scripts/test and .ci/run: the build environment.
# - DuckDB: link the prebuilt libduckdb.so (scripts/duckdb.sh) and put it on the binaries' rpath.
# - CARGO_TARGET_DIR outside the clone, so a fresh clone on the same machine reuses earlier builds.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DUCKDB_LIB_DIR="$("$repo/scripts/duckdb.sh")"
export DUCKDB_LIB_DIR
# Once only: .ci/run sources this and so does scripts/test under it; different flags would make cargo
# rebuild everything for the second.
case " ${RUSTFLAGS:-} " in
  *" -C link-arg=-Wl,-rpath,$DUCKDB_LIB_DIR "*) ;;
  *) export RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-Wl,-rpath,$DUCKDB_LIB_DIR" ;;
esac
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fengqiao/target}"
