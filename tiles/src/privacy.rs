//! Personal data (PIPL) beyond the display projection: what an analyst sees of a case's position,
//! and how long the raw text of rejected input lines is kept.
//!
//! * Analysts get a case's coordinates snapped to the centre of its res-10 H3 cell (~66 m across);
//!   only admin tokens see the exact point ([`snap_to_cell`]).
//! * A rejected line's `raw` text (which may hold names, phone numbers, summaries) is erased once
//!   it is older than the retention (`rejected_retention_days`, default 30): at server start and
//!   after every ingest ([`scrub_rejected`]). No route serves the `rejected` table.

use duckdb::Connection;
use serde_json::Value;

use crate::error::ApiError;

/// Erases the raw text of rejected lines ingested more than `days` days ago; returns how many.
pub fn scrub_rejected(conn: &Connection, days: u32) -> Result<usize, ApiError> {
    let cutoff = fengqiao_ingest::time::now_china() - chrono::Duration::days(i64::from(days));
    let erased = conn
        .execute(
            "UPDATE rejected SET raw = NULL WHERE raw IS NOT NULL AND ingested_at < CAST(? AS TIMESTAMP)",
            [fengqiao_ingest::time::format_datetime(cutoff)],
        )
        .map_err(|e| ApiError::Internal(format!("erasing old rejected lines: {e}")))?;
    if erased > 0 {
        tracing::info!(erased, days, "raw text of old rejected lines erased");
    }
    Ok(erased)
}

/// Replaces a case row's `lng`/`lat` by the centre of its H3 cell (`h3`, hex text, the stored
/// res-10 cell): what a non-admin sees of where a case happened.
pub fn snap_to_cell(row: &mut Value) {
    let centre = row
        .get("h3")
        .and_then(Value::as_str)
        .and_then(|h| h.parse::<h3o::CellIndex>().ok())
        .map(h3o::LatLng::from);
    match centre {
        Some(c) => {
            // Six decimals: the cell centre, no more.
            row["lng"] = Value::from((c.lng() * 1e6).round() / 1e6);
            row["lat"] = Value::from((c.lat() * 1e6).round() / 1e6);
        }
        None => {
            row["lng"] = Value::Null;
            row["lat"] = Value::Null;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapped_position_is_its_cells_centre() {
        let point = h3o::LatLng::new(25.7712345, 113.0123456).unwrap();
        let cell = point.to_cell(h3o::Resolution::Ten);
        let mut row = serde_json::json!({ "h3": cell.to_string(), "lng": 113.0123456, "lat": 25.7712345 });
        snap_to_cell(&mut row);
        let centre = h3o::LatLng::from(cell);
        assert!((row["lng"].as_f64().unwrap() - centre.lng()).abs() < 1e-6);
        assert!((row["lat"].as_f64().unwrap() - centre.lat()).abs() < 1e-6);
        assert_ne!(row["lng"].as_f64().unwrap(), 113.0123456);
        let mut bad = serde_json::json!({ "h3": "nothing", "lng": 1.0, "lat": 2.0 });
        snap_to_cell(&mut bad);
        assert!(bad["lng"].is_null() && bad["lat"].is_null());
    }

    #[test]
    fn old_raw_text_is_erased_and_recent_kept() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&fengqiao_ingest::migrate::store_ddl()).unwrap();
        let now = fengqiao_ingest::time::now_china();
        for (days, raw) in [(40, "张三,13800000000"), (5, "李四,13900000000")] {
            conn.execute(
                "INSERT INTO rejected (file, line, field, reason, message, raw, ingested_at) VALUES ('f.csv', 1, 'x', 'r', 'm', ?, CAST(? AS TIMESTAMP))",
                duckdb::params![
                    raw,
                    fengqiao_ingest::time::format_datetime(now - chrono::Duration::days(days))
                ],
            )
            .unwrap();
        }
        assert_eq!(scrub_rejected(&conn, 30).unwrap(), 1);
        let left: Vec<Option<String>> = conn
            .prepare("SELECT raw FROM rejected ORDER BY ingested_at")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(left, [None, Some("李四,13900000000".to_string())]);
    }
}
