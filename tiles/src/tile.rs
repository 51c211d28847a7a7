//! Web Mercator (XYZ) tile addressing: the projection ([`world`], [`unworld`]; the one in the
//! crate), a validated [`TileId`], its bounds in WGS84 degrees, and the tiles that cover a bounding box.

use std::f64::consts::PI;

/// The latitude limit of Web Mercator (where the square world ends).
pub const MAX_LAT: f64 = 85.051_128_779_806_59;

/// Web Mercator: a WGS84 point in world units, `[0, 1]` on both axes (x east, y south; latitudes
/// clamped to ±[`MAX_LAT`]).
#[inline]
pub fn world(lng: f64, lat: f64) -> [f64; 2] {
    // y = asinh(tan φ) = atanh(sin φ): one sine and one log1p, cheaper than tan + asinh.
    let sin = lat.clamp(-MAX_LAT, MAX_LAT).to_radians().sin();
    [(lng + 180.0) / 360.0, (1.0 - sin.atanh() / PI) * 0.5]
}

/// The inverse of [`world`]: world units to WGS84 `[lng, lat]`.
#[inline]
pub fn unworld(x: f64, y: f64) -> [f64; 2] {
    [x * 360.0 - 180.0, (PI * (1.0 - 2.0 * y)).sinh().atan().to_degrees()]
}

/// The deepest zoom the server serves.
pub const MAX_ZOOM: u8 = 22;

/// A tile address outside the pyramid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    #[error("zoom {z} is above the maximum {MAX_ZOOM}")]
    Zoom { z: u8 },
    #[error("tile {z}/{x}/{y} is outside the {n}×{n} grid of zoom {z}", n = 1u64 << z)]
    OutOfRange { z: u8, x: u32, y: u32 },
}

/// A Web Mercator tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

/// A bounding box in WGS84 degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub west: f64,
    pub south: f64,
    pub east: f64,
    pub north: f64,
}

impl TileId {
    /// A checked tile address.
    pub fn new(z: u8, x: u32, y: u32) -> Result<TileId, TileError> {
        if z > MAX_ZOOM {
            return Err(TileError::Zoom { z });
        }
        let n = 1u64 << z;
        if u64::from(x) >= n || u64::from(y) >= n {
            return Err(TileError::OutOfRange { z, x, y });
        }
        Ok(TileId { z, x, y })
    }

    /// The tile's bounds in WGS84 degrees.
    pub fn bounds(self) -> Bounds {
        let n = (1u64 << self.z) as f64;
        let [west, north] = unworld(f64::from(self.x) / n, f64::from(self.y) / n);
        let [east, south] = unworld((f64::from(self.x) + 1.0) / n, (f64::from(self.y) + 1.0) / n);
        Bounds {
            west,
            south,
            east,
            north,
        }
    }

    /// The tile of zoom `z` containing a WGS84 point (latitudes clamped to Web Mercator's ±85.0511°).
    pub fn containing(z: u8, lng: f64, lat: f64) -> Result<TileId, TileError> {
        if z > MAX_ZOOM {
            return Err(TileError::Zoom { z });
        }
        let n = (1u64 << z) as f64;
        let [x, y] = world(lng, lat);
        let x = (x * n).floor().clamp(0.0, n - 1.0);
        let y = (y * n).floor().clamp(0.0, n - 1.0);
        TileId::new(z, x as u32, y as u32)
    }
}

/// The tiles of zoom `z` that cover `bounds`, row by row.
pub fn covering(z: u8, bounds: Bounds) -> Result<Vec<TileId>, TileError> {
    let nw = TileId::containing(z, bounds.west, bounds.north)?;
    let se = TileId::containing(z, bounds.east, bounds.south)?;
    Ok((nw.y..=se.y)
        .flat_map(|y| (nw.x..=se.x).map(move |x| TileId { z, x, y }))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_addresses_outside_the_pyramid() {
        assert!(TileId::new(0, 0, 0).is_ok());
        assert_eq!(TileId::new(1, 2, 0), Err(TileError::OutOfRange { z: 1, x: 2, y: 0 }));
        assert_eq!(TileId::new(23, 0, 0), Err(TileError::Zoom { z: 23 }));
        assert!(TileError::OutOfRange { z: 3, x: 9, y: 0 }.to_string().contains("8×8"));
    }

    #[test]
    fn bounds_and_containing_agree() {
        let world = TileId::new(0, 0, 0).unwrap().bounds();
        assert_eq!((world.west, world.east), (-180.0, 180.0));
        assert!((world.north - 85.051_128_78).abs() < 1e-6);
        // Chenzhou's city centre at zoom 12.
        let t = TileId::containing(12, 113.015, 25.77).unwrap();
        assert_eq!((t.x, t.y), (3333, 1744));
        let b = t.bounds();
        assert!(b.west <= 113.015 && 113.015 < b.east && b.south <= 25.77 && 25.77 < b.north);
    }

    #[test]
    fn covering_lists_every_tile_of_a_box_once() {
        let bounds = Bounds {
            west: 112.22,
            south: 24.89,
            east: 114.23,
            north: 26.84,
        };
        let tiles = covering(8, bounds).unwrap();
        assert_eq!(tiles.len(), 6, "{tiles:?}");
        assert_eq!((tiles[0].x, tiles[0].y, tiles[5].x, tiles[5].y), (207, 108, 209, 109));
        let mut sorted = tiles.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), tiles.len());
    }
}
