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
//! growing problem outranks a fading one of the same size.
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

use crate::cube::{count_rows, is_within, last_case_day, locations, periods, Location, Space, Step};
use crate::departments::{Department, Departments};
use crate::filter::Filter;
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
}

/// The recurring problems of a period, best-ranked first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecurringReport {
    pub step: Step,
    /// Labels of the history's steps, oldest first.
    pub periods: Vec<String>,
    pub window: usize,
    pub min_active: usize,
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
    let inside: std::collections::HashSet<Location> = units.into_iter().collect();
    let mut candidates: Vec<((Location, u8), Vec<u32>)> = series
        .into_iter()
        .filter(|(key, counts)| {
            inside.contains(&key.0) && counts[history - window..].iter().filter(|&&n| n > 0).count() >= opts.min_active
        })
        .collect();
    candidates.sort_by_key(|((location, category), _)| {
        let unit = match location {
            Location::Unit(u) => *u,
            Location::Cell(_) => u32::MAX,
        };
        (unit, *category)
    });
    let mut problems: Vec<RecurringProblem> = candidates
        .par_iter()
        .map(|((location, category), counts)| {
            let Location::Unit(unit) = *location else {
                unreachable!("unit locations")
            };
            let category = Category::ALL[*category as usize];
            let in_window = &counts[history - window..];
            let active_steps = in_window.iter().filter(|&&n| n > 0).count();
            let cases_in_window: u64 = in_window.iter().map(|&n| u64::from(n)).sum();
            let values: Vec<f64> = counts.iter().map(|&n| f64::from(n)).collect();
            let mk = mann_kendall(&values);
            let factor = match mk.trend {
                Trend::Increasing => 1.25,
                Trend::Decreasing => 0.8,
                Trend::NoTrend => 1.0,
            };
            let score = active_steps as f64 / window as f64 * (1.0 + cases_in_window as f64).log2() * factor;
            RecurringProblem {
                rank: 0,
                place: UnitCategory::new(region, unit, category),
                active_steps,
                window,
                cases_in_window,
                counts: counts.clone(),
                trend: mk.trend,
                mk_tau: mk.tau,
                mk_p: mk.p,
                score,
                department: departments.of(category).clone(),
            }
        })
        .collect();
    problems.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
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
        problems,
    })
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
    let err = |source| AnalyticsError::Query {
        what: "the repeat chains",
        source,
    };
    // Cases that could be in a chain: those naming an earlier case, those named, and those whose
    // village, category and party occur more than once.
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

    // Union-find over the cases.
    let mut parent: Vec<usize> = (0..cases.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for (i, c) in cases.iter().enumerate() {
        by_id.insert(c.case_id.as_str(), i);
    }
    let mut via_repeat = vec![false; cases.len()];
    let mut via_party = vec![false; cases.len()];
    for (i, c) in cases.iter().enumerate() {
        if let Some(&j) = c.repeat_of.as_deref().and_then(|id| by_id.get(id)) {
            let (a, b) = (root(&mut parent, i), root(&mut parent, j));
            parent[a] = b;
            via_repeat[i] = true;
            via_repeat[j] = true;
        }
    }
    let mut last_of_party: HashMap<(&str, Category, u64), usize> = HashMap::new();
    for (i, c) in cases.iter().enumerate() {
        let Some(party) = c.party else { continue };
        let key = (c.village.as_str(), c.category, party);
        if let Some(&j) = last_of_party.get(&key) {
            if (c.reported - cases[j].reported).num_days() <= opts.link_days {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                parent[a] = b;
                via_party[i] = true;
                via_party[j] = true;
            }
        }
        last_of_party.insert(key, i);
    }
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..cases.len() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }

    let filter = &opts.filter;
    let within = filter.unit_id(region)?;
    let mut chains: Vec<RepeatChain> = groups
        .into_values()
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
        .map(|mut members| {
            members.sort_unstable();
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
            let repeat = members.iter().any(|&i| via_repeat[i]);
            let party = members.iter().any(|&i| via_party[i]);
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
        })
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
