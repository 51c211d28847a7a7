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

/// The runs of consecutive rows a placement sample of a large store is made of.
const SAMPLE_RUNS: usize = 32;

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

    /// Up to `max` cases spread over the store, as (the unit they name — their grid, else their
    /// village — and their res-10 cell): how this store's cases lie around their units' points.
    pub fn placement_sample(&self, region: &Region, max: usize) -> Result<Vec<(UnitId, u64)>, AnalyticsError> {
        match self {
            CaseSource::Store(conn) => {
                let err = |source| AnalyticsError::Query {
                    what: "the placement sample",
                    source,
                };
                // 32 runs of rows spread evenly over the store's own order (rowid): the same sample
                // on every run, and each run read by itself (DuckDB skips to a rowid range; a
                // `rowid % n` filter would read the whole table). DuckDB's `USING SAMPLE … (system,
                // seed)` is repeatable only on one thread: on a large store it gave another
                // placement, and other hot cells, from run to run.
                let (rows, span): (i64, i64) = conn
                    .query_row("SELECT count(*), coalesce(max(rowid) + 1, 0) FROM cases", [], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .map_err(err)?;
                let select = "SELECT coalesce(grid_code, village_code), h3 FROM cases";
                let sql = if rows as usize <= max {
                    select.to_string()
                } else {
                    let run = max.div_ceil(SAMPLE_RUNS) as i64;
                    let stride = span / SAMPLE_RUNS as i64;
                    (0..SAMPLE_RUNS as i64)
                        .map(|k| {
                            format!(
                                "{select} WHERE rowid >= {} AND rowid < {}",
                                k * stride,
                                k * stride + run
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(" UNION ALL ")
                };
                let mut stmt = conn.prepare(&sql).map_err(err)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use fengqiao_ingest::model::AdminLevel;

    /// A store larger than the sample, read on several threads: the same rows on every call, in
    /// runs spread over the whole store, each naming its unit.
    #[test]
    fn the_placement_sample_of_a_large_store_is_the_same_on_every_call() {
        let region = Region::chenzhou();
        let villages: Vec<&str> = region
            .level(AdminLevel::Village)
            .map(|(_, u)| u.code.as_str())
            .collect();
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("SET threads = 4; CREATE TABLE cases (grid_code VARCHAR, village_code VARCHAR, h3 UBIGINT)")
            .unwrap();
        let list = villages.iter().map(|c| format!("'{c}'")).collect::<Vec<_>>().join(", ");
        conn.execute_batch(&format!(
            "INSERT INTO cases SELECT NULL, ([{list}])[1 + (i * 7919) % {n}], 600000000000000000 + i FROM range(300000) t(i)",
            n = villages.len()
        ))
        .unwrap();
        let source = CaseSource::Store(&conn);
        let first = source.placement_sample(&region, 10_000).unwrap();
        assert_eq!(first.len(), 32 * 313, "32 runs of 313 rows");
        for _ in 0..5 {
            assert_eq!(source.placement_sample(&region, 10_000).unwrap(), first);
        }
        let mut rows: Vec<u64> = first.iter().map(|&(_, cell)| cell - 600000000000000000).collect();
        rows.sort_unstable();
        let stride = 300_000 / 32;
        let expected: Vec<u64> = (0..32).flat_map(|k| k * stride..k * stride + 313).collect();
        assert_eq!(rows, expected, "runs spread evenly over the store");
        let unit = |i: u64| {
            region
                .id(villages[((i * 7919) % villages.len() as u64) as usize])
                .unwrap()
        };
        assert!(first.iter().all(|&(id, cell)| id == unit(cell - 600000000000000000)));
    }
}
