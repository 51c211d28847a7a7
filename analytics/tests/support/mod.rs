//! Shared by the analytics tests: a generated data set ingested into an in-memory store.

use std::path::Path;

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
