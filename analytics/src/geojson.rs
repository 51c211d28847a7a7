//! H3 cells as an RFC 7946 GeoJSON FeatureCollection: the one writer behind the CLI's
//! `heatmap --format geojson` and the API's `format=geojson`.
//!
//! Each cell is a Polygon feature with the cell's index as its `id`, its hexagon (or pentagon) as one
//! closed, counter-clockwise ring with coordinates rounded to 6 decimals (~0.1 m), and the caller's
//! properties. Written as a stream: a heat map of a million cells is never one JSON value.

use std::io::Write;

use h3o::CellIndex;
use serde::Serialize;

/// The boundary of `cell` as a closed counter-clockwise ring of `[lng, lat]`, to 6 decimals.
pub fn cell_ring(cell: CellIndex) -> Vec<[f64; 2]> {
    let round6 = |x: f64| (x * 1e6).round() / 1e6;
    let mut ring: Vec<[f64; 2]> = cell
        .boundary()
        .iter()
        .map(|ll| [round6(ll.lng()), round6(ll.lat())])
        .collect();
    // Twice the signed area: negative when clockwise.
    let area2: f64 = ring
        .iter()
        .zip(ring.iter().cycle().skip(1))
        .map(|(a, b)| a[0] * b[1] - b[0] * a[1])
        .sum();
    if area2 < 0.0 {
        ring.reverse();
    }
    ring.push(ring[0]);
    ring
}

/// Writes the FeatureCollection of `cells` (each with its properties) to `out`.
pub fn write_cells<W: Write, P: Serialize>(
    mut out: W,
    cells: impl IntoIterator<Item = (CellIndex, P)>,
) -> Result<(), serde_json::Error> {
    out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[")
        .map_err(serde_json::Error::io)?;
    for (i, (cell, properties)) in cells.into_iter().enumerate() {
        let feature = serde_json::json!({
            "type": "Feature",
            "id": cell.to_string(),
            "geometry": { "type": "Polygon", "coordinates": [cell_ring(cell)] },
            "properties": properties,
        });
        if i > 0 {
            out.write_all(b",").map_err(serde_json::Error::io)?;
        }
        serde_json::to_writer(&mut out, &feature)?;
    }
    out.write_all(b"]}\n").map_err(serde_json::Error::io)?;
    out.flush().map_err(serde_json::Error::io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_are_closed_counter_clockwise_hexagons_with_their_properties() {
        let cells: Vec<CellIndex> = ["8841a8d5b9fffff", "8841a8d5bbfffff"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let mut out = Vec::new();
        write_cells(&mut out, cells.iter().map(|&c| (c, serde_json::json!({ "count": 3 })))).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["type"], "FeatureCollection");
        let features = doc["features"].as_array().unwrap();
        assert_eq!(features.len(), 2);
        for (f, cell) in features.iter().zip(&cells) {
            assert_eq!(f["id"], cell.to_string());
            assert_eq!(f["properties"]["count"], 3);
            let ring: Vec<[f64; 2]> = serde_json::from_value(f["geometry"]["coordinates"][0].clone()).unwrap();
            assert_eq!(ring.len(), 7, "six vertices and the closing one");
            assert_eq!(ring[0], ring[6]);
            let area2: f64 = ring.windows(2).map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1]).sum();
            assert!(area2 > 0.0, "counter-clockwise");
            let centre = h3o::LatLng::from(*cell);
            let (lng, lat) = ring[..6]
                .iter()
                .fold((0.0, 0.0), |s, p| (s.0 + p[0] / 6.0, s.1 + p[1] / 6.0));
            assert!((lng - centre.lng()).abs() < 1e-3 && (lat - centre.lat()).abs() < 1e-3);
        }
    }

    #[test]
    fn no_cells_is_an_empty_collection() {
        let mut out = Vec::new();
        write_cells(&mut out, std::iter::empty::<(CellIndex, ())>()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"type\":\"FeatureCollection\",\"features\":[]}\n"
        );
    }
}
