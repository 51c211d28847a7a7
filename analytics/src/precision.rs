//! How precisely the heat map's cases are placed: per H3 cell, how many of the filter's cases sit at
//! their own point, at their grid's point, or only at their village's point (`cases.geo_precision`,
//! written by the ingest: exports that name a place but give no coordinates are placed at the unit's
//! point). A cell whose cases are mostly village-precise is where the village's point lies, not
//! necessarily where the cases happened.

use std::collections::HashMap;

use fengqiao_ingest::Region;
use h3o::Resolution;

use crate::filter::Filter;
use crate::AnalyticsError;

/// Cases of one cell by the precision of their position.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Precision {
    pub point: u64,
    pub grid: u64,
    pub village: u64,
}

/// The precision of the filter's cases per cell at `res` (cells without cases are absent). Stores
/// made before the column existed count as their `geo_source` says (the ingest migrates them).
pub fn cell_precision(
    conn: &duckdb::Connection,
    region: &Region,
    res: Resolution,
    filter: &Filter,
) -> Result<HashMap<u64, Precision>, AnalyticsError> {
    let res = crate::cells::resolution(u8::from(res))?;
    let (condition, params) = filter.where_clause(region)?;
    let sql = format!(
        "SELECT {cell} AS cell,
                count(*) FILTER (WHERE geo_precision = 'point'),
                count(*) FILTER (WHERE geo_precision = 'grid'),
                count(*) FILTER (WHERE geo_precision NOT IN ('point', 'grid'))
         FROM cases WHERE {condition} GROUP BY ALL",
        cell = crate::cells::parent_sql("h3", res),
    );
    let err = |source| AnalyticsError::Query {
        what: "positions' precision",
        source,
    };
    let mut stmt = conn.prepare(&sql).map_err(err)?;
    let rows = stmt
        .query_map(duckdb::params_from_iter(params.iter()), |r| {
            Ok((
                r.get::<_, u64>(0)?,
                Precision {
                    point: r.get::<_, i64>(1)? as u64,
                    grid: r.get::<_, i64>(2)? as u64,
                    village: r.get::<_, i64>(3)? as u64,
                },
            ))
        })
        .map_err(err)?;
    rows.collect::<Result<_, _>>().map_err(err)
}
