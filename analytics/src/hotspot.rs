//! The contradiction heat map (矛盾热力图): cases aggregated into H3 cells over the whole study area,
//! Getis-Ord Gi* over k-ring neighbourhoods with FDR-corrected confidence bins, hot cells merged into
//! clusters, and each cluster given its four-level response with a reason.
//!
//! What the statistic runs on is the [`Measure`]: the count (the workload map, exactly PySAL's Gi*),
//! or a risk measure ([`crate::risk`]): each cell's expected count from its residents
//! ([`PopulationSurface`]) and the region's rate for the filter and period, the dispersion of the
//! counts around it, and Gi* on the standardised excess (or on empirical-Bayes rates). A risk hot
//! cell must also carry the excess itself: its own count significantly above its expected count
//! (Benjamini–Hochberg over the cells Gi* calls, at the same level) and at least
//! [`RiskOptions::min_cases`] cases of its own and in its neighbourhood — Gi* alone marks the ring
//! around a hot spot too, and a single case where almost nobody lives.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use duckdb::Connection;
use fengqiao_ingest::model::Category;
use fengqiao_ingest::Region;
use h3o::{CellIndex, Resolution};
use serde::Serialize;

use crate::aggregate::{CellFigures, SeverityWeights};
use crate::area::StudyArea;
use crate::cache::{CaseColumns, CellTally};
use crate::cells::{k_ring_weights, kernel_weights};
use crate::filter::Filter;
use crate::gistar::{benjamini_hochberg, confidence_bins, gi_star, GiStar, Weights};
use crate::measure::{Baseline, Dispersion, Measure, Residual, RiskOptions};
use crate::population::PopulationSurface;
use crate::response::{ClusterFacts, Level, Rules};
use crate::risk;
pub use crate::source::CaseSource;
use crate::AnalyticsError;
use rayon::prelude::*;

/// What to compute.
#[derive(Debug, Clone)]
pub struct HeatmapOptions {
    pub res: Resolution,
    /// Neighbourhood radius in grid steps.
    pub k: u32,
    /// Gaussian kernel weights instead of binary ones.
    pub kernel: bool,
    pub filter: Filter,
    pub weights: SeverityWeights,
    /// "Now", for open/overdue.
    pub as_of: NaiveDateTime,
    pub rules: Rules,
    /// What the statistic runs on (risk by default).
    pub measure: Measure,
    pub risk: RiskOptions,
}

/// One cell of the heat map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeatCell {
    pub h3: String,
    /// `None` where small-count suppression hid the figures.
    pub count: Option<u64>,
    pub score: Option<f64>,
    pub open: Option<u64>,
    pub overdue: Option<u64>,
    /// Residents of the cell (risk measures).
    pub population: Option<f64>,
    /// Expected cases: residents × the region's rate for the filter and period (risk measures).
    pub expected: Option<f64>,
    /// Observed over expected cases (`None` where nobody lives or figures are hidden).
    pub ratio: Option<f64>,
    /// P(a count at least this large) under the cell's expected count and the dispersion.
    pub excess_p: Option<f64>,
    /// Residents but no one: the expected count is 0 and the ratio undefined.
    pub no_residents: bool,
    /// What Gi* ran on for this cell: the count, the EB rate per 10,000, or the standardised excess.
    pub value: Option<f64>,
    pub gi_z: f64,
    pub gi_p: f64,
    /// Significant at 95% under Benjamini–Hochberg over the study area.
    pub gi_fdr_significant: bool,
    /// ArcGIS Gi_Bin with FDR: ±3/±2/±1 for 99/95/90%.
    pub confidence: i8,
    pub level: Option<Level>,
    pub level_reason: String,
    pub top_category: Option<Category>,
    pub county_code: String,
    pub township_code: String,
    pub village_code: String,
    /// Index into [`Heatmap::clusters`] of the cluster this hot cell belongs to.
    pub cluster: Option<usize>,
    pub suppressed: bool,
}

/// A place a cluster covers, with the cases it contributes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Place {
    pub code: String,
    pub name: String,
    /// `None` where small-count suppression hid it.
    pub cases: Option<u64>,
}

/// Connected hot cells.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    pub id: usize,
    pub level: Level,
    pub reason: String,
    pub confidence: i8,
    pub cells: Vec<String>,
    /// `None` where small-count suppression hid it.
    pub cases: Option<u64>,
    pub cases_per_week: Option<f64>,
    /// Expected cases of the cluster's cells (risk measures).
    pub expected: Option<f64>,
    /// Observed over expected (risk measures; `None` where hidden).
    pub ratio: Option<f64>,
    pub counties: Vec<Place>,
    pub townships: Vec<Place>,
    pub villages: Vec<Place>,
    /// Largest first.
    pub top_categories: Vec<(Category, u64)>,
    /// Centre of the cluster's cells (WGS84).
    pub lng: f64,
    pub lat: f64,
}

/// The heat map of a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Heatmap {
    pub res: u8,
    pub k: u32,
    pub measure: Measure,
    /// How the risk figures were computed (risk measures).
    pub risk: Option<RiskSummary>,
    /// Weeks in the period (for cases per week).
    pub weeks: f64,
    pub cells: Vec<HeatCell>,
    /// Hottest first (level, then cases).
    pub clusters: Vec<Cluster>,
}

/// How a map's risk figures were computed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskSummary {
    /// Residents of the region (the denominator of the rate).
    pub residents: f64,
    /// The region's cases for the filter and period (its unit left out: the rate is the region's).
    pub region_cases: u64,
    /// The rate the expected counts use: the region's typical rate per 10,000 residents (its mean,
    /// `region_cases / residents`, times the robust scale; see [`crate::risk::robust_scale_and_dispersion`]).
    pub rate_per_10k: f64,
    /// NB2 dispersion α of the counts around their expected counts (0 = Poisson).
    pub dispersion: f64,
    pub residual: Residual,
    pub baseline: Baseline,
    /// Cells with cases but no residents.
    pub cells_without_residents: usize,
    /// Global Moran's I of the cells' Assunção–Reis index over their rings (PySAL's `Moran_Rate`):
    /// how much more than chance the excess clusters in space (0: not at all).
    pub moran_i: Option<f64>,
}

/// Computes the heat map from the store.
pub fn heatmap(conn: &Connection, region: &Region, opts: &HeatmapOptions) -> Result<Heatmap, AnalyticsError> {
    heatmap_from(CaseSource::Store(conn), region, opts)
}

/// Computes the heat map from the in-memory columns (the server's hot path).
pub fn heatmap_cached(
    columns: &CaseColumns,
    region: &Region,
    opts: &HeatmapOptions,
) -> Result<Heatmap, AnalyticsError> {
    heatmap_from(CaseSource::Cached(columns), region, opts)
}

/// Computes the heat map from either source.
pub fn heatmap_from(source: CaseSource<'_>, region: &Region, opts: &HeatmapOptions) -> Result<Heatmap, AnalyticsError> {
    // The study area is the region's alone: worked out on the other core while the in-memory
    // columns are counted (a DuckDB connection stays on its own thread).
    let (counted, area) = match source {
        CaseSource::Cached(columns) => rayon::join(
            || {
                let tally = columns.tally(region, opts.res, &opts.filter, &opts.weights, opts.as_of)?;
                Ok(Counted::of_tally(tally, &opts.filter))
            },
            || StudyArea::of(region, opts.res),
        ),
        CaseSource::Store(conn) => (
            source
                .cells(region, opts.res, &opts.filter, &opts.weights, opts.as_of)
                .and_then(|figures| {
                    Ok(Counted {
                        figures,
                        weeks: period_weeks(conn, region, &opts.filter)?,
                    })
                }),
            StudyArea::of(region, opts.res),
        ),
    };
    heatmap_counted(&source, region, opts, &area, counted?)
}

/// The filter's cases counted per cell, and the weeks of their period.
#[derive(Debug, Clone)]
pub struct Counted {
    pub figures: Vec<CellFigures>,
    pub weeks: f64,
}

impl Counted {
    /// The figures of a tally, over the filter's period (the cases' own where it is open).
    pub fn of_tally(tally: CellTally, filter: &Filter) -> Counted {
        let period = tally.period();
        Counted {
            weeks: weeks_between(filter.from.or(period.map(|p| p.0)), filter.to.or(period.map(|p| p.1))),
            figures: tally.figures,
        }
    }
}

/// The heat map of cases already counted over a study area made earlier (of `opts.res`; cells
/// holding cases outside it are added). `source` gives what a risk measure needs besides.
pub fn heatmap_counted(
    source: &CaseSource<'_>,
    region: &Region,
    opts: &HeatmapOptions,
    area: &StudyArea,
    counted: Counted,
) -> Result<Heatmap, AnalyticsError> {
    let Counted { figures, weeks } = counted;
    let with_cases: Vec<CellIndex> = figures.iter().filter_map(|f| CellIndex::try_from(f.h3).ok()).collect();
    let area = area.with_cells(region, &with_cases);
    let risk = if opts.measure.is_risk() {
        let counts = counts_of(&area.cells, &figures);
        Some(RiskCells::compute(source, region, opts, &area.cells, &counts)?)
    } else {
        None
    };
    Ok(heatmap_of(region, opts, &area, figures, weeks, risk))
}

/// The count of each of `cells` (0 where none).
fn counts_of(cells: &[CellIndex], figures: &[CellFigures]) -> Vec<u64> {
    let by_cell: HashMap<u64, u64> = figures.iter().map(|f| (f.h3, f.count)).collect();
    cells
        .iter()
        .map(|c| by_cell.get(&u64::from(*c)).copied().unwrap_or(0))
        .collect()
}

/// The risk figures of a map's cells.
struct RiskCells {
    people: Vec<f64>,
    expected: Vec<f64>,
    /// What Gi* runs on.
    values: Vec<f64>,
    /// P(Y ≥ y) and P(Y ≤ y) of each cell's own count.
    upper_p: Vec<f64>,
    lower_p: Vec<f64>,
    summary: RiskSummary,
}

impl RiskCells {
    /// The expected counts the model uses (the floor where nobody lives).
    fn model_means(&self) -> Vec<f64> {
        (0..self.expected.len()).map(floored_means(&self.expected)).collect()
    }

    fn compute(
        source: &CaseSource<'_>,
        region: &Region,
        opts: &HeatmapOptions,
        cells: &[CellIndex],
        counts: &[u64],
    ) -> Result<RiskCells, AnalyticsError> {
        let surface = PopulationSurface::of(region, source)?;
        let within = opts.filter.unit_id(region)?.filter(|&u| u != 0);
        let people = surface.people_of(region, cells, opts.res, within);
        let region_filter = Filter {
            unit: None,
            ..opts.filter.clone()
        };
        let region_cases = source.count(region, &region_filter)?;
        let mut expected = risk::expected_counts(&people, region_cases as f64, surface.total());
        if let Baseline::History { weeks } = opts.risk.baseline {
            let factors = history_factors(source, region, opts, cells, &people, &surface, weeks)?;
            for (e, f) in expected.iter_mut().zip(factors) {
                *e *= f;
            }
        }
        let (scale, alpha) = scale_and_dispersion(opts.risk.dispersion, counts, &expected, &people);
        for e in &mut expected {
            *e *= scale;
        }
        let values = cell_values(opts, counts, &expected, &people, alpha);
        let (upper_p, lower_p) = cell_tails(counts, &expected, alpha);
        let residents = surface.total();
        let summary = RiskSummary {
            residents,
            region_cases,
            rate_per_10k: scale * region_cases as f64 / residents * 10_000.0,
            dispersion: alpha,
            residual: opts.risk.residual,
            baseline: opts.risk.baseline,
            cells_without_residents: (0..cells.len()).filter(|&i| counts[i] > 0 && people[i] <= 0.0).count(),
            moran_i: None,
        };
        Ok(RiskCells {
            people,
            expected,
            values,
            upper_p,
            lower_p,
            summary,
        })
    }
}

/// A cell with cases but no residents is compared with the smallest expected count of a
/// populated cell, not with zero.
fn floored_means(expected: &[f64]) -> impl Fn(usize) -> f64 + '_ {
    let floor = risk::expected_floor(expected);
    move |i| if expected[i] > 0.0 { expected[i] } else { floor }
}

/// Each cell's value of the measure: EB rates per 10,000 (`rate`), else the standardised excess.
fn cell_values(opts: &HeatmapOptions, counts: &[u64], expected: &[f64], people: &[f64], alpha: f64) -> Vec<f64> {
    if opts.measure == Measure::Rate {
        let observed: Vec<f64> = counts.iter().map(|&n| n as f64).collect();
        return risk::marshall_eb_rates(&observed, people)
            .into_iter()
            .map(|r| r * 10_000.0)
            .collect();
    }
    let model_mean = floored_means(expected);
    (0..counts.len())
        .into_par_iter()
        .map(|i| {
            if counts[i] == 0 && expected[i] <= 0.0 {
                return 0.0;
            }
            match opts.risk.residual {
                Residual::Quantile => risk::mid_quantile_residual(counts[i], model_mean(i), alpha),
                Residual::Pearson => risk::pearson_residual(counts[i] as f64, model_mean(i), alpha),
            }
        })
        .collect()
}

/// Each cell's `P(Y ≥ own)` and `P(Y ≤ own)` under its expected count.
fn cell_tails(counts: &[u64], expected: &[f64], alpha: f64) -> (Vec<f64>, Vec<f64>) {
    let model_mean = floored_means(expected);
    (0..counts.len())
        .into_par_iter()
        .map(|i| {
            if counts[i] == 0 {
                return (1.0, risk::cdf(0, model_mean(i), alpha));
            }
            (
                risk::upper_tail(counts[i], model_mean(i), alpha),
                risk::cdf(counts[i], model_mean(i), alpha),
            )
        })
        .unzip()
}

/// The dispersion a choice gives for these counts.
/// The region's typical rate relative to its mean (`k`, by which the expected counts are scaled) and
/// the dispersion, as a choice gives them for these counts: only the robust choice moves `k` from 1.
pub fn scale_and_dispersion(choice: Dispersion, counts: &[u64], expected: &[f64], people: &[f64]) -> (f64, f64) {
    match choice {
        Dispersion::Robust => risk::robust_scale_and_dispersion(counts, expected),
        Dispersion::Moments => {
            let observed: Vec<f64> = counts.iter().map(|&n| n as f64).collect();
            (1.0, risk::moment_dispersion(&observed, people))
        }
        Dispersion::Poisson => (1.0, 0.0),
        Dispersion::Fixed(alpha) => (1.0, alpha),
    }
}

/// Each cell's own relative risk over the `weeks` before the period (shrunk towards 1).
fn history_factors(
    source: &CaseSource<'_>,
    region: &Region,
    opts: &HeatmapOptions,
    cells: &[CellIndex],
    people: &[f64],
    surface: &PopulationSurface,
    weeks: u32,
) -> Result<Vec<f64>, AnalyticsError> {
    let from = opts
        .filter
        .from
        .ok_or_else(|| AnalyticsError::Period("a history baseline needs the period's start (--from)".into()))?;
    let history = Filter {
        from: Some(from - chrono::Duration::weeks(i64::from(weeks))),
        to: Some(from),
        ..opts.filter.clone()
    };
    let figures = source.cells(region, opts.res, &history, &opts.weights, opts.as_of)?;
    let observed = counts_of(cells, &figures);
    let region_cases = source.count(region, &Filter { unit: None, ..history })?;
    let expected = risk::expected_counts(people, region_cases as f64, surface.total());
    let alpha = risk::robust_dispersion(&observed, &expected);
    Ok(observed
        .iter()
        .zip(&expected)
        .map(|(&o, &e)| risk::history_factor(o as f64, e, alpha))
        .collect())
}

/// The confidence bins of a map: ArcGIS's FDR bins of Gi* for the count; for the risk measures also
/// the cell's own excess (see the module documentation).
fn bins_of(gi: &[GiStar], weights: &Weights, counts: &[u64], risk: Option<&RiskCells>, min_cases: u64) -> Vec<i8> {
    let Some(risk) = risk else {
        return confidence_bins(gi, true);
    };
    let neighbourhood: Vec<u64> = (0..counts.len())
        .map(|i| weights.neighbours(i).iter().map(|&j| counts[j as usize]).sum())
        .collect();
    risk::core_bins(&risk::CoreTest {
        gi,
        upper_p: &risk.upper_p,
        lower_p: &risk.lower_p,
        own: counts,
        neighbourhood: &neighbourhood,
        min_cases,
    })
}

/// The heat map of cell figures from either source.
fn heatmap_of(
    region: &Region,
    opts: &HeatmapOptions,
    area: &StudyArea,
    figures: Vec<CellFigures>,
    weeks: f64,
    risk: Option<RiskCells>,
) -> Heatmap {
    let cells = &area.cells;
    let by_cell: HashMap<u64, &CellFigures> = figures.iter().map(|f| (f.h3, f)).collect();
    let counts = counts_of(cells, &figures);
    let weights = match (opts.kernel, opts.k) {
        (true, k) => Cow::Owned(kernel_weights(cells, k)),
        (false, 1) => Cow::Borrowed(&area.rings),
        (false, k) => Cow::Owned(k_ring_weights(cells, k)),
    };
    let values: Vec<f64> = match &risk {
        Some(r) => r.values.clone(),
        None => counts.iter().map(|&n| n as f64).collect(),
    };
    let mut risk = risk;
    if let Some(r) = risk.as_mut() {
        let observed: Vec<f64> = counts.iter().map(|&n| n as f64).collect();
        r.summary.moran_i = risk::morans_i(&risk::assuncao_reis(&observed, &r.people), &area.rings);
    }
    let gi = neighbourhood_statistic(opts, risk.as_ref(), &values, &counts, &weights);
    let bins = bins_of(&gi, &weights, &counts, risk.as_ref(), opts.risk.min_cases);
    let significant = benjamini_hochberg(&gi.iter().map(|g| g.p).collect::<Vec<_>>(), 0.05);
    let stats = CellStats {
        counts: &counts,
        values: &values,
        gi: &gi,
        bins: &bins,
        significant: &significant,
    };
    let mut rows = heat_rows(region, area, &by_cell, &stats, risk.as_ref());
    let context = ClusterContext {
        region,
        area,
        by_cell: &by_cell,
        bins: &bins,
        weeks,
        rules: &opts.rules,
    };
    let clusters = clusters_of(&context, risk.as_ref(), &mut rows);
    Heatmap {
        res: u8::from(opts.res),
        k: opts.k,
        measure: opts.measure,
        risk: risk.map(|r| r.summary),
        weeks,
        cells: rows,
        clusters,
    }
}

/// Each cell's neighbourhood statistic. The excess as normal scores: the neighbourhood's cases
/// against its expected cases, exactly (binary weights) or by the scores' own moments (kernel
/// weights); Pearson residuals (Assunção–Reis), EB rates and counts: Gi* as PySAL computes it.
fn neighbourhood_statistic(
    opts: &HeatmapOptions,
    risk: Option<&RiskCells>,
    values: &[f64],
    counts: &[u64],
    weights: &Weights,
) -> Vec<GiStar> {
    match risk {
        Some(r) if opts.measure == Measure::Excess && opts.risk.residual == Residual::Quantile => {
            let expected = r.model_means();
            if opts.kernel {
                let table = risk::ScoreMoments::new(r.summary.dispersion);
                let moments: Vec<(f64, f64)> = expected.iter().map(|&e| table.of(e)).collect();
                risk::model_gi(values, &moments, weights)
            } else {
                risk::neighbourhood_scores(counts, &expected, r.summary.dispersion, weights)
            }
        }
        _ => gi_star(values, weights),
    }
}

/// What the map computed for each cell, in the order of its cells.
struct CellStats<'a> {
    counts: &'a [u64],
    values: &'a [f64],
    gi: &'a [GiStar],
    bins: &'a [i8],
    /// Gi*'s own FDR at 95 % (the count map's `gi_fdr_significant`).
    significant: &'a [bool],
}

/// The map's rows, one per cell (without their clusters yet).
fn heat_rows(
    region: &Region,
    area: &StudyArea,
    by_cell: &HashMap<u64, &CellFigures>,
    stats: &CellStats<'_>,
    risk: Option<&RiskCells>,
) -> Vec<HeatCell> {
    let places = &area.places;
    let code = |id: u32| region.units[id as usize].code.clone();
    let CellStats {
        counts,
        values,
        gi,
        bins,
        significant,
    } = stats;
    area.cells
        .iter()
        .enumerate()
        .map(|(i, cell)| {
            let f = by_cell.get(&u64::from(*cell));
            let top_category = f.and_then(|f| {
                let (best, n) = f
                    .by_category
                    .iter()
                    .enumerate()
                    .max_by_key(|&(j, n)| (*n, std::cmp::Reverse(j)))?;
                (*n > 0).then(|| Category::ALL[best])
            });
            let expected = risk.map(|r| r.expected[i]);
            HeatCell {
                h3: cell.to_string(),
                count: Some(counts[i]),
                score: Some(f.map_or(0.0, |f| f.score)),
                open: Some(f.map_or(0, |f| f.open)),
                overdue: Some(f.map_or(0, |f| f.overdue)),
                population: risk.map(|r| r.people[i]),
                expected,
                ratio: expected.filter(|&e| e > 0.0).map(|e| counts[i] as f64 / e),
                excess_p: risk.map(|r| r.upper_p[i]),
                no_residents: risk.is_some_and(|r| r.people[i] <= 0.0),
                value: Some(values[i]),
                gi_z: gi[i].z,
                gi_p: gi[i].p,
                gi_fdr_significant: if risk.is_some() {
                    bins[i] >= 2
                } else {
                    significant[i] && gi[i].z > 0.0
                },
                confidence: bins[i],
                level: None,
                level_reason: String::new(),
                top_category,
                county_code: code(places[i].county),
                township_code: code(places[i].township),
                village_code: code(places[i].village),
                cluster: None,
                suppressed: false,
            }
        })
        .collect()
}

/// The clusters of hot cells, highest level first, each with its level; `rows` get their cluster.
fn clusters_of(context: &ClusterContext<'_>, risk: Option<&RiskCells>, rows: &mut [HeatCell]) -> Vec<Cluster> {
    let area = context.area;
    let mut clusters: Vec<Cluster> = hot_components(&area.rings, context.bins)
        .into_iter()
        .map(|members| {
            let expected = risk.map(|r| members.iter().map(|&i| r.expected[i]).sum::<f64>());
            describe_cluster(context, &members, expected)
        })
        .collect();
    clusters.sort_by(|a, b| {
        b.level
            .cmp(&a.level)
            .then(b.cases.cmp(&a.cases))
            .then(a.cells.cmp(&b.cells))
    });
    for (id, cluster) in clusters.iter_mut().enumerate() {
        cluster.id = id;
        for h3 in &cluster.cells {
            let i = area
                .position(h3.parse::<CellIndex>().expect("our own cell"))
                .expect("a cell of the map");
            rows[i].cluster = Some(id);
            rows[i].level = Some(cluster.level);
            rows[i].level_reason = cluster.reason.clone();
        }
    }
    clusters
}

/// Connected components of hot cells (bin > 0) under grid adjacency (`rings`), each sorted.
fn hot_components(rings: &Weights, bins: &[i8]) -> Vec<Vec<usize>> {
    let mut clusters = Vec::new();
    let mut seen = vec![false; rings.len()];
    for start in 0..rings.len() {
        if seen[start] || bins[start] <= 0 {
            continue;
        }
        let mut members = vec![start];
        seen[start] = true;
        let mut next = 0;
        while next < members.len() {
            let i = members[next];
            next += 1;
            for &j in rings.neighbours(i) {
                let j = j as usize;
                if !seen[j] && bins[j] > 0 {
                    seen[j] = true;
                    members.push(j);
                }
            }
        }
        members.sort_unstable();
        clusters.push(members);
    }
    clusters
}

/// What describing a cluster needs from its map.
struct ClusterContext<'a> {
    region: &'a Region,
    area: &'a StudyArea,
    by_cell: &'a HashMap<u64, &'a CellFigures>,
    bins: &'a [i8],
    weeks: f64,
    rules: &'a Rules,
}

fn describe_cluster(context: &ClusterContext<'_>, members: &[usize], expected: Option<f64>) -> Cluster {
    let ClusterContext {
        region,
        area,
        bins,
        weeks,
        rules,
        ..
    } = *context;
    let totals = ClusterTotals::of(context, members);
    let cases = totals.cases;
    let townships = parent_counts(region, &totals.villages);
    let counties = parent_counts(region, &townships);
    let confidence = members.iter().map(|&i| bins[i]).max().unwrap_or(0);
    let cases_per_week = if weeks > 0.0 { cases as f64 / weeks } else { 0.0 };
    let facts = ClusterFacts {
        confidence,
        observed: cases,
        expected,
        cases_per_week,
        excess_per_week: expected.map_or(0.0, |e| (cases as f64 - e) / weeks.max(1e-9)),
        villages: totals.villages.len(),
        townships: townships.len(),
        category_counts: totals.categories.to_vec(),
        serious_share: if cases > 0 {
            totals.serious as f64 / cases as f64
        } else {
            0.0
        },
    };
    let (level, reason) = rules.decide(&facts);
    let mut top_categories: Vec<(Category, u64)> = Category::ALL
        .iter()
        .copied()
        .zip(totals.categories)
        .filter(|&(_, n)| n > 0)
        .collect();
    top_categories.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top_categories.truncate(3);
    let n = members.len() as f64;
    Cluster {
        id: 0,
        level,
        reason,
        confidence,
        cells: members.iter().map(|&i| area.cells[i].to_string()).collect(),
        cases: Some(cases),
        cases_per_week: Some(cases_per_week),
        expected,
        ratio: expected.filter(|&e| e > 0.0).map(|e| cases as f64 / e),
        counties: places_by_cases(region, &counties),
        townships: places_by_cases(region, &townships),
        villages: places_by_cases(region, &totals.villages),
        top_categories,
        lng: totals.lng / n,
        lat: totals.lat / n,
    }
}

/// A cluster's cells added up.
struct ClusterTotals {
    cases: u64,
    serious: u64,
    categories: [u64; 18],
    villages: BTreeMap<String, u64>,
    /// The sums of the cells' centres.
    lng: f64,
    lat: f64,
}

impl ClusterTotals {
    fn of(context: &ClusterContext<'_>, members: &[usize]) -> ClusterTotals {
        let mut t = ClusterTotals {
            cases: 0,
            serious: 0,
            categories: [0; 18],
            villages: BTreeMap::new(),
            lng: 0.0,
            lat: 0.0,
        };
        for &i in members {
            let cell = context.area.cells[i];
            let centre = h3o::LatLng::from(cell);
            t.lng += centre.lng();
            t.lat += centre.lat();
            let Some(f) = context.by_cell.get(&u64::from(cell)) else {
                continue;
            };
            t.cases += f.count;
            t.serious += f.serious;
            for (c, n) in t.categories.iter_mut().zip(f.by_category) {
                *c += u64::from(n);
            }
            for (v, n) in &f.villages {
                *t.villages.entry(v.clone()).or_default() += u64::from(*n);
            }
        }
        t
    }
}

/// The units `codes` named with their cases, most first.
fn places_by_cases(region: &Region, codes: &BTreeMap<String, u64>) -> Vec<Place> {
    let mut places: Vec<Place> = codes
        .iter()
        .map(|(code, &cases)| Place {
            code: code.clone(),
            name: region.unit(code).map_or_else(String::new, |u| u.name.clone()),
            cases: Some(cases),
        })
        .collect();
    places.sort_by(|a, b| b.cases.cmp(&a.cases).then(a.code.cmp(&b.code)));
    places
}

/// The cases of `codes` added up by their parent units.
fn parent_counts(region: &Region, codes: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    let mut up = BTreeMap::new();
    for (code, n) in codes {
        if let Some(parent) = region.unit(code).and_then(|u| u.parent.clone()) {
            *up.entry(parent).or_default() += n;
        }
    }
    up
}

/// Weeks covered by the filter's period, or by the data when the period is open.
pub(crate) fn period_weeks(conn: &Connection, region: &Region, filter: &Filter) -> Result<f64, AnalyticsError> {
    let (clause, params) = filter.where_clause(region)?;
    let (first, last): (Option<String>, Option<String>) = conn
        .query_row(
            &format!(
                "SELECT CAST(min(reported_at) AS VARCHAR), CAST(max(reported_at) AS VARCHAR) FROM cases WHERE {clause}"
            ),
            duckdb::params_from_iter(params.iter()),
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|source| AnalyticsError::Query {
            what: "the period",
            source,
        })?;
    let parse = |s: Option<String>| s.and_then(|s| fengqiao_ingest::time::parse_datetime(&s));
    Ok(weeks_between(filter.from.or(parse(first)), filter.to.or(parse(last))))
}

pub(crate) fn weeks_between(from: Option<NaiveDateTime>, to: Option<NaiveDateTime>) -> f64 {
    match (from, to) {
        (Some(a), Some(b)) if b > a => ((b - a).num_seconds() as f64 / (7.0 * 86_400.0)).max(1.0 / 7.0),
        _ => 1.0,
    }
}

/// Small-count protection for display outputs: hides the figures of every cell with fewer than `k`
/// cases (but more than none) and of every cluster with fewer than `k`, so that no household can be
/// singled out. The statistics (z, p, confidence, level) stay: they are computed over neighbourhoods.
pub fn suppress_small_counts(map: &mut Heatmap, k: u64) {
    let small = |n: Option<u64>| n.is_some_and(|n| n > 0 && n < k);
    for cell in &mut map.cells {
        if small(cell.count) {
            cell.count = None;
            cell.score = None;
            cell.open = None;
            cell.overdue = None;
            cell.top_category = None;
            // Each of these, with the expected count or the neighbours, gives the count back.
            cell.ratio = None;
            cell.excess_p = None;
            cell.value = None;
            cell.suppressed = true;
        }
    }
    for cluster in &mut map.clusters {
        if small(cluster.cases) {
            cluster.cases = None;
            cluster.cases_per_week = None;
            cluster.ratio = None;
        }
        for place in cluster
            .counties
            .iter_mut()
            .chain(&mut cluster.townships)
            .chain(&mut cluster.villages)
        {
            if small(place.cases) {
                place.cases = None;
            }
        }
        cluster.top_categories.retain(|&(_, n)| n >= k);
    }
}
