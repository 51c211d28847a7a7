//! Shared by the analytics tests: a generated data set ingested into an in-memory store, and the
//! Python reference scripts run live. Each test crate uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use fengqiao_generator::truth::Truth;
use fengqiao_generator::{generate, truth_path, GenerateOptions};
use fengqiao_ingest::{IngestOptions, Region, Store};

/// Generates `opts` into `dir`, ingests it (every row must load) and returns the store and the truth.
pub fn generated_store(region: &Region, opts: &GenerateOptions, dir: &Path) -> (Store, Truth) {
    let file = dir.join(format!("cases-{}.csv", opts.seed));
    generate(region, opts, &file).unwrap();
    let truth = Truth::read(&truth_path(&file)).unwrap();
    let mut store = Store::open_in_memory().unwrap();
    let report = store
        .ingest_file(
            &file,
            region,
            &IngestOptions::default(),
            &fengqiao_ingest::store::NoProgress,
        )
        .unwrap();
    assert_eq!(report.rejected, 0);
    assert_eq!(report.inserted, truth.total_cases);
    (store, truth)
}

/// Runs the reference script `scripts/reference/SCRIPT` with the Python in `FENGQIAO_PYREF` (default:
/// the venv `~/.cache/fengqiao/pyref` the scripts describe, else `python3`), writing its JSON into a
/// temporary directory; returns the directory and the file. `None` (and a message saying the live
/// check did not run) where that Python cannot `import` the modules in `imports` (e.g.
/// `"esda, h3"`): the committed reference file is then the check.
pub fn run_reference_script(imports: &str, script: &str) -> Option<(tempfile::TempDir, PathBuf)> {
    let venv = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/fengqiao/pyref/bin/python"));
    let python = std::env::var_os("FENGQIAO_PYREF")
        .map(PathBuf::from)
        .or(venv.filter(|p| p.exists()))
        .unwrap_or_else(|| PathBuf::from("python3"));
    let available = std::process::Command::new(&python)
        .args(["-c", &format!("import {imports}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        eprintln!("no Python with {imports} at {}: live check not run", python.display());
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("live.json");
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts/reference")
        .join(script);
    let status = std::process::Command::new(&python)
        .arg(script)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "the reference script failed");
    Some((dir, out))
}
