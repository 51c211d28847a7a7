//! Where cases come from: the store (DuckDB) or the server's in-memory columns — one interface
//! for the analyses that run on both (the heat map and its risk figures).

use chrono::NaiveDateTime;
use duckdb::Connection;
use fengqiao_ingest::region::UnitId;
use fengqiao_ingest::Region;
use h3o::Resolution;

use crate::aggregate::{aggregate_cells, CellFigures, SeverityWeights};
use crate::cache::CaseColumns;
use crate::filter::Filter;
use crate::AnalyticsError;

/// Cases read for [`crate::population::Placement`]: at most this many, spread over the store.
pub const PLACEMENT_SAMPLE: usize = 100_000;

/// Where a heat map's cases come from: the store (DuckDB) or the server's in-memory columns.
#[derive(Clone, Copy)]
pub enum CaseSource<'a> {
    Store(&'a Connection),
    Cached(&'a CaseColumns),
}

impl CaseSource<'_> {
    /// The figures of each cell with cases.
    pub fn cells(
        &self,
        region: &Region,
        res: Resolution,
        filter: &Filter,
        weights: &SeverityWeights,
        as_of: NaiveDateTime,
    ) -> Result<Vec<CellFigures>, AnalyticsError> {
        match self {
            CaseSource::Store(conn) => aggregate_cells(conn, region, res, filter, weights, as_of),
            CaseSource::Cached(columns) => columns.aggregate_cells(region, res, filter, weights, as_of),
        }
    }

    /// Cases that pass the filter.
    pub fn count(&self, region: &Region, filter: &Filter) -> Result<u64, AnalyticsError> {
        match self {
            CaseSource::Store(conn) => {
                let (clause, params) = filter.where_clause(region)?;
                conn.query_row(
                    &format!("SELECT count(*) FROM cases WHERE {clause}"),
                    duckdb::params_from_iter(params.iter()),
                    |r| r.get::<_, i64>(0),
                )
                .map(|n| n as u64)
                .map_err(|source| AnalyticsError::Query {
                    what: "the region's cases",
                    source,
                })
            }
            CaseSource::Cached(columns) => columns.count(region, filter),
        }
    }

    /// Weeks covered by the filter's period, or by the data when the period is open.
    pub fn weeks(&self, region: &Region, filter: &Filter) -> Result<f64, AnalyticsError> {
        match self {
            CaseSource::Store(conn) => crate::hotspot::period_weeks(conn, region, filter),
            CaseSource::Cached(columns) => {
                let period = columns.period(region, filter)?;
                Ok(crate::hotspot::weeks_between(
                    filter.from.or(period.map(|p| p.0)),
                    filter.to.or(period.map(|p| p.1)),
                ))
            }
        }
    }

    /// Up to `max` cases spread over the store, as (the unit they name — their grid, else their
    /// village — and their res-10 cell): how this store's cases lie around their units' points.
    pub fn placement_sample(&self, region: &Region, max: usize) -> Result<Vec<(UnitId, u64)>, AnalyticsError> {
        match self {
            CaseSource::Store(conn) => {
                let err = |source| AnalyticsError::Query {
                    what: "the placement sample",
                    source,
                };
                // System sampling (whole vectors) over a large store: a reservoir would read it all.
                let rows: i64 = conn
                    .query_row("SELECT count(*) FROM cases", [], |r| r.get(0))
                    .map_err(err)?;
                let sample = if rows as usize <= max {
                    String::new()
                } else {
                    format!(
                        " USING SAMPLE {:.6} PERCENT (system, 20261201)",
                        100.0 * max as f64 / rows as f64
                    )
                };
                let mut stmt = conn
                    .prepare(&format!(
                        "SELECT coalesce(grid_code, village_code), h3 FROM cases{sample}"
                    ))
                    .map_err(err)?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))
                    .map_err(err)?;
                let mut out = Vec::new();
                for row in rows {
                    let (code, cell) = row.map_err(err)?;
                    if let Some(id) = region.id(&code) {
                        out.push((id, cell));
                    }
                }
                out.sort_unstable();
                Ok(out)
            }
            CaseSource::Cached(columns) => Ok(columns.placement_sample(max)),
        }
    }

    /// Changes whenever the cases do (count and last ingest): the key of what is derived from them.
    pub fn fingerprint(&self) -> Result<u64, AnalyticsError> {
        match self {
            CaseSource::Store(conn) => conn
                .query_row(
                    "SELECT count(*), coalesce(CAST(epoch_ms(max(ingested_at)) AS BIGINT), 0), coalesce(CAST(sum(h3 % 1000003) AS BIGINT), 0) FROM cases",
                    [],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)),
                )
                .map(|(n, t, h)| (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (t as u64).rotate_left(21) ^ (h as u64).rotate_left(42))
                .map_err(|source| AnalyticsError::Query {
                    what: "the store's fingerprint",
                    source,
                }),
            CaseSource::Cached(columns) => Ok(columns.fingerprint()),
        }
    }
}
