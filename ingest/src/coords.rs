//! Coordinate reference systems used by Chinese apps, and their conversion to WGS84.
//!
//! - **GCJ-02** ("Mars coordinates"): the obfuscated datum every map licensed in China must use
//!   (AMap/高德, Tencent, WeChat mini-program `wx.getLocation({type: 'gcj02'})`). It shifts points by a few
//!   hundred metres with a deliberately non-linear formula. The forward formula is public; the inverse
//!   has no closed form and is solved here by fixed-point iteration to below 1e-9 degrees.
//! - **BD-09**: Baidu's further rotation of GCJ-02.
//! - **WGS84**: GPS, and what the store, the tiles and the region data use.

use std::f64::consts::PI;
use std::fmt;
use std::str::FromStr;

/// A coordinate reference system a case's position can be reported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Crs {
    Wgs84,
    Gcj02,
    Bd09,
}

impl Crs {
    pub const ALL: [Crs; 3] = [Crs::Wgs84, Crs::Gcj02, Crs::Bd09];
    /// Every system's (code, name), in the order of [`Crs::ALL`]: the `crs` column's vocabulary.
    pub const WORDS: &'static [(&'static str, &'static str)] =
        &[("wgs84", "wgs84"), ("gcj02", "gcj02"), ("bd09", "bd09")];

    /// The stable code stored in the `crs` column.
    pub fn code(self) -> &'static str {
        Crs::WORDS[self as usize].0
    }

    /// Converts `(lng, lat)` in this system to WGS84.
    pub fn to_wgs84(self, lng: f64, lat: f64) -> (f64, f64) {
        match self {
            Crs::Wgs84 => (lng, lat),
            Crs::Gcj02 => gcj02_to_wgs84(lng, lat),
            Crs::Bd09 => {
                let (g_lng, g_lat) = bd09_to_gcj02_exact(lng, lat);
                gcj02_to_wgs84(g_lng, g_lat)
            }
        }
    }

    /// Converts WGS84 `(lng, lat)` to this system (what an app in this system would report).
    pub fn from_wgs84(self, lng: f64, lat: f64) -> (f64, f64) {
        match self {
            Crs::Wgs84 => (lng, lat),
            Crs::Gcj02 => wgs84_to_gcj02(lng, lat),
            Crs::Bd09 => {
                let (g_lng, g_lat) = wgs84_to_gcj02(lng, lat);
                gcj02_to_bd09(g_lng, g_lat)
            }
        }
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Crs {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().replace(['-', '_', ' '], "").as_str() {
            "wgs84" | "epsg4326" | "gps" => Ok(Crs::Wgs84),
            "gcj02" | "gcj" | "mars" | "火星坐标" => Ok(Crs::Gcj02),
            "bd09" | "bd09ll" | "baidu" | "百度坐标" => Ok(Crs::Bd09),
            _ => Err(format!("unknown crs {s:?} (expected wgs84, gcj02 or bd09)")),
        }
    }
}

// Krasovsky 1940 ellipsoid, as used by the GCJ-02 formula.
const A: f64 = 6_378_245.0;
const EE: f64 = 0.006_693_421_622_965_943;
const X_PI: f64 = PI * 3000.0 / 180.0;

/// Whether GCJ-02 applies at all: the formula leaves points outside mainland China's box untouched.
pub fn in_china_box(lng: f64, lat: f64) -> bool {
    (72.004..=137.8347).contains(&lng) && (0.8293..=55.8271).contains(&lat)
}

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn transform_lng(x: f64, y: f64) -> f64 {
    let mut ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

/// The GCJ-02 offset `(d_lng, d_lat)` at a WGS84 point.
fn gcj02_offset(lng: f64, lat: f64) -> (f64, f64) {
    let d_lat = transform_lat(lng - 105.0, lat - 35.0);
    let d_lng = transform_lng(lng - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    let d_lat = (d_lat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    let d_lng = (d_lng * 180.0) / (A / sqrt_magic * rad_lat.cos() * PI);
    (d_lng, d_lat)
}

/// WGS84 → GCJ-02 (the public forward formula).
pub fn wgs84_to_gcj02(lng: f64, lat: f64) -> (f64, f64) {
    if !in_china_box(lng, lat) {
        return (lng, lat);
    }
    let (d_lng, d_lat) = gcj02_offset(lng, lat);
    (lng + d_lng, lat + d_lat)
}

/// GCJ-02 → WGS84, solving `wgs84_to_gcj02(w) = g` by fixed-point iteration (converges to 1e-9° in a
/// handful of steps because the offset varies slowly).
pub fn gcj02_to_wgs84(lng: f64, lat: f64) -> (f64, f64) {
    if !in_china_box(lng, lat) {
        return (lng, lat);
    }
    let (mut w_lng, mut w_lat) = (lng, lat);
    for _ in 0..30 {
        let (g_lng, g_lat) = wgs84_to_gcj02(w_lng, w_lat);
        let (e_lng, e_lat) = (g_lng - lng, g_lat - lat);
        w_lng -= e_lng;
        w_lat -= e_lat;
        if e_lng.abs() < 1e-10 && e_lat.abs() < 1e-10 {
            break;
        }
    }
    (w_lng, w_lat)
}

/// GCJ-02 → BD-09.
pub fn gcj02_to_bd09(lng: f64, lat: f64) -> (f64, f64) {
    let z = (lng * lng + lat * lat).sqrt() + 0.00002 * (lat * X_PI).sin();
    let theta = lat.atan2(lng) + 0.000003 * (lng * X_PI).cos();
    (z * theta.cos() + 0.0065, z * theta.sin() + 0.006)
}

/// BD-09 → GCJ-02 (Baidu's published inverse).
pub fn bd09_to_gcj02(lng: f64, lat: f64) -> (f64, f64) {
    let x = lng - 0.0065;
    let y = lat - 0.006;
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * X_PI).sin();
    let theta = y.atan2(x) - 0.000003 * (x * X_PI).cos();
    (z * theta.cos(), z * theta.sin())
}

/// BD-09 → GCJ-02, refining Baidu's closed-form inverse (off by up to ~1e-6°, 0.1 m) by fixed-point
/// iteration until `gcj02_to_bd09` of the result gives back the input to 1e-10°.
pub fn bd09_to_gcj02_exact(lng: f64, lat: f64) -> (f64, f64) {
    let (mut g_lng, mut g_lat) = bd09_to_gcj02(lng, lat);
    for _ in 0..30 {
        let (b_lng, b_lat) = gcj02_to_bd09(g_lng, g_lat);
        let (e_lng, e_lat) = (b_lng - lng, b_lat - lat);
        g_lng -= e_lng;
        g_lat -= e_lat;
        if e_lng.abs() < 1e-10 && e_lat.abs() < 1e-10 {
            break;
        }
    }
    (g_lng, g_lat)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: (f64, f64), b: (f64, f64), tol: f64) -> bool {
        (a.0 - b.0).abs() <= tol && (a.1 - b.1).abs() <= tol
    }

    // Reference pairs published in the README of the widely used `coordtransform` package (also used
    // by its ports in Python, Java and C#) for the point (116.404, 39.915) in Beijing.
    #[test]
    fn forward_formulas_match_published_reference_pairs() {
        let p = (116.404, 39.915);
        assert!(close(
            wgs84_to_gcj02(p.0, p.1),
            (116.41024449916938, 39.91640428150164),
            1e-12
        ));
        assert!(close(
            gcj02_to_bd09(p.0, p.1),
            (116.41036949371029, 39.92133699351021),
            1e-12
        ));
        assert!(close(
            bd09_to_gcj02(p.0, p.1),
            (116.39762729119315, 39.90865673957631),
            1e-12
        ));
    }

    #[test]
    fn inverse_is_exact_where_the_published_one_step_inverse_is_approximate() {
        let p = (116.404, 39.915);
        let w = gcj02_to_wgs84(p.0, p.1);
        // The package's one-step inverse gives (116.39775550083061, 39.91359571849836): within ~2 m.
        assert!(close(w, (116.39775550083061, 39.91359571849836), 3e-5), "{w:?}");
        // Ours round-trips to 1e-9 degrees (about 0.1 mm).
        assert!(close(wgs84_to_gcj02(w.0, w.1), p, 1e-9));
    }

    #[test]
    fn every_crs_round_trips_through_wgs84_across_chenzhou() {
        for i in 0..50 {
            let lng = 112.2 + 1.8 * f64::from(i) / 50.0;
            let lat = 24.8 + 1.5 * f64::from((i * 7) % 50) / 50.0;
            for crs in Crs::ALL {
                let (x, y) = crs.from_wgs84(lng, lat);
                assert!(close(crs.to_wgs84(x, y), (lng, lat), 1e-8), "{crs} at {lng},{lat}");
            }
        }
        // In Chenzhou the GCJ-02 shift is a few hundred metres: large enough to matter at H3 res 10.
        let (g_lng, g_lat) = wgs84_to_gcj02(113.0, 25.8);
        let metres = ((g_lng - 113.0) * 100_000.0).hypot((g_lat - 25.8) * 111_000.0);
        assert!((200.0..800.0).contains(&metres), "{metres}");
    }

    #[test]
    fn outside_china_is_untouched_and_names_parse() {
        assert_eq!(wgs84_to_gcj02(-0.1246, 51.5007), (-0.1246, 51.5007));
        assert_eq!("GCJ-02".parse::<Crs>(), Ok(Crs::Gcj02));
        assert_eq!("bd09ll".parse::<Crs>(), Ok(Crs::Bd09));
        assert_eq!("WGS84".parse::<Crs>(), Ok(Crs::Wgs84));
        assert!("utm".parse::<Crs>().is_err());
    }
}
