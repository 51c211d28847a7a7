//! Gi* against PySAL esda (and h3o's k-rings against Uber's h3) on the committed reference file made by
//! `scripts/reference/gistar_esda.py`; and, when Python with esda is at hand, against a fresh run.

use std::path::Path;

use fengqiao_analytics::cells::k_ring_weights;
use fengqiao_analytics::gistar::gi_star;
use h3o::CellIndex;

mod support;

#[derive(serde::Deserialize)]
struct Reference {
    cells: Vec<String>,
    values: Vec<f64>,
    k: std::collections::BTreeMap<String, ForK>,
}

#[derive(serde::Deserialize)]
struct ForK {
    neighbours: Vec<Vec<u32>>,
    z: Vec<f64>,
    p_norm_one_sided: Vec<f64>,
}

fn check(path: &Path) {
    let reference: Reference = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cells: Vec<CellIndex> = reference.cells.iter().map(|c| c.parse().unwrap()).collect();
    assert!(cells.windows(2).all(|w| w[0] < w[1]), "cells sorted as h3o sorts them");
    assert_eq!(reference.k.len(), 2);
    for (k, expected) in &reference.k {
        let weights = k_ring_weights(&cells, k.parse().unwrap());
        for (i, h3_neighbours) in expected.neighbours.iter().enumerate() {
            let ours: Vec<u32> = weights
                .neighbours(i)
                .iter()
                .copied()
                .filter(|&j| j as usize != i)
                .collect();
            assert_eq!(
                &ours, h3_neighbours,
                "k={k}: h3o and h3 disagree on the ring of {}",
                cells[i]
            );
        }
        let results = gi_star(&reference.values, &weights);
        for (i, r) in results.iter().enumerate() {
            assert!(
                (r.z - expected.z[i]).abs() < 1e-6,
                "k={k} cell {i}: z {} vs esda {}",
                r.z,
                expected.z[i]
            );
            let p = 2.0 * expected.p_norm_one_sided[i];
            assert!((r.p - p).abs() < 1e-6, "k={k} cell {i}: p {} vs esda {}", r.p, p);
        }
        assert!(results.iter().any(|r| r.z > 3.0), "the planted cluster is there");
    }
}

#[test]
fn gi_star_equals_esda_on_the_committed_reference() {
    check(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gistar_esda.json"));
}

/// Regenerates the reference with the Python in `FENGQIAO_PYREF` (default: the venv that
/// `scripts/reference/gistar_esda.py` describes, else `python3`) and checks it too. Where no Python
/// with esda and h3 exists the committed file above is the check, and this says so.
#[test]
fn gi_star_equals_a_live_esda_run_when_python_has_it() {
    if let Some((_dir, live)) = support::run_reference_script("esda, h3, libpysal", "gistar_esda.py") {
        check(&live);
    }
}
