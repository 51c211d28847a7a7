//! The JSON API under `/api/`: heat map, hot-spot clusters, trends, recurring problems and chains,
//! alerts, KPIs, unit drill-down, case lists and ingest — each in JSON, and the tabular ones also as
//! CSV and Arrow IPC streams (GeoJSON for the heat map), chosen by `format=` or the `Accept` header.
//!
//! Roles: `display` sees aggregates through the display projection ([`crate::display`]: suppressed,
//! whole weeks, allow-listed fields); `analyst` adds case lists (positions snapped to res-10 cells)
//! and chains (no personal fields); `admin` adds the personal fields, exact positions, ingest and
//! the audit log. A scoped token sees its unit only. The analytics run off the async runtime on the
//! bounded worker pool, each request's size checked first ([`crate::work`]).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use fengqiao_analytics::aggregate::{aggregate_units, SeverityWeights};
use fengqiao_analytics::cube::{cube, is_within, last_case_day, CubeOptions, Space, Step};
use fengqiao_analytics::emerging::{emerging_hot_spots, EmergingOptions};
use fengqiao_analytics::filter::Filter;
use fengqiao_analytics::hotspot::HeatCell;
use fengqiao_analytics::measure::Measure;
use fengqiao_analytics::profile::{profile as place_profile, ProfileOptions};
use fengqiao_analytics::recurring::{recurring as recurring_problems, repeat_chains, ChainOptions, RecurringOptions};
use fengqiao_analytics::warning::{alerts as early_warning, Alert, AlertOptions};
use fengqiao_ingest::model::{AdminLevel, CaseClass, Category};
use fengqiao_ingest::region::UnitId;
use fengqiao_ingest::IngestOptions;
use serde_json::Value;
use std::collections::HashMap;

use crate::config::Role;
use crate::display::{self, slice, Area, Projection, Window};
use crate::error::ApiError;
use crate::layers::{self, LayerRequest, View};
use crate::params::Params;
use crate::state::{AppState, Principal};
use crate::table::{self, Format};

/// Largest file `POST /api/ingest` accepts.
pub const MAX_UPLOAD_BYTES: usize = 512 * 1024 * 1024;
/// Longest page of `/api/cases`.
pub const MAX_PAGE: usize = 1000;
/// Longest ranked list (`limit=` of `/api/recurring`, `/api/chains`).
pub const MAX_LIST: usize = 5000;

/// Whether unit `code` lies in `scope` (always without one).
fn within(state: &AppState, scope: Option<UnitId>, code: &str) -> bool {
    match scope {
        None => true,
        Some(scope) => state
            .region
            .id(code)
            .is_some_and(|id| is_within(&state.region, id, scope)),
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

    /// Whether the answer goes through the display projection.
    fn display(&self) -> bool {
        self.who.role == Role::Display
    }

    /// The display period and unit, with the projection (display tokens only).
    async fn display_period(
        &self,
        state: &Arc<AppState>,
    ) -> Result<(Window, Option<UnitId>, Arc<Projection>), ApiError> {
        let projection = display::projection(state).await?;
        let (window, unit) = self.params.display_period(&state.region, &self.who, &projection)?;
        Ok((window, unit, projection))
    }
}

/// Items as JSON rows.
fn to_rows<T: serde::Serialize>(items: impl IntoIterator<Item = T>) -> Result<Vec<Value>, ApiError> {
    items
        .into_iter()
        .map(|item| serde_json::to_value(&item).map_err(|e| ApiError::Internal(e.to_string())))
        .collect()
}

/// Rows and their whole through a shape (display tokens).
fn projected(rows: &[Value], shape: &display::Shape, k: u64) -> Vec<Value> {
    rows.iter().map(|r| display::project(shape, r, k)).collect()
}

/// `res` (5–10, default 8).
fn res_of(params: &Params) -> Result<h3o::Resolution, ApiError> {
    Ok(fengqiao_analytics::cells::resolution(params.number_in(
        "res",
        8u8,
        5..=10,
    )?)?)
}

/// The heat layer a request asks for at `res=`, its view, and the unit whose cells are shown: a
/// full view is already limited to the token's area by its filter; a display view is the region's,
/// of which the unit (or area) asked for is shown.
async fn asked_layer(
    state: &Arc<AppState>,
    ask: &Ask,
) -> Result<(Arc<layers::HeatLayer>, View, Option<UnitId>), ApiError> {
    let request = LayerRequest::new(state, &ask.who, &ask.params, res_of(&ask.params)?, false).await?;
    let view = request.view;
    let selection = if view == View::Display {
        request.selection
    } else {
        ask.who.scope
    };
    Ok((layers::heat_layer(state, request).await?, view, selection))
}

pub async fn heatmap(State(state): State<Arc<AppState>>, ask: Ask) -> Result<Response, ApiError> {
    let format = ask.start(&["res", "bbox", "nonzero", "measure"], true)?;
    let bbox = bbox_of(&ask.params)?;
    let nonzero: bool = ask.params.parse_or("nonzero", false)?;
    let (layer, view, selection) = asked_layer(&state, &ask).await?;
    let cells: Vec<&HeatCell> = layer
        .map
        .cells
        .iter()
        .filter(|c| within(&state, selection, &c.village_code))
        .filter(|c| !nonzero || c.count != Some(0))
        .filter(|c| bbox.is_none_or(|b| centre_within(&c.h3, b)))
        .collect();
    let mut rows = to_rows(&cells)?;
    let whole = serde_json::json!({
        "res": layer.map.res, "k": layer.map.k, "weeks": layer.map.weeks,
        "measure": layer.map.measure, "measure_zh": layer.map.measure.zh(), "risk": layer.map.risk,
    });
    if view == View::Display {
        let k = state.config.suppress_below;
        rows = projected(&rows, &display::CELL, k);
        if format == Format::GeoJson {
            return Ok(display::no_figures(table::geojson_rows(&rows)));
        }
        let mut whole = display::project(&display::HEATMAP, &whole, k);
        whole["cells"] = Value::Array(rows.clone());
        return display::respond(format, &whole, &rows);
    }
    if format == Format::GeoJson {
        return Ok(table::geojson_rows(&rows));
    }
    let mut whole = whole;
    whole["cells"] = Value::Array(rows.clone());
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
        [w, s, e, n] if w.is_finite() && s.is_finite() && e.is_finite() && n.is_finite() && w < e && s < n => {
            Ok(Some([w, s, e, n]))
        }
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
    let format = ask.start(&["res", "measure"], false)?;
    let (layer, view, selection) = asked_layer(&state, &ask).await?;
    let clusters = layer
        .map
        .clusters
        .iter()
        .filter(|c| c.villages.iter().any(|v| within(&state, selection, &v.code)));
    let rows = to_rows(clusters)?;
    if view == View::Display {
        let rows = projected(&rows, &display::CLUSTER, state.config.suppress_below);
        return display::respond(format, &Value::Array(rows.clone()), &rows);
    }
    table::respond(format, &Value::Array(rows.clone()), &rows)
}

/// `level`, refusing the city (and, for a display token, grids: villages are its finest units).
fn level_of(value: &str, display: bool) -> Result<AdminLevel, ApiError> {
    let level: AdminLevel = value
        .parse()
        .map_err(|e| ApiError::BadRequest(format!("level={value}: {e}")))?;
    if level == AdminLevel::City {
        return Err(ApiError::BadRequest(
            "level=city: use county, township, village or grid".into(),
        ));
    }
    if display && level == AdminLevel::Grid {
        return Err(ApiError::Forbidden(
            "level=grid: a display token sees villages at most".into(),
        ));
    }
    Ok(level)
}

/// The display count of a trend location in one block.
fn location_area(state: &AppState, space: Space, location: &str) -> Option<Area> {
    match space {
        Space::Cells(_) => location
            .parse::<h3o::CellIndex>()
            .ok()
            .map(|c| Area::Cell(u64::from(c))),
        Space::Units(_) => state.region.id(location).map(Area::Unit),
    }
}

pub async fn trends(State(state): State<Arc<AppState>>, ask: Ask) -> Result<Response, ApiError> {
    let format = ask.start(&["res", "level", "step", "steps", "k", "time_window", "measure"], false)?;
    let params = &ask.params;
    let display = ask.display();
    let mut space = match params.get("level") {
        Some(level) => Space::Units(level_of(level, display)?),
        None => Space::Cells(fengqiao_analytics::cells::resolution(params.number_in(
            "res",
            8u8,
            5..=9,
        )?)?),
    };
    let step: Step = params.parse_or("step", Step::Week)?;
    let steps = params.number_in("steps", 52usize, 3..=260)?;
    let emerging = EmergingOptions {
        k: params.number_in("k", 1u32, 0..=5)?,
        time_window: params.number_in("time_window", 1usize, 0..=8)?,
        ..EmergingOptions::default()
    };
    let scope = trend_scope(&state, &ask, step, steps, &mut space).await?;
    let (filter, last_day, selection, period) = (scope.filter, scope.last_day, scope.selection, scope.display);
    let locations = match space {
        // The cube covers the region's whole study area, whatever its filter.
        Space::Cells(res) => state.area.cells_in(None, res),
        Space::Units(level) => state.region.units.iter().filter(|u| u.level == level).count() as u64,
    };
    let work = locations * steps as u64 * crate::work::ring_size(emerging.k) * (2 * emerging.time_window as u64 + 1);
    crate::work::check(work, state.config.limits.work_units, "/api/trends")?;
    let opts_measure: Measure = params.parse_or("measure", Measure::default())?;
    let opts = CubeOptions {
        space,
        step,
        steps,
        last_day,
        filter,
        measure: opts_measure,
    };
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
        within(&state, selection, code)
    });
    let mut rows = to_rows(locations)?;
    let whole = serde_json::json!({
        "step": result.step, "periods": result.periods, "options": result.options,
        "measure": opts_measure, "measure_zh": opts_measure.zh(),
        "pattern_counts": result.pattern_counts,
    });
    if let Some((newest, projection)) = period {
        let k = state.config.suppress_below;
        display_counts(&state, &mut rows, space, steps, newest, &projection);
        let rows = projected(&rows, &display::TREND_LOCATION, k);
        let mut whole = display::project(&display::TRENDS, &whole, k);
        whole["locations"] = Value::Array(rows.clone());
        return display::respond(format, &whole, &rows);
    }
    let mut whole = whole;
    whole["locations"] = Value::Array(rows.clone());
    table::respond(format, &whole, &rows)
}

/// What a trends request covers. A display token: weekly steps over the region ending on a
/// block's last day, its counts to come from the projection (`display`: the newest block and the
/// projection); others: the filter within their area.
struct TrendScope {
    filter: Filter,
    last_day: Option<chrono::NaiveDate>,
    selection: Option<UnitId>,
    display: Option<(u8, Arc<Projection>)>,
}

async fn trend_scope(
    state: &Arc<AppState>,
    ask: &Ask,
    step: Step,
    steps: usize,
    space: &mut Space,
) -> Result<TrendScope, ApiError> {
    if !ask.display() {
        let filter = ask.filter(state)?;
        return Ok(TrendScope {
            last_day: filter.last_day(),
            filter,
            selection: ask.who.scope,
            display: None,
        });
    }
    if step != Step::Week {
        return Err(ApiError::Forbidden(format!(
            "step={}: a display token sees weekly steps only",
            step.code()
        )));
    }
    if ask.params.get("from").is_some() {
        return Err(ApiError::BadRequest("trends take `to` and `steps`, not `from`".into()));
    }
    let (window, unit, projection) = ask.display_period(state).await?;
    let Window::Blocks { newest, .. } = window else {
        return Err(ApiError::BadRequest(
            "trends end on a week's last day, not a single day".into(),
        ));
    };
    if steps > usize::from(display::BLOCKS - newest) {
        return Err(ApiError::BadRequest(format!(
            "steps={steps}: a display token sees the last {} weeks",
            display::BLOCKS
        )));
    }
    if let Space::Cells(res) = *space {
        *space = Space::Cells(res.min(display::FINEST_RES));
    }
    Ok(TrendScope {
        filter: Filter::default(),
        last_day: Some(window.last_day(projection.last_day_or_today())),
        selection: unit,
        display: Some((newest, projection)),
    })
}

/// A display answer's weekly counts and totals, from the projection (a hidden week is `None`).
fn display_counts(
    state: &AppState,
    rows: &mut [Value],
    space: Space,
    steps: usize,
    newest: u8,
    projection: &Projection,
) {
    for row in rows {
        let area = row["location"].as_str().and_then(|l| location_area(state, space, l));
        let counts: Vec<Option<u64>> = (0..steps)
            .map(|i| {
                let block = newest + (steps - 1 - i) as u8;
                let window = Window::Blocks {
                    newest: block,
                    oldest: block,
                };
                area.and_then(|a| projection.count(&state.region, a, slice::ALL, window))
            })
            .collect();
        row["total"] = counts.iter().copied().sum::<Option<u64>>().into();
        row["counts"] = counts.into();
    }
}

pub async fn recurring(State(state): State<Arc<AppState>>, ask: Ask) -> Result<Response, ApiError> {
    let format = ask.start(
        &["level", "step", "window", "min_active", "history", "limit", "measure"],
        false,
    )?;
    let params = &ask.params;
    let display = ask.display();
    let limit = params.number_in("limit", 500usize, 1..=MAX_LIST)?;
    let filter = if display {
        // Labels only reach a display (place, category, trend, department), for its period's end.
        let (window, unit, projection) = ask.display_period(&state).await?;
        let (_, to) = window.bounds(projection.last_day_or_today());
        Filter {
            to: Some(to),
            unit: unit.map(|u| state.region.units[u as usize].code.clone()),
            ..Filter::default()
        }
    } else {
        ask.filter(&state)?
    };
    let opts = RecurringOptions {
        level: params
            .get("level")
            .map_or(Ok(AdminLevel::Village), |l| level_of(l, display))?,
        step: params.parse_or("step", Step::Week)?,
        window: params.number_in("window", 8usize, 1..=104)?,
        min_active: params.number_in("min_active", 4usize, 1..=104)?,
        history: params.number_in("history", 26usize, 1..=260)?,
        last_day: filter.last_day(),
        filter,
        measure: params.parse_or("measure", Measure::default())?,
        risk: Default::default(),
    };
    let measure = opts.measure;
    let units = state.region.units.iter().filter(|u| u.level == opts.level).count() as u64;
    crate::work::check(
        units * Category::ALL.len() as u64 * opts.history as u64,
        state.config.limits.work_units,
        "/api/recurring",
    )?;
    // The ranked list, cut to `limit` and made into rows off the runtime (a long history makes
    // each row long).
    let (report, rows) = state
        .read(move |conn, state| {
            let report = recurring_problems(conn, &state.region, state.config.departments(), &opts)?;
            let rows = to_rows(report.problems.iter().take(limit))?;
            Ok((report, rows))
        })
        .await?;
    let whole = serde_json::json!({
        "step": report.step, "periods": report.periods, "window": report.window,
        "measure": measure, "measure_zh": measure.zh(),
        "min_active": report.min_active,
    });
    if display {
        let k = state.config.suppress_below;
        let rows = projected(&rows, &display::RECURRING_PROBLEM, k);
        let mut whole = display::project(&display::RECURRING, &whole, k);
        whole["problems"] = Value::Array(rows.clone());
        return display::respond(format, &whole, &rows);
    }
    let mut whole = whole;
    whole["problems"] = Value::Array(rows.clone());
    table::respond(format, &whole, &rows)
}

/// Repeat chains; a scoped token sees only chains all of whose cases lie in its area (a chain
/// linked across units would otherwise show another area's case ids).
pub async fn chains(State(state): State<Arc<AppState>>, ask: Ask) -> Result<Response, ApiError> {
    let format = ask.start(&["link_days", "limit"], false)?;
    let params = &ask.params;
    let opts = ChainOptions {
        link_days: params.number_in("link_days", 90i64, 1..=3650)?,
        filter: ask.filter(&state)?,
    };
    let limit = params.number_in("limit", 500usize, 1..=MAX_LIST)?;
    let scope = ask.who.scope;
    let rows = state
        .read(move |conn, state| {
            let chains = repeat_chains(conn, &state.region, &opts)?;
            let kept = chains
                .iter()
                .filter(|c| c.villages.iter().all(|v| within(state, scope, v)))
                .take(limit);
            to_rows(kept)
        })
        .await?;
    table::respond(format, &Value::Array(rows.clone()), &rows)
}

pub async fn alerts(State(state): State<Arc<AppState>>, ask: Ask) -> Result<Response, ApiError> {
    let format = ask.start(&["as_of", "level", "limit", "min_cases", "min_recurrence_years"], false)?;
    let params = &ask.params;
    let display = ask.display();
    let level = params
        .get("level")
        .map_or(Ok(AdminLevel::Village), |l| level_of(l, display))?;
    let limit = params.number_in("limit", 50usize, 0..=100_000)?;
    let mut min_cases = params.number_in("min_cases", 3u32, 1..=1000)?;
    let years = params.number_in("min_recurrence_years", 20.0f64, 0.1..=1e6)?;
    let as_of = params.time("as_of", false)?.map(|t| t.date());
    let k = state.config.suppress_below;
    let (filter, as_of, selection, block) = if display {
        min_cases = min_cases.max(k as u32);
        display_alert_scope(&state, &ask, as_of).await?
    } else {
        (ask.filter(&state)?, as_of, ask.who.scope, None)
    };
    let region_limit = if display { None } else { (limit > 0).then_some(limit) };
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
            opts.limit = region_limit;
            opts.min_cases = min_cases;
            opts.min_recurrence_years = years;
            opts.filter = filter;
            Ok(early_warning(conn, &state.region, state.config.departments(), &opts)?)
        })
        .await?;
    let Some((block, projection)) = block else {
        let rows = to_rows(&list)?;
        return table::respond(format, &Value::Array(rows.clone()), &rows);
    };
    let mut kept: Vec<&Alert> = list
        .iter()
        .filter(|a| within(&state, selection, &a.place.unit_code))
        .collect();
    if limit > 0 {
        kept.truncate(limit);
    }
    let shown = display_alert_counts(&state, &projection, &list, block);
    let mut rows = to_rows(&kept)?;
    for (row, alert) in rows.iter_mut().zip(&kept) {
        let index = list
            .iter()
            .position(|a| std::ptr::eq(a, *alert))
            .expect("from the list");
        if !shown[index] {
            row["observed"] = Value::Null;
        }
        let baseline: u64 = alert.baseline.iter().map(|&n| u64::from(n)).sum();
        if baseline > 0 && baseline < k {
            row["expected"] = Value::Null;
        }
    }
    let rows = projected(&rows, &display::ALERT, k);
    display::respond(format, &Value::Array(rows.clone()), &rows)
}

/// A display token's alerts: the window is a block (a week ending on `as_of`), computed over the
/// region and then kept within the token's unit; the filter, the window's last day, the unit, and
/// the newest block with the projection.
async fn display_alert_scope(
    state: &Arc<AppState>,
    ask: &Ask,
    as_of: Option<chrono::NaiveDate>,
) -> Result<AlertScope, ApiError> {
    let params = &ask.params;
    for key in ["from", "to", "category", "class", "channel", "status", "severity"] {
        if params.get(key).is_some() {
            return Err(ApiError::Forbidden(format!(
                "{key}=: alerts for a display token take as_of (a week's last day) and unit only"
            )));
        }
    }
    let projection = display::projection(state).await?;
    let last = projection.last_day_or_today();
    let to = as_of.map(|d| (d + chrono::Duration::days(1)).and_hms_opt(0, 0, 0).expect("midnight"));
    let Window::Blocks { newest, .. } = display::window(None, to, last)? else {
        return Err(ApiError::BadRequest("as_of: a week's last day".into()));
    };
    let place = Filter {
        unit: params.get("unit").map(str::to_string),
        ..Filter::default()
    };
    let unit = crate::params::scoped(place, &state.region, &ask.who)?.unit_id(&state.region)?;
    let day = last - chrono::Duration::days(7 * i64::from(newest));
    Ok((Filter::default(), Some(day), unit, Some((newest, projection))))
}

/// What an alerts request covers: the filter, "now", the unit kept, and for a display the newest
/// block with the projection.
type AlertScope = (
    Filter,
    Option<chrono::NaiveDate>,
    Option<UnitId>,
    Option<(u8, Arc<Projection>)>,
);

/// Which alerts' observed counts a display may see: each is at least k, and what remains of its
/// unit's count, of its county's and of the region's count of its category once the shown alerts
/// are taken away is 0 or at least k (else the remainder would be a hidden figure).
fn display_alert_counts(state: &AppState, p: &Projection, list: &[Alert], block: u8) -> Vec<bool> {
    let k = p.k;
    let region = &state.region;
    let window = Window::Blocks {
        newest: block,
        oldest: block,
    };
    let mut shown: Vec<bool> = list.iter().map(|a| u64::from(a.observed) >= k).collect();
    // A remainder check per (area, slice) total: which alerts it contains.
    let mut totals: HashMap<(Area, u8), Vec<usize>> = HashMap::new();
    for (i, a) in list.iter().enumerate() {
        let Some(unit) = region.id(&a.place.unit_code) else {
            shown[i] = false;
            continue;
        };
        let category = Category::ALL.iter().position(|c| *c == a.place.category).unwrap_or(0) as u8;
        totals.entry((Area::Unit(unit), slice::ALL)).or_default().push(i);
        let mut up = Some(unit);
        while let Some(u) = up {
            if matches!(region.units[u as usize].level, AdminLevel::County | AdminLevel::City) {
                totals
                    .entry((Area::Unit(u), slice::CATEGORY + category))
                    .or_default()
                    .push(i);
            }
            up = region.parent(u);
        }
    }
    loop {
        let mut changed = false;
        for ((area, s), members) in &totals {
            let Some(total) = p.count(region, *area, *s, window) else {
                continue;
            };
            let taken: u64 = members
                .iter()
                .filter(|&&i| shown[i])
                .map(|&i| u64::from(list[i].observed))
                .sum();
            let rest = total.saturating_sub(taken);
            if rest > 0 && rest < k {
                // Hide the smallest shown alert of this total.
                if let Some(&i) = members.iter().filter(|&&i| shown[i]).min_by_key(|&&i| list[i].observed) {
                    shown[i] = false;
                    changed = true;
                }
            }
        }
        if !changed {
            return shown;
        }
    }
}

pub async fn kpis(State(state): State<Arc<AppState>>, ask: Ask) -> Result<Response, ApiError> {
    let format = ask.start(&["level"], false)?;
    let (who, params) = (&ask.who, &ask.params);
    let display = ask.display();
    let level = params
        .get("level")
        .map_or(Ok(AdminLevel::County), |l| level_of(l, display))?;
    if display {
        let (window, unit, projection) = ask.display_period(&state).await?;
        let area = unit.unwrap_or(0);
        let summary = display_summary(&state.region, &projection, Area::Unit(area), window);
        let rows = display_unit_rows(&state, &projection, window, |u| {
            state.region.units[u as usize].level == level && is_within(&state.region, u, area)
        });
        let k = state.config.suppress_below;
        let rows = projected(&rows, &display::UNIT_ROW, k);
        let whole = display::project(
            &display::KPIS,
            &serde_json::json!({ "summary": summary, "units": rows }),
            k,
        );
        return display::respond(format, &whole, &rows);
    }
    let filter = ask.filter(&state)?;
    let (summary, units) = state
        .read(move |conn, state| {
            let summary = fengqiao_analytics::kpi::summary_of(conn, &state.region, &filter)?;
            let units = units_now(conn, &state.region, level, &filter)?;
            Ok((summary, units))
        })
        .await?;
    let rows = to_rows(units.iter().filter(|u| within(&state, who.scope, &u.code)))?;
    let whole = serde_json::json!({ "summary": summary, "units": rows });
    table::respond(format, &whole, &rows)
}

/// The headline figures of `area` over `window` as the display sees them: every count and rate
/// from the projection (breakdowns and rates for the region and counties only).
pub fn display_summary(region: &fengqiao_ingest::Region, p: &Projection, area: Area, window: Window) -> Value {
    let count = |s: u8| p.count(region, area, s, window);
    let cases = count(slice::ALL);
    let by_class: Vec<Value> = CaseClass::ALL
        .iter()
        .enumerate()
        .map(|(i, c)| serde_json::json!([c.code(), count(slice::CLASS + i as u8)]))
        .collect();
    let mut categories: Vec<(Category, Option<u64>)> = Category::ALL
        .iter()
        .enumerate()
        .map(|(i, &c)| (c, count(slice::CATEGORY + i as u8)))
        .collect();
    // Largest first among the shown; the hidden after them in code order (their rank would bound them).
    categories.sort_by(|a, b| match (a.1, b.1) {
        (Some(x), Some(y)) => y.cmp(&x).then(a.0.code().cmp(b.0.code())),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.0.code().cmp(b.0.code()),
    });
    let by_category: Vec<Value> = categories
        .iter()
        .filter(|(_, n)| *n != Some(0))
        .map(|(c, n)| serde_json::json!([c.code(), n]))
        .collect();
    let (finished, on_time) = (count(slice::FINISHED), count(slice::ON_TIME));
    let (answered, satisfied) = (count(slice::ANSWERED), count(slice::SATISFIED));
    let rate = |n: Option<u64>, d: Option<u64>| match (n, d) {
        (Some(n), Some(d)) if d > 0 => Some(n as f64 / d as f64),
        (Some(_), Some(_)) => Some(0.0),
        _ => None,
    };
    serde_json::json!({
        "cases": cases,
        "by_class": by_class,
        "by_category": by_category,
        "finished": finished,
        "finished_on_time": on_time,
        "closure_rate": rate(finished, cases),
        "on_time_rate": rate(on_time, finished),
        "answered": answered,
        "satisfied": satisfied,
        "satisfaction_rate": match (satisfied, answered) {
            (Some(s), Some(a)) if a > 0 => Some(s as f64 / a as f64),
            _ => None,
        },
    })
}

/// Display rows (code, name, level, count, population, rate) of the units `pick` selects.
fn display_unit_rows(state: &AppState, p: &Projection, window: Window, pick: impl Fn(UnitId) -> bool) -> Vec<Value> {
    let region = &state.region;
    (0..region.units.len() as UnitId)
        .filter(|&u| pick(u))
        .map(|u| {
            let unit = &region.units[u as usize];
            let count = p.count(region, Area::Unit(u), slice::ALL, window);
            let rate = match (count, unit.population) {
                (Some(n), Some(pop)) if pop > 0 => Some(n as f64 / pop as f64 * 10_000.0),
                _ => None,
            };
            serde_json::json!({
                "code": unit.code, "name": unit.name, "level": unit.level.code(), "count": count,
                "population": unit.population, "rate_per_10k": rate,
            })
        })
        .collect()
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
    let breadcrumbs = breadcrumbs(&region, id);
    let whole = |rows: &[Value]| {
        serde_json::json!({
            "code": unit.code, "name": unit.name, "level": unit.level.code(),
            "population": unit.population, "lng": unit.lng, "lat": unit.lat, "bbox": unit_bbox(&region, id),
            "breadcrumbs": breadcrumbs, "children": rows,
        })
    };
    if ask.display() {
        let (window, _, projection) = ask.display_period(&state).await?;
        let rows = if child_level.is_some_and(|l| l != AdminLevel::Grid) {
            display_unit_rows(&state, &projection, window, |u| {
                region.parent(u) == Some(id) && within(&state, who.scope, &region.units[u as usize].code)
            })
        } else {
            Vec::new()
        };
        let k = state.config.suppress_below;
        let rows = projected(&rows, &display::UNIT_ROW, k);
        let whole = display::project(&display::UNIT, &whole(&rows), k);
        return display::respond(format, &whole, &rows);
    }
    let mut filter = ask.filter(&state)?;
    if filter.unit.is_none() || who.scope.is_some_and(|s| is_within(&region, id, s)) {
        filter.unit = Some(code.clone());
    }
    let figures = match child_level {
        Some(level) => child_figures(&state, level, filter).await?,
        None => Vec::new(),
    };
    let child_codes: std::collections::HashSet<&str> = children
        .iter()
        .map(|&c| region.units[c as usize].code.as_str())
        .collect();
    let rows = to_rows(
        figures
            .iter()
            .filter(|f| child_codes.contains(f.code.as_str()) && within(&state, who.scope, &f.code)),
    )?;
    table::respond(format, &whole(&rows), &rows)
}

/// The figures of the units of `level` under the filter, open and overdue as of now.
fn units_now(
    conn: &duckdb::Connection,
    region: &fengqiao_ingest::Region,
    level: AdminLevel,
    filter: &Filter,
) -> Result<Vec<fengqiao_analytics::aggregate::UnitFigures>, fengqiao_analytics::AnalyticsError> {
    aggregate_units(
        conn,
        region,
        level,
        filter,
        &SeverityWeights::default(),
        fengqiao_ingest::time::now_china(),
    )
}

/// The units from the root down to `id`, as the explorer's breadcrumbs.
fn breadcrumbs(region: &fengqiao_ingest::Region, id: UnitId) -> Vec<Value> {
    let mut crumbs = Vec::new();
    let mut up = Some(id);
    while let Some(u) = up {
        let x = &region.units[u as usize];
        crumbs.push(serde_json::json!({ "code": x.code, "name": x.name, "level": x.level.code() }));
        up = region.parent(u);
    }
    crumbs.reverse();
    crumbs
}

/// The figures of the units of `level` under the filter (off the runtime).
async fn child_figures(
    state: &Arc<AppState>,
    level: AdminLevel,
    filter: Filter,
) -> Result<Vec<fengqiao_analytics::aggregate::UnitFigures>, ApiError> {
    state
        .read(move |conn, state| Ok(units_now(conn, &state.region, level, &filter)?))
        .await
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
            let mut rows = table::query_rows(conn, &sql, &binds)?;
            if !personal {
                rows.iter_mut().for_each(crate::privacy::snap_to_cell);
            }
            Ok((total as u64, rows))
        })
        .await?;
    let whole = serde_json::json!({ "total": total, "page": page, "per_page": per_page, "cases": rows });
    table::respond(format, &whole, &rows)
}

/// Largest uncompressed size of an uploaded Parquet file's columns (its reader holds them).
pub const MAX_PARQUET_UNCOMPRESSED: i64 = 2 << 30;

/// `POST /api/ingest?name=cases.csv` with the file as the body (or `Content-Type` `text/csv`,
/// `application/x-ndjson`, `application/vnd.apache.parquet`): streamed to a temporary file (at most
/// [`MAX_UPLOAD_BYTES`]), then ingested in one transaction with the CLI's rules; answers the ingest
/// report. Once the body is in, the ingest runs to its end (commit and version bump, or rollback)
/// whether or not the client waits for the answer.
pub async fn ingest(
    State(state): State<Arc<AppState>>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let params = Params::new(query);
    params.allow(false, &["name"])?;
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
    let stem = safe_name.trim_end_matches(&format!(".{extension}")).to_string();
    let dir = tempfile::tempdir().map_err(|e| ApiError::Internal(format!("a temporary directory: {e}")))?;
    let path = dir.path().join(format!("{stem}.{extension}"));
    let written = receive(body, &path).await?;
    if written == 0 {
        return Err(ApiError::BadRequest(
            "the body is empty: send the case file as the request body".into(),
        ));
    }
    let memory = state.config.limits.memory.clone();
    let report = state
        .write(move |store, region| {
            let _dir = dir;
            if extension == "parquet" {
                check_parquet(store.conn(), &path)?;
            }
            let opts = IngestOptions {
                // The store's one limit, as the server set it: an upload does not change it.
                memory_limit: memory,
                ..IngestOptions::default()
            };
            let report = store
                .ingest_file(&path, region, &opts, &fengqiao_ingest::store::NoProgress)
                .map_err(|e| match e {
                    fengqiao_ingest::store::IngestError::File { .. } => ApiError::BadRequest(e.to_string()),
                    other => ApiError::Internal(other.to_string()),
                })?;
            let changed = report.inserted + report.updated > 0;
            Ok((report, changed))
        })
        .await?;
    let mut response = axum::Json(serde_json::json!({ "version": state.version(), "report": report })).into_response();
    response
        .extensions_mut()
        .insert(crate::audit::Rows(report.inserted + report.updated));
    Ok(response)
}

/// Streams a request body into `path`, refusing more than [`MAX_UPLOAD_BYTES`]; returns its size.
async fn receive(body: axum::body::Body, path: &std::path::Path) -> Result<u64, ApiError> {
    use tokio::io::AsyncWriteExt;
    use tokio_stream::StreamExt;
    let internal = |e: std::io::Error| ApiError::Internal(format!("{}: {e}", path.display()));
    let mut file = tokio::fs::File::create(path).await.map_err(internal)?;
    let mut stream = body.into_data_stream();
    let mut written = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("reading the upload: {e}")))?;
        written += chunk.len() as u64;
        if written > MAX_UPLOAD_BYTES as u64 {
            return Err(ApiError::PayloadTooLarge(format!(
                "the upload is larger than {} MiB",
                MAX_UPLOAD_BYTES >> 20
            )));
        }
        file.write_all(&chunk).await.map_err(internal)?;
    }
    file.flush().await.map_err(internal)?;
    Ok(written)
}

/// Refuses a Parquet file whose columns would unpack to more than [`MAX_PARQUET_UNCOMPRESSED`]
/// (the reader holds them as text) or that is not Parquet at all.
fn check_parquet(conn: &duckdb::Connection, path: &std::path::Path) -> Result<(), ApiError> {
    let file = path.display().to_string().replace('\'', "''");
    let size: Option<i64> = conn
        .query_row(
            &format!("SELECT sum(total_uncompressed_size) FROM parquet_metadata('{file}')"),
            [],
            |r| r.get(0),
        )
        .map_err(|e| ApiError::BadRequest(format!("{}: not a readable Parquet file: {e}", path.display())))?;
    if size.unwrap_or(0) > MAX_PARQUET_UNCOMPRESSED {
        return Err(ApiError::PayloadTooLarge(format!(
            "the Parquet file unpacks to {} MiB, more than {} MiB",
            size.unwrap_or(0) >> 20,
            MAX_PARQUET_UNCOMPRESSED >> 20
        )));
    }
    Ok(())
}

/// A place's profile for the explorer: the filter's unit (or the region), narrowed to `cell`.
pub async fn profile(State(state): State<Arc<AppState>>, ask: Ask) -> Result<Response, ApiError> {
    ask.params.allow(true, &["cell", "weeks", "limit", "measure"])?;
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
        measure: params.parse_or("measure", Measure::default())?,
        departments: state.config.departments().clone(),
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
