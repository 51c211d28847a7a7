//! Shared by the generator's integration tests: the default region and generated data sets, each
//! built once per test binary, and a typed reader of the CSV output.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use chrono::{NaiveDate, NaiveDateTime};
use fengqiao_generator::truth::Truth;
use fengqiao_generator::{generate, truth_path, GenerateOptions};
use fengqiao_ingest::coords::Crs;
use fengqiao_ingest::model::{CaseClass, Category, Channel, Satisfaction, Severity, Status};
use fengqiao_ingest::schema::Column;
use fengqiao_ingest::time::parse_datetime;
use fengqiao_ingest::Region;
use h3o::{CellIndex, LatLng, Resolution};

/// The default region, loaded once per test binary.
pub fn region() -> &'static Region {
    static REGION: OnceLock<Region> = OnceLock::new();
    REGION.get_or_init(Region::chenzhou)
}

/// One row of a generated CSV, parsed.
#[derive(Debug, Clone)]
pub struct Row {
    pub case_id: String,
    pub reported_at: NaiveDateTime,
    pub class: CaseClass,
    pub category: Category,
    pub severity: Severity,
    pub channel: Channel,
    pub status: Status,
    pub county_code: String,
    pub township_code: String,
    pub village_code: String,
    pub grid_code: Option<String>,
    /// As written, with its CRS.
    pub coords: Option<(f64, f64, Crs)>,
    /// Converted back to WGS84.
    pub wgs84: Option<(f64, f64)>,
    /// The res-8 cell of `wgs84`.
    pub cell8: Option<CellIndex>,
    pub replied_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
    pub satisfaction: Option<Satisfaction>,
    pub repeat_of: Option<String>,
    pub party_name: String,
    pub party_phone: String,
    pub summary: String,
}

impl Row {
    pub fn date(&self) -> NaiveDate {
        self.reported_at.date()
    }
}

/// The raw fields of every row of a CSV, by English column name, in file order.
pub fn read_raw(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (headers, rows)
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn time(s: &str) -> Option<NaiveDateTime> {
    (!s.is_empty()).then(|| parse_datetime(s).unwrap_or_else(|| panic!("bad time {s:?}")))
}

/// Parses a generated CSV (English headers in canonical order).
pub fn read_rows(path: &Path) -> Vec<Row> {
    let (headers, raw) = read_raw(path);
    let expected: Vec<&str> = Column::ALL.iter().map(|c| c.name()).collect();
    assert_eq!(headers, expected, "header row");
    raw.into_iter()
        .map(|f| {
            let get = |c: Column| f[c as usize].as_str();
            let coords = match (get(Column::Lng), get(Column::Lat), get(Column::Crs)) {
                ("", "", "") => None,
                (x, y, crs) => Some((x.parse().unwrap(), y.parse().unwrap(), crs.parse::<Crs>().unwrap())),
            };
            let wgs84 = coords.map(|(x, y, crs): (f64, f64, Crs)| crs.to_wgs84(x, y));
            Row {
                case_id: get(Column::CaseId).to_string(),
                reported_at: time(get(Column::ReportedAt)).unwrap(),
                class: get(Column::Class).parse().unwrap(),
                category: get(Column::Category).parse().unwrap(),
                severity: get(Column::Severity).parse().unwrap(),
                channel: get(Column::Channel).parse().unwrap(),
                status: get(Column::Status).parse().unwrap(),
                county_code: get(Column::CountyCode).to_string(),
                township_code: get(Column::TownshipCode).to_string(),
                village_code: get(Column::VillageCode).to_string(),
                grid_code: opt(get(Column::GridCode)),
                coords,
                wgs84,
                cell8: wgs84.map(|(x, y)| LatLng::new(y, x).unwrap().to_cell(Resolution::Eight)),
                replied_at: time(get(Column::RepliedAt)),
                closed_at: time(get(Column::ClosedAt)),
                updated_at: time(get(Column::UpdatedAt)).unwrap(),
                satisfaction: opt(get(Column::Satisfaction)).map(|s| s.parse().unwrap()),
                repeat_of: opt(get(Column::RepeatOf)),
                party_name: get(Column::PartyName).to_string(),
                party_phone: get(Column::PartyPhone).to_string(),
                summary: get(Column::Summary).to_string(),
            }
        })
        .collect()
}

/// A generated data set kept for the whole test binary (in memory: a static is never dropped, so a
/// directory kept in one would outlive every run).
pub struct DataSet {
    /// The generated CSV file's text.
    pub csv: String,
    /// The truth file's text.
    pub truth_json: String,
    pub truth: Truth,
    pub rows: Vec<Row>,
    pub by_id: HashMap<String, usize>,
}

/// Generates `opts` into a fresh directory as `name` and reads it back.
pub fn build(opts: &GenerateOptions, name: &str) -> DataSet {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let summary = generate(region(), opts, &path).unwrap();
    let truth = Truth::read(&truth_path(&path)).unwrap();
    let rows = read_rows(&path);
    assert_eq!(summary.cases, rows.len() as u64);
    let by_id = rows.iter().enumerate().map(|(i, r)| (r.case_id.clone(), i)).collect();
    DataSet {
        csv: std::fs::read_to_string(&path).unwrap(),
        truth_json: std::fs::read_to_string(truth_path(&path)).unwrap(),
        truth,
        rows,
        by_id,
    }
}

/// The default data set: 12 months ending 2026-10-31, seed 42.
pub fn year() -> &'static DataSet {
    static DATA: OnceLock<DataSet> = OnceLock::new();
    DATA.get_or_init(|| build(&GenerateOptions::default(), "cases.csv"))
}

/// Share of `rows` for which `f` holds.
pub fn share<T>(rows: &[T], f: impl Fn(&T) -> bool) -> f64 {
    rows.iter().filter(|r| f(r)).count() as f64 / rows.len() as f64
}
