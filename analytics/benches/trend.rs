//! Mann–Kendall + emerging hot-spot classification benchmark, run by `scripts/bench-mann-kendall.sh`;
//! not a test.
//!
//! 50,000 locations × 52 weekly Gi* z-scores, synthetic and deterministic (the formula below, which
//! `scripts/reference/bench_pymannkendall.py` repeats bit for bit): per location a 64-bit LCG stream,
//! a level in [−3, 3), a slope (±0.06, ±0.02 or 0 by location, so some series trend), triangular noise,
//! and every fifth location quantised to 0.25 (ties). A step is hot/cold when |z| > 1.96.
//!
//! Times, after one warm-up, `FENGQIAO_BENCH_RUNS` runs (default 11) of
//! - `classify_all_50k`: `pattern::classify_all` (Mann–Kendall + class per location, all cores);
//! - `mann_kendall_50k_one_thread`: `trend::mann_kendall` over the 50,000 series on one thread;
//!
//! and prints, like `benches/heatmap.rs`, one line per timing `name<TAB>median_ms<TAB>min_ms<TAB>runs`,
//! `peak_rss_mib<TAB>…` (VmHWM of this process), and `info<TAB>…` lines (threads, class counts).
//! With `FENGQIAO_BENCH_OUT=DIR` it also writes `DIR/rust-mk50k.json` (per location: S, Z, trend),
//! which the Python peer compares with pymannkendall's results on the same series.
//!
//!   cargo bench -p fengqiao-analytics --bench trend

use std::collections::BTreeMap;
use std::path::PathBuf;

use fengqiao_analytics::pattern::{classify_all, classify_all_fdr, BinState, Pattern};
use fengqiao_analytics::trend::{mann_kendall, MannKendall};

mod support;
use support::{bench, fail, peak_rss_kib, runs};

const LOCATIONS: usize = 50_000;
const STEPS: usize = 52;
/// Hot/cold threshold on a step's z: `norm.ppf(0.975)`.
const Z_SIGNIFICANT: f64 = 1.959963984540054;

/// The shared series: location-major z-scores. Keep in step with `bench_pymannkendall.py`.
fn series() -> Vec<f64> {
    let mut z = Vec::with_capacity(LOCATIONS * STEPS);
    for i in 0..LOCATIONS {
        let mut state = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut uniform = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
        };
        let level = 6.0 * uniform() - 3.0;
        let slope = [0.06, -0.06, 0.02, -0.02, 0.0, 0.0, 0.0, 0.0][i % 8];
        for t in 0..STEPS {
            let noise = (uniform() + uniform() - 1.0) * 1.5;
            let mut v = level + slope * (t as f64 - 25.5) + noise;
            if i % 5 == 4 {
                v = (v * 4.0).floor() / 4.0;
            }
            z.push(v);
        }
    }
    z
}

fn main() {
    let runs = runs(11);
    let z = series();
    let states: Vec<BinState> = z
        .iter()
        .map(|&v| {
            if v > Z_SIGNIFICANT {
                BinState::Hot
            } else if v < -Z_SIGNIFICANT {
                BinState::Cold
            } else {
                BinState::NotSignificant
            }
        })
        .collect();
    println!(
        "info\tinput\t{LOCATIONS} locations x {STEPS} steps, {} rayon threads",
        rayon::current_num_threads()
    );

    let out = bench("classify_all_50k", runs, || classify_all(&z, &states, STEPS));
    // What `emerging_hot_spots` runs: the trend tested under FDR over the locations it decides.
    bench("classify_all_fdr_50k", runs, || {
        classify_all_fdr(&z, &states, STEPS, 0.05)
    });
    let serial = bench("mann_kendall_50k_one_thread", runs, || {
        z.chunks(STEPS).map(mann_kendall).collect::<Vec<MannKendall>>()
    });
    assert!(
        out.iter().zip(&serial).all(|((a, _), b)| a == b),
        "the parallel and serial Mann–Kendall agree"
    );

    let mut classes: BTreeMap<Pattern, usize> = BTreeMap::new();
    let mut trends: BTreeMap<&str, usize> = BTreeMap::new();
    for (mk, pattern) in &out {
        *classes.entry(*pattern).or_default() += 1;
        *trends.entry(mk.trend.code()).or_default() += 1;
    }
    let list = |m: Vec<(&str, usize)>| m.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ");
    println!("info\ttrends\t{}", list(trends.into_iter().collect()));
    println!(
        "info\tclasses\t{}",
        list(classes.into_iter().map(|(p, n)| (p.code(), n)).collect())
    );

    if let Some(dir) = std::env::var_os("FENGQIAO_BENCH_OUT").map(PathBuf::from) {
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| fail(&format!("{}: {e}", dir.display())));
        let json = serde_json::json!({
            "locations": LOCATIONS,
            "steps": STEPS,
            "s": out.iter().map(|(mk, _)| mk.s as i64).collect::<Vec<_>>(),
            "z": out.iter().map(|(mk, _)| mk.z).collect::<Vec<_>>(),
            "trend": out.iter().map(|(mk, _)| mk.trend.code()).collect::<Vec<_>>(),
            "pattern": out.iter().map(|(_, p)| p.code()).collect::<Vec<_>>(),
        });
        let path = dir.join("rust-mk50k.json");
        let text = serde_json::to_string(&json).unwrap_or_else(|e| fail(&e.to_string()));
        std::fs::write(&path, text).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
    }
    println!("peak_rss_mib\t{:.0}", peak_rss_kib() as f64 / 1024.0);
}
