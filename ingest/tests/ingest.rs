//! The load of case files into the store: every rejection reason, idempotence, updates, encodings
//! and formats.

use std::path::{Path, PathBuf};

use fengqiao_ingest::coords::Crs;
use fengqiao_ingest::{IngestOptions, Region, Store};

const HEADER: &str = "case_id,reported_at,class,category,severity,channel,status,county_code,township_code,village_code,grid_code,lng,lat,crs,replied_at,closed_at,updated_at,satisfaction,repeat_of,party_name,party_phone,summary";

// 北湖路社区 (431002001001) of 人民路街道, 北湖区, and its first grid; the grid's WGS84 point.
const GRID: &str = "431002001001001";
const VILLAGE: &str = "431002001001";
const GRID_WGS84: (f64, f64) = (112.908278, 25.728718);

struct Row {
    id: &'static str,
    reported: &'static str,
    class: &'static str,
    category: &'static str,
    status: &'static str,
    county: &'static str,
    township: &'static str,
    village: &'static str,
    grid: &'static str,
    lng: String,
    lat: String,
    crs: &'static str,
    closed: &'static str,
    summary: &'static str,
}

fn gcj() -> (String, String) {
    let (x, y) = Crs::Gcj02.from_wgs84(GRID_WGS84.0, GRID_WGS84.1);
    (format!("{x:.6}"), format!("{y:.6}"))
}

fn row(id: &'static str) -> Row {
    let (lng, lat) = gcj();
    Row {
        id,
        reported: "2026-10-12 09:30:00",
        class: "dispute",
        category: "neighbour",
        status: "closed",
        county: "431002",
        township: "431002001",
        village: VILLAGE,
        grid: GRID,
        lng,
        lat,
        crs: "gcj02",
        closed: "2026-10-14 16:00:00",
        summary: "（模拟）邻里噪音纠纷",
    }
}

impl Row {
    fn line(&self) -> String {
        format!(
            "{},{},{},{},general,walk_in,{},{},{},{},{},{},{},{},2026-10-12 10:00:00,{},,satisfied,,测试张某0001,19900000001,{}",
            self.id,
            self.reported,
            self.class,
            self.category,
            self.status,
            self.county,
            self.township,
            self.village,
            self.grid,
            self.lng,
            self.lat,
            self.crs,
            self.closed,
            self.summary
        )
    }
}

fn write(dir: &Path, name: &str, lines: &[Vec<u8>]) -> PathBuf {
    let path = dir.join(name);
    let mut bytes = Vec::new();
    for line in lines {
        bytes.extend_from_slice(line);
        bytes.push(b'\n');
    }
    std::fs::write(&path, bytes).unwrap();
    path
}

fn options() -> IngestOptions {
    let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    IngestOptions {
        now,
        ..IngestOptions::default()
    }
}

fn ingest(store: &mut Store, path: &Path) -> fengqiao_ingest::IngestReport {
    store
        .ingest_file(
            path,
            &Region::chenzhou(),
            &options(),
            &fengqiao_ingest::store::NoProgress,
        )
        .unwrap()
}

fn query<T: duckdb::types::FromSql>(store: &Store, sql: &str) -> Vec<T> {
    let mut stmt = store.conn().prepare(sql).unwrap();
    let rows = stmt.query_map([], |r| r.get::<_, T>(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

/// A digest of everything stored in `cases` but the provenance columns.
fn content_digest(store: &Store) -> String {
    let columns = fengqiao_ingest::schema::content_columns().join(", ");
    query::<String>(
        store,
        &format!("SELECT CAST(sum(hash(case_id, {columns})) AS VARCHAR) || ':' || count(*) FROM cases"),
    )
    .remove(0)
}

#[test]
fn every_rejection_reason_is_reported_and_the_good_rows_of_the_file_load() {
    let dir = tempfile::tempdir().unwrap();
    let mut good_no_coords = row("GOOD-2");
    (
        good_no_coords.lng,
        good_no_coords.lat,
        good_no_coords.crs,
        good_no_coords.grid,
    ) = (String::new(), String::new(), "", "");
    let mut good_chinese = row("GOOD-3");
    (good_chinese.class, good_chinese.category, good_chinese.status) = ("矛盾纠纷调解", "劳动争议", "已办结");
    (good_chinese.lng, good_chinese.lat, good_chinese.crs) =
        (GRID_WGS84.0.to_string(), GRID_WGS84.1.to_string(), "wgs84");

    let mut wrong_enum = row("BAD-ENUM");
    wrong_enum.category = "fishing";
    let mut unknown_village = row("BAD-VILLAGE");
    (unknown_village.village, unknown_village.grid) = ("431002001999", "");
    let mut swapped = row("BAD-SWAP");
    std::mem::swap(&mut swapped.lng, &mut swapped.lat);
    let mut outside = row("BAD-OUTSIDE");
    (outside.lng, outside.lat) = ("116.404".into(), "39.915".into());
    let mut closed_early = row("BAD-CLOSED");
    closed_early.closed = "2026-10-11 09:00:00";
    let mut missing = row("BAD-MISSING");
    missing.status = "";
    let mut future = row("BAD-FUTURE");
    future.reported = "2027-01-05 09:00:00";
    let mut mismatch = row("BAD-MISMATCH");
    mismatch.township = "431002002";
    let mut encoding = row("BAD-ENCODING").line().into_bytes();
    let at = encoding.len() - 3;
    encoding[at] = 0xff; // not UTF-8 in an otherwise UTF-8 file

    let lines = vec![
        HEADER.as_bytes().to_vec(),
        row("GOOD-1").line().into_bytes(),                                 // line 2
        good_no_coords.line().into_bytes(),                                // 3
        good_chinese.line().into_bytes(),                                  // 4
        wrong_enum.line().into_bytes(),                                    // 5
        unknown_village.line().into_bytes(),                               // 6
        swapped.line().into_bytes(),                                       // 7
        outside.line().into_bytes(),                                       // 8
        closed_early.line().into_bytes(),                                  // 9
        row("GOOD-1").line().into_bytes(),                                 // 10: duplicate id
        encoding,                                                          // 11
        missing.line().into_bytes(),                                       // 12
        future.line().into_bytes(),                                        // 13
        mismatch.line().into_bytes(),                                      // 14
        b"TRUNC-1,2026-10-12 09:30:00,dispute,neighbour,general".to_vec(), // 15
    ];
    let path = write(dir.path(), "fixture.csv", &lines);
    let mut store = Store::open(&dir.path().join("store.duckdb")).unwrap();
    let report = ingest(&mut store, &path);

    assert_eq!(report.rows_read, 14);
    assert_eq!(report.inserted, 3);
    assert_eq!(report.rejected, 11);
    let mut ids = query::<String>(&store, "SELECT case_id FROM cases ORDER BY case_id");
    ids.sort();
    assert_eq!(ids, ["GOOD-1", "GOOD-2", "GOOD-3"]);

    let rejected: Vec<(i64, Option<String>, String)> = {
        let mut stmt = store
            .conn()
            .prepare("SELECT line, field, reason FROM rejected ORDER BY line")
            .unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
        rows.map(Result::unwrap).collect()
    };
    let expected: Vec<(i64, Option<&str>, &str)> = vec![
        (5, Some("category"), "invalid_value"),
        (6, Some("village_code"), "unknown_code"),
        (7, Some("lat"), "lat_lng_swapped"),
        (8, Some("lng"), "outside_region"),
        (9, Some("closed_at"), "closed_before_reported"),
        (10, Some("case_id"), "duplicate_id"),
        (11, Some("summary"), "bad_encoding"),
        (12, Some("status"), "missing_field"),
        (13, Some("reported_at"), "future_date"),
        (14, Some("township_code"), "code_mismatch"),
        (15, None, "truncated_line"),
    ];
    let got: Vec<(i64, Option<&str>, &str)> = rejected
        .iter()
        .map(|(l, f, r)| (*l, f.as_deref(), r.as_str()))
        .collect();
    assert_eq!(got, expected);

    // Each rejected row keeps its file, a message and the raw row.
    let raw = query::<String>(&store, "SELECT raw FROM rejected WHERE line = 5");
    assert!(
        raw[0].starts_with("BAD-ENUM,2026-10-12 09:30:00,dispute,fishing"),
        "{}",
        raw[0]
    );
    let message = query::<String>(&store, "SELECT message FROM rejected WHERE line = 5").remove(0);
    assert!(
        message.contains("fishing") && message.contains("neighbour"),
        "{message}"
    );
    let files = query::<String>(&store, "SELECT DISTINCT file FROM rejected");
    assert_eq!(files, [path.display().to_string()]);
    assert_eq!(report.rejected_by_reason.values().sum::<u64>(), 11);
}

#[test]
fn positions_are_converted_to_wgs84_filled_from_units_and_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let mut village_only = row("V");
    (village_only.lng, village_only.lat, village_only.crs, village_only.grid) = (String::new(), String::new(), "", "");
    let mut grid_only = row("G");
    (grid_only.lng, grid_only.lat, grid_only.crs, grid_only.village) = (String::new(), String::new(), "", "");
    let mut bd09 = row("B");
    let (x, y) = Crs::Bd09.from_wgs84(GRID_WGS84.0, GRID_WGS84.1);
    (bd09.lng, bd09.lat, bd09.crs) = (format!("{x:.7}"), format!("{y:.7}"), "bd09");
    let lines: Vec<Vec<u8>> = [
        HEADER.to_string(),
        row("P").line(),
        village_only.line(),
        grid_only.line(),
        bd09.line(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    let path = write(dir.path(), "positions.csv", &lines);
    let mut store = Store::open_in_memory().unwrap();
    assert_eq!(ingest(&mut store, &path).inserted, 4);

    let region = Region::chenzhou();
    let village = region.unit(VILLAGE).unwrap();
    let get = |id: &str| -> (f64, f64, String, Option<String>, u64, Option<String>, String) {
        store
            .conn()
            .query_row(
                "SELECT lng, lat, geo_source, crs, h3, grid_code, county_code FROM cases WHERE case_id = ?",
                [id],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                },
            )
            .unwrap()
    };
    for (id, crs) in [("P", "gcj02"), ("B", "bd09")] {
        let (lng, lat, source, stored_crs, h3, _, county) = get(id);
        // Converted back to the WGS84 point within the 6-7 decimals the input carried (< 0.2 m).
        assert!(
            (lng - GRID_WGS84.0).abs() < 2e-6 && (lat - GRID_WGS84.1).abs() < 2e-6,
            "{id}: {lng},{lat}"
        );
        assert_eq!(
            (source.as_str(), stored_crs.as_deref(), county.as_str()),
            ("point", Some(crs), "431002")
        );
        let cell = h3o::CellIndex::try_from(h3).unwrap();
        assert_eq!(cell.resolution(), h3o::Resolution::Ten);
        assert_eq!(cell, h3o::LatLng::new(lat, lng).unwrap().to_cell(h3o::Resolution::Ten));
    }
    let (lng, lat, source, crs, _, grid, _) = get("V");
    assert_eq!(
        (lng, lat, source.as_str(), crs, grid),
        (village.lng, village.lat, "village", None, None)
    );
    let (lng, lat, source, _, _, _, _) = get("G");
    assert_eq!((lng, lat, source.as_str()), (GRID_WGS84.0, GRID_WGS84.1, "grid"));
    let village_of_grid = query::<String>(&store, "SELECT village_code FROM cases WHERE case_id = 'G'");
    assert_eq!(village_of_grid, [VILLAGE], "the village is derived from the grid");
}

#[test]
fn ingesting_the_same_file_twice_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<Vec<u8>> = std::iter::once(HEADER.to_string())
        .chain(["A", "B", "C"].map(|id| row(id).line()))
        .map(String::into_bytes)
        .collect();
    let path = write(dir.path(), "cases.csv", &lines);
    let mut store = Store::open(&dir.path().join("s.duckdb")).unwrap();
    let first = ingest(&mut store, &path);
    let digest = content_digest(&store);
    let second = ingest(&mut store, &path);
    assert_eq!((first.inserted, first.unchanged), (3, 0));
    assert_eq!(
        (second.inserted, second.updated, second.unchanged, second.stale),
        (0, 0, 3, 0)
    );
    assert_eq!(content_digest(&store), digest);
    assert_eq!(store.case_count().unwrap(), 3);
    assert_eq!(query::<i64>(&store, "SELECT count(*) FROM ingest_log"), [2]);
}

#[test]
fn a_newer_record_updates_the_case_and_an_older_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut open = row("X");
    (open.status, open.closed) = ("in_progress", "");
    let old = write(
        dir.path(),
        "old.csv",
        &[HEADER.into(), open.line().into_bytes(), row("Y").line().into_bytes()],
    );
    let new = write(dir.path(), "new.csv", &[HEADER.into(), row("X").line().into_bytes()]);
    let mut store = Store::open_in_memory().unwrap();
    ingest(&mut store, &old);
    assert_eq!(
        query::<String>(&store, "SELECT status FROM cases WHERE case_id = 'X'"),
        ["in_progress"]
    );

    let report = ingest(&mut store, &new);
    assert_eq!((report.inserted, report.updated, report.unchanged), (0, 1, 0));
    assert_eq!(
        query::<String>(&store, "SELECT status FROM cases WHERE case_id = 'X'"),
        ["closed"]
    );
    assert_eq!(
        query::<String>(
            &store,
            "SELECT CAST(closed_at AS VARCHAR) FROM cases WHERE case_id = 'X'"
        ),
        ["2026-10-14 16:00:00"]
    );
    assert_eq!(
        query::<String>(&store, "SELECT source_file FROM cases WHERE case_id = 'X'"),
        [new.display().to_string()]
    );

    // The older export arrives again: it is stale for X and changes nothing.
    let again = ingest(&mut store, &old);
    assert_eq!((again.stale, again.unchanged, again.updated), (1, 1, 0));
    assert_eq!(
        query::<String>(&store, "SELECT status FROM cases WHERE case_id = 'X'"),
        ["closed"]
    );
    assert_eq!(store.case_count().unwrap(), 2);
}

#[test]
fn gb18030_exports_with_chinese_headers_load_like_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let zh_header = fengqiao_ingest::schema::Column::ALL.map(|c| c.zh()).join(",");
    let mut a = row("A");
    (a.class, a.category, a.status) = ("民生诉求服务", "房产物业", "已办结");
    let text = format!("{zh_header}\r\n{}\r\n{}\r\n", a.line(), row("B").line());
    let (gbk, _, unmappable) = encoding_rs::GB18030.encode(&text);
    assert!(!unmappable);
    let gb_path = dir.path().join("export-gbk.csv");
    std::fs::write(&gb_path, &gbk).unwrap();
    let utf8_path = dir.path().join("export-utf8.csv");
    std::fs::write(&utf8_path, format!("\u{feff}{text}")).unwrap();

    let mut gb_store = Store::open_in_memory().unwrap();
    let mut utf8_store = Store::open_in_memory().unwrap();
    assert_eq!(ingest(&mut gb_store, &gb_path).inserted, 2);
    assert_eq!(ingest(&mut utf8_store, &utf8_path).inserted, 2);
    assert_eq!(content_digest(&gb_store), content_digest(&utf8_store));
    assert_eq!(
        query::<String>(
            &gb_store,
            "SELECT class || '/' || category || '/' || summary FROM cases WHERE case_id = 'A'"
        ),
        ["livelihood/property_mgmt/（模拟）邻里噪音纠纷"]
    );
}

#[test]
fn ndjson_and_parquet_load_the_same_cases_as_csv() {
    let dir = tempfile::tempdir().unwrap();
    let mut no_coords = row("B");
    (no_coords.lng, no_coords.lat, no_coords.crs) = (String::new(), String::new(), "");
    let csv_lines: Vec<Vec<u8>> = [HEADER.to_string(), row("A").line(), no_coords.line(), row("C").line()]
        .into_iter()
        .map(String::into_bytes)
        .collect();
    let csv_path = write(dir.path(), "cases.csv", &csv_lines);

    // NDJSON: the same records as objects (keys in English and Chinese, absent values omitted).
    let headers: Vec<&str> = HEADER.split(',').collect();
    let mut ndjson = String::new();
    for line in &csv_lines[1..] {
        let text = String::from_utf8(line.clone()).unwrap();
        let mut object = serde_json::Map::new();
        for (i, (h, v)) in headers.iter().zip(text.split(',')).enumerate() {
            if v.is_empty() {
                continue;
            }
            let key = if i % 2 == 0 {
                h.to_string()
            } else {
                fengqiao_ingest::schema::Column::ALL[i].zh().to_string()
            };
            let value = match *h {
                "lng" | "lat" => serde_json::json!(v.parse::<f64>().unwrap()),
                _ => serde_json::json!(v),
            };
            object.insert(key, value);
        }
        ndjson.push_str(&serde_json::Value::Object(object).to_string());
        ndjson.push('\n');
    }
    let ndjson_path = dir.path().join("cases.ndjson");
    std::fs::write(&ndjson_path, ndjson).unwrap();

    // Parquet: typed columns, written by DuckDB from the CSV.
    let parquet_path = dir.path().join("cases.parquet");
    duckdb::Connection::open_in_memory()
        .unwrap()
        .execute_batch(&format!(
            "COPY (SELECT * FROM read_csv('{}', header = true)) TO '{}' (FORMAT parquet)",
            csv_path.display(),
            parquet_path.display()
        ))
        .unwrap();

    let digests: Vec<String> = [&csv_path, &ndjson_path, &parquet_path]
        .into_iter()
        .map(|p| {
            let mut store = Store::open_in_memory().unwrap();
            let report = ingest(&mut store, p);
            assert_eq!((report.inserted, report.rejected), (3, 0), "{}", p.display());
            content_digest(&store)
        })
        .collect();
    assert_eq!(digests[0], digests[1], "NDJSON differs from CSV");
    assert_eq!(digests[0], digests[2], "Parquet differs from CSV");
}

#[test]
fn a_file_without_a_required_column_is_refused_whole_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "partial.csv",
        &[b"case_id,reported_at,class".to_vec(), b"A,2026-10-01,dispute".to_vec()],
    );
    let mut store = Store::open_in_memory().unwrap();
    let err = store
        .ingest_file(
            &path,
            &Region::chenzhou(),
            &options(),
            &fengqiao_ingest::store::NoProgress,
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("partial.csv") && err.contains("line 1") && err.contains("category"),
        "{err}"
    );
    assert_eq!(store.case_count().unwrap(), 0);
    let unknown = write(dir.path(), "cases.docx", &[b"x".to_vec()]);
    let err = store
        .ingest_file(
            &unknown,
            &Region::chenzhou(),
            &options(),
            &fengqiao_ingest::store::NoProgress,
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cases.docx") && err.contains(".csv") && err.contains(".xlsx"),
        "{err}"
    );
    // A workbook that is not one is refused whole, naming the file.
    let broken = write(dir.path(), "cases.xlsx", &[b"x".to_vec()]);
    let err = store
        .ingest_file(
            &broken,
            &Region::chenzhou(),
            &options(),
            &fengqiao_ingest::store::NoProgress,
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cases.xlsx") && err.contains("not a readable workbook"),
        "{err}"
    );
}

#[test]
fn the_documented_example_file_loads_whole() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/cases.csv");
    let mut store = Store::open_in_memory().unwrap();
    let report = ingest(&mut store, &path);
    assert_eq!((report.inserted, report.rejected), (3, 0), "{report:?}");
    let sources = query::<String>(&store, "SELECT geo_source FROM cases ORDER BY case_id");
    assert_eq!(sources, ["point", "village", "point"]);
}
