//! An in-memory columnar copy of the case store for the heat map's hot path.
//!
//! The heat map is a filtered count of cases per H3 cell. Over 10 million cases a DuckDB `GROUP BY`
//! takes over a second; the same count over a few in-memory columns sorted by cell takes a few
//! tens of milliseconds: the res-10 cells are sorted, so the children of a coarser cell are adjacent
//! and a row only compares its parent with the previous row's. [`CaseColumns::aggregate_cells`]
//! returns exactly what [`crate::aggregate::aggregate_cells`] returns (a test checks it).

use chrono::NaiveDateTime;
use duckdb::arrow::array::{Array, AsArray};
use duckdb::arrow::datatypes::{Int64Type, UInt64Type};
use duckdb::Connection;
use fengqiao_ingest::model::{AdminLevel, CaseClass, Category, Channel, Severity, Status};
use fengqiao_ingest::region::UnitId;
use fengqiao_ingest::Region;
use h3o::Resolution;

use crate::aggregate::{CellFigures, SeverityWeights};
use crate::filter::Filter;
use crate::AnalyticsError;

const NO_GRID: UnitId = UnitId::MAX;

/// The columns of `cases` the heat map reads, one entry per case, sorted by `h3`.
#[derive(Debug, Clone, Default)]
pub struct CaseColumns {
    h3: Vec<u64>,
    /// `reported_at` in microseconds since the epoch (China time, as stored).
    reported: Vec<i64>,
    /// Deadline (`reported_at` + days of "137+2030") in the same unit.
    due: Vec<i64>,
    class: Vec<u8>,
    category: Vec<u8>,
    severity: Vec<u8>,
    channel: Vec<u8>,
    status: Vec<u8>,
    village: Vec<UnitId>,
    grid: Vec<UnitId>,
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

impl CaseColumns {
    /// Reads the store's cases (one scan, ordered by cell).
    pub fn load(conn: &Connection, region: &Region) -> Result<CaseColumns, AnalyticsError> {
        let err = |source| AnalyticsError::Query {
            what: "the in-memory case columns",
            source,
        };
        let mut stmt = conn
            .prepare(
                "SELECT h3, epoch_us(reported_at), class, category, severity, channel, status, village_code, grid_code
                 FROM cases ORDER BY h3",
            )
            .map_err(err)?;
        let mut c = CaseColumns::default();
        for batch in stmt.query_arrow([]).map_err(err)? {
            let text = |i: usize| batch.column(i).as_string::<i32>().clone();
            let h3 = batch.column(0).as_primitive::<UInt64Type>();
            let reported = batch.column(1).as_primitive::<Int64Type>();
            let (class, category, severity) = (text(2), text(3), text(4));
            let (channel, status, village, grid) = (text(5), text(6), text(7), text(8));
            for row in 0..batch.num_rows() {
                // Stored values were validated at ingest; a value the model does not know means the
                // store was written by something else.
                let parse = |what: &'static str, ok: bool| {
                    if ok {
                        Ok(())
                    } else {
                        Err(AnalyticsError::Store(format!("{what} (case {row} by cell)")))
                    }
                };
                let class_v: Option<CaseClass> = class.value(row).parse().ok();
                let category_v: Option<Category> = category.value(row).parse().ok();
                let severity_v: Option<Severity> = severity.value(row).parse().ok();
                let channel_v: Option<Channel> = channel.value(row).parse().ok();
                let status_v: Option<Status> = status.value(row).parse().ok();
                let village_v = region.id(village.value(row));
                parse(
                    "an unknown enum value or village",
                    class_v.is_some()
                        && category_v.is_some()
                        && severity_v.is_some()
                        && channel_v.is_some()
                        && status_v.is_some()
                        && village_v.is_some(),
                )?;
                let (class_v, severity_v) = (class_v.unwrap(), severity_v.unwrap());
                let days = fengqiao_ingest::model::close_deadline_days(class_v, severity_v);
                c.h3.push(h3.value(row));
                c.reported.push(reported.value(row));
                c.due.push(reported.value(row) + i64::from(days) * 86_400_000_000);
                c.class.push(index_of(CaseClass::ALL, class_v));
                c.category.push(index_of(Category::ALL, category_v.unwrap()));
                c.severity.push(index_of(Severity::ALL, severity_v));
                c.channel.push(index_of(Channel::ALL, channel_v.unwrap()));
                c.status.push(index_of(Status::ALL, status_v.unwrap()));
                c.village.push(village_v.unwrap());
                c.grid.push(if grid.is_null(row) {
                    NO_GRID
                } else {
                    region.id(grid.value(row)).unwrap_or(NO_GRID)
                });
            }
        }
        Ok(c)
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
        self.len() * (8 + 8 + 8 + 5 + 4 + 4)
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
        let res = crate::cells::resolution(u8::from(res))?;
        let selection = Selection::new(region, filter)?;
        let now = as_of.and_utc().timestamp_micros();
        let final_status = Status::ALL.iter().map(|s| s.is_final()).collect::<Vec<bool>>();
        let (keep, set) = crate::cells::parent_masks(res);

        let mut out: Vec<CellFigures> = Vec::new();
        let mut by_severity = [0u64; 4];
        let mut villages: Vec<(UnitId, u32)> = Vec::new();
        let finish = |cell: &mut CellFigures, by_severity: &mut [u64; 4], villages: &mut Vec<(UnitId, u32)>| {
            cell.score = weights.score(by_severity);
            cell.serious = by_severity[2] + by_severity[3];
            *by_severity = [0; 4];
            cell.villages = villages
                .drain(..)
                .map(|(v, n)| (region.units[v as usize].code.clone(), n))
                .collect();
            cell.sort_villages();
        };
        let mut current: Option<CellFigures> = None;
        for i in 0..self.len() {
            if !selection.matches(self, i) {
                continue;
            }
            let h3 = (self.h3[i] & keep) | set;
            if current.as_ref().is_none_or(|c| c.h3 != h3) {
                if let Some(mut done) = current.take() {
                    finish(&mut done, &mut by_severity, &mut villages);
                    out.push(done);
                }
                current = Some(CellFigures::empty(h3));
            }
            let cell = current.as_mut().expect("set above");
            cell.count += 1;
            if !final_status[self.status[i] as usize] {
                cell.open += 1;
                if now > self.due[i] {
                    cell.overdue += 1;
                }
            }
            cell.by_category[self.category[i] as usize] += 1;
            by_severity[self.severity[i] as usize] += 1;
            match villages.iter_mut().find(|(v, _)| *v == self.village[i]) {
                Some((_, n)) => *n += 1,
                None => villages.push((self.village[i], 1)),
            }
        }
        if let Some(mut done) = current {
            finish(&mut done, &mut by_severity, &mut villages);
            out.push(done);
        }
        Ok(out)
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

    /// Cases that pass the filter.
    pub fn count(&self, region: &Region, filter: &Filter) -> Result<u64, AnalyticsError> {
        let selection = Selection::new(region, filter)?;
        Ok((0..self.len()).filter(|&i| selection.matches(self, i)).count() as u64)
    }

    /// First and last report time of the filter's cases (for the heat map's weeks).
    pub fn period(
        &self,
        region: &Region,
        filter: &Filter,
    ) -> Result<Option<(NaiveDateTime, NaiveDateTime)>, AnalyticsError> {
        let selection = Selection::new(region, filter)?;
        let (min, max) = (0..self.len())
            .filter(|&i| selection.matches(self, i))
            .fold((i64::MAX, i64::MIN), |(a, b), i| {
                (a.min(self.reported[i]), b.max(self.reported[i]))
            });
        let at = |t: i64| chrono::DateTime::from_timestamp_micros(t).map(|d| d.naive_utc());
        Ok((min <= max).then(|| Some((at(min)?, at(max)?))).flatten())
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
        let values = [c.class[i], c.category[i], c.severity[i], c.channel[i], c.status[i]];
        if self.masks.iter().zip(values).any(|(m, v)| m & (1 << v) == 0) {
            return false;
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
