//! The population surface: residents per H3 cell, so that an expected count can be computed for any
//! cell at resolution 5–10 (the "risk is not volume" half of the analytics, see [`crate::expected`]).
//!
//! Built from the region's units: each unit whose population is known and whose children carry none
//! (in the default region: the grids) spreads its residents over its area —
//!
//! * over the res-10 cells whose centre lies in its **polygon**, evenly, where the region has one;
//! * else around its representative point, **as the store places its cases** ([`Placement`]): a
//!   share at the point's own res-10 cell (records located by their unit's code, or geocoded to the
//!   committee's door) and the rest over a **Gaussian kernel** whose σ is how far such units'
//!   geocoded cases lie from their points — fitted from a sample of the store, pooled over the
//!   units of the level and density class (quartile of the distance to the nearest other unit), so
//!   that a town's grids and a mountain village's get their own and no single hot spot moves them. Observed and
//!   expected counts then share one geocoding process: a cell is not "abnormal" because the case
//!   system puts a village's cases on the village's point while its residents are spread out.
//!   Without cases the kernel's σ is half the distance to the nearest other point spread this way
//!   (places are about as far apart as they are wide). σ is clamped to [`KERNEL_SIGMA_M`] and the
//!   kernel truncated at [`KERNEL_RADIUS_SIGMAS`] σ; its weights are evaluated at the cell centres
//!   of res 10, or of a coarser resolution for wide kernels (each coarse cell's share then goes
//!   evenly to its res-10 children).
//!
//! A unit's residents are apportioned to cells as whole persons by largest remainders, so every
//! unit's total is conserved exactly. A parent whose population is given shares it among its
//! children in proportion to theirs (children without a figure share what is left evenly), so the
//! parent's total is conserved too. A region may instead supply its own per-cell population
//! ([`fengqiao_ingest::Region::cell_population`]: `population.csv` or a GeoTIFF raster such as
//! WorldPop); those cells are then taken as they are, each attached to the village nearest its centre.
//!
//! Cells with no residents are simply absent: [`PopulationSurface::people_of`] gives them 0 and the
//! statistics mark them (never divide by them).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

use fengqiao_ingest::model::AdminLevel;
use fengqiao_ingest::region::UnitId;
use fengqiao_ingest::Region;
use h3o::geom::{ContainmentMode, TilerBuilder};
use h3o::{CellIndex, LatLng, Resolution};

use crate::cells::parent_masks;
use crate::source::CaseSource;
use crate::AnalyticsError;

/// Smallest and largest kernel σ (metres).
pub const KERNEL_SIGMA_M: (f64, f64) = (50.0, 5_000.0);

/// Fewest cases of a pool whose spread is fitted, and pseudo-cases of the level's share in a unit's
/// own share (a unit with this many cases of its own is halfway between its own figure and its
/// level's).
pub const PLACEMENT_PRIOR_CASES: f64 = 20.0;

/// Radius (m) of a circle as large as a res-10 cell: cases within it of a point share its cell.
const RES10_RADIUS_M: f64 = 69.0;

/// Kernels are cut at this many σ (98.9 % of a 2-D Gaussian's mass lies within 3 σ; the weights are
/// renormalised over what is kept).
pub const KERNEL_RADIUS_SIGMAS: f64 = 3.0;

/// At most this many grid rings are evaluated per kernel; wider kernels use a coarser resolution.
const MAX_KERNEL_RINGS: u32 = 24;

/// Distance between neighbouring res-10 cell centres (m), the unit the ring count is measured in.
const RES10_SPACING_M: f64 = 131.0;

/// How the surface was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SurfaceSource {
    /// From the region's units: `polygons` of them spread over their polygon, `kernels` over a kernel.
    Units { polygons: usize, kernels: usize },
    /// Supplied per cell by the region (`cells` res-10 cells with residents).
    Supplied { cells: usize },
}

/// Residents of one res-10 cell that belong to one unit (the unit whose population was spread).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    cell: u64,
    unit: UnitId,
    people: f32,
}

/// Surfaces by (region, state of the cases).
type SurfaceCache = HashMap<(u64, u64), Arc<PopulationSurface>>;

/// Residents per res-10 cell, with the unit each share came from.
#[derive(Debug, Clone)]
pub struct PopulationSurface {
    /// Sorted by cell, then unit.
    entries: Vec<Entry>,
    /// Residents of every unit of the region (index = [`UnitId`]), summed up the hierarchy.
    unit_people: Vec<f64>,
    total: f64,
    pub source: SurfaceSource,
}

impl PopulationSurface {
    /// The surface of `region` for the cases of `source` (whose placement it follows), built once
    /// per region and state of the cases and shared (the server and every command ask for it many
    /// times).
    pub fn of(region: &Region, source: &CaseSource<'_>) -> Result<Arc<PopulationSurface>, AnalyticsError> {
        static CACHE: OnceLock<Mutex<SurfaceCache>> = OnceLock::new();
        let key = (fingerprint(region), source.fingerprint()?);
        let cache = CACHE.get_or_init(Default::default);
        if let Some(surface) = cache.lock().expect("not poisoned").get(&key) {
            return Ok(surface.clone());
        }
        let sample = source.placement_sample(region, crate::source::PLACEMENT_SAMPLE)?;
        let placement = Placement::fit(region, &sample);
        let surface = Arc::new(PopulationSurface::build(region, &placement)?);
        let mut cache = cache.lock().expect("not poisoned");
        if cache.len() >= 8 {
            cache.clear();
        }
        cache.insert(key, surface.clone());
        Ok(surface)
    }

    /// Builds the surface (see the module documentation), the units' points spread as `placement`
    /// says.
    pub fn build(region: &Region, placement: &Placement) -> Result<PopulationSurface, AnalyticsError> {
        let (mut entries, source) = match &region.cell_population {
            Some(cells) => (
                supplied_entries(region, cells),
                SurfaceSource::Supplied { cells: cells.len() },
            ),
            None => spread_units(region, placement)?,
        };
        entries.sort_unstable_by(|a, b| a.cell.cmp(&b.cell).then(a.unit.cmp(&b.unit)));
        let mut unit_people = vec![0.0; region.units.len()];
        for e in &entries {
            let mut at = Some(e.unit);
            while let Some(u) = at {
                unit_people[u as usize] += f64::from(e.people);
                at = region.parent(u);
            }
        }
        let total = entries.iter().map(|e| f64::from(e.people)).sum();
        if total <= 0.0 {
            return Err(AnalyticsError::Population(
                "the region gives no population for any unit: risk measures need residents (use the count measure)"
                    .into(),
            ));
        }
        Ok(PopulationSurface {
            entries,
            unit_people,
            total,
            source,
        })
    }

    /// All residents of the region.
    pub fn total(&self) -> f64 {
        self.total
    }

    /// Residents of unit `id` (its own and its descendants' shares).
    pub fn unit(&self, id: UnitId) -> f64 {
        self.unit_people.get(id as usize).copied().unwrap_or(0.0)
    }

    /// Residents per cell of `res` (sorted by cell), counting only the residents of unit `within`
    /// when given.
    pub fn cells(&self, region: &Region, res: Resolution, within: Option<UnitId>) -> Vec<(u64, f64)> {
        let (keep, set) = parent_masks(res);
        let mut inside_cache: HashMap<UnitId, bool> = HashMap::new();
        let mut out: Vec<(u64, f64)> = Vec::new();
        for e in &self.entries {
            if let Some(w) = within {
                let inside = *inside_cache
                    .entry(e.unit)
                    .or_insert_with(|| crate::cube::is_within(region, e.unit, w));
                if !inside {
                    continue;
                }
            }
            let parent = (e.cell & keep) | set;
            match out.last_mut() {
                Some(last) if last.0 == parent => last.1 += f64::from(e.people),
                _ => out.push((parent, f64::from(e.people))),
            }
        }
        // Entries are sorted by res-10 cell, so parents come in runs but not always in order.
        out.sort_unstable_by_key(|&(c, _)| c);
        let mut merged: Vec<(u64, f64)> = Vec::with_capacity(out.len());
        for (c, p) in out {
            match merged.last_mut() {
                Some(last) if last.0 == c => last.1 += p,
                _ => merged.push((c, p)),
            }
        }
        merged
    }

    /// Residents of each of `cells` (all of resolution `res`), 0 where nobody lives.
    pub fn people_of(&self, region: &Region, cells: &[CellIndex], res: Resolution, within: Option<UnitId>) -> Vec<f64> {
        let by_cell: HashMap<u64, f64> = self.cells(region, res, within).into_iter().collect();
        cells
            .iter()
            .map(|c| by_cell.get(&u64::from(*c)).copied().unwrap_or(0.0))
            .collect()
    }
}

/// A cheap fingerprint of a region's units and their populations and points.
fn fingerprint(region: &Region) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    region.code.hash(&mut h);
    region.units.len().hash(&mut h);
    for u in &region.units {
        u.code.hash(&mut h);
        u.population.hash(&mut h);
        u.lng.to_bits().hash(&mut h);
        u.lat.to_bits().hash(&mut h);
        u.boundary.is_some().hash(&mut h);
    }
    region.cell_population.as_ref().map(|c| c.len()).hash(&mut h);
    h.finish()
}

/// The region's own per-cell population: each cell (any resolution 5–10; finer cells were taken to
/// res 10 on loading) spread evenly over its res-10 children and attached to the village nearest it.
fn supplied_entries(region: &Region, cells: &[(u64, f64)]) -> Vec<Entry> {
    let parsed: Vec<(CellIndex, f64)> = cells
        .iter()
        .filter_map(|&(c, p)| CellIndex::try_from(c).ok().map(|c| (c, p)))
        .filter(|&(_, p)| p > 0.0)
        .collect();
    let owners = crate::places::cell_places(region, &parsed.iter().map(|&(c, _)| c).collect::<Vec<_>>());
    let mut entries = Vec::new();
    for ((cell, people), owner) in parsed.into_iter().zip(owners) {
        let children: Vec<CellIndex> = if cell.resolution() >= Resolution::Ten {
            vec![cell.parent(Resolution::Ten).unwrap_or(cell)]
        } else {
            cell.children(Resolution::Ten).collect()
        };
        let share = people / children.len() as f64;
        for child in children {
            entries.push(Entry {
                cell: u64::from(child),
                unit: owner.village,
                people: share as f32,
            });
        }
    }
    entries
}

/// A unit whose residents are spread over its own area, with how many of them; `at_point`: all at
/// its point's cell (the share of a parent whose cases name only it and lie at its point).
struct Leaf {
    unit: UnitId,
    people: u64,
    at_point: bool,
}

/// Spreads every unit's population (see the module documentation).
fn spread_units(region: &Region, placement: &Placement) -> Result<(Vec<Entry>, SurfaceSource), AnalyticsError> {
    let mut leaves = Vec::new();
    let root: UnitId = 0;
    let root_people = known_people(region, root);
    share_down(region, placement, root, root_people, &mut leaves);
    let kernel_points: Vec<(f64, f64)> = leaves
        .iter()
        .filter(|l| region.units[l.unit as usize].boundary.is_none())
        .map(|l| {
            let u = &region.units[l.unit as usize];
            (u.lng, u.lat)
        })
        .collect();
    let spacing = NearestNeighbour::new(&kernel_points);
    let spread_leaf = |leaf: &Leaf| -> Vec<Entry> {
        let unit = &region.units[leaf.unit as usize];
        let weights = match &unit.boundary {
            _ if leaf.at_point => spread_weights(
                unit.lng,
                unit.lat,
                Spread {
                    at_point: 1.0,
                    sigma_m: KERNEL_SIGMA_M.0,
                },
            ),
            Some(boundary) => polygon_weights(boundary, unit.lng, unit.lat),
            _ => {
                let spread = placement.spread(region, leaf.unit).unwrap_or_else(|| Spread {
                    at_point: 0.0,
                    sigma_m: (spacing.distance_m(unit.lng, unit.lat) / 2.0).clamp(KERNEL_SIGMA_M.0, KERNEL_SIGMA_M.1),
                });
                spread_weights(unit.lng, unit.lat, spread)
            }
        };
        let people = apportion(leaf.people, &weights.iter().map(|w| w.1).collect::<Vec<_>>());
        weights
            .iter()
            .zip(people)
            .filter(|&(_, n)| n > 0)
            .map(|(&(cell, _), n)| Entry {
                cell,
                unit: leaf.unit,
                people: n as f32,
            })
            .collect()
    };
    let entries: Vec<Entry> = {
        use rayon::prelude::*;
        leaves.par_iter().flat_map_iter(spread_leaf).collect()
    };
    let polygons = leaves
        .iter()
        .filter(|l| !l.at_point && region.units[l.unit as usize].boundary.is_some())
        .count();
    let kernels = leaves.len() - polygons;
    Ok((entries, SurfaceSource::Units { polygons, kernels }))
}

/// How a unit's cases lie around its point: a share in the point's own res-10 cell, the rest about
/// Gaussian with this σ.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Spread {
    pub at_point: f64,
    pub sigma_m: f64,
}

/// Where a store's cases lie around the points of the units they name, pooled over the units of a
/// level and density class (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Placement {
    /// Each unit's density class: the quartile of its distance to the nearest other unit of its
    /// level (0: the densest quarter).
    class_of: HashMap<UnitId, u8>,
    by_class: HashMap<(AdminLevel, u8), Spread>,
    by_level: HashMap<AdminLevel, Spread>,
    /// Of the cases of a unit with children (its own or its descendants'), the share that names only
    /// the unit itself (a village without the grid).
    own_share: HashMap<UnitId, f64>,
}

/// The spreads of the pools with enough cases.
fn fitted<K: Copy + Eq + std::hash::Hash>(pools: &HashMap<K, Offsets>) -> HashMap<K, Spread> {
    pools
        .iter()
        .filter(|(_, o)| o.n() >= PLACEMENT_PRIOR_CASES)
        .filter_map(|(k, o)| o.spread().map(|s| (*k, s)))
        .collect()
}

/// Density classes of a level: quartiles of the nearest-neighbour distance.
pub const DENSITY_CLASSES: u8 = 4;

/// The density class of every unit of every level (see [`Placement`]).
fn density_classes(region: &Region) -> HashMap<UnitId, u8> {
    let mut out = HashMap::new();
    for level in [
        AdminLevel::County,
        AdminLevel::Township,
        AdminLevel::Village,
        AdminLevel::Grid,
    ] {
        let units: Vec<(UnitId, (f64, f64))> = region.level(level).map(|(id, u)| (id, (u.lng, u.lat))).collect();
        let points: Vec<(f64, f64)> = units.iter().map(|u| u.1).collect();
        let nn = NearestNeighbour::new(&points);
        let mut d: Vec<(f64, UnitId)> = units.iter().map(|&(id, (x, y))| (nn.distance_m(x, y), id)).collect();
        d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let n = d.len().max(1);
        for (rank, (_, id)) in d.into_iter().enumerate() {
            out.insert(id, (rank * usize::from(DENSITY_CLASSES) / n) as u8);
        }
    }
    out
}

/// Cases of one unit (or pool) in a placement sample: how many at its point's cell, and the
/// distances (m) of the others.
#[derive(Default)]
struct Offsets {
    at_point: u64,
    away: Vec<f64>,
}

impl Offsets {
    fn n(&self) -> f64 {
        self.at_point as f64 + self.away.len() as f64
    }

    /// The spread these cases show: σ from the median of the Gaussian part, the share at the point
    /// less what the Gaussian itself puts in the point's cell.
    fn spread(&self) -> Option<Spread> {
        let n = self.n();
        if n == 0.0 {
            return None;
        }
        let mut away = self.away.clone();
        away.sort_by(f64::total_cmp);
        let mut share = self.at_point as f64 / n;
        let mut sigma = KERNEL_SIGMA_M.0;
        for _ in 0..3 {
            // The Gaussian part's median radius is σ √(2 ln 2); the point cell holds its share.
            let q = share + 0.5 * (1.0 - share);
            let rank = ((q * n) - self.at_point as f64).max(0.0) as usize;
            let radius = away
                .get(rank.min(away.len().saturating_sub(1)))
                .copied()
                .unwrap_or(RES10_RADIUS_M);
            sigma = (radius / (2.0 * std::f64::consts::LN_2).sqrt()).clamp(KERNEL_SIGMA_M.0, KERNEL_SIGMA_M.1);
            let inner = 1.0 - (-(RES10_RADIUS_M * RES10_RADIUS_M) / (2.0 * sigma * sigma)).exp();
            share = ((self.at_point as f64 / n - inner) / (1.0 - inner)).clamp(0.0, 1.0);
        }
        Some(Spread {
            at_point: share,
            sigma_m: sigma,
        })
    }
}

impl Placement {
    /// Fits the placement to a sample of cases: (the unit each names, its res-10 cell). Pooling over
    /// a level and density class keeps one unit's hot spot (hundreds of cases a few hundred metres
    /// from its point) from widening its own kernel, which would both hide the hot spot and make
    /// its neighbours look short of cases.
    pub fn fit(region: &Region, sample: &[(UnitId, u64)]) -> Placement {
        let mut by_unit: HashMap<UnitId, Offsets> = HashMap::new();
        for &(unit, cell) in sample {
            let Some(u) = region.units.get(unit as usize) else {
                continue;
            };
            let (Ok(point), Ok(cell)) = (LatLng::new(u.lat, u.lng), CellIndex::try_from(cell)) else {
                continue;
            };
            let offsets = by_unit.entry(unit).or_default();
            if point.to_cell(Resolution::Ten) == cell {
                offsets.at_point += 1;
            } else {
                offsets.away.push(point.distance_m(LatLng::from(cell)));
            }
        }
        let class_of = density_classes(region);
        let mut classes: HashMap<(AdminLevel, u8), Offsets> = HashMap::new();
        let mut levels: HashMap<AdminLevel, Offsets> = HashMap::new();
        for (&unit, o) in &by_unit {
            let level = region.units[unit as usize].level;
            for pool in [
                classes
                    .entry((level, class_of.get(&unit).copied().unwrap_or(0)))
                    .or_default(),
                levels.entry(level).or_default(),
            ] {
                pool.at_point += o.at_point;
                pool.away.extend_from_slice(&o.away);
            }
        }
        Placement {
            own_share: own_shares(region, &by_unit),
            by_class: fitted(&classes),
            by_level: fitted(&levels),
            class_of,
        }
    }

    /// The share of unit `id`'s residents spread from its own point rather than by its children.
    pub fn own_share(&self, id: UnitId) -> f64 {
        self.own_share.get(&id).copied().unwrap_or(0.0)
    }

    /// The spread of unit `id`: its level and density class's, else its level's, else none (no
    /// cases of its level in the sample).
    pub fn spread(&self, region: &Region, id: UnitId) -> Option<Spread> {
        let level = region.units[id as usize].level;
        self.class_of
            .get(&id)
            .and_then(|&c| self.by_class.get(&(level, c)))
            .or_else(|| self.by_level.get(&level))
            .copied()
    }

    /// The pooled spread of each level with cases.
    pub fn levels(&self) -> impl Iterator<Item = (AdminLevel, Spread)> + '_ {
        self.by_level.iter().map(|(&l, &s)| (l, s))
    }
}

/// For every unit with cases below it: the share of its cases (its own and its descendants') that
/// name the unit itself, shrunk towards its level's pooled share.
fn own_shares(region: &Region, by_unit: &HashMap<UnitId, Offsets>) -> HashMap<UnitId, f64> {
    let (mut own, mut total): (HashMap<UnitId, f64>, HashMap<UnitId, f64>) = Default::default();
    for (&unit, o) in by_unit {
        *own.entry(unit).or_default() += o.n();
        let mut at = Some(unit);
        while let Some(u) = at {
            *total.entry(u).or_default() += o.n();
            at = region.parent(u);
        }
    }
    let with_children = |u: UnitId| !region.children(u).is_empty();
    let mut pooled: HashMap<AdminLevel, (f64, f64)> = HashMap::new();
    for (&u, &t) in &total {
        if with_children(u) {
            let p = pooled.entry(region.units[u as usize].level).or_default();
            p.0 += own.get(&u).copied().unwrap_or(0.0);
            p.1 += t;
        }
    }
    total
        .iter()
        .filter(|&(&u, _)| with_children(u))
        .map(|(&u, &t)| {
            let (po, pt) = pooled[&region.units[u as usize].level];
            let level_share = if pt > 0.0 { po / pt } else { 0.0 };
            let o = own.get(&u).copied().unwrap_or(0.0);
            (
                u,
                (o + PLACEMENT_PRIOR_CASES * level_share) / (t + PLACEMENT_PRIOR_CASES),
            )
        })
        .collect()
}

/// A unit's weights by res-10 cell under a spread: its share at the point's cell, the rest by the
/// kernel.
pub fn spread_weights(lng: f64, lat: f64, spread: Spread) -> Vec<(u64, f64)> {
    let mut weights = kernel_weights(lng, lat, spread.sigma_m);
    let total: f64 = weights.iter().map(|w| w.1).sum();
    if total > 0.0 {
        for w in &mut weights {
            w.1 *= (1.0 - spread.at_point) / total;
        }
    }
    if let Ok(point) = LatLng::new(lat, lng) {
        let home = u64::from(point.to_cell(Resolution::Ten));
        match weights.binary_search_by_key(&home, |w| w.0) {
            Ok(i) => weights[i].1 += spread.at_point,
            Err(i) => weights.insert(i, (home, spread.at_point)),
        }
    }
    weights
}

/// A unit's population as the region gives it, else the sum of its children's.
fn known_people(region: &Region, id: UnitId) -> u64 {
    match region.units[id as usize].population {
        Some(p) => p,
        None => region.children(id).iter().map(|&c| known_people(region, c)).sum(),
    }
}

/// Gives unit `id` `people` residents: passed on to its children in proportion to theirs when any
/// child has a population (but for the share the placement keeps at the unit's own point), else kept
/// by the unit itself (a leaf).
fn share_down(region: &Region, placement: &Placement, id: UnitId, people: u64, leaves: &mut Vec<Leaf>) {
    if people == 0 {
        return;
    }
    let children = region.children(id);
    let known: Vec<u64> = children.iter().map(|&c| known_people(region, c)).collect();
    let listed: u64 = known.iter().sum();
    if children.is_empty() || listed == 0 {
        leaves.push(Leaf {
            unit: id,
            people,
            at_point: false,
        });
        return;
    }
    // Cases that name only this unit and lie at its point (placed by its code, or geocoded to its
    // office): their share of the residents stays there. The rest of its own cases are geocoded
    // where its children's are.
    let at_point = placement.spread(region, id).map_or(0.0, |s| s.at_point);
    let kept = (people as f64 * placement.own_share(id) * at_point).round() as u64;
    if kept > 0 {
        leaves.push(Leaf {
            unit: id,
            people: kept,
            at_point: true,
        });
    }
    let people = people - kept;
    // Children without a figure share what the others leave of the parent's total.
    let unknown = known.iter().filter(|&&k| k == 0).count();
    let rest = people.saturating_sub(listed) as f64;
    let weights: Vec<f64> = known
        .iter()
        .map(|&k| if k > 0 { k as f64 } else { rest / unknown.max(1) as f64 })
        .collect();
    for (&child, share) in children.iter().zip(apportion(people, &weights)) {
        share_down(region, placement, child, share, leaves);
    }
}

/// Splits `total` into whole parts in proportion to `weights` (largest remainders; ties to the
/// earlier part), so the parts add up to `total` exactly. All-zero weights give equal parts.
pub fn apportion(total: u64, weights: &[f64]) -> Vec<u64> {
    if weights.is_empty() {
        return Vec::new();
    }
    let sum: f64 = weights.iter().filter(|w| w.is_finite() && **w > 0.0).sum();
    let weights: Vec<f64> = if sum > 0.0 {
        weights
            .iter()
            .map(|&w| if w.is_finite() && w > 0.0 { w / sum } else { 0.0 })
            .collect()
    } else {
        vec![1.0 / weights.len() as f64; weights.len()]
    };
    let exact: Vec<f64> = weights.iter().map(|w| w * total as f64).collect();
    let mut parts: Vec<u64> = exact.iter().map(|x| x.floor() as u64).collect();
    let given: u64 = parts.iter().sum();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .total_cmp(&(exact[a] - exact[a].floor()))
            .then(a.cmp(&b))
    });
    for &i in order.iter().cycle().take(total.saturating_sub(given) as usize) {
        parts[i] += 1;
    }
    parts
}

/// The res-10 cells whose centre lies in `boundary`, weighted evenly; the cell of the point
/// (`lng`, `lat`) when the polygon is too small to hold a cell centre.
pub fn polygon_weights(boundary: &geo::MultiPolygon<f64>, lng: f64, lat: f64) -> Vec<(u64, f64)> {
    let mut tiler = TilerBuilder::new(Resolution::Ten)
        .containment_mode(ContainmentMode::ContainsCentroid)
        .build();
    for polygon in &boundary.0 {
        // A polygon h3o refuses (degenerate) holds no cell centre.
        let _ = tiler.add(polygon.clone());
    }
    let mut cells: Vec<u64> = tiler.into_coverage().map(u64::from).collect();
    cells.sort_unstable();
    cells.dedup();
    if cells.is_empty() {
        if let Ok(ll) = LatLng::new(lat, lng) {
            cells.push(u64::from(ll.to_cell(Resolution::Ten)));
        }
    }
    cells.into_iter().map(|c| (c, 1.0)).collect()
}

/// Gaussian weights `exp(−d² / 2σ²)` around (`lng`, `lat`) at res-10 cells within
/// [`KERNEL_RADIUS_SIGMAS`] σ; for wide kernels at the cells of the finest resolution that keeps the
/// rings under a bound, each then split evenly over its res-10 children. Sorted by cell.
pub fn kernel_weights(lng: f64, lat: f64, sigma_m: f64) -> Vec<(u64, f64)> {
    let Ok(centre) = LatLng::new(lat, lng) else {
        return Vec::new();
    };
    let radius = KERNEL_RADIUS_SIGMAS * sigma_m;
    // Each coarser resolution is √7 times wider.
    let mut res = Resolution::Ten;
    let mut spacing = RES10_SPACING_M;
    while res > Resolution::Five && (radius / spacing).ceil() as u32 > MAX_KERNEL_RINGS {
        res = Resolution::try_from(u8::from(res) - 1).expect("5..=10");
        spacing *= 7f64.sqrt();
    }
    let rings = (radius / (0.85 * spacing)).ceil() as u32 + 1;
    let home = centre.to_cell(res);
    let mut out: Vec<(u64, f64)> = Vec::new();
    for cell in home.grid_disk::<Vec<_>>(rings) {
        let d = centre.distance_m(LatLng::from(cell));
        if d > radius && cell != home {
            continue;
        }
        let w = (-(d * d) / (2.0 * sigma_m * sigma_m)).exp();
        if res == Resolution::Ten {
            out.push((u64::from(cell), w));
        } else {
            let children: Vec<CellIndex> = cell.children(Resolution::Ten).collect();
            let share = w / children.len() as f64;
            out.extend(children.into_iter().map(|c| (u64::from(c), share)));
        }
    }
    out.sort_unstable_by_key(|&(c, _)| c);
    out
}

/// Distance from a point to the nearest other point of a set (capped at twice the largest σ), by
/// buckets of about that size.
struct NearestNeighbour {
    buckets: HashMap<(i64, i64), Vec<(f64, f64)>>,
    cell_deg: f64,
}

impl NearestNeighbour {
    const CAP_M: f64 = 2.0 * KERNEL_SIGMA_M.1;

    fn new(points: &[(f64, f64)]) -> NearestNeighbour {
        let cell_deg = Self::CAP_M / 111_000.0;
        let mut buckets: HashMap<(i64, i64), Vec<(f64, f64)>> = HashMap::new();
        for &(lng, lat) in points {
            buckets
                .entry(((lng / cell_deg).floor() as i64, (lat / cell_deg).floor() as i64))
                .or_default()
                .push((lng, lat));
        }
        NearestNeighbour { buckets, cell_deg }
    }

    /// Distance (m) to the nearest point other than (`lng`, `lat`) itself, at most [`Self::CAP_M`].
    fn distance_m(&self, lng: f64, lat: f64) -> f64 {
        let (bx, by) = (
            (lng / self.cell_deg).floor() as i64,
            (lat / self.cell_deg).floor() as i64,
        );
        let Ok(here) = LatLng::new(lat, lng) else {
            return Self::CAP_M;
        };
        let mut best = Self::CAP_M;
        // Longitude degrees shrink with latitude: search enough buckets east and west.
        let reach_x = (1.0 / lat.to_radians().cos().max(0.2)).ceil() as i64;
        for dx in -reach_x..=reach_x {
            for dy in -1..=1 {
                for &(x, y) in self.buckets.get(&(bx + dx, by + dy)).into_iter().flatten() {
                    if x == lng && y == lat {
                        continue;
                    }
                    if let Ok(there) = LatLng::new(y, x) {
                        best = best.min(here.distance_m(there));
                    }
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_conserves_the_total_and_follows_the_weights() {
        assert_eq!(apportion(10, &[1.0, 1.0, 2.0]), vec![3, 2, 5]);
        assert_eq!(apportion(7, &[0.0, 0.0]), vec![4, 3]);
        assert_eq!(apportion(0, &[1.0, 2.0]), vec![0, 0]);
        assert_eq!(apportion(5, &[]), Vec::<u64>::new());
        let w: Vec<f64> = (1..=37).map(|i| (i as f64).sqrt()).collect();
        for total in [1, 36, 1_000, 123_457] {
            assert_eq!(apportion(total, &w).iter().sum::<u64>(), total);
        }
    }

    #[test]
    fn kernels_are_centred_and_widen_with_sigma() {
        let (lng, lat) = (113.015, 25.77);
        let narrow = kernel_weights(lng, lat, 150.0);
        let wide = kernel_weights(lng, lat, 3_000.0);
        assert!(!narrow.is_empty() && wide.len() > narrow.len());
        let home = u64::from(LatLng::new(lat, lng).unwrap().to_cell(Resolution::Ten));
        let best = narrow.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
        assert_eq!(best.0, home);
        // Every kept cell lies within the cut-off radius (plus a cell).
        for &(c, _) in &narrow {
            let d = LatLng::new(lat, lng)
                .unwrap()
                .distance_m(LatLng::from(CellIndex::try_from(c).unwrap()));
            assert!(d <= KERNEL_RADIUS_SIGMAS * 150.0 + RES10_SPACING_M, "{d}");
        }
        assert!(wide
            .iter()
            .all(|&(c, _)| CellIndex::try_from(c).unwrap().resolution() == Resolution::Ten));
    }

    #[test]
    fn the_default_region_keeps_every_units_residents() {
        let region = Region::chenzhou();
        let surface = PopulationSurface::build(&region, &Placement::default()).unwrap();
        let people = |id: UnitId| region.units[id as usize].population.unwrap() as f64;
        assert_eq!(surface.total(), people(0));
        for level in [
            AdminLevel::County,
            AdminLevel::Township,
            AdminLevel::Village,
            AdminLevel::Grid,
        ] {
            for (id, _) in region.level(level) {
                assert_eq!(surface.unit(id), people(id), "{}", region.units[id as usize].code);
            }
        }
        // Cells of every resolution add up to the total, and a county's cells to the county.
        for res in [Resolution::Five, Resolution::Eight, Resolution::Ten] {
            let sum: f64 = surface.cells(&region, res, None).iter().map(|c| c.1).sum();
            assert_eq!(sum, people(0), "{res}");
        }
        let beihu = region.id("431002").unwrap();
        let in_beihu: f64 = surface
            .cells(&region, Resolution::Eight, Some(beihu))
            .iter()
            .map(|c| c.1)
            .sum();
        assert_eq!(in_beihu, people(beihu));
        assert!(matches!(surface.source, SurfaceSource::Units { polygons: 0, .. }));
    }

    #[test]
    fn placement_recovers_how_cases_lie_around_their_points() {
        let region = Region::chenzhou();
        let (grid, g) = region.level(AdminLevel::Grid).nth(10).unwrap();
        let point = LatLng::new(g.lat, g.lng).unwrap();
        // 300 cases: 90 at the point, the rest ~Gaussian with σ = 200 m (deterministic rings).
        let mut sample = vec![(grid, u64::from(point.to_cell(Resolution::Ten))); 90];
        for i in 0..210 {
            let q = (i as f64 + 0.5) / 210.0;
            let r = 200.0 * (-2.0 * (1.0 - q).ln()).sqrt();
            let angle = i as f64 * 2.399;
            let (dx, dy) = (r * angle.cos(), r * angle.sin());
            let at = LatLng::new(
                g.lat + dy / 111_000.0,
                g.lng + dx / (111_000.0 * g.lat.to_radians().cos()),
            )
            .unwrap();
            sample.push((grid, u64::from(at.to_cell(Resolution::Ten))));
        }
        let placement = Placement::fit(&region, &sample);
        let spread = placement.spread(&region, grid).unwrap();
        assert!((spread.sigma_m - 200.0).abs() < 40.0, "{spread:?}");
        assert!((spread.at_point - 0.3).abs() < 0.08, "{spread:?}");
        let weights = spread_weights(g.lng, g.lat, spread);
        assert!((weights.iter().map(|w| w.1).sum::<f64>() - 1.0).abs() < 1e-9);
        // Units of the same level take the same pooled spread (one grid's cases here).
        let (other, _) = region.level(AdminLevel::Grid).nth(500).unwrap();
        assert_eq!(placement.spread(&region, other), Some(spread));
    }
}
