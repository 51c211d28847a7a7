//! End-to-end: `fengqiao briefing` on a generated store — every section in the HTML and in the PDF's
//! text (poppler's `pdftotext`), the PDF's pages rendered (`pdftoppm`), the top cluster equal to
//! `fengqiao hotspots` for the same period, figures of the stated size, and no personal data in any
//! file written.

use std::process::Command;

mod support;

use fengqiao_report::document::SECTIONS;
use fengqiao_report::figures::{CHART_SIZE, MAP_SIZE};
use support::{fengqiao, generated_store, run};

/// Width and height from a PNG's IHDR.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

/// Text without any whitespace (pdftotext breaks lines and spaces runs its own way).
fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn a_weekly_briefing_has_every_section_the_hotspots_numbers_and_no_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = generated_store(dir.path(), 40_000, 11);
    let out = dir.path().join("briefings").join("2026-W43");
    run(fengqiao()
        .args(["briefing", "--week", "2026-W43", "--db"])
        .arg(&db)
        .arg("--out")
        .arg(&out));

    // The manifest lists the files, and they exist.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["period"], "2026-W43");
    assert_eq!(manifest["kind"], "week");
    let files: Vec<String> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    for name in [
        "briefing-2026-W43.pdf",
        "briefing-2026-W43.html",
        "map.png",
        "categories.png",
        "overdue.png",
        "callback-sample.csv",
        "briefing.json",
    ] {
        assert!(files.contains(&name.to_string()), "{name} listed");
        assert!(out.join(name).metadata().unwrap().len() > 0, "{name} written");
    }

    // Figures at print size, with content (a blank PNG of that size compresses to a few KB).
    for (name, size) in [
        ("map.png", MAP_SIZE),
        ("categories.png", CHART_SIZE),
        ("overdue.png", CHART_SIZE),
    ] {
        let bytes = std::fs::read(out.join(name)).unwrap();
        assert_eq!(png_size(&bytes), size, "{name}");
        assert!(bytes.len() > 30_000, "{name} has content: {} bytes", bytes.len());
    }

    // Every section in the HTML and in the PDF's text.
    let html = std::fs::read_to_string(out.join("briefing-2026-W43.html")).unwrap();
    assert_eq!(
        html.matches("<img src=\"data:image/png;base64,").count(),
        3,
        "the figures inside the page"
    );
    let pdf = out.join("briefing-2026-W43.pdf");
    let text = run(Command::new("pdftotext").args(["-enc", "UTF-8"]).arg(&pdf).arg("-"));
    let pdf_text = squeeze(&text);
    for heading in SECTIONS.iter().chain(&["矛盾纠纷热点周研判", "2026年第43周"]) {
        assert!(html.contains(heading), "{heading} in the HTML");
        assert!(
            pdf_text.contains(&squeeze(heading)),
            "{heading} in the PDF's text:\n{text}"
        );
    }

    // Bookmarks: one per section, in order (poppler's pdftohtml lists the outline).
    let xml = run(Command::new("pdftohtml").args(["-xml", "-i", "-stdout"]).arg(&pdf));
    let bookmarks: Vec<&str> = xml
        .split("<item page=\"")
        .skip(1)
        .filter_map(|item| item.split_once('>').and_then(|(_, rest)| rest.split_once("</item>")))
        .map(|(title, _)| title)
        .collect();
    assert_eq!(bookmarks, SECTIONS, "{xml}");

    // The PDF parses and its pages render.
    let info = run(Command::new("pdfinfo").arg(&pdf));
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .expect("pdfinfo reports pages")
        .trim()
        .parse()
        .unwrap();
    assert!(pages >= 4, "{pages} pages");
    assert!(info.contains("Title:") && info.contains("矛盾纠纷热点周研判"), "{info}");
    let rendered = dir.path().join("pages");
    std::fs::create_dir(&rendered).unwrap();
    run(Command::new("pdftoppm")
        .args(["-r", "30", "-png"])
        .arg(&pdf)
        .arg(rendered.join("page")));
    let pngs: Vec<_> = std::fs::read_dir(&rendered)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(pngs.len(), pages);
    for png in &pngs {
        let (w, h) = png_size(&std::fs::read(png).unwrap());
        assert!(h > w, "A4 portrait: {w}×{h}");
    }

    // The top cluster equals `fengqiao hotspots` for the same week.
    let hotspots: serde_json::Value = serde_json::from_str(&run(fengqiao()
        .args([
            "hotspots",
            "--from",
            "2026-10-19",
            "--to",
            "2026-10-25",
            "--as-of",
            "2026-10-26",
            "--db",
        ])
        .arg(&db)
        .args(["--format", "json"])))
    .unwrap();
    let briefing: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("briefing.json")).unwrap()).unwrap();
    assert!(
        !hotspots.as_array().unwrap().is_empty(),
        "the generated week has hot spots"
    );
    // The clusters with cases (those `/api/hotspots` lists), in order, as `hotspots` has them.
    let with_cases: Vec<serde_json::Value> = hotspots
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["villages"].as_array().unwrap().is_empty())
        .cloned()
        .collect();
    assert_eq!(briefing["clusters"], serde_json::Value::Array(with_cases));
    let top = &hotspots[0];
    let cases = top["cases"].as_u64().unwrap();
    let first_row = html
        .split("<tbody>")
        .nth(2)
        .expect("the cluster table is the second table")
        .split("</tr>")
        .next()
        .unwrap();
    for level in ["counties", "townships", "villages"] {
        let name = top[level][0]["name"].as_str().unwrap();
        assert!(first_row.contains(name), "{name} in the first cluster row: {first_row}");
        assert!(pdf_text.contains(name), "{name} in the PDF");
    }
    assert!(
        first_row.contains(&format!("<td>{cases}</td>")),
        "{cases} cases: {first_row}"
    );

    // The headline figures are `/api/kpis`' summary: the briefing's equals a direct count.
    let conn = duckdb::Connection::open(&db).unwrap();
    let week_cases: i64 = conn
        .query_row(
            "SELECT count(*) FROM cases WHERE reported_at >= TIMESTAMP '2026-10-19' AND reported_at < TIMESTAMP '2026-10-26'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(briefing["current"]["cases"], week_cases);
    assert!(
        pdf_text.contains(&format!("受理总量（件）{week_cases}")),
        "the intake in the PDF"
    );
    assert!(briefing["last_year"].is_null(), "three months of data: no year-on-year");
    assert!(html.contains("无同期数据"));

    // The call-back sample: case ids of the store, at the stated rates.
    let callback = std::fs::read_to_string(out.join("callback-sample.csv")).unwrap();
    let sampled: Vec<&str> = callback.lines().skip(1).collect();
    assert!(!sampled.is_empty());
    for stratum in briefing["callback"].as_array().unwrap() {
        let population = stratum["population"].as_u64().unwrap() as f64;
        let rate = stratum["rate"].as_f64().unwrap();
        let drawn = stratum["case_ids"].as_array().unwrap().len() as f64;
        assert_eq!(drawn, (population * rate).ceil(), "{stratum}");
    }

    // No personal data: no party name, phone or case text of the store in any file written.
    let mut outputs: Vec<(String, String)> = files
        .iter()
        .filter(|f| !f.ends_with(".png") && !f.ends_with(".pdf"))
        .map(|f| (f.clone(), std::fs::read_to_string(out.join(f)).unwrap()))
        .collect();
    outputs.push(("pdf text".into(), text.clone()));
    outputs.push(("manifest".into(), manifest.to_string()));
    let mut stmt = conn
        .prepare("SELECT DISTINCT party_name, party_phone, summary FROM cases")
        .unwrap();
    let personal: Vec<(Option<String>, Option<String>, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        personal.iter().any(|p| p.0.is_some()),
        "the store has party names to look for"
    );
    for (name, content) in &outputs {
        for marker in ["测试", "1990000", "（模拟）"] {
            assert!(
                !content.contains(marker),
                "{marker:?} (generated personal data) in {name}"
            );
        }
        for (party, phone, summary) in &personal {
            for value in [party, phone, summary].into_iter().flatten() {
                assert!(!content.contains(value.as_str()), "{value:?} in {name}");
            }
        }
    }
    // Case ids appear only in the call-back sample.
    let an_id: String = conn
        .query_row("SELECT min(case_id) FROM cases", [], |r| r.get(0))
        .unwrap();
    let prefix: String = an_id.chars().take(3).collect();
    assert!(!html.split("八、满意度回访抽查名单").next().unwrap().contains(&an_id));
    assert!(callback.contains(&prefix));

    drop(stmt);
    drop(conn); // the briefing opens the store read-only, which a writer's lock would block

    // A week without cases (after the data): every section, no figures invented.
    let empty = dir.path().join("briefings").join("2030-W01");
    run(fengqiao()
        .args(["briefing", "--week", "2030-W01", "--db"])
        .arg(&db)
        .arg("--out")
        .arg(&empty));
    let content: serde_json::Value =
        serde_json::from_slice(&std::fs::read(empty.join("briefing.json")).unwrap()).unwrap();
    assert_eq!(content["current"]["cases"], 0);
    assert!(content["last_year"].is_null(), "the store does not cover 2029-W01");
    assert_eq!(content["clusters"], serde_json::json!([]));
    let text = squeeze(&run(Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(empty.join("briefing-2030-W01.pdf"))
        .arg("-")));
    assert!(SECTIONS.iter().all(|h| text.contains(&squeeze(h))));
    assert!(text.contains("办结率—") && text.contains("无同期数据"), "{text}");

    // A monthly report for a county: its unit and period.
    let county = dir.path().join("briefings").join("431002-2026-10");
    run(fengqiao()
        .args(["briefing", "--month", "2026-10", "--unit", "431002", "--db"])
        .arg(&db)
        .arg("--out")
        .arg(&county));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(county.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        (manifest["kind"].as_str(), manifest["unit_code"].as_str()),
        (Some("month"), Some("431002"))
    );
    let text = squeeze(&run(Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(county.join("briefing-2026-10.pdf"))
        .arg("-")));
    assert!(text.contains("矛盾纠纷研判预警专报") && text.contains("北湖区") && text.contains("2026年10月"));
}

#[test]
fn a_bad_period_is_refused_with_its_format() {
    let dir = tempfile::tempdir().unwrap();
    let out = fengqiao()
        .args(["briefing", "--week", "2026-44", "--db"])
        .arg(dir.path().join("none.duckdb"))
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("2026-W44"));
}
