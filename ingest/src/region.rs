//! Regions: the administrative hierarchy (city → county → township → village → grid) of the area a
//! centre serves, loaded from a region directory (format: `data/README.md`).
//!
//! A region is data, not code. The default, Chenzhou (郴州), is compiled into the binary from
//! `data/chenzhou/` so that the CLI works from any directory; `Region::load` reads any other.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use geo::{Coord, LineString, MultiPolygon, Polygon};
use h3o::geom::{ContainmentMode, TilerBuilder};
use h3o::{CellIndex, LatLng, Resolution};
use serde::Deserialize;

use crate::model::AdminLevel;

/// Resolution of the cells that decide whether a point lies in the region. A res-7 cell is about
/// 5 km² (edge 1.2 km): the cells whose centre lies inside the boundary, padded by one ring, so points
/// up to ~1.2–2.5 km outside the
/// boundary (GPS error, a boundary drawn coarsely) still count as inside.
pub const COVERAGE_RESOLUTION: Resolution = Resolution::Seven;

/// Something wrong with a region directory.
#[derive(Debug, thiserror::Error)]
pub enum RegionError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{file}: {message}")]
    Format { file: String, message: String },
    #[error("{file} line {line}: {message}")]
    Row { file: String, line: u64, message: String },
}

/// One administrative unit.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminUnit {
    pub level: AdminLevel,
    /// GB/T 2260 (city, county), 9-digit township, 12-digit statistical village, 15-digit grid code.
    pub code: String,
    pub name: String,
    /// The code of the unit one level up; `None` for the city.
    pub parent: Option<String>,
    /// A representative point (WGS84). Synthetic below county level in the default region.
    pub lng: f64,
    pub lat: f64,
    pub population: Option<u64>,
    /// The boundary (WGS84), where the region has one (the city and its counties by default).
    pub boundary: Option<MultiPolygon<f64>>,
}

/// Index of a unit in [`Region::units`].
pub type UnitId = u32;

/// The county, township and village a grid or village belongs to (indices into [`Region::units`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lineage {
    pub county: UnitId,
    pub township: UnitId,
    pub village: UnitId,
    pub grid: Option<UnitId>,
}

/// A loaded region.
#[derive(Debug, Clone)]
pub struct Region {
    pub name: String,
    pub name_en: String,
    pub code: String,
    pub attribution: String,
    /// City first, then counties, townships, villages and grids, each level in file order.
    pub units: Vec<AdminUnit>,
    /// Residents per H3 cell (res 5–10, sorted) where the region directory supplies them
    /// (`population.csv` or `population.tif`, see [`crate::population`]); `None`: the analytics
    /// spread the units' populations over their areas.
    pub cell_population: Option<Vec<(u64, f64)>>,
    by_code: HashMap<String, UnitId>,
    children: Vec<Vec<UnitId>>,
    coverage: HashSet<CellIndex>,
}

#[derive(Deserialize)]
struct RegionToml {
    name: String,
    name_en: String,
    code: String,
    crs: String,
    attribution: String,
}

#[derive(Deserialize)]
struct UnitRow {
    code: String,
    name: String,
    parent: String,
    lng: f64,
    lat: f64,
    population: Option<u64>,
}

/// The files of a region directory, as text.
struct RegionFiles<'a> {
    toml: &'a str,
    boundary: &'a str,
    counties: &'a str,
    townships: &'a str,
    villages: &'a str,
    grids: &'a str,
}

impl Region {
    /// The default region (Chenzhou), compiled in from `data/chenzhou/`.
    pub fn chenzhou() -> Region {
        let files = RegionFiles {
            toml: include_str!("../../data/chenzhou/region.toml"),
            boundary: include_str!("../../data/chenzhou/boundary.geojson"),
            counties: include_str!("../../data/chenzhou/counties.csv"),
            townships: include_str!("../../data/chenzhou/townships.csv"),
            villages: include_str!("../../data/chenzhou/villages.csv"),
            grids: include_str!("../../data/chenzhou/grids.csv"),
        };
        Region::parse(&files, "data/chenzhou").expect("the embedded default region is valid")
    }

    /// Loads the region directory `dir` (see `data/README.md`).
    pub fn load(dir: &Path) -> Result<Region, RegionError> {
        let read = |name: &str| {
            let path = dir.join(name);
            fs::read_to_string(&path).map_err(|source| RegionError::Io { path, source })
        };
        let (toml, boundary) = (read("region.toml")?, read("boundary.geojson")?);
        let (counties, townships) = (read("counties.csv")?, read("townships.csv")?);
        let (villages, grids) = (read("villages.csv")?, read("grids.csv")?);
        let files = RegionFiles {
            toml: &toml,
            boundary: &boundary,
            counties: &counties,
            townships: &townships,
            villages: &villages,
            grids: &grids,
        };
        let mut region = Region::parse(&files, &dir.display().to_string())?;
        region.cell_population = crate::population::read_cell_population(dir)?;
        Ok(region)
    }

    /// Loads `dir`, or the embedded default when `dir` is `None`.
    pub fn load_or_default(dir: Option<&Path>) -> Result<Region, RegionError> {
        match dir {
            Some(dir) => Region::load(dir),
            None => Ok(Region::chenzhou()),
        }
    }

    fn parse(files: &RegionFiles<'_>, dir: &str) -> Result<Region, RegionError> {
        let meta: RegionToml = toml::from_str(files.toml).map_err(|e| RegionError::Format {
            file: format!("{dir}/region.toml"),
            message: e.to_string(),
        })?;
        if !meta.crs.eq_ignore_ascii_case("wgs84") {
            return Err(RegionError::Format {
                file: format!("{dir}/region.toml"),
                message: format!("crs must be wgs84 (convert the region first), not {:?}", meta.crs),
            });
        }
        let boundaries = parse_boundaries(files.boundary, &format!("{dir}/boundary.geojson"))?;
        let city_boundary = boundaries.get(&meta.code).cloned().ok_or_else(|| RegionError::Format {
            file: format!("{dir}/boundary.geojson"),
            message: format!("no feature with code {} (the region's own code)", meta.code),
        })?;

        let mut units = vec![AdminUnit {
            level: AdminLevel::City,
            code: meta.code.clone(),
            name: meta.name.clone(),
            parent: None,
            lng: 0.0,
            lat: 0.0,
            population: None,
            boundary: Some(city_boundary.clone()),
        }];
        let mut by_code = HashMap::from([(meta.code.clone(), 0)]);
        let levels = [
            (AdminLevel::County, "counties.csv", files.counties, AdminLevel::City),
            (
                AdminLevel::Township,
                "townships.csv",
                files.townships,
                AdminLevel::County,
            ),
            (
                AdminLevel::Village,
                "villages.csv",
                files.villages,
                AdminLevel::Township,
            ),
            (AdminLevel::Grid, "grids.csv", files.grids, AdminLevel::Village),
        ];
        for (level, name, text, parent_level) in levels {
            let file = format!("{dir}/{name}");
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            for row in reader.deserialize::<UnitRow>() {
                let row = row.map_err(|e| RegionError::Row {
                    file: file.clone(),
                    line: e.position().map_or(0, |p| p.line()),
                    message: e.to_string(),
                })?;
                let line = units.len() as u64; // only used for messages below
                let parent_ok = by_code
                    .get(&row.parent)
                    .is_some_and(|&p| units[p as usize].level == parent_level);
                if !parent_ok {
                    return Err(RegionError::Row {
                        file,
                        line,
                        message: format!(
                            "unit {} names parent {:?}, which is not a {} of this region",
                            row.code,
                            row.parent,
                            parent_level.code()
                        ),
                    });
                }
                if by_code.insert(row.code.clone(), units.len() as UnitId).is_some() {
                    return Err(RegionError::Row {
                        file,
                        line,
                        message: format!("code {} appears twice", row.code),
                    });
                }
                units.push(AdminUnit {
                    level,
                    boundary: boundaries.get(&row.code).cloned(),
                    code: row.code,
                    name: row.name,
                    parent: Some(row.parent),
                    lng: row.lng,
                    lat: row.lat,
                    population: row.population,
                });
            }
        }
        let mut children = vec![Vec::new(); units.len()];
        for (i, unit) in units.iter().enumerate().skip(1) {
            let parent = by_code[unit.parent.as_deref().expect("checked above")];
            children[parent as usize].push(i as UnitId);
        }
        let population: u64 = units
            .iter()
            .filter(|u| u.level == AdminLevel::County)
            .filter_map(|u| u.population)
            .sum();
        let centre = geo::Centroid::centroid(&city_boundary).map_or((0.0, 0.0), |p| (p.x(), p.y()));
        units[0].lng = centre.0;
        units[0].lat = centre.1;
        units[0].population = (population > 0).then_some(population);
        let coverage = coverage_cells(&city_boundary).map_err(|message| RegionError::Format {
            file: format!("{dir}/boundary.geojson"),
            message,
        })?;
        Ok(Region {
            name: meta.name,
            name_en: meta.name_en,
            code: meta.code,
            attribution: meta.attribution,
            units,
            cell_population: None,
            by_code,
            children,
            coverage,
        })
    }

    /// The unit with this code.
    pub fn unit(&self, code: &str) -> Option<&AdminUnit> {
        self.id(code).map(|id| &self.units[id as usize])
    }

    /// The index of the unit with this code.
    pub fn id(&self, code: &str) -> Option<UnitId> {
        self.by_code.get(code).copied()
    }

    /// The units one level below `id`.
    pub fn children(&self, id: UnitId) -> &[UnitId] {
        &self.children[id as usize]
    }

    /// The parent of `id` (none for the city).
    pub fn parent(&self, id: UnitId) -> Option<UnitId> {
        self.units[id as usize].parent.as_deref().and_then(|p| self.id(p))
    }

    /// All units of one level.
    pub fn level(&self, level: AdminLevel) -> impl Iterator<Item = (UnitId, &AdminUnit)> {
        self.units
            .iter()
            .enumerate()
            .filter(move |(_, u)| u.level == level)
            .map(|(i, u)| (i as UnitId, u))
    }

    /// County, township and village of a village or grid.
    pub fn lineage(&self, id: UnitId) -> Option<Lineage> {
        let (village, grid) = match self.units[id as usize].level {
            AdminLevel::Grid => (self.parent(id)?, Some(id)),
            AdminLevel::Village => (id, None),
            _ => return None,
        };
        let township = self.parent(village)?;
        let county = self.parent(township)?;
        Some(Lineage {
            county,
            township,
            village,
            grid,
        })
    }

    /// Whether a WGS84 point lies in the region, with the tolerance of [`COVERAGE_RESOLUTION`].
    pub fn contains(&self, lng: f64, lat: f64) -> bool {
        LatLng::new(lat, lng).is_ok_and(|ll| self.coverage.contains(&ll.to_cell(COVERAGE_RESOLUTION)))
    }

    /// Whether a cell (of resolution ≥ 7) lies in the region's padded coverage.
    pub fn contains_cell(&self, cell: CellIndex) -> bool {
        cell.parent(COVERAGE_RESOLUTION)
            .is_some_and(|p| self.coverage.contains(&p))
    }

    /// The padded res-7 cover of the region.
    pub fn coverage(&self) -> &HashSet<CellIndex> {
        &self.coverage
    }
}

fn coverage_cells(boundary: &MultiPolygon<f64>) -> Result<HashSet<CellIndex>, String> {
    let mut tiler = TilerBuilder::new(COVERAGE_RESOLUTION)
        .containment_mode(ContainmentMode::ContainsCentroid)
        .build();
    for polygon in &boundary.0 {
        tiler
            .add(polygon.clone())
            .map_err(|e| format!("invalid boundary polygon: {e}"))?;
    }
    let mut cells: HashSet<CellIndex> = tiler.into_coverage().collect();
    let padding: Vec<CellIndex> = cells.iter().flat_map(|c| c.grid_disk::<Vec<_>>(1)).collect();
    cells.extend(padding);
    Ok(cells)
}

/// Reads a FeatureCollection whose features carry a `code` property and a (Multi)Polygon geometry.
fn parse_boundaries(text: &str, file: &str) -> Result<HashMap<String, MultiPolygon<f64>>, RegionError> {
    let err = |message: String| RegionError::Format {
        file: file.to_string(),
        message,
    };
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
    let features = json["features"]
        .as_array()
        .ok_or_else(|| err("not a FeatureCollection".into()))?;
    let mut out = HashMap::new();
    for (i, feature) in features.iter().enumerate() {
        let code = feature["properties"]["code"]
            .as_str()
            .ok_or_else(|| err(format!("feature {i} has no string property `code`")))?;
        let geometry = &feature["geometry"];
        let polygons = match geometry["type"].as_str() {
            Some("Polygon") => vec![geometry["coordinates"].clone()],
            Some("MultiPolygon") => geometry["coordinates"].as_array().cloned().unwrap_or_default(),
            other => {
                return Err(err(format!(
                    "feature {code}: geometry type {other:?} is not a (Multi)Polygon"
                )))
            }
        };
        let polygons = polygons
            .iter()
            .map(|p| parse_polygon(p).ok_or_else(|| err(format!("feature {code}: malformed polygon coordinates"))))
            .collect::<Result<Vec<_>, _>>()?;
        out.insert(code.to_string(), MultiPolygon(polygons));
    }
    Ok(out)
}

fn parse_polygon(value: &serde_json::Value) -> Option<Polygon<f64>> {
    let rings = value
        .as_array()?
        .iter()
        .map(|ring| {
            ring.as_array()?
                .iter()
                .map(|pos| {
                    let pos = pos.as_array()?;
                    Some(Coord {
                        x: pos.first()?.as_f64()?,
                        y: pos.get(1)?.as_f64()?,
                    })
                })
                .collect::<Option<Vec<_>>>()
                .map(LineString::from)
        })
        .collect::<Option<Vec<_>>>()?;
    let mut rings = rings.into_iter();
    Some(Polygon::new(rings.next()?, rings.collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_region_has_the_real_hierarchy() {
        let region = Region::chenzhou();
        let count = |level| region.level(level).count();
        assert_eq!(count(AdminLevel::City), 1);
        assert_eq!(count(AdminLevel::County), 11);
        assert_eq!(count(AdminLevel::Township), 162);
        assert_eq!(count(AdminLevel::Village), 2420);
        assert!(count(AdminLevel::Grid) >= 2420);
        let beihu = region.unit("431002").unwrap();
        assert_eq!(beihu.name, "北湖区");
        assert!(beihu.boundary.is_some());
        let population = region.units[0].population.unwrap();
        assert!((4_000_000..5_500_000).contains(&population), "{population}");
    }

    #[test]
    fn lineage_walks_up_from_grid_and_village() {
        let region = Region::chenzhou();
        let (grid_id, grid) = region.level(AdminLevel::Grid).next().unwrap();
        let lineage = region.lineage(grid_id).unwrap();
        assert_eq!(Some(&region.units[lineage.village as usize].code), grid.parent.as_ref());
        assert_eq!(region.units[lineage.county as usize].level, AdminLevel::County);
        assert!(region.units[lineage.township as usize]
            .code
            .starts_with(&region.units[lineage.county as usize].code));
        assert!(region.lineage(lineage.county).is_none());
    }

    #[test]
    fn every_unit_point_is_inside_and_far_points_are_not() {
        let region = Region::chenzhou();
        for unit in region.units.iter().skip(1) {
            assert!(region.contains(unit.lng, unit.lat), "{} {}", unit.code, unit.name);
        }
        assert!(!region.contains(116.404, 39.915), "Beijing is not in Chenzhou");
        assert!(!region.contains(25.8, 113.0), "lat/lng swapped is not in Chenzhou");
    }

    #[test]
    fn bad_region_directories_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = Region::load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("region.toml"), "{err}");
    }
}
