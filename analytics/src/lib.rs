//! Analytics: figures computed from the case store.
//!
//! Inputs: a DuckDB connection holding the store's `cases` table (see `fengqiao_ingest::schema`).
//! Outputs: plain Rust values (serde-serialisable) for the CLI, the server and the briefings.
//! Today it holds the headline KPIs ([`kpi`]); the heat map, hot-spot statistics, trends and early
//! warning build on it.

pub mod aggregate;
pub mod cache;
pub mod cells;
pub mod filter;
pub mod gistar;
pub mod hotspot;
pub mod kpi;
pub mod places;
pub mod response;

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
    #[error("unknown admin unit {0:?}")]
    UnknownUnit(String),
    #[error("the store holds {0}, which ingest never writes")]
    Store(String),
}
