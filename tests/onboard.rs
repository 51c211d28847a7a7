//! End-to-end on an imported region (issue 15): `region import` of the synthetic 青山市, then the
//! whole pipeline through the binary — generate, ingest (the store records the region; later
//! commands need no `--region`; another region is refused), a dry run of a foreign export, heatmap,
//! hotspots, trends, recurring, alerts, briefing, serve with live intake (a file dropped into the
//! watched folder is loaded and moved, a bad one moved to failed/) and the wall in headless
//! Chromium — with no name of the default region anywhere in the outputs.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::{fengqiao, free_port, generate_into, run, Server};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Names of the default region (the city, its counties, townships and villages of three or more
/// characters), and its English name.
fn chenzhou_names() -> Vec<String> {
    let mut names = vec!["郴州".to_string(), "Chenzhou".to_string()];
    for file in ["counties.csv", "townships.csv", "villages.csv"] {
        let text = std::fs::read_to_string(repo().join("data/chenzhou").join(file)).unwrap();
        names.extend(
            text.lines()
                .skip(1)
                .filter_map(|l| l.split(',').nth(1))
                .filter(|n| n.chars().count() >= 3)
                .map(str::to_string),
        );
    }
    names.sort();
    names.dedup();
    names
}

fn assert_no_default_names(what: &str, text: &str, names: &[String]) {
    let found: Vec<&String> = names.iter().filter(|n| text.contains(n.as_str())).collect();
    assert!(found.is_empty(), "{what} names units of the default region: {found:?}");
}

/// The admin token of the test servers (the server trusts no caller without one).
const ADMIN_TOKEN: &str = "admin-token-0123456789abcdef";

/// A server configuration file in `dir` with [`ADMIN_TOKEN`] and any more `[[tokens]]`.
fn server_config(dir: &Path, more: &str) -> PathBuf {
    let config = dir.join("fengqiao.toml");
    std::fs::write(
        &config,
        format!("[[tokens]]\nname = \"admin\"\ntoken = \"{ADMIN_TOKEN}\"\nrole = \"admin\"\n{more}"),
    )
    .unwrap();
    config
}

/// `GET path` on the server as the admin: (status line, body).
fn get(port: u16, path: &str) -> (String, Vec<u8>) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(answer.len());
    let head = String::from_utf8_lossy(&answer[..split]).to_string();
    let body = answer.get(split + 4..).unwrap_or_default().to_vec();
    (head.lines().next().unwrap_or_default().to_string(), body)
}

fn wait_until(what: &str, seconds: u64, mut ok: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ok() {
        assert!(
            started.elapsed() < Duration::from_secs(seconds),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn the_whole_pipeline_runs_on_an_imported_region_without_a_default_name() {
    let names = chenzhou_names();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let region = d.join("qingshan");
    let report = run(fengqiao()
        .args(["region", "import"])
        .arg(repo().join("data/examples/recipes/qingshan-geojson.toml"))
        .arg("--out")
        .arg(&region));
    assert!(report.contains("0 error(s)"), "{report}");
    let mut outputs = report.clone();

    let cases = d.join("cases.csv");
    generate_into(Some(&region), 3, "2026-10-31", 15, 20000, &cases);
    outputs.push_str(&std::fs::read_to_string(cases.with_extension("csv.truth.json")).unwrap());
    let db = d.join("store.duckdb");
    let ingested = run(fengqiao()
        .args(["ingest", "--json", "--db"])
        .arg(&db)
        .arg("--region")
        .arg(&region)
        .arg(&cases));
    let report: serde_json::Value = serde_json::from_str(&ingested).unwrap();
    assert_eq!(report[0]["inserted"], 20_000, "{report}");
    assert_eq!(report[0]["rejected"], 0, "{report}");

    // The store knows its region, and refuses the default one.
    let shown: serde_json::Value =
        serde_json::from_str(&run(fengqiao().args(["region", "show", "--json", "--db"]).arg(&db))).unwrap();
    assert_eq!(
        (shown["name"].as_str(), shown["code"].as_str()),
        (Some("青山市"), Some("990100"))
    );
    let refused = fengqiao()
        .args(["ingest", "--db"])
        .arg(&db)
        .arg("--region")
        .arg(repo().join("data/chenzhou"))
        .arg(&cases)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && err.contains("青山市") && err.contains("郴州市"),
        "{err}"
    );

    // A dry run of a foreign export with a mapping writes nothing.
    let mapping = d.join("mapping.toml");
    std::fs::write(
        &mapping,
        "[file]\nsheet = \"案件明细\"\n[columns]\n\"登记编号\" = \"case_id\"\n\"登记日期\" = \"reported_at\"\n\"矛盾纠纷类别\" = \"category\"\n\
         \"难易程度\" = \"severity\"\n\"调处状态\" = \"status\"\n\"来源方式\" = \"channel\"\n\"办结日期\" = \"closed_at\"\n\
         [defaults]\nclass = \"dispute\"\n",
    )
    .unwrap();
    let dry = fengqiao()
        .args(["ingest", "--dry-run", "--db"])
        .arg(&db)
        .arg("--mapping")
        .arg(&mapping)
        .arg(repo().join("data/examples/exports/cases.xlsx"))
        .output()
        .unwrap();
    let dry_text = String::from_utf8_lossy(&dry.stderr);
    assert!(
        dry.status.success() && dry_text.contains("would load") && dry_text.contains("rejected"),
        "{dry_text}"
    );
    let conn = duckdb::Connection::open(&db).unwrap();
    let count: i64 = conn.query_row("SELECT count(*) FROM cases", [], |r| r.get(0)).unwrap();
    assert_eq!(count, 20_000);
    drop(conn);

    // Every analysis, without --region.
    let db_arg = db.to_str().unwrap();
    for args in [
        vec![
            "heatmap",
            "--db",
            db_arg,
            "--res",
            "8",
            "--format",
            "geojson",
            "--nonzero",
        ],
        vec!["hotspots", "--db", db_arg, "--res", "8"],
        vec![
            "trends", "--db", db_arg, "--res", "8", "--step", "week", "--steps", "8", "--format", "json",
        ],
        vec![
            "trends", "--db", db_arg, "--level", "village", "--step", "week", "--steps", "8", "--format", "json",
        ],
        vec!["recurring", "--db", db_arg, "--window", "8", "--min-active", "3"],
        vec!["recurring", "--db", db_arg, "--chains"],
        vec!["alerts", "--db", db_arg, "--as-of", "2026-10-25"],
    ] {
        let out = run(fengqiao().args(&args));
        if matches!(args[0], "heatmap" | "hotspots") || args.contains(&"village") {
            assert!(
                out.contains("9901"),
                "{args:?} names the region's units: {}",
                &out[..out.len().min(300)]
            );
        }
        outputs.push_str(&out);
    }
    let briefing = d.join("briefing");
    run(fengqiao()
        .args(["briefing", "--week", "2026-W43", "--db", db_arg, "--out"])
        .arg(&briefing));
    for entry in std::fs::read_dir(&briefing).unwrap() {
        let path = entry.unwrap().path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("html" | "json" | "csv") => outputs.push_str(&std::fs::read_to_string(&path).unwrap()),
            Some("pdf") => {
                let text = Command::new("pdftotext")
                    .arg(&path)
                    .arg("-")
                    .output()
                    .expect("pdftotext (scripts/test installs poppler-utils)");
                let text = String::from_utf8_lossy(&text.stdout).to_string();
                assert!(text.contains("青山市"), "the briefing names its region");
                outputs.push_str(&text);
            }
            _ => {}
        }
    }
    assert_no_default_names("the command outputs", &outputs, &names);

    // The server, with live intake.
    let inbox = d.join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let port = free_port();
    let config = server_config(d, "");
    let mut server = Server(
        fengqiao()
            .args([
                "serve",
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--db",
                db_arg,
                "--config",
            ])
            .arg(&config)
            .arg("--watch")
            .arg(&inbox)
            .args(["--watch-interval", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait_until("the server", 60, || {
        if let Some(status) = server.0.try_wait().unwrap() {
            let mut err = String::new();
            server.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            panic!("the server stopped ({status}): {err}");
        }
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() && get(port, "/healthz").0.contains("200")
    });
    let mut served = String::new();
    for path in [
        "/api/version",
        "/tiles/admin.json",
        "/tiles/hex.json",
        "/api/hotspots?res=8",
        "/api/units/990101",
        "/api/alerts",
        "/",
    ] {
        let (status, body) = get(port, path);
        assert!(status.contains("200"), "{path}: {status}");
        served.push_str(&String::from_utf8_lossy(&body));
    }
    let version: serde_json::Value = serde_json::from_slice(&get(port, "/api/version").1).unwrap();
    assert_eq!(version["region"]["name"], "青山市");
    // Admin tiles over the region at zoom 10: their labels are the region's.
    let (lng, lat) = (100.18_f64, 30.15_f64);
    let n = 2f64.powi(10);
    let x = ((lng + 180.0) / 360.0 * n) as u32;
    let y =
        ((1.0 - (lat.to_radians().tan() + 1.0 / lat.to_radians().cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    let (status, tile) = get(port, &format!("/tiles/admin/10/{x}/{y}.mvt"));
    assert!(status.contains("200"), "{status}");
    served.push_str(&String::from_utf8_lossy(&tile));
    assert_no_default_names("the server's answers", &served, &names);

    // Live intake: a good file is loaded and moved to done/, a bad one to failed/, each with a report.
    let more = d.join("more.csv");
    generate_into(Some(&region), 1, "2026-11-07", 16, 500, &more);
    std::fs::copy(&more, inbox.join("more.csv")).unwrap();
    std::fs::write(inbox.join("broken.csv"), "case_id,reported_at\nX,2026-11-01\n").unwrap();
    wait_until("the watched files to be taken", 60, || {
        inbox.join("done/more.csv.report.json").exists() && inbox.join("failed/broken.csv.report.json").exists()
    });
    let done: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(inbox.join("done/more.csv.report.json")).unwrap()).unwrap();
    assert_eq!(done["inserted"], 500, "{done}");
    let failed = std::fs::read_to_string(inbox.join("failed/broken.csv.report.json")).unwrap();
    assert!(failed.contains("missing required column"), "{failed}");
    assert!(!inbox.join("more.csv").exists() && !inbox.join("broken.csv").exists());
    let after: serde_json::Value = serde_json::from_slice(&get(port, "/api/version").1).unwrap();
    assert!(
        after["version"].as_u64() > version["version"].as_u64(),
        "{after} after {version}"
    );

    // The wall, in a real browser.
    let forbidden = d.join("forbidden.txt");
    std::fs::write(&forbidden, names.join("\n")).unwrap();
    let counties = d.join("counties.txt");
    let county_names: Vec<String> = std::fs::read_to_string(region.join("counties.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().to_string())
        .collect();
    std::fs::write(&counties, county_names.join("\n")).unwrap();
    assert!(
        repo().join("web/browser-tests/node_modules/playwright-core").is_dir(),
        "playwright-core is missing: run scripts/browser-deps.sh (scripts/test does)"
    );
    let out = Command::new("node")
        .arg(repo().join("web/browser-tests/region.mjs"))
        .env("FENGQIAO_URL", format!("http://127.0.0.1:{port}"))
        .env("FENGQIAO_TOKEN", ADMIN_TOKEN)
        .env("REGION_NAMES", &counties)
        .env("FORBIDDEN", &forbidden)
        .env(
            "ARTIFACTS",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-artifacts"),
        )
        .output()
        .expect("node (scripts/browser-deps.sh installs it)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the wall on the imported region:\n{report}");
}

#[test]
fn a_province_of_two_cities_works_at_every_level() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let region = d.join("shili");
    run(fengqiao()
        .args(["region", "import"])
        .arg(repo().join("data/examples/recipes/province.toml"))
        .arg("--out")
        .arg(&region));
    let cases = d.join("cases.csv");
    generate_into(Some(&region), 3, "2026-10-31", 7, 15000, &cases);
    let db = d.join("store.duckdb");
    run(fengqiao()
        .args(["ingest", "--db"])
        .arg(&db)
        .arg("--region")
        .arg(&region)
        .arg(&cases));
    let db_arg = db.to_str().unwrap();
    let conn = duckdb::Connection::open(&db).unwrap();
    let in_city = |prefix: &str| -> i64 {
        conn.query_row(
            "SELECT count(*) FROM cases WHERE starts_with(county_code, ?)",
            [prefix],
            |r| r.get(0),
        )
        .unwrap()
    };
    let (qingshan, baishui) = (in_city("9901"), in_city("9902"));
    assert!(
        qingshan > 0 && baishui > 0 && qingshan + baishui == 15_000,
        "{qingshan} {baishui}"
    );
    drop(conn);

    // A city as the unit of a heat map: only its counties' cases.
    let heat = run(fengqiao().args([
        "heatmap",
        "--db",
        db_arg,
        "--unit",
        "990200",
        "--nonzero",
        "--format",
        "json",
    ]));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&heat).unwrap();
    let total: u64 = rows.iter().map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!(total as i64, baishui);
    assert!(rows
        .iter()
        .all(|r| r["county_code"].as_str().unwrap().starts_with("9902")));
    // A briefing of one city.
    let briefing = d.join("briefing");
    run(fengqiao()
        .args([
            "briefing", "--week", "2026-W43", "--unit", "990100", "--db", db_arg, "--out",
        ])
        .arg(&briefing));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(briefing.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["unit_name"], "青山市", "{manifest}");

    // The server: the province's units are its cities, with their counties' figures; a token of one
    // city sees it and not the other.
    let config = server_config(
        d,
        "[[tokens]]\nname = \"baishui\"\ntoken = \"baishui-token-0123456789abcd\"\nrole = \"analyst\"\nunit = \"990200\"\n",
    );
    let port = free_port();
    let _server = Server(
        fengqiao()
            .args([
                "serve",
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--db",
                db_arg,
                "--config",
            ])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let get_as = |path: &str, token: &str| -> (String, serde_json::Value) {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nAuthorization: Bearer {token}\r\n\r\n").unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let status = String::from_utf8_lossy(&answer[..split])
            .lines()
            .next()
            .unwrap()
            .to_string();
        (status, serde_json::from_slice(&answer[split + 4..]).unwrap_or_default())
    };
    wait_until("the server", 60, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() && get(port, "/healthz").0.contains("200")
    });
    let (status, root) = get_as("/api/units/990000?from=2026-08-01&to=2026-10-31", ADMIN_TOKEN);
    assert!(status.contains("200"), "{status} {root}");
    let children = root["children"].as_array().unwrap();
    let count = |code: &str| {
        children
            .iter()
            .find(|c| c["code"] == code)
            .map(|c| c["count"].as_u64().unwrap())
    };
    assert_eq!(
        (count("990100"), count("990200")),
        (Some(qingshan as u64), Some(baishui as u64)),
        "{root}"
    );
    let (status, _) = get_as("/api/units/990200", "baishui-token-0123456789abcd");
    assert!(status.contains("200"), "{status}");
    let (status, _) = get_as("/api/units/990100", "baishui-token-0123456789abcd");
    assert!(status.contains("403"), "{status}");
    let (status, tiles) = get_as("/tiles/hex.json", "baishui-token-0123456789abcd");
    assert!(status.contains("200"), "{status} {tiles}");
}
