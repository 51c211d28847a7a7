//! `fengqiao region import | show | check | update`, and how every command finds its region: the
//! store's own (recorded by its first ingest), `--region DIR` when the store has none yet, the
//! default for a store made before stores recorded their region. A `--region` that is not the
//! store's is refused naming both.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use fengqiao_ingest::import::{import, load_recipe, ImportError};
use fengqiao_ingest::migrate::{self, SchemaError};
use fengqiao_ingest::stored::{self, StoreRegion};
use fengqiao_ingest::{Region, Store};

#[derive(Subcommand)]
pub enum RegionCommand {
    /// Build a region directory from a centre's boundary files and unit tables, described by a
    /// recipe (TOML; data/README.md). Nothing is written when anything is wrong.
    Import {
        /// The recipe; its file paths are relative to it.
        recipe: PathBuf,
        /// The region directory to write.
        #[arg(long)]
        out: PathBuf,
        /// Replace the region files of an existing directory.
        #[arg(long)]
        force: bool,
        /// Also write the report (errors, warnings, repairs) as JSON.
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// The region a store was made with (or a region directory): name, code, level, hash, units per
    /// level, and the store's region log.
    Show {
        #[arg(long, conflicts_with = "region", required_unless_present = "region")]
        db: Option<PathBuf>,
        #[arg(long)]
        region: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Move a store to a new version of its region (same code), re-placing the cases it affects;
    /// logged in the store's region_log.
    Update {
        /// The new region directory.
        region: PathBuf,
        #[arg(long, default_value = "fengqiao.duckdb")]
        db: PathBuf,
        /// Report what would change without writing.
        #[arg(long)]
        dry_run: bool,
    },
}

pub fn run(command: RegionCommand) -> Result<()> {
    match command {
        RegionCommand::Import {
            recipe,
            out,
            force,
            report,
        } => {
            if out.join("region.toml").exists() && !force {
                bail!(
                    "{}: already a region directory (give --force to replace its files)",
                    out.display()
                );
            }
            let parsed = load_recipe(&recipe)?;
            let base = recipe.parent().unwrap_or(Path::new("."));
            let started = std::time::Instant::now();
            let (files, findings) = match import(&parsed, base) {
                Ok(done) => done,
                Err(ImportError::Invalid(findings)) => {
                    if let Some(path) = &report {
                        std::fs::write(path, serde_json::to_string_pretty(&findings)?)?;
                    }
                    bail!("{}: the region was not written:\n{findings}", recipe.display());
                }
                Err(e) => return Err(e.into()),
            };
            if let Some(path) = &report {
                std::fs::write(path, serde_json::to_string_pretty(&findings)?)?;
            }
            files.write(&out)?;
            let region = Region::load(&out)?;
            println!("{findings}");
            eprintln!(
                "wrote {} ({}) into {} in {:.1} s",
                region.describe(),
                region.name_en,
                out.display(),
                started.elapsed().as_secs_f64()
            );
        }
        RegionCommand::Show { db, region, json } => show(db.as_deref(), region.as_deref(), json)?,
        RegionCommand::Update { region, db, dry_run } => {
            if !db.exists() {
                bail!("{}: no such store", db.display());
            }
            let new = Region::load(&region)?;
            let mut store = open_store(&db)?;
            let update = store.update_region(&new, dry_run)?;
            println!("{}", serde_json::to_string_pretty(&update)?);
            eprintln!(
                "{} {} of {} cases ({} → {})",
                if dry_run { "would re-place" } else { "re-placed" },
                update.replaced,
                update.cases,
                update.from,
                update.to
            );
        }
    }
    Ok(())
}

fn show(db: Option<&Path>, dir: Option<&Path>, json: bool) -> Result<()> {
    let (region, record, log) = match (db, dir) {
        (Some(db), _) => {
            let conn = read_only(db)?;
            let name = db.display().to_string();
            let record = stored::store_region(&conn)?;
            let region = stored::region_for(&conn, &name, None)?;
            (region, Some(record), stored::region_log(&conn)?)
        }
        (None, Some(dir)) => (Region::load(dir)?, None, Vec::new()),
        (None, None) => bail!("give --db or --region"),
    };
    let counts: Vec<serde_json::Value> = stored::unit_counts(&region)
        .iter()
        .map(|(l, n, p)| serde_json::json!({ "level": l.code(), "units": n, "polygons": p }))
        .collect();
    let recorded = match &record {
        Some(StoreRegion::Recorded(r)) => serde_json::to_value(r)?,
        Some(StoreRegion::AssumedDefault) => {
            serde_json::json!("none: the store was made before stores recorded their region, with the default")
        }
        Some(StoreRegion::None) => serde_json::json!("none yet: the store has no cases"),
        None => serde_json::Value::Null,
    };
    let value = serde_json::json!({
        "name": region.name, "name_en": region.name_en, "code": region.code, "level": region.level.code(),
        "hash": region.hash, "units": counts, "recorded": recorded, "log": log,
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!(
        "{} ({}) — {} {}, region hash {}",
        region.name,
        region.name_en,
        region.level.zh(),
        region.code,
        region.hash
    );
    for (level, units, polygons) in stored::unit_counts(&region) {
        println!("  {:<9} {units:>7} units, {polygons:>7} with a polygon", level.code());
    }
    match record {
        Some(StoreRegion::Recorded(r)) => println!("recorded {} from {}", r.recorded_at, r.origin),
        Some(_) => println!("recorded: {}", recorded.as_str().unwrap_or_default()),
        None => {}
    }
    for entry in log {
        println!(
            "  {} {}: {} ({} cases re-placed)",
            entry.logged_at, entry.action, entry.message, entry.cases_replaced
        );
    }
    Ok(())
}

/// A read-only connection to a store (works beside a running server only if DuckDB allows it).
pub fn read_only(db: &Path) -> Result<duckdb::Connection> {
    if !db.exists() {
        bail!(
            "{}: no such store (run `fengqiao ingest` or `fengqiao demo` first)",
            db.display()
        );
    }
    let open = || -> Result<duckdb::Connection> {
        let config = duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly)?;
        duckdb::Connection::open_with_flags(db, config).with_context(|| {
            format!(
                "opening {} read-only (while `fengqiao serve` has it open, ask the server instead)",
                db.display()
            )
        })
    };
    let conn = open()?;
    match migrate::check_readable(&conn, &db.display().to_string()) {
        Ok(_) => Ok(conn),
        // Made by an earlier release: migrated once (which needs writing), then read.
        Err(SchemaError::NeedsMigration { .. }) => {
            drop(conn);
            drop(open_store(db)?);
            open()
        }
        Err(e) => Err(e.into()),
    }
}

/// Opens the store for writing: an older one is migrated (said on standard error), a newer one
/// refused.
pub fn open_store(db: &Path) -> Result<Store> {
    let store = Store::open(db)?;
    if let Some(message) = store.opened().message() {
        eprintln!("{}: {message}", db.display());
    }
    Ok(store)
}

/// The region to use with the store on `conn` (see the module's text).
pub fn for_store(conn: &duckdb::Connection, db: &Path, asked: Option<&Path>) -> Result<Region> {
    let asked = asked.map(Region::load).transpose()?;
    Ok(stored::region_for(conn, &db.display().to_string(), asked)?)
}
