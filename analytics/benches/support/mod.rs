//! Shared by the benchmarks: timing, peak memory, the store, and failing with a message. Each bench
//! uses part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Instant;

use duckdb::{AccessMode, Config, Connection};

/// One warm-up, then `runs` timed runs: prints `name<TAB>median_ms<TAB>min_ms<TAB>runs`, returns the
/// last result.
pub fn bench<T>(name: &str, runs: usize, mut f: impl FnMut() -> T) -> T {
    let mut last = f();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        last = std::hint::black_box(f());
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let median = if runs % 2 == 1 {
        times[runs / 2]
    } else {
        (times[runs / 2 - 1] + times[runs / 2]) / 2.0
    };
    println!("{name}\t{median:.4}\t{:.4}\t{runs}", times[0]);
    last
}

/// VmHWM of this process, in KiB.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Prints `message` and exits with status 2.
pub fn fail(message: &str) -> ! {
    eprintln!("bench: {message}");
    std::process::exit(2)
}

/// Runs per timing: `FENGQIAO_BENCH_RUNS`, else `default`.
pub fn runs(default: usize) -> usize {
    std::env::var("FENGQIAO_BENCH_RUNS").ok().map_or(default, |v| {
        v.parse().unwrap_or_else(|_| fail("FENGQIAO_BENCH_RUNS: not a number"))
    })
}

/// The store named by `FENGQIAO_BENCH_DB` (or the first argument), opened read-only, and its number
/// of cases (also printed as an `info` line).
pub fn open_store() -> (Connection, u64) {
    let db = std::env::var_os("FENGQIAO_BENCH_DB")
        .map(PathBuf::from)
        .or_else(|| std::env::args_os().skip(1).find(|a| a != "--bench").map(PathBuf::from))
        .unwrap_or_else(|| fail("set FENGQIAO_BENCH_DB (or pass the store path)"));
    let config = Config::default()
        .access_mode(AccessMode::ReadOnly)
        .unwrap_or_else(|e| fail(&e.to_string()));
    let conn = Connection::open_with_flags(&db, config).unwrap_or_else(|e| fail(&format!("{}: {e}", db.display())));
    let cases: u64 = conn
        .query_row("SELECT count(*) FROM cases", [], |r| r.get(0))
        .unwrap_or_else(|e| fail(&e.to_string()));
    println!("info\tstore\t{}\t{cases} cases", db.display());
    (conn, cases)
}
