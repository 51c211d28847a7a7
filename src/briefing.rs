//! `fengqiao briefing`: the weekly hot-spot briefing (`--week 2026-W44`) or the monthly early-warning
//! report (`--month 2026-10`) as PDF, HTML and PNG figures in `--out DIR`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use fengqiao_analytics::briefing::{briefing, ReportPeriod};
use fengqiao_config::Config;

#[derive(Args)]
pub struct BriefingArgs {
    /// The ISO week of a weekly briefing, e.g. 2026-W44 (Monday to Sunday).
    #[arg(long, conflicts_with = "month", required_unless_present = "month")]
    pub week: Option<String>,
    /// The month of a monthly report, e.g. 2026-10.
    #[arg(long)]
    pub month: Option<String>,
    #[arg(long, default_value = "fengqiao.duckdb")]
    pub db: PathBuf,
    #[arg(long)]
    pub region: Option<PathBuf>,
    /// Report on this unit (county, township, … code) instead of the whole region.
    #[arg(long)]
    pub unit: Option<String>,
    /// Rows of the cluster, emerging, recurring and alert tables (default: the configuration's
    /// `[briefing] top`, 10).
    #[arg(long)]
    pub top: Option<usize>,
    /// Seed of the call-back sample's order.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// What the hot-spot, emerging and 类案 sections measure: excess (risk: cases beyond what the
    /// residents and the period explain), rate, or count (workload).
    #[arg(long, default_value = "excess")]
    pub measure: fengqiao_analytics::measure::Measure,
    /// Directory to write the PDF, HTML, figures and manifest into.
    #[arg(long)]
    pub out: PathBuf,
}

/// Makes the briefing with the configuration's rules, departments and table size.
pub fn run_briefing(args: &BriefingArgs, config: &Config) -> Result<()> {
    let started = std::time::Instant::now();
    let period = match (&args.week, &args.month) {
        (Some(week), None) => ReportPeriod::week(week)?,
        (None, Some(month)) => ReportPeriod::month(month)?,
        _ => bail!("give --week 2026-W44 or --month 2026-10"),
    };
    // Read-only: a briefing never writes. A running server holds the store's lock: it makes
    // briefings itself (POST /briefings/?week=… or ?month=…).
    let conn = crate::region::read_only(&args.db)?;
    let region = crate::region::for_store(&conn, &args.db, args.region.as_deref())?;
    let mut opts = config.briefing_options(period);
    opts.unit = args.unit.clone();
    opts.top = args.top.unwrap_or(opts.top);
    opts.seed = args.seed;
    opts.measure = args.measure;
    let content = briefing(&conn, &region, &opts)?;
    let computed = started.elapsed();
    let written = fengqiao_report::write_briefing(&content, &region, &args.out)?;
    eprintln!(
        "{}: {} ({} pages), {} and {} figures in {} — content computed in {:.1} s, figures, PDF and HTML written in {:.1} s",
        written.manifest.title,
        written.pdf.display(),
        written.pdf_pages,
        written.html.display(),
        written.figures.len(),
        written.dir.display(),
        computed.as_secs_f64(),
        (started.elapsed() - computed).as_secs_f64()
    );
    Ok(())
}
