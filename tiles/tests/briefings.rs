//! `/briefings/` in-process: the listing and the files under the API's roles (analyst and up) and
//! scopes (a county token sees its county's briefings only), and no way out of the directory; and a
//! briefing's numbers equal to the API's for the same period.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, Response, StatusCode};
use axum::Router;
use fengqiao_analytics::briefing::Manifest;
use fengqiao_ingest::{Region, Store};
use fengqiao_tiles::config::Config;
use fengqiao_tiles::{router, AppState};
use http_body_util::BodyExt;
use tower::ServiceExt;

const WALL: &str = "wall-display-token-0123456789";
const ANALYST: &str = "analyst-token-0123456789abcdef";
const COUNTY: &str = "beihu-county-token-0123456789";
const ADMIN: &str = "admin-token-0123456789abcdefgh";
const OTHER_COUNTY: &str = "431003";

/// Writes a briefing directory `name` about `unit` with a PDF and a PNG.
fn write_briefing(root: &Path, name: &str, unit: &str, period: &str) {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = Manifest {
        kind: "week".into(),
        period: period.into(),
        title: format!("{unit} {period}"),
        unit_code: unit.into(),
        unit_name: unit.into(),
        files: vec![format!("briefing-{period}.pdf"), "map.png".into()],
    };
    std::fs::write(dir.join("manifest.json"), serde_json::to_vec(&manifest).unwrap()).unwrap();
    std::fs::write(dir.join(format!("briefing-{period}.pdf")), b"%PDF-1.7 test").unwrap();
    std::fs::write(dir.join("map.png"), b"\x89PNG test").unwrap();
    // A file the manifest does not list is never served.
    std::fs::write(dir.join("notes.txt"), b"not listed").unwrap();
}

fn app(root: &Path) -> Router {
    let region = Region::chenzhou();
    let text = format!(
        r#"
briefings_dir = "{}"
[[tokens]]
name = "wall"
token = "{WALL}"
role = "display"
[[tokens]]
name = "analyst"
token = "{ANALYST}"
role = "analyst"
[[tokens]]
name = "beihu"
token = "{COUNTY}"
role = "analyst"
unit = "431002"
"#,
        root.join("briefings").display()
    );
    let config = Config::parse(&text, "test.toml").unwrap();
    let state = AppState::new(Store::open_in_memory().unwrap(), region, config).unwrap();
    router(Arc::clone(&state))
}

async fn get(app: &Router, uri: &str, token: Option<&str>) -> Response<Body> {
    let mut request = Request::builder().uri(uri);
    if let Some(t) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap()
}

async fn body(response: Response<Body>) -> Vec<u8> {
    response.into_body().collect().await.unwrap().to_bytes().to_vec()
}

async fn names(app: &Router, token: &str) -> Vec<String> {
    let response = get(app, "/briefings/", Some(token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let json: serde_json::Value = serde_json::from_slice(&body(response).await).unwrap();
    json["briefings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn briefings_are_listed_and_served_by_role_and_scope_and_never_outside_their_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("briefings");
    write_briefing(&root, "city-2026-W43", "431000", "2026-W43");
    write_briefing(&root, "beihu-2026-W43", "431002", "2026-W43");
    write_briefing(&root, "beihu-town-2026-W44", "431002001", "2026-W44");
    write_briefing(&root, "suxian-2026-W43", OTHER_COUNTY, "2026-W43");
    std::fs::create_dir_all(root.join("no-manifest")).unwrap();
    std::fs::write(dir.path().join("secret.txt"), b"outside").unwrap();
    let app = app(dir.path());

    // Roles: no token 401, the wall's display token 403, analysts 200.
    assert_eq!(get(&app, "/briefings/", None).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        get(&app, "/briefings/", Some(WALL)).await.status(),
        StatusCode::FORBIDDEN
    );
    let pdf = "/briefings/city-2026-W43/briefing-2026-W43.pdf";
    assert_eq!(get(&app, pdf, Some(WALL)).await.status(), StatusCode::FORBIDDEN);

    // The listing: every briefing with a manifest for an unscoped analyst, newest first; the
    // county token only its county's and those of units inside it.
    let all = names(&app, ANALYST).await;
    assert_eq!(all[0], "beihu-town-2026-W44");
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "beihu-2026-W43",
            "beihu-town-2026-W44",
            "city-2026-W43",
            "suxian-2026-W43"
        ]
    );
    let mut scoped = names(&app, COUNTY).await;
    scoped.sort();
    assert_eq!(scoped, ["beihu-2026-W43", "beihu-town-2026-W44"]);

    // Files: served with their type to those who may see them.
    let response = get(&app, pdf, Some(ANALYST)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/pdf");
    assert_eq!(body(response).await, b"%PDF-1.7 test");
    let png = get(&app, "/briefings/beihu-2026-W43/map.png", Some(COUNTY)).await;
    assert_eq!(png.status(), StatusCode::OK);
    assert_eq!(png.headers()[header::CONTENT_TYPE], "image/png");
    assert_eq!(get(&app, pdf, Some(COUNTY)).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        get(&app, "/briefings/suxian-2026-W43/map.png", Some(COUNTY))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // Nothing unlisted, nothing outside.
    for uri in [
        "/briefings/city-2026-W43/notes.txt",
        "/briefings/no-manifest/manifest.json",
        "/briefings/../secret.txt",
        "/briefings/..%2Fsecret.txt/x",
        "/briefings/city-2026-W43/..%2F..%2Fsecret.txt",
        "/briefings/%2E%2E/secret.txt",
        "/briefings/.%2E/secret.txt",
        "/briefings/city-2026-W43/%2E%2E",
    ] {
        let response = get(&app, uri, Some(ANALYST)).await;
        assert!(
            [StatusCode::NOT_FOUND, StatusCode::BAD_REQUEST].contains(&response.status()),
            "{uri}: {}",
            response.status()
        );
        assert_ne!(body(response).await, b"outside");
    }

    // Browsers get a page of links that carries their access token.
    let request = Request::builder()
        .uri(format!("/briefings/?access_token={COUNTY}"))
        .header(header::ACCEPT, "text/html")
        .body(Body::empty())
        .unwrap();
    let page = String::from_utf8(body(app.clone().oneshot(request).await.unwrap()).await).unwrap();
    assert!(page.contains(&format!(
        "href=\"/briefings/beihu-2026-W43/briefing-2026-W43.pdf?access_token={COUNTY}\""
    )));
    assert!(!page.contains("city-2026-W43"));
}

/// A server with one admin token (as `fengqiao serve` makes when the configuration has none).
fn admin_only() -> Config {
    let text = format!("[[tokens]]\nname = \"admin\"\ntoken = \"{ADMIN}\"\nrole = \"admin\"\n");
    Config::parse(&text, "test.toml").unwrap()
}

#[tokio::test]
async fn without_a_briefings_directory_the_listing_is_empty() {
    let region = Region::chenzhou();
    let state = AppState::new(Store::open_in_memory().unwrap(), region, admin_only()).unwrap();
    let app = router(state);
    assert_eq!(
        get(&app, "/briefings/", None).await.status(),
        StatusCode::UNAUTHORIZED,
        "nobody is trusted for where they connect from"
    );
    let response = get(&app, "/briefings/", Some(ADMIN)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let json: serde_json::Value = serde_json::from_slice(&body(response).await).unwrap();
    assert_eq!(json["briefings"], serde_json::json!([]));
    assert_eq!(
        get(&app, "/briefings/x/briefing.pdf", Some(ADMIN)).await.status(),
        StatusCode::NOT_FOUND
    );
}

/// The briefing's numbers are the API's: KPIs, clusters, recurring problems and alerts of a
/// generated week, from `/api/…` with the period's parameters and from `briefing()` on the same store.
#[tokio::test]
async fn a_briefing_has_the_api_numbers_for_its_period() {
    use fengqiao_analytics::briefing::{briefing, BriefingOptions, ReportPeriod};
    let region = Region::chenzhou();
    let store = generated_store(&region);
    let b = briefing(
        store.conn(),
        &region,
        &BriefingOptions::new(ReportPeriod::week("2026-W43").unwrap()),
    )
    .unwrap();
    assert!(b.current.cases > 0 && !b.clusters.is_empty() && !b.recurring.is_empty());
    let app = router(AppState::new(store, region, admin_only()).unwrap());
    let api = |uri: &'static str| {
        let app = app.clone();
        async move {
            let response = get(&app, uri, Some(ADMIN)).await;
            assert_eq!(response.status(), StatusCode::OK, "{uri}");
            serde_json::from_slice::<serde_json::Value>(&body(response).await).unwrap()
        }
    };
    let kpis = api("/api/kpis?from=2026-10-19&to=2026-10-25").await;
    assert_eq!(kpis["summary"], json(&b.current));
    let previous = api("/api/kpis?from=2026-10-12&to=2026-10-18").await;
    assert_eq!(previous["summary"], json(&b.last_period));
    let hotspots = api("/api/hotspots?from=2026-10-19&to=2026-10-25").await;
    assert_eq!(hotspots, json(&b.clusters));
    let recurring = api("/api/recurring?to=2026-10-25").await;
    let top: Vec<serde_json::Value> = recurring["problems"].as_array().unwrap()[..b.recurring.len()].to_vec();
    assert_eq!(serde_json::Value::Array(top), json(&b.recurring));
    let alerts = api("/api/alerts?as_of=2026-10-25&to=2026-10-25&limit=10").await;
    // The same alerts; the dispersion is a sum whose order varies between runs, so its last bits
    // (and those of p and the recurrence interval) may too.
    assert!(!b.alerts.is_empty());
    assert!(close(&alerts, &json(&b.alerts)), "{alerts}\n{}", json(&b.alerts));
}

/// Three months of generated cases (20,000) in an in-memory store.
fn generated_store(region: &Region) -> Store {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.csv");
    let opts = fengqiao_generator::GenerateOptions {
        months: 3,
        cases: Some(20_000),
        seed: 5,
        ..fengqiao_generator::GenerateOptions::default()
    };
    fengqiao_generator::generate(region, &opts, &file).unwrap();
    let mut store = Store::open_in_memory().unwrap();
    store
        .ingest_file(
            &file,
            region,
            &fengqiao_ingest::IngestOptions::default(),
            &fengqiao_ingest::store::NoProgress,
        )
        .unwrap();
    store
}

/// Equal JSON, numbers within a relative 1e-9.
fn close(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 1e-9 * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| close(x, y)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w)))
        }
        _ => a == b,
    }
}

/// `value` as the API's JSON text reads back (through text, as the responses: serde_json's float
/// parsing may differ from the value in the last bit, the same way on both sides).
fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::from_str(&serde_json::to_string(value).unwrap()).unwrap()
}

#[tokio::test]
async fn a_briefing_is_made_by_the_server_with_its_own_store() {
    let dir = tempfile::tempdir().unwrap();
    let region = Region::chenzhou();
    let store = generated_store(&region);
    let text = format!(
        "briefings_dir = \"{}\"\n[[tokens]]\nname = \"wall\"\ntoken = \"{WALL}\"\nrole = \"display\"\n\
         [[tokens]]\nname = \"analyst\"\ntoken = \"{ANALYST}\"\nrole = \"analyst\"\n\
         [[tokens]]\nname = \"beihu\"\ntoken = \"{COUNTY}\"\nrole = \"analyst\"\nunit = \"431002\"\n",
        dir.path().join("briefings").display()
    );
    let config = Config::parse(&text, "test.toml").unwrap();
    let app = router(AppState::new(store, region, config).unwrap());
    let post = |uri: &'static str, token: &'static str| {
        let app = app.clone();
        async move {
            let request = Request::builder()
                .method("POST")
                .uri(uri)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap();
            app.oneshot(request).await.unwrap()
        }
    };
    assert_eq!(
        post("/briefings/?week=2026-W43", WALL).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post("/briefings/?week=2026-43", ANALYST).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(post("/briefings/", ANALYST).await.status(), StatusCode::BAD_REQUEST);
    let made = post("/briefings/?week=2026-W43", ANALYST).await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let made: serde_json::Value = serde_json::from_slice(&body(made).await).unwrap();
    assert_eq!(made["name"], "2026-W43");
    assert!(made["pages"].as_u64().unwrap() >= 4);
    let pdf = get(&app, "/briefings/2026-W43/briefing-2026-W43.pdf", Some(ANALYST)).await;
    assert_eq!(pdf.status(), StatusCode::OK);
    assert!(body(pdf).await.starts_with(b"%PDF"));
    // A county token makes its county's, and no other's.
    let county = post("/briefings/?month=2026-10", COUNTY).await;
    assert_eq!(county.status(), StatusCode::CREATED);
    let county: serde_json::Value = serde_json::from_slice(&body(county).await).unwrap();
    assert_eq!(county["name"], "431002-2026-10");
    let elsewhere = post("/briefings/?month=2026-10&unit=431003", COUNTY).await;
    assert_eq!(elsewhere.status(), StatusCode::FORBIDDEN);
    assert_eq!(names(&app, ANALYST).await, ["2026-W43", "431002-2026-10"]);
    assert_eq!(names(&app, COUNTY).await, ["431002-2026-10"]);
}
