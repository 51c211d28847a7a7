//! The heat map on generated data: the generator's planted persistent hot spots come out as 99% hot
//! clusters at the right places, its quiet areas do not; small-count suppression never leaks.

use std::path::Path;

use fengqiao_analytics::aggregate::SeverityWeights;
use fengqiao_analytics::filter::Filter;
use fengqiao_analytics::hotspot::{heatmap, suppress_small_counts, Heatmap, HeatmapOptions};
use fengqiao_analytics::response::Rules;
use fengqiao_generator::truth::{HotspotKind, Truth};
use fengqiao_generator::GenerateOptions;
use fengqiao_ingest::{Region, Store};

mod support;

fn store_for(seed: u64, dir: &Path) -> (Store, Truth) {
    let opts = GenerateOptions {
        seed,
        ..GenerateOptions::default()
    };
    support::generated_store(&Region::chenzhou(), &opts, dir)
}

fn year_map(store: &Store, k: u32) -> Heatmap {
    let opts = HeatmapOptions {
        res: h3o::Resolution::Eight,
        k,
        kernel: false,
        filter: Filter::default(),
        weights: SeverityWeights::default(),
        as_of: chrono::NaiveDate::from_ymd_opt(2026, 11, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap(),
        rules: Rules::default(),
        measure: fengqiao_analytics::measure::Measure::Count,
        risk: fengqiao_analytics::measure::RiskOptions::default(),
    };
    heatmap(store.conn(), &Region::chenzhou(), &opts).unwrap()
}

/// Recall over the planted persistent hot spots (a hit: the centre cell is a 99% hot cell in a
/// cluster) and precision against the quiet cells (a false alarm: a quiet cell that is hot at all).
fn recovery(map: &Heatmap, truth: &Truth) -> (f64, f64) {
    let cell = |h3: &str| map.cells.iter().find(|c| c.h3 == h3);
    let planted: Vec<_> = truth
        .hotspots
        .iter()
        .filter(|h| h.kind == HotspotKind::Persistent)
        .collect();
    assert!(!planted.is_empty());
    let hits = planted
        .iter()
        .filter(|h| cell(&h.cells[0]).is_some_and(|c| c.confidence == 3 && c.cluster.is_some()))
        .count();
    let false_alarms = truth
        .quiet_cells
        .iter()
        .filter(|q| cell(q).is_some_and(|c| c.confidence > 0))
        .count();
    let recall = hits as f64 / planted.len() as f64;
    let precision = if hits + false_alarms == 0 {
        0.0
    } else {
        hits as f64 / (hits + false_alarms) as f64
    };
    (recall, precision)
}

#[test]
fn planted_persistent_hot_spots_are_found_and_quiet_areas_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = std::process::id() as u64;
    for seed in [42, fresh] {
        let (store, truth) = store_for(seed, dir.path());
        let map = year_map(&store, 1);
        let (recall, precision) = recovery(&map, &truth);
        let quiet: Vec<(i8, Option<u64>, f64)> = truth
            .quiet_cells
            .iter()
            .filter_map(|q| map.cells.iter().find(|c| &c.h3 == q))
            .map(|c| (c.confidence, c.count, c.gi_z))
            .collect();
        assert!(
            recall >= 0.9 && precision >= 0.9,
            "seed {seed}: recall {recall}, precision {precision}; quiet cells (bin, count, z): {quiet:?}"
        );

        // Every cell of the study area is listed, with or without cases, and counts add up.
        let total: u64 = map.cells.iter().map(|c| c.count.unwrap()).sum();
        assert_eq!(total, truth.total_cases, "seed {seed}");
        assert!(map.cells.iter().filter(|c| c.count == Some(0)).count() > map.cells.len() / 2);

        // The planted clusters carry the planted village's name and township.
        for h in truth.hotspots.iter().filter(|h| h.kind == HotspotKind::Persistent) {
            let id = map
                .cells
                .iter()
                .find(|c| c.h3 == h.cells[0])
                .and_then(|c| c.cluster)
                .unwrap();
            let cluster = &map.clusters[id];
            assert!(
                cluster.villages.iter().any(|v| v.code == h.village_code),
                "seed {seed}: {cluster:?}"
            );
            assert!(!cluster.reason.is_empty() && cluster.confidence == 3);
        }

        // Suppression: no displayed cell or place shows a count in 1..k.
        let mut display = map.clone();
        suppress_small_counts(&mut display, 3);
        for c in &display.cells {
            assert!(c.count.is_none_or(|n| n == 0 || n >= 3), "{c:?}");
            assert_eq!(c.suppressed, c.count.is_none());
        }
        for cluster in &display.clusters {
            assert!(cluster.cases.is_none_or(|n| n == 0 || n >= 3));
            for p in cluster
                .counties
                .iter()
                .chain(&cluster.townships)
                .chain(&cluster.villages)
            {
                assert!(p.cases.is_none_or(|n| n >= 3), "{p:?}");
            }
            assert!(cluster.top_categories.iter().all(|&(_, n)| n >= 3));
        }
        assert!(
            display.cells.iter().any(|c| c.suppressed),
            "some cells are small enough to hide"
        );
    }
}
