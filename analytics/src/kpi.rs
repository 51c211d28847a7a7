//! Headline figures of a centre: intake by class and county, closure rate (办结率), on-time closure
//! rate (按时办结率) under the "137+2030" deadlines, and satisfaction (满意度).
//!
//! Deadline rule (also in `docs/input-format.md`): a dispute must close within 3/7/20/30 days by
//! severity, every other class within 7 days; a case is closed on time when `closed_at - reported_at`
//! is at most that many days.

use chrono::NaiveDateTime;
use duckdb::Connection;
use fengqiao_ingest::model::{CaseClass, Satisfaction, Severity, Status};
use fengqiao_ingest::Region;

use crate::filter::Filter;
use serde::Serialize;

use crate::AnalyticsError;

/// Headline figures for cases reported in `[from, to)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub cases: u64,
    /// Per class code, in [`CaseClass::ALL`] order.
    pub by_class: Vec<(String, u64)>,
    /// Per channel code, with its count, largest first.
    pub by_channel: Vec<(String, u64)>,
    /// Per category code, with its count, largest first.
    pub by_category: Vec<(String, u64)>,
    /// Per county code, with its count, largest first.
    pub by_county: Vec<(String, u64)>,
    /// Finished cases (resolved, unresolved or closed).
    pub finished: u64,
    /// Finished within the deadline.
    pub finished_on_time: u64,
    /// finished / cases.
    pub closure_rate: f64,
    /// finished_on_time / finished.
    pub on_time_rate: f64,
    /// Share of answered call-backs that were very satisfied, satisfied or basically satisfied.
    pub satisfaction_rate: Option<f64>,
}

/// SQL for a case's deadline in days, from its class and severity ("137+2030").
pub fn deadline_days_sql() -> String {
    let dispute = CaseClass::Dispute.code();
    let arms: String = Severity::ALL
        .iter()
        .map(|s| format!(" WHEN '{}' THEN {}", s.code(), s.deadline_days()))
        .collect();
    format!(
        "(CASE WHEN class = '{dispute}' THEN (CASE severity{arms} END) ELSE {} END)",
        fengqiao_ingest::model::SERVICE_DEADLINE_DAYS
    )
}

/// `column IN ('a', …)` over the codes of `values` that `keep` keeps.
fn codes_in<T: Copy>(column: &str, values: &[T], keep: fn(T) -> bool, code: fn(T) -> &'static str) -> String {
    let codes: Vec<String> = values
        .iter()
        .filter(|v| keep(**v))
        .map(|v| format!("'{}'", code(*v)))
        .collect();
    format!("{column} IN ({})", codes.join(", "))
}

/// SQL: the case has ended ([`Status::is_final`]); the one declaration of that list in SQL.
pub fn finished_sql() -> String {
    codes_in("status", Status::ALL, Status::is_final, Status::code)
}

/// SQL: the case ended within its deadline ("137+2030").
pub fn on_time_sql() -> String {
    format!(
        "{} AND closed_at <= reported_at + to_days(CAST({} AS INTEGER))",
        finished_sql(),
        deadline_days_sql()
    )
}

/// SQL: the call-back answer counts as satisfied ([`Satisfaction::is_satisfied`]).
pub fn satisfied_sql() -> String {
    codes_in(
        "satisfaction",
        Satisfaction::ALL,
        Satisfaction::is_satisfied,
        Satisfaction::code,
    )
}

/// Computes the [`Summary`] of cases reported in `[from, to)` (all cases when `None`).
pub fn summary(
    conn: &Connection,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
) -> Result<Summary, AnalyticsError> {
    let mut parts = Vec::new();
    let mut params = Vec::new();
    for (t, condition) in [
        (from, "reported_at >= CAST(? AS TIMESTAMP)"),
        (to, "reported_at < CAST(? AS TIMESTAMP)"),
    ] {
        if let Some(t) = t {
            parts.push(condition);
            params.push(fengqiao_ingest::time::format_datetime(t));
        }
    }
    let clause = if parts.is_empty() {
        "TRUE".to_string()
    } else {
        parts.join(" AND ")
    };
    summary_where(conn, &clause, &params)
}

/// Computes the [`Summary`] of the cases `filter` selects (its period, values and unit).
pub fn summary_of(conn: &Connection, region: &Region, filter: &Filter) -> Result<Summary, AnalyticsError> {
    let (clause, params) = filter.where_clause(region)?;
    summary_where(conn, &clause, &params)
}

pub(crate) fn summary_where(conn: &Connection, filter: &str, params: &[String]) -> Result<Summary, AnalyticsError> {
    let err = |what| move |source| AnalyticsError::Query { what, source };
    let (cases, finished, on_time, answered, satisfied): (i64, i64, i64, i64, i64) = conn
        .query_row(
            &format!(
                "SELECT count(*),
                        count(*) FILTER (WHERE {}),
                        count(*) FILTER (WHERE {}),
                        count(satisfaction),
                        count(*) FILTER (WHERE {})
                 FROM cases WHERE {filter}",
                finished_sql(),
                on_time_sql(),
                satisfied_sql()
            ),
            duckdb::params_from_iter(params.iter()),
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .map_err(err("headline figures"))?;
    let grouped = |column: &str, what: &'static str| -> Result<Vec<(String, u64)>, AnalyticsError> {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {column}, count(*) FROM cases WHERE {filter} GROUP BY 1 ORDER BY 2 DESC, 1"
            ))
            .map_err(err(what))?;
        let rows = stmt
            .query_map(duckdb::params_from_iter(params.iter()), |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(err(what))?;
        rows.collect::<Result<_, _>>().map_err(err(what))
    };
    let counted = grouped("class", "intake by class")?;
    let by_class = CaseClass::ALL
        .iter()
        .map(|c| {
            let n = counted.iter().find(|(code, _)| code == c.code()).map_or(0, |(_, n)| *n);
            (c.code().to_string(), n)
        })
        .collect();
    let ratio = |a: i64, b: i64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
    Ok(Summary {
        cases: cases as u64,
        by_class,
        by_channel: grouped("channel", "intake by channel")?,
        by_category: grouped("category", "intake by category")?,
        by_county: grouped("county_code", "intake by county")?,
        finished: finished as u64,
        finished_on_time: on_time as u64,
        closure_rate: ratio(finished, cases),
        on_time_rate: ratio(on_time, finished),
        satisfaction_rate: (answered > 0).then(|| ratio(satisfied, answered)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fengqiao_ingest::Store;

    #[test]
    fn status_and_satisfaction_lists_come_from_the_model() {
        assert_eq!(finished_sql(), "status IN ('resolved', 'unresolved', 'closed')");
        assert_eq!(
            satisfied_sql(),
            "satisfaction IN ('very_satisfied', 'satisfied', 'basic')"
        );
        assert!(on_time_sql().starts_with(&finished_sql()));
    }

    /// id, class, severity, status, closed_at, satisfaction.
    type TestCase<'a> = (&'a str, &'a str, &'a str, &'a str, Option<&'a str>, Option<&'a str>);

    fn store_with(rows: &[TestCase<'_>]) -> Store {
        let store = Store::open_in_memory().unwrap();
        for (id, class, severity, status, closed, satisfaction) in rows {
            store
                .conn()
                .execute(
                    "INSERT INTO cases (case_id, reported_at, class, category, severity, channel, status,
                        county_code, township_code, village_code, lng, lat, geo_source, h3, closed_at,
                        updated_at, satisfaction, source_file, source_line, ingested_at)
                     VALUES (?, TIMESTAMP '2026-10-01 09:00:00', ?, 'neighbour', ?, 'walk_in', ?, '431002',
                        '431002001', '431002001001', 113.0, 25.8, 'village', 0, CAST(? AS TIMESTAMP),
                        TIMESTAMP '2026-10-01 09:00:00', ?, 'test', 1, TIMESTAMP '2026-10-01 09:00:00')",
                    duckdb::params![id, class, severity, status, closed, satisfaction],
                )
                .unwrap();
        }
        store
    }

    #[test]
    fn on_time_follows_the_deadline_of_class_and_severity() {
        let store = store_with(&[
            // A simple dispute has 3 days: closed after 3 days is on time, after 4 is late.
            (
                "a",
                "dispute",
                "simple",
                "closed",
                Some("2026-10-04 09:00:00"),
                Some("satisfied"),
            ),
            (
                "b",
                "dispute",
                "simple",
                "resolved",
                Some("2026-10-05 09:00:00"),
                Some("dissatisfied"),
            ),
            // A major dispute has 20 days.
            ("c", "dispute", "major", "closed", Some("2026-10-15 09:00:00"), None),
            // A livelihood item has 7 days whatever its severity.
            (
                "d",
                "livelihood",
                "serious",
                "closed",
                Some("2026-10-10 09:00:00"),
                Some("very_satisfied"),
            ),
            ("e", "livelihood", "simple", "in_progress", None, None),
        ]);
        let s = summary(store.conn(), None, None).unwrap();
        assert_eq!(s.cases, 5);
        assert_eq!(s.finished, 4);
        assert_eq!(s.finished_on_time, 2, "a and c on time; b and d late");
        assert!((s.closure_rate - 0.8).abs() < 1e-12);
        assert!((s.on_time_rate - 0.5).abs() < 1e-12);
        assert_eq!(s.satisfaction_rate, Some(2.0 / 3.0));
        assert_eq!(s.by_class[0], ("dispute".to_string(), 3));
        assert_eq!(s.by_class[1], ("livelihood".to_string(), 2));
        assert_eq!(s.by_county, [("431002".to_string(), 5)]);
    }

    #[test]
    fn the_period_filter_is_half_open() {
        let store = store_with(&[("a", "dispute", "simple", "received", None, None)]);
        let day = |d: u32| {
            chrono::NaiveDate::from_ymd_opt(2026, 10, d)
                .unwrap()
                .and_hms_opt(9, 0, 0)
        };
        assert_eq!(summary(store.conn(), day(1), day(2)).unwrap().cases, 1);
        assert_eq!(summary(store.conn(), day(2), None).unwrap().cases, 0);
        assert_eq!(summary(store.conn(), None, day(1)).unwrap().cases, 0);
        assert_eq!(summary(store.conn(), None, None).unwrap().satisfaction_rate, None);
    }
}
