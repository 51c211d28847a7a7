//! Stores written by earlier releases (`tests/data/store-schema-N/`: their DDL verbatim and their rows)
//! open, migrate in one transaction, keep their data and load more; a store newer than this binary is
//! refused.

use std::path::{Path, PathBuf};

use duckdb::Connection;
use fengqiao_ingest::migrate::{self, Opened, SchemaError, SCHEMA_VERSION};
use fengqiao_ingest::{IngestError, IngestOptions, Region, Store};

fn fixture(schema: u32) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/store-schema-{schema}"))
}

/// A store file built from the fixture of `schema`, as that release left it.
fn old_store(schema: u32, dir: &tempfile::TempDir) -> PathBuf {
    let fixture = fixture(schema);
    let db = dir.path().join(format!("schema-{schema}.duckdb"));
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(&std::fs::read_to_string(fixture.join("schema.sql")).unwrap())
        .unwrap();
    let rows = std::fs::read_to_string(fixture.join("rows.sql")).unwrap();
    conn.execute_batch(&rows.replace("{dir}", &fixture.display().to_string()))
        .unwrap();
    db
}

/// Every row of `table` as text, in a fixed order.
fn rows(conn: &Connection, table: &str, order: &str, columns: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT CAST(t AS VARCHAR) FROM (SELECT {columns} FROM {table}) t ORDER BY {order}"
        ))
        .unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

/// (table, column, type) of every table but the schema's record, in table and column order.
fn columns(conn: &Connection) -> Vec<(String, String, String)> {
    let mut stmt = conn
        .prepare(
            "SELECT table_name, column_name, data_type FROM duckdb_columns()
             WHERE schema_name = 'main' AND table_name <> 'schema_version' ORDER BY table_name, column_index",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

const V1_CASE_COLUMNS: &str = "case_id, reported_at, class, category, severity, channel, status, county_code, \
    township_code, village_code, grid_code, lng, lat, crs, geo_source, h3, replied_at, closed_at, updated_at, \
    satisfaction, repeat_of, party_name, party_phone, summary, source_file, source_line, ingested_at";

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn header() -> String {
    fengqiao_ingest::schema::Column::ALL.map(|c| c.name()).join(",")
}

#[test]
fn a_schema_1_store_is_migrated_keeps_its_rows_and_loads_more() {
    let dir = tempfile::tempdir().unwrap();
    let db = old_store(1, &dir);
    let before = {
        let conn = Connection::open(&db).unwrap();
        assert_eq!(
            migrate::found(&conn).unwrap().map(|f| (f.version, f.recorded)),
            Some((1, false))
        );
        rows(&conn, "cases", "case_id", V1_CASE_COLUMNS)
    };
    assert_eq!(before.len(), 240);

    let mut store = Store::open(&db).unwrap();
    let Opened::Migrated { from: 1, steps } = store.opened() else {
        panic!("not migrated from 1: {:?}", store.opened())
    };
    assert_eq!(steps.len(), 1);
    assert!(store
        .opened()
        .message()
        .unwrap()
        .starts_with("migrated from schema 1 to 2"));
    let conn = store.conn();
    assert_eq!(
        rows(conn, "cases", "case_id", V1_CASE_COLUMNS),
        before,
        "the rows survive"
    );
    let history = migrate::history(conn).unwrap();
    let versions: Vec<u32> = history.iter().map(|h| h.0).collect();
    assert_eq!(versions, [1, 2], "{history:?}");
    assert!(history[1].3.starts_with("migrated from 1: places by name and address"));

    // Positions placed by code: as precise as their grid or village; every unit matched exactly.
    let mismatched: i64 = conn
        .query_row(
            "SELECT count(*) FROM cases WHERE geo_precision IS DISTINCT FROM
                 CASE geo_source WHEN 'point' THEN 'point' WHEN 'grid' THEN 'grid' ELSE 'village' END
             OR place_match IS DISTINCT FROM 'exact' OR address IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(mismatched, 0);
    let sheets: i64 = conn
        .query_row("SELECT count(*) FROM rejected WHERE sheet IS NULL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sheets, 1);

    // The migrated store has exactly a new store's tables and columns, in the same order.
    let fresh = Store::open_in_memory().unwrap();
    assert_eq!(columns(conn), columns(fresh.conn()));

    // It loads more: an update of a stored case and a new one (the merge through staging).
    let update = format!(
        "{}\nCZ202609010000001,2026-09-01 08:37:41,dispute,housing_land,simple,walk_in,closed,431027,431027105,\
         431027105203,431027105203001,113.928184,26.058066,gcj02,2026-09-01 09:19:31,2026-09-01 20:57:29,\
         2026-09-05 10:00:00,satisfied,,,,\nNEW0000000000001,2026-10-01 08:00:00,dispute,labour,general,\
         hotline_12345,received,,,431027105203,,,,,,,,,,,,\n",
        header()
    );
    let file = write(&dir, "more.csv", &update);
    let report = store
        .ingest_file(
            &file,
            &Region::chenzhou(),
            &IngestOptions::default(),
            &fengqiao_ingest::store::NoProgress,
        )
        .unwrap();
    assert_eq!(
        (report.inserted, report.updated, report.rejected),
        (1, 1, 0),
        "{report:?}"
    );
    assert_eq!(store.case_count().unwrap(), 241);
    let (status, precision): (String, String) = store
        .conn()
        .query_row(
            "SELECT status, geo_precision FROM cases WHERE case_id = 'NEW0000000000001'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((status.as_str(), precision.as_str()), ("received", "village"));
    drop(store);

    let again = Store::open(&db).unwrap();
    assert_eq!(again.opened(), &Opened::Current);
    assert_eq!(
        migrate::history(again.conn()).unwrap().len(),
        2,
        "a current store is left as it is"
    );
}

#[test]
fn a_schema_2_store_records_its_version_and_keeps_its_region_and_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = old_store(2, &dir);
    let (cases, rejected, log) = {
        let conn = Connection::open(&db).unwrap();
        assert_eq!(
            migrate::found(&conn).unwrap().map(|f| (f.version, f.recorded)),
            Some((2, false))
        );
        assert!(migrate::check_readable(&conn, "old").is_ok(), "readable as it is");
        (
            rows(&conn, "cases", "case_id", "*"),
            rows(&conn, "rejected", "line", "*"),
            rows(&conn, "ingest_log", "file", "*"),
        )
    };
    let mut store = Store::open(&db).unwrap();
    assert!(matches!(store.opened(), Opened::Migrated { from: 2, steps } if steps.is_empty()));
    assert!(store
        .opened()
        .message()
        .unwrap()
        .starts_with("recorded schema version 2"));
    let conn = store.conn();
    assert_eq!(rows(conn, "cases", "case_id", "*"), cases);
    assert_eq!(rows(conn, "rejected", "line", "*"), rejected);
    assert_eq!(rows(conn, "ingest_log", "file", "*"), log);
    assert_eq!(cases.len(), 240);
    assert_eq!(rejected.len(), 2);
    let fresh = Store::open_in_memory().unwrap();
    assert_eq!(columns(conn), columns(fresh.conn()));

    // The region the old release kept in the store still loads, and is the one it was made with.
    let region = fengqiao_ingest::stored::region_for(conn, "old", None).unwrap();
    let dir_region = Region::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/testing/sparse-north")).unwrap();
    assert_eq!(region.hash, dir_region.hash);

    // A newer record of a stored case updates it.
    let update = format!(
        "{}\nCZ202609010000001,2026-09-01 09:25:49,dispute,contract,general,walk_in,closed,159924,159924107,\
         159924107002,159924107002001,114.412981,43.309029,wgs84,2026-09-01 10:52:33,2026-09-02 23:48:38,\
         2026-09-09 09:00:00,very_satisfied,,,,\n",
        header()
    );
    let file = write(&dir, "update.csv", &update);
    let report = store
        .ingest_file(
            &file,
            &region,
            &IngestOptions::default(),
            &fengqiao_ingest::store::NoProgress,
        )
        .unwrap();
    assert_eq!((report.updated, report.inserted), (1, 0), "{report:?}");
}

#[test]
fn a_store_newer_than_this_binary_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.duckdb");
    drop(Store::open(&db).unwrap());
    {
        let conn = Connection::open(&db).unwrap();
        conn.execute(
            "INSERT INTO schema_version VALUES (?, now()::TIMESTAMP, 'fengqiao 9.0.0', 'from the future')",
            [SCHEMA_VERSION + 1],
        )
        .unwrap();
        let err = migrate::check_readable(&conn, "new").unwrap_err();
        assert!(matches!(err, SchemaError::TooNew { found, .. } if found == SCHEMA_VERSION + 1));
    }
    let err = Store::open(&db).err().expect("refused");
    let message = err.to_string();
    assert!(
        matches!(err, IngestError::Schema(SchemaError::TooNew { .. })),
        "{message}"
    );
    assert!(
        message.contains(&format!("schema version {}", SCHEMA_VERSION + 1))
            && message.contains("newer than this fengqiao"),
        "{message}"
    );
    let conn = Connection::open(&db).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2, "the refused store is not touched");
}

#[test]
fn a_failed_migration_leaves_the_store_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let db = old_store(1, &dir);
    {
        // Something in the way of the migration's last statement, after its columns are added: an
        // (empty) record of versions that refuses the step's row.
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_version (version INTEGER, applied_at TIMESTAMP, fengqiao VARCHAR,
                 message VARCHAR CHECK (message NOT LIKE 'migrated%'))",
        )
        .unwrap();
    }
    let err = Store::open(&db).err().expect("the migration fails");
    assert!(
        err.to_string()
            .contains("migrating the store from schema 1 to 2 (nothing was changed)"),
        "{err}"
    );
    let conn = Connection::open(&db).unwrap();
    let found = migrate::found(&conn).unwrap().unwrap();
    assert_eq!((found.version, found.recorded), (1, false));
    assert!(
        columns(&conn).iter().all(|(_, c, _)| c != "geo_precision"),
        "no column was added"
    );
    let n: i64 = conn
        .query_row("SELECT count(*) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0, "no version was recorded");
    let err = migrate::check_readable(&conn, "old").unwrap_err();
    assert!(matches!(err, SchemaError::NeedsMigration { found: 1, .. }), "{err}");
}

#[test]
fn a_new_store_is_created_at_the_current_version() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fresh.duckdb");
    let store = Store::open(&db).unwrap();
    assert_eq!(store.opened(), &Opened::Created);
    let history = migrate::history(store.conn()).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!((history[0].0, history[0].3.as_str()), (SCHEMA_VERSION, "created"));
    assert!(history[0].2.starts_with("fengqiao "));
}
