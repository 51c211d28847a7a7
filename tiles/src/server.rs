//! The HTTP surface: [`router`] builds every route on an [`AppState`]; [`ROUTES`] lists them for the
//! OpenAPI document (a test checks both agree). Authentication, metrics, data-version ETags and
//! caching headers are applied here; the work is in [`crate::layers`] and [`crate::api`].

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;

use crate::api;
use crate::config::Role;
use crate::error::ApiError;
use crate::layers::{self, resolution_for_zoom, LayerRequest};
use crate::params::Params;
use crate::state::{AppState, Principal};
use crate::TileId;

/// One route, as the OpenAPI document describes it.
pub struct RouteDoc {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    /// The least role that may call it (`None`: no token needed).
    pub role: Option<Role>,
}

/// Every route the server answers.
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        method: "get",
        path: "/healthz",
        summary: "Liveness: 200 and the data version",
        role: None,
    },
    RouteDoc {
        method: "get",
        path: "/metrics",
        summary: "Prometheus metrics",
        role: None,
    },
    RouteDoc {
        method: "get",
        path: "/api/openapi.json",
        summary: "This document",
        role: None,
    },
    RouteDoc {
        method: "get",
        path: "/tiles/hex.json",
        summary: "TileJSON of the hexagon tiles",
        role: Some(Role::Display),
    },
    RouteDoc {
        method: "get",
        path: "/tiles/heat.json",
        summary: "TileJSON of the raster heat tiles",
        role: Some(Role::Display),
    },
    RouteDoc {
        method: "get",
        path: "/tiles/admin.json",
        summary: "TileJSON of the admin basemap",
        role: Some(Role::Display),
    },
    RouteDoc {
        method: "get",
        path: "/tiles/hex/{z}/{x}/{y}",
        summary: "Hexagon vector tile (`{y}.mvt`, gzip MVT 2.1); filters as parameters; 204 when empty",
        role: Some(Role::Display),
    },
    RouteDoc {
        method: "get",
        path: "/tiles/heat/{z}/{x}/{y}",
        summary: "Raster heat tile (`{y}.png` 256 px, `{y}@2x.png` 512 px); 204 when empty",
        role: Some(Role::Display),
    },
    RouteDoc {
        method: "get",
        path: "/tiles/admin/{z}/{x}/{y}",
        summary: "Admin basemap vector tile (`{y}.mvt`): boundaries and labels",
        role: Some(Role::Display),
    },
    RouteDoc {
        method: "get",
        path: "/api/heatmap",
        summary: "Heat-map cells (JSON, GeoJSON, CSV, Arrow)",
        role: Some(Role::Display),
    },
    RouteDoc {
        method: "get",
        path: "/api/hotspots",
        summary: "Hot-spot clusters with level, reason and places",
        role: Some(Role::Display),
    },
    RouteDoc {
        method: "get",
        path: "/api/trends",
        summary: "Emerging hot spots: pattern, counts and Mann–Kendall per location",
        role: Some(Role::Display),
    },
    RouteDoc {
        method: "get",
        path: "/api/recurring",
        summary: "Recurring problems (类案) with lead departments",
        role: Some(Role::Display),
    },
    RouteDoc {
        method: "get",
        path: "/api/chains",
        summary: "Repeat chains (民转刑 watch list): case ids, places",
        role: Some(Role::Analyst),
    },
    RouteDoc {
        method: "get",
        path: "/api/alerts",
        summary: "Early-warning alerts for the 7 days ending `as_of`",
        role: Some(Role::Display),
    },
    RouteDoc {
        method: "get",
        path: "/api/kpis",
        summary: "Intake by class and channel, 办结率, 按时办结率, 满意度, per unit",
        role: Some(Role::Display),
    },
    RouteDoc {
        method: "get",
        path: "/api/units/{code}",
        summary: "A unit with its children's figures (drill-down)",
        role: Some(Role::Display),
    },
    RouteDoc {
        method: "get",
        path: "/api/profile",
        summary: "A place's profile (the filter's unit, or `cell=`): figures, weekly series, villages, 类案, alerts",
        role: Some(Role::Analyst),
    },
    RouteDoc {
        method: "get",
        path: "/api/vocabulary",
        summary: "Codes of classes, categories, channels, statuses, levels, patterns with Chinese and English names",
        role: None,
    },
    RouteDoc {
        method: "get",
        path: "/api/cases",
        summary: "Paged case list; personal fields for admin only",
        role: Some(Role::Analyst),
    },
    RouteDoc {
        method: "post",
        path: "/api/ingest",
        summary: "Ingest a case file (CSV, NDJSON, Parquet) as the CLI does",
        role: Some(Role::Admin),
    },
    RouteDoc {
        method: "get",
        path: "/api/events",
        summary: "Server-sent events: `data` when the store changes",
        role: Some(Role::Display),
    },
    RouteDoc {
        method: "get",
        path: "/api/version",
        summary: "The data version",
        role: Some(Role::Display),
    },
    RouteDoc {
        method: "get",
        path: "/briefings/",
        summary: "Weekly and monthly briefings in the token's area (JSON; HTML for browsers)",
        role: Some(Role::Analyst),
    },
    RouteDoc {
        method: "post",
        path: "/briefings/",
        summary: "Make a briefing (`week=2026-W44` or `month=2026-10`, `unit`) with the server's store into its briefings directory",
        role: Some(Role::Analyst),
    },
    RouteDoc {
        method: "get",
        path: "/briefings/{name}/{file}",
        summary: "A briefing's file: PDF, HTML, PNG figures, call-back CSV, JSON",
        role: Some(Role::Analyst),
    },
];

/// The router over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(openapi))
        .route("/", get(|| static_file(Path("wall.html".to_string()))))
        .route("/explore", get(|| static_file(Path("explore.html".to_string()))))
        .route("/fonts/{fontstack}/{range}", get(glyphs))
        .route("/robots.txt", get(|| static_file(Path("robots.txt".to_string()))))
        .route("/static/{*path}", get(static_file))
        .route("/tiles/{set}", get(tilejson))
        .route("/tiles/hex/{z}/{x}/{y}", get(hex_tile))
        .route("/tiles/heat/{z}/{x}/{y}", get(heat_tile))
        .route("/tiles/admin/{z}/{x}/{y}", get(admin_tile))
        .route("/api/heatmap", get(api::heatmap))
        .route("/api/hotspots", get(api::hotspots))
        .route("/api/trends", get(api::trends))
        .route("/api/recurring", get(api::recurring))
        .route("/api/chains", get(api::chains))
        .route("/api/alerts", get(api::alerts))
        .route("/api/kpis", get(api::kpis))
        .route("/api/units/{code}", get(api::unit))
        .route("/api/profile", get(api::profile))
        .route("/api/vocabulary", get(api::vocabulary))
        .route("/api/cases", get(api::cases))
        .route("/api/ingest", post(api::ingest))
        .route("/api/events", get(events))
        .route("/api/version", get(version))
        .route("/briefings/", get(crate::briefings::list).post(crate::briefings::make))
        .route("/briefings/{name}/{file}", get(crate::briefings::file))
        .fallback(|| async { ApiError::NotFound("no such route (see /api/openapi.json)".into()) })
        .layer(axum::extract::DefaultBodyLimit::max(api::MAX_UPLOAD_BYTES))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), authenticate))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), measure))
        .with_state(state)
}

/// Counts every response by route and status.
async fn measure(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    state
        .metrics
        .record(&route, response.status().as_u16(), started.elapsed());
    response
}

/// Finds the caller's role from `Authorization: Bearer …` (or `access_token=` for clients that
/// cannot send headers, such as EventSource) and checks it against the route's least role.
async fn authenticate(State(state): State<Arc<AppState>>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let needed = ROUTES
        .iter()
        .find(|r| route_matches(r.path, &path))
        .and_then(|r| r.role);
    let Some(needed) = needed else {
        return next.run(request).await;
    };
    let header_token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let query_token = request.uri().query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "access_token")
            .map(|(_, v)| v.to_string())
    });
    let who = match state.authenticate(header_token.or(query_token).as_deref()) {
        Ok(who) => who,
        Err(e) => return e.into_response(),
    };
    if who.role < needed {
        return ApiError::Forbidden(format!(
            "this needs the {} role; the token has {}",
            needed.code(),
            who.role.code()
        ))
        .into_response();
    }
    tracing::debug!(token = %who.name, role = who.role.code(), %path, "request");
    request.extensions_mut().insert(who);
    next.run(request).await
}

/// Whether a route pattern like `/tiles/hex/{z}/{x}/{y}` matches a path (`{…}` one segment; the
/// tile sets' `{set}` route is covered by the three TileJSON entries).
fn route_matches(pattern: &str, path: &str) -> bool {
    let (p, q): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == q.len() && p.iter().zip(&q).all(|(a, b)| a.starts_with('{') || a == b)
}

async fn healthz(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok", "version": state.version() }))
}

/// The data version and the last day with cases (what "today" is on the wall).
async fn version(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let last_day = state
        .read(|conn, state| {
            Ok(fengqiao_analytics::cube::last_case_day(
                conn,
                &state.region,
                &fengqiao_analytics::filter::Filter::default(),
            )?)
        })
        .await?;
    let region = serde_json::json!({ "code": state.region.code, "name": state.region.name });
    Ok(
        axum::Json(serde_json::json!({ "version": state.version(), "last_day": last_day, "region": region }))
            .into_response(),
    )
}

async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(state.version(), state.started.elapsed()),
    )
}

/// An embedded file (no case data: no token needed), cached by browsers for a day.
async fn static_file(Path(path): Path<String>) -> Result<Response, ApiError> {
    let asset = fengqiao_web::asset(&path).ok_or_else(|| ApiError::NotFound(format!("no file {path}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        asset.bytes,
    )
        .into_response())
}

/// Glyph ranges for MapLibre: an empty (valid) glyph set. The wall's labels are Chinese, which
/// MapLibre draws with the browser's local font (`localIdeographFontFamily`), so no font files are
/// served and none fetched from the internet.
async fn glyphs(Path((_stack, range)): Path<(String, String)>) -> Result<Response, ApiError> {
    if !range.ends_with(".pbf") {
        return Err(ApiError::NotFound(format!("no glyph range {range}")));
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-protobuf"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        Vec::<u8>::new(),
    )
        .into_response())
}

async fn openapi() -> impl IntoResponse {
    axum::Json(crate::openapi::document())
}

/// Server-sent events: a `data` event with the new version after every ingest that changed the
/// store, and a keep-alive comment every 15 s.
async fn events(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let hello = serde_json::json!({ "type": "hello", "version": state.version() }).to_string();
    let stream = tokio_stream::once(Ok::<Event, std::convert::Infallible>(
        Event::default().event("hello").data(hello),
    ))
    .chain(
        BroadcastStream::new(state.events.subscribe())
            .filter_map(|m| m.ok())
            .map(|m| Ok(Event::default().event("data").data(m))),
    );
    Sse::new(stream).keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
}

/// The base URL clients reached us at.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

async fn tilejson(
    State(state): State<Arc<AppState>>,
    Path(set): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(name) = set.strip_suffix(".json") else {
        return Err(ApiError::NotFound(format!("no tile set {set:?}")));
    };
    let params = Params::new(query.clone());
    params.allow(true, &["trends", "res"])?;
    // The tile URLs carry the data version and the filters (never a token).
    let mut pairs: Vec<(String, String)> = query
        .into_iter()
        .filter(|(k, _)| k != "access_token" && k != "v" && k != "format")
        .collect();
    pairs.insert(0, ("v".into(), state.version().to_string()));
    let q = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let json = layers::tilejson(&state.region, name, &base_url(&headers), &q)
        .ok_or_else(|| ApiError::NotFound(format!("no tile set {name:?}: hex, heat or admin")))?;
    Ok(([(header::CACHE_CONTROL, "no-cache")], axum::Json(json)).into_response())
}

/// Percent-encodes a query component.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `z`, `x` and the `y` segment (`12.mvt`, `12@2x.png`): the tile and the pixel scale.
fn tile_address(z: &str, x: &str, y: &str, extension: &str) -> Result<(TileId, u32), ApiError> {
    let bad = || ApiError::BadRequest(format!("{z}/{x}/{y}: not a tile address like 12/3333/1744.{extension}"));
    let stem = y.strip_suffix(&format!(".{extension}")).ok_or_else(bad)?;
    let (stem, scale) = match stem.strip_suffix("@2x") {
        Some(s) => (s, 2),
        None => (stem, 1),
    };
    let (z, x, y) = (
        z.parse::<u8>().map_err(|_| bad())?,
        x.parse::<u32>().map_err(|_| bad())?,
        stem.parse::<u32>().map_err(|_| bad())?,
    );
    Ok((TileId::new(z, x, y)?, scale))
}

/// What a tile is encoded as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TileFormat {
    /// MVT, sent gzip-compressed.
    Mvt,
    Png,
}

/// A tile response: cached bytes per (version, URL, view), an ETag, 304 when it matches, 204 when
/// empty.
async fn tile_response(
    state: &Arc<AppState>,
    who: &Principal,
    params: &Params,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    format: TileFormat,
    make: impl std::future::Future<Output = Result<Option<Vec<u8>>, ApiError>>,
) -> Result<Response, ApiError> {
    let gzip = format == TileFormat::Mvt;
    let content_type = match format {
        TileFormat::Mvt => "application/vnd.mapbox-vector-tile",
        TileFormat::Png => "image/png",
    };
    let version = state.version();
    let key = format!("{version}|{}|{:?}|{:?}|{uri}", who.role.code(), who.scope, gzip);
    let etag = format!("\"v{version}-{:016x}\"", fxhash(&key));
    let current = params.get("v").and_then(|v| v.parse::<u64>().ok()) == Some(version);
    let cache_control = if current {
        "private, max-age=86400, immutable"
    } else {
        "private, no-cache"
    };
    let common = |builder: axum::http::response::Builder| {
        builder
            .header(header::ETAG, &etag)
            .header(header::CACHE_CONTROL, cache_control)
            .header(header::VARY, "Authorization")
    };
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return Ok(common(Response::builder().status(StatusCode::NOT_MODIFIED))
            .body(Body::empty())
            .expect("a valid response"));
    }
    let cached = state.tiles.lock().expect("tile cache").get(&key).cloned();
    let bytes = match cached {
        Some(b) => b,
        None => {
            let made = make.await?;
            let bytes = match made {
                Some(raw) if gzip => bytes::Bytes::from(crate::mvt::gzip(&raw)),
                Some(raw) => bytes::Bytes::from(raw),
                None => bytes::Bytes::new(),
            };
            state.tiles.lock().expect("tile cache").put(key, bytes.clone());
            bytes
        }
    };
    if bytes.is_empty() {
        return Ok(common(Response::builder().status(StatusCode::NO_CONTENT))
            .body(Body::empty())
            .expect("a valid response"));
    }
    let mut builder = common(Response::builder().status(StatusCode::OK)).header(header::CONTENT_TYPE, content_type);
    if gzip {
        builder = builder.header(header::CONTENT_ENCODING, "gzip");
    }
    Ok(builder.body(Body::from(bytes)).expect("a valid response"))
}

/// FNV-1a, for ETags.
fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn check_zoom(tile: TileId, zooms: std::ops::RangeInclusive<u8>) -> Result<(), ApiError> {
    if !zooms.contains(&tile.z) {
        return Err(ApiError::BadRequest(format!(
            "zoom {} is outside this tile set's {}..={}",
            tile.z,
            zooms.start(),
            zooms.end()
        )));
    }
    Ok(())
}

async fn hex_tile(
    state: State<Arc<AppState>>,
    who: Extension<Principal>,
    address: Path<(String, String, String)>,
    query: Query<Vec<(String, String)>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    heat_layer_tile(state, who, address, query, uri, headers, TileFormat::Mvt).await
}

async fn heat_tile(
    state: State<Arc<AppState>>,
    who: Extension<Principal>,
    address: Path<(String, String, String)>,
    query: Query<Vec<(String, String)>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    heat_layer_tile(state, who, address, query, uri, headers, TileFormat::Png).await
}

/// A tile of the heat layer: hexagons as MVT (`trends=true` adds each cell's pattern) or PNG.
async fn heat_layer_tile(
    State(state): State<Arc<AppState>>,
    Extension(who): Extension<Principal>,
    Path((z, x, y)): Path<(String, String, String)>,
    Query(query): Query<Vec<(String, String)>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    format: TileFormat,
) -> Result<Response, ApiError> {
    let extension = if format == TileFormat::Mvt { "mvt" } else { "png" };
    let (tile, scale) = tile_address(&z, &x, &y, extension)?;
    check_zoom(tile, layers::HEX_ZOOMS)?;
    let params = Params::new(query);
    params.allow(
        true,
        if format == TileFormat::Mvt {
            &["trends", "res"]
        } else {
            &["res"]
        },
    )?;
    // `res=` fixes the resolution (the explorer's choice); by default it follows the zoom.
    let res = match params.get("res") {
        Some(_) => fengqiao_analytics::cells::resolution(params.number_in("res", 8u8, 5..=10)?)?,
        None => resolution_for_zoom(tile.z),
    };
    let request = LayerRequest {
        res,
        filter: params.filter(&state.region, &who)?,
        who: who.clone(),
        trends: params.parse_or("trends", false)?,
    };
    let make = async {
        let layer = layers::heat_layer(&state, request).await?;
        match format {
            TileFormat::Mvt => Ok(layer.mvt(tile)),
            TileFormat::Png => layer.png(tile, 256 * scale),
        }
    };
    tile_response(&state, &who, &params, &uri, &headers, format, make).await
}

async fn admin_tile(
    State(state): State<Arc<AppState>>,
    Extension(who): Extension<Principal>,
    Path((z, x, y)): Path<(String, String, String)>,
    Query(query): Query<Vec<(String, String)>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (tile, _) = tile_address(&z, &x, &y, "mvt")?;
    check_zoom(tile, layers::ADMIN_ZOOMS)?;
    let params = Params::new(query);
    params.allow(false, &[])?;
    let region = Arc::clone(&state.region);
    let make = async move {
        tokio::task::spawn_blocking(move || layers::admin_tile(&region, tile))
            .await
            .map_err(|e| ApiError::Internal(format!("admin tile: {e}")))
    };
    tile_response(&state, &who, &params, &uri, &headers, TileFormat::Mvt, make).await
}

/// Adds `value` as a header.
pub fn header_value(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// Logs to standard error, as text or JSON lines; `RUST_LOG` sets the level (default `info`).
pub fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests) is harmless.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Serves `state` on `addr` until Ctrl-C or SIGTERM, then finishes the requests under way.
pub async fn serve(state: Arc<AppState>, addr: std::net::SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, version = state.version(), "serving");
    state.refresh_columns();
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing the requests under way");
}
