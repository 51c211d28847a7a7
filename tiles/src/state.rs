//! What the server holds between requests: the region, the store (one writer for ingest, a pool of
//! reader connections), the data version, the token table, caches bounded in bytes (in-memory case
//! columns per data version, computed heat layers, encoded tiles, the display projection), the
//! bounded worker pool, the event channel, the audit log, the metrics and the shutdown signal.
//!
//! DuckDB gives every reader connection a consistent snapshot: a query that starts while an ingest
//! runs sees the store as it was before the ingest's transaction, and the next one sees it after.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Instant;

use duckdb::Connection;
use fengqiao_analytics::cache::{CaseColumns, Provenance};
use fengqiao_ingest::region::UnitId;
use fengqiao_ingest::{Region, Store};
use tokio::sync::{broadcast, Semaphore};
use tokio_util::sync::CancellationToken;

use axum::response::IntoResponse;

use crate::cache::ByteCache;
use crate::config::{Config, Role};
use crate::error::ApiError;
use crate::layers::LayerSlot;
use crate::metrics::Metrics;
use crate::work::{AreaCells, Interrupt, Pool};

/// A display answer once made: its content type and body.
pub(crate) type AnswerSlot =
    Arc<tokio::sync::OnceCell<(axum::http::HeaderValue, bytes::Bytes, Option<crate::audit::Rows>)>>;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's name (for the log and the audit log; never the token).
    pub name: String,
    pub role: Role,
    /// The unit the token is limited to.
    pub scope: Option<UnitId>,
}

/// The server's state, shared by every request.
pub struct AppState {
    pub region: Arc<Region>,
    pub config: Config,
    /// Token → principal, compared in full against every entry.
    tokens: Vec<(String, Principal)>,
    /// The writer: only ingest locks it.
    store: Mutex<Store>,
    /// Reader connections: at most one per worker, plus one for loading the case columns.
    readers: r2d2::Pool<Readers>,
    version: AtomicU64,
    columns: RwLock<Option<(u64, Arc<CaseColumns>)>>,
    /// Where the case columns are kept between runs (`STORE.columns`, shared with the CLI's heat
    /// maps); none for an in-memory store.
    columns_file: Option<std::path::PathBuf>,
    loading_columns: AtomicBool,
    pub(crate) layers: Mutex<ByteCache<String, LayerSlot>>,
    pub(crate) tiles: Mutex<ByteCache<String, bytes::Bytes>>,
    /// Display answers (content type and body) by canonical request, for the current version; a
    /// request arriving while the same answer is computed waits for it.
    answers: Mutex<ByteCache<String, AnswerSlot>>,
    /// The display projection of the current version, once computed.
    pub(crate) display: Mutex<Option<(u64, crate::display::ProjectionSlot)>>,
    pub events: broadcast::Sender<String>,
    pub metrics: Metrics,
    pub started: Instant,
    /// Serialises ingests.
    pub(crate) ingest_lock: tokio::sync::Mutex<()>,
    /// Heavy work: at most `limits.workers` at once, `limits.queue` waiting.
    pub pool: Pool,
    /// Study-area cells per unit, to size requests before doing them.
    pub area: AreaCells,
    /// Cancelled at shutdown: event streams end, queued work is refused.
    pub shutdown: CancellationToken,
    /// Open event streams.
    pub(crate) streams: Arc<Semaphore>,
    /// The host names requests may name (set by [`crate::server::serve`]).
    hosts: OnceLock<Vec<String>>,
    pub audit: crate::audit::AuditLog,
}

impl AppState {
    /// The state for `store` (its data version is the number of files it has ingested). Sets the
    /// store's memory limit, erases the raw text of rejected lines older than the retention, and
    /// opens the audit log. A token whose unit the region does not have is an error, not "no scope".
    pub fn new(store: Store, region: Region, config: Config) -> Result<Arc<AppState>, ApiError> {
        let internal = |e: duckdb::Error| ApiError::Internal(format!("opening the store: {e}"));
        store
            .conn()
            .execute_batch(&format!(
                "SET memory_limit = '{}'; SET threads = {}",
                config.limits.memory, config.limits.duckdb_threads
            ))
            .map_err(internal)?;
        crate::privacy::scrub_rejected(store.conn(), config.rejected_retention_days)?;
        let readers = Readers::pool(store.conn(), config.limits.workers)?;
        let audit = crate::audit::AuditLog::open(store.conn())?;
        let version: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM ingest_log", [], |r| r.get(0))
            .map_err(internal)?;
        let mut tokens = Vec::new();
        for t in &config.tokens {
            let scope = match t.unit.as_deref() {
                None => None,
                Some(code) => Some(region.id(code).ok_or_else(|| {
                    ApiError::Internal(format!(
                        "token {:?}: unit {code} is not in region {}",
                        t.name, region.code
                    ))
                })?),
            };
            let principal = Principal {
                name: t.name.clone(),
                role: t.role,
                scope,
            };
            tokens.push((t.token.clone(), principal));
        }
        let (events, _) = broadcast::channel(64);
        let limits = &config.limits;
        let area = AreaCells::new(&region);
        let columns_file = store.path().map(CaseColumns::file_beside);
        Ok(Arc::new(AppState {
            region: Arc::new(region),
            tokens,
            store: Mutex::new(store),
            readers,
            version: AtomicU64::new(version as u64),
            columns: RwLock::new(None),
            columns_file,
            loading_columns: AtomicBool::new(false),
            layers: Mutex::new(ByteCache::new(limits.layer_cache_bytes)),
            tiles: Mutex::new(ByteCache::new(limits.tile_cache_bytes)),
            answers: Mutex::new(ByteCache::new(limits.answer_cache_bytes)),
            display: Mutex::new(None),
            events,
            metrics: Metrics::default(),
            started: Instant::now(),
            ingest_lock: tokio::sync::Mutex::new(()),
            pool: Pool::new(limits.workers, limits.queue, limits.per_token, limits.per_token_queue),
            area,
            shutdown: CancellationToken::new(),
            streams: Arc::new(Semaphore::new(limits.streams)),
            hosts: OnceLock::new(),
            audit,
            config,
        }))
    }

    /// The data version: changes whenever an ingest changes the store.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Sets the host names requests may name in `Host` and `Origin` (once).
    pub fn set_allowed_hosts(&self, hosts: Vec<String>) {
        let _ = self.hosts.set(hosts);
    }

    pub fn allowed_hosts(&self) -> Option<&[String]> {
        self.hosts.get().map(Vec::as_slice)
    }

    /// Who holds `token` (the raw bearer token, if any): no token, or one the server does not
    /// know, is a 401 — also when no token is configured at all.
    pub fn authenticate(&self, token: Option<&str>) -> Result<Principal, ApiError> {
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

    /// Runs `f` on a reader connection off the async runtime, admitted by the worker pool (503
    /// when its queue is full). When the caller stops waiting (the request was cancelled or timed
    /// out), the query `f` is running is interrupted, and work not yet started does not start.
    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Connection, &AppState) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        if self.shutdown.is_cancelled() {
            return Err(ApiError::Busy(crate::work::RETRY_AFTER_SECONDS));
        }
        let permit = self.pool.admit().await?;
        // Admitted, so a reader is free: taking it does not wait.
        let conn = self
            .readers
            .try_get()
            .ok_or_else(|| ApiError::Internal("no free reader connection for an admitted request".into()))?;
        let busy = Arc::new(Mutex::new(true));
        let _interrupt = Interrupt::new(conn.interrupt_handle(), Arc::clone(&busy));
        let state = Arc::clone(self);
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            crate::work::lower_priority();
            let result = f(&conn, &state);
            *busy.lock().expect("busy flag") = false;
            // Back to the pool before the permit is (at the end of this closure): the next
            // admitted request finds it idle.
            drop(conn);
            result
        });
        task.await
            .map_err(|e| ApiError::Internal(format!("a query task failed: {e}")))?
    }

    /// A reader for work outside requests (loading the case columns), waiting for one if need be.
    fn take_reader(&self) -> Result<r2d2::PooledConnection<Readers>, ApiError> {
        self.readers
            .get()
            .map_err(|e| ApiError::Internal(format!("a reader connection: {e}")))
    }

    /// Runs `f` with the writer (ingest), off the async runtime; bumps the data version, empties the
    /// caches and tells the event stream when `f` reports a change. The work runs as its own task:
    /// a request cancelled meanwhile does not stop it between the commit and the version bump, so
    /// the version always moves on with a committed change.
    pub async fn write<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Store, &Region) -> Result<(T, bool), ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let state = Arc::clone(self);
        tokio::spawn(async move {
            let _one_at_a_time = state.ingest_lock.lock().await;
            let writer = Arc::clone(&state);
            let (value, changed) = tokio::task::spawn_blocking(move || {
                let mut store = writer.store.lock().expect("store");
                let result = f(&mut store, &writer.region);
                // The retention applies after every ingest too.
                if let Err(e) = crate::privacy::scrub_rejected(store.conn(), writer.config.rejected_retention_days) {
                    tracing::error!(error = %e, "erasing old rejected lines");
                }
                result
            })
            .await
            .map_err(|e| ApiError::Internal(format!("an ingest task failed: {e}")))??;
            if changed {
                state.data_changed();
            }
            Ok(value)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("an ingest task failed: {e}")))?
    }

    /// After a committed change: the version moves on, caches empty, clients are told.
    fn data_changed(self: &Arc<Self>) {
        let version = self.version.fetch_add(1, Ordering::AcqRel) + 1;
        self.layers.lock().expect("layer cache").clear();
        self.tiles.lock().expect("tile cache").clear();
        self.answers.lock().expect("answer cache").clear();
        *self.display.lock().expect("display projection") = None;
        let _ = self
            .events
            .send(serde_json::json!({ "type": "data", "version": version }).to_string());
        self.refresh_columns();
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
                let loaded = state.take_reader().and_then(|conn| state.read_columns(&conn));
                match loaded {
                    Ok(columns) => {
                        *state.columns.write().expect("columns") = Some((version, Arc::new(columns)));
                        tracing::info!(version, "case columns loaded");
                        if let Ok(conn) = state.take_reader() {
                            crate::layers::warm_up(&conn, &state);
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

impl AppState {
    /// The case columns of the store on `conn`: from the kept file when it was made from the same
    /// cases and region, else from the store (then kept for the next start).
    fn read_columns(&self, conn: &duckdb::Connection) -> Result<CaseColumns, ApiError> {
        let Some(path) = &self.columns_file else {
            return Ok(CaseColumns::load(conn, &self.region)?);
        };
        let (columns, provenance, _) = CaseColumns::cached(conn, &self.region, path)?;
        match provenance {
            Provenance::File => tracing::info!(file = %path.display(), "case columns read from the kept file"),
            Provenance::Rebuilt => tracing::info!(file = %path.display(), "case columns kept for the next start"),
            Provenance::Unsaved(why) => tracing::warn!(file = %path.display(), %why, "case columns not kept"),
        }
        Ok(columns)
    }

    /// A display answer from the cache, or made by `make` once for everyone asking the same
    /// meanwhile; an answer that is not a marked 200 is passed on and not kept.
    pub(crate) async fn answer(
        &self,
        key: String,
        make: impl std::future::Future<Output = axum::response::Response>,
    ) -> axum::response::Response {
        let slot =
            self.answers
                .lock()
                .expect("answer cache")
                .get_or_insert(key.clone(), AnswerSlot::default, key.len() + 64);
        let mut passed = None;
        let kept = slot
            .get_or_try_init(|| async {
                let response = make.await;
                if response.status() != axum::http::StatusCode::OK
                    || response.extensions().get::<crate::display::Mark>().is_none()
                {
                    passed = Some(response);
                    return Err(());
                }
                let (parts, body) = response.into_parts();
                let rows = parts.extensions.get::<crate::audit::Rows>().copied();
                let Ok(bytes) = axum::body::to_bytes(body, 16 << 20).await else {
                    passed = Some(
                        crate::error::ApiError::Internal(format!("{key}: a display answer over 16 MiB"))
                            .into_response(),
                    );
                    return Err(());
                };
                let content_type = parts
                    .headers
                    .get(axum::http::header::CONTENT_TYPE)
                    .cloned()
                    .unwrap_or_else(|| axum::http::HeaderValue::from_static("application/json"));
                Ok((content_type, bytes, rows))
            })
            .await;
        match kept {
            Ok((content_type, bytes, rows)) => {
                let weight = bytes.len() + key.len() + 64;
                self.answers.lock().expect("answer cache").weigh(&key, weight);
                let mut response = axum::response::Response::new(axum::body::Body::from(bytes.clone()));
                response
                    .headers_mut()
                    .insert(axum::http::header::CONTENT_TYPE, content_type.clone());
                response.extensions_mut().insert(crate::display::Mark);
                if let Some(rows) = rows {
                    response.extensions_mut().insert(*rows);
                }
                response
            }
            Err(()) => {
                passed.unwrap_or_else(|| crate::error::ApiError::Busy(crate::work::RETRY_AFTER_SECONDS).into_response())
            }
        }
    }

    /// The state's gauges for `/metrics`: caches in bytes, the worker pool, open event streams,
    /// dropped audit entries.
    pub fn gauges(&self) -> Vec<crate::metrics::Gauge<'static>> {
        use crate::metrics::Gauge::{Total, Value};
        let layers = self.layers.lock().expect("layer cache").bytes();
        let tiles = self.tiles.lock().expect("tile cache").bytes();
        let answers = self.answers.lock().expect("answer cache").bytes();
        let limits = &self.config.limits;
        let streams = limits.streams - self.streams.available_permits();
        vec![
            Value("fengqiao_cache_bytes", &[("cache", "layers")], layers as f64),
            Value("fengqiao_cache_bytes", &[("cache", "tiles")], tiles as f64),
            Value("fengqiao_cache_bytes", &[("cache", "answers")], answers as f64),
            Value("fengqiao_workers_busy", &[], (limits.workers - self.pool.free()) as f64),
            Value("fengqiao_queue", &[], self.pool.waiting() as f64),
            Value("fengqiao_streams", &[], streams as f64),
            Total("fengqiao_audit_dropped_total", self.audit.dropped()),
        ]
    }
}

/// The reader connections' manager: clones of the store's connection (one database; DuckDB gives
/// each query its snapshot).
pub(crate) struct Readers {
    template: Mutex<Connection>,
}

impl Readers {
    /// A pool of `workers` + 1 readers cloned from `store`, all opened now: a request admitted by the
    /// worker pool always finds one idle, and none is closed or re-opened while the server runs.
    fn pool(store: &Connection, workers: usize) -> Result<r2d2::Pool<Readers>, ApiError> {
        let internal = |e: &dyn std::fmt::Display| ApiError::Internal(format!("opening reader connections: {e}"));
        let size = u32::try_from(workers + 1).map_err(|e| internal(&e))?;
        let template = store.try_clone().map_err(|e| internal(&e))?;
        r2d2::Pool::builder()
            .max_size(size)
            .min_idle(Some(size))
            .max_lifetime(None)
            .idle_timeout(None)
            .test_on_check_out(false)
            .build(Readers {
                template: Mutex::new(template),
            })
            .map_err(|e| internal(&e))
    }
}

impl r2d2::ManageConnection for Readers {
    type Connection = Connection;
    type Error = duckdb::Error;

    fn connect(&self) -> Result<Connection, duckdb::Error> {
        self.template.lock().expect("template connection").try_clone()
    }

    fn is_valid(&self, conn: &mut Connection) -> Result<(), duckdb::Error> {
        conn.execute_batch("")
    }

    fn has_broken(&self, _: &mut Connection) -> bool {
        false
    }
}

/// Equality of two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_are_opened_up_front_bounded_and_share_the_database() {
        let store = Connection::open_in_memory().unwrap();
        store.execute_batch("CREATE TABLE t AS SELECT 42 AS x").unwrap();
        let pool = Readers::pool(&store, 2).unwrap();
        assert_eq!(pool.state().connections, 3);
        assert_eq!(pool.state().idle_connections, 3);
        let taken: Vec<_> = (0..3).map(|_| pool.try_get().unwrap()).collect();
        assert!(pool.try_get().is_none(), "a fourth reader is over the bound");
        for conn in &taken {
            let x: i64 = conn.query_row("SELECT x FROM t", [], |r| r.get(0)).unwrap();
            assert_eq!(x, 42);
        }
        drop(taken);
        assert_eq!(pool.state().idle_connections, 3);
    }
}
