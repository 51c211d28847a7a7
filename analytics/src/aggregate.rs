//! Heat-map figures: the cases of a [`Filter`] counted per H3 cell at any resolution 5–10 (parents of
//! the stored res-10 cell) and per admin unit of one level, with a severity-weighted score, open and
//! overdue counts, the category mix, and (per unit) the rate per 10,000 residents.
//!
//! Definitions (also in `docs/algorithms.md`, "Heat map aggregation"):
//!
//! * **count**: cases selected by the filter.
//! * **score**: the sum of the cases' [`SeverityWeights`].
//! * **open**: cases whose stored status is not final (not resolved, unresolved or closed).
//! * **serious**: cases of severity major or serious (较大, 重大疑难).
//! * **overdue**: open cases still open past their deadline at `as_of`: `as_of > reported_at +
//!   deadline` with the deadline of the "137+2030" rules ([`crate::kpi::deadline_days_sql`]: disputes
//!   3/7/20/30 days by severity, every other class 7 days). A case exactly at its deadline is not yet
//!   overdue, matching the on-time rule of [`crate::kpi`] (closed at most that many days after).
//!   Cases finished late are not overdue: they are counted by the on-time closure rate instead.
//!
//! Each function runs one DuckDB query that scans `cases` once, grouped by (cell, village) or by
//! unit, with every figure a filtered count (`count(*) FILTER (WHERE …)`: per severity, open,
//! overdue, per category), read back as Arrow columns and summed per cell in Rust. Severities are
//! counted and weighted here, so weights never enter the SQL and a score is the exact weighted sum
//! of counts.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use duckdb::arrow::array::{Array, AsArray, Int64Array, LargeStringArray, StringArray, StringViewArray};
use duckdb::arrow::datatypes::{Int64Type, UInt64Type};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::Connection;
use fengqiao_ingest::model::{AdminLevel, Category, Severity};
use fengqiao_ingest::Region;
use h3o::Resolution;
use serde::{Deserialize, Serialize};

use crate::filter::{unit_column, Filter};
use crate::AnalyticsError;

/// Number of categories, the length of every `by_category` array.
pub const CATEGORIES: usize = 18;
const _: () = assert!(Category::ALL.len() == CATEGORIES);

/// Weight of a case in the score, by severity.
///
/// The defaults 1, 2, 4, 8 roughly double from one severity to the next, as the "137+2030" deadline
/// does (3, 7, 20, 30 days): a serious case takes about ten times the time of a simple one and
/// usually several departments, and counting it as eight simple ones keeps a cell with a few serious
/// disputes above a cell with a handful of simple ones without letting one case dominate a
/// neighbourhood. Weights are configurable (e.g. a TOML table `[weights]` with the four keys;
/// missing keys keep their default); they should be finite and non-negative ([`Self::validate`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeverityWeights {
    pub simple: f64,
    pub general: f64,
    pub major: f64,
    pub serious: f64,
}

impl Default for SeverityWeights {
    fn default() -> Self {
        SeverityWeights {
            simple: 1.0,
            general: 2.0,
            major: 4.0,
            serious: 8.0,
        }
    }
}

impl SeverityWeights {
    /// The weight of `severity`.
    pub fn weight(&self, severity: Severity) -> f64 {
        match severity {
            Severity::Simple => self.simple,
            Severity::General => self.general,
            Severity::Major => self.major,
            Severity::Serious => self.serious,
        }
    }

    /// Whether every weight is finite and non-negative; the message names the first that is not.
    pub fn validate(&self) -> Result<(), String> {
        for &s in Severity::ALL {
            let w = self.weight(s);
            if !w.is_finite() || w < 0.0 {
                return Err(format!(
                    "the weight of severity {} must be finite and non-negative, not {w}",
                    s.code()
                ));
            }
        }
        Ok(())
    }

    /// `Σ n_s · w_s` for case counts per severity in [`Severity::ALL`] order.
    pub(crate) fn score(&self, by_severity: &[u64; 4]) -> f64 {
        Severity::ALL
            .iter()
            .zip(by_severity)
            .map(|(&s, &n)| n as f64 * self.weight(s))
            .sum()
    }
}

/// The figures of one H3 cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellFigures {
    /// The cell, at the requested resolution.
    pub h3: u64,
    pub count: u64,
    /// Sum of the cases' severity weights.
    pub score: f64,
    /// Cases whose status is not final.
    pub open: u64,
    /// Open cases past their deadline at `as_of`.
    pub overdue: u64,
    /// Cases of severity major or serious (较大, 重大疑难).
    pub serious: u64,
    /// Cases per category, in [`Category::ALL`] order.
    pub by_category: [u32; CATEGORIES],
    /// Villages of the cell's cases (by the case's village code) with their counts, largest first,
    /// ties by code.
    pub villages: Vec<(String, u32)>,
}

impl CellFigures {
    /// A cell with no cases yet.
    pub fn empty(h3: u64) -> CellFigures {
        CellFigures {
            h3,
            count: 0,
            score: 0.0,
            open: 0,
            overdue: 0,
            serious: 0,
            by_category: [0; CATEGORIES],
            villages: Vec::new(),
        }
    }

    /// Puts the villages in their documented order: largest count first, ties by code.
    pub(crate) fn sort_villages(&mut self) {
        self.villages
            .sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    }
}

/// The figures of one admin unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitFigures {
    pub code: String,
    pub name: String,
    pub level: AdminLevel,
    pub count: u64,
    pub score: f64,
    pub open: u64,
    pub overdue: u64,
    /// Cases of severity major or serious (较大, 重大疑难).
    pub serious: u64,
    /// Cases per category, in [`Category::ALL`] order.
    pub by_category: [u32; CATEGORIES],
    /// Residents, where the region knows them.
    pub population: Option<u64>,
    /// `count / population × 10,000`, where the population is known and positive.
    pub rate_per_10k: Option<f64>,
}

/// Counts of one group of cases.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    count: u64,
    /// Per severity, in [`Severity::ALL`] order.
    by_severity: [u64; 4],
    open: u64,
    overdue: u64,
    by_category: [u32; CATEGORIES],
}

impl Tally {
    /// Cases of severity major or serious.
    fn serious(&self) -> u64 {
        self.by_severity[2] + self.by_severity[3]
    }

    fn add(&mut self, other: &Tally) {
        self.count += other.count;
        for (a, b) in self.by_severity.iter_mut().zip(other.by_severity) {
            *a += b;
        }
        self.open += other.open;
        self.overdue += other.overdue;
        for (a, b) in self.by_category.iter_mut().zip(other.by_category) {
            *a += b;
        }
    }
}

/// Number of aggregate columns of [`aggregates_sql`].
const AGGREGATES: usize = 7 + CATEGORIES;

/// The aggregate columns of the grouped queries, in this order: count, the four severity counts
/// ([`Severity::ALL`] order), open, overdue, the 18 category counts ([`Category::ALL`] order).
fn aggregates_sql(as_of: NaiveDateTime) -> String {
    let counts = |column: &str, codes: &mut dyn Iterator<Item = &'static str>| -> String {
        codes
            .map(|code| format!(", count(*) FILTER (WHERE {column} = '{code}')"))
            .collect()
    };
    let severities = counts("severity", &mut Severity::ALL.iter().map(|s| s.code()));
    let categories = counts("category", &mut Category::ALL.iter().map(|c| c.code()));
    // `as_of` is formatted by chrono (digits and separators only), so it is safe as a literal.
    let as_of = fengqiao_ingest::time::format_datetime(as_of);
    let open = format!("NOT ({})", crate::kpi::finished_sql());
    format!(
        "count(*){severities}, count(*) FILTER (WHERE {open}),
         count(*) FILTER (WHERE {open}
             AND reported_at + to_days(CAST({deadline} AS INTEGER)) < TIMESTAMP '{as_of}'){categories}",
        deadline = crate::kpi::deadline_days_sql()
    )
}

/// The error of a result column that does not have the expected type.
fn column_type_error(batch: &RecordBatch, i: usize) -> duckdb::Error {
    let field = batch.schema().field(i).clone();
    duckdb::Error::InvalidColumnType(i, field.name().clone(), field.data_type().into())
}

/// The aggregate columns of a result batch, from column `first` on.
struct TallyColumns<'a>(Vec<&'a Int64Array>);

impl<'a> TallyColumns<'a> {
    fn of(batch: &'a RecordBatch, first: usize) -> duckdb::Result<TallyColumns<'a>> {
        (first..first + AGGREGATES)
            .map(|i| {
                batch
                    .column(i)
                    .as_primitive_opt::<Int64Type>()
                    .ok_or_else(|| column_type_error(batch, i))
            })
            .collect::<duckdb::Result<_>>()
            .map(TallyColumns)
    }

    fn tally(&self, row: usize) -> Tally {
        let n = |i: usize| self.0[i].value(row) as u64;
        Tally {
            count: n(0),
            by_severity: [n(1), n(2), n(3), n(4)],
            open: n(5),
            overdue: n(6),
            by_category: std::array::from_fn(|c| n(7 + c) as u32),
        }
    }
}

/// A string column of a result batch, in whichever Arrow layout DuckDB produced.
enum Strings<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
}

impl<'a> Strings<'a> {
    fn of(batch: &'a RecordBatch, i: usize) -> duckdb::Result<Strings<'a>> {
        let column = batch.column(i);
        if let Some(a) = column.as_string_opt::<i32>() {
            Ok(Strings::Utf8(a))
        } else if let Some(a) = column.as_string_opt::<i64>() {
            Ok(Strings::Large(a))
        } else if let Some(a) = column.as_string_view_opt() {
            Ok(Strings::View(a))
        } else {
            Err(column_type_error(batch, i))
        }
    }

    fn get(&self, row: usize) -> Option<&'a str> {
        match self {
            Strings::Utf8(a) => a.is_valid(row).then(|| a.value(row)),
            Strings::Large(a) => a.is_valid(row).then(|| a.value(row)),
            Strings::View(a) => a.is_valid(row).then(|| a.value(row)),
        }
    }
}

/// Runs `sql` with `params` and hands each result batch to `each`.
fn for_each_batch(
    conn: &Connection,
    sql: &str,
    params: &[String],
    mut each: impl FnMut(&RecordBatch) -> duckdb::Result<()>,
) -> duckdb::Result<()> {
    let mut stmt = conn.prepare(sql)?;
    stmt.execute(duckdb::params_from_iter(params))?;
    while let Some(chunk) = stmt.step()? {
        each(&RecordBatch::from(&chunk))?;
    }
    Ok(())
}

/// Figures per H3 cell at `res` (5–10) for the cases of `filter`, sorted by cell; cells without
/// cases are absent. Overdue is judged at `as_of`.
///
/// One query groups the cases by (cell, village) with every figure as a filtered count, and the
/// groups of a cell are summed here; results are read as Arrow columns.
pub fn aggregate_cells(
    conn: &Connection,
    region: &Region,
    res: Resolution,
    filter: &Filter,
    weights: &SeverityWeights,
    as_of: NaiveDateTime,
) -> Result<Vec<CellFigures>, AnalyticsError> {
    let res = crate::cells::resolution(u8::from(res))?;
    let (condition, params) = filter.where_clause(region)?;
    let sql = format!(
        "SELECT {cell} AS cell, village_code, {aggregates}
         FROM cases WHERE {condition}
         GROUP BY ALL ORDER BY cell",
        cell = crate::cells::parent_sql("h3", res),
        aggregates = aggregates_sql(as_of),
    );
    let mut out: Vec<CellFigures> = Vec::new();
    // The cell being summed: rows come ordered by cell, so a cell's (cell, village) groups are adjacent.
    let mut current: Option<CellFigures> = None;
    let mut by_severity = [0u64; 4];
    let mut finish = |mut cell: CellFigures, by_severity: &mut [u64; 4]| {
        cell.score = weights.score(by_severity);
        *by_severity = [0; 4];
        cell.sort_villages();
        out.push(cell);
    };
    for_each_batch(conn, &sql, &params, |batch| {
        let cells = batch
            .column(0)
            .as_primitive_opt::<UInt64Type>()
            .ok_or_else(|| column_type_error(batch, 0))?;
        let villages = Strings::of(batch, 1)?;
        let tallies = TallyColumns::of(batch, 2)?;
        for row in 0..batch.num_rows() {
            let h3 = cells.value(row);
            if current.as_ref().is_none_or(|c| c.h3 != h3) {
                if let Some(done) = current.take() {
                    finish(done, &mut by_severity);
                }
                current = Some(CellFigures::empty(h3));
            }
            let cell = current.as_mut().expect("set above");
            let group = tallies.tally(row);
            cell.count += group.count;
            cell.open += group.open;
            cell.overdue += group.overdue;
            cell.serious += group.serious();
            for (a, b) in cell.by_category.iter_mut().zip(group.by_category) {
                *a += b;
            }
            for (a, b) in by_severity.iter_mut().zip(group.by_severity) {
                *a += b;
            }
            let village = villages.get(row).unwrap_or_default().to_string();
            cell.villages.push((village, group.count as u32));
        }
        Ok(())
    })
    .map_err(|source| AnalyticsError::Query {
        what: "heat map cells",
        source,
    })?;
    if let Some(done) = current {
        finish(done, &mut by_severity);
    }
    Ok(out)
}

/// Figures for every unit of `level` in `region` (in the region's order, units without cases
/// included with zero counts) for the cases of `filter`. Overdue is judged at `as_of`.
///
/// A case counts for the unit whose code it carries in the level's column (`county_code`, …,
/// `grid_code`); at the city level every case counts for the city. Cases without a grid code count
/// for no grid, so the grids' counts may sum to less than the total.
pub fn aggregate_units(
    conn: &Connection,
    region: &Region,
    level: AdminLevel,
    filter: &Filter,
    weights: &SeverityWeights,
    as_of: NaiveDateTime,
) -> Result<Vec<UnitFigures>, AnalyticsError> {
    let (condition, params) = filter.where_clause(region)?;
    let units: Vec<_> = region.level(level).map(|(_, u)| u).collect();
    let position: HashMap<&str, usize> = units.iter().enumerate().map(|(i, u)| (u.code.as_str(), i)).collect();
    // Provinces and cities are summed from their counties.
    let column = unit_column(level).unwrap_or("county_code");
    let sql = format!(
        "SELECT {column} AS unit, {aggregates} FROM cases WHERE {condition} GROUP BY ALL",
        aggregates = aggregates_sql(as_of),
    );
    let mut tallies = vec![Tally::default(); units.len()];
    for_each_batch(conn, &sql, &params, |batch| {
        let codes = Strings::of(batch, 0)?;
        let columns = TallyColumns::of(batch, 1)?;
        for row in 0..batch.num_rows() {
            let target = match unit_column(level) {
                Some(_) => codes.get(row).and_then(|code| position.get(code).copied()),
                None => codes
                    .get(row)
                    .and_then(|code| region.id(code))
                    .and_then(|county| region.ancestor(county, level))
                    .and_then(|u| position.get(region.units[u as usize].code.as_str()).copied()),
            };
            if let Some(t) = target.and_then(|i| tallies.get_mut(i)) {
                t.add(&columns.tally(row));
            }
        }
        Ok(())
    })
    .map_err(|source| AnalyticsError::Query {
        what: "heat map units",
        source,
    })?;
    Ok(units
        .iter()
        .zip(&tallies)
        .map(|(unit, tally)| UnitFigures {
            code: unit.code.clone(),
            name: unit.name.clone(),
            level,
            count: tally.count,
            score: weights.score(&tally.by_severity),
            open: tally.open,
            overdue: tally.overdue,
            serious: tally.serious(),
            by_category: tally.by_category,
            population: unit.population,
            rate_per_10k: unit
                .population
                .filter(|&p| p > 0)
                .map(|p| tally.count as f64 / p as f64 * 10_000.0),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use fengqiao_ingest::Store;

    fn at(day: u32, h: u32, m: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 10, day)
            .unwrap()
            .and_hms_opt(h, m, s)
            .unwrap()
    }

    /// One case per (id, class, severity, status), reported 2026-10-01 09:00 at one point.
    fn store_with(rows: &[(&str, &str, &str, &str)]) -> Store {
        let store = Store::open_in_memory().unwrap();
        let cell = u64::from(h3o::LatLng::new(25.8, 113.0).unwrap().to_cell(Resolution::Ten));
        for (id, class, severity, status) in rows {
            let finished = status.parse::<fengqiao_ingest::model::Status>().unwrap().is_final();
            let closed = finished.then_some("2026-10-02 09:00:00");
            store
                .conn()
                .execute(
                    "INSERT INTO cases (case_id, reported_at, class, category, severity, channel, status,
                        county_code, township_code, village_code, lng, lat, geo_source, h3, closed_at,
                        updated_at, source_file, source_line, ingested_at)
                     VALUES (?, TIMESTAMP '2026-10-01 09:00:00', ?, 'neighbour', ?, 'walk_in', ?, '431002',
                        '431002001', '431002001001', 113.0, 25.8, 'village', ?, CAST(? AS TIMESTAMP),
                        TIMESTAMP '2026-10-01 09:00:00', 'test', 1, TIMESTAMP '2026-10-01 09:00:00')",
                    duckdb::params![id, class, severity, status, cell, closed],
                )
                .unwrap();
        }
        store
    }

    #[test]
    fn overdue_means_open_past_the_deadline_of_class_and_severity() {
        let store = store_with(&[
            ("a", "dispute", "simple", "in_progress"),  // 3 days
            ("b", "dispute", "major", "assigned"),      // 20 days
            ("c", "livelihood", "serious", "received"), // 7 days, whatever the severity
            ("d", "dispute", "simple", "closed"),       // finished: never overdue
        ]);
        let region = Region::chenzhou();
        let weights = SeverityWeights::default();
        let overdue = |as_of| {
            let cells = aggregate_cells(
                store.conn(),
                &region,
                Resolution::Eight,
                &Filter::default(),
                &weights,
                as_of,
            )
            .unwrap();
            assert_eq!(cells.len(), 1);
            assert_eq!((cells[0].count, cells[0].open), (4, 3));
            cells[0].overdue
        };
        assert_eq!(overdue(at(4, 9, 0, 0)), 0, "exactly at the deadline is not yet overdue");
        assert_eq!(overdue(at(4, 9, 0, 1)), 1);
        assert_eq!(overdue(at(8, 9, 0, 1)), 2);
        assert_eq!(overdue(at(21, 9, 0, 1)), 3);
        let units = aggregate_units(
            store.conn(),
            &region,
            AdminLevel::County,
            &Filter::default(),
            &weights,
            at(8, 9, 0, 1),
        )
        .unwrap();
        let beihu = units.iter().find(|u| u.code == "431002").unwrap();
        assert_eq!((beihu.count, beihu.open, beihu.overdue), (4, 3, 2));
        assert_eq!(beihu.score, 1.0 + 4.0 + 8.0 + 1.0);
        assert_eq!(beihu.by_category[1], 4, "all neighbour disputes");
    }

    #[test]
    fn weights_default_to_doubling_and_parse_partially() {
        let w = SeverityWeights::default();
        let all: Vec<f64> = Severity::ALL.iter().map(|&s| w.weight(s)).collect();
        assert_eq!(all, [1.0, 2.0, 4.0, 8.0]);
        let custom: SeverityWeights = toml::from_str("serious = 10.0\nsimple = 0.5").unwrap();
        assert_eq!((custom.simple, custom.general, custom.serious), (0.5, 2.0, 10.0));
        assert!(toml::from_str::<SeverityWeights>("severe = 1.0").is_err());
        assert!(custom.validate().is_ok());
        let bad = SeverityWeights { major: -1.0, ..w };
        assert!(bad.validate().unwrap_err().contains("major"));
        assert_eq!(w.score(&[1, 2, 3, 4]), 1.0 + 4.0 + 12.0 + 32.0);
    }

    #[test]
    fn resolutions_outside_5_to_10_are_refused() {
        let store = store_with(&[]);
        let region = Region::chenzhou();
        for res in [Resolution::Four, Resolution::Eleven] {
            let r = aggregate_cells(
                store.conn(),
                &region,
                res,
                &Filter::default(),
                &SeverityWeights::default(),
                at(1, 0, 0, 0),
            );
            assert!(matches!(r, Err(AnalyticsError::Resolution(_))), "{res}");
        }
    }
}
