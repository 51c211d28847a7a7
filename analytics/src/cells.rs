//! H3 cells of the study area: which cells cover a region at a resolution, the SQL that derives a
//! stored res-10 cell's parent, and k-ring neighbourhoods as spatial weights for Gi*.

use std::collections::HashMap;

use fengqiao_ingest::Region;
use h3o::geom::{ContainmentMode, TilerBuilder};
use h3o::{CellIndex, Resolution};

use crate::gistar::Weights;
use crate::AnalyticsError;

/// The resolutions the analytics work at (the store holds res 10; coarser cells are parents).
pub const RESOLUTIONS: std::ops::RangeInclusive<u8> = 5..=10;

/// A checked analytics resolution.
pub fn resolution(res: u8) -> Result<Resolution, AnalyticsError> {
    if !RESOLUTIONS.contains(&res) {
        return Err(AnalyticsError::Resolution(res));
    }
    Resolution::try_from(res).map_err(|_| AnalyticsError::Resolution(res))
}

/// SQL for the parent at `res` of the res-10 cell in column `column` (a UBIGINT H3 index).
///
/// An H3 cell index keeps its resolution in bits 52–55 and one 3-bit digit per resolution 1–15 below
/// that, unused digits set to 7. The parent at `res` is the same index with the resolution field set
/// to `res` and digits `res+1..=15` set to 7 — the bit arithmetic h3o's `CellIndex::parent` does,
/// checked against it in the tests.
pub fn parent_sql(column: &str, res: Resolution) -> String {
    let (keep, set) = parent_masks(res);
    format!("(({column} & CAST({keep} AS UBIGINT)) | CAST({set} AS UBIGINT))")
}

/// The masks of that arithmetic: the parent at `res` of a finer cell `c` is `(c & keep) | set`.
pub fn parent_masks(res: Resolution) -> (u64, u64) {
    let r = u8::from(res) as u64;
    let unused_digits: u64 = (1u64 << (3 * (15 - r))) - 1;
    let keep: u64 = !(0xF_u64 << 52) & !unused_digits;
    let set: u64 = (r << 52) | unused_digits;
    (keep, set)
}

/// Every cell of `res` whose centre lies inside the region's boundary, sorted: the study area over
/// which hot-spot statistics run (cells with no cases included).
pub fn study_area(region: &Region, res: Resolution) -> Vec<CellIndex> {
    let boundary = region.units[0].boundary.as_ref().expect("a region has a boundary");
    let mut tiler = TilerBuilder::new(res)
        .containment_mode(ContainmentMode::ContainsCentroid)
        .build();
    for polygon in &boundary.0 {
        tiler
            .add(polygon.clone())
            .expect("the region's boundary was validated when it was loaded");
    }
    let mut cells: Vec<CellIndex> = tiler.into_coverage().collect();
    cells.sort_unstable();
    cells.dedup();
    cells
}

/// Binary k-ring weights over `cells` (sorted): each cell's neighbours are the cells of the study area
/// within `k` grid steps, itself included.
pub fn k_ring_weights(cells: &[CellIndex], k: u32) -> Weights {
    let index: HashMap<CellIndex, u32> = cells.iter().enumerate().map(|(i, &c)| (c, i as u32)).collect();
    Weights::binary(cells.iter().map(|cell| {
        let mut row: Vec<u32> = cell
            .grid_disk::<Vec<_>>(k)
            .iter()
            .filter_map(|n| index.get(n).copied())
            .collect();
        row.sort_unstable();
        row
    }))
}

/// Kernel weights over `cells`: neighbours within `k` steps weighted by a Gaussian of their grid
/// distance, `exp(-d² / (2 (k/2)²))`, itself weighted 1.
pub fn kernel_weights(cells: &[CellIndex], k: u32) -> Weights {
    let index: HashMap<CellIndex, u32> = cells.iter().enumerate().map(|(i, &c)| (c, i as u32)).collect();
    let bandwidth = (f64::from(k) / 2.0).max(0.5);
    Weights::weighted(cells.iter().map(|cell| {
        let mut row: Vec<(u32, f64)> = cell
            .grid_disk_distances::<Vec<_>>(k)
            .into_iter()
            .filter_map(|(n, d)| {
                let w = (-(f64::from(d)).powi(2) / (2.0 * bandwidth * bandwidth)).exp();
                index.get(&n).map(|&j| (j, w))
            })
            .collect();
        row.sort_unstable_by_key(|&(j, _)| j);
        row
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_parent_equals_h3o_parent_at_every_resolution() {
        let conn = duckdb::Connection::open_in_memory().unwrap();
        let cells: Vec<CellIndex> = [(113.015, 25.77), (112.5, 25.0), (114.1, 26.6)]
            .iter()
            .map(|&(lng, lat)| h3o::LatLng::new(lat, lng).unwrap().to_cell(Resolution::Ten))
            .collect();
        for res in RESOLUTIONS {
            let res = resolution(res).unwrap();
            for cell in &cells {
                let sql = format!(
                    "SELECT {}",
                    parent_sql(&format!("CAST({} AS UBIGINT)", u64::from(*cell)), res)
                );
                let parent: u64 = conn.query_row(&sql, [], |r| r.get(0)).unwrap();
                assert_eq!(parent, u64::from(cell.parent(res).unwrap()), "{cell} at {res}");
            }
        }
        assert!(resolution(4).is_err() && resolution(11).is_err());
    }

    #[test]
    fn study_area_covers_the_region_and_weights_are_k_rings() {
        let region = Region::chenzhou();
        let cells = study_area(&region, Resolution::Six);
        // ~19,300 km² at ~36 km² per res-6 cell.
        assert!((450..650).contains(&cells.len()), "{}", cells.len());
        assert!(cells
            .iter()
            .all(|c| region.contains_cell(c.center_child(Resolution::Seven).unwrap())));
        let w = k_ring_weights(&cells, 1);
        assert_eq!(w.len(), cells.len());
        let interior = (0..w.len()).filter(|&i| w.neighbours(i).len() == 7).count();
        assert!(interior > cells.len() / 2);
        assert!((0..w.len()).all(|i| w.neighbours(i).contains(&(i as u32))));
        let kernel = kernel_weights(&cells, 2);
        assert_eq!(kernel.len(), cells.len());
        assert!((0..kernel.len()).all(|i| kernel.neighbours(i).len() >= w.neighbours(i).len()));
    }
}
