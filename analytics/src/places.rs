//! The admin units of H3 cells, for the rows of the heat map: each cell belongs to the village whose
//! polygon contains the cell's centre (or whose grid's polygon does), where the region has village
//! or grid polygons; otherwise — and for a centre outside every polygon — to the village whose
//! representative point is nearest (great-circle distance) to the cell's centre; and to that
//! village's township and county.
//!
//! The villages are bucketed by the res-6 cell of their point. A query searches the rings of buckets
//! around its own bucket, 0, 1, 2, …, and stops once no unsearched bucket can hold a nearer village:
//! in a hexagonal grid with centre spacing `d` and cell circumradius `R`, a cell `j` grid steps away
//! has its centre at least `j·d·√3/2` away (the middle of a ring's side), so every point of rings
//! `≥ m+1` is at least `(m+1)·d·√3/2 − R − δ` from a query at distance `δ` from the centre of its
//! bucket. That bound, with 5% margins for the irregularity of H3 cells, makes the result exact; it
//! usually stops after ring 1 or 2. The rings of a bucket are built once and shared by its queries.

use std::collections::HashMap;

use fengqiao_ingest::model::AdminLevel;
use fengqiao_ingest::region::UnitId;
use fengqiao_ingest::Region;
use h3o::{CellIndex, LatLng, Resolution};

/// Resolution of the buckets of village points (~36 km², about five villages each in Chenzhou).
pub const BUCKET_RESOLUTION: Resolution = Resolution::Six;

/// The units a cell belongs to (indices into `Region::units`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CellPlace {
    pub county: UnitId,
    pub township: UnitId,
    pub village: UnitId,
}

/// The place of every cell in `cells`, in the same order: the village whose polygon (or grid's
/// polygon) contains the cell's centre, else the village whose point is nearest to it (ties to the
/// village listed first in the region), with its township and county.
///
/// # Panics
///
/// When `cells` is not empty and the region has no villages.
pub fn cell_places(region: &Region, cells: &[CellIndex]) -> Vec<CellPlace> {
    if cells.is_empty() {
        return Vec::new();
    }
    let mut index = VillageIndex::new(region);
    cells
        .iter()
        .map(|&cell| contained(region, cell).unwrap_or_else(|| index.place(cell)))
        .collect()
}

/// The village whose polygon, or whose grid's polygon, contains the cell's centre.
fn contained(region: &Region, cell: CellIndex) -> Option<CellPlace> {
    let centre = LatLng::from(cell);
    let (lng, lat) = (centre.lng(), centre.lat());
    let village = region
        .locate(AdminLevel::Village, lng, lat)
        .or_else(|| region.locate(AdminLevel::Grid, lng, lat).and_then(|g| region.parent(g)))?;
    let lineage = region.lineage(village)?;
    Some(CellPlace {
        county: lineage.county,
        township: lineage.township,
        village,
    })
}

/// A village point as a unit vector, with its place.
#[derive(Debug, Clone, Copy)]
struct Village {
    xyz: [f64; 3],
    place: CellPlace,
}

/// The rings of buckets around one bucket, built as far as queries needed them.
struct Neighbourhood {
    bucket: CellIndex,
    centre: [f64; 3],
    /// Lower bound on the angle (radians) between the bucket's centre and any point of a cell `j ≥ 1`
    /// rings away is `j · ring_step − radius`.
    ring_step: f64,
    radius: f64,
    /// `rings[m]`: the villages of the buckets exactly `m` rings away.
    rings: Vec<Vec<Village>>,
    /// Villages in `rings` altogether.
    seen: usize,
}

/// Village points bucketed by [`BUCKET_RESOLUTION`] cell, with the rings of buckets queried so far.
struct VillageIndex {
    buckets: HashMap<CellIndex, Vec<Village>>,
    villages: usize,
    neighbourhoods: HashMap<CellIndex, Neighbourhood>,
}

fn unit_vector(ll: LatLng) -> [f64; 3] {
    let (lat, lng) = (ll.lat_radians(), ll.lng_radians());
    [lat.cos() * lng.cos(), lat.cos() * lng.sin(), lat.sin()]
}

/// Squared chord between two unit vectors (monotone in the great-circle angle).
fn chord2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    let (x, y, z) = (a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    x * x + y * y + z * z
}

/// Great-circle angle (radians) of a squared chord.
fn angle(chord2: f64) -> f64 {
    2.0 * (chord2.sqrt() / 2.0).min(1.0).asin()
}

impl VillageIndex {
    fn new(region: &Region) -> VillageIndex {
        let mut buckets: HashMap<CellIndex, Vec<Village>> = HashMap::new();
        let mut villages = 0;
        for (id, unit) in region.level(AdminLevel::Village) {
            let (Ok(ll), Some(lineage)) = (LatLng::new(unit.lat, unit.lng), region.lineage(id)) else {
                continue;
            };
            let place = CellPlace {
                county: lineage.county,
                township: lineage.township,
                village: id,
            };
            buckets.entry(ll.to_cell(BUCKET_RESOLUTION)).or_default().push(Village {
                xyz: unit_vector(ll),
                place,
            });
            villages += 1;
        }
        assert!(villages > 0, "region {} has no villages to place cells in", region.code);
        VillageIndex {
            buckets,
            villages,
            neighbourhoods: HashMap::new(),
        }
    }

    fn place(&mut self, cell: CellIndex) -> CellPlace {
        let centre = LatLng::from(cell);
        let bucket = cell
            .parent(BUCKET_RESOLUTION)
            .unwrap_or_else(|| centre.to_cell(BUCKET_RESOLUTION));
        let q = unit_vector(centre);
        let buckets = &self.buckets;
        let total = self.villages;
        let hood = self
            .neighbourhoods
            .entry(bucket)
            .or_insert_with(|| Neighbourhood::new(bucket));
        let delta = angle(chord2(&q, &hood.centre));
        let mut best: Option<(f64, CellPlace)> = None;
        for m in 0.. {
            hood.extend_to(m, buckets);
            for v in &hood.rings[m] {
                let d = chord2(&q, &v.xyz);
                // Ties go to the village listed first in the region (the smaller id).
                if best.is_none_or(|(b, p)| d < b || (d == b && v.place.village < p.village)) {
                    best = Some((d, v.place));
                }
            }
            if let Some((b, place)) = best {
                let unsearched = (m + 1) as f64 * hood.ring_step - hood.radius - delta;
                if hood.seen >= total || (unsearched > 0.0 && angle(b) < unsearched) {
                    return place;
                }
            }
        }
        unreachable!("the ring search ends once every village has been seen")
    }
}

impl Neighbourhood {
    fn new(bucket: CellIndex) -> Neighbourhood {
        let centre_ll = LatLng::from(bucket);
        let radius = bucket
            .boundary()
            .iter()
            .map(|v| centre_ll.distance_rads(*v))
            .fold(0.0, f64::max);
        let spacing = bucket
            .grid_ring::<Vec<_>>(1)
            .iter()
            .map(|n| centre_ll.distance_rads(LatLng::from(*n)))
            .fold(f64::INFINITY, f64::min);
        Neighbourhood {
            bucket,
            centre: unit_vector(centre_ll),
            // Margins of 5% for cells that are not regular hexagons.
            ring_step: 0.95 * spacing * 3f64.sqrt() / 2.0,
            radius: 1.05 * radius,
            rings: Vec::new(),
            seen: 0,
        }
    }

    /// Builds rings up to `m`.
    fn extend_to(&mut self, m: usize, buckets: &HashMap<CellIndex, Vec<Village>>) {
        while self.rings.len() <= m {
            let k = self.rings.len() as u32;
            let cells: Vec<CellIndex> = if k == 0 {
                vec![self.bucket]
            } else {
                self.bucket.grid_ring(k)
            };
            let ring: Vec<Village> = cells.iter().filter_map(|c| buckets.get(c)).flatten().copied().collect();
            self.seen += ring.len();
            self.rings.push(ring);
        }
    }
}
