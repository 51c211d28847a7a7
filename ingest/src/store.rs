//! The case store: a DuckDB file with the `cases` ([`crate::schema`]), `rejected` and `ingest_log`
//! tables at this binary's schema version ([`crate::migrate`]), and the load of one input file into it.
//!
//! A file is loaded in one transaction, so a crash (even `kill -9`) mid-file leaves the store as it
//! was. Reading, validation and the append overlap: a reader thread parses the next chunk while the
//! current one is validated in parallel (rayon) and appended as Arrow record batches.

use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDateTime;
use duckdb::arrow::array::{
    ArrayRef, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder, UInt64Builder,
};
use duckdb::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::Connection;
use rayon::prelude::*;

use crate::coords::Crs;
use crate::gazetteer::Gazetteer;
use crate::mapping::{Mapping, SheetRef};
use crate::migrate::{Opened, SchemaError};
use crate::read::{self, record_to_text, Encoding, RawRecord, Unreadable};
use crate::region::Region;
use crate::schema::{cases_arrow_schema, content_columns, stored_columns, Column, Derived, Source};
use crate::stored::RegionRecordError;
use crate::validate::{validate, CaseRow, Context, Rejection};

/// Records read and validated together; the reader runs one chunk ahead.
const CHUNK_ROWS: usize = 16_384;
/// Records validated by one rayon task (and appended as one record batch).
const TASK_ROWS: usize = 4_096;

/// Errors of the store and of loading a file.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{file}: {source}")]
    Db {
        file: String,
        #[source]
        source: duckdb::Error,
    },
    #[error("{file} line {line}: {message}")]
    File { file: String, line: u64, message: String },
    #[error(transparent)]
    Region(#[from] RegionRecordError),
    #[error(transparent)]
    Schema(#[from] SchemaError),
}

fn db_err(file: &Path) -> impl Fn(duckdb::Error) -> IngestError + '_ {
    move |source| IngestError::Db {
        file: file.display().to_string(),
        source,
    }
}

/// How to load a file.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Force a CSV encoding instead of sniffing it.
    pub encoding: Option<Encoding>,
    /// The system of coordinates for rows without a `crs` value.
    pub default_crs: Crs,
    /// "Now", for the future-date check.
    pub now: NaiveDateTime,
    /// DuckDB's memory limit while loading (it spills beyond it), e.g. `"256MB"`. DuckDB allocates
    /// somewhat beyond its limit, and the within-file duplicate check holds 8 bytes per row: with
    /// 384 MB a 10-million-row file loads in under 1 GiB.
    pub memory_limit: String,
    /// How the export's headers and words map onto the columns (`docs/input-format.md`).
    pub mapping: Option<Arc<Mapping>>,
    /// The sheet of a workbook (default: the mapping's, else the first).
    pub sheet: Option<SheetRef>,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            encoding: None,
            default_crs: Crs::Gcj02,
            now: crate::time::now_china(),
            memory_limit: "256MB".into(),
            mapping: None,
            sheet: None,
        }
    }
}

/// What happened to one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct IngestReport {
    pub file: String,
    /// The sheet read, for a workbook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// Lines read (excluding the header and blank lines).
    pub rows_read: u64,
    /// New cases.
    pub inserted: u64,
    /// Stored cases replaced by a newer record.
    pub updated: u64,
    /// Records identical to what is stored.
    pub unchanged: u64,
    /// Records older than what is stored (kept out).
    pub stale: u64,
    pub rejected: u64,
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Headers that name no known column (ignored).
    pub unknown_columns: Vec<String>,
    /// Loaded rows by where their position came from (`point`, `grid`, `village`, `name`, `address`).
    pub placed_by: BTreeMap<String, u64>,
    pub millis: u64,
}

/// Told how far a load has got.
pub trait Progress: Sync {
    /// A file of `total` bytes (rows, for Parquet) starts.
    fn start(&self, _file: &Path, _total: u64) {}
    /// `done` bytes (rows) of it are processed.
    fn advance(&self, _done: u64) {}
    /// The file is finished.
    fn finish(&self) {}
}

/// Reports nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

/// One rejected line.
#[derive(Debug, Clone)]
struct RejectedRow {
    rejection: Rejection,
    raw: String,
}

/// The case store.
pub struct Store {
    conn: Connection,
    path: Option<PathBuf>,
    opened: Opened,
}

impl Store {
    /// Opens (creating if needed) the store at `path`: an older store is migrated to this binary's
    /// schema in one transaction ([`Store::opened`] says what was done), a newer one refused.
    pub fn open(path: &Path) -> Result<Store, IngestError> {
        let conn = Connection::open(path).map_err(db_err(path))?;
        let opened = crate::migrate::prepare(&conn, &path.display().to_string())?;
        Ok(Store {
            conn,
            path: Some(path.to_path_buf()),
            opened,
        })
    }

    /// A store in memory (tests, benchmarks).
    pub fn open_in_memory() -> Result<Store, IngestError> {
        let conn = Connection::open_in_memory().map_err(db_err(Path::new(":memory:")))?;
        let opened = crate::migrate::prepare(&conn, ":memory:")?;
        Ok(Store {
            conn,
            path: None,
            opened,
        })
    }

    /// What opening did to the store's schema (created, current, migrated).
    pub fn opened(&self) -> &Opened {
        &self.opened
    }

    /// How messages name the store.
    pub fn name(&self) -> String {
        self.path
            .as_deref()
            .map_or(":memory:".to_string(), |p| p.display().to_string())
    }

    /// The DuckDB connection, for queries.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Where the store lives (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Number of stored cases.
    pub fn case_count(&self) -> Result<u64, IngestError> {
        self.conn
            .query_row("SELECT count(*) FROM cases", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(db_err(self.path.as_deref().unwrap_or(Path::new(":memory:"))))
    }

    /// Loads one file in one transaction: good rows into `cases` (new ones inserted, newer records of
    /// stored cases updated), bad ones into `rejected`, and a line into `ingest_log`.
    pub fn ingest_file(
        &mut self,
        path: &Path,
        region: &Region,
        opts: &IngestOptions,
        progress: &dyn Progress,
    ) -> Result<IngestReport, IngestError> {
        let started = Instant::now();
        let started_at = crate::time::now_china();
        let file_name = path.display().to_string();
        let file_problem = |p: read::FileProblem| IngestError::File {
            file: file_name.clone(),
            line: p.line,
            message: p.message,
        };
        let mapping = opts.mapping.as_deref();
        let read_options = read::ReadOptions {
            encoding: opts.encoding,
            mapping,
            sheet: opts.sheet.as_ref(),
        };
        let (mut source, total) = read::open(path, &read_options).map_err(file_problem)?;
        let sheet = source.sheet().map(str::to_string);
        let in_sheet = |line: u64| match &sheet {
            Some(s) => format!("{line} of sheet {s:?}"),
            None => line.to_string(),
        };
        let missing = source
            .columns()
            .missing_required(mapping, region.has_polygons(crate::model::AdminLevel::Village));
        if !missing.is_empty() {
            return Err(IngestError::File {
                file: file_name.clone(),
                line: 1,
                message: format!(
                    "missing required column(s) in the header (line {}): {} (headers may be English or Chinese,                      or mapped by a mapping file: see docs/input-format.md; `fengqiao ingest --inspect` proposes one)",
                    in_sheet(1),
                    missing.join(", ")
                ),
            });
        }
        let columns = source.columns().clone();
        let names_places = Column::EVERY
            .into_iter()
            .any(|c| c.finds_place() && columns.get(c).is_some());
        let gazetteer = names_places.then(|| Gazetteer::new(region));
        let mut ctx = Context::new(region, &columns, source.encoding(), opts.now);
        ctx.default_crs = mapping.and_then(|m| m.crs).unwrap_or(opts.default_crs);
        ctx.mapping = mapping;
        ctx.gazetteer = gazetteer.as_ref();
        progress.start(path, total);

        let db = db_err(path);
        self.conn
            .execute_batch(&format!("SET memory_limit = '{}'", opts.memory_limit.replace('\'', "")))
            .map_err(&db)?;
        self.conn.execute_batch("BEGIN TRANSACTION").map_err(&db)?;
        let result = crate::stored::adopt(&self.conn, &self.name(), region)
            .map_err(IngestError::from)
            .and_then(|()| self.load_in_transaction(path, &mut *source, &ctx, sheet.as_deref(), started_at, progress));
        match result {
            Ok(mut report) => {
                self.conn.execute_batch("COMMIT").map_err(&db)?;
                progress.finish();
                report.sheet = sheet;
                report.unknown_columns = columns.unknown.clone();
                report.millis = started.elapsed().as_millis() as u64;
                Ok(report)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                progress.finish();
                Err(e)
            }
        }
    }

    fn load_in_transaction(
        &self,
        path: &Path,
        source: &mut dyn read::RecordSource,
        ctx: &Context<'_>,
        sheet: Option<&str>,
        started_at: NaiveDateTime,
        progress: &dyn Progress,
    ) -> Result<IngestReport, IngestError> {
        let db = db_err(path);
        let file_name = path.display().to_string();
        // Into an empty store, rows go straight to `cases`; otherwise through a staging table that is
        // merged at the end (insert new cases, update those with a newer record).
        let direct = self
            .conn
            .query_row("SELECT NOT EXISTS (SELECT 1 FROM cases)", [], |r| r.get::<_, bool>(0))
            .map_err(&db)?;
        if !direct {
            self.conn
                .execute_batch("CREATE OR REPLACE TEMP TABLE staging AS SELECT * FROM cases LIMIT 0")
                .map_err(&db)?;
        }
        let mut appender = if direct {
            self.conn.appender("cases")
        } else {
            self.conn.appender_to_catalog_and_db("staging", "temp", "main")
        }
        .map_err(&db)?;
        let mut report = IngestReport {
            file: file_name.clone(),
            ..IngestReport::default()
        };
        let (mut rejected, staged) =
            append_chunks(&mut appender, source, ctx, path, started_at, progress, &mut report)?;
        appender.flush().map_err(&db)?;
        drop(appender);

        if direct {
            report.inserted = staged;
        } else {
            self.merge_staging(&mut report, staged).map_err(&db)?;
        }
        rejected.sort_by_key(|r| r.rejection.line);
        report.rejected = rejected.len() as u64;
        for r in &rejected {
            *report
                .rejected_by_reason
                .entry(r.rejection.reason.to_string())
                .or_default() += 1;
        }
        if !rejected.is_empty() {
            let mut appender = self.conn.appender("rejected").map_err(&db)?;
            for chunk in rejected.chunks(TASK_ROWS) {
                appender
                    .append_record_batch(rejected_batch(chunk, &file_name, sheet, started_at))
                    .map_err(&db)?;
            }
            appender.flush().map_err(&db)?;
        }
        self.conn
            .execute(
                "INSERT INTO ingest_log VALUES (?, CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP), ?, ?, ?, ?, ?, ?)",
                duckdb::params![
                    file_name,
                    crate::time::format_datetime(started_at),
                    crate::time::format_datetime(crate::time::now_china()),
                    report.rows_read as i64,
                    report.inserted as i64,
                    report.updated as i64,
                    report.unchanged as i64,
                    report.stale as i64,
                    report.rejected as i64
                ],
            )
            .map_err(&db)?;
        Ok(report)
    }

    /// Merges `staging` into `cases`: inserts new cases, replaces stored ones whose incoming record is
    /// at least as new (by `updated_at`) and differs, and counts what it did.
    fn merge_staging(&self, report: &mut IngestReport, staged: u64) -> Result<(), duckdb::Error> {
        let content = content_columns();
        let differs = |a: &str, b: &str| {
            content
                .iter()
                .map(|c| format!("{a}.{c} IS DISTINCT FROM {b}.{c}"))
                .collect::<Vec<_>>()
                .join(" OR ")
        };
        let (inserted, stale, updated): (i64, i64, i64) = self.conn.query_row(
            &format!(
                "SELECT count(*) FILTER (WHERE c.case_id IS NULL),
                        count(*) FILTER (WHERE c.case_id IS NOT NULL AND s.updated_at < c.updated_at),
                        count(*) FILTER (WHERE c.case_id IS NOT NULL AND s.updated_at >= c.updated_at AND ({}))
                 FROM staging s LEFT JOIN cases c ON c.case_id = s.case_id",
                differs("s", "c")
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let set = content
            .iter()
            .chain(&["source_file", "source_line", "ingested_at"])
            .map(|c| format!("{c} = s.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.conn.execute_batch(&format!(
            "UPDATE cases SET {set} FROM staging s
             WHERE cases.case_id = s.case_id AND s.updated_at >= cases.updated_at AND ({});
             INSERT INTO cases SELECT * FROM staging s WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.case_id = s.case_id);
             DROP TABLE staging;",
            differs("s", "cases")
        ))?;
        report.inserted = inserted as u64;
        report.stale = stale as u64;
        report.updated = updated as u64;
        report.unchanged = staged - (inserted + stale + updated) as u64;
        Ok(())
    }
}

/// What one validation task gives: a record batch of its good rows, its rejected rows, and its good
/// rows by `geo_source`.
type TaskResult = (Option<RecordBatch>, Vec<RejectedRow>, BTreeMap<&'static str, u64>);

/// Raw records of a chunk, its unreadable lines, and the reader's position after it.
/// Reads, validates and appends `source` in three overlapping stages: the reader thread parses
/// chunk n+2, the validator thread validates chunk n+1 (in parallel with rayon), and this thread
/// appends chunk n to DuckDB. Counts rows read and how they were placed into `report`; returns the
/// rejected rows and the number of rows appended.
fn append_chunks(
    appender: &mut duckdb::Appender<'_>,
    source: &mut dyn read::RecordSource,
    ctx: &Context<'_>,
    path: &Path,
    started_at: NaiveDateTime,
    progress: &dyn Progress,
    report: &mut IngestReport,
) -> Result<(Vec<RejectedRow>, u64), IngestError> {
    let db = db_err(path);
    let encoding = ctx.encoding;
    let file_name = path.display().to_string();
    let schema = cases_arrow_schema();
    let pause_after = fault_pause_after();
    let mut rejected: Vec<RejectedRow> = Vec::new();
    let mut batches_appended = 0u64;
    let mut staged = 0u64;
    std::thread::scope(|scope| -> Result<(), IngestError> {
        let (raw_tx, raw_rx) = sync_channel::<Result<RawChunk, read::FileProblem>>(2);
        let (valid_tx, valid_rx) = sync_channel::<Result<ValidatedChunk, read::FileProblem>>(2);
        scope.spawn(move || loop {
            let (mut records, mut bad) = (Vec::with_capacity(CHUNK_ROWS), Vec::new());
            match source.read_chunk(CHUNK_ROWS, &mut records, &mut bad) {
                Ok(more) => {
                    let empty = records.is_empty() && bad.is_empty();
                    if !empty && raw_tx.send(Ok((records, bad, source.position()))).is_err() {
                        return;
                    }
                    if !more {
                        return;
                    }
                }
                Err(problem) => {
                    let _ = raw_tx.send(Err(problem));
                    return;
                }
            }
        });
        let schema = &schema;
        let file_name = &file_name;
        scope.spawn(move || {
            let mut seen_ids: HashSet<u64> = HashSet::new();
            for chunk in raw_rx {
                let validated =
                    chunk.map(|c| validate_chunk(c, ctx, encoding, &mut seen_ids, schema, file_name, started_at));
                if valid_tx.send(validated).is_err() {
                    return;
                }
            }
        });
        for chunk in valid_rx {
            let chunk = chunk.map_err(|p| IngestError::File {
                file: file_name.clone(),
                line: p.line,
                message: p.message,
            })?;
            report.rows_read += chunk.rows_read;
            rejected.extend(chunk.rejected);
            for (source, n) in chunk.placed_by {
                *report.placed_by.entry(source.to_string()).or_default() += n;
            }
            for batch in chunk.batches {
                staged += batch.num_rows() as u64;
                appender.append_record_batch(batch).map_err(&db)?;
                batches_appended += 1;
                if pause_after == Some(batches_appended) {
                    appender.flush().map_err(&db)?;
                    eprintln!("fault injection: paused after {batches_appended} batches");
                    std::thread::sleep(std::time::Duration::from_secs(600));
                }
            }
            progress.advance(chunk.position);
        }
        Ok(())
    })?;
    Ok((rejected, staged))
}

/// The kill -9 test's hook (tests/cli.rs): after how many batches an ingest pauses, in debug builds
/// only.
fn fault_pause_after() -> Option<u64> {
    if cfg!(debug_assertions) {
        std::env::var("FENGQIAO_FAULT_PAUSE_AFTER_BATCHES")
            .ok()
            .and_then(|v| v.parse().ok())
    } else {
        None
    }
}

type RawChunk = (Vec<RawRecord>, Vec<Unreadable>, u64);

/// A chunk after validation: record batches of its good rows, its rejected rows.
struct ValidatedChunk {
    batches: Vec<RecordBatch>,
    rejected: Vec<RejectedRow>,
    /// Good rows by `geo_source`.
    placed_by: BTreeMap<&'static str, u64>,
    rows_read: u64,
    position: u64,
}

/// Validates one chunk: unreadable lines and within-file duplicate ids (in file order; the first
/// line with an id keeps it) are rejected, the rest validated in parallel, 4k rows per task.
fn validate_chunk(
    (records, bad, position): RawChunk,
    ctx: &Context<'_>,
    encoding: Encoding,
    seen_ids: &mut HashSet<u64>,
    schema: &Arc<Schema>,
    file_name: &str,
    started_at: NaiveDateTime,
) -> ValidatedChunk {
    let rows_read = (records.len() + bad.len()) as u64;
    let mut rejected: Vec<RejectedRow> = bad
        .into_iter()
        .map(|u| RejectedRow {
            rejection: Rejection {
                line: u.line,
                field: None,
                reason: u.reason,
                message: u.message,
            },
            raw: u.raw,
        })
        .collect();
    let case_id_index = ctx.columns.get(Column::CaseId).expect("required column");
    let duplicate: Vec<bool> = records
        .iter()
        .map(|r| {
            let id = r.fields.get(case_id_index).unwrap_or_default().trim_ascii();
            !id.is_empty() && !seen_ids.insert(id_hash(id))
        })
        .collect();
    let results: Vec<TaskResult> = records
        .par_chunks(TASK_ROWS)
        .zip(duplicate.par_chunks(TASK_ROWS))
        .map(|(chunk, dup)| {
            let mut rows = Vec::with_capacity(chunk.len());
            let mut bad = Vec::new();
            for (record, &dup) in chunk.iter().zip(dup) {
                let outcome = if dup {
                    Err(Rejection {
                        line: record.line,
                        field: Some(Column::CaseId.name()),
                        reason: "duplicate_id",
                        message: "case_id already appeared earlier in this file".into(),
                    })
                } else {
                    validate(record, ctx)
                };
                match outcome {
                    Ok(row) => rows.push(row),
                    Err(rejection) => bad.push(RejectedRow {
                        rejection,
                        raw: record_to_text(&record.fields, encoding),
                    }),
                }
            }
            let mut placed_by: BTreeMap<&'static str, u64> = BTreeMap::new();
            for row in &rows {
                *placed_by.entry(row.geo_source.code()).or_default() += 1;
            }
            let batch = (!rows.is_empty()).then(|| cases_batch(schema, &rows, ctx.region, file_name, started_at));
            (batch, bad, placed_by)
        })
        .collect();
    let mut batches = Vec::with_capacity(results.len());
    let mut placed_by: BTreeMap<&'static str, u64> = BTreeMap::new();
    for (batch, bad, placed) in results {
        rejected.extend(bad);
        batches.extend(batch);
        for (source, n) in placed {
            *placed_by.entry(source).or_default() += n;
        }
    }
    ValidatedChunk {
        batches,
        rejected,
        placed_by,
        rows_read,
        position,
    }
}

/// A 64-bit hash of a case id, for the within-file duplicate check. Two distinct ids collide with
/// probability ~n²/2⁶⁵: about 3·10⁻⁶ for a 10-million-row file.
fn id_hash(id: &[u8]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

fn micros(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}

fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, None)
}

fn string_column<'a>(rows: &'a [CaseRow], f: impl Fn(&'a CaseRow) -> Option<&'a str>) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 12);
    for r in rows {
        b.append_option(f(r));
    }
    Arc::new(b.finish())
}

fn time_column(rows: &[CaseRow], f: impl Fn(&CaseRow) -> Option<NaiveDateTime>) -> ArrayRef {
    let mut b = TimestampMicrosecondBuilder::with_capacity(rows.len());
    for r in rows {
        b.append_option(f(r).map(micros));
    }
    Arc::new(b.finish())
}

fn float_column(rows: &[CaseRow], f: impl Fn(&CaseRow) -> f64) -> ArrayRef {
    let mut b = Float64Builder::with_capacity(rows.len());
    for r in rows {
        b.append_value(f(r));
    }
    Arc::new(b.finish())
}

/// The rows as a record batch of `cases` (every stored column of the declaration, in its order).
fn cases_batch(
    schema: &Arc<Schema>,
    rows: &[CaseRow],
    region: &Region,
    file: &str,
    ingested_at: NaiveDateTime,
) -> RecordBatch {
    let columns: Vec<ArrayRef> = stored_columns()
        .map(|c| match c.source {
            Source::Input(column) | Source::Place(column) => input_array(column, rows, region),
            Source::Derived(derived) => derived_array(derived, rows, file, ingested_at),
        })
        .collect();
    RecordBatch::try_new(schema.clone(), columns).expect("columns match the schema")
}

/// The stored values of an input column.
fn input_array(column: Column, rows: &[CaseRow], region: &Region) -> ArrayRef {
    let code = |id: u32| region.units[id as usize].code.as_str();
    match column {
        Column::CaseId => string_column(rows, |r| Some(&r.case_id)),
        Column::ReportedAt => time_column(rows, |r| Some(r.reported_at)),
        Column::Class => string_column(rows, |r| Some(r.class.code())),
        Column::Category => string_column(rows, |r| Some(r.category.code())),
        Column::Severity => string_column(rows, |r| Some(r.severity.code())),
        Column::Channel => string_column(rows, |r| Some(r.channel.code())),
        Column::Status => string_column(rows, |r| Some(r.status.code())),
        Column::CountyCode => string_column(rows, |r| Some(code(r.units.county))),
        Column::TownshipCode => string_column(rows, |r| Some(code(r.units.township))),
        Column::VillageCode => string_column(rows, |r| Some(code(r.units.village))),
        Column::GridCode => string_column(rows, |r| r.units.grid.map(code)),
        Column::Lng => float_column(rows, |r| r.lng),
        Column::Lat => float_column(rows, |r| r.lat),
        Column::Crs => string_column(rows, |r| r.crs.map(Crs::code)),
        Column::RepliedAt => time_column(rows, |r| r.replied_at),
        Column::ClosedAt => time_column(rows, |r| r.closed_at),
        Column::UpdatedAt => time_column(rows, |r| Some(r.updated_at)),
        Column::Satisfaction => string_column(rows, |r| r.satisfaction.map(|s| s.code())),
        Column::RepeatOf => string_column(rows, |r| r.repeat_of.as_deref()),
        Column::PartyName => string_column(rows, |r| r.party_name.as_deref()),
        Column::PartyPhone => string_column(rows, |r| r.party_phone.as_deref()),
        Column::Summary => string_column(rows, |r| r.summary.as_deref()),
        Column::Address => string_column(rows, |r| r.address.as_deref()),
        Column::CountyName | Column::TownshipName | Column::VillageName | Column::GridName => {
            unreachable!("{column:?} is declared not stored")
        }
    }
}

/// The values of a derived column.
fn derived_array(derived: Derived, rows: &[CaseRow], file: &str, ingested_at: NaiveDateTime) -> ArrayRef {
    match derived {
        Derived::GeoSource => string_column(rows, |r| Some(r.geo_source.code())),
        Derived::H3 => {
            let mut h3 = UInt64Builder::with_capacity(rows.len());
            rows.iter().for_each(|r| h3.append_value(r.h3));
            Arc::new(h3.finish())
        }
        Derived::SourceFile => string_column(rows, |_| Some(file)),
        Derived::SourceLine => {
            let mut lines = Int64Builder::with_capacity(rows.len());
            rows.iter().for_each(|r| lines.append_value(r.line as i64));
            Arc::new(lines.finish())
        }
        Derived::IngestedAt => time_column(rows, |_| Some(ingested_at)),
        Derived::GeoPrecision => string_column(rows, |r| Some(r.precision.code())),
        Derived::PlaceMatch => string_column(rows, |r| Some(r.place_match.code())),
    }
}

fn rejected_batch(rows: &[RejectedRow], file: &str, sheet: Option<&str>, ingested_at: NaiveDateTime) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("file", DataType::Utf8, false),
        Field::new("line", DataType::Int64, false),
        Field::new("field", DataType::Utf8, true),
        Field::new("reason", DataType::Utf8, false),
        Field::new("message", DataType::Utf8, false),
        Field::new("raw", DataType::Utf8, true),
        Field::new("ingested_at", timestamp(), false),
        Field::new("sheet", DataType::Utf8, true),
    ]));
    let mut sheets = StringBuilder::new();
    let (mut files, mut lines, mut fields) = (StringBuilder::new(), Int64Builder::new(), StringBuilder::new());
    let (mut reasons, mut messages, mut raws) = (StringBuilder::new(), StringBuilder::new(), StringBuilder::new());
    let mut at = TimestampMicrosecondBuilder::new();
    for r in rows {
        files.append_value(file);
        lines.append_value(r.rejection.line as i64);
        fields.append_option(r.rejection.field);
        reasons.append_value(r.rejection.reason);
        messages.append_value(&r.rejection.message);
        raws.append_value(&r.raw);
        at.append_value(micros(ingested_at));
        sheets.append_option(sheet);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(files.finish()),
        Arc::new(lines.finish()),
        Arc::new(fields.finish()),
        Arc::new(reasons.finish()),
        Arc::new(messages.finish()),
        Arc::new(raws.finish()),
        Arc::new(at.finish()),
        Arc::new(sheets.finish()),
    ];
    RecordBatch::try_new(schema, columns).expect("columns match the schema")
}
