//! Live intake and scheduled briefings, beside the server (`fengqiao serve --watch DIR
//! --briefing-schedule "MON 08:00"`).
//!
//! **Watch.** A task scans the folder every few seconds. A file (of a type the ingest reads) whose
//! size and modification time have not changed since the previous scan is complete: it is ingested
//! through the server's writer ([`AppState::write`], so the data version, the caches and the event
//! stream follow, and the wall refreshes) and moved to `done/` — or, when it could not be loaded at
//! all, to `failed/` — with `NAME.report.json` beside it (the ingest report, or the error). Hidden
//! files and names ending in `.part`, `.tmp` or `.crdownload` are left alone (still being copied).
//!
//! **Schedule.** At the given weekday and time (China time) the weekly briefing of the ISO week
//! that ended before it is made with the server's own connection and written into the briefings
//! directory, where `/briefings/` and the explorer list it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use fengqiao_ingest::read::InputFormat;
use fengqiao_ingest::store::NoProgress;
use fengqiao_ingest::IngestOptions;

use crate::error::ApiError;
use crate::state::AppState;
pub use fengqiao_config::Weekly;

/// A folder to take case files from.
#[derive(Debug, Clone)]
pub struct Watch {
    pub dir: PathBuf,
    /// Time between scans.
    pub interval: Duration,
    /// How to load the files (a mapping for the centre's export, …).
    pub options: IngestOptions,
}

/// What became of one file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Taken {
    pub file: String,
    /// `done` or `failed`.
    pub outcome: &'static str,
    /// Where the file is now.
    pub moved_to: PathBuf,
}

/// Sizes and modification times seen at the previous scan.
#[derive(Debug, Default)]
pub struct Seen(HashMap<PathBuf, (u64, Option<SystemTime>)>);

fn ignored(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with("~$")
        || [".part", ".tmp", ".crdownload", ".report.json"]
            .iter()
            .any(|s| name.ends_with(s))
}

/// A free name for `name` in `dir`: itself, else with `-2`, `-3`, … before the extension.
fn free_name(dir: &Path, name: &str) -> PathBuf {
    let first = dir.join(name);
    if !first.exists() {
        return first;
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) => (s.to_string(), format!(".{e}")),
        None => (name.to_string(), String::new()),
    };
    (2..)
        .map(|n| dir.join(format!("{stem}-{n}{ext}")))
        .find(|p| !p.exists())
        .expect("some name is free")
}

impl Watch {
    /// The files that were already there, unchanged, at the previous scan.
    fn ready(&self, seen: &mut Seen) -> std::io::Result<Vec<PathBuf>> {
        let mut now = HashMap::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if !entry.file_type()?.is_file() || ignored(&name) || InputFormat::from_path(&path).is_none() {
                continue;
            }
            let meta = entry.metadata()?;
            now.insert(path, (meta.len(), meta.modified().ok()));
        }
        let mut ready: Vec<PathBuf> = now
            .iter()
            .filter(|(p, stat)| seen.0.get(*p) == Some(stat))
            .map(|(p, _)| p.clone())
            .collect();
        ready.sort();
        seen.0 = now;
        for p in &ready {
            seen.0.remove(p);
        }
        Ok(ready)
    }

    /// One scan: ingests the files that are ready, moves them and writes their reports.
    pub async fn scan(&self, state: &Arc<AppState>, seen: &mut Seen) -> Result<Vec<Taken>, ApiError> {
        let ready = self
            .ready(seen)
            .map_err(|e| ApiError::Internal(format!("{}: {e}", self.dir.display())))?;
        let mut taken = Vec::new();
        for path in ready {
            let options = self.options.clone();
            let file = path.clone();
            let outcome = state
                .write(move |store, region| {
                    let result = store.ingest_file(&file, region, &options, &NoProgress);
                    let changed = result.as_ref().is_ok_and(|r| r.inserted + r.updated > 0);
                    Ok((result, changed))
                })
                .await?;
            let (kind, report) = match outcome {
                Ok(report) => ("done", serde_json::to_value(&report).unwrap_or_default()),
                Err(e) => (
                    "failed",
                    serde_json::json!({ "file": path.display().to_string(), "error": e.to_string() }),
                ),
            };
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let folder = self.dir.join(kind);
            let moved = std::fs::create_dir_all(&folder).and_then(|()| {
                let target = free_name(&folder, &name);
                std::fs::rename(&path, &target)?;
                let report_name = format!(
                    "{}.report.json",
                    target.file_name().unwrap_or_default().to_string_lossy()
                );
                std::fs::write(
                    folder.join(report_name),
                    serde_json::to_string_pretty(&report).unwrap_or_default(),
                )?;
                Ok(target)
            });
            let moved_to = moved.map_err(|e| ApiError::Internal(format!("moving {}: {e}", path.display())))?;
            tracing::info!(file = %name, outcome = kind, to = %moved_to.display(), "watched file taken");
            taken.push(Taken {
                file: name,
                outcome: kind,
                moved_to,
            });
        }
        Ok(taken)
    }

    /// Scans until the server stops.
    pub fn spawn(self, state: &Arc<AppState>) {
        let state = Arc::clone(state);
        tokio::spawn(async move {
            let mut seen = Seen::default();
            loop {
                if let Err(e) = self.scan(&state, &mut seen).await {
                    tracing::error!(error = %e, dir = %self.dir.display(), "watching");
                }
                tokio::time::sleep(self.interval).await;
            }
        });
    }
}

/// A weekly briefing made on a schedule.
#[derive(Debug, Clone)]
pub struct BriefingSchedule {
    pub when: Weekly,
    /// The briefings directory.
    pub dir: PathBuf,
}

impl BriefingSchedule {
    /// Makes the briefing of `week` now.
    pub async fn make(&self, state: &Arc<AppState>, week: &str) -> Result<PathBuf, ApiError> {
        let target = self.dir.join(week);
        let period = fengqiao_analytics::briefing::ReportPeriod::week(week)?;
        crate::briefings::write(state, state.config.briefing_options(period), target.clone()).await?;
        Ok(target)
    }

    /// Sleeps until each scheduled time, then makes the briefing of the week before.
    pub fn spawn(self, state: &Arc<AppState>) {
        let state = Arc::clone(state);
        tokio::spawn(async move {
            loop {
                let now = fengqiao_ingest::time::now_china();
                let next = self.when.next_after(now);
                let wait = (next - now).to_std().unwrap_or_default();
                tracing::info!(next = %next, "next scheduled briefing");
                tokio::time::sleep(wait).await;
                let week = Weekly::week_before(next);
                match self.make(&state, &week).await {
                    Ok(dir) => tracing::info!(week, dir = %dir.display(), "scheduled briefing made"),
                    Err(e) => tracing::error!(week, error = %e, "scheduled briefing"),
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(briefings: &Path) -> Arc<AppState> {
        let config = crate::config::Config {
            briefings_dir: Some(briefings.to_path_buf()),
            ..crate::config::Config::default()
        };
        let store = fengqiao_ingest::Store::open_in_memory().unwrap();
        AppState::new(store, fengqiao_ingest::Region::chenzhou(), config).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropped_files_are_taken_once_complete_and_moved_with_their_report() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(&dir.path().join("briefings"));
        let watch = Watch {
            dir: dir.path().to_path_buf(),
            interval: Duration::from_millis(10),
            options: IngestOptions::default(),
        };
        let header = "case_id,reported_at,class,category,severity,channel,status,village_code";
        std::fs::write(
            dir.path().join("good.csv"),
            format!("{header}\nW1,2026-10-01 09:00,dispute,neighbour,simple,walk_in,received,431002001001\n"),
        )
        .unwrap();
        std::fs::write(dir.path().join("bad.csv"), "case_id\nW2\n").unwrap();
        std::fs::write(dir.path().join("copying.csv.part"), "x").unwrap();
        let mut seen = Seen::default();
        // First sight: not yet known to be complete.
        assert!(watch.scan(&state, &mut seen).await.unwrap().is_empty());
        let version = state.version();
        let taken = watch.scan(&state, &mut seen).await.unwrap();
        let outcomes: Vec<(&str, &str)> = taken.iter().map(|t| (t.file.as_str(), t.outcome)).collect();
        assert_eq!(outcomes, [("bad.csv", "failed"), ("good.csv", "done")]);
        assert_eq!(state.version(), version + 1, "the good file moved the data version on");
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("done/good.csv.report.json")).unwrap())
                .unwrap();
        assert_eq!(report["inserted"], 1);
        let failed = std::fs::read_to_string(dir.path().join("failed/bad.csv.report.json")).unwrap();
        assert!(failed.contains("missing required column"), "{failed}");
        assert!(dir.path().join("copying.csv.part").exists());
        // The same name again goes beside the first.
        std::fs::write(dir.path().join("good.csv"), format!("{header}\n")).unwrap();
        watch.scan(&state, &mut seen).await.unwrap();
        watch.scan(&state, &mut seen).await.unwrap();
        assert!(dir.path().join("done/good-2.csv").exists());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_scheduled_briefing_is_written_into_the_briefings_directory() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(&dir.path().join("briefings"));
        let schedule = BriefingSchedule {
            when: "MON 08:00".parse().unwrap(),
            dir: dir.path().join("briefings"),
        };
        let written = schedule.make(&state, "2026-W43").await.unwrap();
        assert_eq!(written, dir.path().join("briefings/2026-W43"));
        let manifest: fengqiao_analytics::briefing::Manifest =
            serde_json::from_slice(&std::fs::read(written.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest.period, "2026-W43");
        assert!(manifest.files.iter().all(|f| written.join(f).exists()));
    }

    #[test]
    fn partial_and_hidden_files_are_left_alone() {
        for name in [".x.csv", "a.csv.part", "b.tmp", "~$c.xlsx", "d.csv.report.json"] {
            assert!(ignored(name), "{name}");
        }
        assert!(!ignored("cases.csv"));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.csv"), "x").unwrap();
        assert_eq!(free_name(dir.path(), "a.csv"), dir.path().join("a-2.csv"));
        assert_eq!(free_name(dir.path(), "b.csv"), dir.path().join("b.csv"));
    }
}
