//! Readers: turn an input file (CSV, NDJSON, Parquet, or a sheet of an XLSX/XLS/ODS workbook) into
//! numbered raw records whose fields are mapped to [`Column`]s (by the built-in headers, or by a
//! [`Mapping`]). Nothing here judges a value; problems that make a line unreadable (bad
//! encoding is left to validation, but a truncated line or malformed JSON is not) come back as
//! [`Unreadable`] so that the caller can reject that line and go on.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

use csv::ByteRecord;

use crate::mapping::{Mapping, SheetRef};
use crate::schema::Column;

/// The kinds of input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Csv,
    Ndjson,
    Parquet,
    /// A workbook (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`, `.ods`): one sheet of it.
    Workbook,
}

impl InputFormat {
    /// The format a file's extension names (`.csv`, `.ndjson`/`.jsonl`, `.parquet`).
    pub fn from_path(path: &Path) -> Option<InputFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" | "txt" => Some(InputFormat::Csv),
            "ndjson" | "jsonl" | "json" => Some(InputFormat::Ndjson),
            "parquet" => Some(InputFormat::Parquet),
            "xlsx" | "xlsm" | "xlsb" | "xls" | "ods" => Some(InputFormat::Workbook),
            _ => None,
        }
    }
}

/// Text encodings of CSV exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// GB18030, a superset of GBK and GB2312: what Excel and many government systems export.
    Gb18030,
}

impl std::str::FromStr for Encoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().replace('-', "").as_str() {
            "utf8" => Ok(Encoding::Utf8),
            "gb18030" | "gbk" | "gb2312" => Ok(Encoding::Gb18030),
            _ => Err(format!("unknown encoding {s:?} (expected utf-8 or gb18030)")),
        }
    }
}

impl Encoding {
    /// Guesses a file's encoding from its first bytes: UTF-8 if they are valid UTF-8 (a multi-byte
    /// character cut at the end of the sample is fine), else GB18030 if they decode as GB18030
    /// without error, else UTF-8 (and the lines that are not will be rejected one by one).
    pub fn sniff(sample: &[u8]) -> Encoding {
        match std::str::from_utf8(sample) {
            Ok(_) => Encoding::Utf8,
            Err(e) if e.error_len().is_none() => Encoding::Utf8,
            Err(_) => {
                // A sample may end inside a character (of up to 4 bytes in GB18030).
                let whole = (0..4.min(sample.len() + 1)).any(|cut| {
                    !encoding_rs::GB18030
                        .decode_without_bom_handling(&sample[..sample.len() - cut])
                        .1
                });
                if whole {
                    Encoding::Gb18030
                } else {
                    Encoding::Utf8
                }
            }
        }
    }

    /// Decodes one field; `None` if the bytes are not valid in this encoding.
    pub fn decode<'a>(self, bytes: &'a [u8]) -> Option<std::borrow::Cow<'a, str>> {
        match self {
            Encoding::Utf8 => std::str::from_utf8(bytes).ok().map(std::borrow::Cow::Borrowed),
            Encoding::Gb18030 => {
                if bytes.is_ascii() {
                    return std::str::from_utf8(bytes).ok().map(std::borrow::Cow::Borrowed);
                }
                let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
                (!had_errors).then_some(text)
            }
        }
    }
}

/// Where each [`Column`] sits in a file's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    index: [Option<usize>; Column::EVERY.len()],
    /// The header each column was read from (for messages).
    header: [Option<String>; Column::EVERY.len()],
    /// Number of fields per record.
    pub width: usize,
    /// Headers that name no known column (ignored, and reported).
    pub unknown: Vec<String>,
}

impl ColumnMap {
    /// Maps headers (English or Chinese) to columns. A column named twice is an error.
    pub fn from_headers<'a>(headers: impl IntoIterator<Item = &'a str>) -> Result<ColumnMap, String> {
        ColumnMap::from_headers_mapped(headers, None)
    }

    /// Maps headers to columns: by the mapping's word for a header when it has one, else by the
    /// built-in headers. A column filled twice is an error, and so is a header the mapping names that
    /// the file lacks.
    pub fn from_headers_mapped<'a>(
        headers: impl IntoIterator<Item = &'a str>,
        mapping: Option<&Mapping>,
    ) -> Result<ColumnMap, String> {
        let mut index = [None; Column::EVERY.len()];
        let mut header: [Option<String>; Column::EVERY.len()] = std::array::from_fn(|_| None);
        let mut unknown = Vec::new();
        let mut width = 0;
        let mut seen = std::collections::HashSet::new();
        for (i, h) in headers.into_iter().enumerate() {
            width = i + 1;
            seen.insert(crate::mapping::header_key(h));
            let column = match mapping.and_then(|m| m.column_of(h)) {
                Some(mapped) => mapped,
                None => Column::from_header(h).filter(|c| {
                    // A built-in header of a column the mapping fills from another header is ignored.
                    mapping.is_none_or(|m| !m.headers().any(|(_, mc)| mc == Some(*c)))
                }),
            };
            match column {
                Some(c) if index[c as usize].is_some() => {
                    return Err(format!(
                        "column {} appears twice (headers {:?} and {h:?})",
                        c.name(),
                        header[c as usize].as_deref().unwrap_or_default()
                    ));
                }
                Some(c) => {
                    index[c as usize] = Some(i);
                    header[c as usize] = Some(h.trim().to_string());
                }
                None if h.trim().is_empty() => {}
                None => unknown.push(h.to_string()),
            }
        }
        if let Some(m) = mapping {
            let mut absent: Vec<&str> = m.headers().map(|(h, _)| h).filter(|h| !seen.contains(*h)).collect();
            absent.sort_unstable();
            if !absent.is_empty() {
                return Err(format!(
                    "the mapping {} names header(s) the file does not have: {}",
                    m.file,
                    absent.join(", ")
                ));
            }
        }
        Ok(ColumnMap {
            index,
            header,
            width,
            unknown,
        })
    }

    /// The identity map over [`Column::EVERY`] (records built in canonical order).
    pub fn canonical() -> ColumnMap {
        ColumnMap::from_headers(Column::EVERY.iter().map(|c| c.name())).expect("canonical headers are distinct")
    }

    /// The field index of a column, if the file has it.
    pub fn get(&self, column: Column) -> Option<usize> {
        self.index[column as usize]
    }

    /// "登记日期 (reported_at)": how messages name a column of this file.
    pub fn label(&self, column: Column) -> String {
        match &self.header[column as usize] {
            Some(h) if h != column.name() => format!("{h} ({})", column.name()),
            _ => column.name().to_string(),
        }
    }

    /// Required columns the file lacks entirely (and the mapping gives no constant for). A file must
    /// name a place: a village or grid code, unit names or an address, or points when `by_point`
    /// (the region has village polygons to place them in).
    pub fn missing_required(&self, mapping: Option<&Mapping>, by_point: bool) -> Vec<&'static str> {
        let has = |c: Column| self.get(c).is_some() || mapping.is_some_and(|m| m.default_of(c).is_some());
        let mut missing: Vec<&str> = Column::ALL
            .into_iter()
            .filter(|c| c.required() && !has(*c))
            .map(Column::name)
            .collect();
        let point = by_point && has(Column::Lng) && has(Column::Lat);
        if !point && !Column::EVERY.into_iter().any(|c| c.names_a_place() && has(c)) {
            missing.push("a place: village_code, grid_code, village_name, grid_name or address");
        }
        missing
    }
}

/// How to read a file: what the caller knows about it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions<'a> {
    /// Force a CSV encoding instead of sniffing it.
    pub encoding: Option<Encoding>,
    pub mapping: Option<&'a Mapping>,
    /// The sheet of a workbook (default: the mapping's, else the first).
    pub sheet: Option<&'a SheetRef>,
}

/// One record as read: its 1-based line number in the file (row number for Parquet) and its fields.
#[derive(Debug, Clone)]
pub struct RawRecord {
    pub line: u64,
    pub fields: ByteRecord,
}

/// A line that cannot be read as a record at all.
#[derive(Debug, Clone)]
pub struct Unreadable {
    pub line: u64,
    /// `truncated_line`, `too_many_fields` or `malformed_json`.
    pub reason: &'static str,
    pub message: String,
    pub raw: String,
}

/// A problem with the file as a whole (it cannot be opened, has no header, lacks required columns).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct FileProblem {
    pub line: u64,
    pub message: String,
}

/// A source of records.
pub trait RecordSource: Send {
    /// The column layout of the records.
    fn columns(&self) -> &ColumnMap;
    /// The encoding of the fields' bytes.
    fn encoding(&self) -> Encoding;
    /// Reads up to `max` records into `out` (cleared first), with unreadable lines into `bad`.
    /// Returns false at the end of the input.
    fn read_chunk(
        &mut self,
        max: usize,
        out: &mut Vec<RawRecord>,
        bad: &mut Vec<Unreadable>,
    ) -> Result<bool, FileProblem>;
    /// Bytes (or rows, for Parquet and workbooks) consumed so far, for progress.
    fn position(&self) -> u64;
    /// The sheet read, for a workbook.
    fn sheet(&self) -> Option<&str> {
        None
    }
}

/// Opens a file with the reader its extension names.
pub fn open(path: &Path, opts: &ReadOptions<'_>) -> Result<(Box<dyn RecordSource>, u64), FileProblem> {
    let problem = |message: String| FileProblem { line: 0, message };
    let format = InputFormat::from_path(path).ok_or_else(|| {
        problem("unknown file type: expected .csv, .ndjson/.jsonl, .parquet or .xlsx/.xls/.ods".to_string())
    })?;
    let encoding = opts.encoding.or(opts.mapping.and_then(|m| m.encoding));
    let header_row = opts.mapping.and_then(|m| m.header_row);
    match format {
        InputFormat::Csv => {
            let file = File::open(path).map_err(|e| problem(e.to_string()))?;
            let size = file.metadata().map(|m| m.len()).unwrap_or(0);
            Ok((
                Box::new(CsvSource::with_header_row(file, encoding, opts.mapping, header_row)?),
                size,
            ))
        }
        InputFormat::Ndjson => {
            let file = File::open(path).map_err(|e| problem(e.to_string()))?;
            let size = file.metadata().map(|m| m.len()).unwrap_or(0);
            Ok((Box::new(NdjsonSource::with_mapping(file, opts.mapping)), size))
        }
        InputFormat::Parquet => {
            let source = ParquetSource::new(path, opts.mapping)?;
            let rows = source.rows;
            Ok((Box::new(source), rows))
        }
        InputFormat::Workbook => {
            let sheet = opts.sheet.or(opts.mapping.and_then(|m| m.sheet.as_ref()));
            let source = crate::workbook::SheetSource::open(path, sheet, opts.mapping, header_row)?;
            let rows = source.rows();
            Ok((Box::new(source), rows))
        }
    }
}

/// CSV with a header row, in UTF-8 (optionally with a BOM) or GB18030.
pub struct CsvSource {
    reader: csv::Reader<NewlineCounter<Box<dyn Read + Send>>>,
    columns: ColumnMap,
    encoding: Encoding,
    newlines: Arc<Mutex<NewlineQueue>>,
}

/// Offsets of the newlines the CSV parser has read past but no record has been numbered beyond.
/// (The csv crate's own line numbers skip blank lines; byte offsets are exact, so lines are counted
/// from them.)
#[derive(Default)]
struct NewlineQueue {
    /// Offset of each `\n`, and whether a `\r` comes just before it.
    offsets: VecDeque<(u64, bool)>,
    counted: u64,
}

impl NewlineQueue {
    /// The 1-based line of a record the parser says starts at `offset` (non-decreasing between
    /// calls). The parser's offset is where it started looking, so blank lines it skipped (`\n` or
    /// `\r\n` right at the cursor) belong before the record.
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut cursor = offset;
        while let Some(&(o, cr)) = self.offsets.front() {
            if o < cursor {
                self.offsets.pop_front();
                self.counted += 1;
            } else if o == cursor || (cr && o == cursor + 1) {
                self.offsets.pop_front();
                self.counted += 1;
                cursor = o + 1;
            } else {
                break;
            }
        }
        self.counted + 1
    }
}

/// A reader that notes the offset of every newline passing through it.
struct NewlineCounter<R> {
    inner: R,
    offset: u64,
    last: u8,
    queue: Arc<Mutex<NewlineQueue>>,
}

impl<R: Read> Read for NewlineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut queue = self.queue.lock().expect("not poisoned");
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\n' {
                let cr = if i == 0 {
                    self.last == b'\r'
                } else {
                    buf[i - 1] == b'\r'
                };
                queue.offsets.push_back((self.offset + i as u64, cr));
            }
        }
        if n > 0 {
            self.last = buf[n - 1];
        }
        self.offset += n as u64;
        Ok(n)
    }
}

impl CsvSource {
    pub fn new<R: Read + Send + 'static>(inner: R, encoding: Option<Encoding>) -> Result<CsvSource, FileProblem> {
        CsvSource::with_header_row(inner, encoding, None, None)
    }

    /// A CSV source whose headers are read at `header_row` (1-based; default 1) and mapped by
    /// `mapping`.
    pub fn with_header_row<R: Read + Send + 'static>(
        inner: R,
        encoding: Option<Encoding>,
        mapping: Option<&Mapping>,
        header_row: Option<u32>,
    ) -> Result<CsvSource, FileProblem> {
        let mut buffered = BufReader::with_capacity(1 << 16, inner);
        let sample = buffered.fill_buf().map_err(|e| FileProblem {
            line: 1,
            message: e.to_string(),
        })?;
        let encoding = encoding.unwrap_or_else(|| Encoding::sniff(sample));
        let newlines = Arc::new(Mutex::new(NewlineQueue::default()));
        let boxed: Box<dyn Read + Send> = Box::new(buffered);
        let counter = NewlineCounter {
            inner: boxed,
            offset: 0,
            last: 0,
            queue: newlines.clone(),
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(counter);
        let mut header = ByteRecord::new();
        let header_line = header_row.unwrap_or(1) as u64;
        loop {
            let read = reader.read_byte_record(&mut header).map_err(|e| FileProblem {
                line: header_line,
                message: format!("cannot read the header: {e}"),
            })?;
            if !read {
                return Err(FileProblem {
                    line: header_line,
                    message: "no header row: the file ends before it".into(),
                });
            }
            let byte = header.position().map_or(0, |p| p.byte());
            if newlines.lock().expect("not poisoned").line_at(byte) >= header_line {
                break;
            }
        }
        let names = header
            .iter()
            .map(|h| encoding.decode(h).map(|s| s.into_owned()))
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| FileProblem {
                line: header_line,
                message: "the header row is not valid text in the file's encoding".into(),
            })?;
        let columns = ColumnMap::from_headers_mapped(names.iter().map(String::as_str), mapping).map_err(|message| {
            FileProblem {
                line: header_line,
                message,
            }
        })?;
        Ok(CsvSource {
            reader,
            columns,
            encoding,
            newlines,
        })
    }
}

/// Writes a record back as one CSV line (what `rejected.raw` keeps), decoding it lossily.
pub fn record_to_text(fields: &ByteRecord, encoding: Encoding) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let decoded: Vec<String> = fields
        .iter()
        .map(|f| match encoding {
            Encoding::Utf8 => String::from_utf8_lossy(f).into_owned(),
            Encoding::Gb18030 => encoding_rs::GB18030.decode_without_bom_handling(f).0.into_owned(),
        })
        .collect();
    let _ = writer.write_record(&decoded);
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).trim_end_matches('\n').to_string()
}

impl RecordSource for CsvSource {
    fn columns(&self) -> &ColumnMap {
        &self.columns
    }

    fn encoding(&self) -> Encoding {
        self.encoding
    }

    fn read_chunk(
        &mut self,
        max: usize,
        out: &mut Vec<RawRecord>,
        bad: &mut Vec<Unreadable>,
    ) -> Result<bool, FileProblem> {
        out.clear();
        let mut record = ByteRecord::new();
        while out.len() < max {
            match self.reader.read_byte_record(&mut record) {
                Ok(false) => return Ok(false),
                Ok(true) => {
                    let byte = record.position().map_or(0, |p| p.byte());
                    let line = self.newlines.lock().expect("not poisoned").line_at(byte);
                    if record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty()) {
                        continue; // blank line
                    }
                    if record.len() != self.columns.width {
                        let (reason, what) = if record.len() < self.columns.width {
                            ("truncated_line", "truncated line?")
                        } else {
                            ("too_many_fields", "an unquoted comma?")
                        };
                        bad.push(Unreadable {
                            line,
                            reason,
                            message: format!(
                                "line has {} fields, the header has {} ({what})",
                                record.len(),
                                self.columns.width
                            ),
                            raw: record_to_text(&record, self.encoding),
                        });
                        continue;
                    }
                    out.push(RawRecord {
                        line,
                        fields: std::mem::take(&mut record),
                    });
                }
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    return Err(FileProblem {
                        line,
                        message: format!("unreadable CSV: {e}"),
                    });
                }
            }
        }
        Ok(true)
    }

    fn position(&self) -> u64 {
        self.reader.position().byte()
    }
}

/// Newline-delimited JSON: one object per line, keys being column headers (English or Chinese).
pub struct NdjsonSource {
    lines: BufReader<File>,
    line: u64,
    bytes: u64,
    columns: ColumnMap,
    buf: Vec<u8>,
    mapping: Option<Mapping>,
}

impl NdjsonSource {
    pub fn new(file: File) -> NdjsonSource {
        NdjsonSource::with_mapping(file, None)
    }

    /// An NDJSON source whose keys are mapped by `mapping` (else the built-in headers).
    pub fn with_mapping(file: File, mapping: Option<&Mapping>) -> NdjsonSource {
        NdjsonSource {
            lines: BufReader::with_capacity(1 << 16, file),
            line: 0,
            bytes: 0,
            columns: ColumnMap::canonical(),
            buf: Vec::new(),
            mapping: mapping.cloned(),
        }
    }

    fn parse(&self, text: &str) -> Result<ByteRecord, String> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("malformed JSON: {e}"))?;
        let object = value.as_object().ok_or("a line must hold one JSON object")?;
        let mut fields: Vec<String> = vec![String::new(); Column::EVERY.len()];
        for (key, value) in object {
            let column = match self.mapping.as_ref().and_then(|m| m.column_of(key)) {
                Some(mapped) => mapped,
                None => Column::from_header(key),
            };
            let Some(column) = column else {
                continue;
            };
            fields[column as usize] = match value {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
        }
        Ok(ByteRecord::from(fields))
    }
}

impl RecordSource for NdjsonSource {
    fn columns(&self) -> &ColumnMap {
        &self.columns
    }

    fn encoding(&self) -> Encoding {
        Encoding::Utf8
    }

    fn read_chunk(
        &mut self,
        max: usize,
        out: &mut Vec<RawRecord>,
        bad: &mut Vec<Unreadable>,
    ) -> Result<bool, FileProblem> {
        out.clear();
        while out.len() < max {
            self.buf.clear();
            let n = self.lines.read_until(b'\n', &mut self.buf).map_err(|e| FileProblem {
                line: self.line + 1,
                message: e.to_string(),
            })?;
            if n == 0 {
                return Ok(false);
            }
            self.line += 1;
            self.bytes += n as u64;
            let raw = String::from_utf8_lossy(&self.buf).trim_end().to_string();
            let Ok(text) = std::str::from_utf8(&self.buf) else {
                bad.push(Unreadable {
                    line: self.line,
                    reason: "bad_encoding",
                    message: "line is not valid UTF-8".into(),
                    raw,
                });
                continue;
            };
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            match self.parse(text) {
                Ok(fields) => out.push(RawRecord {
                    line: self.line,
                    fields,
                }),
                Err(message) => bad.push(Unreadable {
                    line: self.line,
                    reason: if self.buf.ends_with(b"\n") {
                        "malformed_json"
                    } else {
                        "truncated_line"
                    },
                    message,
                    raw,
                }),
            }
        }
        Ok(true)
    }

    fn position(&self) -> u64 {
        self.bytes
    }
}

/// Parquet, read through DuckDB with every column cast to text (so one validator serves all formats).
///
/// A thread of its own owns the DuckDB connection and sends the result's Arrow batches (~2k rows
/// each) through a bounded channel: a file of any size is read with at most [`PARQUET_BATCHES`]
/// batches in memory (a 100-million-row file held whole would be ~35 GB of text).
pub struct ParquetSource {
    batches: std::sync::mpsc::Receiver<Result<duckdb::arrow::record_batch::RecordBatch, String>>,
    columns: ColumnMap,
    rows: u64,
    row: u64,
}

/// Batches read ahead of the validator.
const PARQUET_BATCHES: usize = 32;

impl ParquetSource {
    pub fn new(path: &Path, mapping: Option<&Mapping>) -> Result<ParquetSource, FileProblem> {
        let problem = |message: String| FileProblem { line: 0, message };
        let conn = duckdb::Connection::open_in_memory().map_err(|e| problem(e.to_string()))?;
        let file = path.display().to_string().replace('\'', "''");
        let names: Vec<String> = conn
            .prepare(&format!(
                "SELECT name FROM parquet_schema('{file}') WHERE num_children IS NULL"
            ))
            .and_then(|mut s| s.query_map([], |r| r.get::<_, String>(0))?.collect())
            .map_err(|e| problem(format!("not a readable Parquet file: {e}")))?;
        let columns = ColumnMap::from_headers_mapped(names.iter().map(String::as_str), mapping).map_err(problem)?;
        let rows: i64 = conn
            .query_row(&format!("SELECT count(*) FROM read_parquet('{file}')"), [], |r| {
                r.get(0)
            })
            .map_err(|e| problem(format!("not a readable Parquet file: {e}")))?;
        let select = names
            .iter()
            .map(|n| format!("CAST(\"{}\" AS VARCHAR)", n.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("SELECT {select} FROM read_parquet('{file}')");
        // Fail here, with the file's name, if the query cannot run at all.
        conn.prepare(&sql).map_err(|e| problem(e.to_string()))?;
        let (send, batches) = std::sync::mpsc::sync_channel(PARQUET_BATCHES);
        std::thread::spawn(move || {
            let mut stmt = match conn.prepare(&sql) {
                Ok(stmt) => stmt,
                Err(e) => return send.send(Err(e.to_string())).unwrap_or(()),
            };
            // Batches are fetched as they are sent; the stream panics on a failed fetch, which
            // must reach the reader as an error, not as the end of the file.
            let streamed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                match stmt.stream_arrow([]) {
                    // A closed channel means the reader stopped: stop reading too.
                    Ok(result) => {
                        for batch in result {
                            if send.send(Ok(batch)).is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) => send.send(Err(e.to_string())).unwrap_or(()),
                }
            }));
            if streamed.is_err() {
                send.send(Err("reading the Parquet file failed part-way".to_string()))
                    .unwrap_or(());
            }
        });
        Ok(ParquetSource {
            batches,
            columns,
            rows: rows as u64,
            row: 0,
        })
    }
}

impl RecordSource for ParquetSource {
    fn columns(&self) -> &ColumnMap {
        &self.columns
    }

    fn encoding(&self) -> Encoding {
        Encoding::Utf8
    }

    fn read_chunk(
        &mut self,
        max: usize,
        out: &mut Vec<RawRecord>,
        _bad: &mut Vec<Unreadable>,
    ) -> Result<bool, FileProblem> {
        use duckdb::arrow::array::{Array, AsArray};
        out.clear();
        while out.len() < max {
            let batch = match self.batches.recv() {
                Ok(Ok(batch)) => batch,
                Ok(Err(message)) => {
                    return Err(FileProblem {
                        line: self.row + 1,
                        message,
                    })
                }
                // The reading thread is done: every batch was read, or the file ended early.
                Err(_) if self.row == self.rows => return Ok(false),
                Err(_) => {
                    return Err(FileProblem {
                        line: self.row + 1,
                        message: format!("the file ended after row {} of {}", self.row, self.rows),
                    })
                }
            };
            let arrays: Vec<_> = batch.columns().iter().map(|c| c.as_string::<i32>().clone()).collect();
            for i in 0..batch.num_rows() {
                self.row += 1;
                let mut fields = ByteRecord::new();
                for a in &arrays {
                    fields.push_field(if a.is_null(i) { b"" } else { a.value(i).as_bytes() });
                }
                out.push(RawRecord { line: self.row, fields });
            }
        }
        Ok(true)
    }

    fn position(&self) -> u64 {
        self.row
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_gb18030_and_utf8() {
        let text = "案件编号,受理时间\nA1,2026-10-01\n";
        let (gbk, _, _) = encoding_rs::GB18030.encode(text);
        assert_eq!(Encoding::sniff(text.as_bytes()), Encoding::Utf8);
        assert_eq!(Encoding::sniff(&gbk), Encoding::Gb18030);
        // A UTF-8 sample cut inside a character is still UTF-8.
        assert_eq!(Encoding::sniff(&text.as_bytes()[..4]), Encoding::Utf8);
        assert_eq!(Encoding::Gb18030.decode(&gbk).unwrap(), text);
        assert!(Encoding::Utf8.decode(&gbk).is_none());
        // A GB18030 sample cut inside a character is still GB18030.
        assert_eq!(Encoding::sniff(&gbk[..gbk.len() - 6]), Encoding::Gb18030);
        assert_eq!(Encoding::sniff(&gbk[..9]), Encoding::Gb18030);
    }

    #[test]
    fn maps_chinese_headers_and_reports_unknown_ones() {
        let map = ColumnMap::from_headers(["案件编号", "受理时间", "备注", "village_code"]).unwrap();
        assert_eq!(map.get(Column::CaseId), Some(0));
        assert_eq!(map.get(Column::VillageCode), Some(3));
        assert_eq!(map.unknown, ["备注"]);
        assert!(map.missing_required(None, false).contains(&"class"));
        assert!(ColumnMap::from_headers(["case_id", "案件编号"]).is_err());
    }

    #[test]
    fn csv_lines_of_the_wrong_width_are_unreadable_and_the_rest_read() {
        let text = "case_id,class\nA,dispute\nB\nC,dispute,extra\n\nD,livelihood\n\"E\nmore\",x\r\n\r\nF,y\nG,z";
        let mut source = CsvSource::new(std::io::Cursor::new(text.as_bytes().to_vec()), None).unwrap();
        let (mut out, mut bad) = (Vec::new(), Vec::new());
        source.read_chunk(100, &mut out, &mut bad).unwrap();
        let lines: Vec<u64> = out.iter().map(|r| r.line).collect();
        // Line numbers count blank lines and the lines inside quoted fields.
        assert_eq!(lines, [2, 6, 7, 10, 11]);
        assert_eq!(bad.len(), 2);
        assert_eq!((bad[0].line, bad[0].reason), (3, "truncated_line"));
        assert_eq!((bad[1].line, bad[1].reason), (4, "too_many_fields"));
        assert_eq!(bad[1].raw, "C,dispute,extra");
    }
}
