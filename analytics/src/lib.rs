//! Analytics: figures computed from the case store.
//!
//! Inputs: a DuckDB connection holding the store's `cases` table (see `fengqiao_ingest::schema`).
//! Outputs: plain Rust values (serde-serialisable) for the CLI, the server and the briefings.
//! Today it holds the headline KPIs ([`kpi`]); the heat map, hot-spot statistics, trends and early
//! warning build on it.

pub mod kpi;

/// Errors of the analytics.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error("query for {what} failed: {source}")]
    Query {
        what: &'static str,
        #[source]
        source: duckdb::Error,
    },
}
