//! What the server holds between requests: the region, the store (one writer for ingest, a pool of
//! reader connections), the data version, the token table, caches (in-memory case columns per data
//! version, computed heat layers, encoded tiles), the event channel and the metrics.
//!
//! DuckDB gives every reader connection a consistent snapshot: a query that starts while an ingest
//! runs sees the store as it was before the ingest's transaction, and the next one sees it after.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use duckdb::Connection;
use fengqiao_analytics::cache::CaseColumns;
use fengqiao_ingest::region::UnitId;
use fengqiao_ingest::{Region, Store};
use lru::LruCache;
use tokio::sync::broadcast;

use crate::config::{Role, ServerConfig};
use crate::error::ApiError;
use crate::layers::LayerSlot;
use crate::metrics::Metrics;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's name (for the log).
    pub name: String,
    pub role: Role,
    /// The unit the token is limited to.
    pub scope: Option<UnitId>,
}

/// Heat layers kept (one per resolution × filter × role view).
const LAYER_CACHE: usize = 64;
/// Encoded tiles kept.
const TILE_CACHE: usize = 20_000;

/// The server's state, shared by every request.
pub struct AppState {
    pub region: Arc<Region>,
    pub config: ServerConfig,
    tokens: HashMap<String, Principal>,
    /// The writer: only ingest locks it.
    store: Mutex<Store>,
    /// A connection to clone readers from (never used for queries itself).
    template: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    version: AtomicU64,
    columns: RwLock<Option<(u64, Arc<CaseColumns>)>>,
    loading_columns: AtomicBool,
    pub(crate) layers: Mutex<LruCache<String, LayerSlot>>,
    pub(crate) tiles: Mutex<LruCache<String, bytes::Bytes>>,
    pub events: broadcast::Sender<String>,
    pub metrics: Metrics,
    pub started: Instant,
    /// Serialises ingests.
    pub(crate) ingest_lock: tokio::sync::Mutex<()>,
}

impl AppState {
    /// The state for `store` (its data version is the number of files it has ingested).
    pub fn new(store: Store, region: Region, config: ServerConfig) -> Result<Arc<AppState>, ApiError> {
        let internal = |e: duckdb::Error| ApiError::Internal(format!("opening the store: {e}"));
        let template = store.conn().try_clone().map_err(internal)?;
        let version: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM ingest_log", [], |r| r.get(0))
            .map_err(internal)?;
        let tokens = config
            .tokens
            .iter()
            .map(|t| {
                let principal = Principal {
                    name: t.name.clone(),
                    role: t.role,
                    scope: t.unit.as_deref().and_then(|u| region.id(u)),
                };
                (t.token.clone(), principal)
            })
            .collect();
        let (events, _) = broadcast::channel(64);
        Ok(Arc::new(AppState {
            region: Arc::new(region),
            config,
            tokens,
            store: Mutex::new(store),
            template: Mutex::new(template),
            readers: Mutex::new(Vec::new()),
            version: AtomicU64::new(version as u64),
            columns: RwLock::new(None),
            loading_columns: AtomicBool::new(false),
            layers: Mutex::new(LruCache::new(NonZeroUsize::new(LAYER_CACHE).expect("non-zero"))),
            tiles: Mutex::new(LruCache::new(NonZeroUsize::new(TILE_CACHE).expect("non-zero"))),
            events,
            metrics: Metrics::default(),
            started: Instant::now(),
            ingest_lock: tokio::sync::Mutex::new(()),
        }))
    }

    /// The data version: changes whenever an ingest changes the store.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Who holds `token` (the raw bearer token, if any). Without configured tokens every caller is an
    /// unscoped admin (the server then listens on loopback only).
    pub fn authenticate(&self, token: Option<&str>) -> Result<Principal, ApiError> {
        if self.tokens.is_empty() {
            return Ok(Principal {
                name: "local".into(),
                role: Role::Admin,
                scope: None,
            });
        }
        let token = token
            .ok_or_else(|| ApiError::Unauthorized("a bearer token is required (Authorization: Bearer …)".into()))?;
        // Compare against every token in full, so that the time taken says nothing about a match.
        let mut found = None;
        for (known, principal) in &self.tokens {
            if constant_time_eq(known.as_bytes(), token.as_bytes()) {
                found = Some(principal);
            }
        }
        found
            .cloned()
            .ok_or_else(|| ApiError::Unauthorized("unknown token".into()))
    }

    /// Runs `f` on a reader connection off the async runtime.
    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Connection, &AppState) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let state = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let conn = state.take_reader()?;
            let result = f(&conn, &state);
            state.readers.lock().expect("reader pool").push(conn);
            result
        })
        .await
        .map_err(|e| ApiError::Internal(format!("a query task failed: {e}")))?
    }

    fn take_reader(&self) -> Result<Connection, ApiError> {
        if let Some(conn) = self.readers.lock().expect("reader pool").pop() {
            return Ok(conn);
        }
        self.template
            .lock()
            .expect("template connection")
            .try_clone()
            .map_err(|e| ApiError::Internal(format!("a reader connection: {e}")))
    }

    /// Runs `f` with the writer (ingest), off the async runtime; bumps the data version, empties the
    /// caches and tells the event stream when `f` reports a change.
    pub async fn write<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Store, &Region) -> Result<(T, bool), ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let _one_at_a_time = self.ingest_lock.lock().await;
        let state = Arc::clone(self);
        let (value, changed) = tokio::task::spawn_blocking(move || {
            let mut store = state.store.lock().expect("store");
            f(&mut store, &state.region)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("an ingest task failed: {e}")))??;
        if changed {
            let version = self.version.fetch_add(1, Ordering::AcqRel) + 1;
            self.layers.lock().expect("layer cache").clear();
            self.tiles.lock().expect("tile cache").clear();
            let _ = self
                .events
                .send(serde_json::json!({ "type": "data", "version": version }).to_string());
            self.refresh_columns();
        }
        Ok(value)
    }

    /// The in-memory case columns of the current version, when loaded.
    pub fn columns(&self) -> Option<Arc<CaseColumns>> {
        let version = self.version();
        self.columns
            .read()
            .expect("columns")
            .as_ref()
            .filter(|(v, _)| *v == version)
            .map(|(_, c)| Arc::clone(c))
    }

    /// Loads the case columns of the current version in the background (once at a time), then warms
    /// up the unfiltered heat layers.
    pub fn refresh_columns(self: &Arc<Self>) {
        if self.loading_columns.swap(true, Ordering::AcqRel) {
            return;
        }
        let state = Arc::clone(self);
        std::thread::spawn(move || {
            loop {
                let version = state.version();
                let loaded = state.take_reader().and_then(|conn| {
                    let columns = CaseColumns::load(&conn, &state.region).map_err(ApiError::from);
                    state.readers.lock().expect("reader pool").push(conn);
                    columns
                });
                match loaded {
                    Ok(columns) => {
                        *state.columns.write().expect("columns") = Some((version, Arc::new(columns)));
                        tracing::info!(version, "case columns loaded");
                        if let Ok(conn) = state.take_reader() {
                            crate::layers::warm_up(&conn, &state);
                            state.readers.lock().expect("reader pool").push(conn);
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "loading the case columns"),
                }
                if state.version() == version {
                    break;
                }
            }
            state.loading_columns.store(false, Ordering::Release);
        });
    }
}

/// Equality of two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
