//! Shared by the benchmarks: timing, peak memory, and failing with a message.

use std::time::Instant;

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
