//! The JSON API under `/api/`: heat map, hot-spot clusters, trends, recurring problems and chains,
//! alerts, KPIs, unit drill-down, case lists and ingest — each in JSON, and the tabular ones also as
//! CSV and Arrow IPC streams (GeoJSON for the heat map), chosen by `format=` or the `Accept` header.
//!
//! Roles: `display` sees aggregates with small counts hidden; `analyst` adds case lists and chains
//! (no personal fields); `admin` adds the personal fields and ingest. A scoped token sees its unit
//! only. The analytics run off the async runtime on a pooled reader connection.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use fengqiao_analytics::aggregate::{aggregate_units, SeverityWeights};
use fengqiao_analytics::cube::{cube, is_within, last_case_day, CubeOptions, Space, Step};
use fengqiao_analytics::departments::Departments;
use fengqiao_analytics::emerging::{emerging_hot_spots, EmergingOptions};
use fengqiao_analytics::filter::Filter;
use fengqiao_analytics::profile::{profile as place_profile, ProfileOptions};
use fengqiao_analytics::recurring::{recurring as recurring_problems, repeat_chains, ChainOptions, RecurringOptions};
use fengqiao_analytics::warning::{alerts as early_warning, AlertOptions};
use fengqiao_ingest::model::AdminLevel;
use fengqiao_ingest::IngestOptions;
use serde_json::Value;

use crate::config::Role;
use crate::error::ApiError;
use crate::layers::{self, LayerRequest};
use crate::params::Params;
use crate::state::{AppState, Principal};
use crate::table::{self, Format};

/// Largest file `POST /api/ingest` accepts.
pub const MAX_UPLOAD_BYTES: usize = 512 * 1024 * 1024;
/// Longest page of `/api/cases`.
pub const MAX_PAGE: usize = 1000;

/// Whether unit `code` lies in the principal's scope (always without one).
fn in_scope(state: &AppState, who: &Principal, code: &str) -> bool {
    match who.scope {
        None => true,
        Some(scope) => state
            .region
            .id(code)
            .is_some_and(|id| is_within(&state.region, id, scope)),
    }
}

/// The count fields of a unit's figures.
const UNIT_COUNTS: [&str; 4] = ["count", "open", "overdue", "serious"];

/// Blanks counts below the display threshold in a row (display role only).
fn suppress_fields(row: &mut Value, fields: &[&str], k: u64) {
    for field in fields {
        if let Some(v) = row.get_mut(*field) {
            let small = v.as_u64().is_some_and(|n| n > 0 && n < k);
            if small {
                *v = Value::Null;
            }
        }
    }
}

/// What every API handler starts from: who asks, the query parameters and the headers (for the
/// response format).
pub struct Ask {
    pub who: Principal,
    pub params: Params,
    headers: HeaderMap,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Ask {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Ask, ApiError> {
        let who = parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError::Internal("a data route without authentication".into()))?;
        let Query(query) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest(format!("the query string: {e}")))?;
        Ok(Ask {
            who,
            params: Params::new(query),
            headers: parts.headers.clone(),
        })
    }
}

impl Ask {
    /// Checks the parameters (the filters and `own`) and picks the response format.
    fn start(&self, own: &[&str], geojson: bool) -> Result<Format, ApiError> {
        self.params.allow(true, own)?;
        table::negotiate(&self.params, &self.headers, geojson)
    }

    /// The filter, limited to the token's scope.
    fn filter(&self, state: &AppState) -> Result<Filter, ApiError> {
        self.params.filter(&state.region, &self.who)
    }

    /// Whether the display role's small-count suppression applies.
    fn display(&self) -> bool {
        self.who.role == Role::Display
    }
}

/// Items as JSON rows, each passed through `edit` (e.g. to hide small counts).
fn to_rows<T: serde::Serialize>(
    items: impl IntoIterator<Item = T>,
    edit: impl Fn(&T, &mut Value),
) -> Result<Vec<Value>, ApiError> {
    items
        .into_iter()
        .map(|item| {
            let mut row = serde_json::to_value(&item).map_err(|e| ApiError::Internal(e.to_string()))?;
            edit(&item, &mut row);
            Ok(row)
        })
        .collect()
}

/// The heat layer at `res` (5–10, default 8) for the request's filter and view — the one the tiles
/// use, from the same cache.
async fn heat_layer_of(state: &Arc<AppState>, ask: &Ask) -> Result<Arc<layers::HeatLayer>, ApiError> {
    let res = fengqiao_analytics::cells::resolution(ask.params.number_in("res", 8u8, 5..=10)?)?;
    let request = LayerRequest {
        res,
        filter: ask.filter(state)?,
        who: ask.who.clone(),
        trends: false,
    };
    layers::heat_layer(state, request).await
}

pub async fn heatmap(State(state): State<Arc<AppState>>, ask: Ask) -> Result<Response, ApiError> {
    let format = ask.start(&["res", "bbox", "nonzero"], true)?;
    let who = &ask.who;
    let bbox = bbox_of(&ask.params)?;
    let nonzero: bool = ask.params.parse_or("nonzero", false)?;
    let layer = heat_layer_of(&state, &ask).await?;
    let cells: Vec<_> = layer
        .map
        .cells
        .iter()
        .filter(|c| in_scope(&state, who, &c.village_code))
        .filter(|c| !nonzero || c.count != Some(0))
        .filter(|c| bbox.is_none_or(|b| centre_within(&c.h3, b)))
        .collect();
    if format == Format::GeoJson {
        return Ok(table::geojson_cells(&cells));
    }
    let rows = to_rows(&cells, |_, _| {})?;
    let whole = serde_json::json!({ "res": layer.map.res, "k": layer.map.k, "weeks": layer.map.weeks, "cells": rows });
    table::respond(format, &whole, &rows)
}

/// `bbox=west,south,east,north` (degrees), if given.
fn bbox_of(params: &Params) -> Result<Option<[f64; 4]>, ApiError> {
    let Some(text) = params.get("bbox") else {
        return Ok(None);
    };
    let bad = || ApiError::BadRequest(format!("bbox={text}: expected west,south,east,north in degrees"));
    let numbers: Vec<f64> = text
        .split(',')
        .map(|n| n.trim().parse::<f64>().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    match numbers[..] {
        [w, s, e, n] if w < e && s < n => Ok(Some([w, s, e, n])),
        _ => Err(bad()),
    }
}

/// Whether the centre of cell `h3` (hex text) lies in `[west, south, east, north]`.
fn centre_within(h3: &str, [w, s, e, n]: [f64; 4]) -> bool {
    h3.parse::<h3o::CellIndex>().is_ok_and(|cell| {
        let c = h3o::LatLng::from(cell);
        (w..=e).contains(&c.lng()) && (s..=n).contains(&c.lat())
    })
}

pub async fn hotspots(State(state): State<Arc<AppState>>, ask: Ask) -> Result<Response, ApiError> {
    let format = ask.start(&["res"], false)?;
    let who = &ask.who;
    let layer = heat_layer_of(&state, &ask).await?;
    let clusters = layer
        .map
        .clusters
        .iter()
        .filter(|c| c.villages.iter().any(|v| in_scope(&state, who, &v.code)));
    let rows = to_rows(clusters, |_, _| {})?;
    table::respond(format, &Value::Array(rows.clone()), &rows)
}

/// `space` from `res` or `level`.
fn space_of(params: &Params) -> Result<Space, ApiError> {
    Ok(match params.get("level") {
        Some(level) => Space::Units(level_of(level)?),
        None => Space::Cells(fengqiao_analytics::cells::resolution(params.number_in(
            "res",
            8u8,
            5..=9,
        )?)?),
    })
}

fn level_of(value: &str) -> Result<AdminLevel, ApiError> {
    let level: AdminLevel = value
        .parse()
        .map_err(|e| ApiError::BadRequest(format!("level={value}: {e}")))?;
    if level == AdminLevel::City {
        return Err(ApiError::BadRequest(
            "level=city: use county, township, village or grid".into(),
        ));
    }
    Ok(level)
}

pub async fn trends(State(state): State<Arc<AppState>>, ask: Ask) -> Result<Response, ApiError> {
    let format = ask.start(&["res", "level", "step", "steps", "k", "time_window"], false)?;
    let (who, params) = (&ask.who, &ask.params);
    let filter = ask.filter(&state)?;
    let opts = CubeOptions {
        space: space_of(params)?,
        step: params.parse_or("step", Step::Week)?,
        steps: params.number_in("steps", 52usize, 3..=260)?,
        last_day: filter.last_day(),
        filter,

        measure: fengqiao_analytics::measure::Measure::Count,
    };
    let emerging = EmergingOptions {
        k: params.number_in("k", 1u32, 0..=5)?,
        time_window: params.number_in("time_window", 1usize, 0..=8)?,
        ..EmergingOptions::default()
    };
    let display = ask.display();
    let k = state.config.suppress_below;
    let result = state
        .read(move |conn, state| {
            let cube = cube(conn, &state.region, &opts)?;
            Ok(emerging_hot_spots(&state.region, &cube, &emerging))
        })
        .await?;
    let locations = result.locations.iter().filter(|l| {
        // Cells carry their village; units are their own code.
        let code = if l.village_code.is_empty() {
            &l.location
        } else {
            &l.village_code
        };
        in_scope(&state, who, code)
    });
    let rows = to_rows(locations, |l, row| {
        if display && l.total > 0 && l.total < k {
            row["counts"] = Value::Null;
            row["total"] = Value::Null;
        }
    })?;
    let whole = serde_json::json!({
        "step": result.step, "periods": result.periods, "options": result.options,
        "pattern_counts": result.pattern_counts, "locations": rows,
    });
    table::respond(format, &whole, &rows)
}

pub async fn recurring(State(state): State<Arc<AppState>>, ask: Ask) -> Result<Response, ApiError> {
    let format = ask.start(&["level", "step", "window", "min_active", "history"], false)?;
    let params = &ask.params;
    let filter = ask.filter(&state)?;
    let opts = RecurringOptions {
        level: params.get("level").map_or(Ok(AdminLevel::Village), level_of)?,
        step: params.parse_or("step", Step::Week)?,
        window: params.number_in("window", 8usize, 1..=104)?,
        min_active: params.number_in("min_active", 4usize, 1..=104)?,
        history: params.number_in("history", 26usize, 1..=260)?,
        last_day: filter.last_day(),
        filter,
        measure: fengqiao_analytics::measure::Measure::Count,
        risk: Default::default(),
    };
    let display = ask.display();
    let k = state.config.suppress_below;
    let report = state
        .read(move |conn, state| Ok(recurring_problems(conn, &state.region, &Departments::default(), &opts)?))
        .await?;
    let rows = to_rows(&report.problems, |_, row| {
        if display {
            suppress_fields(row, &["cases_in_window"], k);
            row["counts"] = Value::Null;
        }
    })?;
    let whole = serde_json::json!({
        "step": report.step, "periods": report.periods, "window": report.window,
        "min_active": report.min_active, "problems": rows,
    });
    table::respond(format, &whole, &rows)
}

pub async fn chains(State(state): State<Arc<AppState>>, ask: Ask) -> Result<Response, ApiError> {
    let format = ask.start(&["link_days"], false)?;
    let params = &ask.params;
    let opts = ChainOptions {
        link_days: params.number_in("link_days", 90i64, 1..=3650)?,
        filter: ask.filter(&state)?,
    };
    let chains = state
        .read(move |conn, state| Ok(repeat_chains(conn, &state.region, &opts)?))
        .await?;
    let rows = to_rows(&chains, |_, _| {})?;
    table::respond(format, &Value::Array(rows.clone()), &rows)
}

pub async fn alerts(State(state): State<Arc<AppState>>, ask: Ask) -> Result<Response, ApiError> {
    let format = ask.start(&["as_of", "level", "limit", "min_cases", "min_recurrence_years"], false)?;
    let params = &ask.params;
    let filter = ask.filter(&state)?;
    let as_of = params.time("as_of", false)?.map(|t| t.date());
    let level = params.get("level").map_or(Ok(AdminLevel::Village), level_of)?;
    let limit = params.number_in("limit", 50usize, 0..=100_000)?;
    let min_cases = params.number_in("min_cases", 3u32, 1..=1000)?;
    let years = params.number_in("min_recurrence_years", 20.0f64, 0.1..=1e6)?;
    let list = state
        .read(move |conn, state| {
            let as_of = match as_of {
                Some(d) => d,
                None => match last_case_day(conn, &state.region, &filter)? {
                    Some(d) => d,
                    None => return Ok(Vec::new()),
                },
            };
            let mut opts = AlertOptions::new(as_of);
            opts.level = level;
            opts.limit = (limit > 0).then_some(limit);
            opts.min_cases = min_cases;
            opts.min_recurrence_years = years;
            opts.filter = filter;
            Ok(early_warning(conn, &state.region, &Departments::default(), &opts)?)
        })
        .await?;
    let rows = to_rows(&list, |_, _| {})?;
    table::respond(format, &Value::Array(rows.clone()), &rows)
}

pub async fn kpis(State(state): State<Arc<AppState>>, ask: Ask) -> Result<Response, ApiError> {
    let format = ask.start(&["level"], false)?;
    let (who, params) = (&ask.who, &ask.params);
    let filter = ask.filter(&state)?;
    let level = params.get("level").map_or(Ok(AdminLevel::County), level_of)?;
    let display = ask.display();
    let k = state.config.suppress_below;
    let (summary, units) = state
        .read(move |conn, state| {
            let summary = fengqiao_analytics::kpi::summary_of(conn, &state.region, &filter)?;
            let units = aggregate_units(
                conn,
                &state.region,
                level,
                &filter,
                &SeverityWeights::default(),
                fengqiao_ingest::time::now_china(),
            )?;
            Ok((summary, units))
        })
        .await?;
    let rows = to_rows(units.iter().filter(|u| in_scope(&state, who, &u.code)), |_, row| {
        if display {
            suppress_fields(row, &UNIT_COUNTS, k);
        }
    })?;
    let whole = serde_json::json!({ "summary": summary, "units": rows });
    table::respond(format, &whole, &rows)
}

pub async fn unit(
    State(state): State<Arc<AppState>>,
    Path(code): Path<String>,
    ask: Ask,
) -> Result<Response, ApiError> {
    let format = ask.start(&[], false)?;
    let who = &ask.who;
    let region = Arc::clone(&state.region);
    let id = region
        .id(&code)
        .ok_or_else(|| ApiError::NotFound(format!("no unit {code} in {}", region.code)))?;
    // A scoped token may open its own unit, the units inside it, and the units above it (to walk
    // down from the city), but sees figures only inside its scope.
    if let Some(scope) = who.scope {
        if !is_within(&region, id, scope) && !is_within(&region, scope, id) {
            return Err(ApiError::Forbidden(format!("unit {code} is outside this token's area")));
        }
    }
    let unit = &region.units[id as usize];
    let children: Vec<u32> = region.children(id).to_vec();
    let child_level = children.first().map(|&c| region.units[c as usize].level);
    let mut filter = ask.filter(&state)?;
    if filter.unit.is_none() || who.scope.is_some_and(|s| is_within(&region, id, s)) {
        filter.unit = Some(code.clone());
    }
    let display = ask.display();
    let k = state.config.suppress_below;
    let figures = match child_level {
        Some(level) => {
            state
                .read(move |conn, state| {
                    Ok(aggregate_units(
                        conn,
                        &state.region,
                        level,
                        &filter,
                        &SeverityWeights::default(),
                        fengqiao_ingest::time::now_china(),
                    )?)
                })
                .await?
        }
        None => Vec::new(),
    };
    let child_codes: std::collections::HashSet<&str> = children
        .iter()
        .map(|&c| region.units[c as usize].code.as_str())
        .collect();
    let rows: Vec<Value> = figures
        .iter()
        .filter(|f| child_codes.contains(f.code.as_str()) && in_scope(&state, who, &f.code))
        .map(|f| {
            let mut row = serde_json::to_value(f).map_err(|e| ApiError::Internal(e.to_string()))?;
            if display {
                suppress_fields(&mut row, &["count", "open", "overdue", "serious"], k);
            }
            Ok(row)
        })
        .collect::<Result<_, ApiError>>()?;
    let mut breadcrumbs = Vec::new();
    let mut up = Some(id);
    while let Some(u) = up {
        let x = &region.units[u as usize];
        breadcrumbs.push(serde_json::json!({ "code": x.code, "name": x.name, "level": x.level.code() }));
        up = region.parent(u);
    }
    breadcrumbs.reverse();
    let whole = serde_json::json!({
        "code": unit.code, "name": unit.name, "level": unit.level.code(),
        "population": unit.population, "lng": unit.lng, "lat": unit.lat, "bbox": unit_bbox(&region, id),
        "breadcrumbs": breadcrumbs, "children": rows,
    });
    table::respond(format, &whole, &rows)
}

/// `[west, south, east, north]` of a unit: its boundary's box, or (units known by a point) the box
/// of its own and its descendants' points, widened by ~1 km so a village is not a single point.
fn unit_bbox(region: &fengqiao_ingest::Region, id: u32) -> [f64; 4] {
    use geo::BoundingRect;
    let unit = &region.units[id as usize];
    if let Some(rect) = unit.boundary.as_ref().and_then(|b| b.bounding_rect()) {
        return [rect.min().x, rect.min().y, rect.max().x, rect.max().y];
    }
    let mut bbox = [unit.lng, unit.lat, unit.lng, unit.lat];
    let mut stack = vec![id];
    while let Some(u) = stack.pop() {
        let x = &region.units[u as usize];
        bbox = [
            bbox[0].min(x.lng),
            bbox[1].min(x.lat),
            bbox[2].max(x.lng),
            bbox[3].max(x.lat),
        ];
        stack.extend_from_slice(region.children(u));
    }
    let pad = 0.01;
    [bbox[0] - pad, bbox[1] - pad, bbox[2] + pad, bbox[3] + pad]
}

/// The columns of `/api/cases`; `party_name` and `party_phone` only for admin.
const CASE_COLUMNS: &str = "case_id, CAST(reported_at AS VARCHAR) AS reported_at, channel, class, category, severity, \
     status, CAST(closed_at AS VARCHAR) AS closed_at, satisfaction, county_code, township_code, village_code, \
     grid_code, lng, lat, h3, repeat_of";

pub async fn cases(State(state): State<Arc<AppState>>, ask: Ask) -> Result<Response, ApiError> {
    let format = ask.start(&["page", "per_page"], false)?;
    let (who, params) = (&ask.who, &ask.params);
    let filter = ask.filter(&state)?;
    let page = params.number_in("page", 1usize, 1..=1_000_000)?;
    let per_page = params.number_in("per_page", 100usize, 1..=MAX_PAGE)?;
    let personal = who.role == Role::Admin;
    let (total, rows) = state
        .read(move |conn, state| {
            let (clause, binds) = filter.where_clause(&state.region)?;
            let total: i64 = conn
                .query_row(
                    &format!("SELECT count(*) FROM cases WHERE {clause}"),
                    duckdb::params_from_iter(binds.iter()),
                    |r| r.get(0),
                )
                .map_err(|e| ApiError::Internal(format!("counting cases: {e}")))?;
            let columns = if personal {
                format!("{CASE_COLUMNS}, party_name, party_phone")
            } else {
                CASE_COLUMNS.to_string()
            };
            let sql = format!(
                "SELECT {columns} FROM cases WHERE {clause} ORDER BY reported_at DESC, case_id LIMIT {per_page} OFFSET {}",
                (page - 1) * per_page
            );
            let rows = table::query_rows(conn, &sql, &binds)?;
            Ok((total as u64, rows))
        })
        .await?;
    let whole = serde_json::json!({ "total": total, "page": page, "per_page": per_page, "cases": rows });
    table::respond(format, &whole, &rows)
}

/// `POST /api/ingest?name=cases.csv` with the file as the body (or `Content-Type` `text/csv`,
/// `application/x-ndjson`, `application/vnd.apache.parquet`): ingested in one transaction with the
/// CLI's rules; answers the ingest report.
pub async fn ingest(
    State(state): State<Arc<AppState>>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::new(query);
    params.allow(false, &["name"])?;
    if body.is_empty() {
        return Err(ApiError::BadRequest(
            "the body is empty: send the case file as the request body".into(),
        ));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let name = params.get("name").unwrap_or("upload").to_string();
    let extension = match std::path::Path::new(&name).extension().and_then(|e| e.to_str()) {
        Some(e @ ("csv" | "ndjson" | "jsonl" | "parquet")) => e.to_string(),
        _ if content_type.starts_with("text/csv") => "csv".into(),
        _ if content_type.contains("ndjson") => "ndjson".into(),
        _ if content_type.contains("parquet") => "parquet".into(),
        _ => {
            return Err(ApiError::BadRequest(
                "say what the file is: ?name=cases.csv (or .ndjson, .parquet) or a Content-Type".into(),
            ))
        }
    };
    let safe_name: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let report = state
        .write(move |store, region| {
            let dir = tempfile::tempdir().map_err(|e| ApiError::Internal(format!("a temporary directory: {e}")))?;
            let stem = safe_name.trim_end_matches(&format!(".{extension}"));
            let path = dir.path().join(format!("{stem}.{extension}"));
            std::fs::write(&path, &body).map_err(|e| ApiError::Internal(format!("{}: {e}", path.display())))?;
            let report = store
                .ingest_file(
                    &path,
                    region,
                    &IngestOptions::default(),
                    &fengqiao_ingest::store::NoProgress,
                )
                .map_err(|e| match e {
                    fengqiao_ingest::store::IngestError::File { .. } => ApiError::BadRequest(e.to_string()),
                    other => ApiError::Internal(other.to_string()),
                })?;
            let changed = report.inserted + report.updated > 0;
            Ok((report, changed))
        })
        .await?;
    Ok(axum::Json(serde_json::json!({ "version": state.version(), "report": report })).into_response())
}

/// A place's profile for the explorer: the filter's unit (or the region), narrowed to `cell`.
pub async fn profile(State(state): State<Arc<AppState>>, ask: Ask) -> Result<Response, ApiError> {
    ask.params.allow(true, &["cell", "weeks", "limit"])?;
    let params = &ask.params;
    let cell = match params.get("cell") {
        Some(text) => {
            let cell: h3o::CellIndex = text
                .parse()
                .map_err(|_| ApiError::BadRequest(format!("cell={text} is not an H3 cell index")))?;
            if !(5..=10).contains(&u8::from(cell.resolution())) {
                return Err(ApiError::BadRequest(format!("cell={text}: resolution 5 to 10 only")));
            }
            Some(cell)
        }
        None => None,
    };
    let opts = ProfileOptions {
        filter: ask.filter(&state)?,
        cell,
        weeks: params.number_in("weeks", 12usize, 2..=104)?,
        limit: params.number_in("limit", 10usize, 1..=100)?,
    };
    let profile = state
        .read(move |conn, state| Ok(place_profile(conn, &state.region, &opts)?))
        .await?;
    Ok(axum::Json(profile).into_response())
}

/// The codes of the coded values with their Chinese and English names, for the pages' labels.
pub async fn vocabulary() -> Response {
    fn list<T: Copy>(all: &[T], code: fn(T) -> &'static str, zh: fn(T) -> &'static str) -> Value {
        all.iter()
            .map(|&v| serde_json::json!({ "code": code(v), "zh": zh(v), "en": english(code(v)) }))
            .collect()
    }
    use fengqiao_analytics::pattern::Pattern;
    use fengqiao_analytics::response::Level;
    use fengqiao_ingest::model::{CaseClass, Category, Channel, Satisfaction, Severity, Status};
    let patterns: Value = Pattern::ALL
        .iter()
        .map(|p| serde_json::json!({ "code": p.code(), "zh": p.name_zh(), "en": p.name_en() }))
        .collect();
    let levels: Value = [Level::Blue, Level::Yellow, Level::Orange, Level::Red]
        .iter()
        .map(|l| {
            serde_json::json!({
                "code": l.code(), "zh": l.zh(), "en": english(l.code()), "responder_zh": l.responder_zh(),
            })
        })
        .collect();
    axum::Json(serde_json::json!({
        "class": list(CaseClass::ALL, CaseClass::code, CaseClass::zh),
        "category": list(Category::ALL, Category::code, Category::zh),
        "channel": list(Channel::ALL, Channel::code, Channel::zh),
        "status": list(Status::ALL, Status::code, Status::zh),
        "severity": list(Severity::ALL, Severity::code, Severity::zh),
        "satisfaction": list(Satisfaction::ALL, Satisfaction::code, Satisfaction::zh),
        "admin_level": list(AdminLevel::ALL, AdminLevel::code, AdminLevel::zh),
        "level": levels,
        "pattern": patterns,
    }))
    .into_response()
}

/// An English label from a code: `marriage_family` → `Marriage family`, `ip` → `IP`.
fn english(code: &str) -> String {
    if code == "ip" {
        return "IP".into();
    }
    let words = code.replace('_', " ");
    let mut chars = words.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
