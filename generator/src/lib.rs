//! Generator: realistic synthetic case records of a region's dispute-resolution centres, with planted
//! patterns whose ground truth is written next to the data, so that the analytics can be proved right.
//!
//! Inputs: a [`fengqiao_ingest::Region`] (its villages, grids and populations) and
//! [`GenerateOptions`] (months ending on a day, or a fixed number of cases; a seed; the header
//! language). Outputs: one file of case records in the input format of `docs/input-format.md` —
//! CSV, NDJSON or Parquet, chosen by the extension — and `FILE.truth.json` ([`truth::Truth`]), which
//! lists the targets and every planted hot spot, quiet cell, recurring problem, spike and repeat
//! chain. The output is a pure function of the region and the options: the same seed gives the same
//! bytes. Method, targets ([`targets`]) and the truth format: `docs/generator.md`. Every personal
//! field (party names, phones, summaries) is plainly fake.

pub mod calendar;
mod cases;
mod dispersion;
mod names;
mod plan;
mod space;
pub mod targets;
pub mod truth;
mod write;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use fengqiao_ingest::model::{CaseClass, Category};
use fengqiao_ingest::Region;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

pub use names::{NAME_PREFIX, PHONE_PREFIX, SUMMARY_PREFIX};
pub use write::{case_id, OutputFormat, CASE_ID_PREFIX};

use cases::{Cumulative, DayContext, Tables};
use plan::{Period, Plan};
use space::Places;

/// The language of the column headers (and NDJSON keys, and Parquet column names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeaderLanguage {
    /// `case_id`, `reported_at`, … ([`fengqiao_ingest::schema::Column::name`]).
    #[default]
    English,
    /// `案件编号`, `受理时间`, … ([`fengqiao_ingest::schema::Column::zh`]).
    Chinese,
}

impl FromStr for HeaderLanguage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" | "english" => Ok(HeaderLanguage::English),
            "zh" | "cn" | "chinese" | "中文" => Ok(HeaderLanguage::Chinese),
            _ => Err(format!("unknown header language {s:?} (expected en or zh)")),
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// Calendar months ending with the month of `end` (the period starts on the 1st).
    pub months: u32,
    /// Total cases instead of the nominal volume (≈ 20,000 a month for 4.67 M people); the same
    /// period, shapes and planted patterns, with planted rates scaled to the volume.
    pub cases: Option<u64>,
    /// The last day of the period; the life cycles are as of 23:59:59 on it.
    pub end: NaiveDate,
    pub seed: u64,
    pub headers: HeaderLanguage,
    /// Over-dispersion α of the background (0: Poisson given the population; see
    /// `docs/generator.md`, "Over-dispersion").
    pub dispersion: f64,
}

impl Default for GenerateOptions {
    /// 12 months ending 2026-10-31, seed 42, English headers.
    fn default() -> Self {
        GenerateOptions {
            months: 12,
            cases: None,
            end: NaiveDate::from_ymd_opt(2026, 10, 31).expect("valid date"),
            seed: 42,
            headers: HeaderLanguage::English,
            dispersion: 0.0,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateSummary {
    /// Rows written.
    pub cases: u64,
    /// Of which planted.
    pub planted_cases: u64,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub weeks: u32,
    pub out: PathBuf,
    pub format: OutputFormat,
    pub truth_path: PathBuf,
    pub hotspots: usize,
    pub quiet_cells: usize,
    pub recurring: usize,
    pub spike: bool,
    pub repeat_chains: usize,
    pub elapsed: Duration,
}

/// Why generation failed; every variant names the output path.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{}: unknown output format (use .csv, .ndjson, .jsonl or .parquet)", path.display())]
    UnknownFormat { path: PathBuf },
    #[error("{}: {message}", path.display())]
    Options { path: PathBuf, message: String },
    #[error("{}: region {region}: {message}", path.display())]
    Region {
        path: PathBuf,
        region: String,
        message: String,
    },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: converting to Parquet failed: {source}", path.display())]
    Parquet { path: PathBuf, source: duckdb::Error },
    #[error("{}: {source}", path.display())]
    Json { path: PathBuf, source: serde_json::Error },
}

/// The truth file of the data file `out`: `out` with `.truth.json` appended to its name.
pub fn truth_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".truth.json");
    PathBuf::from(s)
}

/// Independent random streams, so that changing one part of the generator leaves the others as they
/// were.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    DailyNoise = 1,
    Hotspots,
    Recurring,
    Spike,
    Quiet,
    Chains,
    Schedule,
    Day,
    Dispersion,
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The generator of stream `stream`, item `index` (e.g. a day) for `seed`.
pub(crate) fn rng_for(seed: u64, stream: Stream, index: u64) -> ChaCha8Rng {
    let s = splitmix64(splitmix64(seed ^ (stream as u64).rotate_left(56)) ^ index);
    ChaCha8Rng::seed_from_u64(s)
}

/// Generates the data set described by `opts` for `region` into `out` (format by extension) and its
/// truth file ([`truth_path`]).
pub fn generate(region: &Region, opts: &GenerateOptions, out: &Path) -> Result<GenerateSummary, GenerateError> {
    generate_with_progress(region, opts, out, &mut |_, _| {})
}

/// Removes temporary files unless disarmed.
struct TempFiles(Vec<PathBuf>);

impl Drop for TempFiles {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(format!(".{}{suffix}", std::process::id()));
    PathBuf::from(s)
}

/// [`generate`], calling `progress(rows written, rows in all)` after each chunk of days.
pub fn generate_with_progress(
    region: &Region,
    opts: &GenerateOptions,
    out: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<GenerateSummary, GenerateError> {
    let started = Instant::now();
    let format = OutputFormat::from_path(out).ok_or_else(|| GenerateError::UnknownFormat { path: out.into() })?;
    let start = period_start(opts, out)?;
    let places = Places::new(region).map_err(|message| GenerateError::Region {
        path: out.into(),
        region: region.code.clone(),
        message,
    })?;
    let period = Period::new(start, opts.end, opts.seed);
    let (total, scale) = volume(region, &places, &period, opts.cases);
    let plan = Plan::build(region, &places, &period, scale, total, opts.seed);
    let tables = build_tables(&period, &plan, total);
    let now = opts.end.and_hms_opt(23, 59, 59).expect("valid time");

    let data_tmp = sibling(
        out,
        if format == OutputFormat::Parquet {
            ".tmp.csv"
        } else {
            ".partial"
        },
    );
    let parquet_tmp = sibling(out, ".partial");
    let _cleanup = TempFiles(vec![data_tmp.clone(), parquet_tmp.clone()]);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| GenerateError::Io { path, source }
    };
    // Errors on the temporary files name the output the user asked for.
    let mut file = BufWriter::with_capacity(1 << 20, File::create(&data_tmp).map_err(io(out))?);
    if format != OutputFormat::Ndjson {
        file.write_all(&write::csv_header(opts.headers)).map_err(io(out))?;
    }

    let risk = dispersion::BackgroundRisk::new(&places, &period, opts.dispersion, opts.seed);
    let ctx = DayContext {
        places: &places,
        risk: risk.as_ref(),
        period: &period,
        plan: &plan,
        tables: &tables,
        now,
        seed: opts.seed,
    };
    let (written, chain_ids) =
        write_days(&ctx, total, format, opts.headers, region, &mut file, progress).map_err(io(out))?;
    file.flush().map_err(io(out))?;
    drop(file);

    finish_output(format, &data_tmp, &parquet_tmp, out, opts.headers)?;

    let truth = build_truth(
        region, &places, &period, &plan, &tables, opts, written, scale, &chain_ids,
    );
    let truth_file = write_truth(&truth, out)?;

    Ok(GenerateSummary {
        cases: written,
        planted_cases: plan.total,
        start,
        end: opts.end,
        weeks: period.weeks(),
        out: out.into(),
        format,
        truth_path: truth_file,
        hotspots: plan.hotspots.len(),
        quiet_cells: plan.quiet_cells.len(),
        recurring: plan.recurring.len(),
        spike: plan.spike.is_some(),
        repeat_chains: plan.chains.len(),
        elapsed: started.elapsed(),
    })
}

/// The number of cases to generate (`cases`, else the region's natural volume: the reference
/// rate for its population over the period) and the planted rates' scale (1 at the natural volume).
fn volume(region: &Region, places: &Places, period: &Period, cases: Option<u64>) -> (u64, f64) {
    let population = region.units[0].population.map_or(places.total_population, |p| p as f64);
    let nominal = targets::CASES_PER_MONTH * population / targets::REFERENCE_POPULATION * period.days.len() as f64
        / targets::DAYS_PER_MONTH;
    let total = cases.unwrap_or(nominal.round() as u64);
    let scale = if nominal > 0.0 { total as f64 / nominal } else { 0.0 };
    (total, scale)
}

/// Writes the ground truth beside `out`; its path.
fn write_truth(truth: &truth::Truth, out: &Path) -> Result<PathBuf, GenerateError> {
    let truth_file = truth_path(out);
    let json = serde_json::to_vec_pretty(truth).map_err(|source| GenerateError::Json {
        path: truth_file.clone(),
        source,
    })?;
    std::fs::write(&truth_file, json).map_err(|source| GenerateError::Io {
        path: truth_file.clone(),
        source,
    })?;
    Ok(truth_file)
}

/// The first day of `opts`'s period, once its options are checked.
fn period_start(opts: &GenerateOptions, out: &Path) -> Result<NaiveDate, GenerateError> {
    let options_error = |message: String| GenerateError::Options {
        path: out.into(),
        message,
    };
    if !(opts.dispersion.is_finite() && (0.0..=5.0).contains(&opts.dispersion)) {
        return Err(options_error(format!(
            "dispersion must be 0 to 5, not {}",
            opts.dispersion
        )));
    }
    if !(1..=1200).contains(&opts.months) {
        return Err(options_error(format!("months must be 1 to 1200, not {}", opts.months)));
    }
    calendar::period_start(opts.end, opts.months)
        .ok_or_else(|| options_error(format!("no period of {} months ends on {}", opts.months, opts.end)))
}

/// Each repeat chain's cases, in order: the day and the day's sequence number (the case id).
type ChainIds = Vec<Vec<Option<(NaiveDate, u32)>>>;

/// Generates and writes every day of the period, in chunks of days made in parallel; links each
/// repeat chain's cases to their predecessors. The rows written, and each chain's case ids.
fn write_days(
    ctx: &DayContext<'_>,
    total: u64,
    format: OutputFormat,
    headers: HeaderLanguage,
    region: &Region,
    file: &mut impl Write,
    progress: &mut dyn FnMut(u64, u64),
) -> std::io::Result<(u64, ChainIds)> {
    let (period, plan) = (ctx.period, ctx.plan);
    let n_days = period.days.len();
    let per_day = (total as usize / n_days.max(1)).max(1);
    let chunk_days = (200_000 / per_day).clamp(4, 64);
    let mut chain_ids: ChainIds = plan.chains.iter().map(|c| vec![None; c.days.len()]).collect();
    let mut written = 0u64;
    for chunk_start in (0..n_days).step_by(chunk_days) {
        let chunk = chunk_start..(chunk_start + chunk_days).min(n_days);
        let mut days: Vec<Vec<cases::Case>> = chunk
            .clone()
            .into_par_iter()
            .map(|i| cases::generate_day(ctx, i))
            .collect();
        for (i, day) in chunk.clone().zip(days.iter_mut()) {
            for case in day.iter_mut() {
                if let Some((chain, pos)) = case.chain {
                    let ids = &mut chain_ids[chain as usize];
                    ids[pos as usize] = Some((period.days[i], case.seq));
                    if pos > 0 {
                        case.repeat_of = ids[pos as usize - 1];
                    }
                }
            }
        }
        let bytes: Vec<Vec<u8>> = chunk
            .clone()
            .into_par_iter()
            .zip(days.par_iter())
            .map(|(i, day)| write::serialize_day(day, period.days[i], format, headers, region, ctx.places))
            .collect();
        for b in &bytes {
            file.write_all(b)?;
        }
        written += days.iter().map(|d| d.len() as u64).sum::<u64>();
        progress(written, total);
    }
    Ok((written, chain_ids))
}

/// Moves the finished temporary file to `out` (through Parquet for a `.parquet` output).
fn finish_output(
    format: OutputFormat,
    data_tmp: &Path,
    parquet_tmp: &Path,
    out: &Path,
    headers: HeaderLanguage,
) -> Result<(), GenerateError> {
    let io = |source| GenerateError::Io {
        path: out.into(),
        source,
    };
    match format {
        OutputFormat::Parquet => {
            write::csv_to_parquet(data_tmp, parquet_tmp, headers).map_err(|source| GenerateError::Parquet {
                path: out.into(),
                source,
            })?;
            std::fs::rename(parquet_tmp, out).map_err(io)
        }
        _ => std::fs::rename(data_tmp, out).map_err(io),
    }
}

/// Background class shares: the targets, with the planted disputes taken out so that the total mix
/// (background + planted) hits [`targets::CLASS_SHARES`].
fn background_class_shares(total: u64, planted: u64) -> [f64; 5] {
    let t = total as f64;
    let background = (total - planted.min(total)) as f64;
    let mut shares = [0.0; 5];
    if background <= 0.0 {
        return shares;
    }
    for (class, share) in targets::CLASS_SHARES {
        let planted_here = if class == CaseClass::Dispute {
            planted as f64
        } else {
            0.0
        };
        shares[class as usize] = ((share * t - planted_here) / background).max(0.0);
    }
    shares
}

/// Background category weights within `class` (`Category::ALL` order), with the planted disputes'
/// categories taken out of the dispute table.
fn background_category_weights(class: CaseClass, total: u64, plan: &Plan) -> [f64; 18] {
    let mut weights = [0.0; 18];
    let class_total = total as f64 * targets::CLASS_SHARES[class as usize].1;
    for &(c, share) in targets::category_shares(class) {
        let target = share * class_total;
        let planted = if class == CaseClass::Dispute {
            plan.by_category[c as usize] as f64
        } else {
            0.0
        };
        weights[c as usize] = (target - planted).max(0.1 * target);
    }
    weights
}

/// Splits `total` over days in proportion to `weights` (largest remainders; exact).
fn apportion(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    if weights.is_empty() || sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut counts: Vec<u64> = exact.iter().map(|x| x.floor() as u64).collect();
    let assigned: u64 = counts.iter().sum();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .total_cmp(&(exact[a] - exact[a].floor()))
            .then(a.cmp(&b))
    });
    for &i in order.iter().cycle().take(total.saturating_sub(assigned) as usize) {
        counts[i] += 1;
    }
    counts
}

fn build_tables(period: &Period, plan: &Plan, total: u64) -> Tables {
    let class_shares = background_class_shares(total, plan.total);
    let base: Vec<[f64; 18]> = CaseClass::ALL
        .iter()
        .map(|&k| background_category_weights(k, total, plan))
        .collect();
    let weight_sum: f64 = period.weights.iter().sum();
    // Normalise every category's seasonal factor to a volume-weighted mean of 1 over the period, so
    // that seasons move cases between months without moving the category's share.
    let norm: Vec<f64> = Category::ALL
        .iter()
        .map(|&c| {
            let s: f64 = period
                .days
                .iter()
                .zip(&period.weights)
                .map(|(&d, &w)| w * calendar::seasonal_factor(c, d))
                .sum();
            if s > 0.0 {
                s / weight_sum
            } else {
                1.0
            }
        })
        .collect();
    let category = period
        .days
        .iter()
        .map(|&d| {
            let factors: Vec<f64> = Category::ALL
                .iter()
                .zip(&norm)
                .map(|(&c, n)| calendar::seasonal_factor(c, d) / n)
                .collect();
            std::array::from_fn(|k| Cumulative::new(base[k].iter().zip(&factors).map(|(b, f)| b * f)))
        })
        .collect();
    let hot = plan.hotspot_total as f64;
    let non_hot = (total as f64 - hot).max(1.0);
    let adjust = |share: f64| (share * total as f64 / non_hot).min(1.0);
    Tables {
        class: Cumulative::new(class_shares),
        category,
        severity: Cumulative::new(targets::SEVERITY_SHARES.map(|e| e.1)),
        channel: Cumulative::new(targets::CHANNEL_SHARES.map(|e| e.1)),
        crs: Cumulative::new(targets::CRS_SHARES.map(|e| e.1)),
        satisfaction: Cumulative::new(targets::SATISFACTION_SHARES.map(|e| e.1)),
        office_hours: Cumulative::new(targets::OFFICE_HOURS),
        round_the_clock: Cumulative::new(targets::ROUND_THE_CLOCK_HOURS),
        no_coordinates: adjust(targets::NO_COORDINATES_SHARE),
        village_only: adjust(targets::VILLAGE_ONLY_SHARE),
        background: apportion(total.saturating_sub(plan.total), &period.weights),
    }
}

fn shares_map<T: Copy>(shares: &[(T, f64)], code: fn(T) -> &'static str) -> BTreeMap<String, f64> {
    shares.iter().map(|&(k, s)| (code(k).to_string(), s)).collect()
}

fn truth_targets() -> truth::Targets {
    truth::Targets {
        cases_per_month: targets::CASES_PER_MONTH,
        class: shares_map(&targets::CLASS_SHARES, CaseClass::code),
        category: shares_map(&targets::overall_category_shares(), Category::code),
        category_by_class: CaseClass::ALL
            .iter()
            .map(|&k| {
                (
                    k.code().to_string(),
                    shares_map(targets::category_shares(k), Category::code),
                )
            })
            .collect(),
        severity: shares_map(&targets::SEVERITY_SHARES, |s| s.code()),
        channel: shares_map(&targets::CHANNEL_SHARES, |c| c.code()),
        crs: shares_map(&targets::CRS_SHARES, |c| c.code()),
        no_coordinates: targets::NO_COORDINATES_SHARE,
        village_only: targets::VILLAGE_ONLY_SHARE,
        within_deadline: targets::WITHIN_DEADLINE_SHARE,
        unresolved_of_finished_disputes: targets::UNRESOLVED_SHARE,
        satisfaction_response: targets::SATISFACTION_RESPONSE_SHARE,
        satisfaction: shares_map(&targets::SATISFACTION_SHARES, |s| s.code()),
        weekend_factor: targets::WEEKEND_FACTOR,
        holiday_factor: targets::HOLIDAY_FACTOR,
    }
}

/// Expected background cases of `village` × `category` in a full week.
fn background_weekly_mean(
    places: &Places,
    period: &Period,
    tables: &Tables,
    village: fengqiao_ingest::region::UnitId,
    category: Category,
) -> f64 {
    let share = places.village_population(village) / places.total_population;
    let expected: f64 = tables
        .background
        .iter()
        .zip(&tables.category)
        .map(|(&n, by_class)| {
            let p: f64 = (0..CaseClass::ALL.len())
                .map(|k| tables.class.probability(k) * by_class[k].probability(category as usize))
                .sum();
            n as f64 * share * p
        })
        .sum();
    expected / (period.days.len() as f64 / 7.0)
}

#[allow(clippy::too_many_arguments)]
fn build_truth(
    region: &Region,
    places: &Places,
    period: &Period,
    plan: &Plan,
    tables: &Tables,
    opts: &GenerateOptions,
    total: u64,
    scale: f64,
    chain_ids: &[Vec<Option<(NaiveDate, u32)>>],
) -> truth::Truth {
    let names = Names { region, places, period };
    let weeks = period.weeks();
    truth::Truth {
        format_version: truth::FORMAT_VERSION,
        seed: opts.seed,
        region_code: region.code.clone(),
        region_name: region.name_en.clone(),
        start: period.start,
        end: period.end,
        total_cases: total,
        planted_cases: plan.total,
        h3_resolution: plan::PLANT_RESOLUTION as u8,
        week_origin: period.week_origin,
        weeks,
        week_list: (0..weeks)
            .map(|w| truth::Week {
                index: w,
                monday: period.monday(w),
                iso: calendar::iso_label(period.monday(w)),
                days: period.week_days[w as usize].len() as u32,
            })
            .collect(),
        planting: plan.enabled,
        planted_scale: scale,
        dispersion: opts.dispersion,
        targets: truth_targets(),
        hotspots: plan.hotspots.iter().map(|h| names.hotspot(h)).collect(),
        quiet_cells: plan.quiet_cells.iter().map(|c| c.to_string()).collect(),
        quiet_min_distance_m: plan.quiet_min_distance_m,
        recurring: plan.recurring.iter().map(|r| names.recurring(r)).collect(),
        spike: plan.spike.as_ref().map(|s| names.spike(s, tables)),
        repeat_chains: plan
            .chains
            .iter()
            .zip(chain_ids)
            .map(|(c, ids)| names.chain(c, ids))
            .collect(),
    }
}

/// How the ground truth names the plan's places and weeks.
struct Names<'a> {
    region: &'a Region,
    places: &'a Places,
    period: &'a Period,
}

impl Names<'_> {
    fn code(&self, id: u32) -> String {
        self.region.units[id as usize].code.clone()
    }

    fn name(&self, id: u32) -> String {
        self.region.units[id as usize].name.clone()
    }

    /// The county and township codes of a village.
    fn parents(&self, village: u32) -> (String, String) {
        let l = self.region.lineage(village).expect("villages have a lineage");
        (self.code(l.county), self.code(l.township))
    }

    fn grid_of(&self, place: u32) -> Option<String> {
        self.places.places[place as usize].grid.map(|g| self.code(g))
    }

    fn hotspot(&self, h: &plan::HotspotPlan) -> truth::Hotspot {
        let (county_code, township_code) = self.parents(h.village);
        let monday = |w: u32| self.period.monday(w);
        truth::Hotspot {
            id: h.id.clone(),
            kind: h.kind,
            county_code,
            township_code,
            village_code: self.code(h.village),
            village_name: self.name(h.village),
            grid_code: self.grid_of(h.place),
            centre: [h.centre.0, h.centre.1],
            cells: h.cells.iter().map(|c| c.to_string()).collect(),
            categories: h.categories.clone(),
            start_week: h.start_week,
            start_monday: monday(h.start_week),
            start_iso: calendar::iso_label(monday(h.start_week)),
            end_week: h.end_week,
            end_monday: monday(h.end_week),
            end_iso: calendar::iso_label(monday(h.end_week)),
            rate_start: h.rate_start,
            rate_end: h.rate_end,
            weekly_planted: h.weekly.clone(),
        }
    }

    fn recurring(&self, r: &plan::RecurringPlan) -> truth::Recurring {
        let (county_code, township_code) = self.parents(r.village);
        truth::Recurring {
            county_code,
            township_code,
            village_code: self.code(r.village),
            village_name: self.name(r.village),
            category: r.category,
            weeks: (0..self.period.weeks()).filter(|&w| r.weekly[w as usize] > 0).collect(),
            weekly_planted: r.weekly.clone(),
        }
    }

    fn spike(&self, s: &plan::SpikePlan, tables: &Tables) -> truth::Spike {
        let (county_code, township_code) = self.parents(s.village);
        let period = self.period;
        truth::Spike {
            county_code,
            township_code,
            village_code: self.code(s.village),
            village_name: self.name(s.village),
            category: s.category,
            week: s.week,
            week_monday: period.monday(s.week),
            week_iso: calendar::iso_label(period.monday(s.week)),
            days: s.days.iter().map(|&d| period.days[d as usize]).collect(),
            daily: s.daily.clone(),
            count: s.daily.iter().sum(),
            background_weekly_mean: background_weekly_mean(self.places, period, tables, s.village, s.category),
        }
    }

    fn chain(&self, c: &plan::ChainPlan, ids: &[Option<(NaiveDate, u32)>]) -> truth::RepeatChain {
        truth::RepeatChain {
            village_code: self.code(c.village),
            grid_code: self.grid_of(c.place),
            category: c.category,
            party_name: c.party.name(),
            party_phone: c.party.phone(),
            case_ids: ids.iter().flatten().map(|&(d, seq)| write::case_id(d, seq)).collect(),
            days: c.days.iter().map(|&d| self.period.days[d as usize]).collect(),
        }
    }
}

/// The default region, loaded once per test binary.
#[cfg(test)]
pub(crate) fn test_region() -> &'static Region {
    static REGION: std::sync::OnceLock<Region> = std::sync::OnceLock::new();
    REGION.get_or_init(Region::chenzhou)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_is_exact_and_proportional() {
        let counts = apportion(1000, &[1.0, 1.0, 0.45, 0.35, 2.2]);
        assert_eq!(counts.iter().sum::<u64>(), 1000);
        assert_eq!(counts, vec![200, 200, 90, 70, 440]);
        assert_eq!(apportion(7, &[1.0, 1.0, 1.0]).iter().sum::<u64>(), 7);
        assert_eq!(apportion(5, &[]), Vec::<u64>::new());
    }

    #[test]
    fn planted_disputes_are_taken_out_of_the_background_mix() {
        let shares = background_class_shares(100_000, 5_000);
        let total_dispute = shares[0] * 95_000.0 + 5_000.0;
        assert!((total_dispute / 100_000.0 - 0.553).abs() < 1e-12);
        assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((shares[1] * 95_000.0 / 100_000.0 - 0.257).abs() < 1e-12);
    }

    #[test]
    fn truth_path_appends_to_the_whole_name() {
        assert_eq!(
            truth_path(Path::new("out/cases.csv")),
            PathBuf::from("out/cases.csv.truth.json")
        );
        assert_eq!(
            truth_path(Path::new("x.parquet")),
            PathBuf::from("x.parquet.truth.json")
        );
    }

    #[test]
    fn header_language_parses() {
        assert_eq!("zh".parse::<HeaderLanguage>(), Ok(HeaderLanguage::Chinese));
        assert_eq!("English".parse::<HeaderLanguage>(), Ok(HeaderLanguage::English));
        assert!("fr".parse::<HeaderLanguage>().is_err());
    }

    #[test]
    fn streams_differ_by_seed_stream_and_index() {
        use rand::Rng;
        let a: u64 = rng_for(1, Stream::Day, 5).random();
        assert_eq!(a, rng_for(1, Stream::Day, 5).random::<u64>());
        assert_ne!(a, rng_for(2, Stream::Day, 5).random::<u64>());
        assert_ne!(a, rng_for(1, Stream::Day, 6).random::<u64>());
        assert_ne!(a, rng_for(1, Stream::Chains, 5).random::<u64>());
    }
}
