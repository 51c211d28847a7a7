//! Space: where cases happen. Every grid of the region is a place weighted by its population; a
//! village without grids is a place of its own. Also small geodesy helpers.

use std::collections::HashMap;

use fengqiao_ingest::model::AdminLevel;
use fengqiao_ingest::region::{Lineage, UnitId};
use fengqiao_ingest::Region;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::targets::{JITTER_CAP_M, JITTER_SIGMA_M};

/// Population assumed for a village (or its grids) when the region gives none.
pub const DEFAULT_VILLAGE_POPULATION: f64 = 1_000.0;

const EARTH_RADIUS_M: f64 = 6_371_008.8;
const METRES_PER_DEGREE: f64 = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;

/// A place cases are reported at: a grid (or a village without grids).
#[derive(Debug, Clone)]
pub struct Place {
    /// The grid, or `None` for a village without grids.
    pub grid: Option<UnitId>,
    pub lineage: Lineage,
    /// WGS84 point of the grid (or village).
    pub lng: f64,
    pub lat: f64,
    pub population: f64,
}

/// The places of a region and the tables to draw them by population.
#[derive(Debug, Clone)]
pub struct Places {
    pub places: Vec<Place>,
    /// Cumulative population over `places`.
    cumulative: Vec<f64>,
    /// The places of each village, in file order.
    by_village: HashMap<UnitId, Vec<u32>>,
    /// Population of each village (sum of its places).
    village_population: HashMap<UnitId, f64>,
    pub total_population: f64,
}

impl Places {
    /// The places of `region`. Grid populations come from `grids.csv`; a grid without one gets an
    /// equal share of its village's population.
    pub fn new(region: &Region) -> Result<Places, String> {
        let mut places = Vec::new();
        for (village_id, village) in region.level(AdminLevel::Village) {
            let lineage = region
                .lineage(village_id)
                .ok_or_else(|| format!("village {} has no township or county", village.code))?;
            let grids = region.children(village_id);
            let village_pop = village.population.map_or(DEFAULT_VILLAGE_POPULATION, |p| p as f64);
            if grids.is_empty() {
                places.push(Place {
                    grid: None,
                    lineage,
                    lng: village.lng,
                    lat: village.lat,
                    population: village_pop,
                });
                continue;
            }
            for &grid_id in grids {
                let grid = &region.units[grid_id as usize];
                let population = grid.population.map_or(village_pop / grids.len() as f64, |p| p as f64);
                places.push(Place {
                    grid: Some(grid_id),
                    lineage: Lineage {
                        grid: Some(grid_id),
                        ..lineage
                    },
                    lng: grid.lng,
                    lat: grid.lat,
                    population,
                });
            }
        }
        let total_population: f64 = places.iter().map(|p| p.population).sum();
        if places.is_empty() || total_population <= 0.0 {
            return Err("the region has no villages with population".into());
        }
        let mut cumulative = Vec::with_capacity(places.len());
        let mut acc = 0.0;
        let mut by_village: HashMap<UnitId, Vec<u32>> = HashMap::new();
        let mut village_population: HashMap<UnitId, f64> = HashMap::new();
        for (i, p) in places.iter().enumerate() {
            acc += p.population;
            cumulative.push(acc);
            by_village.entry(p.lineage.village).or_default().push(i as u32);
            *village_population.entry(p.lineage.village).or_default() += p.population;
        }
        Ok(Places {
            places,
            cumulative,
            by_village,
            village_population,
            total_population,
        })
    }

    /// A place drawn in proportion to population.
    pub fn draw<R: Rng>(&self, rng: &mut R) -> u32 {
        let x = rng.random::<f64>() * self.total_population;
        self.cumulative.partition_point(|&c| c <= x).min(self.places.len() - 1) as u32
    }

    /// The cumulative weights of places drawn in proportion to population × the relative risk of
    /// their village (`risk` by village id; 1 where absent), with their total.
    pub fn weighted_table(&self, risk: &HashMap<UnitId, f64>) -> (Vec<f64>, f64) {
        let mut acc = 0.0;
        let table = self
            .places
            .iter()
            .map(|p| {
                acc += p.population * risk.get(&p.lineage.village).copied().unwrap_or(1.0);
                acc
            })
            .collect();
        (table, acc)
    }

    /// A place drawn from a table of [`Self::weighted_table`].
    pub fn draw_from_table<R: Rng>(&self, table: &(Vec<f64>, f64), rng: &mut R) -> u32 {
        let x = rng.random::<f64>() * table.1;
        table.0.partition_point(|&c| c <= x).min(self.places.len() - 1) as u32
    }

    /// The villages that have places, in place order.
    pub fn villages(&self) -> impl Iterator<Item = UnitId> + '_ {
        let mut seen = std::collections::HashSet::new();
        self.places
            .iter()
            .map(|p| p.lineage.village)
            .filter(move |v| seen.insert(*v))
    }

    /// A place of `village` drawn in proportion to population.
    pub fn draw_in_village<R: Rng>(&self, village: UnitId, rng: &mut R) -> u32 {
        let places = &self.by_village[&village];
        let total: f64 = places.iter().map(|&i| self.places[i as usize].population).sum();
        let mut x = rng.random::<f64>() * total;
        for &i in places {
            x -= self.places[i as usize].population;
            if x < 0.0 {
                return i;
            }
        }
        *places.last().expect("every village has a place")
    }

    /// The places of `village`.
    pub fn of_village(&self, village: UnitId) -> &[u32] {
        self.by_village.get(&village).map_or(&[], |v| v.as_slice())
    }

    /// The population of `village` (0 for an unknown one).
    pub fn village_population(&self, village: UnitId) -> f64 {
        self.village_population.get(&village).copied().unwrap_or(0.0)
    }

    /// The place of `village` nearest to a point.
    pub fn nearest_in_village(&self, village: UnitId, lng: f64, lat: f64) -> u32 {
        let places = self.of_village(village);
        *places
            .iter()
            .min_by(|&&a, &&b| {
                let pa = &self.places[a as usize];
                let pb = &self.places[b as usize];
                distance_m(pa.lng, pa.lat, lng, lat).total_cmp(&distance_m(pb.lng, pb.lat, lng, lat))
            })
            .expect("every village has a place")
    }
}

/// Great-circle distance in metres between two WGS84 points.
pub fn distance_m(lng1: f64, lat1: f64, lng2: f64, lat2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lng2 - lng1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

/// The point `east` and `north` metres from `(lng, lat)` (local flat approximation, fine for
/// offsets of a few kilometres).
pub fn offset(lng: f64, lat: f64, east: f64, north: f64) -> (f64, f64) {
    let dlat = north / METRES_PER_DEGREE;
    let dlng = east / (METRES_PER_DEGREE * lat.to_radians().cos());
    (lng + dlng, lat + dlat)
}

/// A point around `(lng, lat)` with Gaussian jitter (σ [`JITTER_SIGMA_M`] per axis) pulled back to
/// at most [`JITTER_CAP_M`].
pub fn jitter<R: Rng>(lng: f64, lat: f64, rng: &mut R) -> (f64, f64) {
    let east: f64 = StandardNormal.sample(rng);
    let north: f64 = StandardNormal.sample(rng);
    let (mut east, mut north) = (east * JITTER_SIGMA_M, north * JITTER_SIGMA_M);
    let r = east.hypot(north);
    if r > JITTER_CAP_M {
        east *= JITTER_CAP_M / r;
        north *= JITTER_CAP_M / r;
    }
    offset(lng, lat, east, north)
}

/// A point uniformly distributed in the disc of `radius` metres around `(lng, lat)`.
pub fn uniform_in_disc<R: Rng>(lng: f64, lat: f64, radius: f64, rng: &mut R) -> (f64, f64) {
    let r = radius * rng.random::<f64>().sqrt();
    let theta = rng.random::<f64>() * std::f64::consts::TAU;
    offset(lng, lat, r * theta.cos(), r * theta.sin())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn offsets_and_distances_agree() {
        let (lng, lat) = offset(113.0, 25.8, 3_000.0, 4_000.0);
        let d = distance_m(113.0, 25.8, lng, lat);
        assert!((d - 5_000.0).abs() < 5.0, "{d}");
    }

    #[test]
    fn jitter_is_capped_and_about_sigma() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut sum_sq = 0.0;
        let n = 20_000;
        for _ in 0..n {
            let (lng, lat) = jitter(113.0, 25.8, &mut rng);
            let d = distance_m(113.0, 25.8, lng, lat);
            assert!(d <= JITTER_CAP_M + 0.5, "{d}");
            sum_sq += d * d;
        }
        // E[r²] = 2σ² for a 2-D Gaussian.
        let sigma = (sum_sq / n as f64 / 2.0).sqrt();
        assert!((sigma - JITTER_SIGMA_M).abs() < 5.0, "{sigma}");
    }

    #[test]
    fn places_cover_every_village_and_draw_by_population() {
        let region = crate::test_region();
        let places = Places::new(region).unwrap();
        let villages = region.level(AdminLevel::Village).count();
        assert_eq!(places.by_village.len(), villages);
        let pop = region.units[0].population.unwrap() as f64;
        assert!(
            (places.total_population - pop).abs() / pop < 0.01,
            "{} vs {pop}",
            places.total_population
        );
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (big, _) = places
            .places
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.population.total_cmp(&b.1.population))
            .unwrap();
        let n = 200_000;
        let hits = (0..n).filter(|_| places.draw(&mut rng) as usize == big).count();
        let expected = n as f64 * places.places[big].population / places.total_population;
        assert!(
            (hits as f64 - expected).abs() < 5.0 * expected.sqrt() + 5.0,
            "{hits} vs {expected}"
        );
    }
}
