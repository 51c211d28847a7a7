//! A place's profile, what the explorer shows when an analyst clicks a hexagon or an admin unit:
//! its headline figures and category mix, its weekly series, the villages its cases come from, and
//! the recurring problems (类案) and early-warning alerts of those villages.
//!
//! The place is the filter's unit (the whole region without one), narrowed to one H3 cell when
//! `cell` is given. Every figure comes from the functions the rest of the product uses
//! ([`crate::kpi`], [`crate::recurring`], [`crate::warning`]), so a profile agrees with the API's
//! `kpis`, `recurring` and `alerts` for the same place.

use std::collections::HashSet;

use chrono::NaiveDate;
use duckdb::Connection;
use fengqiao_ingest::region::{Lineage, UnitId};
use fengqiao_ingest::Region;
use h3o::CellIndex;
use serde::Serialize;

use crate::cells::parent_sql;
use crate::cube::{last_case_day, periods, Step};
use crate::departments::Departments;
use crate::filter::Filter;
use crate::kpi::{summary_where, Summary};
use crate::recurring::{recurring, RecurringOptions, RecurringProblem};
use crate::warning::{alerts, Alert, AlertOptions};
use crate::AnalyticsError;

/// What to profile.
#[derive(Debug, Clone, Default)]
pub struct ProfileOptions {
    /// The cases (period, values) and the place (its unit).
    pub filter: Filter,
    /// Narrows the place to the cases in this H3 cell (any resolution 5–10).
    pub cell: Option<CellIndex>,
    /// Weeks in the series, ending on the filter's last day (or the last day with cases).
    pub weeks: usize,
    /// At most this many villages, recurring problems and alerts.
    pub limit: usize,
    /// What the recurring problems are ranked by: persistent excess (risk, the default) or volume.
    pub measure: crate::measure::Measure,
    /// Who leads on each category (the configuration's table).
    pub departments: Departments,
}

/// One village a place's cases come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VillageCount {
    pub code: String,
    pub name: String,
    pub township_name: String,
    pub county_name: String,
    pub cases: u64,
}

/// A place's profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    /// Headline figures and the category mix of the filter's period.
    pub summary: Summary,
    /// The series' weeks (`2026-W43` or `from/to`), oldest first.
    pub weeks: Vec<String>,
    /// Cases per week (the filter's values, ignoring its start date).
    pub weekly: Vec<u64>,
    /// The villages with the most of the period's cases, most first.
    pub villages: Vec<VillageCount>,
    /// Recurring problems of those villages (of the place's villages, for a unit).
    pub recurring: Vec<RecurringProblem>,
    /// Early-warning alerts of those villages in the week ending on the series' last day.
    pub alerts: Vec<Alert>,
}

/// Computes the profile of the place `opts` describes.
pub fn profile(conn: &Connection, region: &Region, opts: &ProfileOptions) -> Result<Profile, AnalyticsError> {
    let (clause, params) = where_in_cell(&opts.filter, region, opts.cell)?;
    let summary = summary_where(conn, &clause, &params)?;

    let by_village = cases_by_village(conn, &clause, &params)?;
    let involved: HashSet<&str> = by_village.iter().map(|(code, _)| code.as_str()).collect();
    let villages = by_village
        .iter()
        .take(opts.limit)
        .map(|(code, n)| village_count(region, code, *n))
        .collect();

    // The series and the place's problems run over all time up to the last day, not the period.
    let mut history = opts.filter.clone();
    history.from = None;
    let last_day: Option<NaiveDate> = match opts.filter.last_day() {
        Some(day) => Some(day),
        None => last_case_day(conn, region, &history)?,
    };
    let Some(last_day) = last_day else {
        return Ok(Profile {
            summary,
            weeks: Vec::new(),
            weekly: Vec::new(),
            villages,
            recurring: Vec::new(),
            alerts: Vec::new(),
        });
    };
    let steps = periods(Step::Week, opts.weeks.max(1), last_day);
    let weekly = weekly_counts(conn, region, &history, opts.cell, last_day, steps.len())?;

    let (recurring, alerts) = problems_of(conn, region, opts, history, &involved, last_day)?;
    Ok(Profile {
        summary,
        weeks: steps.iter().map(|p| p.label(Step::Week)).collect(),
        weekly,
        villages,
        recurring,
        alerts,
    })
}

/// The period's cases per village, most first.
fn cases_by_village(conn: &Connection, clause: &str, params: &[String]) -> Result<Vec<(String, i64)>, AnalyticsError> {
    let err = |source| AnalyticsError::Query {
        what: "cases by village",
        source,
    };
    let mut stmt = conn
        .prepare(&format!(
            "SELECT village_code, count(*) FROM cases WHERE {clause} GROUP BY 1 ORDER BY 2 DESC, 1"
        ))
        .map_err(err)?;
    let rows = stmt
        .query_map(duckdb::params_from_iter(params.iter()), |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(err)?
        .collect::<Result<_, _>>()
        .map_err(err)?;
    Ok(rows)
}

fn village_count(region: &Region, code: &str, cases: i64) -> VillageCount {
    let lineage = region.id(code).and_then(|id| region.lineage(id));
    let name = |pick: fn(&Lineage) -> UnitId| {
        lineage
            .as_ref()
            .map_or_else(String::new, |l| region.units[pick(l) as usize].name.clone())
    };
    VillageCount {
        code: code.to_string(),
        name: name(|l| l.village),
        township_name: name(|l| l.township),
        county_name: name(|l| l.county),
        cases: cases as u64,
    }
}

/// The place's recurring problems and alerts up to `last_day`. A cell's problems are those of
/// the villages its cases come from (`involved`); a unit's, its own villages'.
fn problems_of(
    conn: &Connection,
    region: &Region,
    opts: &ProfileOptions,
    history: Filter,
    involved: &HashSet<&str>,
    last_day: NaiveDate,
) -> Result<(Vec<RecurringProblem>, Vec<Alert>), AnalyticsError> {
    let keep = |code: &str| opts.cell.is_none() || involved.contains(code);
    let departments = &opts.departments;
    // A village's recurring problems depend on its own cases only, so for a cell they are computed
    // within the smallest unit holding all its villages (the same figures, a fraction of the work).
    // Alerts compare a village with the rest of the region: those run region-wide, as the API's.
    // Risk compares each place with the region's rate, so it too runs region-wide; volume only
    // needs the place's smallest common unit.
    let mut within = history.clone();
    if opts.cell.is_some() && !opts.measure.is_risk() {
        if let Some(code) = smallest_common_unit(region, involved.iter().copied()) {
            within.unit = Some(code);
        }
    }
    let report = recurring(
        conn,
        region,
        departments,
        &RecurringOptions {
            last_day: Some(last_day),
            filter: within,
            measure: opts.measure,
            ..RecurringOptions::default()
        },
    )?;
    let recurring: Vec<RecurringProblem> = report
        .problems
        .into_iter()
        .filter(|p| keep(&p.place.unit_code))
        .take(opts.limit)
        .collect();
    let mut alert_opts = AlertOptions::new(last_day);
    alert_opts.limit = None;
    alert_opts.filter = history;
    let alerts: Vec<Alert> = alerts(conn, region, departments, &alert_opts)?
        .into_iter()
        .filter(|a| keep(&a.place.unit_code))
        .take(opts.limit)
        .collect();
    Ok((recurring, alerts))
}

/// The code of the smallest unit that holds every one of `codes` (`None` for none or an unknown one).
fn smallest_common_unit<'a>(region: &Region, codes: impl Iterator<Item = &'a str>) -> Option<String> {
    let lineage = |code: &str| -> Option<Vec<u32>> {
        let mut up = Some(region.id(code)?);
        let mut chain = Vec::new();
        while let Some(id) = up {
            chain.push(id);
            up = region.parent(id);
        }
        chain.reverse();
        Some(chain)
    };
    let mut common: Option<Vec<u32>> = None;
    for code in codes {
        let chain = lineage(code)?;
        common = Some(match common {
            None => chain,
            Some(c) => c
                .iter()
                .zip(&chain)
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| *a)
                .collect(),
        });
    }
    let id = *common?.last()?;
    Some(region.units[id as usize].code.clone())
}

/// `filter`'s SQL condition and parameters, narrowed to the cases in `cell` when there is one.
fn where_in_cell(
    filter: &Filter,
    region: &Region,
    cell: Option<CellIndex>,
) -> Result<(String, Vec<String>), AnalyticsError> {
    let (mut clause, mut params) = filter.where_clause(region)?;
    if let Some(cell) = cell {
        clause = format!("({clause}) AND {} = ?", parent_sql("h3", cell.resolution()));
        params.push(u64::from(cell).to_string());
    }
    Ok((clause, params))
}

/// Cases per 7-day window ending on `last_day`, `weeks` of them, oldest first.
fn weekly_counts(
    conn: &Connection,
    region: &Region,
    filter: &Filter,
    cell: Option<CellIndex>,
    last_day: NaiveDate,
    weeks: usize,
) -> Result<Vec<u64>, AnalyticsError> {
    let err = |source| AnalyticsError::Query {
        what: "the weekly series",
        source,
    };
    let mut window = filter.clone();
    let end = last_day + chrono::Duration::days(1);
    window.to = end.and_hms_opt(0, 0, 0);
    window.from = (end - chrono::Duration::days(7 * weeks as i64)).and_hms_opt(0, 0, 0);
    let (clause, params) = where_in_cell(&window, region, cell)?;
    // Weeks back from the last day: 0 is the last week.
    let sql = format!(
        "SELECT CAST(floor(date_diff('day', CAST(reported_at AS DATE), DATE '{last_day}') / 7) AS BIGINT), count(*)
         FROM cases WHERE {clause} GROUP BY 1"
    );
    let mut stmt = conn.prepare(&sql).map_err(err)?;
    let rows = stmt
        .query_map(duckdb::params_from_iter(params.iter()), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })
        .map_err(err)?;
    let mut counts = vec![0u64; weeks];
    for row in rows {
        let (back, n) = row.map_err(err)?;
        if (0..weeks as i64).contains(&back) {
            counts[weeks - 1 - back as usize] = n as u64;
        }
    }
    Ok(counts)
}
