//! What a store remembers of its region: the `region` row (name, code, level, content hash, where it
//! came from), the region's files in `region_files` (so that every later command reads the region
//! from the store, without `--region`), and `region_log`, one row per recording or update.
//!
//! A store made before stores recorded their region (no `region` row but cases) was made with the
//! default region: it is treated as such, and recorded as such by its next ingest.

use duckdb::Connection;

use crate::model::AdminLevel;
use crate::region::{Region, RegionFiles};

/// The `region` row of a store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredRegion {
    pub name: String,
    pub name_en: String,
    pub code: String,
    pub level: String,
    pub hash: String,
    pub origin: String,
    pub recorded_at: String,
}

impl StoredRegion {
    /// "郴州市 (431000, city, region 1f3a…)", as [`Region::describe`].
    pub fn describe(&self) -> String {
        format!(
            "{} ({}, {}, region {})",
            self.name,
            self.code,
            self.level,
            &self.hash[..self.hash.len().min(12)]
        )
    }
}

/// Problems with a store's region.
#[derive(Debug, thiserror::Error)]
pub enum RegionRecordError {
    #[error(
        "{store} was made with region {stored}, not {given}: one store holds one region's cases. \
         Use another store, or `fengqiao region update --db {store} DIR` to move this one to a new \
         version of its region"
    )]
    Mismatch {
        store: String,
        stored: String,
        given: String,
    },
    #[error("{store}: {source}")]
    Db {
        store: String,
        #[source]
        source: duckdb::Error,
    },
    #[error("{store}: the region kept in the store does not load: {source}")]
    Stored {
        store: String,
        #[source]
        source: crate::region::RegionError,
    },
}

/// Whether the store has a table (read-only connections of stores made before a table existed
/// lack it).
fn has_table(conn: &Connection, table: &str) -> duckdb::Result<bool> {
    conn.query_row(
        "SELECT count(*) > 0 FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main'",
        [table],
        |r| r.get(0),
    )
}

/// The store's `region` row, if it has one.
pub fn stored_region(conn: &Connection) -> duckdb::Result<Option<StoredRegion>> {
    if !has_table(conn, "region")? {
        return Ok(None);
    }
    let mut stmt = conn
        .prepare("SELECT name, name_en, code, level, hash, origin, CAST(recorded_at AS VARCHAR) FROM region LIMIT 1")?;
    let mut rows = stmt.query_map([], |r| {
        Ok(StoredRegion {
            name: r.get(0)?,
            name_en: r.get(1)?,
            code: r.get(2)?,
            level: r.get(3)?,
            hash: r.get(4)?,
            origin: r.get(5)?,
            recorded_at: r.get(6)?,
        })
    })?;
    rows.next().transpose()
}

/// The region files kept in the store.
pub fn stored_files(conn: &Connection, origin: &str) -> duckdb::Result<RegionFiles> {
    let mut stmt = conn.prepare("SELECT name, content FROM region_files ORDER BY name")?;
    let texts = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<duckdb::Result<Vec<_>>>()?;
    Ok(RegionFiles::from_texts(origin, texts))
}

fn has_cases(conn: &Connection) -> duckdb::Result<bool> {
    if !has_table(conn, "cases")? {
        return Ok(false);
    }
    conn.query_row("SELECT EXISTS (SELECT 1 FROM cases)", [], |r| r.get(0))
}

/// What a store says about its region.
#[derive(Debug, Clone)]
pub enum StoreRegion {
    /// The store records this region.
    Recorded(StoredRegion),
    /// No record, but cases: a store made before stores recorded their region, with the default.
    AssumedDefault,
    /// No record and no cases yet.
    None,
}

/// What `conn`'s store says about its region.
pub fn store_region(conn: &Connection) -> duckdb::Result<StoreRegion> {
    Ok(match stored_region(conn)? {
        Some(r) => StoreRegion::Recorded(r),
        None if has_cases(conn)? => StoreRegion::AssumedDefault,
        None => StoreRegion::None,
    })
}

/// The region to work with on `conn`'s store, given the one asked for (`--region`), if any: the
/// store's own when none is asked for (the default for a store without a record, and for an empty
/// store); the one asked for when the store has none yet or it is the store's. A different region
/// is refused naming both.
pub fn region_for(conn: &Connection, store: &str, asked: Option<Region>) -> Result<Region, RegionRecordError> {
    let db = |source| RegionRecordError::Db {
        store: store.to_string(),
        source,
    };
    let mismatch = |stored: String, given: &Region| RegionRecordError::Mismatch {
        store: store.to_string(),
        stored,
        given: given.describe(),
    };
    match (store_region(conn).map_err(db)?, asked) {
        (StoreRegion::Recorded(stored), Some(asked)) if stored.hash == asked.hash => Ok(asked),
        (StoreRegion::Recorded(stored), Some(asked)) => Err(mismatch(stored.describe(), &asked)),
        (StoreRegion::Recorded(_), None) => stored_files(conn, &format!("{store} (region kept in the store)"))
            .map_err(db)?
            .parse()
            .map_err(|source| RegionRecordError::Stored {
                store: store.to_string(),
                source,
            }),
        (StoreRegion::AssumedDefault, Some(asked)) => {
            let default = Region::chenzhou();
            if asked.hash == default.hash {
                Ok(asked)
            } else {
                Err(mismatch(
                    format!(
                        "{} (the default: the store has cases from before stores recorded their region)",
                        default.describe()
                    ),
                    &asked,
                ))
            }
        }
        (StoreRegion::AssumedDefault | StoreRegion::None, None) => Ok(Region::chenzhou()),
        (StoreRegion::None, Some(asked)) => Ok(asked),
    }
}

/// Records `region` as the store's when it has none (within the caller's transaction), or checks
/// that it is the store's. Called by every ingest before any row is written.
pub fn adopt(conn: &Connection, store: &str, region: &Region) -> Result<(), RegionRecordError> {
    let db = |source| RegionRecordError::Db {
        store: store.to_string(),
        source,
    };
    let message = match store_region(conn).map_err(db)? {
        StoreRegion::Recorded(stored) if stored.hash == region.hash => return Ok(()),
        StoreRegion::Recorded(stored) => {
            return Err(RegionRecordError::Mismatch {
                store: store.to_string(),
                stored: stored.describe(),
                given: region.describe(),
            })
        }
        StoreRegion::AssumedDefault => {
            region_for(conn, store, Some(region.clone()))?;
            "recorded the default region of a store made before stores recorded their region"
        }
        StoreRegion::None => "recorded by the first ingest",
    };
    write_region(conn, region).map_err(db)?;
    log(conn, "recorded", None, region, 0, message).map_err(db)
}

/// Replaces the store's region record and files with `region`'s.
pub(crate) fn write_region(conn: &Connection, region: &Region) -> duckdb::Result<()> {
    conn.execute_batch("DELETE FROM region; DELETE FROM region_files;")?;
    conn.execute(
        "INSERT INTO region VALUES (?, ?, ?, ?, ?, ?, CAST(? AS TIMESTAMP))",
        duckdb::params![
            region.name,
            region.name_en,
            region.code,
            region.level.code(),
            region.hash,
            region.files().origin,
            crate::time::format_datetime(crate::time::now_china())
        ],
    )?;
    let mut insert = conn.prepare("INSERT INTO region_files VALUES (?, ?)")?;
    for (name, text) in region.files().iter() {
        insert.execute([name, text])?;
    }
    Ok(())
}

/// Appends a row to `region_log`.
pub(crate) fn log(
    conn: &Connection,
    action: &str,
    from_hash: Option<&str>,
    region: &Region,
    cases_replaced: u64,
    message: &str,
) -> duckdb::Result<()> {
    conn.execute(
        "INSERT INTO region_log VALUES (CAST(? AS TIMESTAMP), ?, ?, ?, ?, ?, ?, ?)",
        duckdb::params![
            crate::time::format_datetime(crate::time::now_china()),
            action,
            from_hash,
            region.hash,
            region.name,
            region.code,
            cases_replaced as i64,
            message
        ],
    )?;
    Ok(())
}

/// One row of `region_log`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RegionLogEntry {
    pub logged_at: String,
    pub action: String,
    pub from_hash: Option<String>,
    pub to_hash: String,
    pub name: String,
    pub code: String,
    pub cases_replaced: u64,
    pub message: String,
}

/// The store's `region_log`, oldest first (empty for a store without one).
pub fn region_log(conn: &Connection) -> duckdb::Result<Vec<RegionLogEntry>> {
    if !has_table(conn, "region_log")? {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(
        "SELECT CAST(logged_at AS VARCHAR), action, from_hash, to_hash, name, code, cases_replaced, message
         FROM region_log ORDER BY logged_at, rowid",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(RegionLogEntry {
            logged_at: r.get(0)?,
            action: r.get(1)?,
            from_hash: r.get(2)?,
            to_hash: r.get(3)?,
            name: r.get(4)?,
            code: r.get(5)?,
            cases_replaced: r.get::<_, i64>(6)? as u64,
            message: r.get(7)?,
        })
    })?;
    rows.collect()
}

/// Counts of a region's units per level, for `fengqiao region show`.
pub fn unit_counts(region: &Region) -> Vec<(AdminLevel, usize, usize)> {
    AdminLevel::ALL
        .iter()
        .map(|&l| {
            let units: Vec<_> = region.level(l).collect();
            let polygons = units.iter().filter(|(_, u)| u.boundary.is_some()).count();
            (l, units.len(), polygons)
        })
        .filter(|(_, n, _)| *n > 0)
        .collect()
}
