//! The tile sets: `hex` (the heat map's H3 hexagons as MVT), `heat` (the same as PNG) and `admin`
//! (county boundaries, derived township and village outlines, and label points with Chinese names —
//! the offline basemap), and their TileJSON.
//!
//! The hexagons' resolution follows the zoom ([`resolution_for_zoom`]): a heat map is computed once
//! per data version, resolution, filter and view (display roles see suppressed counts; scoped
//! tokens only their unit's cells) and cut into tiles through a per-zoom index of which cells touch
//! which tile. A tile lists the cells with cases or a significant Gi* (others add nothing to draw).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use fengqiao_analytics::aggregate::SeverityWeights;
use fengqiao_analytics::cube::{is_within, CubeOptions, Space, Step};
use fengqiao_analytics::emerging::{emerging_hot_spots, EmergingOptions};
use fengqiao_analytics::filter::Filter;
use fengqiao_analytics::hotspot::{heatmap, heatmap_cached, HeatCell, Heatmap, HeatmapOptions};
use fengqiao_analytics::measure::{Measure, RiskOptions};
use fengqiao_analytics::pattern::Pattern;
use fengqiao_analytics::response::Level;
use fengqiao_ingest::model::AdminLevel;
use fengqiao_ingest::region::UnitId;
use fengqiao_ingest::Region;
use h3o::geom::SolventBuilder;
use h3o::{CellIndex, Resolution};

use crate::config::Role;
use crate::error::ApiError;
use crate::mvt::{self, Feature, Geometry, Layer, Value};
use crate::raster::{self, Shape};
use crate::state::{AppState, Principal};
use crate::TileId;

/// Zooms the hexagon tile sets serve.
pub const HEX_ZOOMS: std::ops::RangeInclusive<u8> = 5..=16;
/// Zooms the admin tile set serves.
pub const ADMIN_ZOOMS: std::ops::RangeInclusive<u8> = 4..=16;

/// The H3 resolution of the hexagons at zoom `z`: each hexagon a few to a few dozen pixels across.
///
/// | zoom | resolution | hexagon edge |
/// |---|---|---|
/// | ≤ 7 | 6 | ~3.7 km |
/// | 8–9 | 7 | ~1.4 km |
/// | 10–11 | 8 | ~530 m |
/// | ≥ 12 | 9 | ~200 m |
pub fn resolution_for_zoom(z: u8) -> Resolution {
    match z {
        0..=7 => Resolution::Six,
        8..=9 => Resolution::Seven,
        10..=11 => Resolution::Eight,
        _ => Resolution::Nine,
    }
}

/// The four-level colours (蓝 · 黄 · 橙 · 红), RGBA.
pub fn level_colour(level: Level) -> [u8; 4] {
    match level {
        Level::Blue => [0x3b, 0x82, 0xf6, 0xd0],
        Level::Yellow => [0xfa, 0xcc, 0x15, 0xd8],
        Level::Orange => [0xf9, 0x73, 0x16, 0xe0],
        Level::Red => [0xdc, 0x26, 0x26, 0xe8],
    }
}

/// Who a layer is computed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    /// Analysts and admins: the figures as they are, for the request's filter.
    Full,
    /// Display tokens: the region's layer for a display period, with every count from the display
    /// projection and only the fields [`crate::display::TILE_FEATURE`] allows on tiles.
    Display,
}

/// A computed heat map, ready to be cut into tiles.
pub struct HeatLayer {
    pub map: Heatmap,
    pub view: View,
    /// The cells drawn (with cases, suppressed counts or a significant Gi*), as indices into
    /// `map.cells`, with their H3 cells.
    shown: Vec<(usize, CellIndex)>,
    /// Per zoom: which drawn cells touch which tile.
    index: Mutex<HashMap<u8, Arc<TileIndex>>>,
    /// Emerging hot-spot pattern per cell, when asked for.
    pub patterns: Option<HashMap<String, Pattern>>,
    /// Most cases in a drawn cell (for the raster ramp).
    max_count: u64,
    /// The small-count threshold (display tiles are checked against it).
    k: u64,
}

/// Tile (x, y) → positions in a layer's drawn cells.
type TileIndex = HashMap<(u32, u32), Vec<u32>>;

/// What a heat layer is computed from.
#[derive(Clone)]
pub struct LayerRequest {
    pub res: Resolution,
    /// The cases counted: the request's filter within the token's scope (full view), or the display
    /// period over the whole region (display view).
    pub filter: Filter,
    /// Only cells whose village lies in this unit are drawn.
    pub selection: Option<UnitId>,
    pub view: View,
    /// Risk (the default: levels and clusters where cases exceed what residents and the period
    /// explain) or workload (`measure=count`).
    pub measure: Measure,
    pub trends: bool,
    /// The display period and the projection its counts come from (display view).
    pub display: Option<(crate::display::Window, Arc<crate::display::Projection>)>,
}

impl LayerRequest {
    /// The layer a request asks for at `res`: checked against the role's limits (a display token
    /// gets at most res 8, whole-week periods and no trend patterns) and the work limit.
    pub async fn new(
        state: &Arc<AppState>,
        who: &Principal,
        params: &crate::params::Params,
        res: Resolution,
        trends: bool,
    ) -> Result<LayerRequest, ApiError> {
        let measure = params.parse_or("measure", Measure::default())?;
        if who.role == Role::Display {
            if trends {
                return Err(ApiError::Forbidden(
                    "trend patterns on tiles are for analysts (the display sees levels and counts)".into(),
                ));
            }
            let projection = crate::display::projection(state).await?;
            let (window, selection) = params.display_period(&state.region, who, &projection)?;
            let (from, to) = window.bounds(projection.last_day_or_today());
            return Ok(LayerRequest {
                res: res.min(crate::display::FINEST_RES),
                filter: Filter {
                    from: Some(from),
                    to: Some(to),
                    ..Filter::default()
                },
                selection,
                view: View::Display,
                measure,
                trends: false,
                display: Some((window, projection)),
            });
        }
        let filter = crate::params::canonical(params.filter(&state.region, who)?);
        // A heat map covers the region's whole study area, whatever its filter.
        let cells = state.area.cells_in(None, res);
        let limits = &state.config.limits;
        crate::work::check(cells, limits.cells, "a heat layer")?;
        if trends {
            crate::work::check(
                cells * 52 * crate::work::ring_size(1),
                limits.work_units,
                "trend patterns",
            )?;
        }
        Ok(LayerRequest {
            res,
            filter,
            selection: who.scope,
            view: View::Full,
            measure,
            trends,
            display: None,
        })
    }

    /// The layer of a tile at zoom `z`: `res=` fixes the resolution (the explorer's choice), else
    /// it follows the zoom.
    pub async fn for_tile(
        state: &Arc<AppState>,
        who: &Principal,
        params: &crate::params::Params,
        z: u8,
    ) -> Result<LayerRequest, ApiError> {
        let res = match params.get("res") {
            Some(_) => fengqiao_analytics::cells::resolution(params.number_in("res", 8u8, 5..=10)?)?,
            None => resolution_for_zoom(z),
        };
        let trends = params.parse_or("trends", false)?;
        LayerRequest::new(state, who, params, res, trends).await
    }

    /// The cache key: everything the layer depends on, in canonical form (the data version is
    /// added by the cache; a display layer's is its projection's).
    pub fn key(&self) -> String {
        let window = self.display.as_ref().map(|(w, p)| (*w, p.version));
        format!(
            "{:?}|{}|{}|{:?}|{:?}|{:?}|{}",
            self.view,
            self.measure,
            u8::from(self.res),
            self.filter,
            self.selection,
            window,
            self.trends
        )
    }
}

/// A cache entry: the layer once computed. Requests that arrive while it is being computed wait for
/// that computation instead of starting their own (a wall asks for a dozen tiles of one layer at once).
pub(crate) type LayerSlot = Arc<tokio::sync::OnceCell<Arc<HeatLayer>>>;

/// The cache entry for `key`, created empty when missing (weighed once its layer is computed).
fn slot(state: &AppState, key: &str) -> LayerSlot {
    state
        .layers
        .lock()
        .expect("layer cache")
        .get_or_insert(key.to_string(), LayerSlot::default, 0)
}

/// The layer for `request`, from the cache or computed (off the async runtime, once per key).
pub async fn heat_layer(state: &Arc<AppState>, request: LayerRequest) -> Result<Arc<HeatLayer>, ApiError> {
    let key = format!("{}|{}", state.version(), request.key());
    let slot = slot(state, &key);
    let layer = slot
        .get_or_try_init(|| state.read(move |conn, state| build_layer(conn, state, &request).map(Arc::new)))
        .await
        .cloned()?;
    state.layers.lock().expect("layer cache").weigh(&key, layer.bytes());
    Ok(layer)
}

/// Computes the display projection and the layers the wall asks for first (the region's last week
/// at the zoom table's resolutions, for the display and the full view) into the caches: the wall's
/// first tiles after a start or an ingest then need no computation.
pub(crate) fn warm_up(conn: &duckdb::Connection, state: &Arc<AppState>) {
    let version = state.version();
    let projection = match crate::display::Projection::compute(conn, &state.region, state.config.suppress_below) {
        Ok(mut p) => {
            p.version = version;
            let p = Arc::new(p);
            crate::display::offer(state, version, Arc::clone(&p));
            p
        }
        Err(e) => {
            tracing::warn!(error = %e, "warming up the display projection");
            return;
        }
    };
    let window = crate::display::Window::Blocks { newest: 0, oldest: 0 };
    let (from, to) = window.bounds(projection.last_day_or_today());
    for res in [Resolution::Six, Resolution::Seven, Resolution::Eight, Resolution::Nine] {
        let display = LayerRequest {
            res: res.min(crate::display::FINEST_RES),
            filter: Filter {
                from: Some(from),
                to: Some(to),
                ..Filter::default()
            },
            selection: None,
            view: View::Display,
            measure: Measure::default(),
            trends: false,
            display: Some((window, Arc::clone(&projection))),
        };
        let full = LayerRequest {
            res,
            filter: Filter::default(),
            selection: None,
            view: View::Full,
            measure: Measure::default(),
            trends: false,
            display: None,
        };
        for request in [display, full] {
            let key = format!("{version}|{}", request.key());
            let slot = slot(state, &key);
            if slot.initialized() {
                continue;
            }
            match build_layer(conn, state, &request) {
                Ok(layer) if state.version() == version => {
                    let bytes = layer.bytes();
                    // A request may have computed it meanwhile: either is the same layer.
                    let _ = slot.set(Arc::new(layer));
                    state.layers.lock().expect("layer cache").weigh(&key, bytes);
                }
                Ok(_) => return, // the data changed meanwhile: the next load warms up again
                Err(e) => tracing::warn!(error = %e, "warming up the heat layers"),
            }
        }
    }
    tracing::info!(version, "heat layers warmed up");
}

fn build_layer(conn: &duckdb::Connection, state: &AppState, request: &LayerRequest) -> Result<HeatLayer, ApiError> {
    let region = &state.region;
    let opts = HeatmapOptions {
        res: request.res,
        k: 1,
        kernel: false,
        filter: request.filter.clone(),
        weights: SeverityWeights::default(),
        as_of: fengqiao_ingest::time::now_china(),
        rules: state.config.rules().clone(),
        measure: request.measure,
        risk: RiskOptions::default(),
    };
    let mut map = match state.columns() {
        Some(columns) => heatmap_cached(&columns, region, &opts)?,
        None => heatmap(conn, region, &opts)?,
    };
    if let Some((window, projection)) = &request.display {
        project_layer(&mut map, region, *window, projection);
    }
    let inside = |cell: &HeatCell| match request.selection {
        None => true,
        Some(scope) => region
            .id(&cell.village_code)
            .is_some_and(|v| is_within(region, v, scope)),
    };
    let shown: Vec<(usize, CellIndex)> = map
        .cells
        .iter()
        .enumerate()
        .filter(|(_, c)| (c.count != Some(0) || c.confidence != 0) && inside(c))
        .filter_map(|(i, c)| c.h3.parse::<CellIndex>().ok().map(|cell| (i, cell)))
        .collect();
    let max_count = shown.iter().filter_map(|&(i, _)| map.cells[i].count).max().unwrap_or(0);
    let patterns = if request.trends {
        let cube = fengqiao_analytics::cube::cube(
            conn,
            region,
            &CubeOptions {
                space: Space::Cells(request.res),
                step: Step::Week,
                steps: 52,
                last_day: request.filter.last_day(),
                filter: Filter {
                    from: None,
                    ..request.filter.clone()
                },
                measure: request.measure,
            },
        )?;
        let trends = emerging_hot_spots(region, &cube, &EmergingOptions::default());
        Some(trends.locations.into_iter().map(|l| (l.location, l.pattern)).collect())
    } else {
        None
    };
    Ok(HeatLayer {
        map,
        view: request.view,
        shown,
        index: Mutex::new(HashMap::new()),
        patterns,
        max_count,
        k: state.config.suppress_below,
    })
}

/// A heat map as the display sees it: each cell's count from the projection (hidden ones `None`,
/// marked suppressed), no other figure of a cell; each cluster's cases only when all its cells'
/// are shown, its reason without figures the display may not see.
pub fn project_layer(
    map: &mut Heatmap,
    region: &Region,
    window: crate::display::Window,
    p: &crate::display::Projection,
) {
    use crate::display::{slice, Area};
    let mut counts: HashMap<String, Option<u64>> = HashMap::new();
    for cell in &mut map.cells {
        let count = cell
            .h3
            .parse::<CellIndex>()
            .ok()
            .and_then(|c| p.count(region, Area::Cell(u64::from(c)), slice::ALL, window));
        cell.count = count;
        cell.suppressed = count.is_none();
        cell.score = None;
        cell.open = None;
        cell.overdue = None;
        cell.top_category = None;
        cell.level_reason = String::new();
        // Figures made from the count: the ratio only beside a shown count; the others never.
        cell.ratio = cell.ratio.filter(|_| count.is_some());
        cell.excess_p = None;
        cell.value = None;
        counts.insert(cell.h3.clone(), count);
    }
    let weeks = map.weeks;
    for cluster in &mut map.clusters {
        let cases: Option<u64> = cluster.cells.iter().map(|h| counts.get(h).copied().flatten()).sum();
        cluster.cases = cases;
        cluster.cases_per_week = cases.map(|n| if weeks > 0.0 { n as f64 / weeks } else { 0.0 });
        cluster.ratio = cluster.ratio.filter(|_| cases.is_some());
        let level_text = format!("{}（{}）", cluster.level.responder_zh(), cluster.level.zh());
        cluster.reason = crate::display::display_reason(&cluster.reason, cases.is_some(), &level_text);
        for place in cluster
            .counties
            .iter_mut()
            .chain(&mut cluster.townships)
            .chain(&mut cluster.villages)
        {
            place.cases = None;
        }
    }
}

impl HeatLayer {
    /// The cells drawn in `tile`, as indices into `map.cells`, with their cells.
    pub fn cells_in(&self, tile: TileId) -> Vec<(usize, CellIndex)> {
        let index = {
            let mut by_zoom = self.index.lock().expect("tile index");
            Arc::clone(
                by_zoom
                    .entry(tile.z)
                    .or_insert_with(|| Arc::new(self.build_index(tile.z))),
            )
        };
        index
            .get(&(tile.x, tile.y))
            .map(|list| list.iter().map(|&k| self.shown[k as usize]).collect())
            .unwrap_or_default()
    }

    fn build_index(&self, z: u8) -> TileIndex {
        let mut index = TileIndex::new();
        for (k, &(_, cell)) in self.shown.iter().enumerate() {
            let boundary = cell.boundary();
            let (mut west, mut east, mut south, mut north) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
            for v in boundary.iter() {
                west = west.min(v.lng());
                east = east.max(v.lng());
                south = south.min(v.lat());
                north = north.max(v.lat());
            }
            let (Ok(nw), Ok(se)) = (TileId::containing(z, west, north), TileId::containing(z, east, south)) else {
                continue;
            };
            for y in nw.y..=se.y {
                for x in nw.x..=se.x {
                    index.entry((x, y)).or_default().push(k as u32);
                }
            }
        }
        index
    }

    /// Memory the layer holds, roughly: its cells and clusters, and the tile indexes of the zooms
    /// it may be cut at.
    pub fn bytes(&self) -> usize {
        let cell = std::mem::size_of::<HeatCell>() + 96;
        let clusters: usize = self.map.clusters.iter().map(|c| 512 + c.cells.len() * 40).sum();
        let index = self.shown.len() * HEX_ZOOMS.clone().count() * 24;
        self.map.cells.len() * cell + clusters + self.shown.len() * 16 + index
    }

    /// The tile as MVT (uncompressed), or `None` when nothing is in it. A display layer's features
    /// carry only the properties [`crate::display::TILE_FEATURE`] allows, counts checked.
    pub fn mvt(&self, tile: TileId) -> Option<Vec<u8>> {
        let allowed = |name: &str, value: &Value| match self.view {
            View::Full => true,
            View::Display => crate::display::TILE_FEATURE.fields.iter().any(|&(field, kind)| {
                field == name
                    && match (kind, value) {
                        (crate::display::Field::Count, Value::Int(n)) => *n == 0 || *n as u64 >= self.k,
                        (crate::display::Field::Count, _) => false,
                        _ => true,
                    }
            }),
        };
        let features: Vec<Feature> = self
            .cells_in(tile)
            .into_iter()
            .map(|(i, cell)| {
                let c = &self.map.cells[i];
                let mut properties = vec![("h3".to_string(), Value::String(c.h3.clone()))];
                if let Some(n) = c.count {
                    properties.push(("count".into(), Value::Int(n as i64)));
                }
                if let Some(s) = c.score {
                    properties.push(("score".into(), Value::Double(s)));
                }
                for (name, figure) in [
                    ("population", c.population),
                    ("expected", c.expected),
                    ("ratio", c.ratio),
                ] {
                    if let Some(x) = figure {
                        properties.push((name.into(), Value::Double((x * 100.0).round() / 100.0)));
                    }
                }
                properties.push(("gi_z".into(), Value::Double((c.gi_z * 1000.0).round() / 1000.0)));
                properties.push(("confidence".into(), Value::Int(i64::from(c.confidence))));
                if let Some(level) = c.level {
                    properties.push(("level".into(), Value::String(level.code().to_string())));
                }
                if let Some(category) = c.top_category {
                    properties.push(("top_category".into(), Value::String(category.code().to_string())));
                }
                if let Some(pattern) = self.patterns.as_ref().and_then(|p| p.get(&c.h3)) {
                    properties.push(("pattern".into(), Value::String(pattern.code().to_string())));
                }
                properties.retain(|(name, value)| allowed(name, value));
                Feature {
                    id: Some(u64::from(cell)),
                    geometry: Geometry::Polygons(vec![vec![ring(cell)]]),
                    properties,
                }
            })
            .collect();
        if features.is_empty() {
            return None;
        }
        Some(mvt::encode(
            tile,
            &[Layer {
                name: "hex".into(),
                features,
            }],
        ))
    }

    /// The tile as PNG (`size` 256 or 512), or `None` when nothing is in it.
    pub fn png(&self, tile: TileId, size: u32) -> Result<Option<Vec<u8>>, ApiError> {
        let shapes: Vec<Shape> = self
            .cells_in(tile)
            .into_iter()
            .map(|(i, cell)| {
                let c = &self.map.cells[i];
                let fill = match (c.level, c.count) {
                    (Some(level), _) => level_colour(level),
                    (None, Some(n)) => {
                        // A light teal ramp for cells outside the hot-spot clusters: by the ratio
                        // to the expected count (risk; 4× and more is full) or by cases (workload).
                        let share = match (self.map.measure.is_risk(), c.ratio) {
                            (true, Some(ratio)) => ((ratio - 1.0) / 3.0).clamp(0.0, 1.0),
                            (true, None) => 0.0,
                            (false, _) if self.max_count > 0 => (n as f64 / self.max_count as f64).sqrt(),
                            (false, _) => 0.0,
                        };
                        [0x5e, 0xc4, 0xc0, (40.0 + 140.0 * share) as u8]
                    }
                    (None, None) => [0x9c, 0xa3, 0xaf, 0x60],
                };
                Shape {
                    rings: vec![ring(cell)],
                    fill,
                    outline: None,
                }
            })
            .collect();
        if shapes.is_empty() {
            return Ok(None);
        }
        raster::render(tile, size, &shapes)
            .map(Some)
            .map_err(|e| ApiError::Internal(e.to_string()))
    }
}

/// A cell's boundary as a WGS84 ring.
fn ring(cell: CellIndex) -> Vec<[f64; 2]> {
    cell.boundary().iter().map(|v| [v.lng(), v.lat()]).collect()
}

/// The admin basemap: boundaries (real for the city and counties, derived below), label points.
pub struct Basemap {
    outlines: Vec<Outline>,
}

/// One unit's outline.
struct Outline {
    level: AdminLevel,
    code: String,
    name: String,
    /// Polygons, each its rings (WGS84).
    polygons: Vec<Vec<Vec<[f64; 2]>>>,
}

static BASEMAP: OnceLock<(String, Basemap)> = OnceLock::new();

/// Units with a polygon in the region data are outlined by it. Townships and villages without one
/// (the default region has points only below county level) are outlined by the res-8 cells of the
/// study area placed in them ([`fengqiao_analytics::places`]), dissolved.
pub fn basemap(region: &Region) -> &'static Basemap {
    let (code, map) = BASEMAP.get_or_init(|| (region.code.clone(), build_basemap(region)));
    debug_assert_eq!(code, &region.code, "one region per process");
    map
}

fn build_basemap(region: &Region) -> Basemap {
    let mut outlines = Vec::new();
    for (level, unit) in region.units.iter().map(|u| (u.level, u)) {
        if let Some(boundary) = &unit.boundary {
            outlines.push(Outline {
                level,
                code: unit.code.clone(),
                name: unit.name.clone(),
                polygons: polygons(boundary),
            });
        }
    }
    let cells = fengqiao_analytics::cells::study_area(region, Resolution::Eight);
    let places = fengqiao_analytics::places::cell_places(region, &cells);
    for level in [AdminLevel::Township, AdminLevel::Village] {
        let mut groups: HashMap<UnitId, Vec<CellIndex>> = HashMap::new();
        for (cell, place) in cells.iter().zip(&places) {
            let unit = if level == AdminLevel::Township {
                place.township
            } else {
                place.village
            };
            if region.units[unit as usize].boundary.is_none() {
                groups.entry(unit).or_default().push(*cell);
            }
        }
        let mut units: Vec<_> = groups.into_iter().collect();
        units.sort_by_key(|(u, _)| *u);
        for (unit, cells) in units {
            if let Ok(shape) = SolventBuilder::new().build().dissolve(cells) {
                let u = &region.units[unit as usize];
                outlines.push(Outline {
                    level,
                    code: u.code.clone(),
                    name: u.name.clone(),
                    polygons: polygons(&shape),
                });
            }
        }
    }
    Basemap { outlines }
}

use fengqiao_ingest::region::coordinates as polygons;

/// The lowest zoom at which a level's outlines and labels appear.
pub fn admin_min_zoom(level: AdminLevel) -> u8 {
    match level {
        AdminLevel::Province | AdminLevel::City | AdminLevel::County => 4,
        AdminLevel::Township => 9,
        AdminLevel::Village => 11,
        AdminLevel::Grid => 13,
    }
}

/// The admin tile: layer `boundary` (outlines with `code`, `name`, `level`) and layer `label`
/// (points with the same), for the levels shown at this zoom.
pub fn admin_tile(region: &Region, tile: TileId) -> Option<Vec<u8>> {
    let map = basemap(region);
    let bounds = tile.bounds();
    let props = |level: AdminLevel, code: &str, name: &str| {
        vec![
            ("code".to_string(), Value::String(code.to_string())),
            ("name".to_string(), Value::String(name.to_string())),
            ("level".to_string(), Value::String(level.code().to_string())),
        ]
    };
    let boundary: Vec<Feature> = map
        .outlines
        .iter()
        .filter(|o| tile.z >= admin_min_zoom(o.level))
        .map(|o| Feature {
            id: None,
            geometry: Geometry::Polygons(o.polygons.clone()),
            properties: props(o.level, &o.code, &o.name),
        })
        .collect();
    let pad_x = (bounds.east - bounds.west) * 0.05;
    let pad_y = (bounds.north - bounds.south) * 0.05;
    let label: Vec<Feature> = region
        .units
        .iter()
        .skip(1) // the root is the map itself
        .filter(|u| tile.z >= admin_min_zoom(u.level))
        .filter(|u| {
            (bounds.west - pad_x..=bounds.east + pad_x).contains(&u.lng)
                && (bounds.south - pad_y..=bounds.north + pad_y).contains(&u.lat)
        })
        .map(|u| Feature {
            id: None,
            geometry: Geometry::Points(vec![[u.lng, u.lat]]),
            properties: props(u.level, &u.code, &u.name),
        })
        .collect();
    let bytes = mvt::encode(
        tile,
        &[
            Layer {
                name: "boundary".into(),
                features: boundary,
            },
            Layer {
                name: "label".into(),
                features: label,
            },
        ],
    );
    (!bytes.is_empty()).then_some(bytes)
}

/// The region's bounding box `[west, south, east, north]` and centre.
pub fn region_bounds(region: &Region) -> ([f64; 4], [f64; 2]) {
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    if let Some(boundary) = &region.units[0].boundary {
        for p in &boundary.0 {
            for c in &p.exterior().0 {
                b = [b[0].min(c.x), b[1].min(c.y), b[2].max(c.x), b[3].max(c.y)];
            }
        }
    }
    let centre = [region.units[0].lng, region.units[0].lat];
    (b, centre)
}

/// TileJSON 3.0.0 for tile set `name` (`hex`, `heat` or `admin`), its tile URLs under `base`
/// carrying `query` (the data version and filters).
pub fn tilejson(region: &Region, name: &str, base: &str, query: &str) -> Option<tilejson::TileJSON> {
    let (bounds, centre) = region_bounds(region);
    let (extension, zooms, description) = match name {
        "hex" => (
            "mvt",
            HEX_ZOOMS,
            "矛盾热力图: H3 hexagons with cases, residents, expected cases, Gi* and four-level response (measure=excess risk by default, measure=count workload)",
        ),
        "heat" => (
            "png",
            HEX_ZOOMS,
            "矛盾热力图 (raster): the hexagons in the four-level colours",
        ),
        "admin" => (
            "mvt",
            ADMIN_ZOOMS,
            "行政区划底图: boundaries and names (offline basemap)",
        ),
        _ => return None,
    };
    let q = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    let layer = |id: &str, description: &str, fields: &[(&str, &str)]| tilejson::VectorLayer {
        description: Some(description.to_string()),
        minzoom: Some(*zooms.start()),
        maxzoom: Some(*zooms.end()),
        ..tilejson::VectorLayer::new(
            id.to_string(),
            fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        )
    };
    let place = [("code", "String"), ("name", "String"), ("level", "String")];
    let vector_layers = match name {
        "hex" => Some(vec![layer(
            "hex",
            "H3 cells (resolution by zoom: 6 up to z7, 7 at z8–9, 8 at z10–11, 9 from z12)",
            &[
                ("h3", "String"),
                ("count", "Number"),
                ("score", "Number"),
                ("gi_z", "Number"),
                ("population", "Number"),
                ("expected", "Number"),
                ("ratio", "Number"),
                ("confidence", "Number"),
                ("level", "String"),
                ("top_category", "String"),
                ("pattern", "String"),
            ],
        )]),
        "admin" => Some(vec![
            layer("boundary", "city, county, township and village outlines", &place),
            layer(
                "label",
                "label points of counties, townships, villages and grids",
                &place,
            ),
        ]),
        _ => None,
    };
    let mut json = tilejson::tilejson! {
        tiles: vec![format!("{base}/tiles/{name}/{{z}}/{{x}}/{{y}}.{extension}{q}")],
        name: format!("{} {name}", region.name),
        description: description.to_string(),
        attribution: region.attribution.clone(),
        minzoom: *zooms.start(),
        maxzoom: *zooms.end(),
        bounds: tilejson::Bounds::new(bounds[0], bounds[1], bounds[2], bounds[3]),
        center: tilejson::Center::new(centre[0], centre[1], 9),
        scheme: "xyz".to_string(),
    };
    json.vector_layers = vector_layers;
    Some(json)
}
