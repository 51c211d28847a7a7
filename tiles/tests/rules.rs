//! A centre's own response rules (`[rules]` of its fengqiao.toml) reach everything the server
//! serves: the heat map's and the wall's cluster levels, the tiles' colours, the rule set's name.

mod support;

use std::collections::BTreeMap;

use fengqiao_analytics::response::Level;
use fengqiao_tiles::TileId;
use serde_json::Value;
use support::*;

/// Every hot cluster, risk or workload map, is the township's: levels unlike the shipped rules'.
const TOWNSHIP_RULES: &str = r#"
[rules]
name = "测试规则：一律乡镇"
category_share = 0.2

[[rules.rule]]
level = "yellow"
min_confidence = 1

[[rules.volume_rule]]
level = "yellow"
min_confidence = 1
"#;

/// The level of every cell in a cluster, by H3 index, from `/api/heatmap`.
async fn cluster_levels(app: &axum::Router, query: &str) -> BTreeMap<String, String> {
    let map = ok(app, &format!("/api/heatmap?{query}"), ANALYST).await;
    map["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| Some((c["h3"].as_str()?.to_string(), c["level"].as_str()?.to_string())))
        .collect()
}

/// The colour of `cell`'s centre on its z9 raster tile.
async fn drawn(app: &axum::Router, cell: &str) -> [u8; 3] {
    let cell: h3o::CellIndex = cell.parse().unwrap();
    let centre = h3o::LatLng::from(cell);
    let t = TileId::containing(9, centre.lng(), centre.lat()).unwrap();
    let uri = format!("/tiles/heat/9/{}/{}.png", t.x, t.y);
    let response = get(app, &uri, Some(ANALYST)).await;
    assert_eq!(response.status(), 200, "{uri}");
    let (w, _, pixels) = fengqiao_tiles::raster::decode_png(&bytes(response).await).unwrap();
    let p = fengqiao_tiles::mvt::to_tile_coords(t, 256.0, centre.lng(), centre.lat());
    let i = ((p[1] as usize) * w as usize + p[0] as usize) * 4;
    [pixels[i], pixels[i + 1], pixels[i + 2]]
}

fn close(a: [u8; 3], b: [u8; 4]) -> bool {
    (0..3).all(|k| (i32::from(a[k]) - i32::from(b[k])).abs() <= 3)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_centres_own_rules_decide_the_levels_the_server_serves() {
    let (shipped, _) = app();
    let (own, state) = app_with(store(), config(TOWNSHIP_RULES));
    assert_eq!(state.config.rules().name, "测试规则：一律乡镇");

    // The same clusters (Gi* does not depend on the rules), levelled by each server's rules.
    let before = cluster_levels(&shipped, "res=7").await;
    let after = cluster_levels(&own, "res=7").await;
    assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>());
    assert!(after.values().all(|l| l == "yellow"), "{after:?}");
    let red = before
        .iter()
        .find(|(_, l)| *l == "red")
        .map(|(h3, _)| h3.clone())
        .expect("the shipped rules give the generated data a red cluster");
    assert!(before.values().any(|l| l != "yellow"));

    // The tiles draw that cell in the township's colour, not the county team's.
    let yellow = fengqiao_tiles::layers::level_colour(Level::Yellow);
    let red_colour = fengqiao_tiles::layers::level_colour(Level::Red);
    assert!(close(drawn(&shipped, &red).await, red_colour));
    assert!(close(drawn(&own, &red).await, yellow));

    // The wall's clusters (a display token, through the projection) and reasons follow too.
    let last = last_day(&own).await;
    let month = format!("from={}&to={last}", day(last, -27));
    let wall = |app: axum::Router| {
        let uri = format!("/api/hotspots?res=8&{month}");
        async move { ok(&app, &uri, WALL).await }
    };
    let (theirs, ours) = (wall(shipped.clone()).await, wall(own.clone()).await);
    let levels = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c["level"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        !levels(&ours).is_empty() && levels(&ours).iter().all(|l| l == "yellow"),
        "{ours}"
    );
    assert!(levels(&theirs).iter().any(|l| l != "yellow"), "{theirs}");
    check_display(&ours).unwrap();

    // The wall shows the rule set's name.
    assert_eq!(ok(&own, "/api/version", WALL).await["rules"], "测试规则：一律乡镇");
    assert_eq!(ok(&shipped, "/api/version", WALL).await["rules"], "枫桥默认规则");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_briefing_made_by_the_server_follows_its_rules_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "briefings_dir = {:?}\n{TOWNSHIP_RULES}",
        dir.path().display().to_string()
    );
    let store = store();
    // What the shipped rules make of the same month's clusters.
    let period = fengqiao_analytics::briefing::ReportPeriod::month("2026-10").unwrap();
    let opts = fengqiao_analytics::briefing::BriefingOptions::new(period);
    let shipped =
        fengqiao_analytics::briefing::briefing(store.conn(), &fengqiao_ingest::Region::chenzhou(), &opts).unwrap();
    assert!(shipped.clusters.iter().any(|c| c.level != Level::Yellow));
    assert_eq!(shipped.rules_name, "枫桥默认规则");

    let (own, _) = app_with(store, config(&extra));
    let response = call(
        &own,
        "POST",
        "/briefings/?month=2026-10",
        Some(ADMIN),
        axum::body::Body::empty(),
    )
    .await;
    assert_eq!(response.status(), 201);
    let made = json(response).await;
    let out = dir.path().join(made["name"].as_str().unwrap());
    let content: Value = serde_json::from_slice(&std::fs::read(out.join("briefing.json")).unwrap()).unwrap();
    assert_eq!(content["rules_name"], "测试规则：一律乡镇");
    let levels: Vec<&str> = content["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels.len(), shipped.clusters.len(), "the same clusters");
    assert!(levels.iter().all(|l| *l == "yellow"), "{levels:?}");
    let html = std::fs::read_to_string(out.join("briefing-2026-10.html")).unwrap();
    assert!(
        html.contains("四级响应规则（测试规则：一律乡镇）"),
        "the briefing names its rules"
    );
}
