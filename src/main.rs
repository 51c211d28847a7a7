//! `fengqiao`: the command line. Generates realistic case data, ingests case files into the DuckDB
//! store, and runs the demo. Each subcommand is a thin layer over a library crate.

mod briefing;
mod heat;
mod trends;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};
use fengqiao_generator::{GenerateOptions, HeaderLanguage};
use fengqiao_ingest::coords::Crs;
use fengqiao_ingest::read::Encoding;
use fengqiao_ingest::store::Progress;
use fengqiao_ingest::{IngestOptions, IngestReport, Region, Store};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "fengqiao",
    version,
    about = "矛盾热力图 — contradiction heat maps from dispute-resolution case records"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate realistic synthetic cases with planted patterns (and FILE.truth.json).
    Generate {
        /// Region directory (default: the embedded Chenzhou region).
        #[arg(long)]
        region: Option<PathBuf>,
        /// Calendar months to cover, ending with --end.
        #[arg(long, default_value_t = 12)]
        months: u32,
        /// Total number of cases instead of the region's natural volume (e.g. 1000000 for benchmarks).
        #[arg(long)]
        cases: Option<u64>,
        /// Last day of the period.
        #[arg(long, default_value = "2026-10-31")]
        end: NaiveDate,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Header language of CSV output.
        #[arg(long, value_enum, default_value_t = Headers::En)]
        headers: Headers,
        /// Over-dispersion α of the background: each village's cases vary with a relative risk of
        /// variance α (stable and monthly parts), as real registers do; 0 = Poisson.
        #[arg(long, default_value_t = 0.0)]
        dispersion: f64,
        /// Output file: .csv, .ndjson or .parquet.
        #[arg(long)]
        out: PathBuf,
    },
    /// Validate and load case files (CSV in UTF-8 or GB18030, NDJSON, Parquet) into the store.
    Ingest {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, default_value = "fengqiao.duckdb")]
        db: PathBuf,
        #[arg(long)]
        region: Option<PathBuf>,
        /// Force the CSV encoding (utf-8 or gb18030) instead of detecting it.
        #[arg(long)]
        encoding: Option<Encoding>,
        /// Coordinate system of rows with no `crs` value.
        #[arg(long, default_value = "gcj02")]
        crs: Crs,
        /// DuckDB's memory limit while loading.
        #[arg(long, default_value = "256MB")]
        memory_limit: String,
        /// Print the reports as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The contradiction heat map: one row per H3 cell of the study area with counts, Gi* and level.
    Heatmap {
        #[command(flatten)]
        args: heat::HeatArgs,
        /// Drop cells without cases.
        #[arg(long)]
        nonzero: bool,
    },
    /// Hot-spot clusters with their four-level response, reason, places and categories.
    Hotspots {
        #[command(flatten)]
        args: heat::HeatArgs,
    },
    /// Emerging hot spots: space-time Gi* per step, Mann–Kendall trends and the 17 pattern classes.
    Trends {
        #[command(flatten)]
        args: trends::TrendsArgs,
    },
    /// Recurring problems (类案) by unit and category with their lead department, or (--chains)
    /// repeat chains at risk of escalation.
    Recurring {
        #[command(flatten)]
        args: trends::RecurringArgs,
    },
    /// Kulldorff's scan statistic on H3 cells: clusters of cases beyond what the residents explain
    /// (spatial, or --prospective: space-time cylinders ending now), Monte Carlo p-values.
    Scan {
        #[command(flatten)]
        args: trends::ScanArgs,
    },
    /// Early-warning alerts: units × categories whose last 7 days exceed their seasonal baseline.
    Alerts {
        #[command(flatten)]
        args: trends::AlertsArgs,
    },
    /// The weekly hot-spot briefing (--week 2026-W44) or the monthly early-warning report
    /// (--month 2026-10): PDF, HTML and PNG figures in --out DIR.
    Briefing {
        #[command(flatten)]
        args: briefing::BriefingArgs,
    },
    /// The tile server and API (vector and raster tiles, TileJSON, JSON/CSV/Arrow API, live updates).
    Serve {
        #[arg(long, default_value = "fengqiao.duckdb")]
        db: PathBuf,
        /// Address to listen on; anything but loopback needs tokens in --config (and 0.0.0.0 its
        /// host names, `hosts = [...]`). Without tokens an admin token is generated for the run.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Server configuration: tokens with roles and unit scopes (docs/api.md).
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        region: Option<PathBuf>,
        /// Directory of `fengqiao briefing` outputs served at /briefings/ (default: `briefings`
        /// beside the store).
        #[arg(long)]
        briefings: Option<PathBuf>,
    },
    /// Build the default region's data set if missing, ingest it, and print a summary.
    Demo {
        /// Where the demo keeps its data file and store.
        #[arg(long, default_value = "demo-data")]
        dir: PathBuf,
        #[arg(long)]
        region: Option<PathBuf>,
        /// Then serve it (as `fengqiao serve`) on this address, e.g. 127.0.0.1:8080.
        #[arg(long)]
        serve: Option<std::net::SocketAddr>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Headers {
    En,
    Zh,
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Generate {
            region,
            months,
            cases,
            end,
            seed,
            headers,
            dispersion,
            out,
        } => {
            let region = Region::load_or_default(region.as_deref())?;
            let opts = GenerateOptions {
                months,
                cases,
                end,
                seed,
                headers: match headers {
                    Headers::En => HeaderLanguage::English,
                    Headers::Zh => HeaderLanguage::Chinese,
                },
                dispersion,
            };
            generate(&region, &opts, &out)?;
        }
        Command::Ingest {
            files,
            db,
            region,
            encoding,
            crs,
            memory_limit,
            json,
        } => {
            let region = Region::load_or_default(region.as_deref())?;
            let opts = IngestOptions {
                encoding,
                default_crs: crs,
                memory_limit,
                ..IngestOptions::default()
            };
            let reports = ingest(&db, &region, &files, &opts)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&reports)?);
            }
            let failed = files.len() - reports.len();
            if failed > 0 {
                bail!("{failed} of {} file(s) could not be loaded", files.len());
            }
        }
        Command::Heatmap { args, nonzero } => heat::run_heatmap(&args, nonzero)?,
        Command::Hotspots { args } => heat::run_hotspots(&args)?,
        Command::Trends { args } => trends::run_trends(&args)?,
        Command::Recurring { args } => trends::run_recurring(&args)?,
        Command::Scan { args } => trends::run_scan(&args)?,
        Command::Alerts { args } => trends::run_alerts(&args)?,
        Command::Briefing { args } => briefing::run_briefing(&args)?,
        Command::Serve {
            db,
            addr,
            config,
            region,
            briefings,
        } => serve(&db, addr, config.as_deref(), region.as_deref(), briefings)?,
        Command::Demo {
            dir,
            region,
            serve: addr,
        } => {
            demo(&dir, region.as_deref())?;
            if let Some(addr) = addr {
                serve(&dir.join("fengqiao.duckdb"), addr, None, region.as_deref(), None)?;
            }
        }
    }
    Ok(())
}

fn generate(region: &Region, opts: &GenerateOptions, out: &Path) -> Result<()> {
    let started = std::time::Instant::now();
    let summary =
        fengqiao_generator::generate(region, opts, out).with_context(|| format!("generating {}", out.display()))?;
    eprintln!(
        "generated {} cases ({} to {}) into {} in {:.1} s; ground truth in {}",
        summary.cases,
        summary.start,
        summary.end,
        out.display(),
        started.elapsed().as_secs_f64(),
        summary.truth_path.display()
    );
    Ok(())
}

/// A progress bar on a terminal; nothing in CI or when stderr is redirected.
struct Bar(Option<indicatif::ProgressBar>);

impl Bar {
    fn new() -> Bar {
        let show = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        Bar(show.then(indicatif::ProgressBar::hidden))
    }
}

impl Progress for Bar {
    fn start(&self, file: &Path, total: u64) {
        if let Some(bar) = &self.0 {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_length(total);
            bar.set_position(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {percent}% {elapsed} (eta {eta})")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar.set_message(file.display().to_string());
        }
    }
    fn advance(&self, done: u64) {
        if let Some(bar) = &self.0 {
            bar.set_position(done);
        }
    }
    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// Ingests each file in its own transaction; a file that fails entirely is reported and skipped.
fn ingest(db: &Path, region: &Region, files: &[PathBuf], opts: &IngestOptions) -> Result<Vec<IngestReport>> {
    let mut store = Store::open(db).with_context(|| format!("opening the store {}", db.display()))?;
    let bar = Bar::new();
    let mut reports = Vec::new();
    for file in files {
        match store.ingest_file(file, region, opts, &bar) {
            Ok(report) => {
                print_report(&report);
                reports.push(report);
            }
            Err(e) => eprintln!("error: {e} (nothing from this file was loaded)"),
        }
    }
    Ok(reports)
}

fn print_report(r: &IngestReport) {
    eprintln!(
        "{}: {} rows read in {:.1} s — {} loaded, {} updated, {} unchanged, {} stale, {} rejected",
        r.file,
        r.rows_read,
        r.millis as f64 / 1000.0,
        r.inserted,
        r.updated,
        r.unchanged,
        r.stale,
        r.rejected
    );
    for (reason, n) in &r.rejected_by_reason {
        eprintln!("    rejected {n:>8}  {reason}");
    }
    if r.rejected > 0 {
        eprintln!("    (see the `rejected` table for file, line, field, reason and the raw row)");
    }
    if !r.unknown_columns.is_empty() {
        eprintln!("    ignored unknown columns: {}", r.unknown_columns.join(", "));
    }
}

/// `fengqiao serve`: checks the address against the tokens, opens the store, serves until stopped.
fn serve(
    db: &Path,
    addr: std::net::SocketAddr,
    config: Option<&Path>,
    region_dir: Option<&Path>,
    briefings: Option<PathBuf>,
) -> Result<()> {
    let region = Region::load_or_default(region_dir)?;
    let mut config = match config {
        Some(path) => fengqiao_tiles::config::ServerConfig::load(path, &region)?,
        None => fengqiao_tiles::config::ServerConfig::default(),
    };
    if let Some(dir) = briefings {
        config.briefings_dir = Some(dir);
    } else if config.briefings_dir.is_none() {
        config.briefings_dir = Some(db.parent().unwrap_or(Path::new(".")).join("briefings"));
    }
    config.check_bind(addr)?;
    fengqiao_tiles::server::init_logging(config.log_json);
    if !db.exists() {
        bail!(
            "{}: no such store (run `fengqiao ingest` or `fengqiao demo` first)",
            db.display()
        );
    }
    // No tokens configured: an admin token for this run, shown once and kept in a 0600 file.
    let token_file = db.with_extension("admin-token");
    let generated = config.ensure_token(&token_file)?;
    let store = Store::open(db)?;
    let state = fengqiao_tiles::AppState::new(store, region, config).map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!(
        "serving {} on http://{addr}/ (TileJSON: /tiles/hex.json, API: /api/openapi.json)",
        db.display()
    );
    if let Some(token) = generated {
        eprintln!(
            "no tokens configured: this run's admin token is in {} (only its owner can read it):\n  \
             wall     http://{addr}/?token={token}\n  explorer http://{addr}/explore?token={token}\n  \
             API      Authorization: Bearer {token}",
            token_file.display()
        );
    }
    tokio::runtime::Runtime::new()?.block_on(fengqiao_tiles::server::serve(state, addr))?;
    Ok(())
}

fn demo(dir: &Path, region_dir: Option<&Path>) -> Result<()> {
    let region = Region::load_or_default(region_dir)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let data = dir.join("cases.csv");
    let db = dir.join("fengqiao.duckdb");
    if !data.exists() || !fengqiao_generator::truth_path(&data).exists() {
        let opts = GenerateOptions {
            months: 12,
            cases: None,
            end: NaiveDate::from_ymd_opt(2026, 10, 31).expect("valid date"),
            seed: 42,
            headers: HeaderLanguage::English,
            dispersion: 0.0,
        };
        generate(&region, &opts, &data)?;
    }
    ingest(&db, &region, std::slice::from_ref(&data), &IngestOptions::default())?;
    let store = Store::open(&db)?;
    let s = fengqiao_analytics::kpi::summary(store.conn(), None, None)?;
    println!(
        "\n{} ({}) — {} cases in {}",
        region.name,
        region.name_en,
        s.cases,
        db.display()
    );
    println!("{:<14} {:>9}", "class 类别", "cases");
    for (class, n) in &s.by_class {
        let zh = class
            .parse::<fengqiao_ingest::model::CaseClass>()
            .map(|c| c.zh())
            .unwrap_or("");
        println!("{:<14} {:>9}  {}", class, n, zh);
    }
    println!("\n{:<8} {:<10} {:>9}", "county", "县区", "cases");
    for (code, n) in &s.by_county {
        let name = region.unit(code).map_or("?", |u| u.name.as_str());
        println!("{:<8} {:<10} {:>9}", code, name, n);
    }
    println!(
        "\n办结率 closure rate {:.1}% · 按时办结率 on time {:.1}% · 满意度 satisfaction {}",
        100.0 * s.closure_rate,
        100.0 * s.on_time_rate,
        s.satisfaction_rate
            .map_or("n/a".into(), |r| format!("{:.1}%", 100.0 * r))
    );
    println!("Open the store with the DuckDB CLI or Python: it holds the tables cases, rejected and ingest_log.");
    Ok(())
}
