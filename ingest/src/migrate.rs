//! The store's tables, its schema version and the migrations of older stores.
//!
//! A store records its schema version in `schema_version` (one row per change: version, when, which
//! fengqiao, what). Opening a store for writing ([`prepare`]) creates a new one at
//! [`SCHEMA_VERSION`], migrates an older one in one transaction (every step or none, each logged as
//! a row), and refuses one newer than this binary. Stores made before versions were recorded are
//! recognised by their columns: schema 1 (before places by name and address), schema 2 (issue 15).

use duckdb::Connection;

use crate::schema::cases_ddl;

/// The schema this binary writes.
pub const SCHEMA_VERSION: u32 = 2;

/// The store's tables besides `cases` ([`crate::schema::cases_ddl`]): `rejected` one row per rejected
/// input line, `ingest_log` one row per file, and the store's region ([`crate::stored`]).
const LOG_TABLES: &str = "
CREATE TABLE IF NOT EXISTS rejected (
    file        VARCHAR NOT NULL,
    line        BIGINT NOT NULL,
    field       VARCHAR,
    reason      VARCHAR NOT NULL,
    message     VARCHAR NOT NULL,
    raw         VARCHAR,
    ingested_at TIMESTAMP NOT NULL,
    sheet       VARCHAR
);
CREATE TABLE IF NOT EXISTS ingest_log (
    file        VARCHAR NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    rows_read   BIGINT NOT NULL,
    inserted    BIGINT NOT NULL,
    updated     BIGINT NOT NULL,
    unchanged   BIGINT NOT NULL,
    stale       BIGINT NOT NULL,
    rejected    BIGINT NOT NULL
);
";

/// The store's region (schema 2). A later schema that changes these tables alters them in its own
/// step, after [`to_2`] has created them.
const REGION_TABLES: &str = "
CREATE TABLE IF NOT EXISTS region (
    name        VARCHAR NOT NULL,
    name_en     VARCHAR NOT NULL,
    code        VARCHAR NOT NULL,
    level       VARCHAR NOT NULL,
    hash        VARCHAR NOT NULL,
    origin      VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS region_files (
    name    VARCHAR NOT NULL,
    content VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS region_log (
    logged_at      TIMESTAMP NOT NULL,
    action         VARCHAR NOT NULL,
    from_hash      VARCHAR,
    to_hash        VARCHAR NOT NULL,
    name           VARCHAR NOT NULL,
    code           VARCHAR NOT NULL,
    cases_replaced BIGINT NOT NULL,
    message        VARCHAR NOT NULL
);
";

/// The store's record of its schema.
const VERSION_TABLE: &str = "
CREATE TABLE IF NOT EXISTS schema_version (
    version    INTEGER NOT NULL,
    applied_at TIMESTAMP NOT NULL,
    fengqiao   VARCHAR NOT NULL,
    message    VARCHAR NOT NULL
);
";

/// DDL of a new store at [`SCHEMA_VERSION`].
pub fn store_ddl() -> String {
    [cases_ddl().as_str(), LOG_TABLES, REGION_TABLES, VERSION_TABLE].concat()
}

/// One step from the version before `to`.
struct Migration {
    to: u32,
    what: &'static str,
    apply: fn(&Connection) -> duckdb::Result<()>,
}

/// Every step, in order.
const MIGRATIONS: &[Migration] = &[Migration {
    to: 2,
    what: "places by name and address: cases.geo_precision, place_match, address; rejected.sheet; the store's region",
    apply: to_2,
}];

/// Columns schema 2 added, with the values an older store's rows get: its rows were placed by code,
/// so a row without its own point is as precise as its grid or village.
const COLUMNS_OF_2: &[(&str, &str, &str)] = &[
    (
        "cases",
        "geo_precision",
        "CASE geo_source WHEN 'point' THEN 'point' WHEN 'grid' THEN 'grid' ELSE 'village' END",
    ),
    ("cases", "place_match", "'exact'"),
    ("cases", "address", "NULL"),
    ("rejected", "sheet", "NULL"),
];

/// Adds the columns of [`COLUMNS_OF_2`] that the store lacks, filled by a type change `USING` the
/// value (DuckDB refuses to commit an `UPDATE` of a table altered in the same transaction).
fn to_2(conn: &Connection) -> duckdb::Result<()> {
    for (table, column, value) in COLUMNS_OF_2 {
        if !has_column(conn, table, column)? {
            conn.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN {column} VARCHAR;
                 ALTER TABLE {table} ALTER COLUMN {column} TYPE VARCHAR USING ({value});"
            ))?;
        }
    }
    conn.execute_batch(REGION_TABLES)
}

/// Errors of opening a store's schema.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "{store}: the store has schema version {found}, newer than this fengqiao {} (schema {SCHEMA_VERSION}); \
         open it with the fengqiao that wrote it, or a newer one",
        env!("CARGO_PKG_VERSION")
    )]
    TooNew { store: String, found: u32 },
    #[error("{store}: the store has schema version {found} and must be migrated to {SCHEMA_VERSION}, which a read-only opening cannot do: open it for writing once (e.g. `fengqiao ingest` or `fengqiao serve`)")]
    NeedsMigration { store: String, found: u32 },
    #[error("{store}: migrating the store from schema {from} to {to} (nothing was changed): {source}")]
    Migration {
        store: String,
        from: u32,
        to: u32,
        #[source]
        source: duckdb::Error,
    },
    #[error("{store}: reading or creating its tables: {source}")]
    Db {
        store: String,
        #[source]
        source: duckdb::Error,
    },
}

/// A store's schema as found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub version: u32,
    /// Whether the store records it (stores made before versions were recorded do not).
    pub recorded: bool,
}

/// What opening did to a store's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// A new store, created at [`SCHEMA_VERSION`].
    Created,
    /// Already at [`SCHEMA_VERSION`].
    Current,
    /// Migrated from `from` (`from` = [`SCHEMA_VERSION`]: only its version was recorded, the store
    /// having been made before versions were), with the steps' descriptions.
    Migrated { from: u32, steps: Vec<String> },
}

impl Opened {
    /// "migrated from schema 1 to 2 (…)", for the log; `None` when nothing changed worth saying.
    pub fn message(&self) -> Option<String> {
        match self {
            Opened::Created | Opened::Current => None,
            Opened::Migrated { from, .. } if *from == SCHEMA_VERSION => Some(format!(
                "recorded schema version {from} (the store was made before stores recorded it)"
            )),
            Opened::Migrated { from, steps } => Some(format!(
                "migrated from schema {from} to {SCHEMA_VERSION}: {}",
                steps.join("; ")
            )),
        }
    }
}

fn has_table(conn: &Connection, table: &str) -> duckdb::Result<bool> {
    conn.query_row(
        "SELECT count(*) > 0 FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main'",
        [table],
        |r| r.get(0),
    )
}

fn has_column(conn: &Connection, table: &str, column: &str) -> duckdb::Result<bool> {
    conn.query_row(
        "SELECT count(*) > 0 FROM duckdb_columns() WHERE table_name = ? AND column_name = ? AND schema_name = 'main'",
        [table, column],
        |r| r.get(0),
    )
}

/// The schema of the store on `conn`; `None` for an empty database.
pub fn found(conn: &Connection) -> duckdb::Result<Option<Found>> {
    if has_table(conn, "schema_version")? {
        let version: Option<i64> = conn.query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))?;
        if let Some(v) = version {
            return Ok(Some(Found {
                version: v as u32,
                recorded: true,
            }));
        }
    }
    if !has_table(conn, "cases")? {
        return Ok(None);
    }
    let mut is_2 = true;
    for (table, column, _) in COLUMNS_OF_2 {
        is_2 &= has_column(conn, table, column)?;
    }
    Ok(Some(Found {
        version: if is_2 { 2 } else { 1 },
        recorded: false,
    }))
}

/// Checks that a store opened read-only can be read as it is: not newer than this binary, and not
/// in need of a migration.
pub fn check_readable(conn: &Connection, store: &str) -> Result<Option<Found>, SchemaError> {
    let db = |source| SchemaError::Db {
        store: store.to_string(),
        source,
    };
    let found = found(conn).map_err(db)?;
    match found {
        Some(f) if f.version > SCHEMA_VERSION => Err(SchemaError::TooNew {
            store: store.to_string(),
            found: f.version,
        }),
        Some(f) if f.version < SCHEMA_VERSION => Err(SchemaError::NeedsMigration {
            store: store.to_string(),
            found: f.version,
        }),
        _ => Ok(found),
    }
}

/// Prepares the store on `conn` for this binary: creates a new one, migrates an older one in one
/// transaction, refuses a newer one.
pub fn prepare(conn: &Connection, store: &str) -> Result<Opened, SchemaError> {
    let db = |source| SchemaError::Db {
        store: store.to_string(),
        source,
    };
    let Some(f) = found(conn).map_err(db)? else {
        in_transaction(conn, |c| {
            c.execute_batch(&store_ddl())?;
            record(c, SCHEMA_VERSION, "created")
        })
        .map_err(db)?;
        return Ok(Opened::Created);
    };
    if f.version > SCHEMA_VERSION {
        return Err(SchemaError::TooNew {
            store: store.to_string(),
            found: f.version,
        });
    }
    if f.version == SCHEMA_VERSION && f.recorded {
        return Ok(Opened::Current);
    }
    let steps: Vec<&Migration> = MIGRATIONS.iter().filter(|m| m.to > f.version).collect();
    in_transaction(conn, |c| {
        c.execute_batch(VERSION_TABLE)?;
        if !f.recorded {
            record(
                c,
                f.version,
                "recorded: the store was made before stores recorded their schema version",
            )?;
        }
        for step in &steps {
            (step.apply)(c)?;
            record(c, step.to, &format!("migrated from {}: {}", step.to - 1, step.what))?;
        }
        Ok(())
    })
    .map_err(|source| SchemaError::Migration {
        store: store.to_string(),
        from: f.version,
        to: SCHEMA_VERSION,
        source,
    })?;
    Ok(Opened::Migrated {
        from: f.version,
        steps: steps.iter().map(|s| s.what.to_string()).collect(),
    })
}

fn record(conn: &Connection, version: u32, message: &str) -> duckdb::Result<()> {
    conn.execute(
        "INSERT INTO schema_version VALUES (?, CAST(? AS TIMESTAMP), ?, ?)",
        duckdb::params![
            version,
            crate::time::format_datetime(crate::time::now_china()),
            concat!("fengqiao ", env!("CARGO_PKG_VERSION")),
            message
        ],
    )?;
    Ok(())
}

/// Runs `f` in a transaction: committed if it succeeds, rolled back if not.
fn in_transaction(conn: &Connection, f: impl FnOnce(&Connection) -> duckdb::Result<()>) -> duckdb::Result<()> {
    conn.execute_batch("BEGIN TRANSACTION")?;
    match f(conn) {
        Ok(()) => conn.execute_batch("COMMIT"),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// The version history of the store on `conn`: (version, applied at, by, message), oldest first.
pub fn history(conn: &Connection) -> duckdb::Result<Vec<(u32, String, String, String)>> {
    let mut stmt = conn.prepare(
        "SELECT version, CAST(applied_at AS VARCHAR), fengqiao, message FROM schema_version ORDER BY applied_at, version",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, i64>(0)? as u32, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    rows.collect()
}
