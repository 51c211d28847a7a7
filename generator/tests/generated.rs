//! The generated data look like the targets say and hold every planted pattern of the truth file.
//! One 12-month data set (seed 42) is generated once and shared by the tests of this binary; the
//! output formats, determinism and `cases` are checked on smaller data sets.

mod support;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta, Timelike};
use fengqiao_generator::calendar::{day_kind, iso_label, DayKind};
use fengqiao_generator::targets::{self, planted};
use fengqiao_generator::truth::{HotspotKind, Truth};
use fengqiao_generator::{
    generate, truth_path, GenerateError, GenerateOptions, HeaderLanguage, CASE_ID_PREFIX, NAME_PREFIX, PHONE_PREFIX,
    SUMMARY_PREFIX,
};
use fengqiao_ingest::coords::Crs;
use fengqiao_ingest::model::{close_deadline_days, AdminLevel, CaseClass, Category, Status};
use fengqiao_ingest::schema::Column;
use h3o::{CellIndex, LatLng};
use support::{read_raw, region, share, year, Row};

const PP: f64 = 0.015;

fn end_of_period(truth: &Truth) -> NaiveDateTime {
    truth.end.and_hms_opt(23, 59, 59).unwrap()
}

fn week_of(truth: &Truth, row: &Row) -> usize {
    truth.week_of(row.date()) as usize
}

fn near(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: {:.2}% vs target {:.2}%",
        got * 100.0,
        want * 100.0
    );
}

#[test]
fn period_volume_and_ids() {
    let data = year();
    let t = &data.truth;
    assert_eq!(t.start, NaiveDate::from_ymd_opt(2025, 11, 1).unwrap());
    assert_eq!(t.end, NaiveDate::from_ymd_opt(2026, 10, 31).unwrap());
    assert_eq!(t.total_cases, data.rows.len() as u64);
    assert_eq!(t.weeks, 53);
    assert_eq!(t.week_origin, NaiveDate::from_ymd_opt(2025, 10, 27).unwrap());
    let per_month = data.rows.len() as f64 / 12.0;
    assert!((19_000.0..21_000.0).contains(&per_month), "{per_month} a month");
    let first = data.rows.iter().map(|r| r.date()).min().unwrap();
    let last = data.rows.iter().map(|r| r.date()).max().unwrap();
    assert_eq!((first, last), (t.start, t.end));
    let mut ids = HashSet::new();
    for r in &data.rows {
        assert!(ids.insert(r.case_id.as_str()), "duplicate id {}", r.case_id);
        assert_eq!(r.case_id.len(), CASE_ID_PREFIX.len() + 8 + 7, "{}", r.case_id);
        assert!(r
            .case_id
            .starts_with(&format!("{CASE_ID_PREFIX}{}", r.reported_at.format("%Y%m%d"))));
    }
    // Within a day, sequence numbers follow the reporting time.
    for w in data.rows.windows(2) {
        if w[0].date() == w[1].date() {
            assert!(w[0].reported_at <= w[1].reported_at && w[0].case_id < w[1].case_id);
        }
    }
}

#[test]
fn class_mix_is_within_one_and_a_half_points() {
    let rows = &year().rows;
    for (class, target) in targets::CLASS_SHARES {
        near(class.code(), share(rows, |r| r.class == class), target, PP);
    }
}

#[test]
fn category_severity_and_channel_shares_are_near_their_targets() {
    let rows = &year().rows;
    for (category, target) in targets::overall_category_shares() {
        near(category.code(), share(rows, |r| r.category == category), target, PP);
    }
    let disputes: Vec<&Row> = rows.iter().filter(|r| r.class == CaseClass::Dispute).collect();
    for &(category, target) in targets::DISPUTE_CATEGORIES {
        near(
            category.code(),
            share(&disputes, |r| r.category == category),
            target,
            0.02,
        );
    }
    for (severity, target) in targets::SEVERITY_SHARES {
        near(severity.code(), share(rows, |r| r.severity == severity), target, PP);
    }
    for (channel, target) in targets::CHANNEL_SHARES {
        near(channel.code(), share(rows, |r| r.channel == channel), target, PP);
    }
}

#[test]
fn coordinates_are_mostly_gcj02_and_a_tenth_are_missing() {
    let rows = &year().rows;
    near(
        "no coordinates",
        share(rows, |r| r.coords.is_none()),
        targets::NO_COORDINATES_SHARE,
        PP,
    );
    near(
        "village only",
        share(rows, |r| r.grid_code.is_none()),
        targets::VILLAGE_ONLY_SHARE,
        0.02,
    );
    let located: Vec<&Row> = rows.iter().filter(|r| r.coords.is_some()).collect();
    for (crs, target) in targets::CRS_SHARES {
        near(crs.code(), share(&located, |r| r.coords.unwrap().2 == crs), target, PP);
    }
    // GCJ-02 really is shifted: the written point is not the WGS84 one.
    let r = located.iter().find(|r| r.coords.unwrap().2 == Crs::Gcj02).unwrap();
    let (x, y, _) = r.coords.unwrap();
    let (wx, wy) = r.wgs84.unwrap();
    assert!((x - wx).abs() + (y - wy).abs() > 1e-3);
    // Six decimals.
    let line = year().csv.lines().nth(1).unwrap();
    let lng = line.split(',').nth(Column::Lng as usize).unwrap();
    assert!(
        lng.is_empty() || lng.split('.').nth(1).unwrap().len() == targets::COORDINATE_DECIMALS,
        "{lng}"
    );
}

#[test]
fn codes_exist_and_follow_the_lineage_and_points_lie_in_their_place() {
    let region = region();
    for r in &year().rows {
        let village = region
            .id(&r.village_code)
            .unwrap_or_else(|| panic!("unknown village {}", r.village_code));
        assert_eq!(region.units[village as usize].level, AdminLevel::Village);
        let lineage = region.lineage(village).unwrap();
        assert_eq!(region.units[lineage.county as usize].code, r.county_code);
        assert_eq!(region.units[lineage.township as usize].code, r.township_code);
        if let Some(g) = &r.grid_code {
            let grid = region.unit(g).unwrap_or_else(|| panic!("unknown grid {g}"));
            assert_eq!(grid.level, AdminLevel::Grid);
            assert_eq!(grid.parent.as_deref(), Some(r.village_code.as_str()));
        }
        if let Some((x, y)) = r.wgs84 {
            assert!(region.contains(x, y), "{} at {x},{y} is outside the region", r.case_id);
        }
    }
}

#[test]
fn background_points_are_jittered_around_their_grid() {
    let region = region();
    let data = year();
    let hot: HashSet<String> = data.truth.hotspots.iter().flat_map(|h| h.cells.clone()).collect();
    let mut within_cap = 0;
    let mut checked = 0;
    for r in data.rows.iter().filter(|r| r.grid_code.is_some()).take(20_000) {
        let (Some((x, y)), Some(cell)) = (r.wgs84, r.cell8) else {
            continue;
        };
        if hot.contains(&cell.to_string()) {
            continue;
        }
        let grid = region.unit(r.grid_code.as_ref().unwrap()).unwrap();
        let d = LatLng::new(y, x)
            .unwrap()
            .distance_m(LatLng::new(grid.lat, grid.lng).unwrap());
        checked += 1;
        within_cap += usize::from(d <= targets::JITTER_CAP_M + 1.0);
    }
    assert!(checked > 10_000);
    assert_eq!(
        within_cap, checked,
        "every background point lies within the jitter cap of its grid"
    );
}

#[test]
fn life_cycles_meet_the_deadlines_and_never_pass_the_end() {
    let data = year();
    let end = end_of_period(&data.truth);
    let mut closed = 0;
    let mut within = 0;
    for r in &data.rows {
        assert!(r.reported_at <= end);
        assert!(r.updated_at >= r.reported_at && r.updated_at <= end, "{}", r.case_id);
        if let Some(replied) = r.replied_at {
            assert!(replied >= r.reported_at && replied <= end, "{}", r.case_id);
            assert!(r.updated_at >= replied);
        }
        match r.closed_at {
            Some(c) => {
                assert!(r.status.is_final(), "{}", r.case_id);
                assert!(c >= r.reported_at && c <= end, "{} closed {c}", r.case_id);
                assert!(r.updated_at >= c);
                assert!(r.replied_at.is_some_and(|p| p <= c), "{}", r.case_id);
                closed += 1;
                let deadline = i64::from(close_deadline_days(r.class, r.severity));
                within += usize::from(c - r.reported_at <= TimeDelta::days(deadline));
                if r.class == CaseClass::Dispute {
                    assert!(matches!(r.status, Status::Resolved | Status::Unresolved));
                } else {
                    assert_eq!(r.status, Status::Closed);
                }
            }
            None => {
                assert!(matches!(
                    r.status,
                    Status::Received | Status::Assigned | Status::InProgress
                ));
                assert!(r.satisfaction.is_none());
                assert_eq!(r.status == Status::Received, r.replied_at.is_none());
            }
        }
    }
    let within = within as f64 / closed as f64;
    assert!((within - targets::WITHIN_DEADLINE_SHARE).abs() <= 0.04, "{within}");
    let open: Vec<&Row> = data.rows.iter().filter(|r| r.closed_at.is_none()).collect();
    assert!(!open.is_empty() && open.iter().all(|r| end - r.reported_at < TimeDelta::days(130)));

    let finished: Vec<&Row> = data.rows.iter().filter(|r| r.closed_at.is_some()).collect();
    near(
        "satisfaction given",
        share(&finished, |r| r.satisfaction.is_some()),
        targets::SATISFACTION_RESPONSE_SHARE,
        0.02,
    );
    let answered: Vec<&Row> = finished.iter().copied().filter(|r| r.satisfaction.is_some()).collect();
    for (s, target) in targets::SATISFACTION_SHARES {
        near(s.code(), share(&answered, |r| r.satisfaction == Some(s)), target, PP);
    }
    let disputes: Vec<&Row> = finished
        .iter()
        .copied()
        .filter(|r| r.class == CaseClass::Dispute)
        .collect();
    near(
        "unresolved",
        share(&disputes, |r| r.status == Status::Unresolved),
        targets::UNRESOLVED_SHARE,
        0.01,
    );
    let replied: Vec<&Row> = data.rows.iter().filter(|r| r.replied_at.is_some()).collect();
    let within_days = |d: i64| {
        share(&replied, |r| {
            r.replied_at.unwrap() - r.reported_at <= TimeDelta::days(d)
        })
    };
    assert!(within_days(1) > 0.75, "{}", within_days(1));
    assert!(within_days(3) > 0.93, "{}", within_days(3));
}

#[test]
fn weekends_holidays_and_hours_shape_the_volume() {
    let data = year();
    let mut per_day: HashMap<NaiveDate, usize> = HashMap::new();
    for r in &data.rows {
        *per_day.entry(r.date()).or_default() += 1;
    }
    let mean = |kind: DayKind| {
        let days: Vec<usize> = per_day
            .iter()
            .filter(|(d, _)| day_kind(**d) == kind)
            .map(|(_, n)| *n)
            .collect();
        days.iter().sum::<usize>() as f64 / days.len() as f64
    };
    let (work, weekend, holiday) = (mean(DayKind::Workday), mean(DayKind::Weekend), mean(DayKind::Holiday));
    assert!(
        (0.38..0.55).contains(&(weekend / work)),
        "weekend/workday {}",
        weekend / work
    );
    assert!(
        (0.28..0.45).contains(&(holiday / work)),
        "holiday/workday {}",
        holiday / work
    );
    let spring_festival = per_day[&NaiveDate::from_ymd_opt(2026, 2, 17).unwrap()];
    assert!((spring_festival as f64) < 0.6 * work);
    let office = share(&data.rows, |r| (8..18).contains(&r.reported_at.hour()));
    assert!(office > 0.8, "{office}");
    let peak = share(&data.rows, |r| [9, 10, 15].contains(&r.reported_at.hour()));
    let night = share(&data.rows, |r| (0..6).contains(&r.reported_at.hour()));
    assert!(peak > 0.3 && night < 0.02, "{peak} {night}");
}

#[test]
fn seasons_move_the_categories() {
    let data = year();
    // The background's seasons: planted villages' cases (hot spots, 类案, the spike) left out, since a
    // forest-land hot spot that grows towards October is not a season.
    let planted: std::collections::HashSet<&str> = data
        .truth
        .hotspots
        .iter()
        .map(|h| h.village_code.as_str())
        .chain(data.truth.recurring.iter().map(|r| r.village_code.as_str()))
        .chain(data.truth.spike.iter().map(|s| s.village_code.as_str()))
        .collect();
    let rows: Vec<&Row> = data
        .rows
        .iter()
        .filter(|r| !planted.contains(r.village_code.as_str()))
        .collect();
    let share_in = |category: Category, year: i32, months: &[u32]| {
        let month: Vec<&Row> = rows
            .iter()
            .copied()
            .filter(|r| r.date().year() == year && months.contains(&r.date().month()))
            .collect();
        share(&month, |r| r.category == category)
    };
    let (jan, jul) = (|c| share_in(c, 2026, &[1]), |c| share_in(c, 2026, &[7]));
    assert!(
        jan(Category::Labour) > 1.5 * jul(Category::Labour),
        "labour {} vs {}",
        jan(Category::Labour),
        jul(Category::Labour)
    );
    assert!(jul(Category::Neighbour) > 1.3 * jan(Category::Neighbour));
    let spring = share_in(Category::ForestLand, 2026, &[3, 4]);
    let autumn = share_in(Category::ForestLand, 2026, &[9, 10]);
    assert!(spring > 1.5 * autumn, "forest land {spring} vs {autumn}");
    assert!(share_in(Category::HousingLand, 2026, &[3, 4]) > share_in(Category::HousingLand, 2026, &[9, 10]));
}

#[test]
fn personal_fields_are_plainly_fake() {
    for r in &year().rows {
        assert!(
            r.party_name.starts_with(NAME_PREFIX) && r.party_name.contains('某'),
            "{}",
            r.party_name
        );
        assert!(
            r.party_phone.starts_with(PHONE_PREFIX) && r.party_phone.len() == 11,
            "{}",
            r.party_phone
        );
        assert!(r.summary.starts_with(SUMMARY_PREFIX), "{}", r.summary);
        assert!(
            r.summary.contains(&r.party_name),
            "the summary names the party: {}",
            r.summary
        );
    }
}

/// Cases of each week in a set of res-8 cells.
fn weekly_in_cells(data: &support::DataSet, cells: &HashSet<CellIndex>) -> Vec<usize> {
    let mut weekly = vec![0; data.truth.weeks as usize];
    for r in &data.rows {
        if r.cell8.is_some_and(|c| cells.contains(&c)) {
            weekly[week_of(&data.truth, r)] += 1;
        }
    }
    weekly
}

fn cells(strings: &[String]) -> HashSet<CellIndex> {
    strings.iter().map(|s| s.parse().unwrap()).collect()
}

#[test]
fn hot_spots_are_in_their_cells_in_every_planted_week() {
    let data = year();
    let t = &data.truth;
    assert!(t.planting);
    assert_eq!(t.h3_resolution, 8);
    assert_eq!(t.hotspots.len(), 4 * planted::HOTSPOTS_PER_KIND);
    let region = region();
    let mut all_cells = HashSet::new();
    for kind in HotspotKind::ALL {
        let of_kind: Vec<_> = t.hotspots.iter().filter(|h| h.kind == kind).collect();
        assert_eq!(of_kind.len(), planted::HOTSPOTS_PER_KIND);
        let counties: HashSet<&str> = of_kind.iter().map(|h| h.county_code.as_str()).collect();
        assert_eq!(
            counties.len(),
            of_kind.len(),
            "{kind:?} hot spots lie in different counties"
        );
    }
    for (i, h) in t.hotspots.iter().enumerate() {
        let village = region.unit(&h.village_code).unwrap();
        let minimum = if h.kind == HotspotKind::New {
            planted::NEW_MIN_POPULATION
        } else {
            planted::HOTSPOT_MIN_POPULATION
        };
        assert!(village.population.unwrap() >= minimum);
        assert_eq!([village.lng, village.lat], h.centre);
        assert!((1..=3).contains(&h.categories.len()));
        let hs = cells(&h.cells);
        assert_eq!(hs.len(), 7);
        let centre_cell = LatLng::new(h.centre[1], h.centre[0])
            .unwrap()
            .to_cell(h3o::Resolution::Eight);
        assert_eq!(h.cells[0], centre_cell.to_string());
        assert!(hs.iter().all(|c| all_cells.insert(*c)), "{} shares cells", h.id);
        for other in &t.hotspots[i + 1..] {
            let d = LatLng::new(h.centre[1], h.centre[0])
                .unwrap()
                .distance_m(LatLng::new(other.centre[1], other.centre[0]).unwrap());
            assert!(
                d >= planted::HOTSPOT_MIN_SPACING_M,
                "{} and {} are {d} m apart",
                h.id,
                other.id
            );
        }
        assert_eq!(h.weekly_planted.len(), t.weeks as usize);
        let seen = weekly_in_cells(data, &hs);
        for (w, (&planted, &seen)) in h.weekly_planted.iter().zip(&seen).enumerate() {
            assert!(
                seen >= planted as usize,
                "{} week {w}: {seen} cases in its cells, {planted} planted",
                h.id
            );
        }
        // The planted cases carry the hot spot's codes and categories and lie inside its cells.
        let mut tagged = vec![0u32; t.weeks as usize];
        for r in data.rows.iter().filter(|r| r.cell8.is_some_and(|c| hs.contains(&c))) {
            if r.village_code == h.village_code
                && r.grid_code == h.grid_code
                && h.categories.contains(&r.category)
                && r.class == CaseClass::Dispute
            {
                tagged[week_of(t, r)] += 1;
            }
        }
        for (w, (&planted, &tagged)) in h.weekly_planted.iter().zip(&tagged).enumerate() {
            assert!(
                tagged >= planted,
                "{} week {w}: {tagged} tagged cases in its cells, {planted} planted",
                h.id
            );
        }
        let planted = &h.weekly_planted;
        let weeks = planted.len();
        let full: Vec<usize> = (0..weeks).filter(|&w| t.week_list[w].days == 7).collect();
        let mean = |ws: &[usize]| ws.iter().map(|&w| f64::from(planted[w])).sum::<f64>() / ws.len() as f64;
        match h.kind {
            HotspotKind::Persistent => {
                assert!(planted.iter().all(|&n| n > 0), "{} {planted:?}", h.id);
                assert!(mean(&full) > 15.0 && mean(&full) < 25.0);
            }
            HotspotKind::New => {
                let s = h.start_week as usize;
                assert!(s >= weeks - planted::NEW_START_WINDOW as usize && s < weeks);
                assert!(
                    planted[..s].iter().all(|&n| n == 0),
                    "{} planted before its start",
                    h.id
                );
                assert!(planted[s..].iter().all(|&n| n > 0));
                let before = seen[..s].iter().sum::<usize>() as f64 / s as f64;
                let after_weeks: Vec<usize> = full.iter().copied().filter(|&w| w >= s).collect();
                let after = after_weeks.iter().map(|&w| seen[w] as f64).sum::<f64>() / after_weeks.len() as f64;
                assert!(after > before + 15.0, "{}: {before} a week before, {after} after", h.id);
                assert_eq!(h.start_iso, iso_label(h.start_monday));
            }
            HotspotKind::Intensifying | HotspotKind::Diminishing => {
                let elevated = planted.iter().filter(|&&n| n > 0).count() as f64 / weeks as f64;
                assert!(elevated >= 0.9, "{} elevated in {elevated} of weeks", h.id);
                let (early, late) = (mean(&full[..10]), mean(&full[full.len() - 10..]));
                if h.kind == HotspotKind::Intensifying {
                    assert!(late > 2.0 * early, "{} {early} → {late}", h.id);
                } else {
                    assert!(early > 2.0 * late, "{} {early} → {late}", h.id);
                    assert!(*planted.last().unwrap() > 0, "{} still elevated in the last week", h.id);
                }
            }
        }
    }
}

#[test]
fn quiet_cells_are_far_from_every_pattern_and_hold_background_only() {
    let data = year();
    let t = &data.truth;
    assert_eq!(t.quiet_cells.len(), planted::QUIET_CELLS);
    assert_eq!(t.quiet_min_distance_m, planted::QUIET_MIN_DISTANCE_M);
    let region = region();
    let point = |code: &str| {
        let u = region.unit(code).unwrap();
        LatLng::new(u.lat, u.lng).unwrap()
    };
    let mut anchors: Vec<LatLng> = t
        .hotspots
        .iter()
        .map(|h| LatLng::new(h.centre[1], h.centre[0]).unwrap())
        .collect();
    anchors.extend(t.recurring.iter().map(|r| point(&r.village_code)));
    anchors.extend(t.spike.iter().map(|s| point(&s.village_code)));
    let quiet = cells(&t.quiet_cells);
    assert_eq!(quiet.len(), planted::QUIET_CELLS);
    for &q in &quiet {
        let centre = LatLng::from(q);
        for a in &anchors {
            assert!(
                centre.distance_m(*a) >= planted::QUIET_MIN_DISTANCE_M - 1_000.0,
                "{q} is near a pattern"
            );
        }
    }
    // Nothing of a pattern lies in a quiet cell: no chain case, no case of a pattern's village.
    let chain_ids: HashSet<&str> = t
        .repeat_chains
        .iter()
        .flat_map(|c| c.case_ids.iter().map(String::as_str))
        .collect();
    let pattern_villages: HashSet<&str> = t
        .hotspots
        .iter()
        .map(|h| h.village_code.as_str())
        .chain(t.recurring.iter().map(|r| r.village_code.as_str()))
        .chain(t.spike.iter().map(|s| s.village_code.as_str()))
        .collect();
    let in_quiet: Vec<&Row> = data
        .rows
        .iter()
        .filter(|r| r.cell8.is_some_and(|c| quiet.contains(&c)))
        .collect();
    assert!(
        in_quiet.len() > 100,
        "the quiet cells are populated: {}",
        in_quiet.len()
    );
    for r in &in_quiet {
        assert!(
            !chain_ids.contains(r.case_id.as_str()),
            "chain case {} in a quiet cell",
            r.case_id
        );
        assert!(
            !pattern_villages.contains(r.village_code.as_str()),
            "{} in a quiet cell",
            r.case_id
        );
    }
}

#[test]
fn recurring_problems_appear_in_four_of_every_eight_weeks() {
    let data = year();
    let t = &data.truth;
    assert!(t.recurring.len() >= 10);
    let pairs: HashSet<(&str, &str)> = t
        .recurring
        .iter()
        .map(|r| (r.village_code.as_str(), r.category.code()))
        .collect();
    assert_eq!(pairs.len(), t.recurring.len());
    for rec in &t.recurring {
        let mut seen = vec![0u32; t.weeks as usize];
        for r in data
            .rows
            .iter()
            .filter(|r| r.village_code == rec.village_code && r.category == rec.category)
        {
            seen[week_of(t, r)] += 1;
        }
        for (w, (&planted, &seen)) in rec.weekly_planted.iter().zip(&seen).enumerate() {
            assert!(seen >= planted, "{} {} week {w}", rec.village_code, rec.category);
        }
        let weeks: HashSet<u32> = rec.weeks.iter().copied().collect();
        assert_eq!(weeks.len(), rec.weekly_planted.iter().filter(|&&n| n > 0).count());
        for start in 0..=(t.weeks as usize - 8) {
            let present = (start..start + 8)
                .filter(|&w| seen[w] > 0 && weeks.contains(&(w as u32)))
                .count();
            assert!(
                present >= 4,
                "{} {} has {present} of weeks {start}..{}",
                rec.village_code,
                rec.category,
                start + 8
            );
        }
        // The analyst's frame: the last 8 seven-day steps counted back from the last day.
        let mut steps = [0u32; 8];
        for r in data
            .rows
            .iter()
            .filter(|r| r.village_code == rec.village_code && r.category == rec.category)
        {
            let back = (t.end - r.date()).num_days() / 7;
            if back < 8 {
                steps[back as usize] += 1;
            }
        }
        let active = steps.iter().filter(|&&n| n > 0).count();
        assert!(
            active >= 4,
            "{} {}: last 8 steps {steps:?}",
            rec.village_code,
            rec.category
        );
    }
}

#[test]
fn the_spike_stands_out_in_the_week_before_the_last() {
    let data = year();
    let t = &data.truth;
    let spike = t.spike.as_ref().unwrap();
    assert_eq!(spike.week, t.weeks - 2);
    assert_eq!(spike.week_monday, t.week_list[spike.week as usize].monday);
    assert_eq!(spike.days.len(), planted::SPIKE_DAYS);
    assert!(spike.days.windows(2).all(|d| d[1] - d[0] == TimeDelta::days(1)));
    assert_eq!(spike.count, 30);
    assert!(spike.background_weekly_mean < 1.0, "{}", spike.background_weekly_mean);
    let mut weekly = vec![0u32; t.weeks as usize];
    let mut daily: HashMap<NaiveDate, u32> = HashMap::new();
    for r in data
        .rows
        .iter()
        .filter(|r| r.village_code == spike.village_code && r.category == spike.category)
    {
        weekly[week_of(t, r)] += 1;
        *daily.entry(r.date()).or_default() += 1;
    }
    let w = spike.week as usize;
    assert!(weekly[w] >= spike.count);
    let before = *weekly[..w].iter().max().unwrap();
    assert!(
        weekly[w] >= 5 * before.max(1),
        "spike week {} vs earlier max {before}",
        weekly[w]
    );
    for (d, &n) in spike.days.iter().zip(&spike.daily) {
        assert!(daily.get(d).copied().unwrap_or(0) >= n);
    }
    for h in &t.hotspots {
        assert_ne!(h.village_code, spike.village_code);
    }
}

#[test]
fn repeat_chains_link_the_same_party() {
    let data = year();
    let t = &data.truth;
    assert!(t.repeat_chains.len() >= 40, "{}", t.repeat_chains.len());
    let mut parties = HashSet::new();
    for chain in &t.repeat_chains {
        assert!((2..=5).contains(&chain.case_ids.len()));
        assert_eq!(chain.case_ids.len(), chain.days.len());
        assert!(parties.insert((&chain.party_name, &chain.party_phone)));
        let rows: Vec<&Row> = chain.case_ids.iter().map(|id| &data.rows[data.by_id[id]]).collect();
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(r.party_name, chain.party_name);
            assert_eq!(r.party_phone, chain.party_phone);
            assert_eq!(r.village_code, chain.village_code);
            assert_eq!(r.category, chain.category);
            assert_eq!(r.date(), chain.days[i]);
            if i == 0 {
                assert_eq!(r.repeat_of, None);
            } else {
                assert_eq!(r.repeat_of.as_deref(), Some(rows[i - 1].case_id.as_str()));
                let gap = (r.date() - rows[i - 1].date()).num_days();
                assert!((3..=30).contains(&gap), "{gap}");
            }
        }
    }
    let categories: HashSet<Category> = t.repeat_chains.iter().map(|c| c.category).collect();
    assert!(categories.contains(&Category::MarriageFamily) && categories.contains(&Category::Neighbour));
    // Only chain cases repeat another.
    let linked = data.rows.iter().filter(|r| r.repeat_of.is_some()).count();
    let expected: usize = t.repeat_chains.iter().map(|c| c.case_ids.len() - 1).sum();
    assert_eq!(linked, expected);
}

#[test]
fn the_truth_file_lists_the_targets_and_the_weeks() {
    let t = &year().truth;
    assert_eq!(t.format_version, 1);
    assert_eq!(t.seed, 42);
    assert_eq!(t.targets.class["dispute"], 0.553);
    assert_eq!(t.targets.class.len(), 5);
    assert_eq!(t.targets.category.len(), 18);
    assert_eq!(t.week_list.len(), t.weeks as usize);
    assert_eq!(t.week_list[0].days, 2);
    assert_eq!(t.week_list.iter().map(|w| w.days).sum::<u32>(), 365);
    assert_eq!(t.week_list[22].iso, "2026-W14");
    let json: serde_json::Value = serde_json::from_str(&year().truth_json).unwrap();
    for key in [
        "seed",
        "start",
        "end",
        "total_cases",
        "h3_resolution",
        "week_origin",
        "weeks",
        "targets",
        "hotspots",
        "quiet_cells",
        "recurring",
        "spike",
        "repeat_chains",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    assert_eq!(
        json["hotspots"][0]["kind"]
            .as_str()
            .map(|k| ["persistent", "new", "intensifying", "diminishing"].contains(&k)),
        Some(true)
    );
    assert!(json["hotspots"][0]["centre"].as_array().is_some_and(|c| c.len() == 2));
}

// --- Smaller data sets: determinism, formats, options. ---

fn small(seed: u64) -> GenerateOptions {
    GenerateOptions {
        cases: Some(20_000),
        seed,
        ..GenerateOptions::default()
    }
}

fn generate_bytes(opts: &GenerateOptions, dir: &Path, name: &str) -> (Vec<u8>, Vec<u8>) {
    let out = dir.join(name);
    generate(region(), opts, &out).unwrap();
    (std::fs::read(&out).unwrap(), std::fs::read(truth_path(&out)).unwrap())
}

#[test]
fn the_same_seed_gives_the_same_bytes_on_any_number_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    let a = generate_bytes(&small(7), dir.path(), "a.csv");
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let b = pool.install(|| generate_bytes(&small(7), dir.path(), "b.csv"));
    assert!(a.0 == b.0, "data differ");
    assert!(a.1 == b.1, "truth files differ");
    let c = generate_bytes(&small(8), dir.path(), "c.csv");
    assert!(a.0 != c.0 && a.1 != c.1, "another seed gives other data");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 6, "no temporary files are left: {leftovers:?}");
}

#[test]
fn cases_sets_the_exact_number_of_rows() {
    let dir = tempfile::tempdir().unwrap();
    let opts = GenerateOptions {
        cases: Some(12_345),
        seed: 3,
        ..GenerateOptions::default()
    };
    let out = dir.path().join("n.csv");
    let summary = generate(region(), &opts, &out).unwrap();
    assert_eq!(summary.cases, 12_345);
    assert_eq!(read_raw(&out).1.len(), 12_345);
    let truth = Truth::read(&summary.truth_path).unwrap();
    assert_eq!(truth.total_cases, 12_345);
    assert!(truth.planting && truth.planted_scale < 0.06);
    assert_eq!((truth.start, truth.end), (summary.start, summary.end));

    // Too few cases to carry the patterns: none are planted, the count still holds.
    let out = dir.path().join("tiny.csv");
    let opts = GenerateOptions {
        cases: Some(500),
        ..opts
    };
    let summary = generate(region(), &opts, &out).unwrap();
    assert_eq!(read_raw(&out).1.len(), 500);
    let truth = Truth::read(&summary.truth_path).unwrap();
    assert!(!truth.planting && truth.hotspots.is_empty() && truth.repeat_chains.is_empty());
}

fn csv_records(path: &Path) -> Vec<Vec<String>> {
    read_raw(path).1
}

#[test]
fn ndjson_and_parquet_hold_the_same_records_as_csv() {
    let dir = tempfile::tempdir().unwrap();
    let opts = small(11);
    let csv_path = dir.path().join("s.csv");
    generate(region(), &opts, &csv_path).unwrap();
    let csv = csv_records(&csv_path);
    assert_eq!(csv.len(), 20_000);

    let json_path = dir.path().join("s.jsonl");
    generate(region(), &opts, &json_path).unwrap();
    let text = std::fs::read_to_string(&json_path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), csv.len());
    for (line, rec) in lines.iter().zip(&csv) {
        let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).unwrap();
        for (i, c) in Column::ALL.iter().enumerate() {
            match obj.get(c.name()) {
                None => assert!(rec[i].is_empty(), "{} missing from {line}", c.name()),
                Some(serde_json::Value::Number(n)) => {
                    assert!(matches!(c, Column::Lng | Column::Lat));
                    assert!((n.as_f64().unwrap() - rec[i].parse::<f64>().unwrap()).abs() < 1e-9);
                }
                Some(serde_json::Value::String(s)) => assert_eq!(s, &rec[i]),
                Some(v) => panic!("unexpected value {v}"),
            }
        }
        assert!(obj.keys().all(|k| Column::from_header(k).is_some()));
    }

    let parquet_path = dir.path().join("s.parquet");
    let summary = generate(region(), &opts, &parquet_path).unwrap();
    assert_eq!(summary.cases, 20_000);
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let types: Vec<(String, String)> = conn
        .prepare(&format!(
            "DESCRIBE SELECT * FROM read_parquet('{}')",
            parquet_path.display()
        ))
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let names: Vec<&str> = types.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(names, Column::ALL.map(|c| c.name()));
    assert_eq!(types[Column::ReportedAt as usize].1, "TIMESTAMP");
    assert_eq!(types[Column::Lng as usize].1, "DOUBLE");
    let select = Column::ALL.map(|c| format!("CAST({} AS VARCHAR)", c.name())).join(", ");
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {select} FROM read_parquet('{}')",
            parquet_path.display()
        ))
        .unwrap();
    let parquet: Vec<Vec<Option<String>>> = stmt
        .query_map([], |r| {
            (0..Column::ALL.len()).map(|i| r.get::<_, Option<String>>(i)).collect()
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(parquet.len(), csv.len());
    for (p, rec) in parquet.iter().zip(&csv) {
        for (i, c) in Column::ALL.iter().enumerate() {
            match (&p[i], rec[i].as_str()) {
                (None, "") => {}
                (Some(v), want) if matches!(c, Column::Lng | Column::Lat) => {
                    assert!((v.parse::<f64>().unwrap() - want.parse::<f64>().unwrap()).abs() < 1e-9)
                }
                (Some(v), want) => assert_eq!(v, want, "{}", c.name()),
                (None, want) => panic!("{} lost {want:?}", c.name()),
            }
        }
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        6,
        "only the outputs and their truth files: {leftovers:?}"
    );
}

#[test]
fn chinese_headers_and_bad_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let opts = GenerateOptions {
        cases: Some(2_000),
        headers: HeaderLanguage::Chinese,
        ..GenerateOptions::default()
    };
    let out = dir.path().join("zh.csv");
    generate(region(), &opts, &out).unwrap();
    let (headers, rows) = read_raw(&out);
    assert_eq!(headers, Column::ALL.map(|c| c.zh()));
    assert_eq!(rows.len(), 2_000);
    assert!(headers.iter().all(|h| Column::from_header(h).is_some()));

    let bad = dir.path().join("cases.xlsx");
    let err = generate(region(), &opts, &bad).unwrap_err();
    assert!(matches!(err, GenerateError::UnknownFormat { .. }));
    assert!(err.to_string().contains("cases.xlsx"), "{err}");
    assert!(!bad.exists());

    let missing = dir.path().join("no/such/dir/cases.csv");
    let err = generate(region(), &opts, &missing).unwrap_err();
    assert!(err.to_string().contains("no/such/dir"), "{err}");

    let zero = GenerateOptions {
        months: 0,
        ..GenerateOptions::default()
    };
    let err = generate(region(), &zero, &dir.path().join("z.csv")).unwrap_err();
    assert!(matches!(err, GenerateError::Options { .. }), "{err}");
}

/// Pearson dispersion of the background per village: Σ (O − E)² / E over villages expecting at
/// least 5 cases, per village (1 for Poisson), planted villages left out.
fn village_dispersion(dir: &Path, dispersion: f64) -> f64 {
    let opts = GenerateOptions {
        cases: Some(60_000),
        seed: 5,
        dispersion,
        ..GenerateOptions::default()
    };
    let out = dir.join(format!("dispersion-{dispersion}.csv"));
    generate(region(), &opts, &out).unwrap();
    let truth = Truth::read(&truth_path(&out)).unwrap();
    assert_eq!(truth.dispersion, dispersion);
    let planted: HashSet<String> = truth
        .hotspots
        .iter()
        .map(|h| h.village_code.clone())
        .chain(truth.recurring.iter().map(|r| r.village_code.clone()))
        .chain(truth.spike.iter().map(|s| s.village_code.clone()))
        .chain(truth.repeat_chains.iter().map(|c| c.village_code.clone()))
        .collect();
    let (headers, rows) = read_raw(&out);
    let village = headers.iter().position(|h| h == Column::VillageCode.name()).unwrap();
    let mut observed: HashMap<String, f64> = HashMap::new();
    for row in &rows {
        *observed.entry(row[village].clone()).or_default() += 1.0;
    }
    let people: f64 = region()
        .level(AdminLevel::Village)
        .map(|(_, v)| v.population.unwrap() as f64)
        .sum();
    let total = rows.len() as f64;
    let (mut chi2, mut n) = (0.0, 0.0);
    for (_, v) in region()
        .level(AdminLevel::Village)
        .filter(|(_, v)| !planted.contains(&v.code))
    {
        let e = total * v.population.unwrap() as f64 / people;
        if e >= 5.0 {
            let o = observed.get(&v.code).copied().unwrap_or(0.0);
            chi2 += (o - e).powi(2) / e;
            n += 1.0;
        }
    }
    chi2 / n
}

#[test]
fn over_dispersion_makes_villages_vary_more_than_poisson() {
    let dir = tempfile::tempdir().unwrap();
    let poisson = village_dispersion(dir.path(), 0.0);
    let dispersed = village_dispersion(dir.path(), 0.2);
    // With α the variance is about μ + α μ² (μ ≈ 25 a village here): several times Poisson's.
    assert!(poisson < 1.3, "{poisson}");
    assert!(dispersed > 3.0, "{dispersed}");
    let err = generate(
        region(),
        &GenerateOptions {
            dispersion: -1.0,
            ..small(1)
        },
        &dir.path().join("bad.csv"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("dispersion"), "{err}");
}
