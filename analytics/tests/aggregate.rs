//! Heat-map aggregation against direct counts over the raw rows, on a small generated store: every
//! filter combination, parents against coarse resolutions, admin units, cell places against a
//! brute-force nearest-village search, and filter errors.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use fengqiao_analytics::aggregate::{aggregate_cells, aggregate_units, CellFigures, SeverityWeights, UnitFigures};
use fengqiao_analytics::filter::Filter;
use fengqiao_analytics::places::cell_places;
use fengqiao_analytics::AnalyticsError;
use fengqiao_generator::GenerateOptions;
use fengqiao_ingest::model::{close_deadline_days, AdminLevel, CaseClass, Category, Channel, Severity, Status};
use fengqiao_ingest::{Region, Store};

mod support;
use h3o::{CellIndex, LatLng, Resolution};

/// One stored case, as read back with a plain SELECT.
#[derive(Debug, Clone)]
struct Case {
    h3: CellIndex,
    reported_at: NaiveDateTime,
    class: CaseClass,
    category: Category,
    severity: Severity,
    channel: Channel,
    status: Status,
    county: String,
    township: String,
    village: String,
    grid: Option<String>,
}

struct Fixture {
    region: Region,
    store: Mutex<Store>,
    cases: Vec<Case>,
}

/// Three months of generated cases (8,000), ingested into an in-memory store, and read back.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let region = Region::chenzhou();
        let dir = tempfile::tempdir().unwrap();
        let opts = GenerateOptions {
            months: 3,
            cases: Some(8_000),
            seed: 7,
            ..GenerateOptions::default()
        };
        let (store, truth) = support::generated_store(&region, &opts, dir.path());
        let cases = read_cases(&store);
        assert_eq!(cases.len() as u64, truth.total_cases);
        Fixture {
            region,
            store: Mutex::new(store),
            cases,
        }
    })
}

fn read_cases(store: &Store) -> Vec<Case> {
    let mut stmt = store
        .conn()
        .prepare(
            "SELECT h3, CAST(reported_at AS VARCHAR), class, category, severity, channel, status, county_code,
                    township_code, village_code, grid_code
             FROM cases",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            let text = |i: usize| r.get::<_, String>(i);
            Ok(Case {
                h3: CellIndex::try_from(r.get::<_, u64>(0)?).unwrap(),
                reported_at: fengqiao_ingest::time::parse_datetime(&text(1)?).unwrap(),
                class: text(2)?.parse().unwrap(),
                category: text(3)?.parse().unwrap(),
                severity: text(4)?.parse().unwrap(),
                channel: text(5)?.parse().unwrap(),
                status: text(6)?.parse().unwrap(),
                county: text(7)?,
                township: text(8)?,
                village: text(9)?,
                grid: r.get(10)?,
            })
        })
        .unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

/// A connection of its own to the fixture's store.
fn conn() -> duckdb::Connection {
    fixture().store.lock().unwrap().conn().try_clone().unwrap()
}

/// "Now" for the fixture: a week after the generated period, so that open cases of the last weeks
/// are overdue and those of the last days are not.
fn as_of() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 7)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
}

/// Uneven weights, so that a score computed with a wrong severity shows.
fn weights() -> SeverityWeights {
    SeverityWeights {
        simple: 1.0,
        general: 2.5,
        major: 4.25,
        serious: 9.0,
    }
}

/// Whether `case` passes `filter`, decided directly in Rust.
fn passes(case: &Case, filter: &Filter, region: &Region) -> bool {
    filter.from.is_none_or(|t| case.reported_at >= t)
        && filter.to.is_none_or(|t| case.reported_at < t)
        && (filter.categories.is_empty() || filter.categories.contains(&case.category))
        && (filter.classes.is_empty() || filter.classes.contains(&case.class))
        && (filter.channels.is_empty() || filter.channels.contains(&case.channel))
        && (filter.statuses.is_empty() || filter.statuses.contains(&case.status))
        && (filter.severities.is_empty() || filter.severities.contains(&case.severity))
        && filter.unit.as_deref().is_none_or(|code| {
            let unit = region.unit(code).unwrap();
            match unit.level {
                // The test region (Chenzhou) has a city at the root.
                AdminLevel::Province | AdminLevel::City => true,
                AdminLevel::County => case.county == code,
                AdminLevel::Township => case.township == code,
                AdminLevel::Village => case.village == code,
                AdminLevel::Grid => case.grid.as_deref() == Some(code),
            }
        })
}

/// Figures computed directly from cases.
#[derive(Debug, Clone, Default, PartialEq)]
struct Expected {
    count: u64,
    score: f64,
    open: u64,
    overdue: u64,
    serious: u64,
    by_category: [u32; 18],
    villages: BTreeMap<String, u32>,
}

impl Expected {
    fn add(&mut self, case: &Case, weights: &SeverityWeights, as_of: NaiveDateTime) {
        self.count += 1;
        self.score += match case.severity {
            Severity::Simple => weights.simple,
            Severity::General => weights.general,
            Severity::Major => weights.major,
            Severity::Serious => weights.serious,
        };
        let open = !matches!(case.status, Status::Resolved | Status::Unresolved | Status::Closed);
        self.open += u64::from(open);
        let deadline = case.reported_at + Duration::days(i64::from(close_deadline_days(case.class, case.severity)));
        self.overdue += u64::from(open && as_of > deadline);
        self.serious += u64::from(matches!(case.severity, Severity::Major | Severity::Serious));
        let category = Category::ALL.iter().position(|&c| c == case.category).unwrap();
        self.by_category[category] += 1;
        *self.villages.entry(case.village.clone()).or_default() += 1;
    }

    /// Villages largest first, ties by code.
    fn village_list(&self) -> Vec<(String, u32)> {
        let mut v: Vec<(String, u32)> = self.villages.iter().map(|(c, &n)| (c.clone(), n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }
}

fn direct_cells(filter: &Filter, res: Resolution, as_of: NaiveDateTime) -> BTreeMap<u64, Expected> {
    let f = fixture();
    let mut out: BTreeMap<u64, Expected> = BTreeMap::new();
    for case in f.cases.iter().filter(|c| passes(c, filter, &f.region)) {
        let parent = u64::from(case.h3.parent(res).unwrap());
        out.entry(parent).or_default().add(case, &weights(), as_of);
    }
    out
}

fn cells(res: Resolution, filter: &Filter) -> Vec<CellFigures> {
    aggregate_cells(&conn(), &fixture().region, res, filter, &weights(), as_of()).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Asserts that the aggregated cells equal the direct figures, cell by cell.
fn assert_cells_equal(got: &[CellFigures], expected: &BTreeMap<u64, Expected>, what: &str) {
    assert!(
        got.windows(2).all(|w| w[0].h3 < w[1].h3),
        "{what}: cells sorted and distinct"
    );
    let keys: Vec<u64> = got.iter().map(|c| c.h3).collect();
    let expected_keys: Vec<u64> = expected.keys().copied().collect();
    assert_eq!(keys, expected_keys, "{what}: the same cells");
    for cell in got {
        let e = &expected[&cell.h3];
        let h3 = CellIndex::try_from(cell.h3).unwrap();
        assert_eq!(
            (cell.count, cell.open, cell.overdue, cell.serious),
            (e.count, e.open, e.overdue, e.serious),
            "{what}: count, open, overdue, serious of {h3}"
        );
        assert!(
            close(cell.score, e.score),
            "{what}: score of {h3}: {} vs {}",
            cell.score,
            e.score
        );
        assert_eq!(cell.by_category, e.by_category, "{what}: categories of {h3}");
        assert_eq!(cell.villages, e.village_list(), "{what}: villages of {h3}");
    }
}

/// One value per filter field, taken from a case that has a grid, so that combinations select cases.
fn sample_values() -> (Case, Filter) {
    let f = fixture();
    let mut sorted: Vec<&Case> = f.cases.iter().filter(|c| c.grid.is_some()).collect();
    sorted.sort_by_key(|c| c.reported_at);
    let case = sorted[sorted.len() / 2].clone();
    // The period starts exactly at the sample case's time (included) and ends exactly at another
    // case's time (excluded), so the half-open bounds matter.
    let end = sorted
        .iter()
        .find(|c| c.reported_at >= case.reported_at + Duration::days(20))
        .unwrap();
    let filter = Filter {
        from: Some(case.reported_at),
        to: Some(end.reported_at),
        categories: vec![case.category],
        classes: vec![case.class],
        channels: vec![case.channel],
        statuses: vec![case.status],
        severities: vec![case.severity],
        unit: Some(case.township.clone()),
    };
    (case, filter)
}

/// `full` restricted to the fields whose bit is set in `mask` (bit 0 period, then categories,
/// classes, channels, statuses, severities, unit).
fn subset(full: &Filter, mask: u32) -> Filter {
    let on = |bit: u32| mask & (1 << bit) != 0;
    Filter {
        from: full.from.filter(|_| on(0)),
        to: full.to.filter(|_| on(0)),
        categories: if on(1) { full.categories.clone() } else { vec![] },
        classes: if on(2) { full.classes.clone() } else { vec![] },
        channels: if on(3) { full.channels.clone() } else { vec![] },
        statuses: if on(4) { full.statuses.clone() } else { vec![] },
        severities: if on(5) { full.severities.clone() } else { vec![] },
        unit: full.unit.clone().filter(|_| on(6)),
    }
}

#[test]
fn aggregation_equals_a_direct_count_over_the_raw_rows_for_every_filter_combination() {
    let f = fixture();
    let (case, full) = sample_values();
    // Every combination of the seven filter fields.
    let mut filters: Vec<(String, Filter)> = (0..1u32 << 7)
        .map(|mask| (format!("mask {mask:07b}"), subset(&full, mask)))
        .collect();
    // Open-ended periods, several values per list, and the unit at every level.
    let mid = case.reported_at;
    let more = [
        Filter {
            from: Some(mid),
            ..Filter::default()
        },
        Filter {
            to: Some(mid),
            ..Filter::default()
        },
        Filter {
            categories: vec![Category::Labour, Category::Traffic, Category::Other],
            severities: vec![Severity::Simple, Severity::Major],
            ..Filter::default()
        },
        Filter {
            classes: vec![CaseClass::Complaint, CaseClass::LegalAid, CaseClass::Consultation],
            channels: vec![Channel::WalkIn, Channel::Online, Channel::GridPatrol],
            ..Filter::default()
        },
        Filter {
            statuses: vec![Status::Received, Status::Assigned, Status::InProgress],
            ..Filter::default()
        },
        Filter {
            statuses: vec![Status::Unresolved],
            from: Some(mid - Duration::days(30)),
            ..Filter::default()
        },
    ];
    filters.extend(more.into_iter().enumerate().map(|(i, f)| (format!("extra {i}"), f)));
    let units = [
        f.region.code.clone(),
        case.county.clone(),
        case.township.clone(),
        case.village.clone(),
        case.grid.clone().unwrap(),
    ];
    for unit in units {
        filters.push((
            format!("unit {unit}"),
            Filter {
                unit: Some(unit),
                ..Filter::default()
            },
        ));
    }

    let total = f.cases.len() as u64;
    let mut selected_some = 0;
    for (what, filter) in &filters {
        let expected = direct_cells(filter, Resolution::Eight, as_of());
        let got = cells(Resolution::Eight, filter);
        assert_cells_equal(&got, &expected, what);
        let n: u64 = got.iter().map(|c| c.count).sum();
        assert!(n <= total);
        selected_some += usize::from(n > 0);
    }
    // Not vacuous: every filter selects something (the combinations include the sample case, the
    // period starts at it), and the fixture has open and overdue cases.
    assert_eq!(selected_some, filters.len(), "every filter selects cases");
    let all = direct_cells(&Filter::default(), Resolution::Eight, as_of());
    assert_eq!(all.values().map(|e| e.count).sum::<u64>(), total);
    assert!(
        all.values().map(|e| e.overdue).sum::<u64>() > 0,
        "the fixture has overdue cases"
    );
    assert!(
        all.values().map(|e| e.open - e.overdue).sum::<u64>() > 0,
        "and open cases within their deadline"
    );
    let period = subset(&full, 1);
    let n = |filter: &Filter| {
        direct_cells(filter, Resolution::Eight, as_of())
            .values()
            .map(|e| e.count)
            .sum::<u64>()
    };
    assert!(n(&period) < total && n(&full) >= 1);
}

/// Sums fine cells into their parents at `res`.
fn roll_up(fine: &[CellFigures], res: Resolution) -> BTreeMap<u64, Expected> {
    let mut out: BTreeMap<u64, Expected> = BTreeMap::new();
    for cell in fine {
        let parent = u64::from(CellIndex::try_from(cell.h3).unwrap().parent(res).unwrap());
        let e = out.entry(parent).or_default();
        e.count += cell.count;
        e.score += cell.score;
        e.open += cell.open;
        e.overdue += cell.overdue;
        e.serious += cell.serious;
        for (a, b) in e.by_category.iter_mut().zip(cell.by_category) {
            *a += b;
        }
        for (v, n) in &cell.villages {
            *e.villages.entry(v.clone()).or_default() += n;
        }
    }
    out
}

#[test]
fn parent_aggregation_equals_aggregation_at_the_coarse_resolution() {
    let (_, full) = sample_values();
    let filters = [Filter::default(), subset(&full, 0b010_0001), subset(&full, 0b100_0000)];
    for filter in &filters {
        for (fine, coarse) in [
            (Resolution::Nine, Resolution::Eight),
            (Resolution::Ten, Resolution::Seven),
        ] {
            let what = format!("{fine} into {coarse} with {filter:?}");
            let fine_cells = cells(fine, filter);
            assert!(fine_cells
                .iter()
                .all(|c| CellIndex::try_from(c.h3).unwrap().resolution() == fine));
            let coarse_cells = cells(coarse, filter);
            assert!(!coarse_cells.is_empty());
            assert!(fine_cells.len() > coarse_cells.len(), "{what}: finer cells are more");
            assert_cells_equal(&coarse_cells, &roll_up(&fine_cells, coarse), &what);
        }
    }
    // Resolutions 5 and 6 too, against the direct count.
    for res in [Resolution::Five, Resolution::Six] {
        assert_cells_equal(
            &cells(res, &Filter::default()),
            &direct_cells(&Filter::default(), res, as_of()),
            "coarse",
        );
    }
}

fn units(level: AdminLevel, filter: &Filter) -> Vec<UnitFigures> {
    aggregate_units(&conn(), &fixture().region, level, filter, &weights(), as_of()).unwrap()
}

/// Sums units into their parents' codes.
fn roll_up_units(units: &[UnitFigures], region: &Region) -> BTreeMap<String, Expected> {
    let mut out: BTreeMap<String, Expected> = BTreeMap::new();
    for u in units {
        let parent = region.unit(&u.code).unwrap().parent.clone().unwrap();
        let e = out.entry(parent).or_default();
        e.count += u.count;
        e.score += u.score;
        e.open += u.open;
        e.overdue += u.overdue;
        e.serious += u.serious;
        for (a, b) in e.by_category.iter_mut().zip(u.by_category) {
            *a += b;
        }
    }
    out
}

#[test]
fn units_list_every_unit_roll_up_and_give_rates() {
    let f = fixture();
    let region = &f.region;
    let (case, full) = sample_values();
    for filter in [Filter::default(), subset(&full, 0b010_0010)] {
        let direct: Vec<&Case> = f.cases.iter().filter(|c| passes(c, &filter, region)).collect();
        let by_level: BTreeMap<&str, Vec<UnitFigures>> = AdminLevel::ALL
            .iter()
            .map(|&level| (level.code(), units(level, &filter)))
            .collect();
        for &level in AdminLevel::ALL {
            let list = &by_level[level.code()];
            let codes: Vec<&str> = list.iter().map(|u| u.code.as_str()).collect();
            let expected: Vec<&str> = region.level(level).map(|(_, u)| u.code.as_str()).collect();
            assert_eq!(codes, expected, "every {level} listed, in the region's order");
            assert!(list.iter().all(|u| u.level == level));
            for u in list {
                let unit = region.unit(&u.code).unwrap();
                assert_eq!((u.population, &u.name), (unit.population, &unit.name));
                match u.population.filter(|&p| p > 0) {
                    Some(p) => {
                        let rate = u.rate_per_10k.unwrap();
                        assert!(close(rate, u.count as f64 / p as f64 * 10_000.0), "{} {rate}", u.code);
                    }
                    None => assert_eq!(u.rate_per_10k, None),
                }
            }
            // Each unit's figures against the direct count.
            let mut expected: BTreeMap<String, Expected> = BTreeMap::new();
            for c in &direct {
                let code = match level {
                    // The root's level (a city here); no unit of the level above it.
                    AdminLevel::Province | AdminLevel::City => (region.level == level).then(|| region.code.clone()),
                    AdminLevel::County => Some(c.county.clone()),
                    AdminLevel::Township => Some(c.township.clone()),
                    AdminLevel::Village => Some(c.village.clone()),
                    AdminLevel::Grid => c.grid.clone(),
                };
                if let Some(code) = code {
                    expected.entry(code).or_default().add(c, &weights(), as_of());
                }
            }
            for u in list {
                let e = expected.remove(&u.code).unwrap_or_default();
                assert_eq!(
                    (u.count, u.open, u.overdue, u.serious, u.by_category),
                    (e.count, e.open, e.overdue, e.serious, e.by_category),
                    "{level} {}",
                    u.code
                );
                assert!(close(u.score, e.score));
            }
            assert!(
                expected.is_empty(),
                "no cases outside the listed units: {:?}",
                expected.keys()
            );
        }

        // The city and the sum over counties are the total; lower levels roll up into higher ones.
        let total = direct.len() as u64;
        assert_eq!(by_level["city"][0].count, total);
        assert_eq!(by_level["county"].iter().map(|u| u.count).sum::<u64>(), total);
        let with_grid = direct.iter().filter(|c| c.grid.is_some()).count() as u64;
        assert_eq!(by_level["grid"].iter().map(|u| u.count).sum::<u64>(), with_grid);
        assert!(with_grid < total, "some cases have no grid");
        for (fine, coarse) in [("township", "county"), ("village", "township")] {
            let rolled = roll_up_units(&by_level[fine], region);
            for u in &by_level[coarse] {
                let e = rolled.get(&u.code).cloned().unwrap_or_default();
                assert_eq!(
                    (u.count, u.open, u.overdue, u.serious, u.by_category),
                    (e.count, e.open, e.overdue, e.serious, e.by_category),
                    "{fine} into {coarse} {}",
                    u.code
                );
                assert!(close(u.score, e.score));
            }
        }
        assert!(
            by_level["village"].iter().any(|u| u.count == 0),
            "zero counts are listed"
        );
        assert!(by_level["county"].iter().any(|u| u.count > 0));
    }

    // A unit filter leaves the other counties at zero.
    let township = Filter {
        unit: Some(case.township.clone()),
        ..Filter::default()
    };
    let counties = units(AdminLevel::County, &township);
    assert!(counties.iter().all(|u| (u.count > 0) == (u.code == case.county)));
    assert_eq!(counties.len(), region.level(AdminLevel::County).count());
}

/// A deterministic stream of numbers in [0, 1).
struct Numbers(u64);
impl Numbers {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((x ^ (x >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn cell_places_agree_with_a_brute_force_nearest_village_search() {
    let region = &fixture().region;
    let villages: Vec<(u32, LatLng)> = region
        .level(AdminLevel::Village)
        .map(|(id, u)| (id, LatLng::new(u.lat, u.lng).unwrap()))
        .collect();
    let (mut min_lng, mut max_lng, mut min_lat, mut max_lat) = (180.0f64, -180.0f64, 90.0f64, -90.0f64);
    for (_, ll) in &villages {
        min_lng = min_lng.min(ll.lng());
        max_lng = max_lng.max(ll.lng());
        min_lat = min_lat.min(ll.lat());
        max_lat = max_lat.max(ll.lat());
    }
    let mut numbers = Numbers(20261123);
    let mut cells: Vec<CellIndex> = Vec::new();
    for res in [Resolution::Five, Resolution::Eight, Resolution::Ten] {
        let wanted = if res == Resolution::Five { 50 } else { 300 };
        let mut n = 0;
        while n < wanted {
            let lng = min_lng + (max_lng - min_lng) * numbers.next();
            let lat = min_lat + (max_lat - min_lat) * numbers.next();
            if region.contains(lng, lat) {
                cells.push(LatLng::new(lat, lng).unwrap().to_cell(res));
                n += 1;
            }
        }
    }
    // Cells far outside the region (Changsha, Guangzhou, the middle of the sea) search many rings.
    for (lat, lng) in [(28.2, 112.94), (23.13, 113.26), (10.0, 120.0)] {
        cells.push(LatLng::new(lat, lng).unwrap().to_cell(Resolution::Nine));
    }
    let places = cell_places(region, &cells);
    assert_eq!(places.len(), cells.len());
    for (cell, place) in cells.iter().zip(&places) {
        let centre = LatLng::from(*cell);
        let nearest = villages
            .iter()
            .map(|&(_, ll)| centre.distance_rads(ll))
            .fold(f64::INFINITY, f64::min);
        let got = region.units[place.village as usize].clone();
        assert_eq!(got.level, AdminLevel::Village);
        let distance = centre.distance_rads(LatLng::new(got.lat, got.lng).unwrap());
        assert!(
            distance - nearest <= 1e-12,
            "{cell}: {} is {} km away, the nearest village {} km",
            got.code,
            distance * 6371.0,
            nearest * 6371.0
        );
        let lineage = region.lineage(place.village).unwrap();
        assert_eq!((place.county, place.township), (lineage.county, lineage.township));
    }
    assert!(cell_places(region, &[]).is_empty());
}

#[test]
fn unknown_units_are_reported() {
    let f = fixture();
    let filter = Filter {
        unit: Some("431099999".into()),
        ..Filter::default()
    };
    let unknown =
        |r: Result<(), AnalyticsError>| matches!(r, Err(AnalyticsError::UnknownUnit(code)) if code == "431099999");
    assert!(unknown(filter.where_clause(&f.region).map(drop)));
    let conn = conn();
    let cells = aggregate_cells(&conn, &f.region, Resolution::Eight, &filter, &weights(), as_of());
    assert!(unknown(cells.map(drop)));
    let units = aggregate_units(&conn, &f.region, AdminLevel::Township, &filter, &weights(), as_of());
    let err = units.unwrap_err();
    assert!(err.to_string().contains("431099999"), "{err}");
    assert!(unknown(Err(err)));
}
