//! `fengqiao trends`, `fengqiao recurring` and `fengqiao alerts`: emerging hot spots, recurring
//! problems (类案) with repeat chains, and early-warning alerts, as CSV or JSON.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use fengqiao_analytics::cube::{cube, last_case_day, CubeOptions, Space, Step};
use fengqiao_analytics::departments::Departments;
use fengqiao_analytics::emerging::{emerging_hot_spots, EmergingOptions, GlobalWindow, LocationTrend};
use fengqiao_analytics::pattern::Pattern;
use fengqiao_analytics::recurring::{
    recurring, repeat_chains, ChainOptions, RecurringOptions, RecurringProblem, RepeatChain,
};
use fengqiao_analytics::warning::{alerts, Alert, AlertOptions};
use fengqiao_config::Config;
use fengqiao_ingest::model::AdminLevel;

use crate::heat::{sink, time_arg, FilterArgs, RiskArgs};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    Csv,
    Json,
}

/// Output arguments of the three commands.
#[derive(Args)]
pub struct OutputArgs {
    #[arg(long, value_enum)]
    pub format: Option<TableFormat>,
    /// Output file (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl OutputArgs {
    fn format(&self) -> TableFormat {
        self.format.unwrap_or_else(
            || match self.out.as_ref().and_then(|p| p.extension()).and_then(|e| e.to_str()) {
                Some("json") => TableFormat::Json,
                _ => TableFormat::Csv,
            },
        )
    }

    fn write_json(&self, value: &impl serde::Serialize) -> Result<()> {
        let mut out = sink(self.out.as_deref())?;
        serde_json::to_writer_pretty(&mut out, value)?;
        writeln!(out)?;
        out.flush()?;
        Ok(())
    }

    /// One CSV row per item, one column per (name, value) pair.
    fn write_table<T>(&self, columns: &[Column<T>], rows: &[T]) -> Result<()> {
        let mut csv = csv::Writer::from_writer(sink(self.out.as_deref())?);
        csv.write_record(columns.iter().map(|(name, _)| *name))?;
        for row in rows {
            csv.write_record(columns.iter().map(|(_, value)| value(row)))?;
        }
        csv.flush()?;
        Ok(())
    }
}

/// A CSV column: its name and how to write it.
type Column<T> = (&'static str, fn(&T) -> String);

/// Counts as `3;0;1`.
fn joined(values: &[u32]) -> String {
    values.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(";")
}

fn level_arg(value: &str) -> Result<AdminLevel> {
    let level: AdminLevel = value.parse().map_err(|e| anyhow::anyhow!("--level {value:?}: {e}"))?;
    anyhow::ensure!(
        level != AdminLevel::City,
        "--level {value:?}: use county, township, village or grid"
    );
    Ok(level)
}

fn step_arg(value: &str) -> Result<Step> {
    value.parse::<Step>().map_err(|e| anyhow::anyhow!("--step: {e}"))
}

/// `--departments FILE`, else the configuration's table.
fn departments(path: &Option<PathBuf>, config: &Config) -> Result<Departments> {
    Ok(match path {
        Some(p) => Departments::load(p)?,
        None => config.departments().clone(),
    })
}

/// `fengqiao trends`.
#[derive(Args)]
pub struct TrendsArgs {
    #[command(flatten)]
    pub cases: FilterArgs,
    /// H3 resolution of the locations (5 to 10), unless --level is given.
    #[arg(long, default_value_t = 8)]
    pub res: u8,
    /// Admin units as locations instead of cells: county, township, village or grid.
    #[arg(long)]
    pub level: Option<String>,
    /// Time step: day, week or month.
    #[arg(long, default_value = "week")]
    pub step: String,
    /// Number of steps, ending on --to (default: the last day with cases). A year of weeks separates
    /// intensifying from persistent far better than half a year.
    #[arg(long, default_value_t = 52)]
    pub steps: usize,
    /// Spatial neighbourhood: grid steps for cells, nearest units for --level (0: 6).
    #[arg(long, default_value_t = 1)]
    pub k: u32,
    /// Earlier time steps in each bin's neighbourhood.
    #[arg(long, default_value_t = 1)]
    pub time_window: usize,
    /// Significance level of a bin.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Test each bin on its own instead of controlling the false discovery rate over the cube.
    #[arg(long)]
    pub no_fdr: bool,
    /// Compare each bin with the whole cube (ArcGIS's default) instead of with its own time step.
    #[arg(long)]
    pub global_cube: bool,
    /// Only these patterns (codes like new_hot_spot, English or Chinese names), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub pattern: Vec<Pattern>,
    #[command(flatten)]
    pub risk: RiskArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run_trends(args: &TrendsArgs) -> Result<()> {
    let (region, conn) = args.cases.open()?;
    let space = match &args.level {
        Some(level) => Space::Units(level_arg(level)?),
        None => Space::Cells(fengqiao_analytics::cells::resolution(args.res)?),
    };
    anyhow::ensure!(args.steps >= 3, "--steps {}: at least 3 steps make a trend", args.steps);
    let opts = CubeOptions {
        space,
        step: step_arg(&args.step)?,
        steps: args.steps,
        last_day: args.cases.last_day()?,
        filter: args.cases.filter()?,
        measure: args.risk.measure,
    };
    let cube = cube(&conn, &region, &opts)?;
    let mut result = emerging_hot_spots(
        &region,
        &cube,
        &EmergingOptions {
            k: args.k,
            time_window: args.time_window,
            alpha: args.alpha,
            fdr: !args.no_fdr,
            global: if args.global_cube {
                GlobalWindow::Cube
            } else {
                GlobalWindow::Step
            },
            risk: args.risk.options(),
        },
    );
    if !args.pattern.is_empty() {
        result.locations.retain(|l| args.pattern.contains(&l.pattern));
    }
    eprintln!(
        "{} locations × {} steps ({} … {}), measure: {}; {}",
        cube.locations.len(),
        cube.steps(),
        result.periods.first().map_or("", |s| s.as_str()),
        result.periods.last().map_or("", |s| s.as_str()),
        if result.options.risk {
            args.risk.measure.en()
        } else {
            fengqiao_analytics::measure::Measure::Count.en()
        },
        result
            .pattern_counts
            .iter()
            .filter(|(p, &n)| n > 0 && **p != Pattern::NoPattern)
            .map(|(p, n)| format!("{} {n}", p.name_zh()))
            .collect::<Vec<_>>()
            .join("，")
    );
    if args.output.format() == TableFormat::Json {
        return args.output.write_json(&result);
    }
    let mut columns: Vec<Column<LocationTrend>> = vec![
        ("name", |l| l.name.clone()),
        ("county_code", |l| l.county_code.clone()),
        ("township_code", |l| l.township_code.clone()),
        ("village_code", |l| l.village_code.clone()),
        ("pattern", |l| l.pattern.code().to_string()),
        ("pattern_zh", |l| l.pattern.name_zh().to_string()),
        ("total", |l| l.total.to_string()),
        ("counts", |l| joined(&l.counts)),
        ("hot_steps", |l| l.hot_steps.to_string()),
        ("cold_steps", |l| l.cold_steps.to_string()),
        ("mk_s", |l| l.mk_s.to_string()),
        ("mk_z", |l| format!("{:.6}", l.mk_z)),
        ("mk_tau", |l| format!("{:.6}", l.mk_tau)),
        ("mk_p", |l| format!("{:.6e}", l.mk_p)),
        ("count_mk_s", |l| l.count_mk_s.to_string()),
        ("count_mk_tau", |l| format!("{:.6}", l.count_mk_tau)),
        ("count_mk_p", |l| format!("{:.6e}", l.count_mk_p)),
        ("count_trend", |l| l.count_trend.code().to_string()),
        ("gi_z_last", |l| format!("{:.6}", l.gi_z_last)),
        ("gi_p_last", |l| format!("{:.6e}", l.gi_p_last)),
    ];
    let key = if args.level.is_some() { "unit_code" } else { "h3" };
    columns.insert(0, (key, |l| l.location.clone()));
    args.output.write_table(&columns, &result.locations)
}

/// `fengqiao recurring`.
#[derive(Args)]
pub struct RecurringArgs {
    #[command(flatten)]
    pub cases: FilterArgs,
    /// Admin level of the problems: county, township, village or grid.
    #[arg(long, default_value = "village")]
    pub level: String,
    #[arg(long, default_value = "week")]
    pub step: String,
    /// Steps examined (ending on --to, default the last day with cases) …
    #[arg(long, default_value_t = 8)]
    pub window: usize,
    /// … of which at least this many must have cases.
    #[arg(long, default_value_t = 4)]
    pub min_active: usize,
    /// Steps of history for the trend.
    #[arg(long, default_value_t = 26)]
    pub history: usize,
    /// Category → department table (TOML) instead of the configuration's (default: the shipped
    /// analytics/config/departments.toml).
    #[arg(long)]
    pub departments: Option<PathBuf>,
    /// List repeat chains (the 民转刑 watch list) instead of recurring problems.
    #[arg(long)]
    pub chains: bool,
    /// Cases of the same village, category and party within this many days form a chain.
    #[arg(long, default_value_t = 90)]
    pub link_days: i64,
    #[command(flatten)]
    pub risk: RiskArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run_recurring(args: &RecurringArgs, config: &Config) -> Result<()> {
    let (region, conn) = args.cases.open()?;
    if args.chains {
        return write_chains(args, &region, &conn);
    }
    let report = recurring(
        &conn,
        &region,
        &departments(&args.departments, config)?,
        &RecurringOptions {
            level: level_arg(&args.level)?,
            step: step_arg(&args.step)?,
            window: args.window,
            min_active: args.min_active,
            history: args.history,
            last_day: args.cases.last_day()?,
            filter: args.cases.filter()?,
            measure: args.risk.measure,
            risk: args.risk.options(),
        },
    )?;
    eprintln!(
        "{} recurring problems ({} in at least {} of the last {} steps; measure: {})",
        report.problems.len(),
        if report.measure.is_risk() { "excess" } else { "cases" },
        report.min_active,
        report.window,
        report.measure.en()
    );
    if args.output.format() == TableFormat::Json {
        return args.output.write_json(&report);
    }
    let columns: [Column<RecurringProblem>; 22] = [
        ("rank", |p| p.rank.to_string()),
        ("unit_code", |p| p.place.unit_code.clone()),
        ("unit", |p| p.place.unit_name.clone()),
        ("county", |p| p.place.county_name.clone()),
        ("township", |p| p.place.township_name.clone()),
        ("category", |p| p.place.category.code().to_string()),
        ("category_zh", |p| p.place.category_zh.clone()),
        ("active_steps", |p| p.active_steps.to_string()),
        ("window", |p| p.window.to_string()),
        ("cases_in_window", |p| p.cases_in_window.to_string()),
        ("expected_in_window", |p| {
            p.expected_in_window.map_or_else(String::new, |e| format!("{e:.3}"))
        }),
        ("ratio", |p| p.ratio.map_or_else(String::new, |r| format!("{r:.2}"))),
        ("excess_p", |p| {
            p.excess_p.map_or_else(String::new, |x| format!("{x:.3e}"))
        }),
        ("hotspot_cluster", |p| {
            p.hotspot.as_ref().map_or_else(String::new, |h| h.cluster.to_string())
        }),
        ("hotspot_level", |p| {
            p.hotspot
                .as_ref()
                .map_or_else(String::new, |h| h.level.code().to_string())
        }),
        ("counts", |p| joined(&p.counts)),
        ("trend", |p| p.trend.code().to_string()),
        ("mk_tau", |p| format!("{:.4}", p.mk_tau)),
        ("mk_p", |p| format!("{:.4e}", p.mk_p)),
        ("score", |p| format!("{:.4}", p.score)),
        ("lead_department", |p| p.department.lead.clone()),
        ("support_departments", |p| p.department.support.join(";")),
    ];
    args.output.write_table(&columns, &report.problems)
}

/// `fengqiao recurring --chains`: the repeat chains.
fn write_chains(args: &RecurringArgs, region: &fengqiao_ingest::Region, conn: &duckdb::Connection) -> Result<()> {
    let chains = repeat_chains(
        conn,
        region,
        &ChainOptions {
            link_days: args.link_days,
            filter: args.cases.filter()?,
        },
    )?;
    eprintln!(
        "{} repeat chains, {} at risk of escalation",
        chains.len(),
        chains.iter().filter(|c| c.escalation_risk).count()
    );
    if args.output.format() == TableFormat::Json {
        return args.output.write_json(&chains);
    }
    let columns: [Column<RepeatChain>; 17] = [
        ("rank", |c| c.rank.to_string()),
        ("cases", |c| c.case_ids.len().to_string()),
        ("case_ids", |c| c.case_ids.join(";")),
        ("county", |c| c.place.county_name.clone()),
        ("township", |c| c.place.township_name.clone()),
        ("village_code", |c| c.place.unit_code.clone()),
        ("village", |c| c.place.unit_name.clone()),
        ("category", |c| c.place.category.code().to_string()),
        ("category_zh", |c| c.place.category_zh.clone()),
        ("first_reported", |c| c.first_reported.to_string()),
        ("last_reported", |c| c.last_reported.to_string()),
        ("min_gap_days", |c| c.min_gap_days.to_string()),
        ("open", |c| c.open.to_string()),
        ("last_severity", |c| c.last_severity.code().to_string()),
        ("escalating", |c| c.escalating.to_string()),
        ("escalation_risk", |c| c.escalation_risk.to_string()),
        ("linked_by", |c| c.linked_by.code().to_string()),
    ];
    args.output.write_table(&columns, &chains)
}

/// `fengqiao scan`.
#[derive(Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub cases: FilterArgs,
    /// H3 resolution of the cells (5 to 10).
    #[arg(long, default_value_t = 8)]
    pub res: u8,
    /// The prospective space-time scan: cylinders (a window × the last 1 … --max-steps steps) over
    /// --steps steps ending on --to (default the last day with cases).
    #[arg(long)]
    pub prospective: bool,
    #[arg(long, default_value = "week")]
    pub step: String,
    #[arg(long, default_value_t = 12)]
    pub steps: usize,
    /// Longest time interval of a cylinder, in steps.
    #[arg(long, default_value_t = 4)]
    pub max_steps: usize,
    /// Monte Carlo replications (999 gives p-values down to 0.001).
    #[arg(long, default_value_t = 999)]
    pub replications: u32,
    /// Largest share of all expected cases one window may hold.
    #[arg(long, default_value_t = 0.05)]
    pub max_share: f64,
    /// Largest k-ring of a window.
    #[arg(long, default_value_t = 8)]
    pub max_rings: u32,
    /// Clusters listed: at most this many, with p at most --max-p.
    #[arg(long, default_value_t = 50)]
    pub max_clusters: usize,
    #[arg(long, default_value_t = 0.05)]
    pub max_p: f64,
    #[arg(long, default_value_t = 20_261_201)]
    pub seed: u64,
    #[command(flatten)]
    pub risk: RiskArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run_scan(args: &ScanArgs) -> Result<()> {
    use fengqiao_analytics::scan::{scan_store, NamedCluster, ScanOptions, ScanRequest};
    let (region, conn) = args.cases.open()?;
    anyhow::ensure!(
        (1..=9_999).contains(&args.replications),
        "--replications {}: 1 to 9999",
        args.replications
    );
    anyhow::ensure!(
        args.max_share > 0.0 && args.max_share <= 0.5,
        "--max-share {}: above 0 and at most 0.5",
        args.max_share
    );
    let request = ScanRequest {
        res: fengqiao_analytics::cells::resolution(args.res)?,
        filter: args.cases.filter()?,
        prospective: if args.prospective {
            Some((step_arg(&args.step)?, args.steps.max(1)))
        } else {
            None
        },
        options: ScanOptions {
            max_share: args.max_share,
            max_rings: args.max_rings,
            max_steps: args.max_steps.max(1),
            replications: args.replications,
            seed: args.seed,
            max_clusters: args.max_clusters,
            max_p: args.max_p,
            ..ScanOptions::default()
        },
        risk: args.risk.options(),
    };
    let report = scan_store(&conn, &region, &request)?;
    eprintln!(
        "{} clusters with p ≤ {} ({} windows, {} replications, dispersion {:.4})",
        report.clusters.len(),
        args.max_p,
        report.windows,
        report.replications,
        report.dispersion
    );
    if args.output.format() == TableFormat::Json {
        return args.output.write_json(&report);
    }
    let columns: [Column<NamedCluster>; 14] = [
        ("rank", |c| c.cluster.rank.to_string()),
        ("centre", |c| c.centre_cell.clone()),
        ("cells", |c| c.cells.len().to_string()),
        ("observed", |c| c.cluster.observed.to_string()),
        ("expected", |c| format!("{:.2}", c.cluster.expected)),
        ("relative_risk", |c| format!("{:.3}", c.cluster.relative_risk)),
        ("llr", |c| format!("{:.3}", c.cluster.llr)),
        ("p", |c| format!("{:.4}", c.cluster.p)),
        ("start", |c| c.start.to_string()),
        ("end", |c| c.end.to_string()),
        ("recurrence_days", |c| {
            c.recurrence_days.map_or_else(String::new, |d| format!("{d:.0}"))
        }),
        ("villages", |c| {
            c.villages.iter().map(|v| v.name.clone()).collect::<Vec<_>>().join(";")
        }),
        ("village_codes", |c| {
            c.villages.iter().map(|v| v.code.clone()).collect::<Vec<_>>().join(";")
        }),
        ("h3", |c| c.cells.join(";")),
    ];
    args.output.write_table(&columns, &report.clusters)
}

/// `fengqiao alerts`.
#[derive(Args)]
pub struct AlertsArgs {
    #[command(flatten)]
    pub cases: FilterArgs,
    /// Last day of the 7-day window examined (default: the last day with cases).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Admin level watched: county, township, village or grid.
    #[arg(long, default_value = "village")]
    pub level: String,
    /// 7-day windows of baseline …
    #[arg(long, default_value_t = 12)]
    pub baseline: usize,
    /// … ending this many windows before the current one.
    #[arg(long, default_value_t = 1)]
    pub guard: usize,
    /// Fewest cases in the window for an alert.
    #[arg(long, default_value_t = 3)]
    pub min_cases: u32,
    /// Alert only on excesses chance would bring less than once in this many years.
    #[arg(long, default_value_t = 20.0)]
    pub min_recurrence_years: f64,
    /// Longest list (0: all).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    #[arg(long)]
    pub departments: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run_alerts(args: &AlertsArgs, config: &Config) -> Result<()> {
    let (region, conn) = args.cases.open()?;
    let filter = args.cases.filter()?;
    let as_of = match &args.as_of {
        Some(v) => time_arg("as-of", v, false)?.date(),
        None => last_case_day(&conn, &region, &filter)?
            .context("the store holds no cases that pass the filter: give --as-of")?,
    };
    let mut opts = AlertOptions::new(as_of);
    opts.level = level_arg(&args.level)?;
    opts.baseline_windows = args.baseline.max(1);
    opts.guard_windows = args.guard;
    opts.min_cases = args.min_cases;
    opts.min_recurrence_years = args.min_recurrence_years;
    opts.limit = (args.limit > 0).then_some(args.limit);
    opts.filter = filter;
    let list = alerts(&conn, &region, &departments(&args.departments, config)?, &opts)?;
    eprintln!(
        "{} alerts for the 7 days ending {as_of} ({} new)",
        list.len(),
        list.iter().filter(|a| !a.ongoing).count()
    );
    if args.output.format() == TableFormat::Json {
        return args.output.write_json(&list);
    }
    let columns: [Column<Alert>; 20] = [
        ("rank", |a| a.rank.to_string()),
        ("severity", |a| a.severity.code().to_string()),
        ("severity_zh", |a| a.severity_zh.clone()),
        ("status", |a| if a.ongoing { "ongoing" } else { "new" }.to_string()),
        ("unit_code", |a| a.place.unit_code.clone()),
        ("unit", |a| a.place.unit_name.clone()),
        ("county", |a| a.place.county_name.clone()),
        ("township", |a| a.place.township_name.clone()),
        ("category", |a| a.place.category.code().to_string()),
        ("category_zh", |a| a.place.category_zh.clone()),
        ("window_start", |a| a.window_start.to_string()),
        ("window_end", |a| a.window_end.to_string()),
        ("observed", |a| a.observed.to_string()),
        ("expected", |a| format!("{:.3}", a.expected)),
        ("ratio", |a| format!("{:.2}", a.ratio)),
        ("threshold", |a| a.threshold.to_string()),
        ("p", |a| format!("{:.3e}", a.p)),
        ("recurrence_years", |a| format!("{:.1}", a.recurrence_years)),
        ("baseline", |a| joined(&a.baseline)),
        ("lead_department", |a| a.department.lead.clone()),
    ];
    args.output.write_table(&columns, &list)
}
