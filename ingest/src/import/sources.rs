//! The files a region import reads, as rows of text attributes (and raw rings): boundaries as
//! GeoJSON or Shapefile (`.shp` + `.dbf` [+ `.prj`, `.cpg`], loose or zipped; attributes in GBK or
//! UTF-8), unit tables as CSV (UTF-8 or GB18030) or a sheet of a workbook.

use std::io::{Cursor, Read};
use std::path::Path;

use crate::mapping::SheetRef;
use crate::read::{Encoding, InputFormat};
use crate::region::RawPolygons;

/// One feature or table row.
#[derive(Debug, Clone)]
pub struct SourceRow {
    /// 1-based: the feature's number, the table's row (a spreadsheet's row number, a CSV's line).
    pub row: u64,
    /// Attribute name → text.
    pub attrs: Vec<(String, String)>,
    /// Polygons, each its rings, each its positions, as in the file.
    pub polygons: Option<RawPolygons>,
}

/// A file read.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub sheet: Option<String>,
    /// The attribute names (table headers), in file order.
    pub fields: Vec<String>,
    pub rows: Vec<SourceRow>,
    /// The `.prj` of a Shapefile.
    pub prj: Option<String>,
    /// What was decided about the attributes' encoding (for the report).
    pub encoding: Option<String>,
}

/// A JSON attribute as text (numbers as written, whole numbers without a decimal point).
fn json_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// Reads a boundary file: `.geojson`/`.json`, `.shp` (with its `.dbf` beside it), or `.zip` holding
/// one Shapefile. `encoding` forces the attributes' encoding (`gbk`, `utf-8`).
pub fn read_boundaries(path: &Path, encoding: Option<&str>) -> Result<Source, String> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "geojson" | "json" => {
            let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
            let features = crate::region::read_raw_features(&text)?;
            let mut fields: Vec<String> = Vec::new();
            let rows = features
                .into_iter()
                .enumerate()
                .map(|(i, f)| {
                    for k in f.properties.keys() {
                        if !fields.contains(k) {
                            fields.push(k.clone());
                        }
                    }
                    SourceRow {
                        row: i as u64 + 1,
                        attrs: f.properties.iter().map(|(k, v)| (k.clone(), json_text(v))).collect(),
                        polygons: Some(f.polygons),
                    }
                })
                .collect();
            Ok(Source {
                fields,
                rows,
                ..Source::default()
            })
        }
        "shp" => {
            let read = |ext: &str| std::fs::read(path.with_extension(ext)).ok();
            let shp = std::fs::read(path).map_err(|e| e.to_string())?;
            let dbf = read("dbf").ok_or("no .dbf beside the .shp: the attributes (codes) are in it")?;
            let text = |b: Option<Vec<u8>>| b.map(|b| String::from_utf8_lossy(&b).into_owned());
            shapefile_source(shp, dbf, text(read("prj")), text(read("cpg")), encoding)
        }
        "zip" => {
            let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
            let mut archive = zip::ZipArchive::new(file).map_err(|e| format!("not a readable zip: {e}"))?;
            let names: Vec<String> = (0..archive.len())
                .filter_map(|i| archive.name_for_index(i).and_then(|n| n.ok()).map(|n| n.to_string()))
                .collect();
            let shps: Vec<&String> = names
                .iter()
                .filter(|n| n.to_ascii_lowercase().ends_with(".shp"))
                .collect();
            let stem = match shps[..] {
                [one] => one[..one.len() - 4].to_string(),
                [] => return Err("the zip holds no .shp file".into()),
                _ => {
                    return Err(format!(
                        "the zip holds several Shapefiles ({}): zip one per file",
                        shps.len()
                    ))
                }
            };
            let mut member = |ext: &str| -> Option<Vec<u8>> {
                let name = names.iter().find(|n| {
                    n.len() == stem.len() + 4 && n.starts_with(&stem) && n.to_ascii_lowercase().ends_with(ext)
                })?;
                let mut bytes = Vec::new();
                archive.by_name(name).ok()?.read_to_end(&mut bytes).ok()?;
                Some(bytes)
            };
            let shp = member(".shp").ok_or("the zip's .shp cannot be read")?;
            let dbf =
                member(".dbf").ok_or("the zip holds no .dbf beside the .shp: the attributes (codes) are in it")?;
            let text = |b: Option<Vec<u8>>| b.map(|b| String::from_utf8_lossy(&b).into_owned());
            let (prj, cpg) = (text(member(".prj")), text(member(".cpg")));
            shapefile_source(shp, dbf, prj, cpg, encoding)
        }
        _ => Err("unknown boundary file type: expected .geojson, .json, .shp or .zip".into()),
    }
}

/// The encoding of `.dbf` attributes: forced, else the `.cpg`'s, else UTF-8 if the bytes are, else
/// GB18030 (GBK).
fn dbf_encoding(dbf: &[u8], cpg: Option<&str>, forced: Option<&str>) -> Result<(Encoding, String), String> {
    if let Some(name) = forced {
        return Ok((name.parse::<Encoding>()?, format!("{name} (recipe)")));
    }
    if let Some(cpg) = cpg.map(str::trim).filter(|c| !c.is_empty()) {
        let upper = cpg.to_ascii_uppercase();
        if upper.contains("UTF") || upper == "65001" {
            return Ok((Encoding::Utf8, format!("UTF-8 (.cpg {cpg})")));
        }
        if ["GBK", "GB2312", "GB18030", "936", "CP936"]
            .iter()
            .any(|g| upper.contains(g))
        {
            return Ok((Encoding::Gb18030, format!("GBK (.cpg {cpg})")));
        }
        return Err(format!(
            "the .cpg names encoding {cpg:?}: give `encoding` in the recipe"
        ));
    }
    let header_len = dbf
        .get(8..10)
        .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]) as usize)
        .min(dbf.len());
    let encoding = Encoding::sniff(&dbf[header_len..]);
    Ok((
        encoding,
        format!(
            "{} (detected: no .cpg)",
            if encoding == Encoding::Utf8 { "UTF-8" } else { "GBK" }
        ),
    ))
}

fn shapefile_source(
    shp: Vec<u8>,
    dbf: Vec<u8>,
    prj: Option<String>,
    cpg: Option<String>,
    forced: Option<&str>,
) -> Result<Source, String> {
    let (encoding, note) = dbf_encoding(&dbf, cpg.as_deref(), forced)?;
    let dbase_encoding = dbase::encoding::EncodingRs::from(match encoding {
        Encoding::Utf8 => encoding_rs::UTF_8,
        Encoding::Gb18030 => encoding_rs::GB18030,
    });
    let mut table = dbase::ReaderBuilder::new()
        .with_encoding(dbase_encoding)
        .build(Cursor::new(dbf))
        .map_err(|e| format!("unreadable .dbf: {e}"))?;
    let fields: Vec<String> = table.fields().iter().map(|f| f.name().to_string()).collect();
    let records = table.read().map_err(|e| format!("unreadable .dbf: {e}"))?;
    let shapes = shapefile::ShapeReader::new(Cursor::new(shp))
        .map_err(|e| format!("unreadable .shp: {e}"))?
        .read()
        .map_err(|e| format!("unreadable .shp: {e}"))?;
    if shapes.len() != records.len() {
        return Err(format!(
            "the .shp has {} shapes but the .dbf {} records",
            shapes.len(),
            records.len()
        ));
    }
    let rows = shapes
        .into_iter()
        .zip(records)
        .enumerate()
        .map(|(i, (shape, record))| {
            let attrs = fields
                .iter()
                .map(|f| (f.clone(), record.get(f).map(dbf_text).unwrap_or_default()))
                .collect();
            SourceRow {
                row: i as u64 + 1,
                attrs,
                polygons: shape_polygons(shape),
            }
        })
        .collect();
    Ok(Source {
        fields,
        rows,
        prj,
        encoding: Some(note),
        ..Source::default()
    })
}

fn dbf_text(value: &dbase::FieldValue) -> String {
    use dbase::FieldValue as V;
    let number = |f: f64| {
        if f.fract() == 0.0 && f.abs() < 1e15 {
            format!("{}", f as i64)
        } else {
            f.to_string()
        }
    };
    match value {
        V::Character(s) => s.as_deref().unwrap_or_default().trim().to_string(),
        V::Memo(s) => s.trim().to_string(),
        V::Numeric(n) => n.map(number).unwrap_or_default(),
        V::Float(f) => f.map(|f| number(f as f64)).unwrap_or_default(),
        V::Integer(i) => i.to_string(),
        V::Double(d) | V::Currency(d) => number(*d),
        V::Logical(b) => b.map(|b| b.to_string()).unwrap_or_default(),
        V::Date(d) => d
            .map(|d| format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()))
            .unwrap_or_default(),
        V::DateTime(t) => {
            let d = t.date();
            format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
        }
    }
}

/// A Shapefile polygon's rings grouped into polygons: each outer ring with the holes after it.
fn shape_polygons(shape: shapefile::Shape) -> Option<RawPolygons> {
    fn group<P>(rings: &[shapefile::PolygonRing<P>], xy: impl Fn(&P) -> (f64, f64)) -> RawPolygons {
        let mut polygons: RawPolygons = Vec::new();
        for ring in rings {
            // Shapefiles wind outer rings clockwise; GeoJSON (and the checks) the other way round.
            let points: Vec<(f64, f64)> = ring.points().iter().rev().map(&xy).collect();
            match ring {
                shapefile::PolygonRing::Outer(_) => polygons.push(vec![points]),
                shapefile::PolygonRing::Inner(_) => match polygons.last_mut() {
                    Some(p) => p.push(points),
                    None => polygons.push(vec![points]),
                },
            }
        }
        polygons
    }
    match shape {
        shapefile::Shape::Polygon(p) => Some(group(p.rings(), |q| (q.x, q.y))),
        shapefile::Shape::PolygonM(p) => Some(group(p.rings(), |q| (q.x, q.y))),
        shapefile::Shape::PolygonZ(p) => Some(group(p.rings(), |q| (q.x, q.y))),
        _ => None,
    }
}

/// Reads a unit table: CSV (UTF-8 or GB18030, header on line 1) or a sheet of a workbook (header
/// found among the first rows).
pub fn read_table(path: &Path, sheet: Option<&SheetRef>) -> Result<Source, String> {
    match InputFormat::from_path(path) {
        Some(InputFormat::Workbook) => {
            let s = crate::workbook::read_sheet(path, sheet)?;
            let at = table_header(&s.rows);
            let (_, fields) = s.rows.get(at).cloned().ok_or("the sheet is empty")?;
            let rows = s.rows[at + 1..]
                .iter()
                .map(|(row, cells)| SourceRow {
                    row: *row,
                    attrs: fields
                        .iter()
                        .cloned()
                        .zip(cells.iter().cloned().chain(std::iter::repeat(String::new())))
                        .collect(),
                    polygons: None,
                })
                .collect();
            Ok(Source {
                sheet: Some(s.name),
                fields,
                rows,
                ..Source::default()
            })
        }
        Some(InputFormat::Csv) => {
            let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
            let encoding = Encoding::sniff(&bytes[..bytes.len().min(1 << 16)]);
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(&bytes[..]);
            let decode = |f: &[u8]| match encoding {
                Encoding::Utf8 => String::from_utf8_lossy(f).trim_start_matches('\u{feff}').to_string(),
                Encoding::Gb18030 => encoding_rs::GB18030.decode_without_bom_handling(f).0.into_owned(),
            };
            let mut records = reader.byte_records();
            let fields: Vec<String> = match records.next() {
                Some(r) => r
                    .map_err(|e| format!("unreadable CSV: {e}"))?
                    .iter()
                    .map(decode)
                    .collect(),
                None => return Err("empty file: no header row".into()),
            };
            let mut rows = Vec::new();
            for record in records {
                let record = record.map_err(|e| format!("unreadable CSV: {e}"))?;
                let line = record.position().map_or(0, |p| p.line());
                rows.push(SourceRow {
                    row: line,
                    attrs: fields.iter().cloned().zip(record.iter().map(decode)).collect(),
                    polygons: None,
                });
            }
            Ok(Source {
                fields,
                rows,
                encoding: Some(if encoding == Encoding::Utf8 { "UTF-8" } else { "GB18030" }.into()),
                ..Source::default()
            })
        }
        _ => Err("unknown unit table type: expected .csv or .xlsx/.xls/.ods".into()),
    }
}

/// The header row of a unit table: the first of the first rows naming a code column.
fn table_header(rows: &[(u64, Vec<String>)]) -> usize {
    rows.iter()
        .take(20)
        .position(|(_, cells)| cells.iter().any(|c| super::role_of(c) == Some(super::Role::Code)))
        .unwrap_or(0)
}
