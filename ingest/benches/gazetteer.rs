//! Address matching benchmark, run by `scripts/bench-onboard.sh`; not a test.
//!
//! Loads a region directory (`FENGQIAO_BENCH_REGION`, the province-sized one the script imports) and
//! the `详细地址` column of an address-only export (`FENGQIAO_BENCH_ADDRESSES`, 1 M rows), builds the
//! gazetteer, and times matching every address with `Gazetteer::by_address`: on all cores (rayon, as
//! the ingest does) and on one thread, after one warm-up, `FENGQIAO_BENCH_RUNS` runs (default 5).
//! Prints `name<TAB>median_ms<TAB>min_ms<TAB>rows_per_s`, `peak_rss_mib<TAB>…` and `info<TAB>…` lines
//! (region size, gazetteer build time, rows matched, ambiguous, unknown).
//!
//!   FENGQIAO_BENCH_REGION=DIR FENGQIAO_BENCH_ADDRESSES=FILE cargo bench -p fengqiao-ingest --bench gazetteer

use std::time::Instant;

use fengqiao_ingest::gazetteer::{Gazetteer, NotFound};
use fengqiao_ingest::model::AdminLevel;
use fengqiao_ingest::Region;
use rayon::prelude::*;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        eprintln!("set {name} (scripts/bench-onboard.sh does)");
        std::process::exit(2)
    })
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

fn main() {
    let region = Region::load(std::path::Path::new(&env("FENGQIAO_BENCH_REGION"))).expect("the region loads");
    let mut reader = csv::Reader::from_path(env("FENGQIAO_BENCH_ADDRESSES")).expect("the addresses");
    let column = reader
        .headers()
        .expect("a header")
        .iter()
        .position(|h| h == "详细地址")
        .expect("a 详细地址 column");
    let addresses: Vec<String> = reader
        .records()
        .map(|r| r.expect("a record")[column].to_string())
        .collect();
    let runs: usize = std::env::var("FENGQIAO_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let started = Instant::now();
    let gazetteer = Gazetteer::new(&region);
    println!(
        "info\tregion {} villages, {} grids; gazetteer built in {:.0} ms; {} addresses; {} threads",
        region.level(AdminLevel::Village).count(),
        region.level(AdminLevel::Grid).count(),
        started.elapsed().as_secs_f64() * 1e3,
        addresses.len(),
        rayon::current_num_threads()
    );
    let match_all = |parallel: bool| -> (usize, usize, usize) {
        let one = |a: &String| match gazetteer.by_address(&region, a, &[]) {
            Ok(_) => (1, 0, 0),
            Err(NotFound::Ambiguous { .. }) => (0, 1, 0),
            Err(NotFound::Unknown(_)) => (0, 0, 1),
        };
        let add = |a: (usize, usize, usize), b: (usize, usize, usize)| (a.0 + b.0, a.1 + b.1, a.2 + b.2);
        if parallel {
            addresses.par_iter().map(one).reduce(|| (0, 0, 0), add)
        } else {
            addresses.iter().map(one).fold((0, 0, 0), add)
        }
    };
    for (name, parallel) in [("by_address_all_cores", true), ("by_address_one_thread", false)] {
        let counts = match_all(parallel);
        let mut times: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(match_all(parallel));
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!(
            "{name}\t{median:.1}\t{:.1}\t{:.0}",
            times[0],
            addresses.len() as f64 / (median / 1e3)
        );
        println!(
            "info\t{name}: matched {}, ambiguous {}, unknown {}",
            counts.0, counts.1, counts.2
        );
    }
    println!("peak_rss_mib\t{:.0}", peak_rss_mib());
}
