//! The router in-process (no socket): every route, status code and role; tiles decoded and checked
//! against h3o; TileJSON; PNG colours; the OpenAPI document against the served routes; ingest by API
//! while tiles are read, with the event stream; a county-scoped token kept inside its county.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{header, Request, Response, StatusCode};
use axum::Router;
use fengqiao_generator::{generate, GenerateOptions};
use fengqiao_ingest::{IngestOptions, Region, Store};
use fengqiao_tiles::config::Config;
use fengqiao_tiles::mvt::{decode, to_tile_coords, DecodedFeature, GeomKind, Value as MvtValue};
use fengqiao_tiles::{router, AppState, TileId};
use http_body_util::BodyExt;
use tower::ServiceExt;

const WALL: &str = "wall-display-token-0123456789";
const ANALYST: &str = "analyst-token-0123456789abcdef";
const ADMIN: &str = "admin-token-0123456789abcdefgh";
const COUNTY: &str = "beihu-county-token-0123456789";
const COUNTY_CODE: &str = "431002";

/// Three months of generated cases (one file, shared by the tests), and a second file to ingest.
/// The generated files (three months to 2026-10-31, and a later month), as bytes: a static is never
/// dropped, so a directory kept in one would outlive every run.
fn data() -> &'static (Vec<u8>, Vec<u8>) {
    static DATA: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    DATA.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let region = Region::chenzhou();
        let first = dir.path().join("cases.csv");
        let opts = GenerateOptions {
            months: 3,
            cases: Some(30_000),
            ..GenerateOptions::default()
        };
        generate(&region, &opts, &first).unwrap();
        let second = dir.path().join("more.csv");
        let more = GenerateOptions {
            months: 1,
            cases: Some(5_000),
            seed: 7,
            end: chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
            ..GenerateOptions::default()
        };
        generate(&region, &more, &second).unwrap();
        (std::fs::read(&first).unwrap(), std::fs::read(&second).unwrap())
    })
}

/// The test tokens; `all: false` is a server with only an admin token (as `fengqiao serve` makes
/// one when the configuration has none: nobody is trusted for connecting from this machine).
fn config(all: bool) -> Config {
    if !all {
        let text = format!("[[tokens]]\nname = \"admin\"\ntoken = \"{ADMIN}\"\nrole = \"admin\"\n");
        return Config::parse(&text, "test.toml").unwrap();
    }
    let text = format!(
        r#"
[[tokens]]
name = "wall"
token = "{WALL}"
role = "display"
[[tokens]]
name = "analyst"
token = "{ANALYST}"
role = "analyst"
[[tokens]]
name = "admin"
token = "{ADMIN}"
role = "admin"
[[tokens]]
name = "beihu"
token = "{COUNTY}"
role = "analyst"
unit = "{COUNTY_CODE}"
"#
    );
    Config::parse(&text, "test.toml").unwrap()
}

/// A fresh in-memory store with the first file, and its router.
fn app(tokens: bool) -> (Router, Arc<AppState>) {
    let mut store = Store::open_in_memory().unwrap();
    let region = Region::chenzhou();
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.csv");
    std::fs::write(&cases, &data().0).unwrap();
    store
        .ingest_file(
            &cases,
            &region,
            &IngestOptions::default(),
            &fengqiao_ingest::store::NoProgress,
        )
        .unwrap();
    let state = AppState::new(store, region, config(tokens)).unwrap();
    (router(Arc::clone(&state)), state)
}

async fn call(app: &Router, method: &str, uri: &str, token: Option<&str>, body: Body) -> Response<Body> {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    app.clone().oneshot(request.body(body).unwrap()).await.unwrap()
}

async fn get(app: &Router, uri: &str, token: Option<&str>) -> Response<Body> {
    call(app, "GET", uri, token, Body::empty()).await
}

async fn bytes(response: Response<Body>) -> Vec<u8> {
    response.into_body().collect().await.unwrap().to_bytes().to_vec()
}

async fn json(response: Response<Body>) -> serde_json::Value {
    serde_json::from_slice(&bytes(response).await).unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

/// The tile of zoom 12 at Chenzhou's city centre, where the cases are densest.
fn centre_tile() -> TileId {
    TileId::containing(12, 113.015, 25.77).unwrap()
}

#[tokio::test]
async fn health_metrics_and_an_openapi_document_that_lists_exactly_the_served_routes() {
    let (app, _) = app(false);
    let health = get(&app, "/healthz", Some(ADMIN)).await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(json(health).await["version"], 1);

    let doc = json(get(&app, "/api/openapi.json", Some(ADMIN)).await).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let listed: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| ops.as_object().unwrap().keys().map(move |m| (m.clone(), path.clone())))
        .collect();
    let served: Vec<(String, String)> = fengqiao_tiles::server::ROUTES
        .iter()
        .filter(|r| r.documented)
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    assert_eq!(listed.len(), served.len());
    assert!(served.iter().all(|r| listed.contains(r)));
    // Every listed route is served (a sample request for each is neither 404 nor 405).
    let t = centre_tile();
    for (method, path) in &served {
        let uri = path
            .replace("{z}", &t.z.to_string())
            .replace("{x}", &t.x.to_string())
            .replace("{code}", COUNTY_CODE)
            .replace("{path}", "vendor/maplibre-gl/maplibre-gl.mjs")
            .replace("{fontstack}/{range}", "Noto%20Sans/0-255.pbf")
            .replace(
                "{y}",
                &format!("{}.{}", t.y, if path.contains("heat") { "png" } else { "mvt" }),
            );
        if path == "/api/events" {
            continue; // a stream: checked in the ingest test
        }
        if path == "/briefings/{name}/{file}" {
            continue; // needs a written briefing: checked in tests/briefings.rs
        }
        let response = call(&app, &method.to_uppercase(), &uri, Some(ADMIN), Body::empty()).await;
        assert!(
            ![StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED].contains(&response.status()),
            "{method} {uri}: {}",
            response.status()
        );
    }
    // The wall and the explorer load only from this server.
    let wall = String::from_utf8(bytes(get(&app, "/", Some(ADMIN)).await).await).unwrap();
    assert!(wall.contains("/static/wall.js") && wall.contains("/static/vendor/maplibre-gl/maplibre-gl.css"));
    let explore = String::from_utf8(bytes(get(&app, "/explore", Some(ADMIN)).await).await).unwrap();
    assert!(explore.contains("/static/explore.js"));
    for page in ["wall.js", "explore.js", "common.js", "wall.css", "explore.css"] {
        let text = String::from_utf8(bytes(get(&app, &format!("/static/{page}"), Some(ADMIN)).await).await).unwrap();
        assert!(text.len() > 1000, "{page}");
        assert!(
            !text.contains("http://") && !text.contains("https://"),
            "an outside URL in {page}"
        );
    }
    for text in [&wall, &explore] {
        assert!(
            !text.contains("http://") && !text.contains("https://"),
            "an outside URL in a page"
        );
    }
    let version = json(get(&app, "/api/version", Some(ADMIN)).await).await;
    assert_eq!(version["last_day"], "2026-10-31");
    // The pages' fallback CJK font, a TrueType file with its licence.
    let font = get(&app, "/static/fonts/NotoSansSC-Regular.ttf", Some(ADMIN)).await;
    assert_eq!(font.headers()[header::CONTENT_TYPE], "font/ttf");
    let font = bytes(font).await;
    assert!(font.len() > 5_000_000 && font.starts_with(&[0, 1, 0, 0]));
    let licence = String::from_utf8(bytes(get(&app, "/static/fonts/OFL.txt", Some(ADMIN)).await).await).unwrap();
    assert!(licence.contains("SIL OPEN FONT LICENSE"));
    let maplibre = get(&app, "/static/vendor/maplibre-gl/maplibre-gl.mjs", Some(ADMIN)).await;
    assert_eq!(
        maplibre.headers()[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert!(bytes(maplibre).await.len() > 1_000_000);
    assert_eq!(
        get(&app, "/static/../Cargo.toml", Some(ADMIN)).await.status(),
        StatusCode::NOT_FOUND
    );
    let unknown = get(&app, "/api/nothing", Some(ADMIN)).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    let metrics = String::from_utf8(bytes(get(&app, "/metrics", Some(ADMIN)).await).await).unwrap();
    // /healthz twice (above and in the sweep), every route of the sweep once.
    assert!(
        metrics.contains("fengqiao_requests_total{route=\"/healthz\",status=\"200\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("fengqiao_requests_total{route=\"/api/kpis\",status=\"200\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("fengqiao_requests_total{route=\"unmatched\",status=\"404\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("fengqiao_data_version 1"));
}

#[tokio::test]
async fn hexagon_tiles_decode_to_h3o_boundaries_and_empty_or_bad_tiles_say_so() {
    let (app, _) = app(false);
    let t = centre_tile();
    let response = get(&app, &format!("/tiles/hex/{}/{}/{}.mvt", t.z, t.x, t.y), Some(ADMIN)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/vnd.mapbox-vector-tile"
    );
    let etag = response.headers()[header::ETAG].to_str().unwrap().to_string();
    let layers = decode(&gunzip(&bytes(response).await)).unwrap();
    assert_eq!(layers.len(), 1);
    let layer = &layers[0];
    assert_eq!((layer.name.as_str(), layer.extent, layer.version), ("hex", 4096, 2));
    assert!(layer.features.len() > 20, "{} hexagons", layer.features.len());
    for feature in &layer.features {
        assert_eq!(feature.kind, GeomKind::Polygon);
        let h3 = text_property(feature, "h3").unwrap();
        let cell: h3o::CellIndex = h3.parse().unwrap();
        assert_eq!(u8::from(cell.resolution()), 9, "zoom 12 draws res-9 cells");
        let expected: Vec<[f64; 2]> = cell
            .boundary()
            .iter()
            .map(|v| to_tile_coords(t, 4096.0, v.lng(), v.lat()))
            .collect();
        let ring = &feature.parts[0];
        // Hexagons across the tile's edge are clipped to its buffer (64 units around it).
        let on_buffer = |p: &[i32; 2]| p.iter().any(|&c| c == -64 || c == 4096 + 64);
        if !ring.iter().any(on_buffer) {
            assert_eq!(ring.len(), expected.len(), "{h3}");
        }
        for p in ring.iter().filter(|p| !on_buffer(p)) {
            assert!(
                expected
                    .iter()
                    .any(|e| (e[0] - f64::from(p[0])).abs() <= 1.0 && (e[1] - f64::from(p[1])).abs() <= 1.0),
                "{h3}: vertex {p:?} is not one of h3o's {expected:?}"
            );
        }
        let keys: Vec<&str> = feature.properties.iter().map(|(k, _)| k.as_str()).collect();
        for key in ["h3", "gi_z", "confidence"] {
            assert!(keys.contains(&key), "{keys:?}");
        }
    }
    // The same tile again: 304 with the ETag.
    let request = Request::get(format!("/tiles/hex/{}/{}/{}.mvt", t.z, t.x, t.y))
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.clone().oneshot(request).await.unwrap().status(),
        StatusCode::NOT_MODIFIED
    );
    // Far out at sea: nothing to draw.
    let sea = TileId::containing(12, 120.0, 20.0).unwrap();
    let empty = get(&app, &format!("/tiles/hex/12/{}/{}.mvt", sea.x, sea.y), Some(ADMIN)).await;
    assert_eq!(empty.status(), StatusCode::NO_CONTENT);
    for bad in [
        "/tiles/hex/12/99999/1744.mvt",
        "/tiles/hex/40/1/1.mvt",
        "/tiles/hex/2/1/1.mvt",
        "/tiles/hex/12/a/1744.mvt",
        "/tiles/hex/12/3333/1744.png",
        "/tiles/hex/12/3333/1744.mvt?category=fishing",
        "/tiles/hex/12/3333/1744.mvt?from=2026-13-01",
        "/tiles/hex/12/3333/1744.mvt?colour=red",
    ] {
        let response = get(&app, bad, Some(ADMIN)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(json(response).await["error"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // With trends, each hexagon carries its emerging-hot-spot pattern.
    let with_trends = get(
        &app,
        &format!("/tiles/hex/{}/{}/{}.mvt?trends=true", t.z, t.x, t.y),
        Some(ADMIN),
    )
    .await;
    let trend_layers = decode(&gunzip(&bytes(with_trends).await)).unwrap();
    let patterns: Vec<String> = trend_layers[0]
        .features
        .iter()
        .filter_map(|f| text_property(f, "pattern"))
        .collect();
    assert_eq!(patterns.len(), trend_layers[0].features.len());
    assert!(patterns
        .iter()
        .all(|p| p.parse::<fengqiao_analytics::pattern::Pattern>().is_ok()));
    // A filter changes the tile.
    let labour = get(
        &app,
        &format!("/tiles/hex/{}/{}/{}.mvt?category=labour", t.z, t.x, t.y),
        Some(ADMIN),
    )
    .await;
    let labour_layers = decode(&gunzip(&bytes(labour).await)).unwrap();
    assert!(labour_layers.is_empty() || labour_layers[0].features.len() < layer.features.len());
}

#[tokio::test]
async fn tilejson_raster_and_admin_tiles() {
    let (app, state) = app(false);
    for set in ["hex", "heat", "admin"] {
        let doc = json(get(&app, &format!("/tiles/{set}.json?category=labour"), Some(ADMIN)).await).await;
        assert_eq!(doc["tilejson"], "3.0.0");
        let url = doc["tiles"][0].as_str().unwrap();
        assert!(url.contains(&format!("/tiles/{set}/{{z}}/{{x}}/{{y}}.")), "{url}");
        assert!(
            url.contains(&format!("v={}", state.version())) && url.contains("category=labour"),
            "{url}"
        );
        let b = doc["bounds"].as_array().unwrap();
        let b: Vec<f64> = b.iter().map(|v| v.as_f64().unwrap()).collect();
        assert!(b[0] < 113.0 && 113.0 < b[2] && b[1] < 25.7 && 25.7 < b[3], "{b:?}");
        assert!(doc["minzoom"].as_u64().unwrap() <= doc["maxzoom"].as_u64().unwrap());
        if set != "heat" {
            assert!(!doc["vector_layers"].as_array().unwrap().is_empty());
        }
    }
    assert_eq!(
        get(&app, "/tiles/roads.json", Some(ADMIN)).await.status(),
        StatusCode::NOT_FOUND
    );

    // Raster: 256 and 512 px; a red (县级专班) cluster cell is drawn red.
    let t = TileId::containing(9, 113.015, 25.77).unwrap();
    for (suffix, size) in [("", 256u32), ("@2x", 512)] {
        let response = get(
            &app,
            &format!("/tiles/heat/{}/{}/{}{suffix}.png", t.z, t.x, t.y),
            Some(ADMIN),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "image/png");
        let (w, h, pixels) = fengqiao_tiles::raster::decode_png(&bytes(response).await).unwrap();
        assert_eq!((w, h), (size, size));
        assert!(pixels.chunks(4).any(|p| p[3] > 0), "something is drawn");
    }
    let map = json(get(&app, "/api/heatmap?res=7", Some(ADMIN)).await).await;
    let red = map["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["level"] == "red")
        .expect("a red cluster in the data");
    let cell: h3o::CellIndex = red["h3"].as_str().unwrap().parse().unwrap();
    let centre = h3o::LatLng::from(cell);
    let t = TileId::containing(9, centre.lng(), centre.lat()).unwrap();
    let png = bytes(get(&app, &format!("/tiles/heat/9/{}/{}.png", t.x, t.y), Some(ADMIN)).await).await;
    let (w, _, pixels) = fengqiao_tiles::raster::decode_png(&png).unwrap();
    let p = to_tile_coords(t, 256.0, centre.lng(), centre.lat());
    let i = ((p[1] as usize) * w as usize + p[0] as usize) * 4;
    let expected = fengqiao_tiles::layers::level_colour(fengqiao_analytics::response::Level::Red);
    assert!(
        (0..3).all(|k| (i32::from(pixels[i + k]) - i32::from(expected[k])).abs() <= 3),
        "{:?} vs {:?}",
        &pixels[i..i + 4],
        expected
    );

    // Admin basemap: county outlines and Chinese labels.
    let t = TileId::containing(9, 113.015, 25.77).unwrap();
    let admin = get(&app, &format!("/tiles/admin/9/{}/{}.mvt", t.x, t.y), Some(ADMIN)).await;
    assert_eq!(admin.status(), StatusCode::OK);
    let layers = decode(&gunzip(&bytes(admin).await)).unwrap();
    let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["boundary", "label"]);
    let labels: Vec<String> = layers[1]
        .features
        .iter()
        .filter_map(|f| text_property(f, "name"))
        .collect();
    assert!(labels.iter().any(|n| n == "北湖区"), "{labels:?}");
}

#[tokio::test]
async fn roles_decide_what_a_token_sees() {
    let (app, _) = app(true);
    assert_eq!(get(&app, "/healthz", None).await.status(), StatusCode::OK);
    let none = get(&app, "/api/heatmap", None).await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert!(none.headers().contains_key(header::WWW_AUTHENTICATE));
    assert_eq!(
        get(&app, "/api/heatmap", Some("not-a-token")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let t = centre_tile();
    let tile = format!("/tiles/hex/{}/{}/{}.mvt", t.z, t.x, t.y);
    assert_eq!(get(&app, &tile, None).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        get(&app, &format!("{tile}?access_token={WALL}"), None).await.status(),
        StatusCode::OK
    );

    // Display: aggregates with small counts hidden; no case lists, chains or ingest.
    let wall = json(get(&app, "/api/heatmap", Some(WALL)).await).await;
    let cells = wall["cells"].as_array().unwrap();
    assert!(cells
        .iter()
        .all(|c| c["count"].as_u64().is_none_or(|n| n == 0 || n >= 3)));
    assert!(cells.iter().any(|c| c["suppressed"] == true));
    for route in ["/api/cases", "/api/chains"] {
        assert_eq!(
            get(&app, route, Some(WALL)).await.status(),
            StatusCode::FORBIDDEN,
            "{route}"
        );
    }
    let post = call(
        &app,
        "POST",
        "/api/ingest?name=x.csv",
        Some(ANALYST),
        Body::from("a,b\n"),
    )
    .await;
    assert_eq!(post.status(), StatusCode::FORBIDDEN);

    // Analyst: case lists without personal fields; admin: with them.
    let analyst = json(get(&app, "/api/cases?per_page=5", Some(ANALYST)).await).await;
    let case = &analyst["cases"][0];
    assert!(case["case_id"].is_string() && case.get("party_name").is_none() && case.get("party_phone").is_none());
    assert_eq!(analyst["cases"].as_array().unwrap().len(), 5);
    assert!(analyst["total"].as_u64().unwrap() > 1000);
    let admin = json(get(&app, "/api/cases?per_page=5", Some(ADMIN)).await).await;
    assert!(admin["cases"][0].get("party_name").is_some());
    let text = String::from_utf8(bytes(get(&app, "/api/chains?format=csv", Some(ANALYST)).await).await).unwrap();
    assert!(text.starts_with("rank,case_ids"), "{}", &text[..text.len().min(200)]);
}

#[tokio::test]
async fn a_county_token_sees_only_its_county() {
    let (app, state) = app(true);
    let region = &state.region;
    let county = region.id(COUNTY_CODE).unwrap();
    let inside = |code: &str| {
        region
            .id(code)
            .is_some_and(|id| fengqiao_analytics::cube::is_within(region, id, county))
    };
    let map = json(get(&app, "/api/heatmap?res=8", Some(COUNTY)).await).await;
    let cells = map["cells"].as_array().unwrap();
    assert!(!cells.is_empty());
    assert!(cells.iter().all(|c| inside(c["village_code"].as_str().unwrap())));
    let other = json(get(&app, "/api/heatmap?res=8", Some(ANALYST)).await).await;
    assert!(other["cells"].as_array().unwrap().len() > cells.len());
    assert_eq!(
        get(&app, "/api/heatmap?unit=431003", Some(COUNTY)).await.status(),
        StatusCode::FORBIDDEN
    );
    let cases = json(get(&app, "/api/cases?per_page=50", Some(COUNTY)).await).await;
    assert!(cases["cases"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["county_code"] == COUNTY_CODE));
    // A tile of a neighbouring county's seat (嘉禾县, far from 北湖区) shows none of its cells.
    let jiahe = region.unit("431024").unwrap();
    let t = TileId::containing(12, jiahe.lng, jiahe.lat).unwrap();
    let response = get(&app, &format!("/tiles/hex/12/{}/{}.mvt", t.x, t.y), Some(COUNTY)).await;
    if response.status() == StatusCode::OK {
        for layer in decode(&gunzip(&bytes(response).await)).unwrap() {
            assert!(
                layer.features.is_empty(),
                "{} cells of another county",
                layer.features.len()
            );
        }
    } else {
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    let unit = get(&app, "/api/units/431003", Some(COUNTY)).await;
    assert_eq!(unit.status(), StatusCode::FORBIDDEN);
    let own = json(get(&app, &format!("/api/units/{COUNTY_CODE}"), Some(COUNTY)).await).await;
    assert!(!own["children"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_api_answers_in_json_csv_arrow_and_geojson() {
    let (app, _) = app(false);
    let whole = json(get(&app, "/api/heatmap?res=7", Some(ADMIN)).await).await;
    let n = whole["cells"].as_array().unwrap().len();
    let csv = String::from_utf8(bytes(get(&app, "/api/heatmap?res=7&format=csv", Some(ADMIN)).await).await).unwrap();
    assert!(csv.starts_with("h3,count,"), "{}", &csv[..80]);
    assert_eq!(csv.lines().count(), n + 1);
    let request = Request::get("/api/heatmap?res=7")
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
        .header(header::ACCEPT, "application/vnd.apache.arrow.stream")
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/vnd.apache.arrow.stream"
    );
    let reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes(response).await), None).unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, n);
    let geo = json(get(&app, "/api/heatmap?res=7&format=geojson", Some(ADMIN)).await).await;
    assert_eq!(geo["type"], "FeatureCollection");
    assert_eq!(geo["features"].as_array().unwrap().len(), n);
    assert_eq!(
        get(&app, "/api/alerts?format=geojson", Some(ADMIN)).await.status(),
        StatusCode::BAD_REQUEST
    );

    // Every analysis route answers with its figures.
    let kpis = json(get(&app, "/api/kpis", Some(ADMIN)).await).await;
    assert_eq!(kpis["summary"]["cases"], 30_000);
    assert_eq!(kpis["units"].as_array().unwrap().len(), 11);
    let trends = json(get(&app, "/api/trends?res=7&steps=12", Some(ADMIN)).await).await;
    assert_eq!(trends["periods"].as_array().unwrap().len(), 12);
    assert!(!json(get(&app, "/api/hotspots", Some(ADMIN)).await)
        .await
        .as_array()
        .unwrap()
        .is_empty());
    assert!(json(get(&app, "/api/recurring", Some(ADMIN)).await).await["problems"].is_array());
    assert!(json(get(&app, "/api/alerts", Some(ADMIN)).await).await.is_array());
    let city = json(get(&app, "/api/units/431000", Some(ADMIN)).await).await;
    assert_eq!(city["children"].as_array().unwrap().len(), 11);
    assert_eq!(
        get(&app, "/api/units/999999", Some(ADMIN)).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/api/trends?steps=100000", Some(ADMIN)).await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn ingest_by_api_while_tiles_are_read_and_clients_are_told() {
    let (app, state) = app(false);
    let t = centre_tile();
    let tile = format!("/tiles/hex/{}/{}/{}.mvt", t.z, t.x, t.y);
    let before = json(get(&app, "/api/kpis", Some(ADMIN)).await).await["summary"]["cases"]
        .as_u64()
        .unwrap();

    // Listen to the event stream.
    let events = get(&app, "/api/events", Some(ADMIN)).await;
    assert_eq!(events.status(), StatusCode::OK);
    let mut events = events.into_body();
    let hello = events.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(String::from_utf8_lossy(&hello).contains("event: hello"));

    // Read tiles continuously while a file is ingested.
    let reader = {
        let app = app.clone();
        let tile = tile.clone();
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            for _ in 0..40 {
                statuses.push(get(&app, &tile, Some(ADMIN)).await.status());
                tokio::task::yield_now().await;
            }
            statuses
        })
    };
    let file = data().1.clone();
    let response = call(&app, "POST", "/api/ingest?name=more.csv", Some(ADMIN), Body::from(file)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let report = json(response).await;
    assert_eq!(report["version"], 2);
    let inserted = report["report"]["inserted"].as_u64().unwrap();
    assert!(inserted > 4_000, "{report}");
    let statuses = reader.await.unwrap();
    assert!(statuses.iter().all(|s| *s == StatusCode::OK), "{statuses:?}");

    // The change is announced and visible.
    let data = events.frame().await.unwrap().unwrap().into_data().unwrap();
    let text = String::from_utf8_lossy(&data);
    assert!(text.contains("event: data") && text.contains("\"version\":2"), "{text}");
    assert_eq!(state.version(), 2);
    let after = json(get(&app, "/api/kpis", Some(ADMIN)).await).await["summary"]["cases"]
        .as_u64()
        .unwrap();
    assert_eq!(after, before + inserted);
    let doc = json(get(&app, "/tiles/hex.json", Some(ADMIN)).await).await;
    assert!(doc["tiles"][0].as_str().unwrap().contains("v=2"));

    // A bad file is refused with its name and line, and changes nothing.
    let bad = call(
        &app,
        "POST",
        "/api/ingest?name=bad.csv",
        Some(ADMIN),
        Body::from("nothing,useful\n1,2\n"),
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(json(bad).await["error"]
        .as_str()
        .unwrap()
        .contains("missing required column"));
    assert_eq!(state.version(), 2);
    let empty = call(&app, "POST", "/api/ingest?name=x.csv", Some(ADMIN), Body::empty()).await;
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
}

#[test]
fn server_errors_never_reach_the_client() {
    use axum::response::IntoResponse;
    let response = fengqiao_tiles::error::ApiError::Internal("secret detail: /var/lib/db".into()).into_response();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = tokio::runtime::Runtime::new().unwrap().block_on(bytes(response));
    assert_eq!(String::from_utf8(body).unwrap(), r#"{"error":"internal error"}"#);
}

#[tokio::test]
async fn the_explorer_api_profile_vocabulary_and_views() {
    let (app, _) = app(true);
    let period = "from=2026-10-01&to=2026-10-31";

    // A unit's profile has the unit's KPIs.
    let uri = format!("/api/profile?unit={COUNTY_CODE}&{period}&limit=100");
    assert_eq!(get(&app, &uri, Some(WALL)).await.status(), StatusCode::FORBIDDEN);
    let unit = json(get(&app, &uri, Some(ANALYST)).await).await;
    let kpis = json(get(&app, &format!("/api/kpis?unit={COUNTY_CODE}&{period}"), Some(ANALYST)).await).await;
    assert_eq!(unit["summary"], kpis["summary"]);
    let weekly: Vec<u64> = serde_json::from_value(unit["weekly"].clone()).unwrap();
    assert_eq!(weekly.len(), 12);
    assert_eq!(
        unit["weeks"][11], "2026-10-25/2026-10-31",
        "weeks end on the filter's last day"
    );
    let villages = unit["villages"].as_array().unwrap();
    assert!(!villages.is_empty() && villages.len() <= 100);
    assert!(villages
        .iter()
        .all(|v| v["code"].as_str().unwrap().starts_with(COUNTY_CODE)));
    assert!(villages
        .windows(2)
        .all(|w| w[0]["cases"].as_u64() >= w[1]["cases"].as_u64()));
    for list in ["recurring", "alerts"] {
        assert!(unit[list]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["unit_code"].as_str().unwrap().starts_with(COUNTY_CODE)));
    }

    // A cell's profile counts what the heat map counts in it, at any resolution.
    // Its recurring problems are the API's for the same measure (risk lists only significant ones).
    for (res, measure) in [(7, "count"), (8, "count"), (8, "excess")] {
        let heat = json(get(&app, &format!("/api/heatmap?res={res}&{period}"), Some(ANALYST)).await).await;
        let busiest = heat["cells"]
            .as_array()
            .unwrap()
            .iter()
            .max_by_key(|c| c["count"].as_u64())
            .unwrap()
            .clone();
        let h3 = busiest["h3"].as_str().unwrap();
        let cell = json(
            get(
                &app,
                &format!("/api/profile?cell={h3}&{period}&limit=100&measure={measure}"),
                Some(ANALYST),
            )
            .await,
        )
        .await;
        assert_eq!(cell["summary"]["cases"], busiest["count"], "res {res} cell {h3}");
        let in_villages: u64 = cell["villages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["cases"].as_u64().unwrap())
            .sum();
        assert_eq!(Some(in_villages), busiest["count"].as_u64());
        // Its problems are those of the villages its cases come from, with the API's figures.
        let involved: Vec<&str> = cell["villages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["code"].as_str().unwrap())
            .collect();
        let recurring = json(
            get(
                &app,
                &format!("/api/recurring?to=2026-10-31&measure={measure}"),
                Some(ANALYST),
            )
            .await,
        )
        .await;
        let alerts = json(get(&app, "/api/alerts?as_of=2026-10-31&limit=0", Some(ANALYST)).await).await;
        for (list, all) in [("recurring", &recurring["problems"]), ("alerts", &alerts)] {
            let expected: Vec<serde_json::Value> = all
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| involved.contains(&p["unit_code"].as_str().unwrap()))
                .take(100)
                .map(without_rank)
                .collect();
            let shown: Vec<serde_json::Value> = cell[list].as_array().unwrap().iter().map(without_rank).collect();
            assert!(
                !expected.is_empty() || list == "alerts" || measure != "count",
                "{list} of {h3}"
            );
            assert_eq!(shown, expected, "res {res} {h3}: {list}");
        }
    }
    for bad in ["cell=nothing", "cell=8f2830828052d25", "weeks=1"] {
        let response = get(&app, &format!("/api/profile?{bad}"), Some(ANALYST)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }

    // The names of the coded values.
    let vocabulary = json(get(&app, "/api/vocabulary", None).await).await;
    assert_eq!(vocabulary["category"].as_array().unwrap().len(), 18);
    assert_eq!(vocabulary["class"].as_array().unwrap().len(), 5);
    assert_eq!(vocabulary["pattern"].as_array().unwrap().len(), 17);
    let labour = vocabulary["category"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "labour")
        .unwrap();
    assert_eq!(
        (labour["zh"].as_str(), labour["en"].as_str()),
        (Some("劳动争议"), Some("Labour"))
    );
    assert_eq!(vocabulary["level"][3]["code"], "red");
    assert!(vocabulary["level"][3]["responder_zh"].as_str().unwrap().contains("县"));

    // The explorer's export: cells with cases whose centre is in the view.
    let bbox = [112.9, 25.7, 113.1, 25.85];
    let text = bbox.map(|x| x.to_string()).join(",");
    let view = json(
        get(
            &app,
            &format!("/api/heatmap?res=8&{period}&bbox={text}&nonzero=true"),
            Some(ANALYST),
        )
        .await,
    )
    .await;
    let all = json(get(&app, &format!("/api/heatmap?res=8&{period}"), Some(ANALYST)).await).await;
    let cells = view["cells"].as_array().unwrap();
    assert!(!cells.is_empty() && cells.len() < all["cells"].as_array().unwrap().len());
    for c in cells {
        assert!(c["count"].as_u64().unwrap() > 0);
        let centre = h3o::LatLng::from(c["h3"].as_str().unwrap().parse::<h3o::CellIndex>().unwrap());
        assert!((bbox[0]..=bbox[2]).contains(&centre.lng()) && (bbox[1]..=bbox[3]).contains(&centre.lat()));
    }
    let expected = all["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["count"].as_u64() > Some(0))
        .filter(|c| {
            let centre = h3o::LatLng::from(c["h3"].as_str().unwrap().parse::<h3o::CellIndex>().unwrap());
            (bbox[0]..=bbox[2]).contains(&centre.lng()) && (bbox[1]..=bbox[3]).contains(&centre.lat())
        })
        .count();
    assert_eq!(cells.len(), expected);
    let bad = get(&app, "/api/heatmap?bbox=1,2,3", Some(ANALYST)).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    // `res=` fixes the tiles' resolution whatever the zoom.
    let t = centre_tile();
    let response = get(
        &app,
        &format!("/tiles/hex/{}/{}/{}.mvt?res=7", t.z, t.x, t.y),
        Some(WALL),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let layers = decode(&gunzip(&bytes(response).await)).unwrap();
    for feature in &layers[0].features {
        let h3 = text_property(feature, "h3").unwrap();
        assert_eq!(u8::from(h3.parse::<h3o::CellIndex>().unwrap().resolution()), 7);
    }
    let tilejson = json(get(&app, "/tiles/hex.json?res=7&category=labour", Some(WALL)).await).await;
    assert!(tilejson["tiles"][0]
        .as_str()
        .unwrap()
        .ends_with("&res=7&category=labour"));

    // The drill-down knows where a unit is; the version names the region.
    let county = json(get(&app, &format!("/api/units/{COUNTY_CODE}"), Some(WALL)).await).await;
    let b: Vec<f64> = serde_json::from_value(county["bbox"].clone()).unwrap();
    let (lng, lat) = (county["lng"].as_f64().unwrap(), county["lat"].as_f64().unwrap());
    assert!(b[0] < lng && lng < b[2] && b[1] < lat && lat < b[3]);
    let version = json(get(&app, "/api/version", Some(WALL)).await).await;
    assert_eq!(version["region"]["code"], "431000");
}

/// An item without its `rank` (a rank is relative to the list it is in).
fn without_rank(item: &serde_json::Value) -> serde_json::Value {
    let mut item = item.clone();
    item.as_object_mut().unwrap().remove("rank");
    item
}

/// A feature's text property `key`, if it has one.
fn text_property(feature: &DecodedFeature, key: &str) -> Option<String> {
    feature.properties.iter().find_map(|(k, v)| match v {
        MvtValue::String(s) if k == key => Some(s.clone()),
        _ => None,
    })
}

/// Risk is what levels, clusters and tiles measure unless `measure=count` asks for the workload; the
/// wall can switch too, and sees no figure made from a hidden count.
#[tokio::test]
async fn risk_is_the_default_measure_and_workload_is_one_parameter_away() {
    let (app, _) = app(true);
    let month = "from=2026-10-01&to=2026-10-31";
    let risk = json(get(&app, &format!("/api/heatmap?{month}"), Some(ANALYST)).await).await;
    let volume = json(get(&app, &format!("/api/heatmap?{month}&measure=count"), Some(ANALYST)).await).await;
    assert_eq!(risk["measure"], "excess");
    assert_eq!(volume["measure"], "count");
    assert!(risk["risk"]["residents"].as_f64().unwrap() > 1e6, "{}", risk["risk"]);
    assert!(volume["risk"].is_null());
    let cells = |map: &serde_json::Value| map["cells"].as_array().unwrap().clone();
    let (risk_cells, volume_cells) = (cells(&risk), cells(&volume));
    assert_eq!(risk_cells.len(), volume_cells.len(), "the same study area");
    let leveled = |cells: &[serde_json::Value]| cells.iter().filter(|c| !c["level"].is_null()).count();
    assert!(leveled(&risk_cells) > 0 && leveled(&volume_cells) > 0);
    let volume_counts: std::collections::HashMap<&str, &serde_json::Value> = volume_cells
        .iter()
        .map(|v| (v["h3"].as_str().unwrap(), &v["count"]))
        .collect();
    for c in &risk_cells {
        assert_eq!(&c["count"], volume_counts[c["h3"].as_str().unwrap()]);
        if !c["level"].is_null() {
            // Sparse-data safety and the meaning of a level: cases of its own, more than expected.
            assert!(c["count"].as_u64().unwrap() >= 3, "{c}");
            assert!(c["no_residents"] == true || c["ratio"].as_f64().unwrap() > 1.0, "{c}");
        }
        if c["no_residents"] == false {
            assert!(c["expected"].as_f64().unwrap() > 0.0, "{c}");
        }
    }
    assert!(volume_cells.iter().all(|c| c["expected"].is_null()));
    // Clusters say what they measure.
    let clusters = json(get(&app, &format!("/api/hotspots?{month}"), Some(ANALYST)).await).await;
    for c in clusters.as_array().unwrap() {
        assert!(c["reason"].as_str().unwrap().contains("预期"), "{c}");
        assert!(c["ratio"].as_f64().unwrap() > 1.0, "{c}");
    }
    let counted = json(get(&app, &format!("/api/hotspots?{month}&measure=count"), Some(ANALYST)).await).await;
    assert!(counted
        .as_array()
        .unwrap()
        .iter()
        .all(|c| !c["reason"].as_str().unwrap().contains("预期")));
    // Tiles: the analyst's hexagons carry expected cases under risk, none under workload.
    let tile = centre_tile();
    let properties = |bytes: Vec<u8>| -> Vec<String> {
        let layers = decode(&gunzip(&bytes)).unwrap();
        let mut keys: Vec<String> = layers[0]
            .features
            .iter()
            .flat_map(|f| f.properties.iter().map(|(k, _)| k.clone()))
            .collect();
        keys.sort();
        keys.dedup();
        keys
    };
    let path = format!("/tiles/hex/{}/{}/{}.mvt?{month}", tile.z, tile.x, tile.y);
    let with_risk = properties(bytes(get(&app, &path, Some(ANALYST)).await).await);
    let with_count = properties(bytes(get(&app, &format!("{path}&measure=count"), Some(ANALYST)).await).await);
    assert!(with_risk.contains(&"expected".to_string()), "{with_risk:?}");
    assert!(!with_count.contains(&"expected".to_string()), "{with_count:?}");
    let doc = json(get(&app, "/tiles/hex.json?measure=count", Some(ANALYST)).await).await;
    assert!(doc["tiles"][0].as_str().unwrap().contains("measure=count"), "{doc}");
    // The wall switches too; a ratio only beside a shown count, no other derived figure.
    for measure in ["count", "excess"] {
        let wall = json(get(&app, &format!("/api/heatmap?measure={measure}"), Some(WALL)).await).await;
        assert_eq!(wall["measure"], measure);
        for c in wall["cells"].as_array().unwrap() {
            assert!(c.get("expected").is_none() && c.get("excess_p").is_none() && c.get("value").is_none());
            if c["count"].is_null() {
                assert!(c["ratio"].is_null(), "{c}");
            }
        }
    }
    let bad = get(&app, "/api/heatmap?measure=density", Some(ANALYST)).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(String::from_utf8(bytes(bad).await).unwrap().contains("measure"));
}
