//! Shared by the end-to-end tests: the binary, running it, and a generated store.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// The `fengqiao` binary of this build (without the ingest fault-injection variable).
pub fn fengqiao() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fengqiao"));
    cmd.env_remove("FENGQIAO_FAULT_PAUSE_AFTER_BATCHES");
    cmd
}

/// Runs `cmd`, failing the test with its standard error unless it succeeds; its standard output.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Three months of generated cases ending 2026-10-31 (`cases` of them, seed `seed`), ingested into
/// `dir/store.duckdb`.
pub fn generated_store(dir: &Path, cases: u64, seed: u64) -> PathBuf {
    let data = dir.join("cases.csv");
    run(fengqiao()
        .args(["generate", "--months", "3", "--end", "2026-10-31", "--seed"])
        .arg(seed.to_string())
        .args(["--cases", &cases.to_string(), "--out"])
        .arg(&data));
    let db = dir.join("store.duckdb");
    run(fengqiao().args(["ingest", "--db"]).arg(&db).arg(&data));
    db
}

/// A server process, stopped when the test ends, however it ends.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `fengqiao generate` of `cases` cases over `months` months ending `end` into `out`, in the
/// region directory `region` (the default when `None`).
pub fn generate_into(region: Option<&Path>, months: u32, end: &str, seed: u64, cases: u64, out: &Path) {
    let mut cmd = fengqiao();
    cmd.args([
        "generate",
        "--months",
        &months.to_string(),
        "--end",
        end,
        "--seed",
        &seed.to_string(),
    ])
    .args(["--cases", &cases.to_string(), "--out"])
    .arg(out);
    if let Some(region) = region {
        cmd.arg("--region").arg(region);
    }
    run(&mut cmd);
}
