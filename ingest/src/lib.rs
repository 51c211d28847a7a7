//! Ingest: reads case records (CSV in UTF-8 or GB18030, NDJSON, Parquet), validates every row against
//! the domain model and the region, converts coordinates to WGS84, indexes them in H3, and loads them
//! into the DuckDB case store, one transaction per file.
//!
//! Inputs: files in the format of `docs/input-format.md`, and a [`region::Region`].
//! Outputs: the store's `cases`, `rejected` and `ingest_log` tables ([`schema::STORE_DDL`]) and an
//! [`store::IngestReport`] per file. This crate also owns the domain model ([`model`]) and the region
//! loader ([`region`]) that every other crate uses.

pub mod coords;
pub mod model;
pub mod population;
pub mod read;
pub mod region;
pub mod schema;
pub mod store;
pub mod time;
pub mod validate;

pub use region::Region;
pub use store::{IngestError, IngestOptions, IngestReport, Store};
