//! The in-memory columns give exactly what the DuckDB aggregation gives.

use chrono::NaiveDate;
use fengqiao_analytics::aggregate::{aggregate_cells, SeverityWeights};
use fengqiao_analytics::cache::{CaseColumns, Provenance};
use fengqiao_analytics::filter::Filter;
use fengqiao_analytics::hotspot::{heatmap, heatmap_cached, HeatmapOptions};
use fengqiao_analytics::response::Rules;
use fengqiao_ingest::model::{CaseClass, Category, Channel, Severity, Status};
use fengqiao_ingest::Region;

mod support;
use h3o::Resolution;

#[test]
fn cached_aggregation_equals_the_store_aggregation() {
    let region = Region::chenzhou();
    let dir = tempfile::tempdir().unwrap();
    let opts = fengqiao_generator::GenerateOptions {
        months: 3,
        cases: Some(12_000),
        seed: 5,
        ..Default::default()
    };
    let (store, _) = support::generated_store(&region, &opts, dir.path());
    let columns = CaseColumns::load(store.conn(), &region).unwrap();
    assert_eq!(columns.len(), 12_000);
    // The columns kept beside the store are the same columns, and are used while the cases stay.
    let path = dir.path().join("store.duckdb.columns");
    let (built, how, _) = CaseColumns::cached(store.conn(), &region, &path).unwrap();
    assert_eq!(how, Provenance::Rebuilt);
    let (kept, how, _) = CaseColumns::cached(store.conn(), &region, &path).unwrap();
    assert_eq!(how, Provenance::File);
    assert_eq!(format!("{kept:?}"), format!("{columns:?}"));
    assert_eq!(format!("{built:?}"), format!("{columns:?}"));

    let day = |m: u32, d: u32| {
        NaiveDate::from_ymd_opt(2026, m, d)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    };
    let as_of = day(10, 20);
    let filters = vec![
        Filter::default(),
        Filter {
            from: Some(day(9, 1)),
            to: Some(day(10, 1)),
            ..Filter::default()
        },
        Filter {
            categories: vec![Category::Labour, Category::Neighbour],
            ..Filter::default()
        },
        Filter {
            classes: vec![CaseClass::Dispute],
            severities: vec![Severity::Major, Severity::Serious],
            ..Filter::default()
        },
        Filter {
            channels: vec![Channel::Hotline12345],
            statuses: vec![Status::InProgress, Status::Received],
            ..Filter::default()
        },
        Filter {
            unit: Some("431002".into()),
            ..Filter::default()
        },
        Filter {
            unit: Some("431021001".into()),
            from: Some(day(8, 15)),
            ..Filter::default()
        },
        Filter {
            unit: Some("431000".into()),
            ..Filter::default()
        },
    ];
    let weights = SeverityWeights::default();
    for filter in &filters {
        for res in [Resolution::Six, Resolution::Eight, Resolution::Ten] {
            let store_figures = aggregate_cells(store.conn(), &region, res, filter, &weights, as_of).unwrap();
            let cached = columns.aggregate_cells(&region, res, filter, &weights, as_of).unwrap();
            assert_eq!(cached, store_figures, "{filter:?} at {res}");
            assert_eq!(
                columns.cell_precision(&region, res, filter).unwrap(),
                fengqiao_analytics::precision::cell_precision(store.conn(), &region, res, filter).unwrap(),
                "precision of {filter:?} at {res}"
            );
        }
    }
    // A grid as the unit, and an unknown unit.
    let (_, grid) = region.level(fengqiao_ingest::model::AdminLevel::Grid).nth(40).unwrap();
    let by_grid = Filter {
        unit: Some(grid.code.clone()),
        ..Filter::default()
    };
    assert_eq!(
        columns
            .aggregate_cells(&region, Resolution::Nine, &by_grid, &weights, as_of)
            .unwrap(),
        aggregate_cells(store.conn(), &region, Resolution::Nine, &by_grid, &weights, as_of).unwrap()
    );
    let unknown = Filter {
        unit: Some("999".into()),
        ..Filter::default()
    };
    assert!(columns
        .aggregate_cells(&region, Resolution::Nine, &unknown, &weights, as_of)
        .is_err());

    // The whole heat map is the same from either source.
    let opts = HeatmapOptions {
        res: Resolution::Seven,
        k: 1,
        kernel: false,
        filter: filters[2].clone(),
        weights,
        as_of,
        rules: Rules::default(),
        measure: fengqiao_analytics::measure::Measure::Count,
        risk: fengqiao_analytics::measure::RiskOptions::default(),
    };
    assert_eq!(
        heatmap_cached(&columns, &region, &opts).unwrap(),
        heatmap(store.conn(), &region, &opts).unwrap()
    );

    // New cases change the store's fingerprint: the kept columns are rebuilt, not reused.
    store
        .conn()
        .execute_batch("INSERT INTO cases SELECT * REPLACE (case_id || '-copy' AS case_id) FROM cases LIMIT 1")
        .unwrap();
    let (again, how, _) = CaseColumns::cached(store.conn(), &region, &path).unwrap();
    assert_eq!(how, Provenance::Rebuilt);
    assert_eq!(again.len(), 12_001);
}
