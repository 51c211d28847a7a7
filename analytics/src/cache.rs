//! An in-memory columnar copy of the case store for the heat map's hot path.
//!
//! The heat map is a filtered count of cases per H3 cell. Over 10 million cases a DuckDB `GROUP BY`
//! takes over a second; the same count over a few in-memory columns sorted by cell takes a few
//! tens of milliseconds: the res-10 cells are sorted, so the children of a coarser cell are adjacent
//! and a row only compares its parent with the previous row's. [`CaseColumns::aggregate_cells`]
//! returns exactly what [`crate::aggregate::aggregate_cells`] returns (a test checks it).

use chrono::NaiveDateTime;
use duckdb::arrow::array::{Array, AsArray};
use duckdb::arrow::datatypes::{Int64Type, UInt32Type, UInt64Type, UInt8Type};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::Connection;
use fengqiao_ingest::model::{AdminLevel, CaseClass, Category, Channel, Severity, Status};
use fengqiao_ingest::region::UnitId;
use fengqiao_ingest::Region;
use h3o::Resolution;

use crate::aggregate::{CellFigures, SeverityWeights};
use crate::filter::Filter;
use crate::precision::Precision;
use crate::AnalyticsError;

mod column;
pub(crate) mod file;
mod stamp;
use column::Column;
pub use file::{ColumnsKey, Provenance};
pub use stamp::StoreStamp;

const NO_GRID: UnitId = UnitId::MAX;

/// The columns of `cases` the heat map reads, one entry per case, sorted by `h3`.
#[derive(Debug, Clone, Default)]
pub struct CaseColumns {
    h3: Column<u64>,
    /// `reported_at` in microseconds since the epoch (China time, as stored).
    reported: Column<i64>,
    /// Deadline (`reported_at` + days of "137+2030") in the same unit.
    due: Column<i64>,
    class: Column<u8>,
    category: Column<u8>,
    severity: Column<u8>,
    channel: Column<u8>,
    status: Column<u8>,
    /// How the case's position was known: 0 its own point, 1 its grid, 2 only its village.
    precision: Column<u8>,
    village: Column<UnitId>,
    grid: Column<UnitId>,
}

fn index_of<T: Copy + PartialEq>(all: &[T], value: T) -> u8 {
    all.iter().position(|&v| v == value).expect("a value of the enum") as u8
}

fn mask<T: Copy + PartialEq>(all: &[T], chosen: &[T]) -> u32 {
    if chosen.is_empty() {
        return u32::MAX;
    }
    chosen.iter().fold(0, |m, &v| m | 1 << index_of(all, v))
}

/// A DuckDB `ENUM` type of `codes` (model codes and unit codes: digits, letters and `_`, quoted
/// all the same): casting a column to it gives each value's index in `codes`.
fn enum_type<'a>(codes: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<String> = codes.map(|c| format!("'{}'", c.replace('\'', "''"))).collect();
    format!("ENUM({})", list.join(", "))
}

impl CaseColumns {
    /// Reads the store's cases: one streamed scan with every coded value turned into its index by
    /// DuckDB (casts to `ENUM`s of the model's codes and the region's unit codes), then sorted by
    /// cell and report time here. Nothing of DuckDB's grows with the store: no sort, no
    /// materialised result (100 M cases: the columns' 3.8 GB, an index of 0.4 GB and one column
    /// being reordered).
    pub fn load(conn: &Connection, region: &Region) -> Result<CaseColumns, AnalyticsError> {
        let err = |source| AnalyticsError::Query {
            what: "the in-memory case columns",
            source,
        };
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM cases", [], |r| r.get(0))
            .map_err(err)?;
        let codes = region.codes();
        let unit_of: Vec<UnitId> = codes.iter().map(|&(_, id)| id).collect();
        let units = enum_type(codes.iter().map(|&(code, _)| code));
        let coded = |column: &str, all: &mut dyn Iterator<Item = &'static str>| {
            format!("CAST(enum_code(TRY_CAST({column} AS {})) AS UTINYINT)", enum_type(all))
        };
        let sql = format!(
            "SELECT h3, epoch_us(reported_at), {class}, {category}, {severity}, {channel}, {status},
                    CAST(enum_code(TRY_CAST(village_code AS {units})) AS UINTEGER),
                    CAST(enum_code(TRY_CAST(grid_code AS {units})) AS UINTEGER),
                    CASE geo_precision WHEN 'point' THEN 0 WHEN 'grid' THEN 1 ELSE 2 END::UTINYINT
             FROM cases",
            class = coded("class", &mut CaseClass::ALL.iter().map(|v| v.code())),
            category = coded("category", &mut Category::ALL.iter().map(|v| v.code())),
            severity = coded("severity", &mut Severity::ALL.iter().map(|v| v.code())),
            channel = coded("channel", &mut Channel::ALL.iter().map(|v| v.code())),
            status = coded("status", &mut Status::ALL.iter().map(|v| v.code())),
        );
        let mut stmt = conn.prepare(&sql).map_err(err)?;
        let mut c = CaseColumns::with_capacity(rows.max(0) as usize);
        let batches = stmt.stream_arrow([]).map_err(err)?;
        // The stream panics when a fetch fails part-way: that is an error of this load, not of the
        // caller (a server's loading thread must live on to try again).
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            batches.into_iter().try_for_each(|batch| c.push_batch(&batch, &unit_of))
        }))
        .map_err(|_| AnalyticsError::Store("reading the case columns failed part-way".into()))??;
        c.sort_by_cell();
        Ok(c)
    }

    fn with_capacity(n: usize) -> CaseColumns {
        CaseColumns {
            h3: Column::with_capacity(n),
            reported: Column::with_capacity(n),
            due: Column::with_capacity(n),
            class: Column::with_capacity(n),
            category: Column::with_capacity(n),
            severity: Column::with_capacity(n),
            channel: Column::with_capacity(n),
            status: Column::with_capacity(n),
            precision: Column::with_capacity(n),
            village: Column::with_capacity(n),
            grid: Column::with_capacity(n),
        }
    }

    /// Appends one batch of [`CaseColumns::load`]'s query.
    fn push_batch(&mut self, batch: &RecordBatch, unit_of: &[UnitId]) -> Result<(), AnalyticsError> {
        let h3 = batch.column(0).as_primitive::<UInt64Type>();
        let reported = batch.column(1).as_primitive::<Int64Type>();
        let code = |i: usize| batch.column(i).as_primitive::<UInt8Type>();
        let (class, category, severity, channel, status) = (code(2), code(3), code(4), code(5), code(6));
        let village = batch.column(7).as_primitive::<UInt32Type>();
        let grid = batch.column(8).as_primitive::<UInt32Type>();
        let precision = code(9);
        let first = self.len();
        for row in 0..batch.num_rows() {
            // Stored values were validated at ingest; a value the model or the region does not know
            // means the store was written by something else (or for another region).
            let known = [class, category, severity, channel, status, precision]
                .iter()
                .all(|a| a.is_valid(row))
                && village.is_valid(row);
            if !known || h3.is_null(row) || reported.is_null(row) {
                return Err(AnalyticsError::Store(format!(
                    "a coded value or village the model and the region do not know (case {} of the store's scan)",
                    first + row + 1
                )));
            }
            let (class_v, severity_v) = (
                CaseClass::ALL[class.value(row) as usize],
                Severity::ALL[severity.value(row) as usize],
            );
            let days = fengqiao_ingest::model::close_deadline_days(class_v, severity_v);
            self.h3.vec().push(h3.value(row));
            self.reported.vec().push(reported.value(row));
            self.due
                .vec()
                .push(reported.value(row) + i64::from(days) * 86_400_000_000);
            self.class.vec().push(class.value(row));
            self.category.vec().push(category.value(row));
            self.severity.vec().push(severity.value(row));
            self.channel.vec().push(channel.value(row));
            self.status.vec().push(status.value(row));
            self.precision.vec().push(precision.value(row));
            self.village.vec().push(unit_of[village.value(row) as usize]);
            self.grid.vec().push(if grid.is_valid(row) {
                unit_of[grid.value(row) as usize]
            } else {
                NO_GRID
            });
        }
        Ok(())
    }

    /// Sorts the cases by cell, then report time (stable: the scan's order breaks ties), so that
    /// the same store gives the same columns on every load.
    fn sort_by_cell(&mut self) {
        use rayon::slice::ParallelSliceMut;
        let mut order: Vec<u32> = (0..self.len() as u32).collect();
        let (h3, reported) = (&self.h3, &self.reported);
        order.par_sort_by_key(|&i| (h3[i as usize], reported[i as usize]));
        fn reorder<T: bytemuck::Pod>(column: &mut Column<T>, order: &[u32]) {
            *column = Column::Owned(order.iter().map(|&i| column[i as usize]).collect());
        }
        reorder(&mut self.h3, &order);
        reorder(&mut self.reported, &order);
        reorder(&mut self.due, &order);
        reorder(&mut self.class, &order);
        reorder(&mut self.category, &order);
        reorder(&mut self.severity, &order);
        reorder(&mut self.channel, &order);
        reorder(&mut self.status, &order);
        reorder(&mut self.precision, &order);
        reorder(&mut self.village, &order);
        reorder(&mut self.grid, &order);
    }

    /// Number of cases held.
    pub fn len(&self) -> usize {
        self.h3.len()
    }

    /// Whether no case is held.
    pub fn is_empty(&self) -> bool {
        self.h3.is_empty()
    }

    /// Approximate bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.len() * (8 + 8 + 8 + 6 + 4 + 4)
    }

    /// Which villages and grids pass the filter's unit (all when it has none).
    fn unit_filter(region: &Region, filter: &Filter) -> Result<Option<(AdminLevel, UnitId)>, AnalyticsError> {
        let Some(code) = &filter.unit else { return Ok(None) };
        let id = region
            .id(code)
            .ok_or_else(|| AnalyticsError::UnknownUnit(code.clone()))?;
        let level = region.units[id as usize].level;
        Ok((!region.is_root(id)).then_some((level, id)))
    }

    /// The cells' figures, as [`crate::aggregate::aggregate_cells`] computes them.
    pub fn aggregate_cells(
        &self,
        region: &Region,
        res: Resolution,
        filter: &Filter,
        weights: &SeverityWeights,
        as_of: NaiveDateTime,
    ) -> Result<Vec<CellFigures>, AnalyticsError> {
        Ok(self.tally(region, res, filter, weights, as_of)?.figures)
    }

    /// One pass over the filter's cases: the cells' figures (as [`Self::aggregate_cells`]), the
    /// precision of their positions (as [`Self::cell_precision`]) and their first and last report.
    pub fn tally(
        &self,
        region: &Region,
        res: Resolution,
        filter: &Filter,
        weights: &SeverityWeights,
        as_of: NaiveDateTime,
    ) -> Result<CellTally, AnalyticsError> {
        use rayon::prelude::*;
        let res = crate::cells::resolution(u8::from(res))?;
        let (keep, set) = crate::cells::parent_masks(res);
        let counting = Counting {
            selection: Selection::new(region, filter)?,
            region,
            weights,
            now: as_of.and_utc().timestamp_micros(),
            final_status: Status::ALL.iter().map(|s| s.is_final()).collect(),
            keep,
            set,
        };
        // Runs of rows cut between parent cells, counted on every core and joined in order.
        let parts = self.parts(keep, 4 * rayon::current_num_threads());
        let tallies: Vec<CellTally> = parts.into_par_iter().map(|rows| counting.count(self, rows)).collect();
        Ok(CellTally::concat(tallies))
    }

    /// About `n` runs of rows covering them all, each cut where the parent cell (the bits of
    /// `keep`) changes, so that no cell spans two runs.
    fn parts(&self, keep: u64, n: usize) -> Vec<std::ops::Range<usize>> {
        let len = self.len();
        let mut cuts = vec![0];
        for k in 1..n {
            let mut at = (len * k / n).max(cuts[cuts.len() - 1]);
            while at > 0 && at < len && self.h3[at] & keep == self.h3[at - 1] & keep {
                at += 1;
            }
            cuts.push(at);
        }
        cuts.push(len);
        cuts.windows(2).filter(|w| w[0] < w[1]).map(|w| w[0]..w[1]).collect()
    }

    /// Up to `max` cases at even strides, as (their grid, else their village; their res-10 cell).
    pub fn placement_sample(&self, max: usize) -> Vec<(UnitId, u64)> {
        let stride = self.len().div_ceil(max.max(1)).max(1);
        let mut out: Vec<(UnitId, u64)> = (0..self.len())
            .step_by(stride)
            .map(|i| {
                let unit = if self.grid[i] == NO_GRID {
                    self.village[i]
                } else {
                    self.grid[i]
                };
                (unit, self.h3[i])
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// Changes whenever the columns do.
    pub fn fingerprint(&self) -> u64 {
        let mut h = self.len() as u64;
        for i in (0..self.len()).step_by(self.len().div_ceil(4096).max(1)) {
            h = h.rotate_left(7) ^ self.h3[i] ^ (self.reported[i] as u64);
        }
        h
    }

    /// The filter's cases per cell at `res` by the precision of their position, as
    /// [`crate::precision::cell_precision`] counts them (cells without cases are absent).
    pub fn cell_precision(
        &self,
        region: &Region,
        res: Resolution,
        filter: &Filter,
    ) -> Result<std::collections::HashMap<u64, Precision>, AnalyticsError> {
        let now = NaiveDateTime::default();
        Ok(self
            .tally(region, res, filter, &SeverityWeights::default(), now)?
            .precision_by_cell())
    }

    /// Cases that pass the filter.
    pub fn count(&self, region: &Region, filter: &Filter) -> Result<u64, AnalyticsError> {
        let selection = Selection::new(region, filter)?;
        Ok((0..self.len()).filter(|&i| selection.matches(self, i)).count() as u64)
    }
}

/// What one pass over the filter's cases counts ([`CaseColumns::tally`]).
#[derive(Debug, Clone, Default)]
pub struct CellTally {
    /// The cells' figures, sorted by cell.
    pub figures: Vec<CellFigures>,
    /// The precision of each cell's positions, in the order of `figures`.
    pub precision: Vec<Precision>,
    /// Report time of the first and the last case, in microseconds (`first > last`: none).
    first: i64,
    last: i64,
}

impl CellTally {
    fn empty() -> CellTally {
        CellTally {
            first: i64::MAX,
            last: i64::MIN,
            ..CellTally::default()
        }
    }

    /// The tallies of consecutive runs of rows, as one.
    fn concat(parts: Vec<CellTally>) -> CellTally {
        let mut all = CellTally::empty();
        for part in parts {
            all.figures.extend(part.figures);
            all.precision.extend(part.precision);
            all.first = all.first.min(part.first);
            all.last = all.last.max(part.last);
        }
        all
    }

    /// Report time of the first and the last case counted.
    pub fn period(&self) -> Option<(NaiveDateTime, NaiveDateTime)> {
        let at = |t: i64| chrono::DateTime::from_timestamp_micros(t).map(|d| d.naive_utc());
        (self.first <= self.last)
            .then(|| Some((at(self.first)?, at(self.last)?)))
            .flatten()
    }

    /// The precision by cell.
    pub fn precision_by_cell(&self) -> std::collections::HashMap<u64, Precision> {
        self.figures
            .iter()
            .map(|f| f.h3)
            .zip(self.precision.iter().copied())
            .collect()
    }
}

/// What [`CaseColumns::aggregate_cells`] counts with, shared by the runs it splits the rows into.
struct Counting<'a> {
    selection: Selection,
    region: &'a Region,
    weights: &'a SeverityWeights,
    /// `as_of` in microseconds: open cases due before it are overdue.
    now: i64,
    final_status: Vec<bool>,
    /// The parent cell of a row is `(h3 & keep) | set`.
    keep: u64,
    set: u64,
}

impl Counting<'_> {
    /// The tally of the cells of `rows` (whole cells: see [`CaseColumns::parts`]).
    fn count(&self, c: &CaseColumns, rows: std::ops::Range<usize>) -> CellTally {
        let mut out = CellTally::empty();
        let mut by_severity = [0u64; 4];
        let mut villages: Vec<(UnitId, u32)> = Vec::new();
        let mut current: Option<(CellFigures, Precision)> = None;
        for i in rows {
            if !self.selection.matches(c, i) {
                continue;
            }
            let h3 = (c.h3[i] & self.keep) | self.set;
            if current.as_ref().is_none_or(|(cell, _)| cell.h3 != h3) {
                if let Some((done, precision)) = current.take() {
                    out.figures.push(self.finish(done, &mut by_severity, &mut villages));
                    out.precision.push(precision);
                }
                current = Some((CellFigures::empty(h3), Precision::default()));
            }
            let (cell, precision) = current.as_mut().expect("set above");
            cell.count += 1;
            if !self.final_status[c.status[i] as usize] {
                cell.open += 1;
                if self.now > c.due[i] {
                    cell.overdue += 1;
                }
            }
            cell.by_category[c.category[i] as usize] += 1;
            by_severity[c.severity[i] as usize] += 1;
            match villages.iter_mut().find(|(v, _)| *v == c.village[i]) {
                Some((_, n)) => *n += 1,
                None => villages.push((c.village[i], 1)),
            }
            match c.precision[i] {
                0 => precision.point += 1,
                1 => precision.grid += 1,
                _ => precision.village += 1,
            }
            out.first = out.first.min(c.reported[i]);
            out.last = out.last.max(c.reported[i]);
        }
        if let Some((done, precision)) = current {
            out.figures.push(self.finish(done, &mut by_severity, &mut villages));
            out.precision.push(precision);
        }
        out
    }

    /// A cell's score, serious count and villages from what was counted for it.
    fn finish(
        &self,
        mut cell: CellFigures,
        by_severity: &mut [u64; 4],
        villages: &mut Vec<(UnitId, u32)>,
    ) -> CellFigures {
        cell.score = self.weights.score(by_severity);
        cell.serious = by_severity[2] + by_severity[3];
        *by_severity = [0; 4];
        cell.villages = villages
            .drain(..)
            .map(|(v, n)| (self.region.units[v as usize].code.clone(), n))
            .collect();
        cell.sort_villages();
        cell
    }
}

/// A filter, compiled for the columns.
struct Selection {
    from: i64,
    to: i64,
    /// Class, category, severity, channel, status: a bit per allowed value.
    masks: [u32; 5],
    /// The unit's level, and per unit whether it lies inside the filter's unit.
    unit: Option<(AdminLevel, Vec<bool>)>,
}

impl Selection {
    fn new(region: &Region, filter: &Filter) -> Result<Selection, AnalyticsError> {
        let micros = |t: NaiveDateTime| t.and_utc().timestamp_micros();
        let unit = CaseColumns::unit_filter(region, filter)?.map(|(level, id)| {
            let inside = (0..region.units.len() as UnitId)
                .map(|u| {
                    let mut up = Some(u);
                    while let Some(x) = up {
                        if x == id {
                            return true;
                        }
                        if region.units[x as usize].level <= level {
                            return false;
                        }
                        up = region.parent(x);
                    }
                    false
                })
                .collect();
            (level, inside)
        });
        Ok(Selection {
            from: filter.from.map_or(i64::MIN, micros),
            to: filter.to.map_or(i64::MAX, micros),
            masks: [
                mask(CaseClass::ALL, &filter.classes),
                mask(Category::ALL, &filter.categories),
                mask(Severity::ALL, &filter.severities),
                mask(Channel::ALL, &filter.channels),
                mask(Status::ALL, &filter.statuses),
            ],
            unit,
        })
    }

    fn matches(&self, c: &CaseColumns, i: usize) -> bool {
        let t = c.reported[i];
        if t < self.from || t >= self.to {
            return false;
        }
        if self.masks != [u32::MAX; 5] {
            let values = [c.class[i], c.category[i], c.severity[i], c.channel[i], c.status[i]];
            if self.masks.iter().zip(values).any(|(m, v)| m & (1 << v) == 0) {
                return false;
            }
        }
        match &self.unit {
            None => true,
            Some((level, inside)) => {
                let at = if *level == AdminLevel::Grid {
                    c.grid[i]
                } else {
                    c.village[i]
                };
                at != NO_GRID && inside[at as usize]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs cover every row once, in order, and never cut a parent cell in two.
    #[test]
    fn parts_cut_only_between_parent_cells() {
        // 1,000 rows in 7 res-10 cells of very different sizes, sorted as loaded.
        let cell = |k: u64| 0x8a2a_1072_0000_0000u64 + (k << 12);
        let sizes = [1usize, 600, 3, 250, 1, 140, 5];
        let h3: Vec<u64> = sizes
            .iter()
            .enumerate()
            .flat_map(|(k, &n)| std::iter::repeat_n(cell(k as u64), n))
            .collect();
        let columns = CaseColumns {
            h3: Column::Owned(h3.clone()),
            ..CaseColumns::default()
        };
        for n in [1, 2, 8, 64] {
            let parts = columns.parts(u64::MAX, n);
            assert_eq!(parts.first().unwrap().start, 0);
            assert_eq!(parts.last().unwrap().end, h3.len());
            for pair in parts.windows(2) {
                assert_eq!(pair[0].end, pair[1].start, "{n} parts");
                assert_ne!(h3[pair[0].end - 1], h3[pair[1].start], "a cell cut in two ({n} parts)");
            }
            assert!(parts.len() <= n && parts.len() <= sizes.len());
        }
    }
}
