//! `--config FILE` (every command) and `fengqiao config check`: reading the one configuration
//! (`fengqiao_config::Config`, docs/configuration.md) and printing what is wrong with it.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Subcommand;
use fengqiao_analytics::departments::Departments;
use fengqiao_analytics::response::Rules;
use fengqiao_config::{Config, ConfigError, Problem};
use fengqiao_ingest::Region;

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Check a configuration (default ./fengqiao.toml, or --config FILE): every problem with its
    /// file, line and key; on success a summary of what is in force.
    Check {
        /// Check the tokens' units against this store's region (default: --region, else the
        /// embedded default region).
        #[arg(long)]
        db: Option<PathBuf>,
        #[arg(long)]
        region: Option<PathBuf>,
    },
}

/// The configuration `--config` names, or the defaults without one.
pub fn load(file: Option<&Path>) -> Result<Config> {
    match file {
        None => Ok(Config::default()),
        Some(path) => Config::load(path).map_err(|e| match e {
            ConfigError::Invalid { problems } => anyhow::anyhow!(
                "{}\n(run `fengqiao config check --config {}` after fixing)",
                listed(&problems),
                path.display()
            ),
            e => e.into(),
        }),
    }
}

fn listed(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("error: {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn run(command: &ConfigCommand, file: Option<&Path>) -> Result<()> {
    match command {
        ConfigCommand::Check { db, region } => check(file, db.as_deref(), region.as_deref()),
    }
}

/// `fengqiao config check`.
fn check(file: Option<&Path>, db: Option<&Path>, region_dir: Option<&Path>) -> Result<()> {
    let path = file.unwrap_or(Path::new("fengqiao.toml"));
    let problems = |problems: Vec<Problem>| -> Result<()> {
        eprintln!("{}", listed(&problems));
        bail!("{}: {} problem(s)", path.display(), problems.len())
    };
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(ConfigError::Invalid { problems: found }) => return problems(found),
        Err(e) => return Err(e.into()),
    };
    let region = match db {
        Some(db) => crate::region::for_store(&crate::region::read_only(db)?, db, region_dir)?,
        None => Region::load_or_default(region_dir)?,
    };
    if let Err(ConfigError::Invalid { problems: found }) = config.check_region(&region) {
        return problems(found);
    }
    print_summary(path, &config, &region);
    Ok(())
}

/// Where a section came from: its file, else inline or the shipped default.
fn origin(file: &Option<PathBuf>, shipped: bool) -> String {
    match file {
        Some(f) => f.display().to_string(),
        None if shipped => "shipped".into(),
        None => "inline".into(),
    }
}

fn print_summary(path: &Path, config: &Config, region: &Region) {
    let rules = config.rules();
    println!("{}: ok", path.display());
    println!(
        "  rules          {} ({}): {} risk rules, {} volume rules, category_share {}",
        rules.name,
        origin(&config.rules.file, *rules == Rules::default()),
        rules.rules.len(),
        rules.volume_rules.len(),
        rules.category_share
    );
    let shipped = *config.departments() == Departments::default();
    println!("  departments    {}", origin(&config.departments.file, shipped));
    println!(
        "  suppress_below {} (k of the display projection)",
        config.suppress_below
    );
    let tokens: Vec<String> = config
        .tokens
        .iter()
        .map(|t| match &t.unit {
            Some(unit) => format!("{} ({}, {unit})", t.name, t.role.code()),
            None => format!("{} ({})", t.name, t.role.code()),
        })
        .collect();
    println!(
        "  tokens         {}",
        if tokens.is_empty() {
            "none (serve generates an admin token, loopback only)".into()
        } else {
            tokens.join(", ")
        }
    );
    let l = &config.limits;
    println!(
        "  limits         {} workers, queue {}, {} per token, {} s a request, {} cells, DuckDB {}",
        l.workers, l.queue, l.per_token, l.request_seconds, l.cells, l.memory
    );
    let schedule = config.briefing.schedule.map_or("none".to_string(), |w| {
        format!("{:?} {}", w.weekday, w.at.format("%H:%M"))
    });
    println!("  briefing       top {}, schedule {schedule}", config.briefing.top);
    println!(
        "  region         {} {} (the tokens' units are in it)",
        region.code, region.name
    );
}
