//! Writing cases as CSV, NDJSON or Parquet (through a temporary CSV that DuckDB converts).

use std::fmt::Write as _;
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use fengqiao_ingest::schema::Column;
use fengqiao_ingest::time::format_datetime;
use fengqiao_ingest::Region;

use crate::cases::Case;
use crate::names::summary;
use crate::space::Places;
use crate::targets::COORDINATE_DECIMALS;
use crate::HeaderLanguage;

/// The prefix of every case id (`CZ` + yyyymmdd + 7-digit sequence within the day).
pub const CASE_ID_PREFIX: &str = "CZ";

/// An output format, chosen by the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// `.csv`: UTF-8, a header row, the columns in canonical order.
    Csv,
    /// `.ndjson` or `.jsonl`: one object per line, absent values omitted.
    Ndjson,
    /// `.parquet`: typed columns (timestamps as TIMESTAMP, coordinates as DOUBLE, the rest VARCHAR).
    Parquet,
}

impl OutputFormat {
    /// The format of `path` by its extension (case-insensitive), if it is one of ours.
    pub fn from_path(path: &Path) -> Option<OutputFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(OutputFormat::Csv),
            "ndjson" | "jsonl" => Some(OutputFormat::Ndjson),
            "parquet" => Some(OutputFormat::Parquet),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            OutputFormat::Csv => "csv",
            OutputFormat::Ndjson => "ndjson",
            OutputFormat::Parquet => "parquet",
        }
    }
}

/// The id of case `seq` of `date`.
pub fn case_id(date: NaiveDate, seq: u32) -> String {
    let mut s = String::with_capacity(17);
    push_case_id(&mut s, date, seq);
    s
}

fn push_case_id(out: &mut String, date: NaiveDate, seq: u32) {
    let _ = write!(
        out,
        "{CASE_ID_PREFIX}{:04}{:02}{:02}{seq:07}",
        date.year(),
        date.month(),
        date.day()
    );
}

/// The header of `column` in `language`.
pub fn header(column: Column, language: HeaderLanguage) -> &'static str {
    match language {
        HeaderLanguage::English => column.name(),
        HeaderLanguage::Chinese => column.zh(),
    }
}

/// The header row of a CSV file.
pub fn csv_header(language: HeaderLanguage) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(Column::ALL.map(|c| header(c, language)))
        .expect("writing to memory");
    w.into_inner().expect("writing to memory")
}

/// The text of every column of a case, concatenated into one buffer with the end of each field.
struct Fields {
    text: String,
    ends: [usize; Column::ALL.len()],
}

impl Fields {
    fn new() -> Fields {
        Fields {
            text: String::with_capacity(512),
            ends: [0; Column::ALL.len()],
        }
    }

    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    fn fill(&mut self, case: &Case, date: NaiveDate, region: &Region, places: &Places) {
        self.text.clear();
        let place = &places.places[case.place as usize];
        let code = |id: u32| region.units[id as usize].code.as_str();
        let name = case.party.name();
        for (i, column) in Column::ALL.into_iter().enumerate() {
            let t = &mut self.text;
            match column {
                Column::CaseId => push_case_id(t, date, case.seq),
                Column::ReportedAt => t.push_str(&format_datetime(case.reported)),
                Column::Class => t.push_str(case.class.code()),
                Column::Category => t.push_str(case.category.code()),
                Column::Severity => t.push_str(case.severity.code()),
                Column::Channel => t.push_str(case.channel.code()),
                Column::Status => t.push_str(case.status.code()),
                Column::CountyCode => t.push_str(code(place.lineage.county)),
                Column::TownshipCode => t.push_str(code(place.lineage.township)),
                Column::VillageCode => t.push_str(code(place.lineage.village)),
                Column::GridCode => {
                    if let (true, Some(g)) = (case.grid_recorded, place.grid) {
                        t.push_str(code(g));
                    }
                }
                Column::Lng => {
                    if let Some((x, _, _)) = case.coords {
                        let _ = write!(t, "{x:.COORDINATE_DECIMALS$}");
                    }
                }
                Column::Lat => {
                    if let Some((_, y, _)) = case.coords {
                        let _ = write!(t, "{y:.COORDINATE_DECIMALS$}");
                    }
                }
                Column::Crs => {
                    if let Some((_, _, crs)) = case.coords {
                        t.push_str(crs.code());
                    }
                }
                Column::RepliedAt => {
                    if let Some(r) = case.replied {
                        t.push_str(&format_datetime(r));
                    }
                }
                Column::ClosedAt => {
                    if let Some(c) = case.closed {
                        t.push_str(&format_datetime(c));
                    }
                }
                Column::UpdatedAt => t.push_str(&format_datetime(case.updated)),
                Column::Satisfaction => {
                    if let Some(s) = case.satisfaction {
                        t.push_str(s.code());
                    }
                }
                Column::RepeatOf => {
                    if let Some((d, seq)) = case.repeat_of {
                        push_case_id(t, d, seq);
                    }
                }
                Column::PartyName => t.push_str(&name),
                Column::PartyPhone => t.push_str(&case.party.phone()),
                Column::Summary => t.push_str(&summary(case.category, case.summary_variant, &name)),
                // Places by name and address are what foreign exports have; the generator writes codes.
                Column::CountyName
                | Column::TownshipName
                | Column::VillageName
                | Column::GridName
                | Column::Address => {}
            }
            self.ends[i] = t.len();
        }
    }
}

/// The rows of one day in `format` (`Parquet` writes CSV: it is converted at the end).
pub fn serialize_day(
    cases: &[Case],
    date: NaiveDate,
    format: OutputFormat,
    language: HeaderLanguage,
    region: &Region,
    places: &Places,
) -> Vec<u8> {
    let mut fields = Fields::new();
    match format {
        OutputFormat::Csv | OutputFormat::Parquet => {
            let mut w = csv::Writer::from_writer(Vec::with_capacity(cases.len() * 400));
            for case in cases {
                fields.fill(case, date, region, places);
                w.write_record((0..Column::ALL.len()).map(|i| fields.get(i)))
                    .expect("writing to memory");
            }
            w.into_inner().expect("writing to memory")
        }
        OutputFormat::Ndjson => {
            let mut out = Vec::with_capacity(cases.len() * 600);
            for case in cases {
                fields.fill(case, date, region, places);
                out.push(b'{');
                let mut first = true;
                for (i, column) in Column::ALL.into_iter().enumerate() {
                    let value = fields.get(i);
                    if value.is_empty() {
                        continue;
                    }
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    serde_json::to_writer(&mut out, header(column, language)).expect("writing to memory");
                    out.push(b':');
                    if matches!(column, Column::Lng | Column::Lat) {
                        out.extend_from_slice(value.as_bytes());
                    } else {
                        serde_json::to_writer(&mut out, value).expect("writing to memory");
                    }
                }
                out.extend_from_slice(b"}\n");
            }
            out
        }
    }
}

/// Converts the CSV at `csv` (written by this module) to Parquet at `parquet`, each column typed as
/// the case schema declares it.
pub fn csv_to_parquet(csv: &Path, parquet: &Path, language: HeaderLanguage) -> Result<(), duckdb::Error> {
    let columns = Column::ALL.map(|c| (header(c, language), c.value().sql_type().sql()));
    fengqiao_ingest::parquet::csv_to_parquet(csv, parquet, Some(&columns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_the_extension() {
        assert_eq!(OutputFormat::from_path(Path::new("a/b.CSV")), Some(OutputFormat::Csv));
        assert_eq!(
            OutputFormat::from_path(Path::new("b.jsonl")),
            Some(OutputFormat::Ndjson)
        );
        assert_eq!(
            OutputFormat::from_path(Path::new("b.ndjson")),
            Some(OutputFormat::Ndjson)
        );
        assert_eq!(
            OutputFormat::from_path(Path::new("b.parquet")),
            Some(OutputFormat::Parquet)
        );
        assert_eq!(OutputFormat::from_path(Path::new("b.xlsx")), None);
        assert_eq!(OutputFormat::from_path(Path::new("csv")), None);
    }

    #[test]
    fn ids_and_headers() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 7).unwrap();
        assert_eq!(case_id(d, 42), "CZ202603070000042");
        let h = String::from_utf8(csv_header(HeaderLanguage::Chinese)).unwrap();
        assert!(h.starts_with("案件编号,受理时间,"), "{h}");
        assert_eq!(h.trim_end().split(',').count(), Column::ALL.len());
    }
}
