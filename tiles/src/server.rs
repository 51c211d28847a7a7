//! The HTTP surface: [`router`] builds every route on an [`AppState`]; [`ROUTES`] lists them for the
//! OpenAPI document (a test checks both agree). Authentication, metrics, data-version ETags and
//! caching headers are applied here; the work is in [`crate::layers`] and [`crate::api`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use std::future::Future;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::api;
use crate::config::Role;
use crate::error::ApiError;
use crate::layers::{self, LayerRequest, View};
use crate::params::Params;
use crate::state::{AppState, Principal};
use crate::TileId;

/// One route of the table: how it is reached, who may call it, and what it does.
pub struct RouteDoc {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub access: Access,
    /// Where its token may come from.
    pub token_in: TokenIn,
    /// Whether each call is written to the audit log.
    pub audit: bool,
    /// Whether the OpenAPI document lists it (the pages and their files are not API).
    pub documented: bool,
}

impl RouteDoc {
    /// The least role that may call it (`None`: no token needed).
    pub fn role(&self) -> Option<Role> {
        self.access.role()
    }
}

/// The route table: the only way a route is added. Each line is `method path => handler` with its
/// access, where its token comes from, whether it is audited and documented, and a summary; a route
/// without an access level does not compile. [`ROUTES`] is the table as data (for the OpenAPI
/// document and the tests that walk it), `routes` the router built from the same lines.
macro_rules! route_table {
    ($( $method:ident $path:literal => $handler:expr, $access:expr, $token:ident, audit: $audit:literal, doc: $doc:literal, $summary:literal; )*) => {
        /// Every route the server answers.
        pub const ROUTES: &[RouteDoc] = &[
            $( RouteDoc {
                method: stringify!($method),
                path: $path,
                summary: $summary,
                access: $access,
                token_in: TokenIn::$token,
                audit: $audit,
                documented: $doc,
            }, )*
        ];

        fn routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
            let mut router = Router::new();
            $(
                let guard = RouteGuard {
                    state: Arc::clone(state),
                    access: $access,
                    token_in: TokenIn::$token,
                    audit: $audit,
                    route: $path,
                };
                router = router.route(
                    $path,
                    axum::routing::$method($handler).route_layer(middleware::from_fn_with_state(guard, crate::access::guard)),
                );
            )*
            router
        }
    };
}

use crate::access::{Access, RouteGuard, TokenIn};
use Access::{Public, Role as Needs};

route_table! {
    get "/healthz" => healthz, Public, Header, audit: false, doc: true, "Liveness: 200 and the data version";
    get "/metrics" => metrics, Needs(Role::Monitor), Header, audit: false, doc: true, "Prometheus metrics (monitor role or above)";
    get "/api/openapi.json" => openapi, Public, Header, audit: false, doc: true, "This document";
    get "/" => || static_file(Path("wall.html".to_string())), Public, Header, audit: false, doc: false, "The wall display";
    get "/explore" => || static_file(Path("explore.html".to_string())), Public, Header, audit: false, doc: false, "The analyst explorer";
    get "/robots.txt" => || static_file(Path("robots.txt".to_string())), Public, Header, audit: false, doc: false, "robots.txt";
    get "/static/{*path}" => static_file, Public, Header, audit: false, doc: false, "The pages' scripts, styles, vendored libraries and fonts";
    get "/fonts/{fontstack}/{range}" => glyphs, Public, Header, audit: false, doc: false, "MapLibre glyph ranges (empty)";
    get "/tiles/hex.json" => tilejson_hex, Needs(Role::Display), Header, audit: false, doc: true, "TileJSON of the hexagon tiles";
    get "/tiles/heat.json" => tilejson_heat, Needs(Role::Display), Header, audit: false, doc: true, "TileJSON of the raster heat tiles";
    get "/tiles/admin.json" => tilejson_admin, Needs(Role::Display), Header, audit: false, doc: true, "TileJSON of the admin basemap";
    get "/tiles/hex/{z}/{x}/{y}" => hex_tile, Needs(Role::Display), HeaderOrUrl, audit: false, doc: true, "Hexagon vector tile (`{y}.mvt`, gzip MVT 2.1); filters as parameters; 204 when empty";
    get "/tiles/heat/{z}/{x}/{y}" => heat_tile, Needs(Role::Display), HeaderOrUrl, audit: false, doc: true, "Raster heat tile (`{y}.png` 256 px, `{y}@2x.png` 512 px); 204 when empty";
    get "/tiles/admin/{z}/{x}/{y}" => admin_tile, Needs(Role::Display), HeaderOrUrl, audit: false, doc: true, "Admin basemap vector tile (`{y}.mvt`): boundaries and labels";
    get "/api/heatmap" => api::heatmap, Needs(Role::Display), Header, audit: true, doc: true, "Heat-map cells (JSON, GeoJSON, CSV, Arrow)";
    get "/api/hotspots" => api::hotspots, Needs(Role::Display), Header, audit: true, doc: true, "Hot-spot clusters with level, reason and places";
    get "/api/trends" => api::trends, Needs(Role::Display), Header, audit: true, doc: true, "Emerging hot spots: pattern, counts and Mann–Kendall per location";
    get "/api/recurring" => api::recurring, Needs(Role::Display), Header, audit: true, doc: true, "Recurring problems (类案) with lead departments";
    get "/api/chains" => api::chains, Needs(Role::Analyst), Header, audit: true, doc: true, "Repeat chains (民转刑 watch list): case ids, places";
    get "/api/alerts" => api::alerts, Needs(Role::Display), Header, audit: true, doc: true, "Early-warning alerts for the 7 days ending `as_of`";
    get "/api/kpis" => api::kpis, Needs(Role::Display), Header, audit: true, doc: true, "Intake by class and channel, 办结率, 按时办结率, 满意度, per unit";
    get "/api/units/{code}" => api::unit, Needs(Role::Display), Header, audit: true, doc: true, "A unit with its children's figures (drill-down)";
    get "/api/profile" => api::profile, Needs(Role::Analyst), Header, audit: true, doc: true, "A place's profile (the filter's unit, or `cell=`): figures, weekly series, villages, 类案, alerts";
    get "/api/vocabulary" => api::vocabulary, Public, Header, audit: false, doc: true, "Codes of classes, categories, channels, statuses, levels, patterns with Chinese and English names";
    get "/api/cases" => api::cases, Needs(Role::Analyst), Header, audit: true, doc: true, "Paged case list; personal fields and exact positions for admin only";
    post "/api/ingest" => api::ingest, Needs(Role::Admin), Header, audit: true, doc: true, "Ingest a case file (CSV, NDJSON, Parquet) as the CLI does";
    get "/api/audit" => crate::audit::read, Needs(Role::Admin), Header, audit: true, doc: true, "The audit log: who read what, newest first";
    get "/api/events" => events, Needs(Role::Display), Header, audit: false, doc: true, "Server-sent events: `data` when the store changes";
    get "/api/version" => version, Needs(Role::Display), Header, audit: false, doc: true, "The data version";
    get "/briefings/" => crate::briefings::list, Needs(Role::Analyst), HeaderOrUrl, audit: true, doc: true, "Weekly and monthly briefings in the token's area (JSON; HTML for browsers)";
    post "/briefings/" => crate::briefings::make, Needs(Role::Analyst), Header, audit: true, doc: true, "Make a briefing (`week=2026-W44` or `month=2026-10`, `unit`) with the server's store into its briefings directory";
    get "/briefings/{name}/{file}" => crate::briefings::file, Needs(Role::Analyst), HeaderOrUrl, audit: true, doc: true, "A briefing's file: PDF, HTML, PNG figures, call-back CSV, JSON";
}

/// The router over `state`: the route table, a 404 for anything else (before any token is read),
/// the Host/Origin check, metrics, security headers, and a panic anywhere answered 500.
pub fn router(state: Arc<AppState>) -> Router {
    routes(&state)
        .fallback(|| async { ApiError::NotFound("no such route (see /api/openapi.json)".into()) })
        .layer(middleware::from_fn_with_state(Arc::clone(&state), crate::access::hosts))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), measure))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            ApiError::Internal("a handler panicked".into()).into_response()
        }))
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

async fn healthz(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok", "version": state.version() }))
}

/// The data version, the last day with cases (what "today" is on the wall), the region and the
/// name of the response rules in force.
async fn version(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    // The projection of the version knows its last day (computed once per version).
    let last_day = crate::display::projection(&state).await?.last_day;
    let region = serde_json::json!({ "code": state.region.code, "name": state.region.name });
    let rules = &state.config.rules().name;
    let body =
        serde_json::json!({ "version": state.version(), "last_day": last_day, "region": region, "rules": rules });
    Ok(crate::display::no_figures(axum::Json(body).into_response()))
}

/// Request counts and latencies, the data version, the caches and pool: no case figures.
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let text = state
        .metrics
        .render(state.version(), state.started.elapsed(), &state.gauges());
    crate::display::no_figures(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

/// The pages' policy: scripts, styles, images, fonts, workers and requests from this server only,
/// no inline script. (`'unsafe-eval'`: the pages use none, but the browser tests' Playwright
/// predicates are evaluated in the page; without it they could not run against the real policy.)
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; \
     object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// An embedded file (no case data: no token needed), cached by browsers for a day; the pages with
/// a content security policy.
async fn static_file(Path(path): Path<String>) -> Result<Response, ApiError> {
    let asset = fengqiao_web::asset(&path).ok_or_else(|| ApiError::NotFound(format!("no file {path}")))?;
    let mut response = (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        asset.bytes,
    )
        .into_response();
    if asset.content_type.starts_with("text/html") {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_POLICY));
    }
    Ok(response)
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
/// store, and a keep-alive comment every 15 s. At most `limits.streams` at once (503 beyond); every
/// stream ends when the server shuts down, so shutdown does not wait for them.
async fn events(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let permit = Arc::clone(&state.streams)
        .try_acquire_owned()
        .map_err(|_| ApiError::Busy(crate::work::RETRY_AFTER_SECONDS * 5))?;
    let hello = serde_json::json!({ "type": "hello", "version": state.version() }).to_string();
    let shutdown = state.shutdown.clone().cancelled_owned();
    let stream = tokio_stream::once(Ok::<Event, std::convert::Infallible>(
        Event::default().event("hello").data(hello),
    ))
    .chain(
        BroadcastStream::new(state.events.subscribe())
            .filter_map(|m| m.ok())
            .map(|m| Ok(Event::default().event("data").data(m))),
    )
    .map(move |e| {
        let _held = &permit;
        e
    });
    let stream = UntilShutdown {
        inner: Box::pin(stream),
        stop: Box::pin(shutdown),
    };
    let response = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    Ok(crate::display::no_figures(response))
}

/// A stream that ends when the server shuts down.
struct UntilShutdown<S> {
    inner: std::pin::Pin<Box<S>>,
    stop: std::pin::Pin<Box<tokio_util::sync::WaitForCancellationFutureOwned>>,
}

impl<S: tokio_stream::Stream> tokio_stream::Stream for UntilShutdown<S> {
    type Item = S::Item;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<S::Item>> {
        if self.stop.as_mut().poll(cx).is_ready() {
            return std::task::Poll::Ready(None);
        }
        self.inner.as_mut().poll_next(cx)
    }
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
        .filter(|s| matches!(*s, "http" | "https"))
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

async fn tilejson_hex(
    state: State<Arc<AppState>>,
    query: Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    tilejson(state, query, headers, "hex").await
}

async fn tilejson_heat(
    state: State<Arc<AppState>>,
    query: Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    tilejson(state, query, headers, "heat").await
}

async fn tilejson_admin(
    state: State<Arc<AppState>>,
    query: Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    tilejson(state, query, headers, "admin").await
}

/// TileJSON: the tile URLs carry the data version and the request's parameters (never a token),
/// checked as the tiles will check them.
async fn tilejson(
    State(state): State<Arc<AppState>>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    name: &str,
) -> Result<Response, ApiError> {
    let params = Params::new(query.clone());
    params.allow(true, &["trends", "res", "measure"])?;
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
    Ok(crate::display::no_figures(
        ([(header::CACHE_CONTROL, "no-cache")], axum::Json(json)).into_response(),
    ))
}

/// Percent-encodes a query component.
fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
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

/// A tile response: cached bytes per canonical key (the data version, the tile, and what the layer
/// depends on — never the URL as sent, its `v=` or a token), an ETag, 304 when it matches, 204 when
/// empty; marked as projected when made for a display token.
async fn tile_response(
    state: &Arc<AppState>,
    key: String,
    params: &Params,
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
    let key = format!("{version}|{key}");
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
            .extension(crate::display::Mark)
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
    let cached = state.tiles.lock().expect("tile cache").get(&key);
    let bytes = match cached {
        Some(b) => b,
        None => {
            let made = make.await?;
            let bytes = match made {
                Some(raw) if gzip => bytes::Bytes::from(crate::mvt::gzip(&raw)),
                Some(raw) => bytes::Bytes::from(raw),
                None => bytes::Bytes::new(),
            };
            let weight = bytes.len() + key.len() + 64;
            state.tiles.lock().expect("tile cache").put(key, bytes.clone(), weight);
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
    use std::hash::Hasher;
    let mut h = fnv::FnvHasher::default();
    h.write(s.as_bytes());
    h.finish()
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
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    heat_layer_tile(state, who, address, query, headers, TileFormat::Mvt).await
}

async fn heat_tile(
    state: State<Arc<AppState>>,
    who: Extension<Principal>,
    address: Path<(String, String, String)>,
    query: Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    heat_layer_tile(state, who, address, query, headers, TileFormat::Png).await
}

/// A tile of the heat layer: hexagons as MVT (`trends=true` adds each cell's pattern) or PNG.
async fn heat_layer_tile(
    State(state): State<Arc<AppState>>,
    Extension(who): Extension<Principal>,
    Path((z, x, y)): Path<(String, String, String)>,
    Query(query): Query<Vec<(String, String)>>,
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
            &["trends", "res", "measure"]
        } else {
            &["res", "measure"]
        },
    )?;
    let request = LayerRequest::for_tile(&state, &who, &params, tile.z).await?;
    let key = format!("{}|{}|{tile:?}|{scale}|{format:?}", request.key(), extension);
    let make = async {
        let layer = layers::heat_layer(&state, request).await?;
        match format {
            TileFormat::Mvt => Ok(layer.mvt(tile)),
            TileFormat::Png => layer.png(tile, 256 * scale),
        }
    };
    tile_response(&state, key, &params, &headers, format, make).await
}

async fn admin_tile(
    State(state): State<Arc<AppState>>,
    Path((z, x, y)): Path<(String, String, String)>,
    Query(query): Query<Vec<(String, String)>>,
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
    let key = format!("admin|{tile:?}|{:?}", View::Full);
    tile_response(&state, key, &params, &headers, TileFormat::Mvt, make).await
}

/// Adds `value` as a header.
pub fn header_value(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// A listener that holds at most `permits` connections open: further ones wait in the kernel's
/// backlog until one closes.
struct LimitedListener {
    inner: tokio::net::TcpListener,
    permits: Arc<tokio::sync::Semaphore>,
}

/// A connection holding its permit until it closes.
struct LimitedStream {
    inner: tokio::net::TcpStream,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl axum::serve::Listener for LimitedListener {
    type Io = LimitedStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (LimitedStream, std::net::SocketAddr) {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .expect("the connection semaphore is never closed");
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (
                        LimitedStream {
                            inner: stream,
                            _permit: permit,
                        },
                        addr,
                    );
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.inner.local_addr()
    }
}

impl tokio::io::AsyncRead for LimitedStream {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for LimitedStream {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serves `state` on `addr` until Ctrl-C or SIGTERM: then stops accepting, ends the event streams,
/// refuses queued work, and finishes the requests under way — for at most the request time limit
/// and five seconds more.
pub async fn serve(state: Arc<AppState>, addr: std::net::SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    state.set_allowed_hosts(state.config.allowed_hosts(addr));
    tracing::info!(%addr, version = state.version(), hosts = ?state.allowed_hosts(), "serving");
    state.refresh_columns();
    let listener = LimitedListener {
        inner: listener,
        permits: Arc::new(tokio::sync::Semaphore::new(state.config.limits.connections)),
    };
    let shutdown = state.shutdown.clone();
    let grace = Duration::from_secs(state.config.limits.request_seconds + 5);
    use std::future::IntoFuture;
    let server = axum::serve(listener, router(Arc::clone(&state)))
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            shutdown.cancel();
        })
        .into_future();
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result,
        () = async { state.shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!("requests still running after the grace period: stopping anyway");
            Ok(())
        }
    }
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
