//! Recurring problems (类案) and repeat chains (重复信访 / 民转刑 watch list).
//!
//! A **recurring problem** is an admin unit × category with cases in at least `min_active` of the
//! last `window` time steps (default 4 of 8 weeks). Each comes with its series, a Mann–Kendall trend
//! over a longer history, and the responsible department ([`crate::departments`]). They are ranked by
//!
//! ```text
//! score = (active steps / window) × log2(1 + cases in the window) × trend factor
//! ```
//!
//! with the trend factor 1.25 for a significant rise, 0.8 for a significant fall, 1 otherwise: a
//! problem that comes back every week outranks one that came in a burst, more cases outrank fewer, and a
//! growing problem outranks a fading one of the same size. That is the **count** measure (volume: a
//! big community tops it with its ordinary cases).
//!
//! With a **risk** measure (the default) a problem is ranked by its *persistent excess*: the steps
//! of the window whose cases exceed the expected count (the unit's residents × the region's rate
//! for that category in that step) are its active steps, and
//!
//! ```text
//! score = (active steps / window) × min(−log10 min(p_window, p_history), 50) × trend factor
//! ```
//!
//! where p is the chance of at least the window's (the history's) cases given their expected
//! count (negative binomial with the dispersion of the units' histories): a problem that has come
//! back for months outranks a chance burst of the last weeks, and a new one strong in the window
//! still ranks. A problem must recur (`min_active`
//! active steps), hold at least `min_cases` cases and pass Benjamini–Hochberg at 5 % over all unit ×
//! categories that recur. Problems whose unit lies in an orange or red hot-spot cluster of the same
//! window with that category among the cluster's main ones are already the business of a county
//! team or several departments: they stay in the list, marked with the cluster, after the others.
//!
//! A **repeat chain** is a set of cases linked by `repeat_of` (the case names an earlier one), or by the
//! same village, category and party (name and phone both equal) reported within `link_days` of the
//! previous one. Parties are compared by a hash of name and phone computed inside DuckDB: no name or
//! phone is read out of the store.
//! Chains of marriage/family and neighbour disputes, and chains that grow more severe, are flagged as
//! at risk of escalation (民转刑风险) and listed first.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use duckdb::Connection;
use fengqiao_ingest::model::{AdminLevel, Category, Severity, Status};
use fengqiao_ingest::Region;
use rayon::prelude::*;
use serde::Serialize;

use crate::cube::{
    count_rows, is_within, last_case_day, location_people, locations, periods, region_step_totals, Location, Space,
    Step,
};
use crate::departments::{Department, Departments};
use crate::filter::Filter;
use crate::gistar::benjamini_hochberg;
use crate::measure::{Measure, RiskOptions};
use crate::population::PopulationSurface;
use crate::response::Level;
use crate::risk;
use crate::trend::{mann_kendall, Trend};
use crate::AnalyticsError;

/// What counts as recurring.
#[derive(Debug, Clone)]
pub struct RecurringOptions {
    pub level: AdminLevel,
    pub step: Step,
    /// The last `window` steps are examined …
    pub window: usize,
    /// … and a unit × category recurs with cases in at least this many of them.
    pub min_active: usize,
    /// Steps of history for the trend (at least `window`).
    pub history: usize,
    /// Last day of the last step (default: the last day with cases).
    pub last_day: Option<NaiveDate>,
    pub filter: Filter,
    /// Volume (count) or persistent excess (a risk measure, the default).
    pub measure: Measure,
    pub risk: RiskOptions,
}

impl Default for RecurringOptions {
    fn default() -> Self {
        RecurringOptions {
            level: AdminLevel::Village,
            step: Step::Week,
            window: 8,
            min_active: 4,
            history: 26,
            last_day: None,
            filter: Filter::default(),
            measure: Measure::Excess,
            risk: RiskOptions::default(),
        }
    }
}

/// An admin unit and a category, named for people: what a recurring problem, an alert or a chain is
/// about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitCategory {
    pub unit_code: String,
    pub unit_name: String,
    pub county_name: String,
    pub township_name: String,
    pub category: Category,
    pub category_zh: String,
}

impl UnitCategory {
    /// `unit` (an index into the region's units) and `category`, with the names of the county and
    /// township the unit lies in (empty where it has none).
    pub fn new(region: &Region, unit: u32, category: Category) -> UnitCategory {
        let (mut county_name, mut township_name) = (String::new(), String::new());
        let mut at = Some(unit);
        while let Some(u) = at {
            let x = &region.units[u as usize];
            match x.level {
                AdminLevel::County => county_name = x.name.clone(),
                AdminLevel::Township => township_name = x.name.clone(),
                _ => {}
            }
            at = region.parent(u);
        }
        UnitCategory {
            unit_code: region.units[unit as usize].code.clone(),
            unit_name: region.units[unit as usize].name.clone(),
            county_name,
            township_name,
            category,
            category_zh: category.zh().to_string(),
        }
    }
}

/// A unit × category that keeps coming back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecurringProblem {
    pub rank: usize,
    #[serde(flatten)]
    pub place: UnitCategory,
    /// Steps of the window with cases.
    pub active_steps: usize,
    pub window: usize,
    pub cases_in_window: u64,
    /// Cases per step over the history, oldest first (the window is the tail).
    pub counts: Vec<u32>,
    pub trend: Trend,
    pub mk_tau: f64,
    pub mk_p: f64,
    pub score: f64,
    pub department: Department,
    /// Expected cases in the window (risk measures).
    pub expected_in_window: Option<f64>,
    /// Cases in the window over the expected cases (risk measures).
    pub ratio: Option<f64>,
    /// P(at least the window's cases | expected), or of the history's when smaller, doubled (risk
    /// measures).
    pub excess_p: Option<f64>,
    /// The orange or red hot-spot cluster of the window that already covers this problem.
    pub hotspot: Option<HotspotRef>,
}

/// A hot-spot cluster a recurring problem lies in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HotspotRef {
    /// Its index in the window's risk heat map (`/api/hotspots` of the same period).
    pub cluster: usize,
    pub level: Level,
}

/// The recurring problems of a period, best-ranked first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecurringReport {
    pub step: Step,
    /// Labels of the history's steps, oldest first.
    pub periods: Vec<String>,
    pub window: usize,
    pub min_active: usize,
    pub measure: Measure,
    /// NB2 dispersion of the unit × categories' histories around their expected counts (risk).
    pub dispersion: Option<f64>,
    pub problems: Vec<RecurringProblem>,
}

/// Finds the recurring problems.
pub fn recurring(
    conn: &Connection,
    region: &Region,
    departments: &Departments,
    opts: &RecurringOptions,
) -> Result<RecurringReport, AnalyticsError> {
    let window = opts.window.max(1);
    let history = opts.history.max(window);
    let last_day = match opts.last_day {
        Some(d) => Some(d),
        None => last_case_day(conn, region, &opts.filter)?,
    };
    let steps = match last_day {
        Some(d) => periods(opts.step, history, d),
        None => Vec::new(),
    };
    let space = Space::Units(opts.level);
    let units = locations(region, space, &opts.filter)?;
    let rows = count_rows(conn, region, space, opts.step, &steps, &opts.filter, true)?;
    let mut series: HashMap<(Location, u8), Vec<u32>> = HashMap::new();
    for row in rows {
        let category = row.category.expect("counted by category");
        series
            .entry((row.location, category))
            .or_insert_with(|| vec![0; history])[row.step] += row.n;
    }
    let inside: std::collections::HashSet<Location> = units.iter().copied().collect();
    series.retain(|key, _| inside.contains(&key.0));
    let (mut problems, dispersion) = if opts.measure.is_risk() {
        let expected = ExpectedSeries::new(conn, region, opts, &steps, &units)?;
        let (mut problems, alpha) = risk_problems(region, departments, opts, &series, &expected);
        mark_hotspots(conn, region, opts, &steps, &mut problems)?;
        (problems, Some(alpha))
    } else {
        (volume_problems(region, departments, opts, &series), None)
    };
    problems.sort_by(|a, b| {
        a.hotspot
            .is_some()
            .cmp(&b.hotspot.is_some())
            .then(b.score.total_cmp(&a.score))
            .then(a.place.unit_code.cmp(&b.place.unit_code))
            .then(a.place.category.cmp(&b.place.category))
    });
    for (i, p) in problems.iter_mut().enumerate() {
        p.rank = i + 1;
    }
    Ok(RecurringReport {
        step: opts.step,
        periods: steps.iter().map(|p| p.label(opts.step)).collect(),
        window,
        min_active: opts.min_active,
        measure: opts.measure,
        dispersion,
        problems,
    })
}

/// Series per unit × category (index into `Category::ALL`), `history` steps each.
type Series = HashMap<(Location, u8), Vec<u32>>;

/// The trend factor of a history's Mann–Kendall trend.
fn trend_factor(trend: Trend) -> f64 {
    match trend {
        Trend::Increasing => 1.25,
        Trend::Decreasing => 0.8,
        Trend::NoTrend => 1.0,
    }
}

/// A problem's row, before ranking.
fn problem(
    region: &Region,
    departments: &Departments,
    opts: &RecurringOptions,
    key: &(Location, u8),
    counts: &[u32],
) -> RecurringProblem {
    let Location::Unit(unit) = key.0 else {
        unreachable!("unit locations")
    };
    let category = Category::ALL[key.1 as usize];
    let window = opts.window.max(1);
    let in_window = &counts[counts.len() - window..];
    let values: Vec<f64> = counts.iter().map(|&n| f64::from(n)).collect();
    let mk = mann_kendall(&values);
    RecurringProblem {
        rank: 0,
        place: UnitCategory::new(region, unit, category),
        active_steps: in_window.iter().filter(|&&n| n > 0).count(),
        window,
        cases_in_window: in_window.iter().map(|&n| u64::from(n)).sum(),
        counts: counts.to_vec(),
        trend: mk.trend,
        mk_tau: mk.tau,
        mk_p: mk.p,
        score: 0.0,
        department: departments.of(category).clone(),
        expected_in_window: None,
        ratio: None,
        excess_p: None,
        hotspot: None,
    }
}

/// The count measure: cases in at least `min_active` steps, ranked by persistence × volume.
fn volume_problems(
    region: &Region,
    departments: &Departments,
    opts: &RecurringOptions,
    series: &Series,
) -> Vec<RecurringProblem> {
    let window = opts.window.max(1);
    let mut keys: Vec<&(Location, u8)> = series
        .iter()
        .filter(|(_, counts)| counts[counts.len() - window..].iter().filter(|&&n| n > 0).count() >= opts.min_active)
        .map(|(k, _)| k)
        .collect();
    keys.sort_by_key(|(l, c)| (location_order(l), *c));
    keys.par_iter()
        .map(|key| {
            let mut p = problem(region, departments, opts, key, &series[*key]);
            p.score =
                p.active_steps as f64 / window as f64 * (1.0 + p.cases_in_window as f64).log2() * trend_factor(p.trend);
            p
        })
        .collect()
}

fn location_order(l: &Location) -> u32 {
    match l {
        Location::Unit(u) => *u,
        Location::Cell(_) => u32::MAX,
    }
}

/// Expected cases of every unit × category × step: the unit's residents × the region's rate of the
/// category in the step.
struct ExpectedSeries {
    people: HashMap<Location, f64>,
    /// `[step][category]` rate per resident.
    rates: Vec<Vec<f64>>,
}

impl ExpectedSeries {
    fn new(
        conn: &Connection,
        region: &Region,
        opts: &RecurringOptions,
        steps: &[crate::cube::Period],
        units: &[Location],
    ) -> Result<ExpectedSeries, AnalyticsError> {
        let surface = PopulationSurface::of(region, &crate::source::CaseSource::Store(conn))?;
        let people = location_people(region, &surface, units, Space::Units(opts.level), &opts.filter)?;
        let totals = region_step_totals(conn, region, opts.step, steps, &opts.filter, true)?;
        let rates = totals
            .into_iter()
            .map(|row| row.into_iter().map(|n| n / surface.total()).collect())
            .collect();
        Ok(ExpectedSeries {
            people: units.iter().copied().zip(people).collect(),
            rates,
        })
    }

    fn of(&self, key: &(Location, u8)) -> Vec<f64> {
        let p = self.people.get(&key.0).copied().unwrap_or(0.0);
        self.rates.iter().map(|r| p * r[key.1 as usize]).collect()
    }
}

/// The risk measures: persistent excess over the expected counts (see the module documentation),
/// with the dispersion used.
fn risk_problems(
    region: &Region,
    departments: &Departments,
    opts: &RecurringOptions,
    series: &Series,
    expected: &ExpectedSeries,
) -> (Vec<RecurringProblem>, f64) {
    let window = opts.window.max(1);
    let mut keys: Vec<&(Location, u8)> = series.keys().collect();
    keys.sort_by_key(|(l, c)| (location_order(l), *c));
    // The dispersion of the histories (every unit × category with cases, and as many without).
    let histories: Vec<(u64, f64)> = keys
        .iter()
        .map(|k| {
            let o: u64 = series[*k].iter().map(|&n| u64::from(n)).sum();
            (o, expected.of(k).iter().sum())
        })
        .collect();
    let (o, e): (Vec<u64>, Vec<f64>) = histories.into_iter().unzip();
    let (scale, alpha) = crate::hotspot::scale_and_dispersion(opts.risk.dispersion, &o, &e, &e);
    let floor = e.iter().copied().filter(|&x| x > 0.0).fold(f64::INFINITY, f64::min);
    let floor = if floor.is_finite() {
        floor / e.len().max(1) as f64
    } else {
        1e-6
    };
    let scored: Vec<(RecurringProblem, f64)> = keys
        .par_iter()
        .filter_map(|key| {
            let counts = &series[*key];
            let exp: Vec<f64> = expected.of(key).into_iter().map(|x| x * scale).collect();
            let (o_w, e_w) = (&counts[counts.len() - window..], &exp[exp.len() - window..]);
            let active = o_w
                .iter()
                .zip(e_w)
                .filter(|&(&n, &e)| n > 0 && f64::from(n) > e)
                .count();
            let observed: u64 = o_w.iter().map(|&n| u64::from(n)).sum();
            let mean = e_w.iter().sum::<f64>().max(floor);
            // A 类案 exceeds what its place explains in the window it is judged over; a past
            // excess alone (below) ranks it, it does not make it one.
            if active < opts.min_active || observed < opts.risk.min_cases || observed as f64 <= mean {
                return None;
            }
            let ln_p_window = risk::ln_upper_tail(observed, mean, alpha);
            // Persistence: the excess of the whole history counts as much as the window's, so a
            // problem that has come back for months outranks a chance burst of the last weeks
            // (the smaller of the two p-values, doubled for having looked twice).
            let history_observed: u64 = counts.iter().map(|&n| u64::from(n)).sum();
            let history_mean = exp.iter().sum::<f64>().max(floor);
            let ln_p_history = risk::ln_upper_tail(history_observed, history_mean, alpha);
            let ln_p = (ln_p_window.min(ln_p_history) + std::f64::consts::LN_2).min(0.0);
            let mut p = problem(region, departments, opts, key, counts);
            p.active_steps = active;
            p.expected_in_window = Some(mean);
            p.ratio = Some(observed as f64 / mean);
            p.excess_p = Some(ln_p.exp());
            let evidence = (-ln_p / std::f64::consts::LN_10).min(50.0);
            p.score = active as f64 / window as f64 * evidence * trend_factor(p.trend);
            Some((p, ln_p.exp()))
        })
        .collect();
    let pass = benjamini_hochberg(&scored.iter().map(|s| s.1).collect::<Vec<_>>(), 0.05);
    let problems = scored
        .into_iter()
        .zip(pass)
        .filter(|(_, ok)| *ok)
        .map(|((p, _), _)| p)
        .collect();
    (problems, alpha)
}

/// Marks the problems already covered by an orange or red cluster of the window's risk heat map
/// (village or grid level; the cluster's cases come from the unit and the category is among its
/// main ones).
fn mark_hotspots(
    conn: &Connection,
    region: &Region,
    opts: &RecurringOptions,
    steps: &[crate::cube::Period],
    problems: &mut [RecurringProblem],
) -> Result<(), AnalyticsError> {
    let window = opts.window.max(1);
    let (Some(first), Some(last)) = (steps.get(steps.len().saturating_sub(window)), steps.last()) else {
        return Ok(());
    };
    let filter = Filter {
        from: first.start.and_hms_opt(0, 0, 0),
        to: (last.end + chrono::Duration::days(1)).and_hms_opt(0, 0, 0),
        ..opts.filter.clone()
    };
    let map = crate::hotspot::heatmap(
        conn,
        region,
        &crate::hotspot::HeatmapOptions {
            res: h3o::Resolution::Eight,
            k: 1,
            kernel: false,
            filter,
            weights: Default::default(),
            as_of: last.end.and_hms_opt(23, 59, 59).expect("valid time"),
            rules: Default::default(),
            measure: opts.measure,
            risk: opts.risk,
        },
    )?;
    for p in problems.iter_mut() {
        p.hotspot = map
            .clusters
            .iter()
            .filter(|c| c.level >= Level::Orange)
            .find(|c| {
                c.top_categories.iter().any(|&(cat, _)| cat == p.place.category)
                    && c.villages.iter().any(|v| {
                        v.code == p.place.unit_code
                            || region
                                .id(&v.code)
                                .zip(region.id(&p.place.unit_code))
                                .is_some_and(|(v, u)| is_within(region, u, v) || is_within(region, v, u))
                    })
            })
            .map(|c| HotspotRef {
                cluster: c.id,
                level: c.level,
            });
    }
    Ok(())
}

/// How repeat chains are linked.
#[derive(Debug, Clone)]
pub struct ChainOptions {
    /// Cases of the same village, category and party within this many days are linked.
    pub link_days: i64,
    /// Only chains with a case in the filter's period, categories and unit (its other parts are not
    /// used); the whole chain is listed.
    pub filter: Filter,
}

impl Default for ChainOptions {
    fn default() -> Self {
        ChainOptions {
            link_days: 90,
            filter: Filter::default(),
        }
    }
}

/// How the cases of a chain were linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkedBy {
    RepeatOf,
    SameParty,
    Both,
}

impl LinkedBy {
    pub fn code(self) -> &'static str {
        match self {
            LinkedBy::RepeatOf => "repeat_of",
            LinkedBy::SameParty => "same_party",
            LinkedBy::Both => "both",
        }
    }
}

/// A chain of linked cases. No personal data: case ids, places, categories and dates only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepeatChain {
    pub rank: usize,
    /// Case ids, in order of reporting.
    pub case_ids: Vec<String>,
    /// The village of the latest case and the category of the first.
    #[serde(flatten)]
    pub place: UnitCategory,
    pub first_reported: NaiveDateTime,
    pub last_reported: NaiveDateTime,
    /// Shortest days between two consecutive cases.
    pub min_gap_days: i64,
    /// The latest case is not yet closed.
    pub open: bool,
    /// Severity of the latest case, and whether severity rose along the chain.
    pub last_severity: Severity,
    pub escalating: bool,
    /// Marriage/family or neighbour dispute, or rising severity: risk of turning violent (民转刑).
    pub escalation_risk: bool,
    pub linked_by: LinkedBy,
    /// The village of each case, in the order of `case_ids` (not serialised: for scoping a chain
    /// that crosses units).
    #[serde(skip)]
    pub villages: Vec<String>,
}

struct ChainCase {
    case_id: String,
    repeat_of: Option<String>,
    village: String,
    category: Category,
    /// Hash of the village, category, party's name and phone.
    party: Option<u64>,
    reported: NaiveDateTime,
    severity: Severity,
    status: Status,
}

/// Finds repeat chains (two cases or more), at-risk chains first, then longer, then more recent.
pub fn repeat_chains(
    conn: &Connection,
    region: &Region,
    opts: &ChainOptions,
) -> Result<Vec<RepeatChain>, AnalyticsError> {
    let cases = chain_cases(conn)?;
    let mut links = Links::of(&cases, opts.link_days);
    let filter = &opts.filter;
    let within = filter.unit_id(region)?;
    let mut chains: Vec<RepeatChain> = links
        .groups()
        .into_iter()
        .filter(|members| members.len() > 1)
        .filter(|members| {
            members.iter().any(|&i| {
                let c = &cases[i];
                filter.from.is_none_or(|f| c.reported >= f)
                    && filter.to.is_none_or(|t| c.reported < t)
                    && (filter.categories.is_empty() || filter.categories.contains(&c.category))
                    && within.is_none_or(|w| region.id(&c.village).is_some_and(|v| is_within(region, v, w)))
            })
        })
        .map(|members| links.chain(region, &cases, members))
        .collect();
    chains.sort_by(|a, b| {
        b.escalation_risk
            .cmp(&a.escalation_risk)
            .then(b.open.cmp(&a.open))
            .then(b.case_ids.len().cmp(&a.case_ids.len()))
            .then(b.last_reported.cmp(&a.last_reported))
            .then(a.case_ids.cmp(&b.case_ids))
    });
    for (i, c) in chains.iter_mut().enumerate() {
        c.rank = i + 1;
    }
    Ok(chains)
}

/// The cases that could be in a chain, in the order they were reported: those naming an earlier
/// case, those named, and those whose village, category and party occur more than once.
fn chain_cases(conn: &Connection) -> Result<Vec<ChainCase>, AnalyticsError> {
    let err = |source| AnalyticsError::Query {
        what: "the repeat chains",
        source,
    };
    // Parties are compared by a 64-bit hash of name and phone computed inside DuckDB: no name or
    // phone ever reaches this process.
    // One 64-bit key per village, category and party; a key seen twice marks a candidate.
    let sql = "WITH named AS (SELECT DISTINCT repeat_of AS id FROM cases WHERE repeat_of IS NOT NULL),
               parties AS (SELECT hash(village_code, category, party_name, party_phone) AS party FROM cases
                           WHERE party_name IS NOT NULL AND party_phone IS NOT NULL
                           GROUP BY ALL HAVING count(*) > 1)
               SELECT case_id, repeat_of, village_code, category,
                      CASE WHEN party_name IS NOT NULL AND party_phone IS NOT NULL
                           THEN hash(village_code, category, party_name, party_phone) END,
                      CAST(reported_at AS VARCHAR), severity, status
               FROM cases
               WHERE repeat_of IS NOT NULL
                  OR case_id IN (SELECT id FROM named)
                  OR (party_name IS NOT NULL AND party_phone IS NOT NULL
                      AND hash(village_code, category, party_name, party_phone) IN (SELECT party FROM parties))";
    let mut stmt = conn.prepare(sql).map_err(err)?;
    let store = |what: &str, value: &str| AnalyticsError::Store(format!("{what} {value:?} in a chain"));
    let mut cases: Vec<ChainCase> = Vec::new();
    let mut rows = stmt.query([]).map_err(err)?;
    while let Some(row) = rows.next().map_err(err)? {
        let text = |i: usize| -> Result<Option<String>, AnalyticsError> { row.get(i).map_err(err) };
        let category = text(3)?.unwrap_or_default();
        let reported = text(5)?.unwrap_or_default();
        let severity = text(6)?.unwrap_or_default();
        let status = text(7)?.unwrap_or_default();
        cases.push(ChainCase {
            case_id: text(0)?.unwrap_or_default(),
            repeat_of: text(1)?,
            village: text(2)?.unwrap_or_default(),
            category: category.parse().map_err(|_| store("category", &category))?,
            party: row.get::<_, Option<u64>>(4).map_err(err)?,
            reported: fengqiao_ingest::time::parse_datetime(&reported).ok_or_else(|| store("time", &reported))?,
            severity: severity.parse().map_err(|_| store("severity", &severity))?,
            status: status.parse().map_err(|_| store("status", &status))?,
        });
    }
    cases.sort_by(|a, b| a.reported.cmp(&b.reported).then(a.case_id.cmp(&b.case_id)));
    Ok(cases)
}

/// The cases linked into chains (union–find), and by what each was linked.
struct Links {
    parent: Vec<usize>,
    via_repeat: Vec<bool>,
    via_party: Vec<bool>,
}

impl Links {
    /// Links a case to the case it names as its predecessor, and to the same party's previous
    /// case of the village and category within `link_days`.
    fn of(cases: &[ChainCase], link_days: i64) -> Links {
        let n = cases.len();
        let mut links = Links {
            parent: (0..n).collect(),
            via_repeat: vec![false; n],
            via_party: vec![false; n],
        };
        let by_id: HashMap<&str, usize> = cases.iter().enumerate().map(|(i, c)| (c.case_id.as_str(), i)).collect();
        for (i, c) in cases.iter().enumerate() {
            if let Some(&j) = c.repeat_of.as_deref().and_then(|id| by_id.get(id)) {
                links.join(i, j);
                links.via_repeat[i] = true;
                links.via_repeat[j] = true;
            }
        }
        let mut last_of_party: HashMap<(&str, Category, u64), usize> = HashMap::new();
        for (i, c) in cases.iter().enumerate() {
            let Some(party) = c.party else { continue };
            let key = (c.village.as_str(), c.category, party);
            if let Some(&j) = last_of_party.get(&key) {
                if (c.reported - cases[j].reported).num_days() <= link_days {
                    links.join(i, j);
                    links.via_party[i] = true;
                    links.via_party[j] = true;
                }
            }
            last_of_party.insert(key, i);
        }
        links
    }

    fn root(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn join(&mut self, i: usize, j: usize) {
        let (a, b) = (self.root(i), self.root(j));
        self.parent[a] = b;
    }

    /// The linked groups, each in report order.
    fn groups(&mut self) -> Vec<Vec<usize>> {
        let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
        for i in 0..self.parent.len() {
            let r = self.root(i);
            groups.entry(r).or_default().push(i);
        }
        groups.into_values().collect()
    }

    /// The chain of the cases `members` (in report order).
    fn chain(&self, region: &Region, cases: &[ChainCase], members: Vec<usize>) -> RepeatChain {
        let first = &cases[members[0]];
        let last = &cases[*members.last().expect("two or more")];
        let min_gap_days = members
            .windows(2)
            .map(|w| (cases[w[1]].reported - cases[w[0]].reported).num_days())
            .min()
            .unwrap_or(0);
        let escalating = members.windows(2).any(|w| cases[w[1]].severity > cases[w[0]].severity);
        let place = match region.id(&last.village) {
            Some(id) => UnitCategory::new(region, id, first.category),
            None => UnitCategory {
                unit_code: last.village.clone(),
                unit_name: String::new(),
                county_name: String::new(),
                township_name: String::new(),
                category: first.category,
                category_zh: first.category.zh().to_string(),
            },
        };
        let repeat = members.iter().any(|&i| self.via_repeat[i]);
        let party = members.iter().any(|&i| self.via_party[i]);
        RepeatChain {
            rank: 0,
            case_ids: members.iter().map(|&i| cases[i].case_id.clone()).collect(),
            villages: members.iter().map(|&i| cases[i].village.clone()).collect(),
            place,
            first_reported: first.reported,
            last_reported: last.reported,
            min_gap_days,
            open: !last.status.is_final(),
            last_severity: last.severity,
            escalating,
            escalation_risk: escalating || matches!(first.category, Category::MarriageFamily | Category::Neighbour),
            linked_by: match (repeat, party) {
                (true, true) => LinkedBy::Both,
                (true, false) => LinkedBy::RepeatOf,
                _ => LinkedBy::SameParty,
            },
        }
    }
}
