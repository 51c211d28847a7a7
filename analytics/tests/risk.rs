//! Risk, not density, on generated data with truth files: the risk measures call hot what the
//! generator planted and little else — precision over **every** cell, cluster, pattern and list row
//! they call, not over a chosen subset — on the default seed, on other seeds and period lengths, on a
//! second region of another shape (`data/testing/sparse-north`), and on counts more variable than
//! Poisson.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::Duration;
use fengqiao_analytics::aggregate::SeverityWeights;
use fengqiao_analytics::cube::{cube, CubeOptions, Space, Step};
use fengqiao_analytics::departments::Departments;
use fengqiao_analytics::emerging::{emerging_hot_spots, EmergingOptions};
use fengqiao_analytics::filter::Filter;
use fengqiao_analytics::hotspot::{heatmap, Heatmap, HeatmapOptions};
use fengqiao_analytics::measure::{Measure, RiskOptions};
use fengqiao_analytics::pattern::Pattern;
use fengqiao_analytics::recurring::{recurring, RecurringOptions};
use fengqiao_analytics::response::{Level, Rules};
use fengqiao_analytics::scan::{scan_store, ScanOptions, ScanRequest};
use fengqiao_analytics::warning::{alerts, Alert, AlertOptions};
use fengqiao_generator::truth::{HotspotKind, Truth};
use fengqiao_generator::GenerateOptions;
use fengqiao_ingest::{Region, Store};
use h3o::Resolution;

mod support;

/// One generated data set and what it is.
struct Case {
    name: String,
    region: Region,
    store: Store,
    truth: Truth,
}

fn sparse_region() -> Region {
    Region::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/testing/sparse-north")).unwrap()
}

fn data_set(name: &str, region: Region, opts: GenerateOptions, dir: &Path) -> Case {
    let (store, truth) = support::generated_store(&region, &opts, dir);
    Case {
        name: format!(
            "{name} (seed {}, {} months, dispersion {})",
            opts.seed, opts.months, opts.dispersion
        ),
        region,
        store,
        truth,
    }
}

fn map(case: &Case, measure: Measure, filter: Filter) -> Heatmap {
    let opts = HeatmapOptions {
        res: Resolution::Eight,
        k: 1,
        kernel: false,
        filter,
        weights: SeverityWeights::default(),
        as_of: case.truth.end.and_hms_opt(23, 59, 59).unwrap(),
        rules: Rules::default(),
        measure,
        risk: RiskOptions::default(),
    };
    heatmap(case.store.conn(), &case.region, &opts).unwrap()
}

/// The res-8 cells that hold a planted pattern: every hot spot's 7 cells, and every cell holding a
/// case of a planted recurring problem's or the spike's village.
fn planted_cells(case: &Case) -> (HashSet<String>, HashSet<String>) {
    let hot: HashSet<String> = case
        .truth
        .hotspots
        .iter()
        .flat_map(|h| h.cells.iter().cloned())
        .collect();
    let villages: Vec<String> = case
        .truth
        .recurring
        .iter()
        .map(|r| r.village_code.clone())
        .chain(case.truth.spike.iter().map(|s| s.village_code.clone()))
        .collect();
    let mut other = HashSet::new();
    let sql = format!(
        "SELECT DISTINCT {} FROM cases WHERE village_code IN ({})",
        fengqiao_analytics::cells::parent_sql("h3", Resolution::Eight),
        villages.iter().map(|v| format!("'{v}'")).collect::<Vec<_>>().join(",")
    );
    let mut stmt = case.store.conn().prepare(&sql).unwrap();
    let rows = stmt.query_map([], |r| r.get::<_, u64>(0)).unwrap();
    for cell in rows {
        other.insert(h3o::CellIndex::try_from(cell.unwrap()).unwrap().to_string());
    }
    (hot, other)
}

/// What the heat map calls, measured against everything it calls.
#[derive(Debug)]
struct MapScore {
    called: usize,
    right: usize,
    hot_spot_cells: usize,
    hot_spot_cells_found: usize,
    thin: usize,
    precision: f64,
    recall: f64,
}

fn score_map(case: &Case, map: &Heatmap) -> MapScore {
    let (hot, other) = planted_cells(case);
    let called: Vec<&fengqiao_analytics::hotspot::HeatCell> = map.cells.iter().filter(|c| c.confidence >= 2).collect();
    let right = called
        .iter()
        .filter(|c| hot.contains(&c.h3) || other.contains(&c.h3))
        .count();
    let by_cell: HashMap<&str, u64> = map
        .cells
        .iter()
        .map(|c| (c.h3.as_str(), c.count.unwrap_or(0)))
        .collect();
    let thin = called
        .iter()
        .filter(|c| {
            let cell: h3o::CellIndex = c.h3.parse().unwrap();
            let around: u64 = cell
                .grid_disk::<Vec<_>>(1)
                .iter()
                .map(|n| by_cell.get(n.to_string().as_str()).copied().unwrap_or(0))
                .sum();
            around <= 2
        })
        .count();
    let found = hot
        .iter()
        .filter(|h| map.cells.iter().any(|c| &c.h3 == *h && c.confidence >= 2))
        .count();
    MapScore {
        called: called.len(),
        right,
        hot_spot_cells: hot.len(),
        hot_spot_cells_found: found,
        thin,
        precision: right as f64 / called.len().max(1) as f64,
        recall: found as f64 / hot.len().max(1) as f64,
    }
}

/// Levels: each planted hot spot in a cluster of yellow or above; no orange or red cluster without a
/// planted pattern. Returns the failures.
fn cluster_failures(case: &Case, map: &Heatmap) -> Vec<String> {
    let (hot, other) = planted_cells(case);
    let mut failures = Vec::new();
    for h in &case.truth.hotspots {
        let best = map
            .clusters
            .iter()
            .filter(|c| c.cells.iter().any(|x| h.cells.contains(x)))
            .max_by_key(|c| c.level);
        if best.is_none_or(|c| c.level < Level::Yellow) {
            failures.push(format!(
                "hot spot {} ({:?}, {:?}) in no yellow+ cluster: {:?}",
                h.id,
                h.kind,
                h.weekly_planted.iter().sum::<u32>(),
                best.map(|c| (c.level, c.reason.clone(), c.cells.len()))
            ));
        }
    }
    for c in &map.clusters {
        let planted = c.cells.iter().any(|x| hot.contains(x) || other.contains(x));
        if !planted && c.level >= Level::Orange {
            failures.push(format!("unplanted {} cluster: {}", c.level, c.reason));
        }
    }
    failures
}

/// How strictly a data set is judged: over-dispersed registers make a modest excess in a dense place
/// indistinguishable from the ordinary spread of places, so recall is lower there; precision never.
#[derive(Clone, Copy)]
struct Bar {
    recall: f64,
}

const STRICT: Bar = Bar { recall: 0.9 };

fn check_heat_map(case: &Case, bar: Bar) {
    let risk = map(case, Measure::Excess, Filter::default());
    let score = score_map(case, &risk);
    assert_eq!(score.hot_spot_cells, 7 * case.truth.hotspots.len(), "{}", case.name);
    assert_eq!(score.precision, score.right as f64 / score.called.max(1) as f64);
    assert_eq!(
        score.recall,
        score.hot_spot_cells_found as f64 / score.hot_spot_cells as f64
    );
    let count = score_map(case, &map(case, Measure::Count, Filter::default()));
    eprintln!(
        "{}: risk {score:?}, dispersion {:?}; count map precision {:.3} ({} called)",
        case.name,
        risk.risk.as_ref().map(|r| r.dispersion),
        count.precision,
        count.called
    );
    let (planted_hot, _) = planted_cells(case);
    let missed: Vec<String> = risk
        .cells
        .iter()
        .filter(|c| planted_hot.contains(&c.h3) && c.confidence < 2)
        .map(|c| {
            format!(
                "{} O {:?} E {:.2?} p {:.1e} z {:.2} bin {}",
                c.h3,
                c.count,
                c.expected,
                c.excess_p.unwrap_or(1.0),
                c.gi_z,
                c.confidence
            )
        })
        .collect();
    assert!(
        score.precision >= 0.8 && score.recall >= bar.recall && score.thin == 0,
        "{}: {score:?}; missed {missed:#?}",
        case.name
    );
    let failures = cluster_failures(case, &risk);
    assert!(failures.is_empty(), "{}: {failures:#?}", case.name);
}

/// The patterns a planted kind may come out as.
fn accepted(kind: HotspotKind) -> &'static [Pattern] {
    match kind {
        HotspotKind::Persistent => &[Pattern::PersistentHotSpot],
        // "New" in the generator began a few weeks ago: new for one hot step, consecutive for a run.
        HotspotKind::New => &[Pattern::NewHotSpot, Pattern::ConsecutiveHotSpot],
        // Intensifying from a few cases a week: in half a year its first weeks may still be too
        // weak to be significant, and a run of hot steps to the end is then what ESHA calls
        // consecutive (hot in under 90 % of the steps, never before the run).
        HotspotKind::Intensifying => &[Pattern::IntensifyingHotSpot, Pattern::ConsecutiveHotSpot],
        HotspotKind::Diminishing => &[Pattern::DiminishingHotSpot],
    }
}

/// Emerging hot spots on risk: every cell given a hot pattern, judged.
fn check_emerging(case: &Case, bar: Bar) {
    let steps = (case.truth.weeks as usize - 1).min(52);
    let cube = cube(
        case.store.conn(),
        &case.region,
        &CubeOptions {
            space: Space::Cells(Resolution::Eight),
            step: Step::Week,
            steps,
            last_day: None,
            filter: Filter::default(),
            measure: Measure::Excess,
        },
    )
    .unwrap();
    let trends = emerging_hot_spots(&case.region, &cube, &EmergingOptions::default());
    let (_, other) = planted_cells(case);
    let kind_of: HashMap<&str, HotspotKind> = case
        .truth
        .hotspots
        .iter()
        .flat_map(|h| h.cells.iter().map(move |c| (c.as_str(), h.kind)))
        .collect();
    let hot: Vec<_> = trends.locations.iter().filter(|l| l.pattern.is_hot()).collect();
    let right = hot
        .iter()
        .filter(|l| match kind_of.get(l.location.as_str()) {
            Some(&kind) => accepted(kind).contains(&l.pattern),
            None => other.contains(&l.location),
        })
        .count();
    let centres_found = case
        .truth
        .hotspots
        .iter()
        .filter(|h| {
            hot.iter()
                .any(|l| l.location == h.cells[0] && accepted(h.kind).contains(&l.pattern))
        })
        .count();
    let precision = right as f64 / hot.len().max(1) as f64;
    let recall = centres_found as f64 / case.truth.hotspots.len() as f64;
    // Where, whatever the class: a hot pattern at a planted hot spot or other planted pattern.
    let at_planted = hot
        .iter()
        .filter(|l| kind_of.contains_key(l.location.as_str()) || other.contains(&l.location))
        .count();
    let place_precision = at_planted as f64 / hot.len().max(1) as f64;
    let wrong: Vec<String> = hot
        .iter()
        .filter(|l| match kind_of.get(l.location.as_str()) {
            Some(&kind) => !accepted(kind).contains(&l.pattern),
            None => !other.contains(&l.location),
        })
        .map(|l| {
            format!(
                "{} {:?} (planted {:?}) total {}",
                l.location,
                l.pattern,
                kind_of.get(l.location.as_str()),
                l.total
            )
        })
        .collect();
    eprintln!(
        "{}: emerging {} hot-pattern cells, precision {precision:.3} (of the place alone {place_precision:.3}), centre recall {recall:.3}, dispersion {:?}",
        case.name,
        hot.len(),
        trends.options.dispersion
    );
    assert!(trends.options.risk);
    // Recall of the kinds (a hot spot's centre cell with its kind's pattern): a trend or a weak
    // first week decides between neighbouring classes, so this bar is lower than the map's.
    assert!(
        precision >= 0.8 && place_precision >= 0.9 && recall >= bar.recall - 0.15,
        "{}: precision {precision} (of the place {place_precision}), recall {recall}; wrong {wrong:#?}",
        case.name
    );
}

/// 类案 on risk: the planted recurring problems lead the list.
fn check_recurring(case: &Case) {
    let report = recurring(
        case.store.conn(),
        &case.region,
        &Departments::default(),
        &RecurringOptions::default(),
    )
    .unwrap();
    assert_eq!(report.measure, Measure::Excess);
    let top: Vec<(String, fengqiao_ingest::model::Category)> = report
        .problems
        .iter()
        .take(20)
        .map(|p| (p.place.unit_code.clone(), p.place.category))
        .collect();
    let planted: Vec<(String, fengqiao_ingest::model::Category)> = case
        .truth
        .recurring
        .iter()
        .map(|r| (r.village_code.clone(), r.category))
        .collect();
    let missing: Vec<_> = planted.iter().filter(|p| !top.contains(p)).collect();
    let rank_of = |p: &(String, fengqiao_ingest::model::Category)| {
        report
            .problems
            .iter()
            .find(|x| x.place.unit_code == p.0 && x.place.category == p.1)
            .map(|x| (x.rank, x.score, x.ratio))
    };
    eprintln!(
        "{}: 类案 {} listed, planted in the top 20: {} of {}",
        case.name,
        report.problems.len(),
        planted.len() - missing.len(),
        planted.len()
    );
    let needed = if planted.len() <= 20 {
        planted.len()
    } else {
        (0.9 * planted.len() as f64).ceil() as usize
    };
    assert!(
        planted.len() - missing.len() >= needed,
        "{}: missing {:?}; top: {:#?}",
        case.name,
        missing.iter().map(|p| (p, rank_of(p))).collect::<Vec<_>>(),
        report
            .problems
            .iter()
            .take(20)
            .map(|p| (&p.place.unit_code, p.place.category, p.score, p.ratio, &p.hotspot))
            .collect::<Vec<_>>()
    );
    for p in &report.problems {
        assert!(
            p.expected_in_window.is_some() && p.ratio.is_some_and(|r| r > 1.0) && p.cases_in_window >= 3,
            "{}: listed without an excess: {} {:?}, {} cases, expected {:?}, ratio {:?}, active {} of {}",
            case.name,
            p.place.unit_code,
            p.place.category,
            p.cases_in_window,
            p.expected_in_window,
            p.ratio,
            p.active_steps,
            p.window
        );
    }
}

/// The planted spike is alert number 1 of its week, or behind other planted patterns only.
fn check_spike(case: &Case) {
    let spike = case.truth.spike.as_ref().expect("a spike is planted");
    let as_of = (case.truth.week_origin + Duration::days(7 * i64::from(spike.week) + 6)).min(case.truth.end);
    let mut opts = AlertOptions::new(as_of);
    opts.limit = None;
    let list = alerts(case.store.conn(), &case.region, &Departments::default(), &opts).unwrap();
    // First, or behind other planted patterns only: a new hot spot that began in the same weeks is
    // an anomaly of that week as well.
    let at = list
        .iter()
        .position(|a| a.place.unit_code == spike.village_code && a.place.category == spike.category);
    let planted = |a: &Alert| {
        let (code, category) = (&a.place.unit_code, a.place.category);
        case.truth
            .hotspots
            .iter()
            .any(|h| &h.village_code == code && h.categories.contains(&category))
            || case
                .truth
                .recurring
                .iter()
                .any(|r| &r.village_code == code && r.category == category)
    };
    assert!(
        at.is_some_and(|i| list[..i].iter().all(planted)),
        "{}: the spike is not first (behind planted patterns only): {:#?}",
        case.name,
        &list[..list.len().min(3)]
    );
    assert!(list.len() <= 60, "{}: {} alerts in a week", case.name, list.len());
}

/// The spatial scan finds every planted hot spot at p ≤ 0.01 and, with as many replications, no
/// cluster that holds no planted pattern. Returns whether it reported such a cluster.
fn check_scan(case: &Case) -> bool {
    let request = ScanRequest {
        res: Resolution::Eight,
        filter: Filter::default(),
        prospective: None,
        options: ScanOptions {
            replications: 199,
            max_p: 0.01,
            ..ScanOptions::default()
        },
        risk: RiskOptions::default(),
    };
    let report = scan_store(case.store.conn(), &case.region, &request).unwrap();
    let (hot, other) = planted_cells(case);
    for h in &case.truth.hotspots {
        assert!(
            report
                .clusters
                .iter()
                .any(|c| c.cells.iter().any(|x| h.cells.contains(x))),
            "{}: hot spot {} ({:?}) in no scan cluster with p ≤ 0.01: {:#?}",
            case.name,
            h.id,
            h.kind,
            report
                .clusters
                .iter()
                .map(|c| (&c.centre_cell, c.cluster.observed, c.cluster.expected, c.cluster.p))
                .collect::<Vec<_>>()
        );
    }
    let unplanted: Vec<_> = report
        .clusters
        .iter()
        .filter(|c| !c.cells.iter().any(|x| hot.contains(x) || other.contains(x)))
        .map(|c| {
            (
                c.centre_cell.clone(),
                c.cluster.observed,
                c.cluster.expected,
                c.cluster.p,
            )
        })
        .collect();
    eprintln!(
        "{}: scan {} clusters at p ≤ 0.01 (dispersion {:.4}), unplanted: {unplanted:?}",
        case.name,
        report.clusters.len(),
        report.dispersion
    );
    !unplanted.is_empty()
}

fn check_all(case: &Case, bar: Bar) -> bool {
    check_heat_map(case, bar);
    check_emerging(case, bar);
    check_recurring(case);
    check_spike(case);
    check_scan(case)
}

#[test]
fn risk_measures_call_what_was_planted_on_the_default_year() {
    let dir = tempfile::tempdir().unwrap();
    let case = data_set("Chenzhou", Region::chenzhou(), GenerateOptions::default(), dir.path());
    assert!(
        !check_all(&case, STRICT),
        "an unplanted scan cluster on the default year"
    );
}

/// Generates `opts` for `region` and judges everything the risk measures call; an unplanted scan
/// cluster at p ≤ 0.01 fails the data set too (the acceptance asks for none on ≥ 90 % of seeds: with
/// seven data sets, none).
fn holds(name: &str, region: Region, opts: GenerateOptions, bar: Bar) {
    let dir = tempfile::tempdir().unwrap();
    let case = data_set(name, region, opts, dir.path());
    assert!(!check_all(&case, bar), "{}: an unplanted scan cluster", case.name);
}

/// A seed of this run (the process id), so that every run tries another; `FENGQIAO_SEED` repeats
/// one (failures name their seed).
fn fresh_seed() -> u64 {
    let seed = std::env::var("FENGQIAO_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(std::process::id() as u64);
    eprintln!("fresh seed {seed} (FENGQIAO_SEED={seed} repeats it; the data sets use it, ^1 or ^2)");
    seed
}

#[test]
fn risk_measures_hold_on_another_seed() {
    holds(
        "Chenzhou",
        Region::chenzhou(),
        GenerateOptions {
            seed: 7,
            ..GenerateOptions::default()
        },
        STRICT,
    );
}

#[test]
fn risk_measures_hold_on_six_months_of_a_fresh_seed() {
    let opts = GenerateOptions {
        seed: fresh_seed(),
        months: 6,
        ..GenerateOptions::default()
    };
    holds("Chenzhou, 6 months", Region::chenzhou(), opts, STRICT);
}

#[test]
fn risk_measures_hold_on_a_sparse_region_of_another_shape() {
    holds(
        "sparse north",
        sparse_region(),
        GenerateOptions {
            seed: 11,
            ..GenerateOptions::default()
        },
        STRICT,
    );
}

#[test]
fn risk_measures_hold_on_nine_months_of_the_sparse_region() {
    let opts = GenerateOptions {
        seed: fresh_seed() ^ 2,
        months: 9,
        ..GenerateOptions::default()
    };
    holds("sparse north, 9 months", sparse_region(), opts, STRICT);
}

/// Over-dispersed registers (α = 0.05: a village's relative risk spreads by about ±20 %): a modest
/// excess in a dense place is then within the places' ordinary spread, so recall may be lower;
/// precision may not.
#[test]
fn risk_measures_hold_on_over_dispersed_counts() {
    let opts = GenerateOptions {
        seed: 23,
        dispersion: 0.05,
        ..GenerateOptions::default()
    };
    holds(
        "Chenzhou, over-dispersed",
        Region::chenzhou(),
        opts,
        Bar { recall: 0.8 },
    );
}

#[test]
fn risk_measures_hold_on_over_dispersed_counts_of_the_sparse_region() {
    let opts = GenerateOptions {
        seed: fresh_seed() ^ 1,
        dispersion: 0.05,
        ..GenerateOptions::default()
    };
    holds(
        "sparse north, over-dispersed",
        sparse_region(),
        opts,
        Bar { recall: 0.8 },
    );
}
