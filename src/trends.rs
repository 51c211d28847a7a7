//! `fengqiao trends`, `fengqiao recurring` and `fengqiao alerts`: emerging hot spots, recurring
//! problems (类案) with repeat chains, and early-warning alerts, as CSV or JSON.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use fengqiao_analytics::cube::{cube, last_case_day, CubeOptions, Space, Step};
use fengqiao_analytics::departments::Departments;
use fengqiao_analytics::emerging::{emerging_hot_spots, EmergingOptions, GlobalWindow};
use fengqiao_analytics::pattern::Pattern;
use fengqiao_analytics::recurring::{recurring, repeat_chains, ChainOptions, RecurringOptions};
use fengqiao_analytics::warning::{alerts, AlertOptions};
use fengqiao_ingest::model::AdminLevel;

use crate::heat::{sink, time_arg, FilterArgs};

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

    fn write_csv(&self, header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Result<()> {
        let mut csv = csv::Writer::from_writer(sink(self.out.as_deref())?);
        csv.write_record(header)?;
        for row in rows {
            csv.write_record(&row)?;
        }
        csv.flush()?;
        Ok(())
    }
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

fn departments(path: &Option<PathBuf>) -> Result<Departments> {
    Ok(match path {
        Some(p) => Departments::load(p)?,
        None => Departments::default(),
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
    pub output: OutputArgs,
}

pub fn run_trends(args: &TrendsArgs) -> Result<()> {
    let (region, store) = args.cases.open()?;
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
    };
    let cube = cube(store.conn(), &region, &opts)?;
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
        },
    );
    if !args.pattern.is_empty() {
        result.locations.retain(|l| args.pattern.contains(&l.pattern));
    }
    eprintln!(
        "{} locations × {} steps ({} … {}); {}",
        cube.locations.len(),
        cube.steps(),
        result.periods.first().map_or("", |s| s.as_str()),
        result.periods.last().map_or("", |s| s.as_str()),
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
    let key = if args.level.is_some() { "unit_code" } else { "h3" };
    let header = [
        key,
        "name",
        "county_code",
        "township_code",
        "village_code",
        "pattern",
        "pattern_zh",
        "total",
        "counts",
        "hot_steps",
        "cold_steps",
        "mk_s",
        "mk_z",
        "mk_tau",
        "mk_p",
        "count_mk_s",
        "count_mk_tau",
        "count_mk_p",
        "count_trend",
        "gi_z_last",
        "gi_p_last",
    ];
    args.output.write_csv(
        &header,
        result.locations.iter().map(|l| {
            vec![
                l.location.clone(),
                l.name.clone(),
                l.county_code.clone(),
                l.township_code.clone(),
                l.village_code.clone(),
                l.pattern.code().to_string(),
                l.pattern.name_zh().to_string(),
                l.total.to_string(),
                l.counts.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(";"),
                l.hot_steps.to_string(),
                l.cold_steps.to_string(),
                l.mk_s.to_string(),
                format!("{:.6}", l.mk_z),
                format!("{:.6}", l.mk_tau),
                format!("{:.6e}", l.mk_p),
                l.count_mk_s.to_string(),
                format!("{:.6}", l.count_mk_tau),
                format!("{:.6e}", l.count_mk_p),
                l.count_trend.code().to_string(),
                format!("{:.6}", l.gi_z_last),
                format!("{:.6e}", l.gi_p_last),
            ]
        }),
    )
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
    /// Category → department table (TOML; default: analytics/config/departments.toml).
    #[arg(long)]
    pub departments: Option<PathBuf>,
    /// List repeat chains (the 民转刑 watch list) instead of recurring problems.
    #[arg(long)]
    pub chains: bool,
    /// Cases of the same village, category and party within this many days form a chain.
    #[arg(long, default_value_t = 90)]
    pub link_days: i64,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run_recurring(args: &RecurringArgs) -> Result<()> {
    let (region, store) = args.cases.open()?;
    if args.chains {
        let chains = repeat_chains(
            store.conn(),
            &region,
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
        let header = [
            "rank",
            "cases",
            "case_ids",
            "county",
            "township",
            "village_code",
            "village",
            "category",
            "category_zh",
            "first_reported",
            "last_reported",
            "min_gap_days",
            "open",
            "last_severity",
            "escalating",
            "escalation_risk",
            "linked_by",
        ];
        return args.output.write_csv(
            &header,
            chains.iter().map(|c| {
                vec![
                    c.rank.to_string(),
                    c.case_ids.len().to_string(),
                    c.case_ids.join(";"),
                    c.county_name.clone(),
                    c.township_name.clone(),
                    c.village_code.clone(),
                    c.village_name.clone(),
                    c.category.code().to_string(),
                    c.category_zh.clone(),
                    c.first_reported.to_string(),
                    c.last_reported.to_string(),
                    c.min_gap_days.to_string(),
                    c.open.to_string(),
                    c.last_severity.code().to_string(),
                    c.escalating.to_string(),
                    c.escalation_risk.to_string(),
                    c.linked_by.code().to_string(),
                ]
            }),
        );
    }
    let report = recurring(
        store.conn(),
        &region,
        &departments(&args.departments)?,
        &RecurringOptions {
            level: level_arg(&args.level)?,
            step: step_arg(&args.step)?,
            window: args.window,
            min_active: args.min_active,
            history: args.history,
            last_day: args.cases.last_day()?,
            filter: args.cases.filter()?,
        },
    )?;
    eprintln!(
        "{} recurring problems (cases in at least {} of the last {} steps)",
        report.problems.len(),
        report.min_active,
        report.window
    );
    if args.output.format() == TableFormat::Json {
        return args.output.write_json(&report);
    }
    let header = [
        "rank",
        "unit_code",
        "unit",
        "county",
        "township",
        "category",
        "category_zh",
        "active_steps",
        "window",
        "cases_in_window",
        "counts",
        "trend",
        "mk_tau",
        "mk_p",
        "score",
        "lead_department",
        "support_departments",
    ];
    args.output.write_csv(
        &header,
        report.problems.iter().map(|p| {
            vec![
                p.rank.to_string(),
                p.unit_code.clone(),
                p.unit_name.clone(),
                p.county_name.clone(),
                p.township_name.clone(),
                p.category.code().to_string(),
                p.category_zh.clone(),
                p.active_steps.to_string(),
                p.window.to_string(),
                p.cases_in_window.to_string(),
                p.counts.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(";"),
                p.trend.code().to_string(),
                format!("{:.4}", p.mk_tau),
                format!("{:.4e}", p.mk_p),
                format!("{:.4}", p.score),
                p.department.lead.clone(),
                p.department.support.join(";"),
            ]
        }),
    )
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

pub fn run_alerts(args: &AlertsArgs) -> Result<()> {
    let (region, store) = args.cases.open()?;
    let filter = args.cases.filter()?;
    let as_of = match &args.as_of {
        Some(v) => time_arg("as-of", v, false)?.date(),
        None => last_case_day(store.conn(), &region, &filter)?
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
    let list = alerts(store.conn(), &region, &departments(&args.departments)?, &opts)?;
    eprintln!(
        "{} alerts for the 7 days ending {as_of} ({} new)",
        list.len(),
        list.iter().filter(|a| !a.ongoing).count()
    );
    if args.output.format() == TableFormat::Json {
        return args.output.write_json(&list);
    }
    let header = [
        "rank",
        "severity",
        "severity_zh",
        "status",
        "unit_code",
        "unit",
        "county",
        "township",
        "category",
        "category_zh",
        "window_start",
        "window_end",
        "observed",
        "expected",
        "threshold",
        "p",
        "recurrence_years",
        "baseline",
        "lead_department",
    ];
    args.output.write_csv(
        &header,
        list.iter().map(|a| {
            vec![
                a.rank.to_string(),
                a.severity.code().to_string(),
                a.severity_zh.clone(),
                if a.ongoing { "ongoing" } else { "new" }.to_string(),
                a.unit_code.clone(),
                a.unit_name.clone(),
                a.county_name.clone(),
                a.township_name.clone(),
                a.category.code().to_string(),
                a.category_zh.clone(),
                a.window_start.to_string(),
                a.window_end.to_string(),
                a.observed.to_string(),
                format!("{:.3}", a.expected),
                a.threshold.to_string(),
                format!("{:.3e}", a.p),
                format!("{:.1}", a.recurrence_years),
                a.baseline.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(";"),
                a.department.lead.clone(),
            ]
        }),
    )
}
