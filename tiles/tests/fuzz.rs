//! Query parameters and uploads nobody sent on purpose.
//!
//! * A property test (proptest) over the routes, the roles and plausible-to-hostile parameters: no
//!   answer is a 5xx (a panic would be one: the router catches it as a 500), and every display
//!   answer passes the display invariant ([`support::check_display`]).
//! * A fuzz-style run of random query strings on every route and of malformed uploads: no 5xx, no
//!   panic. `FENGQIAO_FUZZ_QUERIES` and `FENGQIAO_FUZZ_UPLOADS` set the counts (CI: 3,000 and 200;
//!   `scripts/bench-fuzz.sh` runs 1,000,000 and 100,000), `FENGQIAO_FUZZ_CLIENTS` how many are in
//!   flight at once (2).

mod support;

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::Router;
use fengqiao_tiles::AppState;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use support::*;

/// One server for the whole binary, with its case columns loaded (as a running server has).
fn shared() -> &'static (Router, Arc<AppState>, tokio::runtime::Runtime) {
    static APP: OnceLock<(Router, Arc<AppState>, tokio::runtime::Runtime)> = OnceLock::new();
    APP.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (app, state) = app();
        state.refresh_columns();
        let started = std::time::Instant::now();
        while state.columns().is_none() && started.elapsed() < std::time::Duration::from_secs(60) {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        (app, state, runtime)
    })
}

const LAST: &str = "2026-10-31";

fn routes() -> Vec<&'static str> {
    vec![
        "/api/heatmap",
        "/api/hotspots",
        "/api/trends",
        "/api/recurring",
        "/api/alerts",
        "/api/kpis",
        "/api/units/431002",
        "/api/units/431000",
        "/api/chains",
        "/api/cases",
        "/api/profile",
        "/tiles/hex/11/1667/872.mvt",
        "/tiles/heat/9/416/218.png",
        "/tiles/hex.json",
        "/api/version",
    ]
}

fn tokens() -> Vec<&'static str> {
    vec![WALL, COUNTY_WALL, ANALYST, COUNTY, ADMIN]
}

fn value_for(key: &'static str) -> BoxedStrategy<String> {
    let dates = prop_oneof![
        Just(LAST.to_string()),
        Just("2026-10-25".to_string()),
        Just("2026-10-18".to_string()),
        Just("2026-10-04".to_string()),
        Just("2026-08-09".to_string()),
        Just("2026-10-30".to_string()),
        Just("2026-10-25T08:00:00".to_string()),
        Just("1899-12-31".to_string()),
        Just("+262142-12-31".to_string()),
        (-400i64..40).prop_map(|d| {
            (chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap() + chrono::Duration::days(d)).to_string()
        }),
    ];
    let junk = "\\PC{0,16}";
    let choice = |options: &'static [&'static str]| proptest::sample::select(options).prop_map(str::to_string);
    match key {
        "from" | "to" | "as_of" => prop_oneof![4 => dates, 1 => junk.prop_map(|s| s)].boxed(),
        "res" => prop_oneof![(0u8..14).prop_map(|r| r.to_string()), junk.prop_map(|s| s)].boxed(),
        "level" => choice(&["county", "township", "village", "grid", "city", "乡镇", "x"]).boxed(),
        "step" => choice(&["day", "week", "month", "周", "year"]).boxed(),
        "unit" => choice(&["431002", "431000", "431003", "431002001", "999", ""]).boxed(),
        "category" => choice(&["labour", "劳动争议", "neighbour,other", "fishing", ","]).boxed(),
        "class" | "channel" | "status" | "severity" => choice(&["dispute", "hotline", "open", "simple", "x"]).boxed(),
        "format" => choice(&["json", "csv", "arrow", "geojson", "xml"]).boxed(),
        "bbox" => choice(&["112.9,25.7,113.1,25.85", "1,2,3", "NaN,0,1,1", "113,26,112,25"]).boxed(),
        "cell" => choice(&["882830828dfffff", "8f2830828052d25", "nothing"]).boxed(),
        "trends" | "nonzero" => choice(&["true", "false", "1", "yes"]).boxed(),
        _ => prop_oneof![
            (0i64..400).prop_map(|n| n.to_string()),
            junk.prop_map(|s| s),
            Just("-1".to_string())
        ]
        .boxed(),
    }
}

fn param() -> impl Strategy<Value = (String, String)> {
    let keys: &'static [&'static str] = &[
        "from",
        "to",
        "category",
        "class",
        "channel",
        "status",
        "severity",
        "unit",
        "res",
        "bbox",
        "nonzero",
        "level",
        "step",
        "steps",
        "k",
        "time_window",
        "window",
        "min_active",
        "history",
        "as_of",
        "limit",
        "min_cases",
        "min_recurrence_years",
        "page",
        "per_page",
        "cell",
        "weeks",
        "link_days",
        "format",
        "trends",
        "v",
        "colour",
    ];
    proptest::sample::select(keys).prop_flat_map(|k| value_for(k).prop_map(move |v| (k.to_string(), v)))
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// One request's outcome checked: no 5xx; a display answer within the invariant.
fn check(token: &str, uri: &str, status: u16, content_type: &str, body: &[u8]) -> Result<(), String> {
    if status >= 500 {
        return Err(format!("{uri} as {token}: {status} {}", String::from_utf8_lossy(body)));
    }
    let display = token == WALL || token == COUNTY_WALL;
    // The answers that carry no case figure (the version, TileJSON) have no display shape.
    let path = uri.split('?').next().unwrap_or("");
    let figures = !matches!(
        path,
        "/api/version"
            | "/tiles/hex.json"
            | "/tiles/heat.json"
            | "/tiles/admin.json"
            | "/api/vocabulary"
            | "/api/openapi.json"
            | "/healthz"
    );
    if display && figures && status == 200 && content_type.contains("json") {
        let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("{uri}: {e}"))?;
        check_display(&value).map_err(|e| format!("{uri}: {e}"))?;
    }
    if display && status == 200 && path.starts_with("/tiles/hex/") {
        let raw = {
            use std::io::Read;
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .map_err(|e| e.to_string())?;
            out
        };
        for layer in fengqiao_tiles::mvt::decode(&raw).map_err(|e| e.to_string())? {
            for f in layer.features {
                for (key, value) in f.properties {
                    if !["h3", "count", "level"].contains(&key.as_str()) {
                        return Err(format!("{uri}: tile property {key}"));
                    }
                    if let fengqiao_tiles::mvt::Value::Int(n) = value {
                        if n != 0 && (n as u64) < K {
                            return Err(format!("{uri}: tile count {n}"));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

async fn ask(app: &Router, token: &str, uri: &str) -> Result<(), String> {
    checked(token, uri, get(app, uri, Some(token)).await).await.map(|_| ())
}

/// A response checked ([`check`]); its status.
async fn checked(token: &str, uri: &str, response: axum::http::Response<Body>) -> Result<u16, String> {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = bytes(response).await;
    check(token, uri, status, &content_type, &body).map(|()| status)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_parameters_make_a_5xx_or_a_display_figure_below_k(
        route in proptest::sample::select(routes()),
        token in proptest::sample::select(tokens()),
        params in proptest::collection::vec(param(), 0..6),
    ) {
        let (app, _, runtime) = shared();
        let query: Vec<String> = params.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        let uri = format!("{route}?{}", query.join("&"));
        let outcome = runtime.block_on(ask(app, token, &uri));
        prop_assert!(outcome.is_ok(), "{}", outcome.unwrap_err());
    }
}

fn count(var: &str, default: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// What a URI cannot carry as it is.
const UNSAFE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A random query string: known keys and junk, random values, stray separators and escapes.
fn random_query(rng: &mut impl Rng) -> String {
    const KEYS: &[&str] = &[
        "from",
        "to",
        "res",
        "unit",
        "level",
        "step",
        "steps",
        "k",
        "category",
        "as_of",
        "limit",
        "page",
        "per_page",
        "format",
        "bbox",
        "cell",
        "trends",
        "access_token",
        "v",
        "",
    ];
    const BITS: &[&str] = &[
        "2026-10-31",
        "2026-10-25",
        "13",
        "-1",
        "9999999999999999999999",
        "NaN",
        "劳动争议",
        "%",
        "%zz",
        "%00",
        "&&",
        "==",
        ",",
        "T25:61:61",
        "431002",
        "\u{202e}",
        "e+308",
        " ",
        "+",
        ";",
        "..",
        "/",
        "\\",
        "\"",
        "'",
        "<x>",
    ];
    let mut q = String::new();
    for _ in 0..rng.random_range(0..8) {
        let key = KEYS[rng.random_range(0..KEYS.len())];
        let mut value = String::new();
        for _ in 0..rng.random_range(0..4) {
            if rng.random_bool(0.5) {
                value.push_str(BITS[rng.random_range(0..BITS.len())]);
            } else {
                value.push(char::from_u32(rng.random_range(0x20..0x3000)).unwrap_or('x'));
            }
        }
        // Keep `%` escapes raw (some invalid on purpose), encode everything a URI cannot carry.
        let safe = |s: &str| percent_encoding::utf8_percent_encode(s, UNSAFE).to_string();
        q.push_str(&format!("{}={}&", safe(key), safe(&value)));
    }
    q
}

/// A malformed upload: random bytes, a case file cut short or with its fields scrambled, NDJSON
/// junk, or something named Parquet that is not.
fn random_upload(rng: &mut impl Rng) -> (String, Vec<u8>) {
    let csv = cases_csv();
    let header_end = csv.iter().position(|&b| b == b'\n').unwrap() + 1;
    match rng.random_range(0..5) {
        0 => (
            "junk.csv".into(),
            (0..rng.random_range(1..2000)).map(|_| rng.random()).collect(),
        ),
        1 => {
            let end = rng.random_range(header_end..header_end + 3000).min(csv.len());
            ("short.csv".into(), csv[..end].to_vec())
        }
        2 => {
            let mut body = csv[..header_end].to_vec();
            for _ in 0..rng.random_range(1..20) {
                let start = rng.random_range(header_end..csv.len() - 400);
                let mut line = csv[start..start + rng.random_range(1..400)].to_vec();
                for b in line.iter_mut() {
                    if rng.random_bool(0.05) {
                        *b = rng.random();
                    }
                }
                body.extend(line);
                body.push(b'\n');
            }
            ("scrambled.csv".into(), body)
        }
        3 => {
            let lines: Vec<String> = (0..rng.random_range(1..20))
                .map(|i| match i % 3 {
                    0 => format!("{{\"case_id\": {}, \"reported_at\": \"x\"}}", rng.random::<u32>()),
                    1 => "{\"a\":".to_string(),
                    _ => "[1,2,3]".to_string(),
                })
                .collect();
            ("junk.ndjson".into(), lines.join("\n").into_bytes())
        }
        _ => {
            let mut body = b"PAR1".to_vec();
            body.extend((0..rng.random_range(0..500)).map(|_| rng.random::<u8>()));
            body.extend(b"PAR1");
            ("junk.parquet".into(), body)
        }
    }
}

#[test]
fn random_queries_and_malformed_uploads_never_make_a_5xx() {
    let (app, state, runtime) = shared();
    let queries = count("FENGQIAO_FUZZ_QUERIES", 3_000);
    let uploads = count("FENGQIAO_FUZZ_UPLOADS", 200);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(count("FENGQIAO_FUZZ_SEED", 16) as u64);
    let paths: Vec<String> = fengqiao_tiles::server::ROUTES
        .iter()
        .filter(|r| r.method == "get" && r.path != "/api/events")
        .map(|r| {
            r.path
                .replace("{z}/{x}/{y}", "11/1667/872.mvt")
                .replace("{code}", "431002")
                .replace("{*path}", "common.js")
                .replace("{fontstack}/{range}", "x/0-255.pbf")
                .replace("{name}/{file}", "x/y.pdf")
        })
        .collect();
    let started = std::time::Instant::now();
    let mut statuses = std::collections::BTreeMap::new();
    let mut tally = |done: Option<Result<Result<u16, String>, tokio::task::JoinError>>| match done
        .expect("a request in flight")
        .expect("a request's task")
    {
        Ok(status) => *statuses.entry(status).or_insert(0u64) += 1,
        Err(e) => panic!("{e}"),
    };
    // `clients` requests in flight at once, as a hall of clients would send them; the requests
    // themselves are drawn in order from the seeded generator, so a run repeats.
    let clients = count("FENGQIAO_FUZZ_CLIENTS", 2).max(1);
    runtime.block_on(async {
        let mut in_flight = tokio::task::JoinSet::new();
        for i in 0..queries {
            let path = &paths[rng.random_range(0..paths.len())];
            let token = tokens()[rng.random_range(0..5)];
            let uri = format!("{path}?{}", random_query(&mut rng));
            let Ok(request) = axum::http::Request::get(&uri)
                .header(axum::http::header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
            else {
                continue; // not a URI at all: never reaches a server
            };
            if in_flight.len() >= clients {
                tally(in_flight.join_next().await);
            }
            if i > 0 && i % 100_000 == 0 {
                eprintln!("{i} queries in {:.0} s", started.elapsed().as_secs_f64());
            }
            let app = app.clone();
            in_flight.spawn(async move {
                use tower::ServiceExt;
                let response = app.oneshot(request).await.unwrap();
                checked(token, &uri, response)
                    .await
                    .map_err(|e| format!("query {i}: {e}"))
            });
        }
        for i in 0..uploads {
            let (name, body) = random_upload(&mut rng);
            if in_flight.len() >= clients {
                tally(in_flight.join_next().await);
            }
            let app = app.clone();
            in_flight.spawn(async move {
                let uri = format!("/api/ingest?name={name}");
                let response = call(&app, "POST", &uri, Some(ADMIN), Body::from(body)).await;
                let status = response.status().as_u16();
                if [200, 400, 413].contains(&status) {
                    Ok(status)
                } else {
                    let body = bytes(response).await;
                    Err(format!(
                        "upload {i} ({name}): {status} {}",
                        String::from_utf8_lossy(&body)
                    ))
                }
            });
        }
        while !in_flight.is_empty() {
            tally(in_flight.join_next().await);
        }
    });
    println!(
        "{queries} queries and {uploads} uploads, {clients} at a time, in {:.1} s; statuses {statuses:?}; data version {}",
        started.elapsed().as_secs_f64(),
        state.version()
    );
}
