//! A region's own residents per H3 cell, when it has better figures than its units' populations
//! spread over their areas: `population.csv` (columns `h3,population`, any resolution 5–15) or
//! `population.tif` (a GeoTIFF raster of persons per pixel in WGS84/CGCS2000 degrees, such as
//! WorldPop's), in the region directory. Read into res-10 cells (finer cells are summed into their
//! res-10 parent; coarser ones are kept and spread by the analytics).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use h3o::{CellIndex, LatLng, Resolution};

use crate::region::RegionError;

/// The per-cell population of a region directory, if it has one: `(cell, persons)` sorted by cell,
/// cells of resolution 5–10.
pub fn read_cell_population(dir: &Path) -> Result<Option<Vec<(u64, f64)>>, RegionError> {
    let csv = dir.join("population.csv");
    let tif = dir.join("population.tif");
    match (csv.exists(), tif.exists()) {
        (true, true) => Err(RegionError::Format {
            file: dir.display().to_string(),
            message: "both population.csv and population.tif: keep one".into(),
        }),
        (true, false) => read_csv(&csv).map(Some),
        (false, true) => read_geotiff(&tif).map(Some),
        (false, false) => Ok(None),
    }
}

/// Reads `h3,population` rows: the cell as an H3 string (`88411c…ffff`) or integer, persons ≥ 0.
pub fn read_csv(path: &Path) -> Result<Vec<(u64, f64)>, RegionError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| RegionError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = reader.headers().map_err(|e| RegionError::Format {
        file: file.clone(),
        message: e.to_string(),
    })?;
    let column = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.contains(&h.trim().to_lowercase().as_str()))
    };
    let (Some(h3_col), Some(pop_col)) = (
        column(&["h3", "cell", "h3_index"]),
        column(&["population", "pop", "people", "人口"]),
    ) else {
        return Err(RegionError::Format {
            file,
            message: "the header must name the columns `h3` and `population`".into(),
        });
    };
    let mut cells: BTreeMap<u64, f64> = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| RegionError::Row {
            file: file.clone(),
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let row_err = |message: String| RegionError::Row {
            file: file.clone(),
            line,
            message,
        };
        let raw_cell = record.get(h3_col).unwrap_or("").trim();
        let cell = raw_cell
            .parse::<CellIndex>()
            .ok()
            .or_else(|| raw_cell.parse::<u64>().ok().and_then(|n| CellIndex::try_from(n).ok()))
            .ok_or_else(|| row_err(format!("field h3: {raw_cell:?} is not an H3 cell")))?;
        let raw_people = record.get(pop_col).unwrap_or("").trim();
        let people: f64 = raw_people
            .parse()
            .ok()
            .filter(|p: &f64| p.is_finite() && *p >= 0.0)
            .ok_or_else(|| row_err(format!("field population: {raw_people:?} is not a number ≥ 0")))?;
        let cell = match cell.resolution() {
            r if r < Resolution::Five => {
                return Err(row_err(format!(
                    "field h3: cell {cell} is of resolution {r}; use resolution 5 or finer"
                )))
            }
            r if r > Resolution::Ten => cell.parent(Resolution::Ten).expect("coarser"),
            _ => cell,
        };
        *cells.entry(u64::from(cell)).or_default() += people;
    }
    Ok(cells.into_iter().filter(|&(_, p)| p > 0.0).collect())
}

/// Side of the sub-pixel grid for rasters coarser than res-10 cells: about 100 m per sample.
const SAMPLE_M: f64 = 100.0;

/// Reads a GeoTIFF of persons per pixel (geographic coordinates in degrees; negative and non-finite
/// values are "no data"). Each pixel's persons go to the res-10 cells of its centre or, for coarse
/// pixels, of an even grid of samples about 100 m apart.
pub fn read_geotiff(path: &Path) -> Result<Vec<(u64, f64)>, RegionError> {
    let file = path.display().to_string();
    let err = |message: String| RegionError::Format {
        file: file.clone(),
        message,
    };
    let reader = File::open(path).map_err(|source| RegionError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let tiff = geotiff::GeoTiff::read(BufReader::new(reader)).map_err(|e| err(format!("not a GeoTIFF: {e}")))?;
    let geographic = tiff.geo_key_directory.geographic_type;
    if let Some(code) = geographic {
        // WGS84 and CGCS2000 differ by centimetres.
        if code != 4326 && code != 4490 {
            return Err(err(format!(
                "geographic CRS EPSG:{code}: use WGS84 (EPSG:4326) or CGCS2000 (EPSG:4490) degrees"
            )));
        }
    }
    if tiff.geo_key_directory.projected_type.is_some() {
        return Err(err(
            "a projected raster: reproject it to WGS84 degrees (EPSG:4326) first".into(),
        ));
    }
    let extent = tiff.model_extent();
    let (w, h) = (tiff.raster_width, tiff.raster_height);
    if w == 0 || h == 0 {
        return Err(err("an empty raster".into()));
    }
    let dx = extent.width() / w as f64;
    let dy = extent.height() / h as f64;
    if !(extent.min().x >= -180.0 && extent.max().x <= 180.0 && extent.min().y >= -90.0 && extent.max().y <= 90.0) {
        return Err(err(format!("extent {:?} is not in degrees", extent)));
    }
    let mid_lat = (extent.min().y + extent.max().y) / 2.0;
    let pixel_m = (dx * mid_lat.to_radians().cos()).max(dy) * 111_320.0;
    let samples = (pixel_m / SAMPLE_M).ceil().clamp(1.0, 32.0) as usize;
    let mut cells: BTreeMap<u64, f64> = BTreeMap::new();
    for row in 0..h {
        for col in 0..w {
            let x = extent.min().x + (col as f64 + 0.5) * dx;
            let y = extent.max().y - (row as f64 + 0.5) * dy;
            let value: Option<f64> = tiff.get_value_at(&geo_types::Coord { x, y }, 0);
            let Some(people) = value.filter(|v| v.is_finite() && *v > 0.0) else {
                continue;
            };
            let share = people / (samples * samples) as f64;
            for i in 0..samples {
                for j in 0..samples {
                    let sx = extent.min().x + (col as f64 + (i as f64 + 0.5) / samples as f64) * dx;
                    let sy = extent.max().y - (row as f64 + (j as f64 + 0.5) / samples as f64) * dy;
                    if let Ok(ll) = LatLng::new(sy, sx) {
                        *cells.entry(u64::from(ll.to_cell(Resolution::Ten))).or_default() += share;
                    }
                }
            }
        }
    }
    Ok(cells.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_of_any_resolution_are_read_and_bad_rows_named() {
        let dir = tempfile::tempdir().unwrap();
        let ll = LatLng::new(25.77, 113.015).unwrap();
        let (c8, c12) = (ll.to_cell(Resolution::Eight), ll.to_cell(Resolution::Twelve));
        let text = format!("h3,population\n{c8},120\n{c12},3\n{},2.5\n", u64::from(c12));
        let path = dir.path().join("population.csv");
        std::fs::write(&path, text).unwrap();
        let cells = read_cell_population(dir.path()).unwrap().unwrap();
        let parent = u64::from(c12.parent(Resolution::Ten).unwrap());
        assert!(cells.contains(&(u64::from(c8), 120.0)));
        assert!(cells.contains(&(parent, 5.5)), "{cells:?}");

        std::fs::write(&path, "h3,population\nnot-a-cell,3\n").unwrap();
        let e = read_csv(&path).unwrap_err().to_string();
        assert!(e.contains("population.csv line 2") && e.contains("field h3"), "{e}");
        std::fs::write(&path, format!("h3,population\n{c8},-1\n")).unwrap();
        assert!(read_csv(&path).unwrap_err().to_string().contains("field population"));
        std::fs::write(&path, "cell_id,n\n").unwrap();
        assert!(read_csv(&path)
            .unwrap_err()
            .to_string()
            .contains("`h3` and `population`"));
    }
}
