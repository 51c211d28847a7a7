//! The attacks of issue 16, performed against the router in-process, each now failing to get the
//! hidden figure, the work or the access: display suppression undone by other routes, by
//! resolution, by subtracting a parent, a sibling filter or a time window; unbounded work; auth that
//! fails open; PIPL (positions, retention, the audit log); a cancelled ingest or query.

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use fengqiao_tiles::display::{Projection, Window};
use fengqiao_tiles::server::ROUTES;
use serde_json::Value;
use support::*;
use tower::ServiceExt;

/// Every count of a display response's list at `key` (null where hidden).
fn counts(rows: &Value, key: &str) -> Vec<Option<u64>> {
    rows.as_array().unwrap().iter().map(|r| r[key].as_u64()).collect()
}

#[tokio::test]
async fn a_display_token_gets_no_small_figure_from_any_route() {
    let (app, _) = app();
    let last = last_day(&app).await;
    let week = format!("from={}&to={last}", day(last, -6));
    let month = format!("from={}&to={last}", day(last, -27));
    // The routes the review found figures of 1 or 2 on, asked as an attacker would.
    let asks = [
        format!("/api/kpis?level=village&{week}"),
        format!("/api/kpis?level=township&{month}"),
        format!("/api/kpis?from={last}&to={last}"),
        format!("/api/kpis?unit=431002001&from={last}&to={last}"),
        format!("/api/heatmap?res=8&{week}"),
        format!("/api/heatmap?res=10&{week}"),
        format!("/api/heatmap?res=8&{week}&format=geojson"),
        format!("/api/hotspots?res=8&{week}"),
        format!("/api/alerts?as_of={last}&min_cases=1&limit=0"),
        format!("/api/alerts?as_of={last}&min_cases=1&level=township"),
        format!("/api/trends?res=8&steps=12&to={last}"),
        format!("/api/trends?level=village&steps=12&to={last}"),
        format!("/api/recurring?to={last}"),
        format!("/api/units/431002?{week}"),
        format!("/api/units/431000?from={last}&to={last}"),
    ];
    for uri in &asks {
        let body = ok(&app, uri, WALL).await;
        if let Err(e) = check_display(&body) {
            panic!("{uri}: {e}");
        }
    }
    // What the review read: per-unit categories and rates of hidden counts, the summary's channels,
    // alerts' raw baselines, daily trend counts, Gi* z, and res 10.
    let villages = ok(&app, &format!("/api/kpis?level=village&{week}"), WALL).await;
    for unit in villages["units"].as_array().unwrap() {
        assert!(
            unit.get("by_category").is_none() && unit.get("open").is_none(),
            "{unit}"
        );
        if unit["count"].is_null() {
            assert!(unit["rate_per_10k"].is_null(), "{unit}");
        }
    }
    assert!(villages["units"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["count"].is_null()));
    assert!(villages["summary"].get("by_channel").is_none() && villages["summary"].get("by_county").is_none());
    let alerts = ok(&app, &format!("/api/alerts?as_of={last}&min_cases=1&limit=0"), WALL).await;
    for a in alerts.as_array().unwrap() {
        assert!(
            a.get("baseline").is_none() && a.get("p").is_none() && a.get("threshold").is_none(),
            "{a}"
        );
        assert!(a["observed"].is_null() || a["observed"].as_u64().unwrap() >= K, "{a}");
    }
    let daily = get(&app, &format!("/api/trends?step=day&steps=30&to={last}"), Some(WALL)).await;
    assert_eq!(daily.status(), StatusCode::FORBIDDEN);
    let fine = ok(&app, &format!("/api/heatmap?res=10&{week}"), WALL).await;
    assert_eq!(fine["res"], 8, "a display token gets res 8 at most");
    for cell in fine["cells"].as_array().unwrap() {
        assert!(cell.get("gi_z").is_none() && cell.get("score").is_none() && cell.get("confidence").is_none());
        let h3: h3o::CellIndex = cell["h3"].as_str().unwrap().parse().unwrap();
        assert_eq!(u8::from(h3.resolution()), 8);
    }
    // The same on tiles: hexagons carry h3, count (shown ones) and level only.
    let t = fengqiao_tiles::TileId::containing(11, 113.015, 25.77).unwrap();
    let tile = get(
        &app,
        &format!("/tiles/hex/11/{}/{}.mvt?{week}&res=10", t.x, t.y),
        Some(WALL),
    )
    .await;
    assert_eq!(tile.status(), StatusCode::OK);
    let layers = fengqiao_tiles::mvt::decode(&gunzip(&bytes(tile).await)).unwrap();
    for f in &layers[0].features {
        for (key, value) in &f.properties {
            assert!(["h3", "count", "level"].contains(&key.as_str()), "{key}");
            if let fengqiao_tiles::mvt::Value::Int(n) = value {
                assert!(*n == 0 || *n as u64 >= K, "{key} = {n}");
            }
        }
    }
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

#[tokio::test]
async fn subtracting_a_parent_a_sibling_filter_or_a_time_window_gives_no_hidden_figure_away() {
    let (app, state) = app();
    let last = last_day(&app).await;
    let period = |weeks: i64, back: i64| {
        format!(
            "from={}&to={}",
            day(last, -7 * (weeks + back) + 1),
            day(last, -7 * back)
        )
    };

    // Parent − shown children, for cells (res 7 → res 8) and units (region → counties → townships).
    let res7 = ok(&app, &format!("/api/heatmap?res=7&{}", period(1, 0)), WALL).await;
    let res8 = ok(&app, &format!("/api/heatmap?res=8&{}", period(1, 0)), WALL).await;
    let mut children: std::collections::HashMap<String, Vec<Option<u64>>> = Default::default();
    for c in res8["cells"].as_array().unwrap() {
        let cell: h3o::CellIndex = c["h3"].as_str().unwrap().parse().unwrap();
        let parent = cell.parent(h3o::Resolution::Seven).unwrap().to_string();
        children.entry(parent).or_default().push(c["count"].as_u64());
    }
    let mut checked = 0;
    for p in res7["cells"].as_array().unwrap() {
        let Some(total) = p["count"].as_u64() else { continue };
        let kids = children.get(p["h3"].as_str().unwrap()).cloned().unwrap_or_default();
        let shown: u64 = kids.iter().flatten().sum();
        let hidden = kids.iter().filter(|c| c.is_none()).count();
        let rest = total - shown;
        assert!(
            rest == 0 || (hidden >= 2 && rest >= K),
            "res-7 {}: {total} − {shown} = {rest} over {hidden} hidden",
            p["h3"]
        );
        checked += usize::from(hidden > 0);
    }
    assert!(checked > 10, "{checked} parents with hidden children checked");
    let city = ok(&app, &format!("/api/units/431000?{}", period(1, 0)), WALL).await;
    let kpis = ok(&app, &format!("/api/kpis?{}", period(1, 0)), WALL).await;
    let total = kpis["summary"]["cases"].as_u64().unwrap();
    let counties = counts(&city["children"], "count");
    let rest = total - counties.iter().flatten().sum::<u64>();
    assert!(rest == 0 || (counties.iter().filter(|c| c.is_none()).count() >= 2 && rest >= K));
    for county in city["children"].as_array().unwrap() {
        let code = county["code"].as_str().unwrap();
        let Some(total) = county["count"].as_u64() else {
            continue;
        };
        let towns = ok(&app, &format!("/api/units/{code}?{}", period(1, 0)), WALL).await;
        let towns = counts(&towns["children"], "count");
        let rest = total - towns.iter().flatten().sum::<u64>();
        let hidden = towns.iter().filter(|c| c.is_none()).count();
        assert!(rest == 0 || (hidden >= 2 && rest >= K), "{code}: {rest} over {hidden}");
    }
    // The summary's breakdowns: all − shown classes (the last day's too).
    for p in [period(1, 0), format!("from={last}&to={last}")] {
        let s = ok(&app, &format!("/api/kpis?{p}"), WALL).await["summary"].clone();
        let Some(all) = s["cases"].as_u64() else { continue };
        for key in ["by_class", "by_category"] {
            let parts: Vec<Option<u64>> = s[key].as_array().unwrap().iter().map(|x| x[1].as_u64()).collect();
            let rest = all - parts.iter().flatten().sum::<u64>();
            let hidden = parts.iter().filter(|c| c.is_none()).count();
            assert!(
                rest == 0 || (hidden >= 2 && rest >= K),
                "{p} {key}: {rest} over {hidden}"
            );
        }
    }

    // A time window: two overlapping periods both shown differ by a shown figure (0 or ≥ k), for
    // every cell and unit; the last day and its week differ by 0 or ≥ k.
    for (a, b) in [
        (period(4, 0), period(3, 0)),
        (period(3, 1), period(2, 1)),
        (period(2, 0), period(1, 1)),
    ] {
        let wide = ok(&app, &format!("/api/heatmap?res=8&{a}"), WALL).await;
        let narrow = ok(&app, &format!("/api/heatmap?res=8&{b}"), WALL).await;
        let narrow: std::collections::HashMap<&str, Option<u64>> = narrow["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["h3"].as_str().unwrap(), c["count"].as_u64()))
            .collect();
        let mut pairs = 0;
        for c in wide["cells"].as_array().unwrap() {
            if let (Some(w), Some(Some(n))) = (c["count"].as_u64(), narrow.get(c["h3"].as_str().unwrap())) {
                let d = w - n;
                assert!(d == 0 || d >= K, "{}: {a} − {b} = {d}", c["h3"]);
                pairs += 1;
            }
        }
        assert!(pairs > 100, "{pairs}");
    }
    for level in ["county", "village"] {
        let wide = ok(&app, &format!("/api/kpis?level={level}&{}", period(2, 0)), WALL).await;
        let narrow = ok(&app, &format!("/api/kpis?level={level}&{}", period(1, 0)), WALL).await;
        for (w, n) in counts(&wide["units"], "count")
            .iter()
            .zip(counts(&narrow["units"], "count"))
        {
            if let (Some(w), Some(n)) = (w, n) {
                assert!(w - n == 0 || w - n >= K, "{level}: {w} − {n}");
            }
        }
    }
    let today = ok(&app, &format!("/api/kpis?from={last}&to={last}&level=county"), WALL).await;
    let week = ok(&app, &format!("/api/kpis?{}&level=county", period(1, 0)), WALL).await;
    for (w, t) in counts(&week["units"], "count")
        .iter()
        .zip(counts(&today["units"], "count"))
    {
        if let (Some(w), Some(t)) = (w, t) {
            assert!(w - t == 0 || w - t >= K, "{w} − {t}");
        }
    }

    // A sibling filter, a finer period or a time of day: refused, not answered.
    for (uri, status) in [
        (
            format!("/api/heatmap?res=8&{}&category=labour", period(1, 0)),
            StatusCode::FORBIDDEN,
        ),
        (
            format!("/api/kpis?{}&severity=simple", period(1, 0)),
            StatusCode::FORBIDDEN,
        ),
        (
            format!("/api/heatmap?from={}&to={last}", day(last, -5)),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/heatmap?from={}T08:00:00&to={last}", day(last, -6)),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/kpis?from={}&to={}", day(last, -1), day(last, -1)),
            StatusCode::BAD_REQUEST,
        ),
        (format!("/api/alerts?as_of={}", day(last, -2)), StatusCode::BAD_REQUEST),
        (format!("/api/kpis?level=grid&{}", period(1, 0)), StatusCode::FORBIDDEN),
    ] {
        assert_eq!(get(&app, &uri, Some(WALL)).await.status(), status, "{uri}");
    }

    // The projection's own audit of every sum it knows.
    let projection = fengqiao_tiles::display::projection(&state).await.unwrap();
    projection.audit(&state.region).unwrap();
    assert!(projection.complementary > 0, "complementary suppression had work to do");
}

#[tokio::test]
async fn the_projection_agrees_with_the_analysts_figures_where_it_shows_them() {
    let (app, state) = app();
    let last = last_day(&app).await;
    let p = fengqiao_tiles::display::projection(&state).await.unwrap();
    let week = format!("from={}&to={last}", day(last, -6));
    let full = ok(&app, &format!("/api/kpis?level=county&{week}"), ANALYST).await;
    let shown = ok(&app, &format!("/api/kpis?level=county&{week}"), WALL).await;
    for (f, s) in full["units"]
        .as_array()
        .unwrap()
        .iter()
        .zip(shown["units"].as_array().unwrap())
    {
        assert_eq!(f["code"], s["code"]);
        if let Some(n) = s["count"].as_u64() {
            assert_eq!(Some(n), f["count"].as_u64(), "{}", s["code"]);
        }
    }
    assert_eq!(full["summary"]["cases"], shown["summary"]["cases"]);
    assert_eq!(full["summary"]["closure_rate"], shown["summary"]["closure_rate"]);
    let analyst = ok(&app, &format!("/api/heatmap?res=7&{week}"), ANALYST).await;
    let display = ok(&app, &format!("/api/heatmap?res=7&{week}"), WALL).await;
    let by_cell: std::collections::HashMap<&str, &Value> = analyst["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["h3"].as_str().unwrap(), &c["count"]))
        .collect();
    let mut same = 0;
    for c in display["cells"].as_array().unwrap() {
        if let Some(n) = c["count"].as_u64() {
            assert_eq!(by_cell[c["h3"].as_str().unwrap()].as_u64(), Some(n));
            same += 1;
        }
    }
    assert!(same > 100);
    let w = Window::Blocks { newest: 0, oldest: 0 };
    assert_eq!(
        p.count(&state.region, fengqiao_tiles::display::Area::Unit(0), 0, w),
        full["summary"]["cases"].as_u64()
    );
    let _: &Projection = &p;
}

#[tokio::test]
async fn no_request_does_unbounded_work() {
    let limits = "[limits]\nworkers = 1\nqueue = 0\nstreams = 1\ntile_cache_bytes = 200000\n";
    let (app, state) = app_with(store(), config(limits));
    for uri in [
        "/api/trends?res=9&step=day&steps=260&k=5",
        "/api/heatmap?res=10",
        "/tiles/hex/12/3333/1744.mvt?trends=true&res=10",
    ] {
        let response = get(&app, uri, Some(ANALYST)).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{uri}");
        assert!(
            json(response).await["error"].as_str().unwrap().contains("limit of"),
            "{uri}"
        );
    }
    // A heat map covers the region's study area whatever the filter: a unit does not make res 10 small.
    let village = state
        .region
        .units
        .iter()
        .find(|u| u.level == fengqiao_ingest::model::AdminLevel::Village)
        .unwrap();
    assert_eq!(
        get(
            &app,
            &format!("/api/heatmap?res=10&unit={}", village.code),
            Some(ANALYST)
        )
        .await
        .status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // The worker busy and no queue: the next heavy request is told to come back.
    let busy = state.pool.admit().await.unwrap();
    let response = get(&app, "/api/kpis?category=labour", Some(ANALYST)).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    drop(busy);
    assert_eq!(
        get(&app, "/api/kpis?category=labour", Some(ANALYST)).await.status(),
        StatusCode::OK
    );
    // A cancelled query stops: without the interrupt this would hold the one worker for minutes.
    let s = std::sync::Arc::clone(&state);
    let long = s.read(|conn, _| {
        conn.query_row("SELECT count(*) FROM range(100000000000) a", [], |r| r.get::<_, i64>(0))
            .map_err(|e| fengqiao_tiles::error::ApiError::Internal(e.to_string()))
    });
    assert!(tokio::time::timeout(Duration::from_millis(300), long).await.is_err());
    let started = std::time::Instant::now();
    while state.pool.free() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the cancelled query still runs"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Tile cache keys are canonical (no v=, token or order) and the cache stays in its budget.
    let t = fengqiao_tiles::TileId::containing(10, 113.015, 25.77).unwrap();
    let tile = |q: &str| format!("/tiles/hex/10/{}/{}.mvt?{q}", t.x, t.y);
    let gauge = |text: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with("fengqiao_cache_bytes{cache=\"tiles\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .unwrap()
            .parse()
            .unwrap()
    };
    get(&app, &tile("category=labour,neighbour"), Some(ANALYST)).await;
    let metrics =
        |app| async move { String::from_utf8(bytes(get(app, "/metrics", Some(MONITOR)).await).await).unwrap() };
    let once = gauge(&metrics(&app).await);
    for q in [
        "category=neighbour,labour&v=1",
        "v=99&category=labour&category=neighbour",
        "category=labour,neighbour&v=7",
    ] {
        get(&app, &tile(q), Some(ANALYST)).await;
        get(&app, &format!("{}&access_token={ANALYST}", tile(q)), None).await;
    }
    assert_eq!(gauge(&metrics(&app).await), once, "the same tile, one entry");
    for y in 0..40 {
        get(
            &app,
            &format!("/tiles/hex/10/{}/{}.mvt", t.x, t.y + y - 20),
            Some(ANALYST),
        )
        .await;
    }
    assert!(gauge(&metrics(&app).await) <= 200_000);
    // One event stream allowed: the second is refused.
    let first = get(&app, "/api/events", Some(WALL)).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(
        get(&app, "/api/events", Some(WALL)).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    drop(first);
    // At shutdown the open streams end.
    let stream = get(&app, "/api/events", Some(WALL)).await;
    let mut body = stream.into_body();
    use http_body_util::BodyExt;
    let hello = body.frame().await.unwrap().unwrap();
    assert!(hello.is_data());
    state.shutdown.cancel();
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(frame) = body.frame().await {
            frame.unwrap();
        }
    })
    .await;
    assert!(end.is_ok(), "the stream ended at shutdown");
}

#[tokio::test]
async fn every_route_demands_its_role_and_fails_closed() {
    let (app, _) = app();
    let tokens = [
        (fengqiao_tiles::config::Role::Monitor, MONITOR),
        (fengqiao_tiles::config::Role::Display, WALL),
        (fengqiao_tiles::config::Role::Analyst, ANALYST),
        (fengqiao_tiles::config::Role::Admin, ADMIN),
    ];
    for route in ROUTES {
        let uri = route
            .path
            .replace("{z}/{x}/{y}", "12/3333/1744.mvt")
            .replace("{code}", COUNTY_CODE)
            .replace("{*path}", "common.js")
            .replace("{fontstack}/{range}", "x/0-255.pbf")
            .replace("{name}/{file}", "none/none.pdf");
        let method = route.method.to_uppercase();
        let status = |token: Option<&'static str>| {
            let (app, uri, method) = (app.clone(), uri.clone(), method.clone());
            async move { call(&app, &method, &uri, token, Body::empty()).await.status() }
        };
        match route.role() {
            None => assert!(!matches!(status(None).await.as_u16(), 401 | 403), "{method} {uri}"),
            Some(role) => {
                assert_eq!(
                    status(None).await,
                    StatusCode::UNAUTHORIZED,
                    "{method} {uri} without a token"
                );
                assert_eq!(status(Some("no-such-token-0123456789")).await, StatusCode::UNAUTHORIZED);
                for (r, token) in tokens {
                    let s = status(Some(token)).await;
                    if r < role {
                        assert_eq!(s, StatusCode::FORBIDDEN, "{method} {uri} as {}", r.code());
                    } else {
                        assert!(![401, 403].contains(&s.as_u16()), "{method} {uri} as {}: {s}", r.code());
                    }
                }
            }
        }
    }
    // Unknown paths are 404 before any token is looked at, encoded variants included.
    for uri in [
        "/tiles/hex%2Ejson",
        "/api/heatmap/",
        "/API/heatmap",
        "/api/nothing",
        "/tiles/hex.json/x",
    ] {
        assert_eq!(get(&app, uri, None).await.status(), StatusCode::NOT_FOUND, "{uri}");
    }
    // Tokens in URLs: for tiles only, percent-decoded.
    assert_eq!(
        get(&app, &format!("/api/heatmap?access_token={WALL}"), None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let encoded = WALL.replace('-', "%2D");
    let tile = format!("/tiles/admin/9/416/218.mvt?access_token={encoded}");
    assert!(get(&app, &tile, None).await.status().is_success());
}

#[tokio::test]
async fn host_and_origin_are_checked_and_a_cross_site_ingest_is_refused() {
    let (app, state) = app();
    state.set_allowed_hosts(vec!["127.0.0.1".into(), "localhost".into()]);
    let with = |host: &str, origin: Option<&str>, method: &str, uri: &str| {
        let mut r = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, host)
            .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"));
        if let Some(o) = origin {
            r = r.header(header::ORIGIN, o);
        }
        r.body(Body::from(cases_csv()[..2000].to_vec())).unwrap()
    };
    let before = state.version();
    let rebinding = app
        .clone()
        .oneshot(with("evil.example:8080", None, "GET", "/api/kpis"))
        .await
        .unwrap();
    assert_eq!(rebinding.status(), StatusCode::FORBIDDEN);
    let csrf = app
        .clone()
        .oneshot(with(
            "127.0.0.1:8080",
            Some("http://evil.example"),
            "POST",
            "/api/ingest?name=x.csv",
        ))
        .await
        .unwrap();
    assert_eq!(csrf.status(), StatusCode::FORBIDDEN);
    assert_eq!(state.version(), before, "nothing ingested");
    let same = app
        .clone()
        .oneshot(with(
            "localhost:8080",
            Some("http://localhost:8080"),
            "GET",
            "/api/kpis",
        ))
        .await
        .unwrap();
    assert_eq!(same.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_scoped_token_sees_no_chain_that_crosses_its_area() {
    let store = store();
    // Link a case of 北湖区 to one of 苏仙区 (431003): a chain across the county line.
    let pick = |county: &str| -> String {
        store
            .conn()
            .query_row(
                "SELECT case_id FROM cases WHERE county_code = ? ORDER BY reported_at DESC LIMIT 1",
                [county],
                |r| r.get(0),
            )
            .unwrap()
    };
    let (ours, theirs) = (pick(COUNTY_CODE), pick("431003"));
    store
        .conn()
        .execute("UPDATE cases SET repeat_of = ? WHERE case_id = ?", [&theirs, &ours])
        .unwrap();
    let (app, _) = app_with(store, config(""));
    let has = |chains: &Value, id: &str| {
        chains
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["case_ids"].as_array().unwrap().iter().any(|x| x == id))
    };
    let all = ok(&app, "/api/chains", ANALYST).await;
    assert!(
        has(&all, &theirs) && has(&all, &ours),
        "the analyst sees the crossing chain"
    );
    let county = ok(&app, "/api/chains", COUNTY).await;
    assert!(
        !has(&county, &theirs),
        "another county's case id reached a county token"
    );
    assert!(county.as_array().unwrap().len() < all.as_array().unwrap().len());
}

#[tokio::test]
async fn analysts_see_snapped_positions_and_admins_read_the_audit_log() {
    let (app, _) = app();
    let analyst = ok(&app, "/api/cases?per_page=50", ANALYST).await;
    let admin = ok(&app, "/api/cases?per_page=50", ADMIN).await;
    let mut moved = 0;
    for (a, b) in analyst["cases"]
        .as_array()
        .unwrap()
        .iter()
        .zip(admin["cases"].as_array().unwrap())
    {
        assert_eq!(a["case_id"], b["case_id"]);
        let cell: h3o::CellIndex = a["h3"].as_str().unwrap().parse().unwrap();
        let centre = h3o::LatLng::from(cell);
        assert!((a["lng"].as_f64().unwrap() - centre.lng()).abs() < 1e-6);
        assert!((a["lat"].as_f64().unwrap() - centre.lat()).abs() < 1e-6);
        moved += usize::from(a["lng"] != b["lng"]);
    }
    assert!(moved > 40, "admins see exact positions ({moved} of 50 differ)");
    assert_eq!(
        get(&app, "/api/audit", Some(ANALYST)).await.status(),
        StatusCode::FORBIDDEN
    );
    ok(&app, "/api/kpis?level=village", WALL).await;
    let started = std::time::Instant::now();
    loop {
        let log = ok(&app, "/api/audit?per_page=1000", ADMIN).await;
        let entries = log["entries"].as_array().unwrap();
        let find = |token: &str, route: &str| {
            entries
                .iter()
                .find(|e| e["token"] == token && e["route"] == route)
                .cloned()
        };
        if let (Some(cases), Some(kpis)) = (find("analyst", "/api/cases"), find("wall", "/api/kpis")) {
            assert_eq!(
                (cases["rows"].as_u64(), cases["status"].as_u64()),
                (Some(50), Some(200))
            );
            assert_eq!(cases["query"], "per_page=50");
            assert!(kpis["rows"].as_u64().unwrap() > 100, "{kpis}");
            assert!(
                entries.iter().all(|e| !e.to_string().contains(ANALYST)),
                "a token in the log"
            );
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "not logged: {log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn old_rejected_lines_lose_their_raw_text_at_start() {
    let store = store();
    store
        .conn()
        .execute(
            "INSERT INTO rejected (file, line, field, reason, message, raw, ingested_at) VALUES ('old.csv', 2, 'party_phone', 'bad', 'm', '张三,13800000000', TIMESTAMP '2020-01-01 00:00:00')",
            [],
        )
        .unwrap();
    let (_, state) = app_with(store, config("rejected_retention_days = 30\n"));
    let raw: Option<String> = state
        .read(|conn, _| {
            conn.query_row("SELECT raw FROM rejected WHERE file = 'old.csv'", [], |r| r.get(0))
                .map_err(|e| fengqiao_tiles::error::ApiError::Internal(e.to_string()))
        })
        .await
        .unwrap();
    assert_eq!(raw, None, "erased before the server answered anything");
}

#[tokio::test]
async fn a_cancelled_ingest_either_commits_and_moves_the_version_on_or_changes_nothing() {
    let (app, state) = app();
    let more = {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("more.csv");
        let opts = fengqiao_generator::GenerateOptions {
            months: 1,
            cases: Some(4_000),
            seed: 9,
            end: chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
            ..fengqiao_generator::GenerateOptions::default()
        };
        fengqiao_generator::generate(&state.region, &opts, &file).unwrap();
        std::fs::read(&file).unwrap()
    };
    let cases = |app| async move { ok(app, "/api/kpis", ADMIN).await["summary"]["cases"].as_u64().unwrap() };
    let before = (state.version(), cases(&app).await);
    // The client gives up once the upload is sent, while the ingest runs.
    let upload = call(&app, "POST", "/api/ingest?name=more.csv", Some(ADMIN), Body::from(more));
    let _ = tokio::time::timeout(Duration::from_millis(150), upload).await;
    // The ingest goes on without its client: committed with the version moved on, or nothing.
    let started = std::time::Instant::now();
    while state.version() == before.0 && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = (state.version(), cases(&app).await);
    if after.0 == before.0 {
        assert_eq!(after.1, before.1, "cases committed without a new version");
    } else {
        assert!(after.0 == before.0 + 1 && after.1 > before.1, "{before:?} → {after:?}");
    }
}

#[tokio::test]
async fn a_display_answer_made_without_the_projection_is_refused() {
    use fengqiao_tiles::access::{guard, Access, RouteGuard, TokenIn};
    use fengqiao_tiles::config::Role;
    let (_, state) = app_with(fengqiao_ingest::Store::open_in_memory().unwrap(), config(""));
    // A route someone added that answers figures straight from the store.
    let leaky = axum::Router::new().route(
        "/leaky",
        axum::routing::get(|| async { axum::Json(serde_json::json!({ "count": 1 })) }).route_layer(
            axum::middleware::from_fn_with_state(
                RouteGuard {
                    state,
                    access: Access::Role(Role::Display),
                    token_in: TokenIn::Header,
                    audit: false,
                    route: "/leaky",
                },
                guard,
            ),
        ),
    );
    assert_eq!(
        get(&leaky, "/leaky", Some(WALL)).await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(get(&leaky, "/leaky", Some(ANALYST)).await.status(), StatusCode::OK);
}
