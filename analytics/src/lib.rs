//! Analytics: figures computed from the case store.
//!
//! Inputs: a DuckDB connection holding the store's `cases` table (see `fengqiao_ingest::schema`).
//! Outputs: plain Rust values (serde-serialisable) for the CLI, the server and the briefings.
//! The modules, in the order data flows through them: [`filter`] (which cases) → [`aggregate`] /
//! [`cache`] (counts per H3 cell or admin unit) → [`gistar`] + [`cells`] + [`area`] (the study area,
//! its cells' places and rings, kept beside the store) → [`hotspot`] (the heat map
//! and its clusters, with [`response`] levels and [`places`] names); [`cube`] (counts per location ×
//! time step) → [`emerging`] (space-time Gi*, with [`trend`] Mann–Kendall and the [`pattern`]
//! classes); [`recurring`] (类案 and repeat chains) and [`warning`] (early-warning alerts), both
//! naming [`departments`]; [`kpi`] (headline figures); [`precision`] (how many of a cell's cases are
//! placed only at their village's point); [`briefing`] (the content of the weekly and
//! monthly briefings, from the functions above).

pub mod aggregate;
pub mod area;
pub mod briefing;
pub mod cache;
pub mod cells;
pub mod cube;
pub mod departments;
pub mod emerging;
pub mod filter;
pub mod geojson;
pub mod gistar;
pub mod hotspot;
pub mod kpi;
pub mod measure;
pub mod pattern;
pub mod places;
pub mod population;
pub mod precision;
pub mod profile;
pub mod recurring;
pub mod response;
pub mod risk;
pub mod scan;
pub mod source;
pub mod trend;
pub mod warning;

/// Errors of the analytics.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error("query for {what} failed: {source}")]
    Query {
        what: &'static str,
        #[source]
        source: duckdb::Error,
    },
    #[error("H3 resolution {0} is not one the analytics use (5 to 10)")]
    Resolution(u8),
    #[error("{0:?} units cannot be locations here: use county, township, village or grid")]
    Level(fengqiao_ingest::model::AdminLevel),
    #[error("unknown admin unit {0:?}")]
    UnknownUnit(String),
    #[error("the store holds {0}, which ingest never writes")]
    Store(String),
    #[error("{0}")]
    Period(String),
    /// A file kept beside the store (the case columns, a study area) that could not be used.
    #[error("{}: {source}", path.display())]
    CacheFile {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("population: {0}")]
    Population(String),
}
