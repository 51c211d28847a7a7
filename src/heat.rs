//! `fengqiao heatmap` and `fengqiao hotspots`: arguments, and the writers of their outputs (CSV,
//! JSON, RFC 7946 GeoJSON with H3 hexagons, Parquet through DuckDB).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::{Duration, NaiveDateTime};
use clap::{Args, ValueEnum};
use fengqiao_analytics::aggregate::SeverityWeights;
use fengqiao_analytics::area::StudyArea;
use fengqiao_analytics::cache::{CaseColumns, Provenance, StoreStamp};
use fengqiao_analytics::filter::Filter;
use fengqiao_analytics::hotspot::{
    heatmap_counted, suppress_small_counts, CaseSource, Counted, HeatCell, Heatmap, HeatmapOptions,
};
use fengqiao_analytics::measure::{Baseline, Dispersion, Measure, Residual, RiskOptions};
use fengqiao_analytics::response::Rules;
use fengqiao_config::Config;
use fengqiao_ingest::model::{CaseClass, Category, Channel, Severity, Status};
use fengqiao_ingest::Region;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Csv,
    Json,
    Geojson,
    Parquet,
}

/// Which store and which cases: the arguments of every analysis command.
#[derive(Args)]
pub struct FilterArgs {
    #[arg(long, default_value = "fengqiao.duckdb")]
    pub db: PathBuf,
    /// Region directory: only needed for a store that records none (the store's own is used).
    #[arg(long)]
    pub region: Option<PathBuf>,
    /// First day (or time) of the period.
    #[arg(long)]
    pub from: Option<String>,
    /// Last day of the period, inclusive (or an exclusive end time).
    #[arg(long)]
    pub to: Option<String>,
    /// Categories (English codes or Chinese names), comma-separated or repeated.
    #[arg(long, value_delimiter = ',')]
    pub category: Vec<Category>,
    #[arg(long, value_delimiter = ',')]
    pub class: Vec<CaseClass>,
    #[arg(long, value_delimiter = ',')]
    pub channel: Vec<Channel>,
    #[arg(long, value_delimiter = ',')]
    pub status: Vec<Status>,
    #[arg(long, value_delimiter = ',')]
    pub severity: Vec<Severity>,
    /// Only cases of this admin unit (county, township, village or grid code).
    #[arg(long)]
    pub unit: Option<String>,
}

impl FilterArgs {
    /// The region and a read-only connection to the store (which must exist; one made by an
    /// earlier release is migrated first). Analyses never write the store.
    pub fn open(&self) -> Result<(Region, duckdb::Connection)> {
        let conn = crate::region::read_only(&self.db)?;
        let region = crate::region::for_store(&conn, &self.db, self.region.as_deref())?;
        Ok((region, conn))
    }

    /// The region and the store's case columns: from the files beside the store when it has not
    /// changed since they were written (`STORE.stamp`: DuckDB is not opened), else from the store,
    /// the columns file (`STORE.columns`) used when it was made from the same cases and region or
    /// written for the next run.
    pub fn region_and_columns(&self) -> Result<(Region, CaseColumns)> {
        if self.region.is_none() {
            if let Some(found) = CaseColumns::unchanged(&self.db)? {
                return Ok(found);
            }
        }
        let before = StoreStamp::of(&self.db);
        let (region, conn) = self.open()?;
        let path = CaseColumns::file_beside(&self.db);
        let (columns, provenance, key) = CaseColumns::cached(&conn, &region, &path)?;
        drop(conn);
        match provenance {
            Provenance::File => {}
            Provenance::Rebuilt => eprintln!(
                "{}: the case columns of {} cases, kept for the next analyses of these cases",
                path.display(),
                columns.len()
            ),
            Provenance::Unsaved(why) => {
                eprintln!("warning: case columns not kept ({why}): the next run reads the store again");
                return Ok((region, columns));
            }
        }
        if let Some(before) = before {
            if let Err(e) = CaseColumns::write_stamp(&self.db, before, &region, &key) {
                eprintln!("warning: {e}: the next run opens the store again");
            }
        }
        Ok((region, columns))
    }

    /// The filter the arguments describe.
    pub fn filter(&self) -> Result<Filter> {
        Ok(Filter {
            from: self.from.as_deref().map(|v| time_arg("from", v, false)).transpose()?,
            to: self.to.as_deref().map(|v| time_arg("to", v, true)).transpose()?,
            categories: self.category.clone(),
            classes: self.class.clone(),
            channels: self.channel.clone(),
            statuses: self.status.clone(),
            severities: self.severity.clone(),
            unit: self.unit.clone(),
        })
    }

    /// The last day of the period when `--to` sets it.
    pub fn last_day(&self) -> Result<Option<chrono::NaiveDate>> {
        Ok(self.filter()?.last_day())
    }
}

/// What the statistics measure: the arguments of every command that calls places hot or abnormal.
#[derive(Args)]
pub struct RiskArgs {
    /// excess (risk: cases beyond what the residents and the season explain; the default), rate
    /// (cases per 10,000 residents, empirical-Bayes smoothed) or count (the workload, as counted).
    #[arg(long, default_value = "excess")]
    pub measure: Measure,
    /// Over-dispersion of the counts around their expected counts: robust (estimated, default),
    /// moments (Assunção–Reis), poisson, or a number α ≥ 0.
    #[arg(long, default_value = "robust")]
    pub dispersion: Dispersion,
    /// How an excess is standardised: quantile (normal score, default) or pearson.
    #[arg(long, default_value = "quantile")]
    pub residual: Residual,
    /// Expected counts also from each place's own history over this many weeks before the period:
    /// a stable local excess is then known, and only what is new stands out.
    #[arg(long)]
    pub history_weeks: Option<u32>,
    /// Sparse-data safety: fewest cases, own and in the neighbourhood, of a risk hot spot.
    #[arg(long, default_value_t = 3)]
    pub min_cases: u64,
}

impl RiskArgs {
    pub fn options(&self) -> RiskOptions {
        RiskOptions {
            dispersion: self.dispersion,
            residual: self.residual,
            baseline: match self.history_weeks {
                Some(weeks) => Baseline::History { weeks },
                None => Baseline::Population,
            },
            min_cases: self.min_cases,
        }
    }
}

/// The arguments shared by `heatmap` and `hotspots`.
#[derive(Args)]
pub struct HeatArgs {
    #[command(flatten)]
    pub cases: FilterArgs,
    #[command(flatten)]
    pub risk: RiskArgs,
    /// H3 resolution, 5 (≈250 km² cells) to 10 (≈0.015 km²).
    #[arg(long, default_value_t = 8)]
    pub res: u8,
    /// Gi* neighbourhood: cells within this many grid steps.
    #[arg(long = "k-ring", default_value_t = 1)]
    pub k_ring: u32,
    /// Gaussian kernel weights instead of binary ones.
    #[arg(long)]
    pub kernel: bool,
    /// Response rules (TOML) instead of the configuration's (default: the shipped
    /// analytics/config/response-rules.toml).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// "Now" for open and overdue counts (default: the current time).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Hide the figures of cells with fewer than this many cases (for displays; 3 is usual).
    #[arg(long)]
    pub suppress: Option<u64>,
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Output file (default: standard output; Parquet needs a file).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn time_arg(name: &str, value: &str, end_of_day: bool) -> Result<NaiveDateTime> {
    let t = fengqiao_ingest::time::parse_datetime(value)
        .with_context(|| format!("--{name} {value:?} is not a date like 2026-10-31 or a date-time"))?;
    let bare_date = !value.contains(':');
    Ok(if end_of_day && bare_date {
        t + Duration::days(1)
    } else {
        t
    })
}

impl HeatArgs {
    fn compute(&self, config: &Config) -> Result<Heatmap> {
        Ok(self.compute_with_precision(config)?.0)
    }

    /// The heat map, and per cell the cases placed only at their village's point.
    fn compute_with_precision(&self, config: &Config) -> Result<(Heatmap, HashMap<u64, u64>)> {
        let (region, columns) = self.cases.region_and_columns()?;
        let filter = self.cases.filter()?;
        let res = fengqiao_analytics::cells::resolution(self.res)?;
        let rules = match &self.rules {
            Some(path) => Rules::load(path)?,
            None => config.rules().clone(),
        };
        let opts = HeatmapOptions {
            res,
            k: self.k_ring,
            kernel: self.kernel,
            filter,
            weights: SeverityWeights::default(),
            as_of: match &self.as_of {
                Some(v) => time_arg("as-of", v, false)?,
                None => fengqiao_ingest::time::now_china(),
            },
            rules,
            measure: self.risk.measure,
            risk: self.risk.options(),
        };
        // The cases counted (on both cores) while the study area is read or made.
        let area_file = StudyArea::file_beside(&self.cases.db, res);
        let (tally, area) = rayon::join(
            || columns.tally(&region, res, &opts.filter, &opts.weights, opts.as_of),
            || StudyArea::cached(&region, res, &area_file),
        );
        let tally = tally?;
        let (area, provenance) = area?;
        if let Provenance::Unsaved(why) = provenance {
            eprintln!("warning: {}: study area not kept ({why})", area_file.display());
        }
        let precision = tally
            .precision_by_cell()
            .into_iter()
            .map(|(cell, p)| (cell, p.village))
            .collect();
        let counted = Counted::of_tally(tally, &opts.filter);
        let mut map = heatmap_counted(&CaseSource::Cached(&columns), &region, &opts, &area, counted)?;
        if let Some(k) = self.suppress {
            suppress_small_counts(&mut map, k);
        }
        Ok((map, precision))
    }

    fn format(&self) -> Format {
        self.format.unwrap_or_else(
            || match self.out.as_ref().and_then(|p| p.extension()).and_then(|e| e.to_str()) {
                Some("json") => Format::Json,
                Some("geojson") => Format::Geojson,
                Some("parquet") => Format::Parquet,
                _ => Format::Csv,
            },
        )
    }
}

pub fn sink(out: Option<&Path>) -> Result<Box<dyn Write>> {
    Ok(match out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    })
}

/// The heat map's columns, in order.
const COLUMNS: [&str; 26] = [
    "h3",
    "count",
    "score",
    "open",
    "overdue",
    "measure",
    "population",
    "expected",
    "ratio",
    "excess_p",
    "no_residents",
    "value",
    "gi_z",
    "gi_p",
    "gi_fdr_significant",
    "confidence",
    "level",
    "level_reason",
    "top_category",
    "county_code",
    "township_code",
    "village_code",
    "cluster",
    "suppressed",
    "resolution",
    "village_only",
];

/// A heat-map row as written: the cell, and how many of its cases are placed only at their
/// village's point (hidden with the cell's figures when they are suppressed).
#[derive(serde::Serialize)]
struct Row<'a> {
    #[serde(flatten)]
    cell: &'a HeatCell,
    village_only: Option<u64>,
}

fn rows<'a>(cells: &'a [HeatCell], precision: &HashMap<u64, u64>) -> Result<Vec<Row<'a>>> {
    cells
        .iter()
        .map(|cell| {
            let index: h3o::CellIndex = cell.h3.parse()?;
            let village_only = cell
                .count
                .map(|_| precision.get(&u64::from(index)).copied().unwrap_or(0));
            Ok(Row { cell, village_only })
        })
        .collect()
}

fn record(row: &Row<'_>, res: u8, measure: Measure) -> [String; 26] {
    let cell = row.cell;
    let opt = |v: Option<u64>| v.map_or_else(String::new, |v| v.to_string());
    let real = |v: Option<f64>, decimals: usize| v.map_or_else(String::new, |v| format!("{v:.decimals$}"));
    [
        cell.h3.clone(),
        opt(cell.count),
        cell.score.map_or_else(String::new, |s| format!("{s}")),
        opt(cell.open),
        opt(cell.overdue),
        measure.code().to_string(),
        real(cell.population, 1),
        real(cell.expected, 4),
        real(cell.ratio, 4),
        cell.excess_p.map_or_else(String::new, |p| format!("{p:.6e}")),
        cell.no_residents.to_string(),
        real(cell.value, 6),
        format!("{:.6}", cell.gi_z),
        format!("{:.6e}", cell.gi_p),
        cell.gi_fdr_significant.to_string(),
        cell.confidence.to_string(),
        cell.level.map_or_else(String::new, |l| l.code().to_string()),
        cell.level_reason.clone(),
        cell.top_category.map_or_else(String::new, |c| c.code().to_string()),
        cell.county_code.clone(),
        cell.township_code.clone(),
        cell.village_code.clone(),
        cell.cluster.map_or_else(String::new, |c| c.to_string()),
        cell.suppressed.to_string(),
        res.to_string(),
        opt(row.village_only),
    ]
}

/// `fengqiao heatmap`: one row per cell of the study area.
pub fn run_heatmap(args: &HeatArgs, nonzero: bool, config: &Config) -> Result<()> {
    let (mut map, precision) = args.compute_with_precision(config)?;
    if nonzero {
        map.cells.retain(|c| c.count != Some(0));
    }
    let res = map.res;
    let rows = rows(&map.cells, &precision)?;
    match args.format() {
        Format::Csv => write_csv(&rows, res, map.measure, sink(args.out.as_deref())?)?,
        Format::Json => serde_json::to_writer(sink(args.out.as_deref())?, &rows)?,
        Format::Geojson => write_geojson(&rows, sink(args.out.as_deref())?)?,
        Format::Parquet => {
            let out = args.out.as_deref().context("--format parquet needs --out FILE")?;
            let tmp = out.with_extension("parquet.csv.tmp");
            write_csv(&rows, res, map.measure, sink(Some(&tmp))?)?;
            let result = fengqiao_ingest::parquet::csv_to_parquet(&tmp, out, None);
            std::fs::remove_file(&tmp).ok();
            result.with_context(|| format!("writing {}", out.display()))?;
        }
    }
    let hot = map.cells.iter().filter(|c| c.confidence > 0).count();
    eprintln!(
        "{} cells at res {res} ({} hot, {} clusters) over {:.1} weeks; measure: {}{}",
        map.cells.len(),
        hot,
        map.clusters.len(),
        map.weeks,
        map.measure.en(),
        map.risk.as_ref().map_or_else(String::new, |r| format!(
            " (region rate {:.2} per 10,000, dispersion {:.4})",
            r.rate_per_10k, r.dispersion
        ))
    );
    Ok(())
}

/// `fengqiao hotspots`: the clusters.
pub fn run_hotspots(args: &HeatArgs, config: &Config) -> Result<()> {
    let map = args.compute(config)?;
    let mut out = sink(args.out.as_deref())?;
    // JSON unless asked for CSV.
    let format = match (args.format, args.format()) {
        (None, Format::Csv) if args.out.is_none() => Format::Json,
        (_, format) => format,
    };
    match format {
        Format::Json => serde_json::to_writer_pretty(&mut out, &map.clusters)?,
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record([
                "id",
                "level",
                "reason",
                "confidence",
                "cases",
                "cases_per_week",
                "expected",
                "ratio",
                "counties",
                "townships",
                "villages",
                "top_categories",
                "cells",
            ])?;
            for c in &map.clusters {
                let names = |p: &[fengqiao_analytics::hotspot::Place]| {
                    p.iter().map(|p| p.name.clone()).collect::<Vec<_>>().join(";")
                };
                w.write_record([
                    c.id.to_string(),
                    c.level.code().to_string(),
                    c.reason.clone(),
                    c.confidence.to_string(),
                    c.cases.map_or_else(String::new, |n| n.to_string()),
                    c.cases_per_week.map_or_else(String::new, |n| format!("{n:.2}")),
                    c.expected.map_or_else(String::new, |n| format!("{n:.2}")),
                    c.ratio.map_or_else(String::new, |n| format!("{n:.2}")),
                    names(&c.counties),
                    names(&c.townships),
                    names(&c.villages),
                    c.top_categories
                        .iter()
                        .map(|(c, n)| format!("{}:{n}", c.code()))
                        .collect::<Vec<_>>()
                        .join(";"),
                    c.cells.join(";"),
                ])?;
            }
            w.flush()?;
        }
        other @ (Format::Geojson | Format::Parquet) => {
            bail!(
                "hotspots writes json or csv, not {}",
                if other == Format::Geojson { "geojson" } else { "parquet" }
            )
        }
    }
    Ok(())
}

fn write_csv(rows: &[Row<'_>], res: u8, measure: Measure, out: Box<dyn Write>) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(COLUMNS)?;
    for row in rows {
        w.write_record(record(row, res, measure))?;
    }
    w.flush()?;
    Ok(())
}

/// An RFC 7946 FeatureCollection: one hexagon Polygon per cell (h3o's boundary, counter-clockwise,
/// closed), the cell's figures as properties.
fn write_geojson(rows: &[Row<'_>], out: Box<dyn Write>) -> Result<()> {
    let cells = rows
        .iter()
        .map(|row| Ok((row.cell.h3.parse::<h3o::CellIndex>()?, row)))
        .collect::<Result<Vec<_>>>()?;
    fengqiao_analytics::geojson::write_cells(out, cells)?;
    Ok(())
}
