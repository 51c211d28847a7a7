//! End-to-end in a real browser: generates three months of cases, starts `fengqiao serve` with a
//! display and an analyst token, and runs `web/browser-tests/run.mjs` (playwright-core driving
//! Debian's headless Chromium) against it: the wall display and the explorer, their pixels, panels,
//! playback, tour, clicks, filters, drill-down, comparison and exports. Screenshots and exported
//! files land in `<target>/tmp/browser-artifacts/`.
//!
//! Needs `node`, `chromium` and `web/browser-tests/node_modules` — `scripts/test` installs them
//! (scripts/browser-deps.sh). Without them this test fails and says so: it never passes unexamined.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::{fengqiao, free_port, generated_store, run, Server};

const DISPLAY_TOKEN: &str = "wall-display-token-0123456789";
const ANALYST_TOKEN: &str = "analyst-token-0123456789abcdef";
const ADMIN_TOKEN: &str = "admin-token-0123456789abcdefgh";

/// Waits until `GET /healthz` answers (the server loads the region and opens the store first).
fn wait_for(port: u16, server: &mut Server) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Some(status) = server.0.try_wait().unwrap() {
            let mut err = String::new();
            server.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            panic!("the server stopped ({status}): {err}");
        }
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::Write;
            let _ = write!(stream, "GET /healthz HTTP/1.0\r\n\r\n");
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("the server did not answer /healthz within a minute");
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check_tools() {
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "node is missing: run scripts/browser-deps.sh (scripts/test does)"
    );
    assert!(
        repo().join("web/browser-tests/node_modules/playwright-core").is_dir(),
        "playwright-core is missing: run scripts/browser-deps.sh (scripts/test does)"
    );
    assert!(
        Path::new("/usr/bin/chromium").exists() || std::env::var_os("CHROMIUM").is_some(),
        "chromium is missing: run scripts/browser-deps.sh (scripts/test does)"
    );
}

#[test]
fn wall_and_explorer_in_headless_chromium() {
    check_tools();
    let dir = tempfile::tempdir().unwrap();
    let db = generated_store(dir.path(), 60_000, 11);
    // A later week, ingested through the API while the wall is open (its event stream refreshes it).
    let more = dir.path().join("more.csv");
    run(fengqiao()
        .args([
            "generate",
            "--months",
            "1",
            "--end",
            "2026-11-07",
            "--seed",
            "12",
            "--cases",
            "3000",
            "--out",
        ])
        .arg(&more));
    let config = dir.path().join("fengqiao.toml");
    std::fs::write(
        &config,
        format!(
            "suppress_below = 3\n\
             [[tokens]]\nname = \"wall\"\ntoken = \"{DISPLAY_TOKEN}\"\nrole = \"display\"\n\
             [[tokens]]\nname = \"analyst\"\ntoken = \"{ANALYST_TOKEN}\"\nrole = \"analyst\"\n\
             [[tokens]]\nname = \"admin\"\ntoken = \"{ADMIN_TOKEN}\"\nrole = \"admin\"\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let mut server = Server(
        fengqiao()
            .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--db"])
            .arg(&db)
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait_for(port, &mut server);

    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-artifacts");
    let out = Command::new("node")
        .arg(repo().join("web/browser-tests/run.mjs"))
        .env("FENGQIAO_URL", format!("http://127.0.0.1:{port}"))
        .env("DISPLAY_TOKEN", DISPLAY_TOKEN)
        .env("ANALYST_TOKEN", ANALYST_TOKEN)
        .env("ADMIN_TOKEN", ADMIN_TOKEN)
        .env("MORE_CASES", &more)
        .env("ARTIFACTS", &artifacts)
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{report}");
    assert!(out.status.success(), "browser checks failed:\n{report}");
    for shot in ["wall-1920x1080.png", "wall-3840x2160.png", "explore-details.png"] {
        let bytes = std::fs::read(artifacts.join(shot)).unwrap();
        assert!(bytes.len() > 10_000, "{shot} is a real screenshot");
    }
}
