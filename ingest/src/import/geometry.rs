//! Polygons as a centre's files have them: conversion to WGS84 (from CGCS2000, GCJ-02, BD-09, or a
//! transverse Mercator / Gauss–Krüger projection of CGCS2000 or WGS84 described by a `.prj`), the
//! safe repairs (closing open rings, dropping repeated vertices, the right-hand rule's orientation)
//! and the checks that cannot be repaired (too few points, self-intersections, holes outside their
//! shell, coordinates that are not numbers).

use geo::orient::{Direction, Orient};
use geo::{Coord, LineString, MultiPolygon, Polygon, Validation, Winding};

use crate::coords::Crs;

/// The coordinate reference system of a source file.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceCrs {
    /// Longitude/latitude in a system of [`Crs`] (CGCS2000 is taken as WGS84: they differ by
    /// centimetres).
    Geographic(Crs),
    /// A transverse Mercator projection (Gauss–Krüger) of an ellipsoid.
    TransverseMercator(TransverseMercator),
}

impl SourceCrs {
    /// Parses a recipe's `crs`: `wgs84`, `cgcs2000`, `gcj02` or `bd09`.
    pub fn parse(name: &str) -> Result<SourceCrs, String> {
        let n = name.trim().to_ascii_lowercase().replace(['-', '_', ' '], "");
        match n.as_str() {
            "cgcs2000" | "epsg4490" | "china2000" => Ok(SourceCrs::Geographic(Crs::Wgs84)),
            _ => n
                .parse::<Crs>()
                .map(SourceCrs::Geographic)
                .map_err(|_| format!("unknown crs {name:?} (expected wgs84, cgcs2000, gcj02 or bd09)")),
        }
    }

    /// The system a `.prj` file (ESRI WKT) describes.
    pub fn from_prj(wkt: &str) -> Result<SourceCrs, String> {
        let upper = wkt.to_ascii_uppercase();
        let datum_ok = [
            "CGCS",
            "CHINA_2000",
            "CHINA GEODETIC",
            "2000",
            "WGS_1984",
            "WGS 84",
            "WGS84",
        ]
        .iter()
        .any(|d| upper.contains(d));
        if !upper.trim_start().starts_with("PROJCS") {
            if !datum_ok {
                return Err(format!(
                    "unsupported geographic system in the .prj: {}",
                    first_name(wkt)
                ));
            }
            return Ok(SourceCrs::Geographic(Crs::Wgs84));
        }
        if !upper.contains("TRANSVERSE_MERCATOR") && !upper.contains("GAUSS") {
            return Err(format!(
                "unsupported projection in the .prj ({}): only transverse Mercator / Gauss-Krüger is converted; \
                 export the layer in longitude/latitude (CGCS2000 or WGS84)",
                first_name(wkt)
            ));
        }
        if !datum_ok {
            return Err(format!("unsupported datum in the .prj: {}", first_name(wkt)));
        }
        let parameter = |name: &str| -> Option<f64> {
            let at = upper.find(&format!("PARAMETER[\"{name}\""))?;
            let rest = &wkt[at..];
            let comma = rest.find(',')?;
            let end = rest[comma + 1..].find(']')?;
            rest[comma + 1..comma + 1 + end].trim().parse().ok()
        };
        let (a, inverse_f) = spheroid(wkt).ok_or("the .prj names no SPHEROID")?;
        Ok(SourceCrs::TransverseMercator(TransverseMercator {
            a,
            f: if inverse_f == 0.0 { 0.0 } else { 1.0 / inverse_f },
            central_meridian: parameter("CENTRAL_MERIDIAN").ok_or("the .prj has no Central_Meridian")?,
            scale: parameter("SCALE_FACTOR").unwrap_or(1.0),
            false_easting: parameter("FALSE_EASTING").unwrap_or(0.0),
            false_northing: parameter("FALSE_NORTHING").unwrap_or(0.0),
            latitude_of_origin: parameter("LATITUDE_OF_ORIGIN").unwrap_or(0.0),
        }))
    }

    /// Converts a coordinate to WGS84 longitude/latitude.
    pub fn to_wgs84(&self, x: f64, y: f64) -> (f64, f64) {
        match self {
            SourceCrs::Geographic(crs) => crs.to_wgs84(x, y),
            SourceCrs::TransverseMercator(tm) => tm.inverse(x, y),
        }
    }
}

fn first_name(wkt: &str) -> &str {
    wkt.split('"').nth(1).unwrap_or(wkt)
}

/// `SPHEROID["name", a, 1/f]`.
fn spheroid(wkt: &str) -> Option<(f64, f64)> {
    let at = wkt.to_ascii_uppercase().find("SPHEROID[")?;
    let rest = &wkt[at..];
    let end = rest.find(']')?;
    let mut parts = rest[..end].split(',').skip(1).map(|p| p.trim().parse::<f64>());
    Some((parts.next()?.ok()?, parts.next()?.ok()?))
}

/// The parameters of a transverse Mercator projection.
#[derive(Debug, Clone, PartialEq)]
pub struct TransverseMercator {
    pub a: f64,
    pub f: f64,
    pub central_meridian: f64,
    pub scale: f64,
    pub false_easting: f64,
    pub false_northing: f64,
    pub latitude_of_origin: f64,
}

impl TransverseMercator {
    /// The meridian arc from the equator to latitude `phi` (radians).
    fn arc(&self, phi: f64) -> f64 {
        let e2 = self.f * (2.0 - self.f);
        let (e4, e6) = (e2 * e2, e2 * e2 * e2);
        self.a
            * ((1.0 - e2 / 4.0 - 3.0 * e4 / 64.0 - 5.0 * e6 / 256.0) * phi
                - (3.0 * e2 / 8.0 + 3.0 * e4 / 32.0 + 45.0 * e6 / 1024.0) * (2.0 * phi).sin()
                + (15.0 * e4 / 256.0 + 45.0 * e6 / 1024.0) * (4.0 * phi).sin()
                - (35.0 * e6 / 3072.0) * (6.0 * phi).sin())
    }

    /// Projected (easting, northing) in metres to (longitude, latitude) in degrees (Snyder,
    /// *Map Projections — A Working Manual*, 1987, eq. 8-12 to 8-25; sub-millimetre within a zone).
    pub fn inverse(&self, x: f64, y: f64) -> (f64, f64) {
        let e2 = self.f * (2.0 - self.f);
        let ep2 = e2 / (1.0 - e2);
        let m0 = self.arc(self.latitude_of_origin.to_radians());
        let m = m0 + (y - self.false_northing) / self.scale;
        let mu = m / (self.a * (1.0 - e2 / 4.0 - 3.0 * e2 * e2 / 64.0 - 5.0 * e2 * e2 * e2 / 256.0));
        let e1 = (1.0 - (1.0 - e2).sqrt()) / (1.0 + (1.0 - e2).sqrt());
        let phi1 = mu
            + (3.0 * e1 / 2.0 - 27.0 * e1.powi(3) / 32.0) * (2.0 * mu).sin()
            + (21.0 * e1 * e1 / 16.0 - 55.0 * e1.powi(4) / 32.0) * (4.0 * mu).sin()
            + (151.0 * e1.powi(3) / 96.0) * (6.0 * mu).sin()
            + (1097.0 * e1.powi(4) / 512.0) * (8.0 * mu).sin();
        let (sin1, cos1, tan1) = (phi1.sin(), phi1.cos(), phi1.tan());
        let c1 = ep2 * cos1 * cos1;
        let t1 = tan1 * tan1;
        let n1 = self.a / (1.0 - e2 * sin1 * sin1).sqrt();
        let r1 = self.a * (1.0 - e2) / (1.0 - e2 * sin1 * sin1).powf(1.5);
        let d = (x - self.false_easting) / (n1 * self.scale);
        let lat = phi1
            - (n1 * tan1 / r1)
                * (d * d / 2.0 - (5.0 + 3.0 * t1 + 10.0 * c1 - 4.0 * c1 * c1 - 9.0 * ep2) * d.powi(4) / 24.0
                    + (61.0 + 90.0 * t1 + 298.0 * c1 + 45.0 * t1 * t1 - 252.0 * ep2 - 3.0 * c1 * c1) * d.powi(6)
                        / 720.0);
        let lng = (d - (1.0 + 2.0 * t1 + c1) * d.powi(3) / 6.0
            + (5.0 - 2.0 * c1 + 28.0 * t1 - 3.0 * c1 * c1 + 8.0 * ep2 + 24.0 * t1 * t1) * d.powi(5) / 120.0)
            / cos1;
        (self.central_meridian + lng.to_degrees(), lat.to_degrees())
    }
}

/// What [`repair`] changed in one polygon set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repairs {
    pub closed: usize,
    pub reoriented: usize,
    pub repeated_vertices: usize,
}

impl Repairs {
    /// "closed 1 ring, reoriented 2 rings": what was done, or `None`.
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.closed > 0 {
            parts.push(format!("closed {} open ring(s)", self.closed));
        }
        if self.reoriented > 0 {
            parts.push(format!(
                "reoriented {} ring(s) to the right-hand rule (outer counter-clockwise, holes clockwise)",
                self.reoriented
            ));
        }
        if self.repeated_vertices > 0 {
            parts.push(format!("dropped {} repeated vertex(es)", self.repeated_vertices));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// Rounds to 6 decimals (≈0.1 m), as region files keep coordinates.
pub fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// Converts rings of source coordinates to WGS84, rounds them, closes open rings, drops repeated
/// vertices and orients them; then checks what cannot be repaired. Errors are messages.
pub fn prepare(
    polygons: crate::region::RawPolygons,
    crs: &SourceCrs,
) -> (Option<MultiPolygon<f64>>, Repairs, Vec<String>) {
    let mut repairs = Repairs::default();
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for (p, rings) in polygons.into_iter().enumerate() {
        let mut fixed: Vec<LineString<f64>> = Vec::new();
        for (r, ring) in rings.into_iter().enumerate() {
            let what = if r == 0 {
                format!("polygon {} outer ring", p + 1)
            } else {
                format!("polygon {} hole {r}", p + 1)
            };
            if ring.iter().any(|(x, y)| !x.is_finite() || !y.is_finite()) {
                errors.push(format!("{what}: a coordinate is not a number"));
                continue;
            }
            let mut coords: Vec<Coord<f64>> = Vec::with_capacity(ring.len() + 1);
            for (x, y) in ring {
                let (lng, lat) = crs.to_wgs84(x, y);
                let c = Coord {
                    x: round6(lng),
                    y: round6(lat),
                };
                if coords.last() == Some(&c) {
                    repairs.repeated_vertices += 1;
                } else {
                    coords.push(c);
                }
            }
            if coords.len() > 1 && coords.first() != coords.last() {
                coords.push(coords[0]);
                repairs.closed += 1;
            }
            if coords.len() < 4 {
                errors.push(format!("{what}: fewer than 3 distinct points"));
                continue;
            }
            if !(-180.0..=180.0).contains(&coords[0].x) || !(-90.0..=90.0).contains(&coords[0].y) {
                errors.push(format!(
                    "{what}: ({}, {}) is not a longitude/latitude: is the crs (or the .prj) right?",
                    coords[0].x, coords[0].y
                ));
                continue;
            }
            let ring = LineString::from(coords);
            let wanted_ccw = r == 0;
            if ring.is_ccw() != wanted_ccw {
                repairs.reoriented += 1;
            }
            fixed.push(ring);
        }
        if fixed.is_empty() {
            continue;
        }
        let mut rings = fixed.into_iter();
        let polygon = Polygon::new(rings.next().expect("not empty"), rings.collect()).orient(Direction::Default);
        let polygon = canonical(polygon);
        for problem in polygon_problems(&polygon) {
            errors.push(format!("polygon {}: {problem}", p + 1));
        }
        out.push(polygon);
    }
    let geometry = (!out.is_empty() && errors.is_empty()).then_some(MultiPolygon(out));
    (geometry, repairs, errors)
}

/// The polygon with every ring started at its smallest vertex (by x, then y), so that the same
/// polygon from two sources is the same data.
fn canonical(polygon: Polygon<f64>) -> Polygon<f64> {
    let start = |ring: &LineString<f64>| -> LineString<f64> {
        let mut v: Vec<Coord<f64>> = ring.0[..ring.0.len() - 1].to_vec();
        let first = (0..v.len())
            .min_by(|&a, &b| v[a].x.total_cmp(&v[b].x).then(v[a].y.total_cmp(&v[b].y)))
            .unwrap_or(0);
        v.rotate_left(first);
        v.push(v[0]);
        LineString::from(v)
    };
    let (exterior, interiors) = polygon.into_inner();
    Polygon::new(start(&exterior), interiors.iter().map(start).collect())
}

/// What geo's validity check finds wrong with a polygon (self-intersections, holes outside).
fn polygon_problems(polygon: &Polygon<f64>) -> Vec<String> {
    polygon.validation_errors().iter().map(|e| e.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(clockwise: bool, closed: bool) -> Vec<(f64, f64)> {
        let mut ring = vec![(113.0, 25.0), (113.1, 25.0), (113.1, 25.1), (113.0, 25.1)];
        if clockwise {
            ring.reverse();
        }
        if closed {
            ring.push(ring[0]);
        }
        ring
    }

    #[test]
    fn open_and_clockwise_rings_are_repaired_and_said_so() {
        let wgs = SourceCrs::parse("cgcs2000").unwrap();
        let (geometry, repairs, errors) = prepare(vec![vec![square(true, false)]], &wgs);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!((repairs.closed, repairs.reoriented), (1, 1));
        let geometry = geometry.unwrap();
        let ring = geometry.0[0].exterior();
        assert_eq!(ring.0.len(), 5);
        assert!(ring.is_ccw());
        let (_, repairs, _) = prepare(vec![vec![square(false, true)]], &wgs);
        assert_eq!(repairs.describe(), None);
    }

    #[test]
    fn self_intersections_and_short_rings_are_errors() {
        let wgs = SourceCrs::parse("wgs84").unwrap();
        let bowtie = vec![
            (113.0, 25.0),
            (113.1, 25.1),
            (113.1, 25.0),
            (113.0, 25.1),
            (113.0, 25.0),
        ];
        let (geometry, _, errors) = prepare(vec![vec![bowtie]], &wgs);
        assert!(geometry.is_none());
        assert!(errors.iter().any(|e| e.contains("self-intersection")), "{errors:?}");
        let (_, _, errors) = prepare(vec![vec![vec![(113.0, 25.0), (113.1, 25.0)]]], &wgs);
        assert!(errors[0].contains("fewer than 3"), "{errors:?}");
        let (_, _, errors) = prepare(
            vec![vec![square(false, true)
                .into_iter()
                .map(|(x, y)| (x * 1e4, y * 1e4))
                .collect()]],
            &wgs,
        );
        assert!(errors[0].contains("not a longitude/latitude"), "{errors:?}");
    }

    #[test]
    fn gauss_kruger_coordinates_convert_back() {
        // CGCS2000 / 3-degree Gauss-Kruger CM 114E (EPSG:4547): 114°E on the equator is (500000, 0);
        // (113°E, 25°N) is 399,046.592 m east, 2,766,426.515 m north by Snyder's forward series
        // (eq. 8-9, 8-10), computed independently of the inverse tested here.
        let prj = r#"PROJCS["CGCS2000_3_Degree_GK_CM_114E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",114.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
        let crs = SourceCrs::from_prj(prj).unwrap();
        let (lng, lat) = crs.to_wgs84(500_000.0, 0.0);
        assert!((lng - 114.0).abs() < 1e-9 && lat.abs() < 1e-9, "{lng} {lat}");
        let (lng, lat) = crs.to_wgs84(399_046.592, 2_766_426.515);
        assert!((lng - 113.0).abs() < 1e-7 && (lat - 25.0).abs() < 1e-7, "{lng} {lat}");
        let geographic = r#"GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]]]"#;
        assert_eq!(
            SourceCrs::from_prj(geographic).unwrap(),
            SourceCrs::Geographic(Crs::Wgs84)
        );
        assert!(SourceCrs::from_prj(r#"PROJCS["x",GEOGCS["WGS 84"],PROJECTION["Lambert_Conformal_Conic"]]"#).is_err());
    }
}
