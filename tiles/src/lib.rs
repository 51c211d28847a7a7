//! The tile server (`fengqiao serve`): vector tiles (MVT) of the heat map's H3 hexagons and of the
//! admin boundaries, raster heat tiles (PNG), TileJSON, the JSON/GeoJSON/CSV/Arrow API over the
//! analytics, live updates (ingest by API, data versions in URLs and ETags, server-sent events), the
//! briefings `fengqiao briefing` wrote (`/briefings/`) and bearer-token access control with roles
//! and admin-unit scopes — hardened for a government intranet: every display figure comes from one
//! suppressed projection ([`display`]), every route demands a role and fails closed ([`access`]),
//! no request does unbounded work or holds unbounded memory ([`work`], [`cache`]), and reads of
//! case figures are audited ([`audit`], [`privacy`]).
//!
//! Inputs: a DuckDB case store and a region. Outputs: HTTP responses from [`server::router`], which is
//! built apart from `main` and tested in-process.

pub mod access;
pub mod api;
pub mod audit;
pub mod briefings;
pub mod cache;
pub mod config;
pub mod display;
pub mod error;
pub mod layers;
pub mod metrics;
pub mod mvt;
pub mod openapi;
pub mod params;
pub mod privacy;
pub mod raster;
pub mod server;
pub mod state;
pub mod table;
pub mod tile;
pub mod watch;
pub mod work;

pub use tile::{covering, Bounds, TileError, TileId, MAX_ZOOM};

pub use server::router;
pub use state::AppState;
