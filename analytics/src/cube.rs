//! The space-time cube: cases counted per location (an H3 cell or an admin unit) × time step (day,
//! week or month), with the heat map's filters, over every location of the study area — empty ones
//! included, so that a place where nothing happens is a row of zeros and not a gap.
//!
//! Time steps end on a chosen last day (by default the last day with data). Day and week steps are
//! whole: the last week is the 7 days ending on that day, the one before the 7 days before, and so on
//! (so when the last day is a Sunday the steps are ISO weeks). Month steps are calendar months; the
//! last one ends on the last day and may be partial, which [`Cube::values`] corrects by scaling every
//! month to a mean month (30.44 days), so that a half-finished month does not look like a drop.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use chrono::{Datelike, Duration, Months, NaiveDate};
use duckdb::arrow::array::{Array, AsArray};
use duckdb::arrow::datatypes::{Int64Type, UInt64Type};
use duckdb::Connection;
use fengqiao_ingest::model::{AdminLevel, Category};
use fengqiao_ingest::region::UnitId;
use fengqiao_ingest::Region;
use h3o::{CellIndex, Resolution};
use serde::Serialize;

use crate::cells::{parent_sql, study_area};
use crate::filter::{unit_column, Filter};
use crate::measure::Measure;
use crate::population::PopulationSurface;
use crate::AnalyticsError;

/// The length of a time step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Day,
    Week,
    Month,
}

impl Step {
    pub fn code(self) -> &'static str {
        match self {
            Step::Day => "day",
            Step::Week => "week",
            Step::Month => "month",
        }
    }
}

impl FromStr for Step {
    type Err = String;

    fn from_str(s: &str) -> Result<Step, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" | "日" | "天" => Ok(Step::Day),
            "week" | "周" => Ok(Step::Week),
            "month" | "月" => Ok(Step::Month),
            other => Err(format!("unknown time step {other:?}: use day, week or month")),
        }
    }
}

/// Mean days of a month, the unit partial and unequal months are scaled to.
pub const MEAN_MONTH_DAYS: f64 = 30.436_875;

/// One time step: its first and last day (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Period {
    /// Days in the step.
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }

    /// A short label: `2026-10-25` for a day, `2026-W43` for a Monday-to-Sunday week, else
    /// `2026-10-20/2026-10-26`; `2026-10` for a month.
    pub fn label(&self, step: Step) -> String {
        match step {
            Step::Day => self.start.to_string(),
            Step::Week if self.start.weekday() == chrono::Weekday::Mon => {
                let iso = self.start.iso_week();
                format!("{}-W{:02}", iso.year(), iso.week())
            }
            Step::Week => format!("{}/{}", self.start, self.end),
            Step::Month => format!("{}-{:02}", self.start.year(), self.start.month()),
        }
    }
}

/// The `steps` time steps ending on `last_day`, oldest first.
pub fn periods(step: Step, steps: usize, last_day: NaiveDate) -> Vec<Period> {
    let mut out: Vec<Period> = (0..steps)
        .map(|back| match step {
            Step::Day => {
                let day = last_day - Duration::days(back as i64);
                Period { start: day, end: day }
            }
            Step::Week => {
                let end = last_day - Duration::days(7 * back as i64);
                Period {
                    start: end - Duration::days(6),
                    end,
                }
            }
            Step::Month => {
                let first = last_day.with_day(1).expect("day 1 exists") - Months::new(back as u32);
                let end = if back == 0 {
                    last_day
                } else {
                    first + Months::new(1) - Duration::days(1)
                };
                Period { start: first, end }
            }
        })
        .collect();
    out.reverse();
    out
}

/// What the locations of a cube are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    /// H3 cells of this resolution (5 to 10): the study area, plus any cell outside it with cases.
    Cells(Resolution),
    /// The admin units of this level (county, township, village or grid) — within the filter's unit
    /// when it has one.
    Units(AdminLevel),
}

/// One location of a cube.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Location {
    Cell(CellIndex),
    Unit(UnitId),
}

impl Location {
    /// The H3 string or the unit code.
    pub fn key(&self, region: &Region) -> String {
        match self {
            Location::Cell(c) => c.to_string(),
            Location::Unit(u) => region.units[*u as usize].code.clone(),
        }
    }
}

/// What to count.
#[derive(Debug, Clone)]
pub struct CubeOptions {
    pub space: Space,
    pub step: Step,
    pub steps: usize,
    /// The last day of the last step; `None`: the last day with cases that pass the filter (the
    /// filter's `to` bounds it).
    pub last_day: Option<NaiveDate>,
    pub filter: Filter,
    /// A risk measure fills [`Cube::expected`].
    pub measure: Measure,
}

/// Counts per location × time step.
#[derive(Debug, Clone, PartialEq)]
pub struct Cube {
    pub step: Step,
    pub periods: Vec<Period>,
    pub locations: Vec<Location>,
    /// Location-major: location `i`'s series is `counts[i * steps .. (i + 1) * steps]`.
    pub counts: Vec<u32>,
    /// Expected counts of each bin (risk measures): the location's residents × the region's rate
    /// in that step, `P_i × N_t / P`, so seasons and holidays move them with the counts.
    pub expected: Option<Vec<f64>>,
}

impl Cube {
    /// Number of time steps.
    pub fn steps(&self) -> usize {
        self.periods.len()
    }

    /// The counts of location `i`, oldest step first.
    pub fn series(&self, i: usize) -> &[u32] {
        &self.counts[i * self.steps()..(i + 1) * self.steps()]
    }

    /// The counts as the statistics use them: as they are for days and weeks; per mean month for
    /// months (a partial or short month scaled up, a long one down).
    pub fn values(&self) -> Vec<f64> {
        let scale: Vec<f64> = self
            .periods
            .iter()
            .map(|p| match self.step {
                Step::Month => MEAN_MONTH_DAYS / p.days() as f64,
                _ => 1.0,
            })
            .collect();
        let steps = self.steps();
        self.counts
            .iter()
            .enumerate()
            .map(|(k, &n)| f64::from(n) * scale[k % steps])
            .collect()
    }
}

/// The last day with cases that pass `filter` (before its `to`), if any.
pub fn last_case_day(conn: &Connection, region: &Region, filter: &Filter) -> Result<Option<NaiveDate>, AnalyticsError> {
    let (clause, params) = filter.where_clause(region)?;
    let day: Option<String> = conn
        .query_row(
            &format!("SELECT CAST(CAST(max(reported_at) AS DATE) AS VARCHAR) FROM cases WHERE {clause}"),
            duckdb::params_from_iter(params.iter()),
            |r| r.get(0),
        )
        .map_err(|source| AnalyticsError::Query {
            what: "the last day with cases",
            source,
        })?;
    Ok(day.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()))
}

/// Builds the cube from the store. With no cases at all (and no `last_day`) the cube has no steps.
pub fn cube(conn: &Connection, region: &Region, opts: &CubeOptions) -> Result<Cube, AnalyticsError> {
    let last_day = match opts.last_day {
        Some(d) => Some(d),
        None => last_case_day(conn, region, &opts.filter)?,
    };
    let periods = match last_day {
        Some(last) => periods(opts.step, opts.steps, last),
        None => Vec::new(),
    };
    let mut locations = locations(region, opts.space, &opts.filter)?;
    let mut cube = Cube {
        step: opts.step,
        periods,
        locations: Vec::new(),
        counts: Vec::new(),
        expected: None,
    };
    let steps = cube.periods.len();
    let rows = count_rows(conn, region, opts.space, opts.step, &cube.periods, &opts.filter, false)?;

    // Cells with cases outside the study area join it (as in the heat map).
    if let Space::Cells(_) = opts.space {
        let known: HashSet<Location> = locations.iter().copied().collect();
        let extra: HashSet<Location> = rows.iter().map(|r| r.location).filter(|l| !known.contains(l)).collect();
        locations.extend(extra);
        locations.sort_unstable_by_key(|l| match l {
            Location::Cell(c) => u64::from(*c),
            Location::Unit(u) => u64::from(*u),
        });
    }
    let index: HashMap<Location, usize> = locations.iter().enumerate().map(|(i, &l)| (l, i)).collect();
    let mut counts = vec![0u32; locations.len() * steps];
    for row in rows {
        // Units outside the filter's unit never have cases (the filter excludes them).
        if let Some(&i) = index.get(&row.location) {
            counts[i * steps + row.step] += row.n;
        }
    }
    cube.locations = locations;
    cube.counts = counts;
    if opts.measure.is_risk() {
        cube.expected = Some(expected_bins(conn, region, &cube, opts.space, &opts.filter)?);
    }
    Ok(cube)
}

/// The region's cases of each step under `filter` without its unit (by category, `Category::ALL`
/// order, when `by_category`: `[step][category]`, else one figure per step).
pub(crate) fn region_step_totals(
    conn: &Connection,
    region: &Region,
    step: Step,
    periods: &[Period],
    filter: &Filter,
    by_category: bool,
) -> Result<Vec<Vec<f64>>, AnalyticsError> {
    let region_filter = Filter {
        unit: None,
        ..filter.clone()
    };
    let width = if by_category { Category::ALL.len() } else { 1 };
    let mut totals = vec![vec![0.0; width]; periods.len()];
    for row in count_rows(
        conn,
        region,
        Space::Units(AdminLevel::County),
        step,
        periods,
        &region_filter,
        by_category,
    )? {
        totals[row.step][row.category.map_or(0, usize::from)] += f64::from(row.n);
    }
    Ok(totals)
}

/// The residents of each location of a cube (cells: within the filter's unit).
pub(crate) fn location_people(
    region: &Region,
    surface: &PopulationSurface,
    locations: &[Location],
    space: Space,
    filter: &Filter,
) -> Result<Vec<f64>, AnalyticsError> {
    Ok(match space {
        Space::Cells(res) => {
            let within = filter.unit_id(region)?.filter(|&u| u != 0);
            let cells: Vec<CellIndex> = locations
                .iter()
                .filter_map(|l| match l {
                    Location::Cell(c) => Some(*c),
                    Location::Unit(_) => None,
                })
                .collect();
            surface.people_of(region, &cells, res, within)
        }
        Space::Units(_) => locations
            .iter()
            .map(|l| match l {
                Location::Unit(u) => surface.unit(*u),
                Location::Cell(_) => 0.0,
            })
            .collect(),
    })
}

/// `P_i × N_t / P` for every bin of the cube.
fn expected_bins(
    conn: &Connection,
    region: &Region,
    cube: &Cube,
    space: Space,
    filter: &Filter,
) -> Result<Vec<f64>, AnalyticsError> {
    let surface = PopulationSurface::of(region, &crate::source::CaseSource::Store(conn))?;
    let people = location_people(region, &surface, &cube.locations, space, filter)?;
    let totals = region_step_totals(conn, region, cube.step, &cube.periods, filter, false)?;
    let steps = cube.steps();
    let mut expected = vec![0.0; cube.locations.len() * steps];
    for (i, p) in people.iter().enumerate() {
        for t in 0..steps {
            expected[i * steps + t] = p * totals[t][0] / surface.total();
        }
    }
    Ok(expected)
}

/// One group of [`count_rows`]: cases of a location (and category) in a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counted {
    pub location: Location,
    /// Index into `Category::ALL` when counted by category.
    pub category: Option<u8>,
    pub step: usize,
    pub n: u32,
}

/// Counts the filter's cases per location (and category) and step of `periods` (consecutive steps
/// of `step`, oldest first) in one `GROUP BY`.
pub(crate) fn count_rows(
    conn: &Connection,
    region: &Region,
    space: Space,
    step: Step,
    periods: &[Period],
    filter: &Filter,
    by_category: bool,
) -> Result<Vec<Counted>, AnalyticsError> {
    let (Some(first), Some(last)) = (periods.first().copied(), periods.last().copied()) else {
        return Ok(Vec::new());
    };
    let (clause, mut params) = filter.where_clause(region)?;
    let location_sql = match space {
        Space::Cells(res) => parent_sql("h3", res),
        Space::Units(level) => unit_column(level).ok_or(AnalyticsError::Level(level))?.to_string(),
    };
    let step_sql = match step {
        Step::Day => "date_diff('day', CAST(? AS DATE), CAST(reported_at AS DATE))",
        // Whole weeks back from the last day: 0 for the last week.
        Step::Week => "(date_diff('day', CAST(reported_at AS DATE), CAST(? AS DATE)) // 7)",
        Step::Month => "date_diff('month', CAST(? AS DATE), CAST(reported_at AS DATE))",
    };
    let step_anchor = match step {
        Step::Week => last.end,
        _ => first.start,
    };
    let category_sql = if by_category { "category" } else { "NULL" };
    let sql = format!(
        "SELECT {location_sql} AS location, CAST({step_sql} AS BIGINT) AS step, CAST(count(*) AS BIGINT) AS n,
                {category_sql} AS category
         FROM cases
         WHERE {clause} AND reported_at >= CAST(? AS TIMESTAMP) AND reported_at < CAST(? AS TIMESTAMP)
         GROUP BY ALL"
    );
    let mut all_params = vec![step_anchor.to_string()];
    all_params.append(&mut params);
    all_params.push(format!("{} 00:00:00", first.start));
    all_params.push(format!("{} 00:00:00", last.end + Duration::days(1)));

    let err = |source| AnalyticsError::Query {
        what: "the space-time counts",
        source,
    };
    let mut stmt = conn.prepare(&sql).map_err(err)?;
    let steps = periods.len() as i64;
    let mut rows = Vec::new();
    for batch in stmt
        .query_arrow(duckdb::params_from_iter(all_params.iter()))
        .map_err(err)?
    {
        let raw_step = batch.column(1).as_primitive::<Int64Type>();
        let n = batch.column(2).as_primitive::<Int64Type>();
        for row in 0..batch.num_rows() {
            let raw = raw_step.value(row);
            let index = if step == Step::Week { steps - 1 - raw } else { raw };
            if !(0..steps).contains(&index) || batch.column(0).is_null(row) {
                continue;
            }
            let location = location_at(&batch, row, space, region)?;
            let category = if by_category {
                Some(category_at(&batch, row)?)
            } else {
                None
            };
            rows.push(Counted {
                location,
                category,
                step: index as usize,
                n: n.value(row) as u32,
            });
        }
    }
    Ok(rows)
}

/// The location of row `row` of a count batch (column 0).
fn location_at(
    batch: &duckdb::arrow::record_batch::RecordBatch,
    row: usize,
    space: Space,
    region: &Region,
) -> Result<Location, AnalyticsError> {
    Ok(match space {
        Space::Cells(_) => {
            let h3 = batch.column(0).as_primitive::<UInt64Type>().value(row);
            Location::Cell(CellIndex::try_from(h3).map_err(|_| AnalyticsError::Store(format!("cell {h3}")))?)
        }
        Space::Units(_) => {
            let code = batch.column(0).as_string::<i32>().value(row);
            Location::Unit(
                region
                    .id(code)
                    .ok_or_else(|| AnalyticsError::Store(format!("unit code {code:?}")))?,
            )
        }
    })
}

/// The category index of row `row` of a count batch (column 3).
fn category_at(batch: &duckdb::arrow::record_batch::RecordBatch, row: usize) -> Result<u8, AnalyticsError> {
    let code = batch.column(3).as_string::<i32>().value(row);
    let category: Category = code
        .parse()
        .map_err(|_| AnalyticsError::Store(format!("category {code:?}")))?;
    Ok(Category::ALL.iter().position(|&c| c == category).expect("a category") as u8)
}

/// The locations of a cube, sorted (cells by index, units in region order).
pub fn locations(region: &Region, space: Space, filter: &Filter) -> Result<Vec<Location>, AnalyticsError> {
    match space {
        Space::Cells(res) => {
            crate::cells::resolution(u8::from(res))?;
            Ok(study_area(region, res).into_iter().map(Location::Cell).collect())
        }
        Space::Units(level) => {
            if level == AdminLevel::City {
                return Err(AnalyticsError::Level(level));
            }
            let within = filter.unit_id(region)?;
            Ok(region
                .level(level)
                .filter(|&(id, _)| within.is_none_or(|w| is_within(region, id, w)))
                .map(|(id, _)| Location::Unit(id))
                .collect())
        }
    }
}

/// Whether unit `id` is `ancestor` or lies inside it.
pub fn is_within(region: &Region, id: UnitId, ancestor: UnitId) -> bool {
    let mut up = Some(id);
    while let Some(u) = up {
        if u == ancestor {
            return true;
        }
        up = region.parent(u);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn weeks_end_on_the_last_day_and_months_are_calendar_months() {
        let weeks = periods(Step::Week, 3, day(2026, 10, 25));
        assert_eq!(
            weeks,
            vec![
                Period {
                    start: day(2026, 10, 5),
                    end: day(2026, 10, 11)
                },
                Period {
                    start: day(2026, 10, 12),
                    end: day(2026, 10, 18)
                },
                Period {
                    start: day(2026, 10, 19),
                    end: day(2026, 10, 25)
                },
            ]
        );
        assert_eq!(weeks[2].label(Step::Week), "2026-W43");
        assert_eq!(
            periods(Step::Week, 1, day(2026, 10, 31))[0].label(Step::Week),
            "2026-10-25/2026-10-31"
        );
        let months = periods(Step::Month, 3, day(2026, 3, 15));
        assert_eq!(
            months[0],
            Period {
                start: day(2026, 1, 1),
                end: day(2026, 1, 31)
            }
        );
        assert_eq!(
            months[1],
            Period {
                start: day(2026, 2, 1),
                end: day(2026, 2, 28)
            }
        );
        assert_eq!(
            months[2],
            Period {
                start: day(2026, 3, 1),
                end: day(2026, 3, 15)
            }
        );
        assert_eq!(months[2].label(Step::Month), "2026-03");
        let days = periods(Step::Day, 2, day(2026, 1, 1));
        assert_eq!(days[0].start, day(2025, 12, 31));
        assert_eq!(days[1].days(), 1);
        assert_eq!("周".parse::<Step>(), Ok(Step::Week));
        assert!("year".parse::<Step>().is_err());
    }

    #[test]
    fn monthly_values_are_scaled_to_a_mean_month() {
        let cube = Cube {
            step: Step::Month,
            periods: periods(Step::Month, 2, day(2026, 3, 15)),
            locations: vec![Location::Unit(0)],
            counts: vec![28, 15],
            expected: None,
        };
        let v = cube.values();
        assert!((v[0] - MEAN_MONTH_DAYS).abs() < 1e-9, "28 cases in 28 days");
        assert!((v[1] - MEAN_MONTH_DAYS).abs() < 1e-9, "15 cases in 15 days");
    }
}
