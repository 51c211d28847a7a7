//! The audit log (PIPL): one row per authenticated request for case figures — who (the token's
//! name and role, never the token), when, which route and query, the token's scope, the answer's
//! status and how many rows it carried — appended to the store's `audit_log` table. The server
//! only ever appends; admin tokens read it at `GET /api/audit`.
//!
//! Requests do not wait for the log: entries go through a bounded channel to a writer thread with
//! its own store connection, which appends them in batches. Should the channel ever be full, the
//! entry is counted in `/metrics` (`fengqiao_audit_dropped_total`) and logged as an error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, RecvTimeoutError, SyncSender, TrySendError};
use std::time::Duration;

use chrono::NaiveDateTime;
use duckdb::Connection;

use crate::error::ApiError;

/// The table, created when the server opens the store.
pub const AUDIT_DDL: &str = "CREATE TABLE IF NOT EXISTS audit_log (
    asked_at TIMESTAMP NOT NULL,
    token   VARCHAR NOT NULL,
    role    VARCHAR NOT NULL,
    method  VARCHAR NOT NULL,
    route   VARCHAR NOT NULL,
    query   VARCHAR,
    scope   VARCHAR,
    status  INTEGER NOT NULL,
    rows    BIGINT
)";

/// Entries waiting for the writer at most.
const CHANNEL: usize = 100_000;

/// How many rows an answer carried, set by handlers as a response extension.
#[derive(Debug, Clone, Copy)]
pub struct Rows(pub u64);

/// One request.
#[derive(Debug, Clone)]
pub struct Entry {
    pub at: NaiveDateTime,
    pub token: String,
    pub role: String,
    pub method: String,
    pub route: String,
    pub query: Option<String>,
    pub scope: Option<String>,
    pub status: u16,
    pub rows: Option<u64>,
}

/// The log's sending end.
pub struct AuditLog {
    tx: SyncSender<Entry>,
    dropped: AtomicU64,
}

impl AuditLog {
    /// Creates the table if need be and starts the writer on a connection of its own.
    pub fn open(store: &Connection) -> Result<AuditLog, ApiError> {
        let internal = |e: duckdb::Error| ApiError::Internal(format!("the audit log: {e}"));
        store.execute_batch(AUDIT_DDL).map_err(internal)?;
        let conn = store.try_clone().map_err(internal)?;
        let (tx, rx) = sync_channel::<Entry>(CHANNEL);
        std::thread::spawn(move || {
            let mut batch = Vec::new();
            loop {
                match rx.recv_timeout(Duration::from_millis(200)) {
                    Ok(entry) => {
                        batch.push(entry);
                        batch.extend(rx.try_iter().take(4096));
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => {
                        let _ = append(&conn, &batch);
                        return;
                    }
                }
                if !batch.is_empty() {
                    if let Err(e) = append(&conn, &batch) {
                        tracing::error!(error = %e, entries = batch.len(), "writing the audit log");
                    }
                    batch.clear();
                }
            }
        });
        Ok(AuditLog {
            tx,
            dropped: AtomicU64::new(0),
        })
    }

    /// Queues one entry (never waits).
    pub fn record(&self, entry: Entry) {
        match self.tx.try_send(entry) {
            Ok(()) => {}
            Err(TrySendError::Full(e)) | Err(TrySendError::Disconnected(e)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::error!(route = %e.route, token = %e.token, "audit log entry dropped");
            }
        }
    }

    /// Entries that could not be queued.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

fn append(conn: &Connection, entries: &[Entry]) -> Result<(), duckdb::Error> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut appender = conn.appender("audit_log")?;
    for e in entries {
        appender.append_row(duckdb::params![
            fengqiao_ingest::time::format_datetime(e.at),
            e.token,
            e.role,
            e.method,
            e.route,
            e.query,
            e.scope,
            i32::from(e.status),
            e.rows.map(|n| n as i64),
        ])?;
    }
    appender.flush()
}

/// `GET /api/audit?page=&per_page=` (admin): the log, newest first, as JSON (or CSV, Arrow).
pub async fn read(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<crate::AppState>>,
    axum::extract::Query(query): axum::extract::Query<Vec<(String, String)>>,
    headers: axum::http::HeaderMap,
) -> Result<axum::response::Response, ApiError> {
    let params = crate::params::Params::new(query);
    params.allow(false, &["page", "per_page"])?;
    let format = crate::table::negotiate(&params, &headers, false)?;
    let page = params.number_in("page", 1usize, 1..=1_000_000)?;
    let per_page = params.number_in("per_page", 100usize, 1..=crate::api::MAX_PAGE)?;
    let rows = state
        .read(move |conn, _| {
            let sql = format!(
                "SELECT CAST(asked_at AS VARCHAR) AS asked_at, token, role, method, route, query, scope, status, rows
                 FROM audit_log ORDER BY asked_at DESC LIMIT {per_page} OFFSET {}",
                (page - 1) * per_page
            );
            crate::table::query_rows(conn, &sql, &[])
        })
        .await?;
    let whole = serde_json::json!({ "page": page, "per_page": per_page, "entries": rows });
    crate::table::respond(format, &whole, &rows)
}

/// `query` without any `access_token` parameter.
pub fn without_token(query: Option<&str>) -> Option<String> {
    let kept: Vec<&str> = query?
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("access_token="))
        .collect();
    (!kept.is_empty()).then(|| kept.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_appended_and_tokens_left_out_of_queries() {
        let conn = Connection::open_in_memory().unwrap();
        let log = AuditLog::open(&conn).unwrap();
        log.record(Entry {
            at: fengqiao_ingest::time::now_china(),
            token: "wall".into(),
            role: "display".into(),
            method: "GET".into(),
            route: "/api/kpis".into(),
            query: without_token(Some("from=2026-10-01&access_token=secret")),
            scope: None,
            status: 200,
            rows: Some(11),
        });
        let started = std::time::Instant::now();
        loop {
            let n: i64 = conn
                .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
                .unwrap();
            if n == 1 {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "not written");
            std::thread::sleep(Duration::from_millis(20));
        }
        let (token, query, rows): (String, String, i64) = conn
            .query_row("SELECT token, query, rows FROM audit_log", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!((token.as_str(), query.as_str(), rows), ("wall", "from=2026-10-01", 11));
        assert_eq!(without_token(Some("access_token=x")), None);
    }
}
