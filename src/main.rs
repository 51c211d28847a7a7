//! `fengqiao`: the command line. Generates realistic case data, ingests case files into the DuckDB
//! store, and runs the demo. Each subcommand is a thin layer over a library crate.

mod briefing;
mod config;
mod heat;
mod region;
mod trends;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};
use fengqiao_generator::{GenerateOptions, HeaderLanguage};
use fengqiao_ingest::coords::Crs;
use fengqiao_ingest::mapping::{Mapping, SheetRef};
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
    /// The configuration: response rules, departments, suppression, tokens, limits, the briefing
    /// schedule (fengqiao.toml, docs/configuration.md). Without it, the defaults.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
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
    /// Build, inspect or update regions (`region import RECIPE --out DIR`, `region show --db`).
    Region {
        #[command(subcommand)]
        command: region::RegionCommand,
    },
    /// Validate and load case files (CSV in UTF-8 or GB18030, NDJSON, Parquet, XLSX/XLS sheets) into
    /// the store; --inspect proposes a mapping for a centre's own export, --dry-run loads nothing.
    Ingest {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, default_value = "fengqiao.duckdb")]
        db: PathBuf,
        /// Region directory: recorded by the store's first ingest; later ones must match it.
        #[arg(long)]
        region: Option<PathBuf>,
        /// Mapping of the export's headers and words onto the columns (TOML; docs/input-format.md).
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// Sheet of a workbook, by name or number (default: the mapping's, else the first).
        #[arg(long)]
        sheet: Option<SheetRef>,
        /// Read a sample of the (one) file and propose a mapping instead of loading.
        #[arg(long, conflicts_with_all = ["dry_run", "mapping"])]
        inspect: bool,
        /// Where --inspect writes its proposal (default: standard output).
        #[arg(long, requires = "inspect")]
        out: Option<PathBuf>,
        /// Report what would load and what would be rejected, by reason, without writing.
        #[arg(long)]
        dry_run: bool,
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
    /// The tile server and API (vector and raster tiles, TileJSON, JSON/CSV/Arrow API, live updates)
    /// with --config's tokens, limits, rules and departments.
    Serve {
        #[arg(long, default_value = "fengqiao.duckdb")]
        db: PathBuf,
        /// Address to listen on; anything but loopback needs tokens in --config (and 0.0.0.0 its
        /// host names, `hosts = [...]`). Without tokens an admin token is generated for the run.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        #[arg(long)]
        region: Option<PathBuf>,
        /// Directory of `fengqiao briefing` outputs served at /briefings/ (default: `briefings`
        /// beside the store).
        #[arg(long)]
        briefings: Option<PathBuf>,
        #[command(flatten)]
        live: LiveArgs,
    },
    /// The configuration file: `config check` validates it (docs/configuration.md).
    Config {
        #[command(subcommand)]
        command: config::ConfigCommand,
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

/// `fengqiao serve`'s live intake and scheduled briefings (fengqiao_tiles::watch).
#[derive(clap::Args, Default)]
struct LiveArgs {
    /// Ingest case files dropped into this folder (moved to done/ or failed/ with a report).
    #[arg(long)]
    watch: Option<PathBuf>,
    /// Seconds between scans of --watch.
    #[arg(long, default_value_t = 5)]
    watch_interval: u64,
    /// Mapping for the files of --watch (docs/input-format.md).
    #[arg(long, requires = "watch")]
    mapping: Option<PathBuf>,
    /// Make the weekly briefing of the week before at this weekday and time, e.g. "MON 08:00"
    /// (default: the configuration's `[briefing] schedule`).
    #[arg(long)]
    briefing_schedule: Option<fengqiao_tiles::watch::Weekly>,
}

/// The live tasks, checked before the server starts.
struct Live {
    watch: Option<fengqiao_tiles::watch::Watch>,
    schedule: Option<fengqiao_tiles::watch::BriefingSchedule>,
}

impl LiveArgs {
    fn check(self, briefings: Option<PathBuf>, configured: Option<fengqiao_tiles::watch::Weekly>) -> Result<Live> {
        let watch = match self.watch {
            Some(dir) => {
                if !dir.is_dir() {
                    bail!("--watch {}: not a directory", dir.display());
                }
                let mapping = self.mapping.as_deref().map(Mapping::load).transpose()?.map(Arc::new);
                Some(fengqiao_tiles::watch::Watch {
                    dir,
                    interval: std::time::Duration::from_secs(self.watch_interval.max(1)),
                    options: IngestOptions {
                        mapping,
                        ..IngestOptions::default()
                    },
                })
            }
            None => None,
        };
        let schedule = match (self.briefing_schedule.or(configured), briefings) {
            (Some(when), Some(dir)) => Some(fengqiao_tiles::watch::BriefingSchedule { when, dir }),
            (Some(_), None) => bail!("--briefing-schedule needs a briefings directory (--briefings)"),
            (None, _) => None,
        };
        Ok(Live { watch, schedule })
    }
}

impl Live {
    fn spawn(self, state: &Arc<fengqiao_tiles::AppState>) {
        if let Some(watch) = self.watch {
            eprintln!("watching {} for case files", watch.dir.display());
            watch.spawn(state);
        }
        if let Some(schedule) = self.schedule {
            eprintln!(
                "weekly briefing every {:?} {} into {}",
                schedule.when.weekday,
                schedule.when.at,
                schedule.dir.display()
            );
            schedule.spawn(state);
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Headers {
    En,
    Zh,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    // Read by the commands that use it (a bad file stops them before they start).
    let file = cli.config.as_deref();
    let config = || config::load(file);
    match cli.command {
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
        Command::Region { command } => region::run(command)?,
        Command::Ingest {
            files,
            db,
            region,
            mapping,
            sheet,
            inspect,
            out,
            dry_run,
            encoding,
            crs,
            memory_limit,
            json,
        } => {
            if inspect {
                return inspect_file(&files, encoding, sheet.as_ref(), out.as_deref());
            }
            let mapping = mapping.as_deref().map(Mapping::load).transpose()?.map(Arc::new);
            let opts = IngestOptions {
                encoding,
                default_crs: crs,
                memory_limit,
                mapping,
                sheet,
                ..IngestOptions::default()
            };
            let reports = if dry_run {
                dry_run_ingest(&db, region.as_deref(), &files, &opts)?
            } else {
                ingest(&db, region.as_deref(), &files, &opts)?
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&reports)?);
            }
            let failed = files.len() - reports.len();
            if failed > 0 {
                bail!("{failed} of {} file(s) could not be loaded", files.len());
            }
        }
        Command::Heatmap { args, nonzero } => heat::run_heatmap(&args, nonzero, &config()?)?,
        Command::Hotspots { args } => heat::run_hotspots(&args, &config()?)?,
        Command::Trends { args } => trends::run_trends(&args)?,
        Command::Recurring { args } => trends::run_recurring(&args, &config()?)?,
        Command::Scan { args } => trends::run_scan(&args)?,
        Command::Alerts { args } => trends::run_alerts(&args, &config()?)?,
        Command::Briefing { args } => briefing::run_briefing(&args, &config()?)?,
        Command::Serve {
            db,
            addr,
            region,
            briefings,
            live,
        } => serve(&db, addr, config()?, region.as_deref(), briefings, live)?,
        Command::Config { command } => config::run(&command, file)?,
        Command::Demo {
            dir,
            region,
            serve: addr,
        } => {
            demo(&dir, region.as_deref())?;
            if let Some(addr) = addr {
                let live = LiveArgs::default();
                serve(
                    &dir.join("fengqiao.duckdb"),
                    addr,
                    config()?,
                    region.as_deref(),
                    None,
                    live,
                )?;
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

/// Ingests each file in its own transaction; a file that fails entirely is reported and skipped. The
/// region is the store's (or `--region` for a store that has none yet); another one is refused
/// before any file is read.
fn ingest(db: &Path, region_dir: Option<&Path>, files: &[PathBuf], opts: &IngestOptions) -> Result<Vec<IngestReport>> {
    let mut store = region::open_store(db).with_context(|| format!("opening the store {}", db.display()))?;
    let region = region::for_store(store.conn(), db, region_dir)?;
    load_files(&mut store, &region, files, opts, false)
}

/// `--dry-run`: the files loaded into a store in memory (with the real store's region), reported.
fn dry_run_ingest(
    db: &Path,
    region_dir: Option<&Path>,
    files: &[PathBuf],
    opts: &IngestOptions,
) -> Result<Vec<IngestReport>> {
    let region = if db.exists() {
        region::for_store(&region::read_only(db)?, db, region_dir)?
    } else {
        Region::load_or_default(region_dir)?
    };
    let mut scratch = Store::open_in_memory()?;
    load_files(&mut scratch, &region, files, opts, true)
}

fn load_files(
    store: &mut Store,
    region: &Region,
    files: &[PathBuf],
    opts: &IngestOptions,
    dry_run: bool,
) -> Result<Vec<IngestReport>> {
    let bar = Bar::new();
    let mut reports = Vec::new();
    for file in files {
        match store.ingest_file(file, region, opts, &bar) {
            Ok(report) => {
                print_report(&report, dry_run);
                reports.push(report);
            }
            Err(e @ fengqiao_ingest::IngestError::Region(_)) => return Err(e.into()),
            Err(e) => eprintln!("error: {e} (nothing from this file was loaded)"),
        }
    }
    Ok(reports)
}

/// `--inspect`: a proposed mapping for one file.
fn inspect_file(
    files: &[PathBuf],
    encoding: Option<Encoding>,
    sheet: Option<&SheetRef>,
    out: Option<&Path>,
) -> Result<()> {
    let [file] = files else {
        bail!("--inspect reads one file");
    };
    let inspection = fengqiao_ingest::inspect::inspect(file, encoding, sheet, None)?;
    let mapping = inspection.to_mapping();
    Mapping::parse(&mapping, "the proposal").context("the proposed mapping does not parse (a bug)")?;
    match out {
        Some(path) => {
            std::fs::write(path, &mapping).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote the proposed mapping to {}", path.display());
        }
        None => print!("{mapping}"),
    }
    let unmapped = inspection.unmapped();
    eprintln!(
        "{}: {} rows sampled, {} headers; {} thing(s) to look at:",
        inspection.file,
        inspection.rows_sampled,
        inspection.headers.len(),
        unmapped.len()
    );
    for u in unmapped {
        eprintln!("    {u}");
    }
    Ok(())
}

fn print_report(r: &IngestReport, dry_run: bool) {
    let sheet = r.sheet.as_deref().map(|s| format!(" sheet {s:?}")).unwrap_or_default();
    eprintln!(
        "{}{sheet}: {} rows read in {:.1} s — {} {}, {} updated, {} unchanged, {} stale, {} rejected",
        r.file,
        r.rows_read,
        r.millis as f64 / 1000.0,
        r.inserted,
        if dry_run {
            "would load (nothing written)"
        } else {
            "loaded"
        },
        r.updated,
        r.unchanged,
        r.stale,
        r.rejected
    );
    let placed: Vec<String> = r.placed_by.iter().map(|(k, n)| format!("{k} {n}")).collect();
    if !placed.is_empty() {
        eprintln!("    placed by: {}", placed.join(", "));
    }
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

/// `fengqiao serve`: checks the address against the tokens, opens the store, checks the tokens'
/// units against its region, serves until stopped.
fn serve(
    db: &Path,
    addr: std::net::SocketAddr,
    mut config: fengqiao_config::Config,
    region_dir: Option<&Path>,
    briefings: Option<PathBuf>,
    live: LiveArgs,
) -> Result<()> {
    // Refused before anything else: an open address without tokens (or hosts).
    config.check_bind(addr)?;
    if !db.exists() {
        bail!(
            "{}: no such store (run `fengqiao ingest` or `fengqiao demo` first)",
            db.display()
        );
    }
    let store = region::open_store(db)?;
    let region = region::for_store(store.conn(), db, region_dir)?;
    config.check_region(&region)?;
    if let Some(dir) = briefings {
        config.briefings_dir = Some(dir);
    } else if config.briefings_dir.is_none() {
        config.briefings_dir = Some(db.parent().unwrap_or(Path::new(".")).join("briefings"));
    }
    init_logging(config.log_json);
    // No tokens configured: an admin token for this run, shown once and kept in a 0600 file.
    let token_file = db.with_extension("admin-token");
    let generated = config.ensure_token(&token_file)?;
    let briefings_dir = config.briefings_dir.clone();
    let live = live.check(briefings_dir, config.briefing.schedule)?;
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
    tokio::runtime::Runtime::new()?.block_on(async move {
        live.spawn(&state);
        fengqiao_tiles::server::serve(state, addr).await
    })?;
    Ok(())
}

fn demo(dir: &Path, region_dir: Option<&Path>) -> Result<()> {
    let region = Region::load_or_default(region_dir)?;
    let region_dir = region_dir.map(Path::to_path_buf);
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
    ingest(
        &db,
        region_dir.as_deref(),
        std::slice::from_ref(&data),
        &IngestOptions::default(),
    )?;
    let store = region::open_store(&db)?;
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

/// Logs to standard error, as text or JSON lines; `RUST_LOG` sets the level (default `info`).
fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation is harmless.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
