//! An independent check of the vector tile encoder: a tile of H3 res-9 hexagons around Chenzhou,
//! decoded by Python's `mapbox-vector-tile` (scripts/reference/decode_mvt.py), must give back each
//! cell's H3 boundary projected into the tile (±1 unit), exterior rings clockwise (positive area, y
//! down), every property with its type, and extent 4096.
//!
//! The Python is `FENGQIAO_PYREF`, else the venv `~/.cache/fengqiao/pyref` (scripts/test installs
//! mapbox-vector-tile there), else `python3`. Where none can `import mapbox_vector_tile` the test says
//! the check did not run and passes; the module's unit tests still check the encoder against the
//! crate's own decoder.

use std::path::{Path, PathBuf};

use fengqiao_tiles::mvt::{self, Feature, Geometry, Layer, Value, BUFFER, EXTENT};
use fengqiao_tiles::TileId;
use h3o::{CellIndex, LatLng, Resolution};
use serde_json::Value as Json;

/// The Python to run and whether it has mapbox_vector_tile.
fn python_with_mapbox_vector_tile() -> Option<PathBuf> {
    let venv = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/fengqiao/pyref/bin/python"));
    let python = std::env::var_os("FENGQIAO_PYREF")
        .map(PathBuf::from)
        .or(venv.filter(|p| p.exists()))
        .unwrap_or_else(|| PathBuf::from("python3"));
    let available = std::process::Command::new(&python)
        .args(["-c", "import mapbox_vector_tile"])
        .output()
        .is_ok_and(|o| o.status.success());
    if available {
        Some(python)
    } else {
        eprintln!(
            "no Python with mapbox_vector_tile at {}: the live MVT decoder check did not run",
            python.display()
        );
        None
    }
}

fn ring_area2(ring: &[[f64; 2]]) -> f64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum()
}

/// Whether `got` is `want` up to rotation and direction, each vertex within `tol`.
fn same_ring(got: &[[f64; 2]], want: &[[f64; 2]], tol: f64) -> bool {
    let n = want.len();
    let close = |g: [f64; 2], w: [f64; 2]| (g[0] - w[0]).abs() <= tol && (g[1] - w[1]).abs() <= tol;
    got.len() == n
        && (0..n).any(|s| {
            (0..n).all(|i| close(got[i], want[(i + s) % n])) || (0..n).all(|i| close(got[i], want[(s + n - i) % n]))
        })
}

#[test]
fn python_mapbox_vector_tile_decodes_our_hexagons_to_their_h3_boundaries() {
    let Some(python) = python_with_mapbox_vector_tile() else {
        return;
    };
    let tile = TileId::containing(12, 113.015, 25.77).unwrap();
    assert_eq!((tile.x, tile.y), (3333, 1744));
    let centre = LatLng::new(25.77, 113.015).unwrap().to_cell(Resolution::Nine);
    // Radius 15 (721 cells, ~5 km): Chenzhou lies ~1 km from the tile's east edge, so the disk reaches
    // past it and the encoder has to drop and clip cells too.
    let cells: Vec<CellIndex> = centre.grid_disk(15);
    let features: Vec<Feature> = cells
        .iter()
        .enumerate()
        .map(|(i, cell)| Feature {
            id: Some(u64::from(*cell)),
            geometry: Geometry::Polygons(vec![vec![cell
                .boundary()
                .iter()
                .map(|ll| [ll.lng(), ll.lat()])
                .collect()]]),
            properties: vec![
                ("h3".into(), Value::String(cell.to_string())),
                ("count".into(), Value::Int((i % 23) as i64)),
                ("gi_z".into(), Value::Double((i as f64 - 300.0) / 37.0)),
            ],
        })
        .collect();
    let bytes = mvt::encode(
        tile,
        &[Layer {
            name: "cells".into(),
            features,
        }],
    );

    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("tile.mvt"), dir.path().join("tile.json"));
    std::fs::write(&input, &bytes).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/reference/decode_mvt.py");
    let status = std::process::Command::new(&python)
        .arg(script)
        .arg(&input)
        .arg(&output)
        .status()
        .unwrap();
    assert!(status.success(), "decode_mvt.py failed");
    let json: Json = serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();

    let layers = json["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    let layer = &layers[0];
    assert_eq!(layer["name"], "cells");
    assert_eq!(layer["extent"], 4096);
    assert_eq!(layer["version"], 2);

    // What the encoder should keep: cells whose projected boundary reaches the buffered tile.
    let (lo, hi) = (-f64::from(BUFFER), f64::from(EXTENT + BUFFER));
    let projected = |cell: &CellIndex| -> Vec<[f64; 2]> {
        cell.boundary()
            .iter()
            .map(|ll| mvt::to_tile_coords(tile, f64::from(EXTENT), ll.lng(), ll.lat()))
            .collect()
    };
    // Overlap of a ring's box with the buffered tile, shrunk by `margin` (cells that merely touch it may
    // collapse when clipped, so the count is checked between the strict and the loose overlap).
    let overlaps = |ring: &[[f64; 2]], margin: f64| {
        let (min_x, max_x) = ring
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p[0]), b.max(p[0])));
        let (min_y, max_y) = ring
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p[1]), b.max(p[1])));
        max_x >= lo + margin && min_x <= hi - margin && max_y >= lo + margin && min_y <= hi - margin
    };
    let loose = cells.iter().filter(|c| overlaps(&projected(c), 0.0)).count();
    let strict = cells.iter().filter(|c| overlaps(&projected(c), 1.0)).count();
    let features = layer["features"].as_array().unwrap();
    assert!(
        (strict..=loose).contains(&features.len()),
        "{} features kept, {strict}..={loose} expected",
        features.len()
    );
    assert!(loose < cells.len(), "some cells lie outside the tile");
    let index: std::collections::HashMap<String, (usize, &CellIndex)> =
        cells.iter().enumerate().map(|(i, c)| (c.to_string(), (i, c))).collect();

    let (mut whole, mut clipped) = (0, 0);
    let mut seen = std::collections::HashSet::new();
    for feature in features {
        let h3 = feature["properties"]["h3"].as_str().unwrap();
        let (i, cell) = index[h3];
        assert!(seen.insert(h3.to_string()), "{h3} twice");
        let props = &feature["properties"];
        assert_eq!(feature["id"].as_u64(), Some(u64::from(*cell)), "{cell}");
        assert_eq!(props["count"].as_i64(), Some((i % 23) as i64), "{cell}: an integer");
        let gi_z = props["gi_z"].as_f64().unwrap();
        let want = (i as f64 - 300.0) / 37.0;
        assert!(props["gi_z"].is_f64(), "{cell}: a double");
        assert!(
            (gi_z - want).abs() <= 1e-12 * want.abs().max(1.0),
            "{cell}: {gi_z} vs {want}"
        );
        assert_eq!(props.as_object().unwrap().len(), 3);

        assert_eq!(
            feature["type"], "Polygon",
            "{cell}: one polygon (rings grouped by winding)"
        );
        let rings = feature["coordinates"].as_array().unwrap();
        assert_eq!(rings.len(), 1, "{cell}: no holes");
        let mut ring: Vec<[f64; 2]> = rings[0]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| [p[0].as_f64().unwrap(), p[1].as_f64().unwrap()])
            .collect();
        assert_eq!(ring.first(), ring.last(), "mapbox_vector_tile closes rings");
        ring.pop();
        assert!(
            ring_area2(&ring) > 0.0,
            "{cell}: exterior ring clockwise in tile coordinates"
        );
        for p in &ring {
            assert!(
                p[0].fract() == 0.0 && p[1].fract() == 0.0,
                "{cell}: integer coordinates"
            );
            assert!(
                (lo..=hi).contains(&p[0]) && (lo..=hi).contains(&p[1]),
                "{cell}: {p:?} outside the buffer"
            );
        }
        let want = projected(cell);
        if want
            .iter()
            .all(|p| (lo..=hi).contains(&p[0]) && (lo..=hi).contains(&p[1]))
        {
            assert!(same_ring(&ring, &want, 1.0), "{cell}: {ring:?} vs {want:?}");
            whole += 1;
        } else {
            // Clipped: every vertex is one of the cell's or lies on the buffered tile's edge.
            for p in &ring {
                let on_edge = [p[0], p[1]].iter().any(|&c| c == lo || c == hi);
                let a_vertex = want
                    .iter()
                    .any(|w| (w[0] - p[0]).abs() <= 1.0 && (w[1] - p[1]).abs() <= 1.0);
                assert!(on_edge || a_vertex, "{cell}: {p:?}");
            }
            clipped += 1;
        }
    }
    eprintln!("mapbox_vector_tile decoded {whole} whole and {clipped} clipped hexagons as encoded");
    assert!(whole > 300 && clipped > 10, "{whole} whole, {clipped} clipped");
}
