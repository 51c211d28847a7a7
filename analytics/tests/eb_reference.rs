//! The risk measures' empirical-Bayes helpers against PySAL esda on the committed reference file made
//! by `scripts/reference/eb_esda.py` (Marshall's EB rates, the Assunção–Reis index, Moran_Rate and
//! Gi* on EB rates); and, when Python with esda is at hand, against a fresh run.

use std::path::Path;

use fengqiao_analytics::cells::k_ring_weights;
use fengqiao_analytics::gistar::gi_star;
use fengqiao_analytics::risk::{assuncao_reis, marshall_eb_rates, moment_dispersion, morans_i, pearson_residual};
use h3o::CellIndex;

mod support;

#[derive(serde::Deserialize)]
struct Reference {
    cells: Vec<String>,
    population: Vec<f64>,
    observed: Vec<f64>,
    eb_rates: Vec<f64>,
    assuncao_reis: Vec<f64>,
    moran_rate_i: f64,
    gi_eb_z: Vec<f64>,
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance * b.abs().max(1.0)
}

fn check(path: &Path) {
    let r: Reference = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cells: Vec<CellIndex> = r.cells.iter().map(|c| c.parse().unwrap()).collect();
    assert!(cells.windows(2).all(|w| w[0] < w[1]), "cells sorted as h3o sorts them");
    let eb = marshall_eb_rates(&r.observed, &r.population);
    for (i, (ours, theirs)) in eb.iter().zip(&r.eb_rates).enumerate() {
        assert!(close(*ours, *theirs, 1e-9), "cell {i}: EB rate {ours} vs esda {theirs}");
    }
    let ar = assuncao_reis(&r.observed, &r.population);
    for (i, (ours, theirs)) in ar.iter().zip(&r.assuncao_reis).enumerate() {
        assert!(
            close(*ours, *theirs, 1e-9),
            "cell {i}: EB index {ours} vs esda {theirs}"
        );
    }
    // The EB index is the Pearson residual of the negative binomial with the moment dispersion.
    let alpha = moment_dispersion(&r.observed, &r.population);
    let rate = r.observed.iter().sum::<f64>() / r.population.iter().sum::<f64>();
    for (i, theirs) in r.assuncao_reis.iter().enumerate() {
        let ours = pearson_residual(r.observed[i], rate * r.population[i], alpha);
        assert!(
            close(ours, *theirs, 1e-9),
            "cell {i}: Pearson residual {ours} vs EB index {theirs}"
        );
    }
    let weights = k_ring_weights(&cells, 1);
    let moran = morans_i(&ar, &weights).unwrap();
    assert!(
        close(moran, r.moran_rate_i, 1e-9),
        "Moran_Rate I {moran} vs esda {}",
        r.moran_rate_i
    );
    let gi = gi_star(&eb, &weights);
    for (i, (ours, theirs)) in gi.iter().zip(&r.gi_eb_z).enumerate() {
        assert!(
            (ours.z - theirs).abs() < 1e-6,
            "cell {i}: Gi* on EB rates {} vs esda {theirs}",
            ours.z
        );
    }
    assert!(gi.iter().any(|g| g.z > 3.0), "the planted excess is there");
}

#[test]
fn eb_helpers_match_the_committed_esda_reference() {
    check(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/eb_esda.json"));
}

#[test]
fn eb_helpers_match_a_live_esda_run() {
    if let Some((_dir, live)) = support::run_reference_script("esda, libpysal, h3", "eb_esda.py") {
        check(&live);
    }
}
