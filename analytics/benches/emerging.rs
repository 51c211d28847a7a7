//! Trends benchmark (issue 4), run by `scripts/bench-trends.sh`; not a test.
//!
//! Times, warm and in-process, on an existing case store (read-only): the space-time cube of 52
//! weekly steps at res 8 (`cube::cube`), the emerging-hot-spot analysis of every cell of it
//! (`emerging::emerging_hot_spots`: space-time Gi*, FDR, Mann–Kendall, classes), both together as
//! the CLI runs them, the alerts for every village × 18 categories (`warning::alerts`, no limit),
//! the recurring problems and the repeat chains. One warm-up then `FENGQIAO_BENCH_RUNS` runs
//! (default 5), median and minimum.
//!
//!   FENGQIAO_BENCH_DB=bench-out/ingest-10000000.duckdb cargo bench -p fengqiao-analytics --bench emerging
//!
//! Output: `name<TAB>median_ms<TAB>min_ms<TAB>runs` lines, `peak_rss_mib<TAB>…` and `info<TAB>…`.

use fengqiao_analytics::cube::{cube, last_case_day, CubeOptions, Space, Step};
use fengqiao_analytics::departments::Departments;
use fengqiao_analytics::emerging::{emerging_hot_spots, EmergingOptions};
use fengqiao_analytics::filter::Filter;
use fengqiao_analytics::pattern::Pattern;
use fengqiao_analytics::recurring::{recurring, repeat_chains, ChainOptions, RecurringOptions};
use fengqiao_analytics::warning::{alerts, AlertOptions};
use fengqiao_ingest::Region;
use h3o::Resolution;

mod support;
use support::{bench, fail, open_store, peak_rss_kib, runs};

fn main() {
    let runs = runs(5);
    let (conn, _) = open_store();

    let region = Region::chenzhou();
    let last = last_case_day(&conn, &region, &Filter::default())
        .unwrap_or_else(|e| fail(&e.to_string()))
        .unwrap_or_else(|| fail("the store is empty"));
    let opts = CubeOptions {
        space: Space::Cells(Resolution::Eight),
        step: Step::Week,
        steps: 52,
        last_day: Some(last),
        filter: Filter::default(),

        measure: fengqiao_analytics::measure::Measure::Count,
    };
    let emerging = EmergingOptions::default();
    let weekly = bench("cube_res8_52_weeks", runs, || {
        cube(&conn, &region, &opts).unwrap_or_else(|e| fail(&e.to_string()))
    });
    let classified = bench("emerging_hot_spots_res8_52_weeks", runs, || {
        emerging_hot_spots(&region, &weekly, &emerging)
    });
    bench("cube_and_emerging_res8_52_weeks", runs, || {
        let cube = cube(&conn, &region, &opts).unwrap_or_else(|e| fail(&e.to_string()));
        emerging_hot_spots(&region, &cube, &emerging)
    });
    let hot = classified
        .locations
        .iter()
        .filter(|l| l.pattern != Pattern::NoPattern)
        .count();
    println!(
        "info\temerging\t{} cells × {} weeks, {} with a pattern, {} significant bins",
        weekly.locations.len(),
        weekly.steps(),
        hot,
        classified.options.significant_bins
    );

    let departments = Departments::default();
    let mut alert_opts = AlertOptions::new(last);
    alert_opts.limit = None;
    let list = bench("alerts_villages_x_18_categories", runs, || {
        alerts(&conn, &region, &departments, &alert_opts).unwrap_or_else(|e| fail(&e.to_string()))
    });
    println!(
        "info\talerts\t{} villages × 18 categories, {} alerts",
        region.level(fengqiao_ingest::model::AdminLevel::Village).count(),
        list.len()
    );
    let report = bench("recurring_villages_8_weeks", runs, || {
        recurring(&conn, &region, &departments, &RecurringOptions::default()).unwrap_or_else(|e| fail(&e.to_string()))
    });
    println!("info\trecurring\t{} problems", report.problems.len());
    let chains = bench("repeat_chains", runs, || {
        repeat_chains(&conn, &region, &ChainOptions::default()).unwrap_or_else(|e| fail(&e.to_string()))
    });
    println!("info\tchains\t{} chains", chains.len());
    println!("peak_rss_mib\t{:.1}", peak_rss_kib() as f64 / 1024.0);
}
