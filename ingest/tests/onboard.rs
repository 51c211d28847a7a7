//! Onboarding a centre with the files it has (issue 15): regions imported from GeoJSON, Shapefiles
//! and XLSX unit tables, a province of two cities, bad region sources reported by file and row,
//! foreign exports (XLSX, GB18030 CSV) loaded through an inspected and then edited mapping and
//! checked against their truth, the store's region, and region updates. The inputs are the synthetic
//! files of `data/examples/` (made by `scripts/make_test_regions.py`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fengqiao_ingest::import::{import, load_recipe, ImportError};
use fengqiao_ingest::inspect::inspect;
use fengqiao_ingest::mapping::Mapping;
use fengqiao_ingest::model::AdminLevel;
use fengqiao_ingest::region::RegionFiles;
use fengqiao_ingest::store::NoProgress;
use fengqiao_ingest::{IngestOptions, Region, Store};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/examples")
}

fn imported(recipe: &str) -> (RegionFiles, fengqiao_ingest::import::ImportReport) {
    let path = examples().join("recipes").join(recipe);
    let parsed = load_recipe(&path).unwrap();
    match import(&parsed, path.parent().unwrap()) {
        Ok(done) => done,
        Err(e) => panic!("{recipe}: {e}"),
    }
}

fn qingshan() -> &'static Region {
    static REGION: std::sync::OnceLock<Region> = std::sync::OnceLock::new();
    REGION.get_or_init(|| imported("qingshan-geojson.toml").0.parse().unwrap())
}

/// (code, name, parent, level) of every unit.
fn hierarchy(region: &Region) -> Vec<(String, String, Option<String>, AdminLevel)> {
    region
        .units
        .iter()
        .map(|u| (u.code.clone(), u.name.clone(), u.parent.clone(), u.level))
        .collect()
}

#[test]
fn geojson_shapefile_and_xlsx_sources_make_the_same_region() {
    let (geojson, report) = imported("qingshan-geojson.toml");
    let geojson = geojson.parse().unwrap();
    // The damaged rings of the GeoJSON were repaired and said so; grids found their villages.
    let repairs: Vec<String> = report.repairs.iter().map(|r| r.to_string()).collect();
    assert!(
        repairs
            .iter()
            .any(|r| r.contains("villages.geojson") && r.contains("closed")),
        "{repairs:#?}"
    );
    assert!(repairs.iter().any(|r| r.contains("reoriented")), "{repairs:#?}");
    assert!(report.errors.is_empty());
    let (shp, report) = imported("qingshan-shp.toml");
    assert!(
        report.repairs.iter().any(|r| r.message.contains("dissolved")),
        "the Shapefile recipe has no city outline: {:#?}",
        report.repairs
    );
    let shp = shp.parse().unwrap();
    let (xlsx, _) = imported("qingshan-xlsx.toml");
    let xlsx = xlsx.parse().unwrap();
    assert_eq!(hierarchy(&geojson), hierarchy(&shp));
    assert_eq!(hierarchy(&geojson), hierarchy(&xlsx));
    let count = |r: &Region, l| r.level(l).count();
    assert_eq!(
        (count(&geojson, AdminLevel::Village), count(&geojson, AdminLevel::Grid)),
        (60, 121)
    );
    // Shapefiles in GCJ-02 and in a Gauss-Kruger projection come back to the GeoJSON's WGS84
    // vertices (to the 6 decimals region files keep).
    for level in [
        AdminLevel::County,
        AdminLevel::Township,
        AdminLevel::Village,
        AdminLevel::Grid,
    ] {
        for ((_, a), (_, b)) in geojson.level(level).zip(shp.level(level)) {
            assert_eq!(rings(a), rings(b), "{} {}", a.code, a.name);
            assert_eq!((a.lng, a.lat, a.population), (b.lng, b.lat, b.population), "{}", a.code);
        }
    }
    // Polygons below county level where the recipe has them; points only from the workbook.
    assert!(geojson.has_polygons(AdminLevel::Village) && geojson.has_polygons(AdminLevel::Grid));
    assert!(!xlsx.has_polygons(AdminLevel::Village) && !xlsx.has_polygons(AdminLevel::Grid));
    // Every point lies in its own polygon; every unit's children lie in it.
    for unit in &geojson.units[1..] {
        let id = geojson.id(&unit.code).unwrap();
        if matches!(unit.level, AdminLevel::Village | AdminLevel::Grid) {
            assert_eq!(
                geojson.locate(unit.level, unit.lng, unit.lat),
                Some(id),
                "{} {}",
                unit.code,
                unit.name
            );
        }
    }
    // The import is deterministic.
    assert_eq!(imported("qingshan-geojson.toml").0.hash(), geojson.hash);
}

/// A unit's rings, each started at its smallest vertex (sources may start a ring anywhere).
fn rings(unit: &fengqiao_ingest::region::AdminUnit) -> Vec<Vec<(i64, i64)>> {
    let mut out = Vec::new();
    for polygon in &unit.boundary.as_ref().unwrap().0 {
        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
            let mut v: Vec<(i64, i64)> = ring.0[1..]
                .iter()
                .map(|c| ((c.x * 1e6).round() as i64, (c.y * 1e6).round() as i64))
                .collect();
            let start = (0..v.len()).min_by_key(|&i| v[i]).unwrap();
            v.rotate_left(start);
            out.push(v);
        }
    }
    out
}

#[test]
fn a_province_of_two_cities_is_one_region() {
    let (files, _) = imported("province.toml");
    let province = files.parse().unwrap();
    assert_eq!(province.level, AdminLevel::Province);
    let cities: Vec<&str> = province.level(AdminLevel::City).map(|(_, c)| c.name.as_str()).collect();
    assert_eq!(cities, ["青山市", "白水市"]);
    let qingshan = province.id("990100").unwrap();
    for (id, county) in province.level(AdminLevel::County) {
        assert_eq!(
            province.parent(id).map(|p| province.units[p as usize].level),
            Some(AdminLevel::City),
            "{}",
            county.code
        );
    }
    // The cities' outlines were dissolved from their counties'; the province's from the cities'.
    assert!(province.units[qingshan as usize].boundary.is_some());
    let (lng, lat) = (
        province.units[qingshan as usize].lng,
        province.units[qingshan as usize].lat,
    );
    assert!(province.contains(lng, lat));
    let village = province.locate(AdminLevel::Village, lng, lat).unwrap();
    assert_eq!(province.ancestor(village, AdminLevel::City), Some(qingshan));
    assert_eq!(
        province.units[0].population,
        Some(
            province
                .level(AdminLevel::Grid)
                .map(|(_, g)| g.population.unwrap())
                .sum()
        )
    );
}

/// A copy of the example sources in a temporary directory, with `edit` applied to one file.
fn damaged(file: &str, edit: impl Fn(&str) -> String) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let copy = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    };
    copy(
        &examples().join("qingshan/geojson"),
        &dir.path().join("qingshan/geojson"),
    );
    copy(&examples().join("recipes"), &dir.path().join("recipes"));
    let path = dir.path().join("qingshan/geojson").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(&text)).unwrap();
    let recipe = dir.path().join("recipes/qingshan-geojson.toml");
    (dir, recipe)
}

fn import_errors(recipe: &Path) -> Vec<String> {
    match import(&load_recipe(recipe).unwrap(), recipe.parent().unwrap()) {
        Err(ImportError::Invalid(report)) => report.errors.iter().map(|e| e.to_string()).collect(),
        Err(e) => vec![e.to_string()],
        Ok(_) => Vec::new(),
    }
}

#[test]
fn bad_region_sources_are_reported_by_file_and_row_and_nothing_is_written() {
    let units = std::fs::read_to_string(examples().join("qingshan/geojson/units.csv")).unwrap();
    let lines: Vec<&str> = units.lines().collect();
    // Line numbers of the unit table (the header is line 1).
    let line_of = |code: &str| lines.iter().position(|l| l.starts_with(&format!("{code},"))).unwrap() + 1;
    let village = lines
        .iter()
        .find(|l| l.contains(",99010110"))
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string();

    // A duplicate code.
    let (_dir, recipe) = damaged("units.csv", |t| format!("{t}{}\n", lines[line_of(&village) - 1]));
    let errors = import_errors(&recipe);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("units.csv row") && e.contains(&format!("code {village} appears twice"))),
        "{errors:#?}"
    );

    // A missing parent.
    let (_dir, recipe) = damaged("units.csv", |t| t.replacen(",990101102,", ",990101199,", 1));
    let errors = import_errors(&recipe);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("units.csv row") && e.contains("its parent 990101199 is missing")),
        "{errors:#?}"
    );

    // Codes that do not nest: a village listed under a county.
    let (_dir, recipe) = damaged("units.csv", |t| {
        t.replacen(&format!("{village},"), &format!("{village}X,"), 1)
            .replacen(&format!("{village}X,"), &format!("{village},"), 1)
            .replacen(&format!(",{},", &village[..9]), ",990102,", 1)
    });
    let errors = import_errors(&recipe);
    assert!(errors.iter().any(|e| e.contains("codes do not nest")), "{errors:#?}");

    // A point outside its own polygon.
    let row = lines[line_of(&village) - 1];
    let fields: Vec<&str> = row.split(',').collect();
    let moved = format!(
        "{},{},{},{},100.9,30.9,{}",
        fields[0], fields[1], fields[2], fields[3], fields[6]
    );
    let (_dir, recipe) = damaged("units.csv", |t| t.replace(row, &moved));
    let errors = import_errors(&recipe);
    let row_number = line_of(&village);
    assert!(
        errors
            .iter()
            .any(|e| e.contains(&format!("units.csv row {row_number}")) && e.contains("outside its own polygon")),
        "{errors:#?}"
    );

    // A self-intersecting ring: the first village drawn as a bow tie over its own first vertices.
    let (_dir, recipe) = damaged("villages.geojson", |t| {
        let mut fc: serde_json::Value = serde_json::from_str(t).unwrap();
        let geometry = &mut fc["features"][0]["geometry"];
        let first = geometry["coordinates"][0][0].clone();
        let (x, y) = (first[0].as_f64().unwrap(), first[1].as_f64().unwrap());
        *geometry = serde_json::json!({"type": "Polygon", "coordinates": [[[x, y], [x + 0.004, y + 0.004], [x + 0.004, y], [x, y + 0.004], [x, y]]]});
        fc.to_string()
    });
    let errors = import_errors(&recipe);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("villages.geojson row 1") && e.contains("self-intersection")),
        "{errors:#?}"
    );

    // Populations that do not add up are a warning, not an error.
    let (_dir, recipe) = damaged("units.csv", |t| {
        let township = lines.iter().find(|l| l.starts_with("990101102,")).unwrap();
        let f: Vec<&str> = township.split(',').collect();
        t.replace(
            township,
            &format!("{},{},{},1,{},{},{}", f[0], f[1], f[2], f[4], f[5], f[6]),
        )
    });
    let (_, report) = import(&load_recipe(&recipe).unwrap(), recipe.parent().unwrap()).unwrap();
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.to_string().contains("units.csv row") && w.message.contains("population 1 but its")),
        "{:#?}",
        report.warnings
    );
}

/// "Now" for the future-date check: after every date of the example exports.
fn now() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
}

/// The proposal for an export, edited as its user would: the words it could not map given, the
/// constants the export lacks filled in.
fn edited_mapping(export: &str, edits: &[(&str, &str)]) -> Mapping {
    let proposal = inspect(&examples().join("exports").join(export), None, None, None).unwrap();
    let mut text = proposal.to_mapping();
    Mapping::parse(&text, "proposal").unwrap();
    for (commented, line) in edits {
        let start = text
            .find(commented)
            .unwrap_or_else(|| panic!("{commented:?} not in the proposal:\n{text}"));
        let end = start + text[start..].find('\n').unwrap();
        text.replace_range(start..end, line);
    }
    Mapping::parse(&text, "edited").unwrap()
}

/// Truth of an export: case id → village code or `reject:<reason>`.
fn truth(export: &str) -> HashMap<String, String> {
    let text = std::fs::read_to_string(examples().join("exports").join(format!("{export}.truth.csv"))).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let (id, v) = l.split_once(',').unwrap();
            (id.to_string(), v.to_string())
        })
        .collect()
}

/// Loads an export and checks every row against its truth: the good rows in their village (at
/// least 99 %), the bad ones rejected for the reason the truth gives.
fn check_export(export: &str, mapping: Mapping) -> (Store, fengqiao_ingest::IngestReport) {
    let mut store = Store::open_in_memory().unwrap();
    let opts = IngestOptions {
        now: now(),
        mapping: Some(Arc::new(mapping)),
        ..IngestOptions::default()
    };
    let path = examples().join("exports").join(export);
    let report = store.ingest_file(&path, qingshan(), &opts, &NoProgress).unwrap();
    let truth = truth(export);
    let mut stmt = store.conn().prepare("SELECT case_id, village_code FROM cases").unwrap();
    let placed: HashMap<String, String> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut stmt = store
        .conn()
        .prepare("SELECT line, reason, message FROM rejected ORDER BY line")
        .unwrap();
    let rejected: Vec<(i64, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let good: Vec<(&String, &String)> = truth.iter().filter(|(_, v)| !v.starts_with("reject")).collect();
    let right = good.iter().filter(|(id, v)| placed.get(*id) == Some(*v)).count();
    let wrong: Vec<_> = good
        .iter()
        .filter(|(id, v)| placed.get(*id).is_some_and(|p| p != *v))
        .collect();
    assert!(wrong.is_empty(), "{export}: placed in the wrong village: {wrong:?}");
    assert!(
        right as f64 >= 0.99 * good.len() as f64,
        "{export}: {right} of {} good rows placed right; rejected: {rejected:#?}",
        good.len()
    );
    let expected_rejections = truth.values().filter(|v| v.starts_with("reject")).count();
    assert!(report.rejected as usize >= expected_rejections, "{export}: {report:?}");
    for (id, v) in &truth {
        if v.starts_with("reject") {
            assert!(
                !placed.contains_key(id),
                "{export}: {id} should be rejected ({v}) but loaded"
            );
        }
    }
    for (_, reason, message) in &rejected {
        if reason == "ambiguous_place" {
            assert!(
                message.contains("candidates:") && message.matches(" (9901").count() >= 2,
                "{message}"
            );
        }
    }
    let reasons: Vec<&str> = rejected.iter().map(|r| r.1.as_str()).collect();
    for expected in truth.values().filter_map(|v| v.strip_prefix("reject:")) {
        assert!(
            reasons.contains(&expected),
            "{export}: no rejection for {expected}: {reasons:?}"
        );
    }
    (store, report)
}

#[test]
fn an_xlsx_export_with_its_own_words_loads_through_an_inspected_and_edited_mapping() {
    let mapping = edited_mapping(
        "cases.xlsx",
        &[
            ("# class = \"dispute\"", "class = \"dispute\""),
            ("# \"涉众型纠纷\"", "\"涉众型纠纷\" = \"other\""),
            ("# \"撤诉\"", "\"撤诉\" = \"closed\""),
            ("# \"来电\"", "\"来电\" = \"hotline_12345\""),
        ],
    );
    assert_eq!(
        mapping.sheet,
        Some(fengqiao_ingest::mapping::SheetRef::Name("案件明细".into()))
    );
    let (store, report) = check_export("cases.xlsx", mapping);
    assert_eq!(report.sheet.as_deref(), Some("案件明细"));
    assert!(
        report.placed_by["address"] > 100 && report.placed_by["name"] > 100,
        "{report:?}"
    );
    // Rejections name the sheet, the row and the export's own header.
    let (sheet, message): (String, String) = store
        .conn()
        .query_row(
            "SELECT sheet, message FROM rejected WHERE reason = 'invalid_date' LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(sheet, "案件明细");
    assert!(message.contains("登记日期 (reported_at)"), "{message}");
    // Village-only positions are marked as such, and the renamed township's old name was an alias.
    let (villages, aliases): (i64, i64) = store
        .conn()
        .query_row(
            "SELECT count(*) FILTER (WHERE geo_precision = 'village'), count(*) FILTER (WHERE place_match = 'alias') FROM cases",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(villages > 0 && aliases > 0, "{villages} {aliases}");
}

#[test]
fn a_gb18030_csv_export_with_baidu_points_loads_through_its_mapping() {
    let mapping = edited_mapping(
        "cases-gb18030.csv",
        &[
            ("# severity = ", "severity = \"general\""),
            ("# crs = ", "crs = \"bd09\""),
            ("# \"涉众型纠纷\"", "\"涉众型纠纷\" = \"other\""),
            ("# \"撤诉\"", "\"撤诉\" = \"closed\""),
            ("# \"来电\"", "\"来电\" = \"hotline_12345\""),
        ],
    );
    assert_eq!(mapping.date_formats, ["%Y.%m.%d %H:%M"]);
    let (store, _) = check_export("cases-gb18030.csv", mapping);
    // Rows with a point keep it (converted from BD-09) and lie in their village's polygon.
    let mut stmt = store
        .conn()
        .prepare("SELECT village_code, lng, lat FROM cases WHERE geo_precision = 'point'")
        .unwrap();
    let points: Vec<(String, f64, f64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(points.len() > 100);
    let region = qingshan();
    let inside = points
        .iter()
        .filter(|(v, lng, lat)| region.locate(AdminLevel::Village, *lng, *lat) == region.id(v))
        .count();
    assert!(
        inside as f64 >= 0.9 * points.len() as f64,
        "{inside} of {}",
        points.len()
    );
}

#[test]
fn a_mapping_naming_a_header_the_file_lacks_refuses_the_file_before_any_row() {
    let text = "[columns]\n\"受理编号\" = \"case_id\"\n";
    let mapping = Mapping::parse(text, "m.toml").unwrap();
    let mut store = Store::open_in_memory().unwrap();
    let opts = IngestOptions {
        now: now(),
        mapping: Some(Arc::new(mapping)),
        ..IngestOptions::default()
    };
    let err = store
        .ingest_file(&examples().join("exports/cases.xlsx"), qingshan(), &opts, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cases.xlsx") && err.contains("受理编号") && err.contains("m.toml"),
        "{err}"
    );
    assert_eq!(store.case_count().unwrap(), 0);
}

/// A small CSV of the example region, by codes.
fn coded_csv(dir: &Path, region: &Region) -> PathBuf {
    let (vid, village) = region.level(AdminLevel::Village).next().unwrap();
    let lineage = region.lineage(vid).unwrap();
    let code = |u: u32| region.units[u as usize].code.clone();
    let path = dir.join("coded.csv");
    std::fs::write(
        &path,
        format!(
            "case_id,reported_at,class,category,severity,channel,status,county_code,township_code,village_code\n\
             C1,2026-10-01 09:00,dispute,neighbour,simple,walk_in,received,{},{},{}\n",
            code(lineage.county),
            code(lineage.township),
            village.code
        ),
    )
    .unwrap();
    path
}

#[test]
fn the_store_remembers_its_region_and_refuses_another() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.duckdb");
    let opts = IngestOptions {
        now: now(),
        ..IngestOptions::default()
    };
    let file = coded_csv(dir.path(), qingshan());
    {
        let mut store = Store::open(&db).unwrap();
        store.ingest_file(&file, qingshan(), &opts, &NoProgress).unwrap();
        // Another region: refused before any row, naming both.
        let err = store
            .ingest_file(&file, &Region::chenzhou(), &opts, &NoProgress)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("青山市") && err.contains("郴州市") && err.contains("region update"),
            "{err}"
        );
        assert_eq!(store.case_count().unwrap(), 1);
    }
    // Read back without the directory.
    let store = Store::open(&db).unwrap();
    let region = fengqiao_ingest::stored::region_for(store.conn(), "s.duckdb", None).unwrap();
    assert_eq!(
        (region.code.as_str(), region.hash.as_str()),
        ("990100", qingshan().hash.as_str())
    );
    assert!(fengqiao_ingest::stored::region_for(store.conn(), "s.duckdb", Some(Region::chenzhou())).is_err());
    let log = fengqiao_ingest::stored::region_log(store.conn()).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].action, "recorded");
}

#[test]
fn a_store_made_before_stores_recorded_their_region_is_the_default_regions() {
    let mut store = Store::open_in_memory().unwrap();
    store
        .conn()
        .execute_batch(
            "INSERT INTO cases (case_id, reported_at, class, category, severity, channel, status, county_code,
                township_code, village_code, lng, lat, geo_source, h3, updated_at, source_file, source_line, ingested_at)
             VALUES ('old', TIMESTAMP '2026-10-01 09:00:00', 'dispute', 'neighbour', 'simple', 'walk_in', 'received',
                '431002', '431002001', '431002001001', 112.9, 25.7, 'village', 0, TIMESTAMP '2026-10-01 09:00:00', 'x', 1,
                TIMESTAMP '2026-10-01 09:00:00')",
        )
        .unwrap();
    let region = fengqiao_ingest::stored::region_for(store.conn(), "old", None).unwrap();
    assert_eq!(region.code, "431000");
    let err = fengqiao_ingest::stored::region_for(store.conn(), "old", Some(qingshan().clone())).unwrap_err();
    assert!(err.to_string().contains("the default"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let err = store
        .ingest_file(
            &coded_csv(dir.path(), qingshan()),
            qingshan(),
            &IngestOptions::default(),
            &NoProgress,
        )
        .unwrap_err();
    assert!(err.to_string().contains("郴州市"), "{err}");
}

#[test]
fn a_region_update_re_places_the_cases_it_affects_and_is_logged() {
    let mut store = Store::open_in_memory().unwrap();
    let opts = IngestOptions {
        now: now(),
        ..IngestOptions::default()
    };
    let dir = tempfile::tempdir().unwrap();
    store
        .ingest_file(&coded_csv(dir.path(), qingshan()), qingshan(), &opts, &NoProgress)
        .unwrap();
    let (vid, village) = qingshan().level(AdminLevel::Village).next().unwrap();
    // The next version: the village's point moved, and it gets a new code (the old one a former code).
    let files = qingshan().files();
    let texts = files.iter().map(|(name, text)| {
        let text = if name == "villages.csv" {
            text.replacen(
                &format!("{},{},", village.code, village.name),
                &format!("{}9,{},", &village.code[..11], village.name),
                1,
            )
            .replacen(
                &format!(",{:.6},{:.6},", village.lng, village.lat),
                &format!(",{:.6},{:.6},", village.lng + 0.001, village.lat),
                1,
            )
        } else {
            text.replace(&village.code, &format!("{}9", &village.code[..11]))
        };
        (name.to_string(), text)
    });
    let mut texts: Vec<(String, String)> = texts.collect();
    // Without the former code, the update is refused and lists the code.
    let next = RegionFiles::from_texts("next", texts.clone()).parse().unwrap();
    let err = store.update_region(&next, false).unwrap_err().to_string();
    assert!(err.contains(&village.code) && err.contains("1 cases"), "{err}");
    for (name, text) in texts.iter_mut() {
        if name == "villages.csv" {
            let new_code = format!("{}9", &village.code[..11]);
            let start = text.find(&format!("{new_code},")).unwrap();
            let end = start + text[start..].find('\n').unwrap();
            let mut fields: Vec<String> = text[start..end].split(',').map(str::to_string).collect();
            fields[7] = village.code.clone();
            text.replace_range(start..end, &fields.join(","));
        }
    }
    let next = RegionFiles::from_texts("next", texts).parse().unwrap();
    assert_eq!(next.id(&village.code), next.id(&format!("{}9", &village.code[..11])));
    let dry = store.update_region(&next, true).unwrap();
    assert_eq!((dry.cases, dry.replaced), (1, 1));
    let done = store.update_region(&next, false).unwrap();
    assert_eq!(done.changed.get("village_code"), Some(&1));
    assert_eq!(done.changed.get("position"), Some(&1));
    let (code, lng): (String, f64) = store
        .conn()
        .query_row("SELECT village_code, lng FROM cases", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(code, format!("{}9", &village.code[..11]));
    assert!((lng - (qingshan().units[vid as usize].lng + 0.001)).abs() < 1e-9);
    let region = fengqiao_ingest::stored::region_for(store.conn(), "mem", None).unwrap();
    assert_eq!(region.hash, next.hash);
    let log = fengqiao_ingest::stored::region_log(store.conn()).unwrap();
    assert_eq!(
        log.iter().map(|l| l.action.as_str()).collect::<Vec<_>>(),
        ["recorded", "updated"]
    );
    assert_eq!(log[1].cases_replaced, 1);
    // Another root code is not an update.
    let err = store.update_region(&Region::chenzhou(), false).unwrap_err().to_string();
    assert!(err.contains("another root code"), "{err}");
}

/// Every file under `dir`, relative to it, with its bytes.
fn tree(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(
                    path.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn the_committed_examples_are_what_the_script_makes() {
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/make_test_regions.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg("--out")
        .arg(dir.path())
        .output()
        .expect("python3 (the quick start needs it)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let made = tree(dir.path());
    let committed = tree(&examples());
    let names = |t: &std::collections::BTreeMap<PathBuf, Vec<u8>>| t.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&made), names(&committed));
    for (name, bytes) in &made {
        assert!(
            committed[name] == *bytes,
            "{} differs from what the script makes",
            name.display()
        );
    }
}
