//! Regions: the administrative hierarchy of the area a centre serves — a province, a city or a county
//! at the root, then (below a province) cities, counties, townships, villages and grids — loaded from
//! a region directory (format: `data/README.md`).
//!
//! A region is data, not code. The default, Chenzhou (郴州), is compiled into the binary from
//! `data/chenzhou/` so that the CLI works from any directory; [`Region::load`] reads any other, and
//! [`RegionFiles`] holds a directory's files as text (what the store keeps, so that a store knows its
//! region without the directory). Where a unit has a polygon, [`Region::locate`] finds the unit that
//! contains a point (an R-tree over the polygons' bounding boxes, then point-in-polygon).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use geo::{Coord, Intersects, LineString, MultiPolygon, Point, Polygon};
use h3o::geom::{ContainmentMode, Tiler, TilerBuilder};
use h3o::{CellIndex, LatLng, Resolution};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;
use serde::Deserialize;

use crate::model::AdminLevel;

/// Resolution of the cells that decide whether a point lies in the region. A res-7 cell is about
/// 5 km² (edge 1.2 km): the cells whose centre lies inside the boundary, padded by one ring, so points
/// up to ~1.2–2.5 km outside the
/// boundary (GPS error, a boundary drawn coarsely) still count as inside.
pub const COVERAGE_RESOLUTION: Resolution = Resolution::Seven;

/// The unit tables of a region directory, one per level below the root, top down.
pub const UNIT_TABLES: [(AdminLevel, &str); 5] = [
    (AdminLevel::City, "cities.csv"),
    (AdminLevel::County, "counties.csv"),
    (AdminLevel::Township, "townships.csv"),
    (AdminLevel::Village, "villages.csv"),
    (AdminLevel::Grid, "grids.csv"),
];

/// The polygon files of a region directory: `boundary.geojson` (the root, cities and counties, and
/// any other unit), then optional files of township, village and grid polygons.
pub const POLYGON_FILES: [&str; 4] = [
    "boundary.geojson",
    "townships.geojson",
    "villages.geojson",
    "grids.geojson",
];

/// The levels whose polygons [`Region::locate`] searches.
pub const LOCATED_LEVELS: [AdminLevel; 3] = [AdminLevel::Township, AdminLevel::Village, AdminLevel::Grid];

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
    /// GB/T 2260 (province, city, county), 9-digit township, 12-digit statistical village code; a
    /// grid's code is the grid system's own.
    pub code: String,
    pub name: String,
    /// The code of the unit one level up; `None` for the root.
    pub parent: Option<String>,
    /// A representative point (WGS84): where a case known only by this unit is placed.
    pub lng: f64,
    pub lat: f64,
    pub population: Option<u64>,
    /// The boundary (WGS84), where the region has one.
    pub boundary: Option<MultiPolygon<f64>>,
    /// Other names the unit goes by (former names before a 撤乡设镇 rename, short forms).
    pub aliases: Vec<String>,
    /// Codes the unit had before (exports made before a recoding still carry them).
    pub former_codes: Vec<String>,
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
    /// The root's level: [`AdminLevel::City`] (the default), [`AdminLevel::Province`] or
    /// [`AdminLevel::County`].
    pub level: AdminLevel,
    /// A hash of the region's files ([`RegionFiles::hash`]): two regions with the same hash are the
    /// same data.
    pub hash: String,
    /// The root first, then each level below it, each in file order.
    pub units: Vec<AdminUnit>,
    /// Residents per H3 cell (res 5–10, sorted) where the region directory supplies them
    /// (`population.csv` or `population.tif`, see [`crate::population`]); `None`: the analytics
    /// spread the units' populations over their areas.
    pub cell_population: Option<Vec<(u64, f64)>>,
    by_code: HashMap<String, UnitId>,
    former: HashMap<String, UnitId>,
    children: Vec<Vec<UnitId>>,
    /// The padded res-7 cover, tiled on first use (a heat map from kept columns never asks).
    coverage: OnceLock<HashSet<CellIndex>>,
    polygons: PolygonIndex,
    files: Arc<RegionFiles>,
}

#[derive(Deserialize)]
struct RegionToml {
    name: String,
    name_en: String,
    code: String,
    crs: String,
    attribution: String,
    #[serde(default)]
    level: Option<String>,
}

#[derive(Deserialize)]
struct UnitRow {
    code: String,
    name: String,
    parent: String,
    lng: f64,
    lat: f64,
    population: Option<u64>,
    #[serde(default)]
    aliases: Option<String>,
    #[serde(default)]
    former_codes: Option<String>,
}

/// Splits a `|`-separated list, dropping empty items.
fn list(value: Option<String>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The files of a region directory, as text, by file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionFiles {
    /// Where the files came from (a directory, `data/chenzhou`, a store), for messages.
    pub origin: String,
    files: BTreeMap<String, String>,
}

impl RegionFiles {
    /// Every file name a region directory may hold.
    pub fn names() -> impl Iterator<Item = &'static str> {
        ["region.toml"]
            .into_iter()
            .chain(POLYGON_FILES)
            .chain(UNIT_TABLES.iter().map(|(_, f)| *f))
    }

    /// The default region's files, compiled in from `data/chenzhou/`.
    pub fn chenzhou() -> RegionFiles {
        let files = [
            ("region.toml", include_str!("../../data/chenzhou/region.toml")),
            ("boundary.geojson", include_str!("../../data/chenzhou/boundary.geojson")),
            ("counties.csv", include_str!("../../data/chenzhou/counties.csv")),
            ("townships.csv", include_str!("../../data/chenzhou/townships.csv")),
            ("villages.csv", include_str!("../../data/chenzhou/villages.csv")),
            ("grids.csv", include_str!("../../data/chenzhou/grids.csv")),
        ];
        RegionFiles {
            origin: "data/chenzhou".into(),
            files: files.into_iter().map(|(n, t)| (n.to_string(), t.to_string())).collect(),
        }
    }

    /// Reads the region files present in `dir`.
    pub fn read(dir: &Path) -> Result<RegionFiles, RegionError> {
        let mut files = BTreeMap::new();
        for name in RegionFiles::names() {
            let path = dir.join(name);
            match fs::read_to_string(&path) {
                Ok(text) => {
                    files.insert(name.to_string(), text);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && name != "region.toml" => {}
                Err(source) => return Err(RegionError::Io { path, source }),
            }
        }
        Ok(RegionFiles {
            origin: dir.display().to_string(),
            files,
        })
    }

    /// Files from names and texts (what the store keeps). Unknown names are ignored.
    pub fn from_texts(origin: &str, texts: impl IntoIterator<Item = (String, String)>) -> RegionFiles {
        let known: HashSet<&str> = RegionFiles::names().collect();
        RegionFiles {
            origin: origin.to_string(),
            files: texts.into_iter().filter(|(n, _)| known.contains(n.as_str())).collect(),
        }
    }

    /// The text of one file, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.files.get(name).map(String::as_str)
    }

    /// Every file: name and text, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files.iter().map(|(n, t)| (n.as_str(), t.as_str()))
    }

    /// Writes the files into `dir` (created if needed).
    pub fn write(&self, dir: &Path) -> Result<(), RegionError> {
        fs::create_dir_all(dir).map_err(|source| RegionError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        for (name, text) in &self.files {
            let path = dir.join(name);
            fs::write(&path, text).map_err(|source| RegionError::Io { path, source })?;
        }
        Ok(())
    }

    /// A 128-bit FNV-1a hash of the files' names and contents, as 32 hex digits. Line ends are taken
    /// as they are: the same directory checked out with CRLF line ends is a different region.
    pub fn hash(&self) -> String {
        const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
        const PRIME: u128 = 0x0000000001000000000000000000013B;
        let mut h = OFFSET;
        let mut eat = |bytes: &[u8]| {
            for &b in bytes {
                h ^= b as u128;
                h = h.wrapping_mul(PRIME);
            }
        };
        for (name, text) in &self.files {
            eat(name.as_bytes());
            eat(&(text.len() as u64).to_le_bytes());
            eat(text.as_bytes());
        }
        format!("{h:032x}")
    }

    /// Parses the files into a region.
    pub fn parse(&self) -> Result<Region, RegionError> {
        Region::parse(self)
    }
}

/// `region.toml` and the root's level (a province, city or county).
fn read_meta(files: &RegionFiles) -> Result<(RegionToml, AdminLevel), RegionError> {
    let format = |message: String| RegionError::Format {
        file: format!("{}/region.toml", files.origin),
        message,
    };
    let toml_text = files.get("region.toml").ok_or_else(|| format("missing".into()))?;
    let meta: RegionToml = toml::from_str(toml_text).map_err(|e| format(e.to_string()))?;
    if !meta.crs.eq_ignore_ascii_case("wgs84") {
        return Err(format(format!(
            "crs must be wgs84 (convert the region first), not {:?}",
            meta.crs
        )));
    }
    let level = match meta.level.as_deref().map(str::parse::<AdminLevel>) {
        None => AdminLevel::City,
        Some(Ok(l @ (AdminLevel::Province | AdminLevel::City | AdminLevel::County))) => l,
        Some(_) => {
            return Err(format(format!(
                "level must be province, city or county, not {:?}",
                meta.level.clone().unwrap_or_default()
            )))
        }
    };
    Ok((meta, level))
}

/// Every polygon of the region's GeoJSON files by unit code, with the file it came from.
fn read_polygons(files: &RegionFiles) -> Result<HashMap<String, (MultiPolygon<f64>, &'static str)>, RegionError> {
    let format = |file: &str, message: String| RegionError::Format {
        file: format!("{}/{file}", files.origin),
        message,
    };
    let mut boundaries = HashMap::new();
    for name in POLYGON_FILES {
        let Some(text) = files.get(name) else {
            if name == "boundary.geojson" {
                return Err(format(name, "missing".into()));
            }
            continue;
        };
        let features = read_features(text).map_err(|m| format(name, m))?;
        for (i, feature) in features.into_iter().enumerate() {
            let code = match feature.properties.get("code") {
                Some(serde_json::Value::String(s)) => s.clone(),
                _ => return Err(format(name, format!("feature {} has no string property `code`", i + 1))),
            };
            if let Some((_, first)) = boundaries.insert(code.clone(), (feature.geometry, name)) {
                return Err(format(name, format!("code {code} has a polygon here and in {first}")));
            }
        }
    }
    Ok(boundaries)
}

/// The units of the region's tables, root first, with their codes and former codes.
struct UnitTables {
    units: Vec<AdminUnit>,
    by_code: HashMap<String, UnitId>,
    former: HashMap<String, UnitId>,
}

/// Reads the unit tables below `root`'s level, taking each unit's polygon out of `boundaries`.
fn read_unit_tables(
    files: &RegionFiles,
    root: AdminUnit,
    boundaries: &mut HashMap<String, (MultiPolygon<f64>, &'static str)>,
) -> Result<UnitTables, RegionError> {
    let level = root.level;
    let mut tables = UnitTables {
        by_code: HashMap::from([(root.code.clone(), 0)]),
        units: vec![root],
        former: HashMap::new(),
    };
    for (table_level, name) in UNIT_TABLES.into_iter().filter(|(l, _)| *l > level) {
        let file = format!("{}/{name}", files.origin);
        let Some(text) = files.get(name) else {
            if table_level == AdminLevel::Grid {
                continue;
            }
            return Err(RegionError::Format {
                file,
                message: format!("missing: a region whose root is a {} needs it", level.code()),
            });
        };
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| RegionError::Format {
                file: file.clone(),
                message: e.to_string(),
            })?
            .clone();
        for record in reader.records() {
            let row_error = |line: u64, message: String| RegionError::Row {
                file: file.clone(),
                line,
                message,
            };
            let record = record.map_err(|e| row_error(e.position().map_or(0, |p| p.line()), e.to_string()))?;
            let line = record.position().map_or(0, |p| p.line());
            let row: UnitRow = record
                .deserialize(Some(&headers))
                .map_err(|e| row_error(line, e.to_string()))?;
            tables
                .add(level, table_level, row, boundaries)
                .map_err(|m| row_error(line, m))?;
        }
    }
    Ok(tables)
}

impl UnitTables {
    /// Adds a row of the `table_level` table of a region whose root is a `root_level`.
    fn add(
        &mut self,
        root_level: AdminLevel,
        table_level: AdminLevel,
        row: UnitRow,
        boundaries: &mut HashMap<String, (MultiPolygon<f64>, &'static str)>,
    ) -> Result<(), String> {
        let parent = self.by_code.get(&row.parent).map(|&p| self.units[p as usize].level);
        if !parent.is_some_and(|p| may_parent(root_level, table_level, p)) {
            return Err(format!(
                "unit {} names parent {:?}, which is not a {} of this region",
                row.code,
                row.parent,
                table_level.parent_level().map_or("root", AdminLevel::code)
            ));
        }
        let id = self.units.len() as UnitId;
        if self.by_code.insert(row.code.clone(), id).is_some() {
            return Err(format!("code {} appears twice", row.code));
        }
        let former_codes = list(row.former_codes);
        for old in &former_codes {
            self.former.insert(old.clone(), id);
        }
        self.units.push(AdminUnit {
            level: table_level,
            boundary: boundaries.remove(&row.code).map(|(b, _)| b),
            code: row.code,
            name: row.name,
            parent: Some(row.parent),
            lng: row.lng,
            lat: row.lat,
            population: row.population,
            aliases: list(row.aliases),
            former_codes,
        });
        Ok(())
    }
}

impl Region {
    /// The default region (Chenzhou), compiled in from `data/chenzhou/`.
    pub fn chenzhou() -> Region {
        RegionFiles::chenzhou()
            .parse()
            .expect("the embedded default region is valid")
    }

    /// Loads the region directory `dir` (see `data/README.md`).
    pub fn load(dir: &Path) -> Result<Region, RegionError> {
        let mut region = RegionFiles::read(dir)?.parse()?;
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

    fn parse(files: &RegionFiles) -> Result<Region, RegionError> {
        let dir = &files.origin;
        let format = |file: &str, message: String| RegionError::Format {
            file: format!("{dir}/{file}"),
            message,
        };
        let (meta, level) = read_meta(files)?;
        let mut boundaries = read_polygons(files)?;
        let root = AdminUnit {
            level,
            code: meta.code.clone(),
            name: meta.name.clone(),
            parent: None,
            lng: 0.0,
            lat: 0.0,
            population: None,
            boundary: boundaries.remove(&meta.code).map(|(b, _)| b),
            aliases: Vec::new(),
            former_codes: Vec::new(),
        };
        let UnitTables {
            mut units,
            by_code,
            former,
        } = read_unit_tables(files, root, &mut boundaries)?;
        if let Some((code, (_, file))) = boundaries.iter().min_by(|a, b| a.0.cmp(b.0)) {
            return Err(format(
                file,
                format!("a polygon has code {code}, which is no unit of the region's tables"),
            ));
        }
        let mut children = vec![Vec::new(); units.len()];
        for (i, unit) in units.iter().enumerate().skip(1) {
            let parent = by_code[unit.parent.as_deref().expect("checked above")];
            children[parent as usize].push(i as UnitId);
        }
        if units[0].boundary.is_none() {
            // The root's outline is the outlines of the units below it.
            let parts: Vec<Polygon<f64>> = children[0]
                .iter()
                .filter_map(|&c| units[c as usize].boundary.as_ref())
                .flat_map(|b| b.0.clone())
                .collect();
            if parts.is_empty() {
                return Err(format(
                    "boundary.geojson",
                    format!("no feature with code {} (the region's own code)", meta.code),
                ));
            }
            units[0].boundary = Some(MultiPolygon(parts));
        }
        let root_boundary = units[0].boundary.clone().expect("set above");
        let population: Option<u64> = children[0].iter().map(|&c| units[c as usize].population).sum();
        let centre = geo::Centroid::centroid(&root_boundary).map_or((0.0, 0.0), |p| (p.x(), p.y()));
        units[0].lng = centre.0;
        units[0].lat = centre.1;
        units[0].population = population.filter(|&p| p > 0);
        coverage_tiler(&root_boundary).map_err(|m| format("boundary.geojson", m))?;
        let polygons = PolygonIndex::new(&units);
        Ok(Region {
            name: meta.name,
            name_en: meta.name_en,
            code: meta.code,
            attribution: meta.attribution,
            level,
            hash: files.hash(),
            units,
            cell_population: None,
            by_code,
            former,
            children,
            coverage: OnceLock::new(),
            polygons,
            files: Arc::new(files.clone()),
        })
    }

    /// The files the region was parsed from (what the store keeps).
    pub fn files(&self) -> &RegionFiles {
        &self.files
    }

    /// "郴州市 (431000, city, region 1f3a…)": how messages name the region.
    pub fn describe(&self) -> String {
        format!(
            "{} ({}, {}, region {})",
            self.name,
            self.code,
            self.level.code(),
            &self.hash[..12]
        )
    }

    /// The root unit (the province, city or county the region is).
    pub fn root(&self) -> &AdminUnit {
        &self.units[0]
    }

    /// Whether `id` is the root.
    pub fn is_root(&self, id: UnitId) -> bool {
        id == 0
    }

    /// The unit with this code (or a former code of it).
    pub fn unit(&self, code: &str) -> Option<&AdminUnit> {
        self.id(code).map(|id| &self.units[id as usize])
    }

    /// The index of the unit with this code (or a former code of it).
    pub fn id(&self, code: &str) -> Option<UnitId> {
        self.by_code.get(code).or_else(|| self.former.get(code)).copied()
    }

    /// Every code [`Region::id`] knows, current and former, with the unit it names, sorted by code.
    pub fn codes(&self) -> Vec<(&str, UnitId)> {
        let mut codes: Vec<(&str, UnitId)> = self
            .by_code
            .iter()
            .chain(self.former.iter().filter(|(code, _)| !self.by_code.contains_key(*code)))
            .map(|(code, &id)| (code.as_str(), id))
            .collect();
        codes.sort_unstable();
        codes
    }

    /// Whether `code` is a former code (of the unit it now names).
    pub fn is_former_code(&self, code: &str) -> bool {
        !self.by_code.contains_key(code) && self.former.contains_key(code)
    }

    /// The units one level below `id`.
    pub fn children(&self, id: UnitId) -> &[UnitId] {
        &self.children[id as usize]
    }

    /// The parent of `id` (none for the root).
    pub fn parent(&self, id: UnitId) -> Option<UnitId> {
        self.units[id as usize]
            .parent
            .as_deref()
            .and_then(|p| self.by_code.get(p).copied())
    }

    /// The unit of `level` that `id` lies in (itself when it is of that level).
    pub fn ancestor(&self, id: UnitId, level: AdminLevel) -> Option<UnitId> {
        let mut at = Some(id);
        while let Some(u) = at {
            let l = self.units[u as usize].level;
            if l == level {
                return Some(u);
            }
            if l < level {
                return None;
            }
            at = self.parent(u);
        }
        None
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
        LatLng::new(lat, lng).is_ok_and(|ll| self.coverage().contains(&ll.to_cell(COVERAGE_RESOLUTION)))
    }

    /// Whether a cell (of resolution ≥ 7) lies in the region's padded coverage.
    pub fn contains_cell(&self, cell: CellIndex) -> bool {
        cell.parent(COVERAGE_RESOLUTION)
            .is_some_and(|p| self.coverage().contains(&p))
    }

    /// The padded res-7 cover of the region.
    pub fn coverage(&self) -> &HashSet<CellIndex> {
        self.coverage.get_or_init(|| {
            let boundary = self.units[0].boundary.as_ref().expect("a region has a boundary");
            let tiler = coverage_tiler(boundary).expect("the boundary was checked when the region was parsed");
            let mut cells: HashSet<CellIndex> = tiler.into_coverage().collect();
            let padding: Vec<CellIndex> = cells.iter().flat_map(|c| c.grid_disk::<Vec<_>>(1)).collect();
            cells.extend(padding);
            cells
        })
    }

    /// Whether the region has polygons of `level` (then [`Region::locate`] answers for it).
    pub fn has_polygons(&self, level: AdminLevel) -> bool {
        self.polygons.tree(level).is_some()
    }

    /// The unit of `level` (township, village or grid) whose polygon contains the WGS84 point (on a
    /// shared edge: the one listed first); `None` where no polygon of that level does.
    pub fn locate(&self, level: AdminLevel, lng: f64, lat: f64) -> Option<UnitId> {
        let tree = self.polygons.tree(level)?;
        let point = Point::new(lng, lat);
        tree.locate_all_at_point(&[lng, lat])
            .map(|entry| entry.data)
            .filter(|&id| {
                self.units[id as usize]
                    .boundary
                    .as_ref()
                    .is_some_and(|b| b.intersects(&point))
            })
            .min()
    }
}

/// Whether a unit of `level` may have a parent of `parent` in a region whose root is of `root`: the
/// level directly above, or the root province for a county (省直辖县级行政区).
fn may_parent(root: AdminLevel, level: AdminLevel, parent: AdminLevel) -> bool {
    Some(parent) == level.parent_level()
        || (root == AdminLevel::Province && level == AdminLevel::County && parent == AdminLevel::Province)
}

impl AdminLevel {
    /// The level directly above (none for a province).
    pub fn parent_level(self) -> Option<AdminLevel> {
        let i = AdminLevel::ALL.iter().position(|&l| l == self)?;
        i.checked_sub(1).map(|p| AdminLevel::ALL[p])
    }
}

/// An R-tree per located level over the bounding boxes of its units' polygons.
/// An R-tree of units' bounding boxes.
type BoxTree = RTree<GeomWithData<Rectangle<[f64; 2]>, UnitId>>;

#[derive(Debug, Clone, Default)]
struct PolygonIndex {
    trees: Vec<(AdminLevel, BoxTree)>,
}

impl PolygonIndex {
    fn new(units: &[AdminUnit]) -> PolygonIndex {
        let mut trees = Vec::new();
        for level in LOCATED_LEVELS {
            let entries: Vec<_> = units
                .iter()
                .enumerate()
                .filter(|(_, u)| u.level == level)
                .filter_map(|(i, u)| {
                    let rect = geo::BoundingRect::bounding_rect(u.boundary.as_ref()?)?;
                    Some(GeomWithData::new(
                        Rectangle::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y]),
                        i as UnitId,
                    ))
                })
                .collect();
            if !entries.is_empty() {
                trees.push((level, RTree::bulk_load(entries)));
            }
        }
        PolygonIndex { trees }
    }

    fn tree(&self, level: AdminLevel) -> Option<&BoxTree> {
        self.trees.iter().find(|(l, _)| *l == level).map(|(_, t)| t)
    }
}

/// The tiler of the region's cover, with its boundary added (which checks its coordinates: the
/// cheap part, done when the region is parsed; the tiling is done on first use).
fn coverage_tiler(boundary: &MultiPolygon<f64>) -> Result<Tiler, String> {
    let mut tiler = TilerBuilder::new(COVERAGE_RESOLUTION)
        .containment_mode(ContainmentMode::ContainsCentroid)
        .build();
    for polygon in &boundary.0 {
        tiler
            .add(polygon.clone())
            .map_err(|e| format!("invalid boundary polygon: {e}"))?;
    }
    Ok(tiler)
}

/// A polygon set as GeoJSON coordinates: polygons, each its rings (outer first), each its `[x, y]`.
pub fn coordinates(shape: &MultiPolygon<f64>) -> Vec<Vec<Vec<[f64; 2]>>> {
    shape
        .0
        .iter()
        .map(|p| {
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .map(|r| r.0.iter().map(|c| [c.x, c.y]).collect())
                .collect()
        })
        .collect()
}

/// One feature of a GeoJSON FeatureCollection with a polygonal geometry.
#[derive(Debug, Clone)]
pub struct PolygonFeature {
    pub properties: serde_json::Map<String, serde_json::Value>,
    pub geometry: MultiPolygon<f64>,
}

#[derive(Deserialize)]
struct FeatureCollection {
    features: Vec<RawFeature>,
}

#[derive(Deserialize)]
struct RawFeature {
    #[serde(default)]
    properties: Option<serde_json::Map<String, serde_json::Value>>,
    geometry: Option<RawGeometry>,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum RawGeometry {
    Polygon {
        coordinates: Vec<Vec<Vec<f64>>>,
    },
    MultiPolygon {
        coordinates: Vec<Vec<Vec<Vec<f64>>>>,
    },
    #[serde(other)]
    Other,
}

/// A ring's positions as a file has them: (x, y), not necessarily closed.
pub type Ring = Vec<(f64, f64)>;

/// Polygons as a file has them: each its rings, outer first.
pub type RawPolygons = Vec<Vec<Ring>>;

/// One feature of a GeoJSON FeatureCollection, its rings as written (not closed, not oriented).
#[derive(Debug, Clone)]
pub struct RawPolygonFeature {
    pub properties: serde_json::Map<String, serde_json::Value>,
    pub polygons: RawPolygons,
}

/// Reads a GeoJSON FeatureCollection of Polygon/MultiPolygon features as written (positions beyond
/// x, y are ignored). [`crate::import`] checks and repairs the rings.
pub fn read_raw_features(text: &str) -> Result<Vec<RawPolygonFeature>, String> {
    let collection: FeatureCollection =
        serde_json::from_str(text).map_err(|e| format!("not a GeoJSON FeatureCollection: {e}"))?;
    collection
        .features
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let ring = |r: Vec<Vec<f64>>| -> Result<Ring, String> {
                r.into_iter()
                    .map(|p| match p[..] {
                        [x, y, ..] => Ok((x, y)),
                        _ => Err(format!("feature {}: a position with fewer than 2 numbers", i + 1)),
                    })
                    .collect()
            };
            let polygon =
                |rings: Vec<Vec<Vec<f64>>>| -> Result<Vec<Ring>, String> { rings.into_iter().map(ring).collect() };
            let polygons = match f.geometry {
                Some(RawGeometry::Polygon { coordinates }) => vec![polygon(coordinates)?],
                Some(RawGeometry::MultiPolygon { coordinates }) => {
                    coordinates.into_iter().map(polygon).collect::<Result<_, _>>()?
                }
                _ => {
                    return Err(format!(
                        "feature {}: the geometry is not a Polygon or MultiPolygon",
                        i + 1
                    ))
                }
            };
            Ok(RawPolygonFeature {
                properties: f.properties.unwrap_or_default(),
                polygons,
            })
        })
        .collect()
}

/// Reads a GeoJSON FeatureCollection of Polygon/MultiPolygon features (region files: already
/// checked by the import).
pub fn read_features(text: &str) -> Result<Vec<PolygonFeature>, String> {
    read_raw_features(text)?
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let polygons = f
                .polygons
                .into_iter()
                .map(|rings| {
                    let mut rings = rings
                        .into_iter()
                        .map(|r| LineString::from(r.into_iter().map(|(x, y)| Coord { x, y }).collect::<Vec<_>>()));
                    let exterior = rings
                        .next()
                        .ok_or_else(|| format!("feature {}: a polygon without rings", i + 1))?;
                    Ok(Polygon::new(exterior, rings.collect()))
                })
                .collect::<Result<Vec<_>, String>>()?;
            Ok(PolygonFeature {
                properties: f.properties,
                geometry: MultiPolygon(polygons),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_region_has_the_real_hierarchy() {
        let region = Region::chenzhou();
        let count = |level| region.level(level).count();
        assert_eq!(region.level, AdminLevel::City);
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
        assert!(!region.has_polygons(AdminLevel::Village));
        assert_eq!(region.locate(AdminLevel::Village, beihu.lng, beihu.lat), None);
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
        assert_eq!(region.ancestor(grid_id, AdminLevel::County), Some(lineage.county));
        assert_eq!(region.ancestor(grid_id, AdminLevel::City), Some(0));
        assert_eq!(region.ancestor(lineage.county, AdminLevel::Village), None);
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

    #[test]
    fn the_hash_follows_the_content() {
        let files = RegionFiles::chenzhou();
        assert_eq!(files.hash(), Region::chenzhou().hash);
        assert_eq!(files.hash().len(), 32);
        let mut texts: Vec<(String, String)> = files.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
        texts[0].1.push('\n');
        let changed = RegionFiles::from_texts("x", texts);
        assert_ne!(changed.hash(), files.hash());
    }

    /// A tiny region with village and grid polygons: one county of one township, two villages side
    /// by side, the first with two grids.
    fn squares() -> RegionFiles {
        let square = |code: &str, x0: f64, y0: f64, w: f64| {
            format!(
                r#"{{"type":"Feature","properties":{{"code":"{code}"}},"geometry":{{"type":"Polygon","coordinates":[[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]]}}}}"#,
                x1 = x0 + w,
                y1 = y0 + w
            )
        };
        let fc =
            |features: Vec<String>| format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, features.join(","));
        let texts = [
            ("region.toml", "name = \"方块县\"\nname_en = \"Squares\"\ncode = \"990101\"\ncrs = \"wgs84\"\nattribution = \"synthetic\"\nlevel = \"county\"\n".to_string()),
            ("boundary.geojson", fc(vec![square("990101", 100.0, 30.0, 0.2)])),
            ("villages.geojson", fc(vec![square("990101001001", 100.0, 30.0, 0.1), square("990101001002", 100.1, 30.0, 0.1)])),
            ("grids.geojson", fc(vec![square("G1", 100.0, 30.0, 0.05), square("G2", 100.05, 30.0, 0.05)])),
            ("townships.csv", "code,name,parent,lng,lat,population\n990101001,一镇,990101,100.1,30.05,300\n".to_string()),
            ("villages.csv", "code,name,parent,lng,lat,population,aliases,former_codes\n990101001001,东村,990101001,100.05,30.05,100,老东村|东庄,990101201001\n990101001002,西村,990101001,100.15,30.05,200,,\n".to_string()),
            ("grids.csv", "code,name,parent,lng,lat,population\nG1,东村第1网格,990101001001,100.025,30.025,50\nG2,东村第2网格,990101001001,100.075,30.025,50\n".to_string()),
        ];
        RegionFiles::from_texts("squares", texts.map(|(n, t)| (n.to_string(), t)))
    }

    #[test]
    fn a_county_root_with_polygons_locates_points_by_containment() {
        let region = squares().parse().unwrap();
        assert_eq!(region.level, AdminLevel::County);
        assert_eq!(region.units[0].population, Some(300));
        let east = region.id("990101001001").unwrap();
        assert_eq!(region.locate(AdminLevel::Village, 100.01, 30.09), Some(east));
        assert_eq!(
            region.locate(AdminLevel::Village, 100.19, 30.01),
            region.id("990101001002")
        );
        assert_eq!(region.locate(AdminLevel::Village, 100.3, 30.01), None);
        assert_eq!(region.locate(AdminLevel::Grid, 100.06, 30.01), region.id("G2"));
        // The grid polygons cover only the south half of the village.
        assert_eq!(region.locate(AdminLevel::Grid, 100.06, 30.09), None);
        assert!(!region.has_polygons(AdminLevel::Township));
        // Lineage with a county root: the county is the root.
        let lineage = region.lineage(region.id("G1").unwrap()).unwrap();
        assert_eq!((lineage.county, lineage.village), (0, east));
        // Former codes and aliases.
        assert_eq!(region.id("990101201001"), Some(east));
        assert!(region.is_former_code("990101201001"));
        assert_eq!(region.units[east as usize].aliases, ["老东村", "东庄"]);
    }

    #[test]
    fn a_polygon_without_a_unit_and_a_parent_of_the_wrong_level_are_errors() {
        let mut texts: Vec<(String, String)> = squares().iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
        let grids = texts.iter_mut().find(|(n, _)| n == "grids.geojson").unwrap();
        grids.1 = grids.1.replace("\"G2\"", "\"G9\"");
        let err = RegionFiles::from_texts("squares", texts.clone()).parse().unwrap_err();
        assert!(
            err.to_string().contains("grids.geojson") && err.to_string().contains("G9"),
            "{err}"
        );
        let grids = texts.iter_mut().find(|(n, _)| n == "grids.csv").unwrap();
        grids.1 = grids.1.replace(",990101001001,100.075", ",990101001,100.075");
        let err = RegionFiles::from_texts("squares", texts).parse().unwrap_err();
        assert!(err.to_string().contains("grids.csv line 3"), "{err}");
    }
}
