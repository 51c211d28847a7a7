//! Heat-map benchmark (issue 3), run by `scripts/bench-heatmap.sh`; not a test.
//!
//! Times, warm and in-process, on an existing case store (read-only):
//! `hotspot::heatmap` at res 8 for the year, one week, the year filtered to two categories and the
//! week filtered to one county; the risk heat map (`Measure::Excess`) of the year and the week — its
//! first call (which builds the population surface) once, then warm — and Kulldorff's spatial scan
//! of the year at res 8 with 999 replications, once; `aggregate::aggregate_cells` alone for the year; Gi* over the whole
//! region at res 9 with its parts (study area, aggregation, weights, kernel); and the Gi* kernel alone
//! on the first 50,000 cells of the res-9 study area (k = 1). Every timing is one warm-up then
//! `FENGQIAO_BENCH_RUNS` runs (default 5; the 50,000-cell kernel runs 200 times), reported as median
//! and minimum.
//!
//! It also writes what the Python peer (`scripts/reference/python_heatmap_path.py`) needs to compare
//! on identical data: the year's res-8 cells (study area plus cells with cases outside it) with the
//! Rust counts and z-scores, and the 50,000-cell res-9 input (cells, counts, neighbour lists) with the
//! Rust z-scores.
//!
//!   FENGQIAO_BENCH_DB=bench-out/ingest-10000000.duckdb FENGQIAO_BENCH_OUT=bench-out/heatmap \
//!     cargo bench -p fengqiao-analytics --bench heatmap
//!
//! Output: one line per timing on stdout, `name<TAB>median_ms<TAB>min_ms<TAB>runs`, then
//! `peak_rss_mib<TAB>…` (VmHWM of this process) and a few `info<TAB>…` lines.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};
use fengqiao_analytics::aggregate::{aggregate_cells, SeverityWeights};
use fengqiao_analytics::cache::CaseColumns;
use fengqiao_analytics::cells::{k_ring_weights, study_area};
use fengqiao_analytics::filter::Filter;
use fengqiao_analytics::gistar::gi_star;
use fengqiao_analytics::hotspot::{heatmap, heatmap_cached, Heatmap, HeatmapOptions};
use fengqiao_analytics::response::Rules;
use fengqiao_ingest::model::Category;
use fengqiao_ingest::Region;
use h3o::{CellIndex, Resolution};

mod support;
use support::{bench, fail, open_store, peak_rss_kib, runs};

/// Cells of the Gi* kernel-alone timing.
const KERNEL_CELLS: usize = 50_000;

fn main() {
    let out = std::env::var_os("FENGQIAO_BENCH_OUT").map_or_else(|| PathBuf::from("bench-out/heatmap"), PathBuf::from);
    let runs = runs(5);
    std::fs::create_dir_all(&out).unwrap_or_else(|e| fail(&format!("{}: {e}", out.display())));
    let (conn, cases) = open_store();

    let region = Region::chenzhou();
    let as_of = day(2026, 11, 1);
    let options = |res: Resolution, filter: Filter| HeatmapOptions {
        res,
        k: 1,
        kernel: false,
        filter,
        weights: SeverityWeights::default(),
        as_of,
        rules: Rules::default(),
        measure: fengqiao_analytics::measure::Measure::Count,
        risk: fengqiao_analytics::measure::RiskOptions::default(),
    };
    let week = Filter {
        from: Some(day(2026, 10, 19)),
        to: Some(day(2026, 10, 26)),
        ..Filter::default()
    };
    let categories = [Category::ALL[0], Category::ALL[1]];
    let cases_of = |map: &Heatmap| map.cells.iter().filter_map(|c| c.count).sum::<u64>();

    // 1. Heat maps at res 8.
    let year_opts = options(Resolution::Eight, Filter::default());
    let year = bench("heatmap_res8_year", runs, || {
        heatmap(&conn, &region, &year_opts).expect("heat map")
    });
    println!(
        "info\theatmap_res8_year\t{} cells, {} cases, {} clusters",
        year.cells.len(),
        cases_of(&year),
        year.clusters.len()
    );
    let week_opts = options(Resolution::Eight, week.clone());
    let map = bench("heatmap_res8_week", runs, || {
        heatmap(&conn, &region, &week_opts).expect("heat map")
    });
    println!("info\theatmap_res8_week\t{} cases", cases_of(&map));
    let cat_opts = options(
        Resolution::Eight,
        Filter {
            categories: categories.to_vec(),
            ..Filter::default()
        },
    );
    let map = bench("heatmap_res8_year_2_categories", runs, || {
        heatmap(&conn, &region, &cat_opts).expect("heat map")
    });
    println!(
        "info\theatmap_res8_year_2_categories\t{} cases ({}, {})",
        cases_of(&map),
        categories[0].code(),
        categories[1].code()
    );
    let county_opts = options(
        Resolution::Eight,
        Filter {
            unit: Some("431002".into()),
            ..week
        },
    );
    let map = bench("heatmap_res8_week_county_431002", runs, || {
        heatmap(&conn, &region, &county_opts).expect("heat map")
    });
    println!("info\theatmap_res8_week_county_431002\t{} cases", cases_of(&map));
    risk_timings(&conn, &region, &year_opts, &week_opts, runs);
    let figures = bench("aggregate_cells_res8_year", runs, || {
        aggregate_cells(
            &conn,
            &region,
            Resolution::Eight,
            &Filter::default(),
            &SeverityWeights::default(),
            as_of,
        )
        .expect("aggregate")
    });
    println!("info\taggregate_cells_res8_year\t{} non-empty cells", figures.len());

    // 1b. The same from the in-memory columns (the server's hot path).
    let started = std::time::Instant::now();
    let columns = CaseColumns::load(&conn, &region).expect("columns");
    println!(
        "info\tcase_columns_load\t{:.0} ms, {} cases, ~{} MiB",
        started.elapsed().as_secs_f64() * 1000.0,
        columns.len(),
        columns.heap_bytes() >> 20
    );
    let cached_year = bench("cached_heatmap_res8_year", runs, || {
        heatmap_cached(&columns, &region, &year_opts).expect("heat map")
    });
    assert_eq!(cached_year, year, "the cached heat map equals the store's");
    bench("cached_heatmap_res8_week", runs, || {
        heatmap_cached(&columns, &region, &week_opts).expect("heat map")
    });
    bench("cached_heatmap_res8_year_2_categories", runs, || {
        heatmap_cached(&columns, &region, &cat_opts).expect("heat map")
    });
    bench("cached_heatmap_res8_week_county_431002", runs, || {
        heatmap_cached(&columns, &region, &county_opts).expect("heat map")
    });
    bench("cached_aggregate_cells_res8_year", runs, || {
        columns
            .aggregate_cells(
                &region,
                Resolution::Eight,
                &Filter::default(),
                &SeverityWeights::default(),
                as_of,
            )
            .expect("aggregate")
    });

    // 2. Gi* over the whole region at res 9, by parts.
    let area = bench("gistar_res9_study_area", runs, || study_area(&region, Resolution::Nine));
    let figures9 = bench("gistar_res9_aggregate_cells", runs, || {
        aggregate_cells(
            &conn,
            &region,
            Resolution::Nine,
            &Filter::default(),
            &SeverityWeights::default(),
            as_of,
        )
        .expect("aggregate")
    });
    let counts9 = bench("gistar_res9_counts_to_area", runs, || {
        let by_cell: HashMap<u64, u64> = figures9.iter().map(|f| (f.h3, f.count)).collect();
        area.iter()
            .map(|c| by_cell.get(&u64::from(*c)).map_or(0.0, |&n| n as f64))
            .collect::<Vec<f64>>()
    });
    let weights9 = bench("gistar_res9_k_ring_weights", runs, || k_ring_weights(&area, 1));
    let gi9 = bench("gistar_res9_gi_star", runs, || gi_star(&counts9, &weights9));
    let total = bench("gistar_res9_total", runs, || {
        let area = study_area(&region, Resolution::Nine);
        let figures = aggregate_cells(
            &conn,
            &region,
            Resolution::Nine,
            &Filter::default(),
            &SeverityWeights::default(),
            as_of,
        )
        .expect("aggregate");
        let by_cell: HashMap<u64, u64> = figures.iter().map(|f| (f.h3, f.count)).collect();
        let counts: Vec<f64> = area
            .iter()
            .map(|c| by_cell.get(&u64::from(*c)).map_or(0.0, |&n| n as f64))
            .collect();
        gi_star(&counts, &k_ring_weights(&area, 1))
    });
    assert_eq!(total, gi9, "the total computes the same Gi* as its parts");
    let inside: f64 = counts9.iter().sum();
    println!(
        "info\tgistar_res9\t{} study-area cells, {} of {cases} cases inside, {} with z > 2.576",
        area.len(),
        inside,
        gi9.iter().filter(|g| g.z > 2.576).count()
    );

    // 3. The Gi* kernel alone on the first 50,000 cells of the res-9 study area.
    let cells: &[CellIndex] = &area[..KERNEL_CELLS.min(area.len())];
    let counts: &[f64] = &counts9[..cells.len()];
    let weights = bench("kernel50k_k_ring_weights", runs, || k_ring_weights(cells, 1));
    let gi = bench("kernel50k_gi_star", runs.max(200), || gi_star(counts, &weights));
    println!(
        "info\tkernel50k\t{} cells, {} neighbour entries",
        cells.len(),
        (0..weights.len()).map(|i| weights.neighbours(i).len()).sum::<usize>()
    );

    // Exports for the Python peer.
    let year_json = serde_json::json!({
        "res": 8,
        "cases": cases,
        "study_area_cells": study_area(&region, Resolution::Eight).len(),
        "cells": year.cells.iter().map(|c| c.h3.as_str()).collect::<Vec<_>>(),
        "counts": year.cells.iter().map(|c| c.count.unwrap_or(0)).collect::<Vec<_>>(),
        "z": year.cells.iter().map(|c| c.gi_z).collect::<Vec<_>>(),
    });
    write_json(&out.join("rust-res8-year.json"), &year_json);
    let kernel_json = serde_json::json!({
        "res": 9,
        "k": 1,
        "cells": cells.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "counts": counts,
        // Without the cell itself: libpysal's W, with G_Local(star=True) adding it.
        "neighbours": (0..weights.len())
            .map(|i| weights.neighbours(i).iter().copied().filter(|&j| j as usize != i).collect::<Vec<u32>>())
            .collect::<Vec<_>>(),
        "z": gi.iter().map(|g| g.z).collect::<Vec<_>>(),
    });
    write_json(&out.join("rust-kernel50k.json"), &kernel_json);

    println!("peak_rss_mib\t{:.0}", peak_rss_kib() as f64 / 1024.0);
}

fn day(y: i32, m: u32, d: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("a valid date")
}

fn write_json(path: &Path, value: &serde_json::Value) {
    let text = serde_json::to_string(value).expect("JSON");
    std::fs::write(path, text).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
}

/// The risk heat maps beside the count ones (first call: the population surface is built), and the
/// spatial scan with 999 replications (one run: it is the slow one), with the RSS after each.
fn risk_timings(
    conn: &duckdb::Connection,
    region: &Region,
    year_count: &HeatmapOptions,
    week_count: &HeatmapOptions,
    runs: usize,
) {
    use fengqiao_analytics::measure::Measure;
    let year = HeatmapOptions {
        measure: Measure::Excess,
        ..year_count.clone()
    };
    let started = std::time::Instant::now();
    let map = heatmap(conn, region, &year).expect("risk heat map");
    println!(
        "info\theatmap_res8_year_risk_first_call\t{:.0} ms, {} hot cells, {} clusters, peak RSS {} MiB",
        started.elapsed().as_secs_f64() * 1000.0,
        map.cells.iter().filter(|c| c.confidence > 0).count(),
        map.clusters.len(),
        peak_rss_kib() >> 10
    );
    bench("heatmap_res8_year_risk", runs, || {
        heatmap(conn, region, &year).expect("risk heat map")
    });
    let week = HeatmapOptions {
        measure: Measure::Excess,
        ..week_count.clone()
    };
    bench("heatmap_res8_week_risk", runs, || {
        heatmap(conn, region, &week).expect("risk heat map")
    });
    let request = fengqiao_analytics::scan::ScanRequest {
        res: Resolution::Eight,
        filter: Filter::default(),
        prospective: None,
        options: fengqiao_analytics::scan::ScanOptions::default(),
        risk: fengqiao_analytics::measure::RiskOptions::default(),
    };
    let started = std::time::Instant::now();
    let report = fengqiao_analytics::scan::scan_store(conn, region, &request).expect("scan");
    println!(
        "scan_res8_year_999\t{:.1}\t{:.1}\t1",
        started.elapsed().as_secs_f64() * 1000.0,
        started.elapsed().as_secs_f64() * 1000.0
    );
    println!(
        "info\tscan_res8_year_999\t{} windows, {} clusters, peak RSS {} MiB",
        report.windows,
        report.clusters.len(),
        peak_rss_kib() >> 10
    );
}
