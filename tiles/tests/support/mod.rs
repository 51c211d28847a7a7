//! What the hardening tests share: a generated store, the tokens of every role, in-process calls,
//! and the display invariant checked on any response.
#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{header, Request, Response};
use axum::Router;
use fengqiao_generator::{generate, GenerateOptions};
use fengqiao_ingest::{IngestOptions, Region, Store};
use fengqiao_tiles::config::Config;
use fengqiao_tiles::{router, AppState};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub const MONITOR: &str = "monitor-token-0123456789abcdef";
pub const WALL: &str = "wall-display-token-0123456789";
pub const ANALYST: &str = "analyst-token-0123456789abcdef";
pub const ADMIN: &str = "admin-token-0123456789abcdefgh";
pub const COUNTY: &str = "beihu-county-token-0123456789";
pub const COUNTY_WALL: &str = "beihu-wall-token-0123456789ab";
pub const COUNTY_CODE: &str = "431002";
/// The small-count threshold of the tests' configuration.
pub const K: u64 = 3;

/// Three months of generated cases to 2026-10-31 (30,000), as CSV bytes, made once per test binary.
pub fn cases_csv() -> &'static [u8] {
    static DATA: OnceLock<Vec<u8>> = OnceLock::new();
    DATA.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cases.csv");
        let opts = GenerateOptions {
            months: 3,
            cases: Some(30_000),
            ..GenerateOptions::default()
        };
        generate(&Region::chenzhou(), &opts, &file).unwrap();
        std::fs::read(&file).unwrap()
    })
}

/// The configuration with a token of every role (and `extra` appended: limits, say).
pub fn config(extra: &str) -> Config {
    let text = format!(
        "suppress_below = {K}\n{extra}\n\
         [[tokens]]\nname = \"monitor\"\ntoken = \"{MONITOR}\"\nrole = \"monitor\"\n\
         [[tokens]]\nname = \"wall\"\ntoken = \"{WALL}\"\nrole = \"display\"\n\
         [[tokens]]\nname = \"analyst\"\ntoken = \"{ANALYST}\"\nrole = \"analyst\"\n\
         [[tokens]]\nname = \"admin\"\ntoken = \"{ADMIN}\"\nrole = \"admin\"\n\
         [[tokens]]\nname = \"beihu\"\ntoken = \"{COUNTY}\"\nrole = \"analyst\"\nunit = \"{COUNTY_CODE}\"\n\
         [[tokens]]\nname = \"beihu-wall\"\ntoken = \"{COUNTY_WALL}\"\nrole = \"display\"\nunit = \"{COUNTY_CODE}\"\n"
    );
    Config::parse(&text, "test.toml").unwrap()
}

/// An in-memory store with the generated cases.
pub fn store() -> Store {
    let mut store = Store::open_in_memory().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.csv");
    std::fs::write(&cases, cases_csv()).unwrap();
    store
        .ingest_file(
            &cases,
            &Region::chenzhou(),
            &IngestOptions::default(),
            &fengqiao_ingest::store::NoProgress,
        )
        .unwrap();
    store
}

/// The router and state over `store` with `config`.
pub fn app_with(store: Store, config: Config) -> (Router, Arc<AppState>) {
    let state = AppState::new(store, Region::chenzhou(), config).unwrap();
    (router(Arc::clone(&state)), state)
}

/// The router over the generated store with the default limits.
pub fn app() -> (Router, Arc<AppState>) {
    app_with(store(), config(""))
}

pub async fn call(app: &Router, method: &str, uri: &str, token: Option<&str>, body: Body) -> Response<Body> {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    app.clone().oneshot(request.body(body).unwrap()).await.unwrap()
}

pub async fn get(app: &Router, uri: &str, token: Option<&str>) -> Response<Body> {
    call(app, "GET", uri, token, Body::empty()).await
}

pub async fn bytes(response: Response<Body>) -> Vec<u8> {
    response.into_body().collect().await.unwrap().to_bytes().to_vec()
}

pub async fn json(response: Response<Body>) -> Value {
    let status = response.status();
    let body = bytes(response).await;
    serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{status}: {e}: {}", String::from_utf8_lossy(&body)))
}

/// GET as `token`, expecting 200, as JSON.
pub async fn ok(app: &Router, uri: &str, token: &str) -> Value {
    let response = get(app, uri, Some(token)).await;
    assert_eq!(response.status(), 200, "{uri}");
    json(response).await
}

/// The last day with cases, as the wall learns it.
pub async fn last_day(app: &Router) -> chrono::NaiveDate {
    let v = ok(app, "/api/version", WALL).await;
    v["last_day"].as_str().unwrap().parse().unwrap()
}

/// `last` shifted by `days`, as text.
pub fn day(last: chrono::NaiveDate, days: i64) -> String {
    (last + chrono::Duration::days(days)).to_string()
}

/// The display invariant over a whole response: only fields some display shape allows (or
/// GeoJSON's own), and every count null, 0 or at least k.
pub fn check_display(value: &Value) -> Result<(), String> {
    let allowed = fengqiao_tiles::display::allowed_fields();
    let counts = fengqiao_tiles::display::count_fields();
    let geojson = ["type", "features", "geometry", "coordinates", "properties"];
    fn count_ok(v: &Value) -> bool {
        fengqiao_tiles::display::shown_count(v, K)
    }
    fn walk(v: &Value, path: &str, allowed: &[&str], counts: &[&str], geojson: &[&str]) -> Result<(), String> {
        match v {
            Value::Object(map) => {
                for (key, item) in map {
                    if !allowed.contains(&key.as_str()) && !geojson.contains(&key.as_str()) {
                        return Err(format!("{path}.{key}: not a display field"));
                    }
                    if counts.contains(&key.as_str()) {
                        let fine = match item {
                            Value::Array(list) => list.iter().all(|e| match e {
                                Value::Array(pair) => pair.get(1).is_none_or(count_ok),
                                other => count_ok(other),
                            }),
                            other => count_ok(other),
                        };
                        if !fine {
                            return Err(format!("{path}.{key} = {item}: a count below {K}"));
                        }
                    }
                    // A department is a label (names of offices), not figures.
                    if key != "department" {
                        walk(item, &format!("{path}.{key}"), allowed, counts, geojson)?;
                    }
                }
                Ok(())
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .try_for_each(|(i, item)| walk(item, &format!("{path}[{i}]"), allowed, counts, geojson)),
            _ => Ok(()),
        }
    }
    walk(value, "", &allowed, &counts, &geojson)
}
