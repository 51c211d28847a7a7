//! End-to-end: the `fengqiao` binary generating, ingesting (and surviving `kill -9` mid-file), and the
//! demo.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

mod support;

use support::{fengqiao, run};

fn generate(dir: &Path, name: &str, cases: u64, seed: u64) -> std::path::PathBuf {
    let out = dir.join(name);
    run(fengqiao()
        .args(["generate", "--months", "3", "--end", "2026-10-31", "--seed"])
        .arg(seed.to_string())
        .args(["--cases", &cases.to_string(), "--out", out.to_str().unwrap()]));
    out
}

/// A digest of the whole store: every case's content and provenance, and the log.
fn digest(db: &Path) -> (i64, String, i64) {
    let conn = duckdb::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT (SELECT count(*) FROM cases),
                (SELECT CAST(coalesce(sum(hash(c)), 0) AS VARCHAR) FROM cases c),
                (SELECT count(*) FROM ingest_log)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

#[test]
fn generated_data_ingests_without_rejections_and_reingests_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let seed = std::process::id() as u64; // a fresh seed each run
    let file = generate(dir.path(), "cases.csv", 20_000, seed);
    assert!(dir.path().join("cases.csv.truth.json").exists());
    let db = dir.path().join("store.duckdb");
    let ingest = |file: &Path| -> serde_json::Value {
        let out = run(fengqiao().args(["ingest", "--json", "--db"]).arg(&db).arg(file));
        serde_json::from_str::<serde_json::Value>(&out).unwrap()[0].clone()
    };
    let first = ingest(&file);
    assert_eq!(first["inserted"], 20_000, "seed {seed}: {first}");
    assert_eq!(first["rejected"], 0, "seed {seed}: {first}");
    let second = ingest(&file);
    assert_eq!(
        (second["inserted"].as_u64(), second["unchanged"].as_u64()),
        (Some(0), Some(20_000))
    );
    let conn = duckdb::Connection::open(&db).unwrap();
    let (converted, filled): (i64, i64) = conn
        .query_row(
            "SELECT count(*) FILTER (WHERE geo_source = 'point'), count(*) FILTER (WHERE geo_source <> 'point') FROM cases",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let share = filled as f64 / (converted + filled) as f64;
    assert!(
        (0.07..0.13).contains(&share),
        "about 10% of cases carry codes only: {share}"
    );
}

/// Starts an ingest that pauses (fault injection) after `batches` record batches, waits until it
/// says so, and kills it with SIGKILL.
fn kill_mid_file(db: &Path, file: &Path, batches: u32) {
    let mut child = fengqiao()
        .args(["ingest", "--db"])
        .arg(db)
        .arg(file)
        .env("FENGQIAO_FAULT_PAUSE_AFTER_BATCHES", batches.to_string())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut paused = false;
    for line in stderr.lines() {
        if line.unwrap().contains("paused after") {
            paused = true;
            break;
        }
    }
    assert!(paused, "the ingest never reached the pause");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

#[test]
fn kill_9_mid_file_leaves_the_store_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let first = generate(dir.path(), "first.csv", 2_000, 7);
    let second = generate(dir.path(), "second.csv", 60_000, 8);
    let db = dir.path().join("store.duckdb");

    // Into an empty store (rows go straight to `cases`).
    kill_mid_file(&db, &first, 1);
    assert_eq!(digest(&db), (0, "0".to_string(), 0));

    run(fengqiao().args(["ingest", "--db"]).arg(&db).arg(&first));
    let before = digest(&db);
    assert_eq!(before.0, 2_000);

    // Into a store with data (rows go through staging): 2 batches of the 60,000 are appended.
    kill_mid_file(&db, &second, 2);
    assert_eq!(digest(&db), before, "a killed ingest changed the store");

    // The store is intact and takes the file afterwards.
    run(fengqiao().args(["ingest", "--db"]).arg(&db).arg(&second));
    let ids = |file: &Path| -> std::collections::HashSet<String> {
        let text = std::fs::read_to_string(file).unwrap();
        text.lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect()
    };
    let distinct = ids(&first).union(&ids(&second)).count() as i64;
    assert_eq!(digest(&db).0, distinct);
}

#[test]
fn bad_files_are_reported_by_name_and_the_good_files_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let good = generate(dir.path(), "good.ndjson", 500, 3);
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "case_id,reported_at\nA,2026-10-01\n").unwrap();
    let out = fengqiao()
        .args(["ingest", "--db"])
        .arg(dir.path().join("s.duckdb"))
        .arg(&bad)
        .arg(&good)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.csv line 1: missing required column(s)"),
        "{stderr}"
    );
    assert!(stderr.contains("good.ndjson: 500 rows read"), "{stderr}");
    assert!(stderr.contains("1 of 2 file(s) could not be loaded"), "{stderr}");
}

#[test]
fn demo_builds_ingests_and_summarises_the_default_region() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(fengqiao().args(["demo", "--dir"]).arg(dir.path()));
    assert!(out.contains("郴州市 (Chenzhou)"), "{out}");
    assert!(out.contains("北湖区") && out.contains("办结率"), "{out}");
    let (cases, _, logs) = digest(&dir.path().join("fengqiao.duckdb"));
    assert!(
        (200_000..300_000).contains(&cases),
        "a year of Chenzhou is ~240,000 cases: {cases}"
    );
    // Run again: the data set is reused and re-ingesting changes nothing.
    let again = run(fengqiao().args(["demo", "--dir"]).arg(dir.path()));
    assert!(again.contains(&format!("{cases} cases")), "{again}");
    assert_eq!(digest(&dir.path().join("fengqiao.duckdb")).2, logs + 1);
}

#[test]
fn heatmap_and_hotspots_from_the_cli_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let file = generate(dir.path(), "cases.csv", 30_000, 11);
    let db = dir.path().join("store.duckdb");
    run(fengqiao().args(["ingest", "--db"]).arg(&db).arg(&file));
    let heat = |extra: &[&str]| -> String {
        run(fengqiao()
            .args(["heatmap", "--res", "7", "--as-of", "2026-11-01", "--db"])
            .arg(&db)
            .args(extra))
    };

    // CSV: every study-area cell, zero counts included; --nonzero drops them; counts add up.
    let all = heat(&[]);
    let rows: Vec<&str> = all.lines().collect();
    assert!(rows[0].starts_with("h3,count,score,open,overdue,measure,population,expected,ratio,excess_p,no_residents,value,gi_z,gi_p,gi_fdr_significant,confidence,level,level_reason,top_category,county_code,township_code,village_code"), "{}", rows[0]);
    // Risk by default: every row says so and carries its residents and expected cases; the workload
    // map (--measure count) leaves them empty.
    let header: Vec<&str> = rows[0].split(',').collect();
    let column = |name: &str| header.iter().position(|&c| c == name).unwrap();
    let (measure, expected) = (column("measure"), column("expected"));
    assert!(rows[1..].iter().all(|r| {
        let f: Vec<&str> = r.split(',').collect();
        f[measure] == "excess" && f[expected].parse::<f64>().is_ok()
    }));
    let workload = heat(&["--measure", "count"]);
    assert!(workload.lines().skip(1).all(|r| {
        let f: Vec<&str> = r.split(',').collect();
        f[measure] == "count" && f[expected].is_empty()
    }));
    let nonzero = heat(&["--nonzero"]);
    assert!(nonzero.lines().count() < rows.len());
    let total: u64 = nonzero
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 30_000);

    // GeoJSON (RFC 7946): closed counter-clockwise hexagons (pentagons have 5 sides) in WGS84.
    let geojson: serde_json::Value = serde_json::from_str(&heat(&["--format", "geojson", "--nonzero"])).unwrap();
    assert_eq!(geojson["type"], "FeatureCollection");
    let features = geojson["features"].as_array().unwrap();
    assert_eq!(features.len(), nonzero.lines().count() - 1);
    for f in features {
        let ring = f["geometry"]["coordinates"][0].as_array().unwrap();
        assert!(ring.len() == 7 || ring.len() == 6, "{}", ring.len());
        assert_eq!(ring.first(), ring.last());
        let p: Vec<(f64, f64)> = ring
            .iter()
            .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
            .collect();
        let area2: f64 = p.windows(2).map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1).sum();
        assert!(area2 > 0.0, "exterior rings are counter-clockwise");
        assert!(p
            .iter()
            .all(|(x, y)| (112.0..114.5).contains(x) && (24.5..27.2).contains(y)));
        assert!(f["properties"]["h3"].is_string() && f["properties"]["count"].as_u64().unwrap() > 0);
    }

    // Parquet and JSON hold the same cells.
    let parquet = dir.path().join("heat.parquet");
    heat(&["--out", parquet.to_str().unwrap()]);
    let n: i64 = duckdb::Connection::open_in_memory()
        .unwrap()
        .query_row(
            &format!("SELECT count(*) FROM read_parquet('{}')", parquet.display()),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n as usize, rows.len() - 1);
    let json: serde_json::Value = serde_json::from_str(&heat(&["--format", "json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), rows.len() - 1);

    // Filters change the answer; an unknown category is refused with a message.
    let labour = heat(&[
        "--nonzero",
        "--category",
        "劳动争议",
        "--from",
        "2026-09-01",
        "--to",
        "2026-09-30",
    ]);
    let labour_total: u64 = labour
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse::<u64>().unwrap())
        .sum();
    assert!(labour_total > 0 && labour_total < 30_000 / 3);
    let out = fengqiao()
        .args(["heatmap", "--category", "fishing", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("fishing"));

    // Hot-spot clusters: JSON with level, reason, places, cells, counts, categories.
    let clusters: serde_json::Value = serde_json::from_str(&run(fengqiao()
        .args(["hotspots", "--res", "7", "--as-of", "2026-11-01", "--db"])
        .arg(&db)))
    .unwrap();
    let first = &clusters.as_array().unwrap()[0];
    for key in [
        "level",
        "reason",
        "cells",
        "cases",
        "townships",
        "villages",
        "top_categories",
    ] {
        assert!(!first[key].is_null(), "{key} in {first}");
    }
    assert!(first["villages"][0]["name"].as_str().is_some_and(|n| !n.is_empty()));
    // A risk cluster names its expected cases; its reason opens with them.
    assert!(first["expected"].as_f64().is_some() && first["ratio"].as_f64().is_some_and(|r| r > 1.0));
    assert!(
        first["reason"].as_str().is_some_and(|r| r.starts_with("观测")),
        "{first}"
    );

    // The scan statistic: clusters with their cells, villages, counts and Monte Carlo p.
    let scan: serde_json::Value = serde_json::from_str(&run(fengqiao()
        .args(["scan", "--res", "7", "--replications", "99", "--format", "json", "--db"])
        .arg(&db)))
    .unwrap();
    assert_eq!(scan["replications"], 99);
    let clusters = scan["clusters"].as_array().unwrap();
    assert!(!clusters.is_empty(), "{scan}");
    for c in clusters {
        assert!(c["p"].as_f64().unwrap() <= 0.05 && c["observed"].as_f64() > c["expected"].as_f64());
        assert!(!c["cells"].as_array().unwrap().is_empty() && !c["villages"].as_array().unwrap().is_empty());
    }
    let out = fengqiao()
        .args(["scan", "--replications", "0", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--replications"));
}

/// The cases of a heat map's CSV (`--nonzero`), added up.
fn heat_total(csv: &str) -> u64 {
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse::<u64>().unwrap())
        .sum()
}

#[test]
fn a_heat_map_of_an_unchanged_store_reads_only_the_kept_files_and_changed_cases_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.duckdb");
    run(fengqiao()
        .args(["ingest", "--db"])
        .arg(&db)
        .arg(generate(dir.path(), "a.csv", 4_000, 3)));
    let heat = || -> String {
        run(fengqiao()
            .args([
                "heatmap",
                "--res",
                "7",
                "--measure",
                "count",
                "--nonzero",
                "--as-of",
                "2026-11-01",
                "--db",
            ])
            .arg(&db))
    };
    let first = heat();
    assert_eq!(heat_total(&first), 4_000);
    for kept in ["columns", "stamp", "area-r7"] {
        assert!(dir.path().join(format!("store.duckdb.{kept}")).exists(), "{kept}");
    }
    // While another process holds the store for writing (as `serve` does), DuckDB refuses to open
    // it: the second run answers from the kept files alone, the same map.
    let writer = duckdb::Connection::open(&db).unwrap();
    assert_eq!(heat(), first);
    drop(writer);
    // Changed cases (another export with the same case ids: 523 updated) change the store: the
    // stamp no longer matches, the store is read again, and the map is the one made from nothing.
    run(fengqiao()
        .args(["ingest", "--db"])
        .arg(&db)
        .arg(generate(dir.path(), "b.csv", 1_000, 4)));
    let changed = heat();
    assert_ne!(changed, first);
    let remove_kept = || {
        for kept in ["columns", "stamp", "area-r7"] {
            std::fs::remove_file(dir.path().join(format!("store.duckdb.{kept}"))).unwrap();
        }
    };
    remove_kept();
    assert_eq!(heat(), changed);
    // A stamp or an area file that is not one is not trusted: the store is read again.
    std::fs::write(dir.path().join("store.duckdb.stamp"), "{").unwrap();
    std::fs::write(dir.path().join("store.duckdb.area-r7"), "FQAREA").unwrap();
    assert_eq!(heat(), changed);
    remove_kept();
}

#[test]
fn trends_recurring_and_alerts_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let file = generate(dir.path(), "cases.csv", 60_000, 5);
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("cases.csv.truth.json")).unwrap()).unwrap();
    let db = dir.path().join("store.duckdb");
    run(fengqiao().args(["ingest", "--db"]).arg(&db).arg(&file));
    let cli = |args: &[&str]| -> String { run(fengqiao().args(args).arg("--db").arg(&db)) };

    // trends: one row per cell with its series, pattern and Mann–Kendall figures.
    let csv = cli(&["trends", "--res", "7", "--steps", "12"]);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    for column in ["h3", "pattern", "counts", "mk_s", "mk_tau", "mk_p", "gi_z_last"] {
        assert!(header.contains(&column), "{column} in {header:?}");
    }
    let counts = header.iter().position(|&c| c == "counts").unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(rows.len() > 1000, "every cell of the study area: {}", rows.len());
    assert!(rows.iter().all(|r| r[counts].split(';').count() == 12));
    let json: serde_json::Value =
        serde_json::from_str(&cli(&["trends", "--level", "county", "--format", "json"])).unwrap();
    assert_eq!(
        json["locations"].as_array().unwrap().len(),
        11,
        "Chenzhou's 11 counties"
    );
    assert_eq!(json["pattern_counts"].as_object().unwrap().len(), 17);
    let hot = cli(&["trends", "--res", "8", "--pattern", "consecutive_hot_spot,新增的热点"]);
    assert!(hot
        .lines()
        .skip(1)
        .all(|l| l.contains("consecutive_hot_spot") || l.contains("new_hot_spot")));

    // recurring: the planted problems with their departments; chains carry no personal data.
    let recurring = cli(&["recurring"]);
    let planted = truth["recurring"].as_array().unwrap();
    let found = planted
        .iter()
        .filter(|r| {
            let key = format!("{},", r["village_code"].as_str().unwrap());
            recurring
                .lines()
                .any(|l| l.contains(&key) && l.contains(r["category"].as_str().unwrap()))
        })
        .count();
    assert!(found * 10 >= planted.len() * 9, "{found} of {}", planted.len());
    assert!(recurring.lines().next().unwrap().contains("lead_department"));
    let chains = cli(&["recurring", "--chains", "--format", "json"]);
    let listed: serde_json::Value = serde_json::from_str(&chains).unwrap();
    assert!(!listed.as_array().unwrap().is_empty());
    for chain in truth["repeat_chains"].as_array().unwrap() {
        assert!(
            !chains.contains(chain["party_name"].as_str().unwrap()),
            "a party's name leaked"
        );
        assert!(
            !chains.contains(chain["party_phone"].as_str().unwrap()),
            "a phone number leaked"
        );
    }

    // alerts: the spike, in the week it happened.
    let spike = &truth["spike"];
    let last_day = spike["days"].as_array().unwrap().last().unwrap().as_str().unwrap();
    let alerts = cli(&["alerts", "--as-of", last_day]);
    let village = spike["village_code"].as_str().unwrap();
    let row = alerts
        .lines()
        .find(|l| l.contains(village) && l.contains(spike["category"].as_str().unwrap()))
        .unwrap_or_else(|| panic!("no alert for the spike in\n{alerts}"));
    assert!(row.contains(",new,"), "{row}");

    // Bad arguments are refused with a message.
    for (args, message) in [
        (&["trends", "--step", "year"][..], "year"),
        (&["trends", "--level", "city"][..], "city"),
        (&["alerts", "--as-of", "yesterday"][..], "yesterday"),
    ] {
        let out = fengqiao().args(args).arg("--db").arg(&db).output().unwrap();
        assert!(
            !out.status.success() && String::from_utf8_lossy(&out.stderr).contains(message),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn serve_refuses_an_open_network_address_without_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.duckdb");
    let out = fengqiao()
        .args(["serve", "--addr", "0.0.0.0:0", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0 without tokens"),
        "{stderr}"
    );
}

/// A store as the first release left it (schema 1: `ingest/tests/data/store-schema-1/`, its DDL
/// verbatim and its rows), at `dir/old.duckdb`.
fn first_release_store(dir: &Path) -> std::path::PathBuf {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("ingest/tests/data/store-schema-1");
    let db = dir.join("old.duckdb");
    let conn = duckdb::Connection::open(&db).unwrap();
    conn.execute_batch(&std::fs::read_to_string(fixture.join("schema.sql")).unwrap())
        .unwrap();
    let rows = std::fs::read_to_string(fixture.join("rows.sql")).unwrap();
    conn.execute_batch(&rows.replace("{dir}", &fixture.display().to_string()))
        .unwrap();
    db
}

#[test]
fn a_store_of_the_first_release_is_migrated_once_and_analysed_and_a_newer_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = first_release_store(dir.path());
    // A read-only command migrates it first (said on standard error), then reads it.
    let out = fengqiao().args(["region", "show", "--db"]).arg(&db).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("migrated from schema 1 to 2: places by name and address"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("before stores recorded their region"));

    // The heat map counts every case, and knows which are only village-precise (filled by the
    // migration from geo_source).
    let out = fengqiao()
        .args([
            "heatmap",
            "--res",
            "6",
            "--as-of",
            "2026-11-01",
            "--measure",
            "count",
            "--nonzero",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("migrated"),
        "migrated once"
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let at = |name: &str| header.iter().position(|&c| c == name).unwrap();
    let sum = |column: usize| -> u64 {
        csv.lines()
            .skip(1)
            .map(|l| l.split(',').nth(column).unwrap().parse::<u64>().unwrap())
            .sum()
    };
    let conn = duckdb::Connection::open(&db).unwrap();
    let village_precise: i64 = conn
        .query_row("SELECT count(*) FROM cases WHERE geo_source = 'village'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(sum(at("count")), 240);
    assert_eq!(sum(at("village_only")), village_precise as u64);
    assert!(village_precise > 0);

    // A store from a later fengqiao is refused by every command, naming both versions.
    conn.execute_batch("INSERT INTO schema_version VALUES (3, now()::TIMESTAMP, 'fengqiao 9.0.0', 'later')")
        .unwrap();
    drop(conn);
    for args in [&["region", "show"][..], &["heatmap", "--res", "6"][..]] {
        let out = fengqiao().args(args).arg("--db").arg(&db).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            stderr.contains("the store has schema version 3, newer than this fengqiao")
                && stderr.contains("(schema 2)"),
            "{args:?}: {stderr}"
        );
    }
}

/// `fengqiao config check --config FILE`: its status and standard output and error.
fn config_check(file: &Path, extra: &[&str]) -> (bool, String, String) {
    let out = fengqiao()
        .args(["config", "check", "--config"])
        .arg(file)
        .args(extra)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn config_check_passes_the_example_and_names_file_line_and_key_of_each_problem() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/fengqiao.example.toml");
    let (ok, stdout, stderr) = config_check(&example, &[]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("fengqiao.example.toml: ok"), "{stdout}");
    assert!(
        stdout.contains("rules          枫桥默认规则 (shipped): 9 risk rules, 6 volume rules"),
        "{stdout}"
    );
    assert!(stdout.contains("suppress_below 3"), "{stdout}");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "suppress_below = 0\n\n[rules]\nname = \"乱序\"\ncategory_share = 0.15\n\n\
         [[rules.rule]]\nlevel = \"yellow\"\nmin_confidence = 2\n\n\
         [[rules.rule]]\nlevel = \"red\"\nmin_confidence = 3\nmin_ratio = 2.0\n\n\
         [[tokens]]\nname = \"wall\"\ntoken = \"short\"\nrole = \"display\"\n",
    )
    .unwrap();
    let (ok, _, stderr) = config_check(&bad, &[]);
    assert!(!ok);
    let shown = bad.display();
    for line in [
        format!("error: {shown}:1: suppress_below: k must be at least 1"),
        format!("error: {shown}:11: rules.rule#2: (red) never applies: #1 (yellow), listed before it"),
        format!("error: {shown}:18: tokens#1.token: token 1 (\"wall\"): shorter than 24 characters"),
    ] {
        assert!(stderr.contains(&line), "{line}\n in\n{stderr}");
    }
    assert!(stderr.contains("3 problem(s)"), "{stderr}");

    // Types: an unknown level or role, where the TOML says.
    std::fs::write(&bad, "[[rules.rule]]\nlevel = \"purple\"\n").unwrap();
    let (ok, _, stderr) = config_check(&bad, &[]);
    assert!(
        !ok && stderr.contains(&format!("{shown}:2: rules.rule#1.level: unknown variant `purple`")),
        "{stderr}"
    );
    let token = "[[tokens]]\nname = \"x\"\ntoken = \"0123456789abcdef0123456789\"\nrole = \"boss\"\n";
    std::fs::write(&bad, token).unwrap();
    let (ok, _, stderr) = config_check(&bad, &[]);
    assert!(
        !ok && stderr.contains(&format!("{shown}:4: tokens#1.role: unknown variant `boss`")),
        "{stderr}"
    );
    // A unit the region does not have.
    std::fs::write(&bad, token.replace("boss", "analyst") + "unit = \"999999\"\n").unwrap();
    let (ok, _, stderr) = config_check(&bad, &[]);
    assert!(
        !ok && stderr.contains(&format!("{shown}:5: tokens#1.unit:")),
        "{stderr}"
    );
    // Other commands refuse a bad file with the same problems.
    std::fs::write(&bad, "suppress_below = 0\n").unwrap();
    let out = fengqiao().args(["hotspots", "--config"]).arg(&bad).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("{shown}:1: suppress_below")));
}

#[test]
fn a_centres_configuration_reaches_hotspots_recurring_and_the_briefing() {
    let dir = tempfile::tempdir().unwrap();
    let db = support::generated_store(dir.path(), 20_000, 5);
    let departments = dir.path().join("departments.toml");
    let table =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("analytics/config/departments.toml"))
            .unwrap()
            .replace("lead = \"", "lead = \"测试-");
    std::fs::write(&departments, table).unwrap();
    let config = dir.path().join("fengqiao.toml");
    std::fs::write(
        &config,
        "departments = \"departments.toml\"\n\n[rules]\nname = \"测试规则\"\ncategory_share = 0.2\n\
         [[rules.rule]]\nlevel = \"orange\"\nmin_confidence = 1\n\n[briefing]\ntop = 3\n",
    )
    .unwrap();
    let levels = |with_config: bool| -> Vec<String> {
        let mut cmd = fengqiao();
        cmd.args(["hotspots", "--res", "7", "--as-of", "2026-11-01", "--db"])
            .arg(&db);
        if with_config {
            cmd.arg("--config").arg(&config);
        }
        let clusters: serde_json::Value = serde_json::from_str(&run(&mut cmd)).unwrap();
        clusters
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["level"].as_str().unwrap().to_string())
            .collect()
    };
    let (shipped, own) = (levels(false), levels(true));
    assert_eq!(shipped.len(), own.len());
    assert!(shipped.iter().any(|l| l != "orange"), "{shipped:?}");
    assert!(own.iter().all(|l| l == "orange"), "{own:?}");

    // Every recurring problem's lead department from the configuration's table.
    let recurring = run(fengqiao()
        .args(["recurring", "--db"])
        .arg(&db)
        .arg("--config")
        .arg(&config));
    let mut rows = recurring.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    let lead = header.iter().position(|&c| c == "lead_department").unwrap();
    let leads: Vec<String> = rows.map(|r| r.split(',').nth(lead).unwrap().to_string()).collect();
    assert!(
        !leads.is_empty() && leads.iter().all(|l| l.starts_with("测试-")),
        "{leads:?}"
    );

    let out = dir.path().join("W43");
    run(fengqiao()
        .args(["briefing", "--week", "2026-W43", "--db"])
        .arg(&db)
        .arg("--out")
        .arg(&out)
        .arg("--config")
        .arg(&config));
    let content: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("briefing.json")).unwrap()).unwrap();
    assert_eq!(content["rules_name"], "测试规则");
    let clusters = content["clusters"].as_array().unwrap();
    assert!(!clusters.is_empty() && clusters.iter().all(|c| c["level"] == "orange"));
    assert!(content["recurring"].as_array().unwrap().len() <= 3, "[briefing] top");
}
