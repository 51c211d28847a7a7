//! Ingest: reads case records (CSV in UTF-8 or GB18030, NDJSON, Parquet, XLSX/XLS sheets), maps a
//! centre's own headers and words onto the columns ([`mapping`], proposed by [`inspect`]), validates
//! every row against the domain model and the region, finds its place by codes, unit names or
//! address ([`gazetteer`]) or by the polygon its point lies in, converts coordinates to WGS84, indexes
//! them in H3, and loads them into the DuckDB case store, one transaction per file.
//!
//! Inputs: files in the format of `docs/input-format.md`, and a [`region::Region`].
//! Outputs: the store's `cases` (declared once in [`schema`]), `rejected` and `ingest_log` tables at
//! its schema version ([`migrate`]: older stores are migrated, newer ones refused), the store's
//! record of its region ([`stored`]), and an [`store::IngestReport`] per file. This crate also owns
//! the domain model ([`model`]), the region loader ([`region`]) that every other crate uses, and the
//! region import ([`import`]) that builds a region directory from a centre's boundary files and unit
//! tables.

pub mod coords;
pub mod gazetteer;
pub mod import;
pub mod inspect;
pub mod mapping;
pub mod migrate;
pub mod model;
pub mod parquet;
pub mod population;
pub mod read;
pub mod region;
pub mod region_update;
pub mod schema;
pub mod store;
pub mod stored;
pub mod time;
pub mod validate;
pub mod workbook;

pub use region::Region;
pub use store::{IngestError, IngestOptions, IngestReport, Store};
