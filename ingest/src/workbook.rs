//! Workbooks (XLSX, XLSM, XLSB, XLS, ODS, read by calamine): one sheet as rows of text, numbered as
//! the spreadsheet numbers them, for the case ingest ([`SheetSource`]) and the region import's unit
//! tables ([`read_sheet`]).
//!
//! Cells become the text an export would have written: dates as `2026-10-31 14:23:05`, whole numbers
//! without a decimal point (codes are often stored as numbers), other numbers as Rust prints them.

use std::path::Path;

use calamine::{open_workbook_auto, Data, Reader};
use csv::ByteRecord;

use crate::mapping::{Mapping, SheetRef};
use crate::read::{ColumnMap, Encoding, FileProblem, RawRecord, RecordSource, Unreadable};
use crate::schema::Column;

/// How many rows are searched for the header row when no mapping says where it is.
const HEADER_SEARCH_ROWS: usize = 20;

/// One sheet's rows: its name and (1-based row number, cells as text) for every non-empty row.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub name: String,
    pub rows: Vec<(u64, Vec<String>)>,
}

/// The text of a cell.
pub fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => match d.as_datetime() {
            Some(t) if d.is_duration() => t.format("%H:%M:%S").to_string(),
            Some(t) => crate::time::format_datetime(t),
            None => d.to_string(),
        },
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// Reads one sheet of a workbook (by name or 1-based number; default the first).
pub fn read_sheet(path: &Path, sheet: Option<&SheetRef>) -> Result<Sheet, String> {
    read_sheet_with(path, sheet, None)
}

/// How many of a row's cells name a column (by the mapping, else the built-in headers).
fn named_cells(cells: &[String], mapping: Option<&Mapping>) -> usize {
    cells
        .iter()
        .filter(|h| match mapping.and_then(|m| m.column_of(h)) {
            Some(c) => c.is_some(),
            None => Column::from_header(h).is_some(),
        })
        .count()
}

/// Reads one sheet: the one named, else the sheet whose header row names the most columns (the
/// first on a tie), so that a cover sheet before the data is passed over.
pub fn read_sheet_with(path: &Path, sheet: Option<&SheetRef>, mapping: Option<&Mapping>) -> Result<Sheet, String> {
    if sheet.is_none() {
        let names = open_workbook_auto(path)
            .map_err(|e| format!("not a readable workbook: {e}"))?
            .sheet_names();
        let mut best: Option<(usize, Sheet)> = None;
        for name in names {
            let s = read_sheet_with(path, Some(&SheetRef::Name(name)), mapping)?;
            let score = s
                .rows
                .iter()
                .take(HEADER_SEARCH_ROWS)
                .map(|(_, c)| named_cells(c, mapping))
                .max()
                .unwrap_or(0);
            if best.as_ref().is_none_or(|(b, _)| score > *b) {
                best = Some((score, s));
            }
        }
        return best.map(|(_, s)| s).ok_or_else(|| "the workbook has no sheets".into());
    }
    let mut workbook = open_workbook_auto(path).map_err(|e| format!("not a readable workbook: {e}"))?;
    let names = workbook.sheet_names();
    let name = match sheet {
        None => names.first().cloned().ok_or("the workbook has no sheets")?,
        Some(SheetRef::Index(i)) => names
            .get(*i as usize - 1)
            .cloned()
            .ok_or_else(|| format!("no sheet {i}: the workbook has {} ({})", names.len(), names.join(", ")))?,
        Some(SheetRef::Name(n)) => names
            .iter()
            .find(|s| s.trim() == n.trim())
            .cloned()
            .ok_or_else(|| format!("no sheet {n:?}: the workbook has {}", names.join(", ")))?,
    };
    let range = workbook
        .worksheet_range(&name)
        .map_err(|e| format!("sheet {name:?}: {e}"))?;
    let (row0, col0) = range.start().unwrap_or((0, 0));
    let rows = range
        .rows()
        .enumerate()
        .filter_map(|(i, row)| {
            let mut cells: Vec<String> = std::iter::repeat_n(String::new(), col0 as usize)
                .chain(row.iter().map(cell_text))
                .collect();
            while cells.last().is_some_and(|c| c.trim().is_empty()) {
                cells.pop();
            }
            (!cells.is_empty()).then_some((row0 as u64 + i as u64 + 1, cells))
        })
        .collect();
    Ok(Sheet { name, rows })
}

/// The index (into `rows`) of the header row: the row the mapping names, else the first of the
/// first rows with the most cells that name a column (at least two), else the first row.
pub fn header_index(
    rows: &[(u64, Vec<String>)],
    mapping: Option<&Mapping>,
    header_row: Option<u32>,
) -> Result<usize, String> {
    if let Some(r) = header_row {
        return rows
            .iter()
            .position(|(n, _)| *n == r as u64)
            .ok_or_else(|| format!("header row {r} is empty or beyond the sheet"));
    }
    let best = rows
        .iter()
        .take(HEADER_SEARCH_ROWS)
        .enumerate()
        .map(|(i, (_, cells))| (named_cells(cells, mapping), std::cmp::Reverse(i)))
        .max();
    match best {
        Some((n, std::cmp::Reverse(i))) if n >= 2 => Ok(i),
        _ if rows.is_empty() => Err("the sheet is empty".into()),
        _ => Ok(0),
    }
}

/// Case records from one sheet of a workbook. The sheet is read whole (a sheet holds at most
/// 1,048,576 rows).
pub struct SheetSource {
    sheet: String,
    rows: std::vec::IntoIter<(u64, Vec<String>)>,
    total: u64,
    done: u64,
    columns: ColumnMap,
}

impl SheetSource {
    pub fn open(
        path: &Path,
        sheet: Option<&SheetRef>,
        mapping: Option<&Mapping>,
        header_row: Option<u32>,
    ) -> Result<SheetSource, FileProblem> {
        let problem = |line: u64, message: String| FileProblem { line, message };
        let Sheet { name, mut rows } = read_sheet_with(path, sheet, mapping).map_err(|m| problem(0, m))?;
        let at = header_index(&rows, mapping, header_row).map_err(|m| problem(0, format!("sheet {name:?}: {m}")))?;
        let (header_line, headers) = rows[at].clone();
        rows.drain(..=at);
        let columns = ColumnMap::from_headers_mapped(headers.iter().map(String::as_str), mapping)
            .map_err(|m| problem(header_line, format!("sheet {name:?}: {m}")))?;
        Ok(SheetSource {
            sheet: name,
            total: rows.len() as u64,
            rows: rows.into_iter(),
            done: 0,
            columns,
        })
    }

    /// Data rows (after the header).
    pub fn rows(&self) -> u64 {
        self.total
    }
}

impl RecordSource for SheetSource {
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
        let width = self.columns.width;
        while out.len() < max {
            let Some((line, mut cells)) = self.rows.next() else {
                return Ok(false);
            };
            self.done += 1;
            if cells.len() > width {
                if cells[width..].iter().all(|c| c.trim().is_empty()) {
                    cells.truncate(width);
                } else {
                    bad.push(Unreadable {
                        line,
                        reason: "too_many_fields",
                        message: format!("row has {} cells, the header has {width}", cells.len()),
                        raw: cells.join(","),
                    });
                    continue;
                }
            }
            cells.resize(width, String::new());
            out.push(RawRecord {
                line,
                fields: ByteRecord::from(cells),
            });
        }
        Ok(true)
    }

    fn position(&self) -> u64 {
        self.done
    }

    fn sheet(&self) -> Option<&str> {
        Some(&self.sheet)
    }
}
