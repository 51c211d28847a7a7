//! `fengqiao region import`: builds a region directory (`data/README.md`) from what a centre has —
//! boundaries (GeoJSON or Shapefile, zipped or not, GBK or UTF-8 attributes) at any level, in WGS84,
//! CGCS2000, GCJ-02, BD-09 or a Gauss–Krüger projection, and unit tables (CSV or a workbook's sheet)
//! with code, name, parent, population and an optional point — described by a recipe (TOML).
//!
//! The import validates everything and reports by file, sheet, row and column: codes that do not
//! nest, missing parents, duplicate codes, points outside their own or their parent's polygon,
//! polygons outside their parent's, self-intersecting or degenerate rings, populations that do not
//! add up. It repairs what is safe and says so: open rings closed, rings oriented, repeated vertices
//! dropped, a missing parent found by the polygon that contains the unit, a missing point placed at
//! the population-weighted centre of the unit's children (or inside its polygon), a missing
//! population summed from the children, the root's and cities' outlines dissolved from their
//! children's. With any error nothing is written.

mod geometry;
mod sources;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use geo::{BooleanOps, Contains, Distance, Euclidean, InteriorPoint, Intersects, MultiPolygon, Point};
use serde::Deserialize;

use crate::mapping::SheetRef;
use crate::model::AdminLevel;
use crate::region::{RegionFiles, UNIT_TABLES};
pub use geometry::{SourceCrs, TransverseMercator};
use sources::{Source, SourceRow};

/// Points this far outside the polygon they should lie in are still accepted (digitising error).
pub const POINT_TOLERANCE_M: f64 = 100.0;

/// A recipe: what to build a region from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    pub name: String,
    pub name_en: String,
    pub code: String,
    /// The root's level: `province`, `city` (default) or `county`.
    #[serde(default)]
    pub level: Option<String>,
    pub attribution: String,
    /// Check that statistical codes nest (a child's code begins with its parent's significant
    /// digits). Default true.
    #[serde(default = "yes")]
    pub check_code_nesting: bool,
    #[serde(default)]
    pub boundaries: Vec<BoundarySource>,
    #[serde(default)]
    pub units: Vec<TableSource>,
}

fn yes() -> bool {
    true
}

/// Attribute (column) names of a source; each defaults to the first attribute that looks like it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fields {
    pub code: Option<String>,
    pub name: Option<String>,
    pub parent: Option<String>,
    pub population: Option<String>,
    pub lng: Option<String>,
    pub lat: Option<String>,
    pub level: Option<String>,
    pub aliases: Option<String>,
    pub former_codes: Option<String>,
}

/// A boundary file of one level.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoundarySource {
    pub file: PathBuf,
    /// The level of its units (the root's level for the root's own outline).
    pub level: String,
    /// `wgs84`, `cgcs2000`, `gcj02`, `bd09`; default: the `.prj`'s, else WGS84.
    #[serde(default)]
    pub crs: Option<String>,
    /// The attributes' encoding (`gbk`, `utf-8`); default: the `.cpg`, else detected.
    #[serde(default)]
    pub encoding: Option<String>,
    #[serde(flatten)]
    pub fields: Fields,
}

/// A unit table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSource {
    pub file: PathBuf,
    #[serde(default)]
    pub sheet: Option<SheetRef>,
    /// The level of every row; default: a level column, else one below the row's parent.
    #[serde(default)]
    pub level: Option<String>,
    /// The system of the points' coordinates (default WGS84).
    #[serde(default)]
    pub crs: Option<String>,
    #[serde(flatten)]
    pub fields: Fields,
}

/// Where an issue was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Place {
    pub file: String,
    pub sheet: Option<String>,
    /// Row (table) or feature number, 1-based.
    pub row: Option<u64>,
    pub column: Option<String>,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(s) = &self.sheet {
            write!(f, " sheet {s:?}")?;
        }
        if let Some(r) = self.row {
            write!(f, " row {r}")?;
        }
        if let Some(c) = &self.column {
            write!(f, " column {c:?}")?;
        }
        Ok(())
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Issue {
    pub place: Place,
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

/// What an import found and did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImportReport {
    /// Problems that stop the import.
    pub errors: Vec<Issue>,
    /// Doubtful data that was kept as it is.
    pub warnings: Vec<Issue>,
    /// What was repaired or filled in.
    pub repairs: Vec<Issue>,
    /// Units and polygons per level.
    pub counts: Vec<(String, usize, usize)>,
}

/// Repairs of one kind beyond this many are counted instead of listed.
const LISTED_PER_KIND: usize = 5;
/// Lines of each kind the text of a report shows (the JSON report has them all).
const LISTED_IN_TEXT: usize = 50;

impl ImportReport {
    /// Lists at most [`LISTED_PER_KIND`] repairs of each kind per file (the kind is the message with
    /// its codes and numbers taken out), then one line with how many more there were.
    fn collapse_repairs(&mut self) {
        let kind = |i: &Issue| -> (String, String) {
            let text: String = i
                .message
                .split(':')
                .skip(1)
                .collect::<Vec<_>>()
                .join(":")
                .chars()
                .filter(|c| !c.is_ascii_digit())
                .collect();
            (i.place.file.clone(), text)
        };
        let mut seen: HashMap<(String, String), usize> = HashMap::new();
        let mut kept = Vec::new();
        for issue in std::mem::take(&mut self.repairs) {
            let n = seen.entry(kind(&issue)).or_default();
            *n += 1;
            if *n <= LISTED_PER_KIND {
                kept.push(issue);
            }
        }
        let mut more: Vec<((String, String), usize)> = seen.into_iter().filter(|(_, n)| *n > LISTED_PER_KIND).collect();
        more.sort();
        for ((file, text), n) in more {
            kept.push(Issue {
                place: Place {
                    file,
                    sheet: None,
                    row: None,
                    column: None,
                },
                message: format!("{} more like this:{text}", n - LISTED_PER_KIND),
            });
        }
        self.repairs = kept;
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (level, units, polygons) in &self.counts {
            writeln!(f, "{level:<9} {units:>7} units, {polygons:>7} with a polygon")?;
        }
        for (kind, list) in [
            ("error", &self.errors),
            ("warning", &self.warnings),
            ("repaired", &self.repairs),
        ] {
            for issue in list.iter().take(LISTED_IN_TEXT) {
                writeln!(f, "{kind}: {issue}")?;
            }
            if list.len() > LISTED_IN_TEXT {
                let more = list.len() - LISTED_IN_TEXT;
                writeln!(f, "… and {more} more {kind} lines (all of them in the --report JSON)")?;
            }
        }
        write!(
            f,
            "{} error(s), {} warning(s), {} repair(s)",
            self.errors.len(),
            self.warnings.len(),
            self.repairs.len()
        )
    }
}

/// An import that failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: {message}")]
    Recipe { file: String, message: String },
    #[error("the region was not written:\n{0}")]
    Invalid(Box<ImportReport>),
}

/// What a column of a source holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Role {
    Code,
    Name,
    Parent,
    Population,
    Lng,
    Lat,
    Level,
    Aliases,
    FormerCodes,
}

/// The role a column name suggests (the names centres' tables and GIS layers use).
pub(crate) fn role_of(field: &str) -> Option<Role> {
    let f = field.trim().trim_start_matches('\u{feff}');
    let upper = f.to_ascii_uppercase();
    let any = |words: &[&str]| words.iter().any(|w| f.contains(w));
    let is = |words: &[&str]| words.iter().any(|w| upper == *w);
    if is(&["PARENT", "PARENT_CODE", "SJDM", "FJDM", "SJXZQDM"])
        || any(&["上级", "父级", "所属"]) && any(&["代码", "编码", "编号"])
    {
        Some(Role::Parent)
    } else if is(&["FORMER_CODES", "OLD_CODE"]) || any(&["原代码", "曾用代码", "原编码"]) {
        Some(Role::FormerCodes)
    } else if is(&[
        "CODE", "ADCODE", "DM", "XZQDM", "XZQHDM", "QHDM", "CUNDM", "XZDM", "WGBM", "WGDM", "GB", "PAC",
    ]) || any(&["代码", "编码", "编号"])
    {
        Some(Role::Code)
    } else if is(&["ALIASES", "ALIAS"]) || any(&["别名", "曾用名", "原名"]) {
        Some(Role::Aliases)
    } else if is(&["NAME", "MC", "XZQMC", "CUNMC", "XZMC", "WGMC", "QHMC"]) || any(&["名称"]) || f == "名字" {
        Some(Role::Name)
    } else if is(&["POPULATION", "POP", "RK", "RKS", "ZRK"]) || any(&["人口"]) {
        Some(Role::Population)
    } else if is(&["LNG", "LON", "LONGITUDE", "POINT_X", "X"]) || any(&["经度"]) {
        Some(Role::Lng)
    } else if is(&["LAT", "LATITUDE", "POINT_Y", "Y"]) || any(&["纬度"]) {
        Some(Role::Lat)
    } else if is(&["LEVEL", "JB"]) || any(&["级别", "层级", "行政级别"]) {
        Some(Role::Level)
    } else {
        None
    }
}

/// The attribute of each role in a source: named in the recipe (which must exist), else guessed.
fn columns(fields: &Fields, source: &Source, place: &Place) -> Result<HashMap<Role, String>, Issue> {
    let mut out = HashMap::new();
    let named = [
        (Role::Code, &fields.code),
        (Role::Name, &fields.name),
        (Role::Parent, &fields.parent),
        (Role::Population, &fields.population),
        (Role::Lng, &fields.lng),
        (Role::Lat, &fields.lat),
        (Role::Level, &fields.level),
        (Role::Aliases, &fields.aliases),
        (Role::FormerCodes, &fields.former_codes),
    ];
    for (role, name) in named {
        if let Some(name) = name {
            if !source.fields.iter().any(|f| f == name) {
                return Err(Issue {
                    place: place.clone(),
                    message: format!(
                        "the recipe names column {name:?}, which is not there (columns: {})",
                        source.fields.join(", ")
                    ),
                });
            }
            out.insert(role, name.clone());
        }
    }
    for f in &source.fields {
        if let Some(role) = role_of(f) {
            out.entry(role).or_insert_with(|| f.clone());
        }
    }
    if !out.contains_key(&Role::Code) {
        return Err(Issue {
            place: place.clone(),
            message: format!(
                "no code column found among {}: name it in the recipe (code = \"…\")",
                source.fields.join(", ")
            ),
        });
    }
    Ok(out)
}

/// A unit as the import assembles it.
#[derive(Debug, Clone)]
struct Draft {
    level: Option<AdminLevel>,
    name: Option<String>,
    parent: Option<String>,
    population: Option<u64>,
    point: Option<(f64, f64)>,
    boundary: Option<MultiPolygon<f64>>,
    aliases: Vec<String>,
    former_codes: Vec<String>,
    /// Where its first row was.
    place: Place,
    /// Where its parent was given.
    parent_place: Option<Place>,
    /// Where its point was given.
    point_place: Option<Place>,
    /// Where its population was given.
    population_place: Option<Place>,
}

/// Fills `mine` from `theirs`: a unit table's value (`from_table`) wins, otherwise the first one
/// given stays. Whether `mine` changed.
fn fill<T: Copy + PartialEq>(mine: &mut Option<T>, theirs: Option<T>, from_table: bool) -> bool {
    let before = *mine;
    *mine = if from_table {
        theirs.or(before)
    } else {
        before.or(theirs)
    };
    *mine != before
}

impl Draft {
    /// Combines a later row's facts about the same unit into this draft: a unit table's values win
    /// over a polygon file's (`from_table`), other gaps are filled; what disagrees is returned.
    fn combine(&mut self, fresh: Draft, from_table: bool) -> Vec<String> {
        let existing = self;
        let mut conflicts = Vec::new();
        if let (Some(a), Some(b)) = (existing.level, fresh.level) {
            if a != b {
                conflicts.push(format!("level {} here, {} at {}", b.code(), a.code(), existing.place));
            }
        }
        let take = |mine: &mut Option<String>, theirs: Option<String>, what: &str, conflicts: &mut Vec<String>| match (
            mine.as_ref(),
            theirs,
        ) {
            (None, t) => *mine = t,
            (Some(m), Some(t)) if *m != t => {
                conflicts.push(format!("{what} {t:?} here, {m:?} at {}", existing.place));
                if from_table {
                    *mine = Some(t);
                }
            }
            _ => {}
        };
        take(&mut existing.name, fresh.name, "name", &mut conflicts);
        let parent_before = existing.parent.clone();
        take(&mut existing.parent, fresh.parent, "parent", &mut conflicts);
        if existing.parent != parent_before {
            existing.parent_place = fresh.parent_place;
        }
        existing.level = existing.level.or(fresh.level);
        if fill(&mut existing.population, fresh.population, from_table) {
            existing.population_place = fresh.population_place;
        }
        if fill(&mut existing.point, fresh.point, from_table) {
            existing.point_place = fresh.point_place;
        }
        if fresh.boundary.is_some() {
            if existing.boundary.is_some() {
                conflicts.push(format!("a second polygon (the first at {})", existing.place));
            } else {
                existing.boundary = fresh.boundary;
            }
        }
        existing.aliases.extend(fresh.aliases);
        existing.former_codes.extend(fresh.former_codes);
        conflicts
    }
}

fn parse_level(name: &str, place: &Place) -> Result<AdminLevel, Issue> {
    let n = name.trim();
    let level = match n {
        "省" | "自治区" | "直辖市" => Some(AdminLevel::Province),
        "市" | "地级市" | "州" | "盟" => Some(AdminLevel::City),
        "县" | "区" | "县级市" | "县区" | "区县" | "旗" => Some(AdminLevel::County),
        "乡" | "镇" | "街道" | "乡镇" | "乡镇街道" => Some(AdminLevel::Township),
        "村" | "社区" | "村社区" | "居委会" => Some(AdminLevel::Village),
        _ => n.parse::<AdminLevel>().ok(),
    };
    level.ok_or_else(|| Issue {
        place: place.clone(),
        message: format!("{n:?} is not a level (province, city, county, township, village, grid)"),
    })
}

fn list(text: &str) -> Vec<String> {
    text.split(['|', ';', '；', '、'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Metres per degree of latitude (and of longitude at the equator).
const M_PER_DEGREE: f64 = 111_320.0;

/// Approximate distance in metres from a point to a polygon (0 inside).
fn distance_m(polygon: &MultiPolygon<f64>, (lng, lat): (f64, f64)) -> f64 {
    let p = Point::new(lng, lat);
    if polygon.intersects(&p) {
        return 0.0;
    }
    // Scale longitude to metres at this latitude so that the Euclidean distance is in metres.
    let k = lat.to_radians().cos();
    let scaled = geo::MapCoords::map_coords(polygon, |c| geo::Coord {
        x: c.x * k * M_PER_DEGREE,
        y: c.y * M_PER_DEGREE,
    });
    Euclidean.distance(&Point::new(lng * k * M_PER_DEGREE, lat * M_PER_DEGREE), &scaled)
}

/// The significant digits of a statistical code: `431000` → `4310`, `430000` → `43`; 9- and
/// 12-digit codes are all significant.
fn significant(code: &str) -> &str {
    if code.len() == 6 {
        let mut s = code;
        while s.len() > 2 && s.ends_with("00") {
            s = &s[..s.len() - 2];
        }
        s
    } else {
        code
    }
}

/// Whether `child`'s code nests in `parent`'s (only checked when both are statistical codes: all
/// digits, the child's at least as long).
fn nests(child: &str, parent: &str) -> bool {
    let digits = |c: &str| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit());
    if !digits(child) || !digits(parent) || child.len() < parent.len() || ![6, 9, 12].contains(&parent.len()) {
        return true;
    }
    child.starts_with(significant(parent)) && child != parent
}

struct Importer<'a> {
    recipe: &'a Recipe,
    base: &'a Path,
    root_level: AdminLevel,
    units: BTreeMap<String, Draft>,
    report: ImportReport,
}

impl Importer<'_> {
    fn error(&mut self, place: &Place, message: String) {
        self.report.errors.push(Issue {
            place: place.clone(),
            message,
        });
    }

    fn warn(&mut self, place: &Place, message: String) {
        self.report.warnings.push(Issue {
            place: place.clone(),
            message,
        });
    }

    fn repaired(&mut self, place: &Place, message: String) {
        self.report.repairs.push(Issue {
            place: place.clone(),
            message,
        });
    }

    fn path(&self, file: &Path) -> PathBuf {
        if file.is_absolute() {
            file.to_path_buf()
        } else {
            self.base.join(file)
        }
    }

    fn level_below_root(&self, level: AdminLevel, place: &Place) -> Result<AdminLevel, Issue> {
        if level < self.root_level {
            return Err(Issue {
                place: place.clone(),
                message: format!(
                    "level {} is above the region's root ({})",
                    level.code(),
                    self.root_level.code()
                ),
            });
        }
        Ok(level)
    }

    /// Adds one row's facts to the unit of its code.
    #[allow(clippy::too_many_arguments)]
    fn merge(
        &mut self,
        code: String,
        level: Option<AdminLevel>,
        row: &SourceRow,
        cols: &HashMap<Role, String>,
        place: Place,
        point_crs: &SourceCrs,
        boundary: Option<MultiPolygon<f64>>,
        from_table: bool,
    ) {
        let fresh = self.draft(level, row, cols, place.clone(), point_crs, boundary);
        let Some(existing) = self.units.get_mut(&code) else {
            self.units.insert(code, fresh);
            return;
        };
        for c in existing.combine(fresh, from_table) {
            let kind_is_error = c.starts_with("level") || c.starts_with("a second polygon");
            if kind_is_error {
                self.error(&place, format!("unit {code}: {c}"));
            } else {
                self.warn(&place, format!("unit {code}: {c} (the unit table's is kept)"));
            }
        }
    }

    /// One row's facts as a draft unit; problems with its values reported at their column.
    fn draft(
        &mut self,
        level: Option<AdminLevel>,
        row: &SourceRow,
        cols: &HashMap<Role, String>,
        place: Place,
        point_crs: &SourceCrs,
        boundary: Option<MultiPolygon<f64>>,
    ) -> Draft {
        let get = |role: Role| -> Option<String> {
            let name = cols.get(&role)?;
            row.attrs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let column_place = |role: Role| Place {
            column: cols.get(&role).cloned(),
            ..place.clone()
        };
        let population = match get(Role::Population).map(|p| p.replace(',', "")) {
            None => None,
            Some(p) => match p.parse::<f64>() {
                Ok(v) if v >= 0.0 && v.is_finite() => Some(v.round() as u64),
                _ => {
                    self.error(
                        &column_place(Role::Population),
                        format!("population {p:?} is not a number"),
                    );
                    None
                }
            },
        };
        let point = match (get(Role::Lng), get(Role::Lat)) {
            (Some(x), Some(y)) => match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(x), Ok(y)) if x.is_finite() && y.is_finite() => {
                    let (lng, lat) = point_crs.to_wgs84(x, y);
                    Some((geometry::round6(lng), geometry::round6(lat)))
                }
                _ => {
                    self.error(&column_place(Role::Lng), format!("({x}, {y}) is not a point"));
                    None
                }
            },
            (None, None) => None,
            _ => {
                self.error(
                    &column_place(Role::Lng),
                    "only one of the two coordinates is given".into(),
                );
                None
            }
        };
        let row_level = match get(Role::Level) {
            Some(l) => match parse_level(&l, &column_place(Role::Level)) {
                Ok(l) => Some(l),
                Err(issue) => {
                    self.report.errors.push(issue);
                    None
                }
            },
            None => None,
        };
        let level = level.or(row_level);
        Draft {
            level,
            name: get(Role::Name),
            parent: get(Role::Parent),
            population,
            point,
            boundary,
            aliases: get(Role::Aliases).map(|a| list(&a)).unwrap_or_default(),
            former_codes: get(Role::FormerCodes).map(|a| list(&a)).unwrap_or_default(),
            parent_place: get(Role::Parent).map(|_| column_place(Role::Parent)),
            point_place: point.map(|_| column_place(Role::Lng)),
            population_place: population.map(|_| column_place(Role::Population)),
            place,
        }
    }

    /// A row's code; `None` (and an error) when it has none or had it in an earlier row of the
    /// same source.
    fn row_code(
        &mut self,
        row: &SourceRow,
        cols: &HashMap<Role, String>,
        at: &Place,
        seen: &mut HashMap<String, Place>,
    ) -> Option<String> {
        let code = row
            .attrs
            .iter()
            .find(|(k, _)| Some(k) == cols.get(&Role::Code))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default();
        if code.is_empty() {
            let place = Place {
                column: cols.get(&Role::Code).cloned(),
                ..at.clone()
            };
            self.error(&place, "no code".into());
            return None;
        }
        if let Some(first) = seen.insert(code.clone(), at.clone()) {
            self.error(at, format!("code {code} appears twice (first at {first})"));
            return None;
        }
        Some(code)
    }

    fn read_boundaries(&mut self, source: &BoundarySource) {
        let file = source.file.display().to_string();
        let place = Place {
            file: file.clone(),
            sheet: None,
            row: None,
            column: None,
        };
        let level = match parse_level(&source.level, &place).and_then(|l| self.level_below_root(l, &place)) {
            Ok(l) => l,
            Err(issue) => return self.report.errors.push(issue),
        };
        let data = match sources::read_boundaries(&self.path(&source.file), source.encoding.as_deref()) {
            Ok(d) => d,
            Err(m) => return self.error(&place, m),
        };
        let crs = match (&source.crs, &data.prj) {
            (Some(name), _) => SourceCrs::parse(name),
            (None, Some(prj)) => SourceCrs::from_prj(prj),
            (None, None) => Ok(SourceCrs::Geographic(crate::coords::Crs::Wgs84)),
        };
        let crs = match crs {
            Ok(c) => c,
            Err(m) => return self.error(&place, m),
        };
        if let Some(note) = &data.encoding {
            self.repaired(&place, format!("attributes read as {note}"));
        }
        let cols = match columns(&source.fields, &data, &place) {
            Ok(c) => c,
            Err(issue) => return self.report.errors.push(issue),
        };
        let mut repaired = geometry::Repairs::default();
        let mut repaired_features = 0;
        let mut seen: HashMap<String, Place> = HashMap::new();
        for row in &data.rows {
            let at = Place {
                row: Some(row.row),
                ..place.clone()
            };
            let Some(code) = self.row_code(row, &cols, &at, &mut seen) else {
                continue;
            };
            let Some(polygons) = row.polygons.clone() else {
                self.error(&at, format!("unit {code}: the geometry is not a polygon"));
                continue;
            };
            let (geometry, repairs, errors) = geometry::prepare(polygons, &crs);
            for e in errors {
                self.error(&at, format!("unit {code}: {e}"));
            }
            if repairs.describe().is_some() {
                repaired_features += 1;
                repaired.closed += repairs.closed;
                repaired.reoriented += repairs.reoriented;
                repaired.repeated_vertices += repairs.repeated_vertices;
                if repaired_features <= 20 {
                    self.repaired(&at, format!("unit {code}: {}", repairs.describe().expect("some")));
                }
            }
            let Some(geometry) = geometry else { continue };
            let level = (code != self.recipe.code).then_some(level);
            self.merge(code, level, row, &cols, at, &crs, Some(geometry), false);
        }
        if repaired_features > 20 {
            let total = repaired.describe().unwrap_or_default();
            self.repaired(&place, format!("{repaired_features} features repaired in all: {total}"));
        }
    }

    fn read_table(&mut self, source: &TableSource) {
        let file = source.file.display().to_string();
        let mut place = Place {
            file,
            sheet: None,
            row: None,
            column: None,
        };
        let level = match source
            .level
            .as_deref()
            .map(|l| parse_level(l, &place).and_then(|l| self.level_below_root(l, &place)))
        {
            Some(Ok(l)) => Some(l),
            Some(Err(issue)) => return self.report.errors.push(issue),
            None => None,
        };
        let crs = match source.crs.as_deref().map(SourceCrs::parse).transpose() {
            Ok(c) => c.unwrap_or(SourceCrs::Geographic(crate::coords::Crs::Wgs84)),
            Err(m) => return self.error(&place, m),
        };
        let data = match sources::read_table(&self.path(&source.file), source.sheet.as_ref()) {
            Ok(d) => d,
            Err(m) => return self.error(&place, m),
        };
        place.sheet = data.sheet.clone();
        let cols = match columns(&source.fields, &data, &place) {
            Ok(c) => c,
            Err(issue) => return self.report.errors.push(issue),
        };
        let mut seen: HashMap<String, Place> = HashMap::new();
        for row in &data.rows {
            let at = Place {
                row: Some(row.row),
                ..place.clone()
            };
            if row.attrs.iter().all(|(_, v)| v.trim().is_empty()) {
                continue; // a blank row
            }
            let Some(code) = self.row_code(row, &cols, &at, &mut seen) else {
                continue;
            };
            let level = (code != self.recipe.code).then_some(level).flatten();
            self.merge(code, level, row, &cols, at, &crs, None, true);
        }
    }

    /// Gives every unit a level: its own, else one below its parent's.
    fn settle_levels(&mut self) {
        let root = self.recipe.code.clone();
        for _ in 0..AdminLevel::ALL.len() {
            let known: HashMap<String, AdminLevel> = self
                .units
                .iter()
                .filter_map(|(c, u)| u.level.map(|l| (c.clone(), l)))
                .chain([(root.clone(), self.root_level)])
                .collect();
            for (code, unit) in self.units.iter_mut() {
                if unit.level.is_none() && *code != root {
                    unit.level = unit
                        .parent
                        .as_ref()
                        .and_then(|p| known.get(p))
                        .and_then(|&l| AdminLevel::ALL.iter().position(|&x| x == l))
                        .and_then(|i| AdminLevel::ALL.get(i + 1).copied());
                }
            }
        }
        let unknown: Vec<(String, Place)> = self
            .units
            .iter()
            .filter(|(c, u)| u.level.is_none() && **c != root)
            .map(|(c, u)| (c.clone(), u.place.clone()))
            .collect();
        for (code, place) in unknown {
            self.error(
                &place,
                format!("unit {code}: no level (give the table's level, a level column, or a parent)"),
            );
        }
    }

    /// Finds the parent of units with a polygon and no parent: the unit one level up whose polygon
    /// contains the unit's interior point.
    fn parents_by_containment(&mut self) {
        let orphans: Vec<(String, AdminLevel, Point<f64>)> = self
            .units
            .iter()
            .filter(|(c, u)| u.parent.is_none() && **c != self.recipe.code)
            .filter_map(|(c, u)| Some((c.clone(), u.level?, u.boundary.as_ref()?.interior_point()?)))
            .collect();
        for (code, level, point) in orphans {
            let above = level.parent_level();
            let root_contains = above == Some(self.root_level);
            let found: Vec<String> = if root_contains {
                vec![self.recipe.code.clone()]
            } else {
                self.units
                    .iter()
                    .filter(|(_, u)| u.level.is_some() && u.level == above)
                    .filter(|(_, u)| u.boundary.as_ref().is_some_and(|b| b.intersects(&point)))
                    .map(|(c, _)| c.clone())
                    .collect()
            };
            let place = self.units[&code].place.clone();
            match found.as_slice() {
                [parent] => {
                    if !root_contains {
                        self.repaired(&place, format!("unit {code}: no parent given; {parent} contains it"));
                    }
                    self.units.get_mut(&code).expect("listed").parent = Some(parent.clone());
                }
                [] => self.error(
                    &place,
                    format!(
                        "unit {code}: no parent given and no {} polygon contains it",
                        above.map_or("", AdminLevel::code)
                    ),
                ),
                _ => self.error(
                    &place,
                    format!(
                        "unit {code}: no parent given and several polygons contain it: {}",
                        found.join(", ")
                    ),
                ),
            }
        }
    }

    fn check_hierarchy(&mut self) {
        let root = self.recipe.code.clone();
        let levels: HashMap<String, AdminLevel> = self
            .units
            .iter()
            .filter_map(|(c, u)| u.level.map(|l| (c.clone(), l)))
            .chain([(root.clone(), self.root_level)])
            .collect();
        let mut problems = Vec::new();
        for (code, unit) in &self.units {
            if *code == root {
                continue;
            }
            let Some(level) = unit.level else { continue };
            if unit.name.is_none() {
                problems.push((unit.place.clone(), format!("unit {code}: no name")));
            }
            let Some(parent) = &unit.parent else {
                problems.push((unit.place.clone(), format!("unit {code}: no parent")));
                continue;
            };
            let at = unit.parent_place.clone().unwrap_or_else(|| unit.place.clone());
            let Some(&parent_level) = levels.get(parent) else {
                problems.push((at, format!("unit {code}: its parent {parent} is missing")));
                continue;
            };
            let ok = Some(parent_level) == level.parent_level()
                || (self.root_level == AdminLevel::Province && level == AdminLevel::County && *parent == root);
            if !ok {
                problems.push((
                    at,
                    format!(
                        "codes do not nest: {} {code} has parent {parent}, a {}",
                        level.code(),
                        parent_level.code()
                    ),
                ));
            } else if self.recipe.check_code_nesting && !nests(code, parent) {
                problems.push((
                    at,
                    format!(
                        "codes do not nest: {code} does not begin with its parent's {}",
                        significant(parent)
                    ),
                ));
            }
        }
        for (place, message) in problems {
            self.error(&place, message);
        }
        // Required levels: every level from below the root down to villages has units.
        let root_level = self.root_level;
        for (level, _) in UNIT_TABLES
            .iter()
            .filter(|(l, _)| *l > root_level && *l != AdminLevel::Grid)
        {
            let present = self.units.values().any(|u| u.level == Some(*level));
            let province_without_cities = *level == AdminLevel::City;
            if !present && !province_without_cities {
                let place = Place {
                    file: "recipe".into(),
                    sheet: None,
                    row: None,
                    column: None,
                };
                self.error(&place, format!("the region has no {} units", level.code()));
            }
        }
    }

    /// The children of each unit (codes), the root included.
    fn children(&self) -> HashMap<String, Vec<String>> {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for (code, u) in &self.units {
            if let Some(p) = &u.parent {
                out.entry(p.clone()).or_default().push(code.clone());
            }
        }
        out
    }

    /// Levels bottom up, for what is computed from the children.
    fn bottom_up(&self) -> Vec<String> {
        let mut codes: Vec<(AdminLevel, String)> = self
            .units
            .iter()
            .filter_map(|(c, u)| Some((u.level?, c.clone())))
            .collect();
        codes.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        codes.into_iter().map(|(_, c)| c).collect()
    }

    /// Outlines of units without one (the root, cities, and any unit whose children all have one:
    /// a village from its grids') from their children's, bottom up.
    fn dissolve_outlines(&mut self) {
        let children = self.children();
        let mut order = self.bottom_up();
        order.push(self.recipe.code.clone());
        for code in order {
            let level = self.units[&code]
                .level
                .or((code == self.recipe.code).then_some(self.root_level));
            if self.units[&code].boundary.is_some() || matches!(level, None | Some(AdminLevel::Grid)) {
                continue;
            }
            let parts: Option<Vec<&MultiPolygon<f64>>> = children
                .get(&code)
                .filter(|c| !c.is_empty())
                .map(|c| {
                    c.iter()
                        .map(|k| self.units[k].boundary.as_ref())
                        .collect::<Option<Vec<_>>>()
                })
                .unwrap_or(None);
            if let Some(parts) = parts {
                let union = union_of(&parts);
                let place = self.units[&code].place.clone();
                self.repaired(
                    &place,
                    format!("unit {code}: outline dissolved from its {} children's", parts.len()),
                );
                self.units.get_mut(&code).expect("listed").boundary = Some(union);
            }
        }
    }

    /// Checks points and polygons against their own and their parent's polygon.
    fn check_geometry(&mut self) {
        let mut problems = Vec::new();
        for (code, unit) in &self.units {
            let parent = unit.parent.as_ref().and_then(|p| self.units.get(p));
            let point_place = unit.point_place.clone().unwrap_or_else(|| unit.place.clone());
            if let (Some(point), Some(own)) = (unit.point, &unit.boundary) {
                let d = distance_m(own, point);
                if d > POINT_TOLERANCE_M {
                    problems.push((
                        point_place.clone(),
                        format!(
                            "unit {code}: its point ({}, {}) lies {d:.0} m outside its own polygon",
                            point.0, point.1
                        ),
                    ));
                    continue;
                }
            }
            let Some(parent_boundary) = parent.and_then(|p| p.boundary.as_ref()) else {
                continue;
            };
            let parent_code = unit.parent.as_deref().unwrap_or_default();
            if let Some(point) = unit.point {
                let d = distance_m(parent_boundary, point);
                if d > POINT_TOLERANCE_M {
                    problems.push((
                        point_place.clone(),
                        format!(
                            "unit {code}: its point ({}, {}) lies {d:.0} m outside its parent {parent_code}'s polygon",
                            point.0, point.1
                        ),
                    ));
                }
            }
            if let Some(inside) = unit.boundary.as_ref().and_then(|b| b.interior_point()) {
                if distance_m(parent_boundary, (inside.x(), inside.y())) > POINT_TOLERANCE_M {
                    problems.push((
                        unit.place.clone(),
                        format!("unit {code}: its polygon lies outside its parent {parent_code}'s polygon"),
                    ));
                }
            }
        }
        for (place, message) in problems {
            self.error(&place, message);
        }
    }

    /// Populations from the children where missing; warnings where given ones do not add up.
    /// Points where missing: the children's population-weighted centre (when it lies in the unit's
    /// polygon), else a point inside the polygon, else the children's centre.
    fn fill_in(&mut self) {
        let children = self.children();
        for code in self.bottom_up() {
            let kids: Vec<&Draft> = children
                .get(&code)
                .map(|c| c.iter().map(|k| &self.units[k]).collect())
                .unwrap_or_default();
            let sum: Option<u64> = if kids.is_empty() {
                None
            } else {
                kids.iter().map(|k| k.population).sum()
            };
            let unit = &self.units[&code];
            let place = unit.place.clone();
            let population_place = unit.population_place.clone().unwrap_or_else(|| place.clone());
            let mut notes = Vec::new();
            let mut warning = None;
            let mut population = unit.population;
            match (unit.population, sum) {
                (None, Some(s)) => {
                    population = Some(s);
                    notes.push(format!("population {s} summed from its {} children", kids.len()));
                }
                (Some(p), Some(s)) if p != s => {
                    warning = Some(format!(
                        "unit {code}: population {p} but its {} children sum to {s} ({:+})",
                        kids.len(),
                        s as i64 - p as i64
                    ));
                }
                _ => {}
            }
            let mut point = unit.point;
            if point.is_none() {
                let weighted = weighted_centre(&kids);
                let inside = |p: (f64, f64)| unit.boundary.as_ref().is_none_or(|b| b.contains(&Point::new(p.0, p.1)));
                point = match (weighted, &unit.boundary) {
                    (Some((p, true)), _) if inside(p) => {
                        notes.push("point at its children's population-weighted centre".into());
                        Some(p)
                    }
                    (_, Some(b)) => inside_point(b).map(|p| {
                        notes.push(if kids.is_empty() {
                            "point inside its polygon".to_string()
                        } else {
                            "point inside its polygon (its children's population-weighted centre is not)".to_string()
                        });
                        (p.x(), p.y())
                    }),
                    (Some((p, weighted)), None) => {
                        notes.push(format!(
                            "point at its children's {}centre",
                            if weighted { "population-weighted " } else { "" }
                        ));
                        Some(p)
                    }
                    (None, None) => None,
                };
            }
            let unit = self.units.get_mut(&code).expect("listed");
            unit.population = population;
            unit.point = point;
            if point.is_none() && unit.level.is_some() {
                self.error(
                    &place,
                    format!("unit {code}: no point, no polygon, and no children with points"),
                );
            }
            if let Some(w) = warning {
                self.warn(&population_place, w);
            }
            if !notes.is_empty() {
                self.repaired(&place, format!("unit {code}: {}", notes.join("; ")));
            }
        }
    }

    fn counts(&mut self) {
        let root_polygon = self.units.get(&self.recipe.code).is_some_and(|u| u.boundary.is_some());
        self.report.counts = AdminLevel::ALL
            .iter()
            .map(|&l| {
                let units: Vec<&Draft> = self.units.values().filter(|u| u.level == Some(l)).collect();
                let mut n = units.len();
                let mut p = units.iter().filter(|u| u.boundary.is_some()).count();
                if l == self.root_level {
                    n += 1;
                    p += usize::from(root_polygon);
                }
                (l.code().to_string(), n, p)
            })
            .filter(|(_, n, _)| *n > 0)
            .collect();
    }

    fn files(&self) -> RegionFiles {
        let root = &self.recipe.code;
        let toml = format!(
            "name = {}\nname_en = {}\ncode = {}\ncrs = \"wgs84\"\nlevel = \"{}\"\nattribution = {}\n",
            toml::Value::String(self.recipe.name.clone()),
            toml::Value::String(self.recipe.name_en.clone()),
            toml::Value::String(root.clone()),
            self.root_level.code(),
            toml::Value::String(self.recipe.attribution.clone()),
        );
        let mut texts: Vec<(String, String)> = vec![("region.toml".into(), toml)];
        let mut ordered: Vec<(&String, &Draft)> = self.units.iter().filter(|(c, _)| *c != root).collect();
        ordered.sort_by(|a, b| a.1.level.cmp(&b.1.level).then(a.0.cmp(b.0)));
        texts.extend(self.polygon_files(&ordered));
        texts.extend(self.unit_tables(&ordered));
        RegionFiles::from_texts(&self.recipe.name_en, texts)
    }

    /// The GeoJSON files of the units with polygons, by level (`ordered`: the units below the root).
    fn polygon_files(&self, ordered: &[(&String, &Draft)]) -> Vec<(String, String)> {
        let root = &self.recipe.code;
        let polygon_file = |level: Option<AdminLevel>| match level {
            Some(AdminLevel::Township) => "townships.geojson",
            Some(AdminLevel::Village) => "villages.geojson",
            Some(AdminLevel::Grid) => "grids.geojson",
            _ => "boundary.geojson",
        };
        let mut features: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        let root_unit = self.units.get(root);
        if let Some(b) = root_unit.and_then(|u| u.boundary.as_ref()) {
            features.entry("boundary.geojson").or_default().push(feature_json(
                root,
                &self.recipe.name,
                self.root_level,
                None,
                b,
            ));
        }
        for (code, u) in ordered {
            if let (Some(b), Some(level)) = (&u.boundary, u.level) {
                features
                    .entry(polygon_file(Some(level)))
                    .or_default()
                    .push(feature_json(
                        code,
                        u.name.as_deref().unwrap_or_default(),
                        level,
                        u.parent.as_deref(),
                        b,
                    ));
            }
        }
        let mut texts = Vec::new();
        for (file, list) in features {
            texts.push((
                file.to_string(),
                format!(
                    "{{\"type\":\"FeatureCollection\",\"features\":[\n{}\n]}}\n",
                    list.join(",\n")
                ),
            ));
        }
        texts
    }

    /// The unit tables (CSV) below the root's level.
    fn unit_tables(&self, ordered: &[(&String, &Draft)]) -> Vec<(String, String)> {
        let mut texts = Vec::new();
        for (level, file) in UNIT_TABLES.iter().filter(|(l, _)| *l > self.root_level) {
            let mut w = csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(Vec::new());
            w.write_record([
                "code",
                "name",
                "parent",
                "lng",
                "lat",
                "population",
                "aliases",
                "former_codes",
            ])
            .expect("in memory");
            let mut any = false;
            for (code, u) in ordered.iter().filter(|(_, u)| u.level == Some(*level)) {
                any = true;
                let (lng, lat) = u.point.unwrap_or((0.0, 0.0));
                w.write_record([
                    code.as_str(),
                    u.name.as_deref().unwrap_or_default(),
                    u.parent.as_deref().unwrap_or_default(),
                    &format!("{lng:.6}"),
                    &format!("{lat:.6}"),
                    &u.population.map(|p| p.to_string()).unwrap_or_default(),
                    &u.aliases.join("|"),
                    &u.former_codes.join("|"),
                ])
                .expect("in memory");
            }
            let skip = *level == AdminLevel::City && !any;
            if !skip {
                texts.push((
                    file.to_string(),
                    String::from_utf8(w.into_inner().expect("in memory")).expect("UTF-8"),
                ));
            }
        }
        texts
    }
}

/// A point strictly inside a polygon: geo's interior point, else its centroid, else the first of a
/// 9 × 9 lattice over its bounding box (geo's interior point may fall on an edge of a rectilinear
/// polygon, which then lies on a neighbour's edge too).
fn inside_point(b: &MultiPolygon<f64>) -> Option<Point<f64>> {
    let rect = geo::BoundingRect::bounding_rect(b)?;
    let (w, h) = (rect.width(), rect.height());
    // Off the round fractions, where rectilinear outlines have their vertices.
    let at = move |i: usize, j: usize| {
        Point::new(
            rect.min().x + w * (i as f64 + 0.37) / 9.0,
            rect.min().y + h * (j as f64 + 0.41) / 9.0,
        )
    };
    b.interior_point()
        .into_iter()
        .chain(geo::Centroid::centroid(b))
        .chain((0..9).flat_map(move |i| (0..9).map(move |j| at(i, j))))
        .map(|p| Point::new(geometry::round6(p.x()), geometry::round6(p.y())))
        .find(|p| b.contains(p))
}

/// The population-weighted centre of units' points (unweighted when a population is missing), and
/// whether it was weighted.
fn weighted_centre(units: &[&Draft]) -> Option<((f64, f64), bool)> {
    let points: Vec<((f64, f64), Option<u64>)> = units.iter().filter_map(|u| Some((u.point?, u.population))).collect();
    if points.is_empty() {
        return None;
    }
    let weighted = points.iter().all(|(_, p)| p.is_some_and(|p| p > 0));
    let w = |p: Option<u64>| if weighted { p.unwrap_or(0) as f64 } else { 1.0 };
    let total: f64 = points.iter().map(|(_, p)| w(*p)).sum();
    let x = points.iter().map(|((x, _), p)| x * w(*p)).sum::<f64>() / total;
    let y = points.iter().map(|((_, y), p)| y * w(*p)).sum::<f64>() / total;
    Some(((geometry::round6(x), geometry::round6(y)), weighted))
}

/// The union of polygons.
fn union_of(parts: &[&MultiPolygon<f64>]) -> MultiPolygon<f64> {
    let mut acc = MultiPolygon::<f64>(Vec::new());
    for p in parts {
        acc = acc.union(*p);
    }
    let rounded = geo::MapCoords::map_coords(&acc, |c| geo::Coord {
        x: geometry::round6(c.x),
        y: geometry::round6(c.y),
    });
    geo::orient::Orient::orient(&rounded, geo::orient::Direction::Default)
}

fn feature_json(code: &str, name: &str, level: AdminLevel, parent: Option<&str>, b: &MultiPolygon<f64>) -> String {
    let rings = crate::region::coordinates(b);
    let mut properties = serde_json::json!({ "code": code, "name": name, "level": level.code() });
    if let Some(p) = parent {
        properties["parent"] = serde_json::Value::String(p.to_string());
    }
    serde_json::json!({
        "type": "Feature",
        "properties": properties,
        "geometry": { "type": "MultiPolygon", "coordinates": rings },
    })
    .to_string()
}

/// Reads a recipe file.
pub fn load_recipe(path: &Path) -> Result<Recipe, ImportError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ImportError::Recipe {
        file: file.clone(),
        message: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e| ImportError::Recipe {
        file,
        message: e.to_string(),
    })
}

/// The recipe's root level: a province, city (the default) or county.
fn recipe_level(recipe: &Recipe, recipe_place: &Place) -> Result<AdminLevel, ImportError> {
    match recipe
        .level
        .as_deref()
        .map(|l| parse_level(l, recipe_place))
        .transpose()
    {
        Ok(None) => Ok(AdminLevel::City),
        Ok(Some(l @ (AdminLevel::Province | AdminLevel::City | AdminLevel::County))) => Ok(l),
        Ok(Some(l)) => Err(ImportError::Recipe {
            file: "recipe".into(),
            message: format!("level must be province, city or county, not {}", l.code()),
        }),
        Err(issue) => Err(ImportError::Recipe {
            file: "recipe".into(),
            message: issue.message,
        }),
    }
}

impl Importer<'_> {
    /// The root is the recipe's: its row (if a table has one) lends only its outline.
    fn root_from_recipe(&mut self, recipe_place: &Place) {
        let recipe = self.recipe;
        if let Some(root) = self.units.get_mut(&recipe.code) {
            root.level = None;
            root.parent = None;
        } else {
            self.units.insert(
                recipe.code.clone(),
                Draft {
                    level: None,
                    name: Some(recipe.name.clone()),
                    parent: None,
                    population: None,
                    point: None,
                    boundary: None,
                    aliases: Vec::new(),
                    former_codes: Vec::new(),
                    place: recipe_place.clone(),
                    parent_place: None,
                    point_place: None,
                    population_place: None,
                },
            );
        }
    }
}

/// Builds a region from `recipe`, whose file paths are relative to `base`: the region's files and
/// the report (which has no errors). With errors, [`ImportError::Invalid`] carries the report.
pub fn import(recipe: &Recipe, base: &Path) -> Result<(RegionFiles, ImportReport), ImportError> {
    let recipe_place = Place {
        file: "recipe".into(),
        sheet: None,
        row: None,
        column: None,
    };
    let root_level = recipe_level(recipe, &recipe_place)?;
    let mut importer = Importer {
        recipe,
        base,
        root_level,
        units: BTreeMap::new(),
        report: ImportReport::default(),
    };
    for source in &recipe.boundaries {
        importer.read_boundaries(source);
    }
    for source in &recipe.units {
        importer.read_table(source);
    }
    importer.root_from_recipe(&recipe_place);
    importer.settle_levels();
    importer.parents_by_containment();
    importer.settle_levels();
    importer.check_hierarchy();
    if importer.report.errors.is_empty() {
        importer.dissolve_outlines();
        importer.check_geometry();
        importer.fill_in();
    }
    importer.counts();
    importer.report.collapse_repairs();
    let report = &mut importer.report;
    report.errors.sort();
    report.errors.dedup();
    if !report.errors.is_empty() {
        return Err(ImportError::Invalid(Box::new(importer.report)));
    }
    let files = importer.files();
    if let Err(e) = files.parse() {
        importer.error(&recipe_place, format!("the region written does not load: {e}"));
        return Err(ImportError::Invalid(Box::new(importer.report)));
    }
    Ok((files, importer.report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_nest_by_their_significant_digits() {
        assert!(nests("431002", "431000"));
        assert!(nests("431000", "430000"));
        assert!(nests("429004", "420000"));
        assert!(nests("431002001", "431002"));
        assert!(nests("431002001001", "431002001"));
        assert!(!nests("431102001", "431002"));
        assert!(!nests("441002", "431000"));
        // Grid codes of a grid system are not statistical codes.
        assert!(nests("G-17", "431002001001"));
        assert!(nests("431002001001001", "431002001001"));
    }

    #[test]
    fn column_roles_are_found_by_their_names() {
        assert_eq!(role_of("行政区划代码"), Some(Role::Code));
        assert_eq!(role_of("上级代码"), Some(Role::Parent));
        assert_eq!(role_of("XZQMC"), Some(Role::Name));
        assert_eq!(role_of("常住人口"), Some(Role::Population));
        assert_eq!(role_of("经度"), Some(Role::Lng));
        assert_eq!(role_of("曾用名"), Some(Role::Aliases));
        assert_eq!(role_of("备注"), None);
    }

    #[test]
    fn distances_to_polygons_are_in_metres() {
        let ring = vec![
            (113.0, 25.0),
            (113.01, 25.0),
            (113.01, 25.01),
            (113.0, 25.01),
            (113.0, 25.0),
        ];
        let square = MultiPolygon(vec![geo::Polygon::new(geo::LineString::from(ring), vec![])]);
        assert_eq!(distance_m(&square, (113.005, 25.005)), 0.0);
        let d = distance_m(&square, (113.005, 25.011));
        assert!((d - 111.3).abs() < 1.0, "{d}");
    }
}
