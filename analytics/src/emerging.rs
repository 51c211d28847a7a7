//! Emerging hot spots (新兴时空热点): the space-time Getis-Ord Gi* of every bin of a
//! [`Cube`](crate::cube::Cube), a Mann–Kendall trend on each location's z-series and on its counts,
//! and one of ArcGIS's 17 pattern classes per location ([`crate::pattern`]).
//!
//! The neighbourhood of bin (location i, step t) is every spatial neighbour j of i (itself included:
//! the k-ring for cells, the k nearest unit points for admin units) at steps t − w … t, w being the
//! neighbourhood time window (ArcGIS's "neighborhood time step", default 1). The global mean and
//! variance are those of the whole cube (ArcGIS's default global window). With binary weights the
//! statistic of a bin is
//!
//! ```text
//!        Σ x_nb − x̄ m                 m = |spatial neighbours| × |steps in window|
//! z = ──────────────────────────────,
//!      S sqrt((N m − m²) / (N − 1))   N = locations × steps
//! ```
//!
//! — Gi* (see [`crate::gistar`]) over the graph of bins; `analytics/tests/emerging.rs` checks it
//! against a direct evaluation of that definition. A bin is a significant hot (cold) spot when its
//! two-sided p-value passes Benjamini–Hochberg at α = 0.05 over all bins of the cube and z > 0 (< 0).
//! A location's z trend counts (intensifying / diminishing) when its Mann–Kendall p-value passes
//! Benjamini–Hochberg at the same α over all locations.

use std::collections::BTreeMap;

use fengqiao_ingest::model::AdminLevel;
use fengqiao_ingest::Region;
use h3o::CellIndex;
use rayon::prelude::*;
use serde::Serialize;

use crate::cube::{Cube, Location, Step};
use crate::gistar::{benjamini_hochberg, two_sided_p, GiStar, Weights};
use crate::measure::RiskOptions;
use crate::pattern::{classify_all_fdr, BinState, Pattern};
use crate::places::cell_places;
use crate::risk;
use crate::trend::{mann_kendall, MannKendall};

/// How the statistics are computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmergingOptions {
    /// Spatial neighbourhood: grid steps for cells, nearest units (besides itself) for admin units.
    pub k: u32,
    /// Earlier steps in a bin's neighbourhood.
    pub time_window: usize,
    /// Significance level of a bin (two-sided).
    pub alpha: f64,
    /// Benjamini–Hochberg over all bins (else each bin on its own at `alpha`).
    pub fdr: bool,
    pub global: GlobalWindow,
    /// For a cube with expected counts (a risk measure): dispersion, residual and sparse-data safety.
    pub risk: RiskOptions,
}

impl Default for EmergingOptions {
    fn default() -> Self {
        EmergingOptions {
            k: 1,
            time_window: 1,
            alpha: 0.05,
            fdr: true,
            global: GlobalWindow::Step,
            risk: RiskOptions::default(),
        }
    }
}

/// Nearest units used as the neighbours of an admin unit when `k` is 0.
pub const DEFAULT_UNIT_NEIGHBOURS: u32 = 6;

/// Which bins a bin is compared with (ArcGIS's "global window").
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GlobalWindow {
    /// The whole cube: one mean and variance for all bins.
    Cube,
    /// The bin's own time step: the mean and variance of that step's bins, so that a city-wide
    /// rise or fall (seasons, holidays) moves no location's z.
    Step,
}

/// Space-time Gi* of every bin. `values` is location-major (`steps` values per location); `spatial`
/// gives each location's neighbours (itself included). The result is in the same order.
pub fn space_time_gi_star(
    values: &[f64],
    steps: usize,
    spatial: &Weights,
    time_window: usize,
    global: GlobalWindow,
) -> Vec<GiStar> {
    let locations = spatial.len();
    assert_eq!(values.len(), locations * steps, "one value per location and step");
    if values.is_empty() {
        return Vec::new();
    }
    // (n, mean, S) of the global window of each step.
    let moments = |bins: &mut dyn Iterator<Item = f64>| {
        let (mut n, mut sum, mut sum2) = (0.0, 0.0, 0.0);
        for x in bins {
            n += 1.0;
            sum += x;
            sum2 += x * x;
        }
        let mean = sum / n;
        (n, mean, (sum2 / n - mean * mean).max(0.0).sqrt())
    };
    let global: Vec<(f64, f64, f64)> = match global {
        GlobalWindow::Cube => vec![moments(&mut values.iter().copied()); steps],
        GlobalWindow::Step => (0..steps)
            .map(|t| moments(&mut (0..locations).map(|i| values[i * steps + t])))
            .collect(),
    };
    // Sum of each location's values over the window ending at each step.
    let mut window = vec![0.0; values.len()];
    for i in 0..locations {
        let row = &values[i * steps..(i + 1) * steps];
        let mut sum = 0.0;
        for t in 0..steps {
            sum += row[t];
            if t > time_window {
                sum -= row[t - time_window - 1];
            }
            window[i * steps + t] = sum;
        }
    }
    (0..locations)
        .into_par_iter()
        .with_min_len(256)
        .flat_map_iter(|i| {
            let (mut w1, mut w2) = (0.0, 0.0);
            for (_, w) in spatial.row(i) {
                w1 += w;
                w2 += w * w;
            }
            let (window, global) = (&window, &global);
            (0..steps).map(move |t| {
                let (n, mean, s) = global[t];
                let m = (t.min(time_window) + 1) as f64;
                let wx: f64 = spatial.row(i).map(|(j, w)| w * window[j * steps + t]).sum();
                let (sw, sw2) = (w1 * m, w2 * m);
                let denominator = s * ((n * sw2 - sw * sw) / (n - 1.0)).max(0.0).sqrt();
                if denominator > 0.0 && denominator.is_finite() {
                    let z = (wx - mean * sw) / denominator;
                    GiStar { z, p: two_sided_p(z) }
                } else {
                    GiStar { z: 0.0, p: 1.0 }
                }
            })
        })
        .collect()
}

/// Spatial weights for admin units: each unit and its `k` nearest units of the same list (by their
/// representative points, equirectangular distance, ties to the earlier unit).
pub fn nearest_unit_weights(region: &Region, units: &[u32], k: usize) -> Weights {
    let points: Vec<(f64, f64)> = units
        .iter()
        .map(|&u| {
            let unit = &region.units[u as usize];
            (unit.lng, unit.lat)
        })
        .collect();
    let rows: Vec<Vec<u32>> = (0..points.len())
        .into_par_iter()
        .map(|i| {
            let (x0, y0) = points[i];
            let shrink = y0.to_radians().cos();
            let mut nearest: Vec<(f64, u32)> = points
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(j, &(x, y))| (((x - x0) * shrink).powi(2) + (y - y0).powi(2), j as u32))
                .collect();
            let k = k.min(nearest.len());
            if k > 0 && k < nearest.len() {
                nearest.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            }
            let mut row: Vec<u32> = nearest[..k].iter().map(|&(_, j)| j).collect();
            row.push(i as u32);
            row.sort_unstable();
            row
        })
        .collect();
    Weights::binary(rows)
}

/// One location's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocationTrend {
    /// The H3 cell or the unit code.
    pub location: String,
    /// The unit's name, or for a cell the name of the village it belongs to.
    pub name: String,
    pub county_code: String,
    pub township_code: String,
    pub village_code: String,
    pub pattern: Pattern,
    /// Cases per step, oldest first.
    pub counts: Vec<u32>,
    pub total: u64,
    /// Steps in which the location was a significant hot / cold spot.
    pub hot_steps: usize,
    pub cold_steps: usize,
    /// Mann–Kendall on what the pattern's trend uses: the Gi* z-series for counts, the neighbourhood's
    /// excess cases per step for risk.
    pub mk_s: f64,
    pub mk_z: f64,
    pub mk_tau: f64,
    pub mk_p: f64,
    /// Mann–Kendall on the counts.
    pub count_mk_s: f64,
    pub count_mk_tau: f64,
    pub count_mk_p: f64,
    pub count_trend: crate::trend::Trend,
    pub gi_z_last: f64,
    pub gi_p_last: f64,
    /// Gi* z of each step.
    pub gi_z: Vec<f64>,
}

/// The emerging-hot-spot analysis of a cube.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Emerging {
    pub step: Step,
    /// Label of each step, oldest first.
    pub periods: Vec<String>,
    pub options: EmergingSummaryOptions,
    /// Locations per pattern (every pattern listed).
    pub pattern_counts: BTreeMap<Pattern, usize>,
    /// Hot patterns first (in [`Pattern`] order), then cold ones, then no pattern; within a pattern
    /// by cases, most first.
    pub locations: Vec<LocationTrend>,
}

/// The options as reported with the results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmergingSummaryOptions {
    /// Whether the statistics ran on the standardised excess over expected counts (risk) or on the
    /// counts (workload).
    pub risk: bool,
    /// NB2 dispersion of the locations' totals around their expected totals (risk).
    pub dispersion: Option<f64>,
    pub k: u32,
    pub time_window: usize,
    pub alpha: f64,
    pub fdr: bool,
    pub global: GlobalWindow,
    pub significant_bins: usize,
    pub bins: usize,
}

/// Runs the analysis on a cube (of cells or of units).
pub fn emerging_hot_spots(region: &Region, cube: &Cube, opts: &EmergingOptions) -> Emerging {
    let steps = cube.steps();
    let weights = spatial_weights(region, cube, opts.k);
    let values = cube.values();
    // Risk: the expected counts at the region's typical rate, and the dispersion around them.
    let risk_model: Option<(Vec<f64>, f64)> = cube.expected.as_ref().map(|e| {
        let (scale, alpha) = location_scale_and_dispersion(cube, e, opts);
        (e.iter().map(|x| x * scale).collect(), alpha)
    });
    let bins = bin_states(cube, opts, &weights, &values, risk_model.as_ref());
    // The trend that tells intensifying from persistent: of the z-series for counts (ArcGIS); for
    // risk, of the neighbourhood's excess cases — a hot spot of constant size stays persistent
    // when the season lowers what its place expects (its normal score would rise).
    let trend_series = match &risk_model {
        Some((expected, _)) => neighbourhood_excess(cube, expected, &weights, opts.time_window),
        None => bins.gi.iter().map(|g| g.z).collect(),
    };
    let classes = if steps == 0 {
        vec![(mann_kendall(&[]), Pattern::NoPattern); cube.locations.len()]
    } else {
        classify_all_fdr(&trend_series, &bins.states, steps, opts.alpha)
    };
    let count_trends: Vec<MannKendall> = (0..cube.locations.len())
        .into_par_iter()
        .map(|i| mann_kendall(&values[i * steps..(i + 1) * steps]))
        .collect();
    let mut rows = location_rows(region, cube, &bins, &classes, &count_trends);
    rows.sort_by(|a, b| {
        let rank = |p: Pattern| (p == Pattern::NoPattern, p.is_cold(), p);
        rank(a.pattern)
            .cmp(&rank(b.pattern))
            .then(b.total.cmp(&a.total))
            .then(a.location.cmp(&b.location))
    });
    let mut pattern_counts: BTreeMap<Pattern, usize> = Pattern::ALL.iter().map(|&p| (p, 0)).collect();
    for row in &rows {
        *pattern_counts.entry(row.pattern).or_default() += 1;
    }
    Emerging {
        step: cube.step,
        periods: cube.periods.iter().map(|p| p.label(cube.step)).collect(),
        options: EmergingSummaryOptions {
            risk: cube.expected.is_some(),
            dispersion: risk_model.as_ref().map(|m| m.1),
            k: opts.k,
            time_window: opts.time_window,
            alpha: opts.alpha,
            fdr: opts.fdr,
            global: opts.global,
            significant_bins: bins.significant.iter().filter(|&&s| s).count(),
            bins: bins.significant.len(),
        },
        pattern_counts,
        locations: rows,
    }
}

/// Each location × step's statistic, its significance and its state (hot, cold or neither).
struct Bins {
    gi: Vec<GiStar>,
    significant: Vec<bool>,
    states: Vec<BinState>,
}

/// The space–time statistic of every bin and which bins are hot or cold: on counts as ArcGIS
/// computes it, on risk against the expected counts (see the module documentation).
fn bin_states(
    cube: &Cube,
    opts: &EmergingOptions,
    weights: &Weights,
    values: &[f64],
    risk_model: Option<&(Vec<f64>, f64)>,
) -> Bins {
    let steps = cube.steps();
    let gi = match risk_model {
        _ if steps == 0 => Vec::new(),
        Some((expected, alpha)) if opts.risk.residual == crate::measure::Residual::Quantile => {
            space_time_neighbourhood_scores(cube, expected, *alpha, weights, opts.time_window)
        }
        Some((expected, alpha)) => {
            let excess = standardised_excess(cube, expected, *alpha, opts);
            space_time_gi_star(&excess, steps, weights, opts.time_window, opts.global)
        }
        None => space_time_gi_star(values, steps, weights, opts.time_window, opts.global),
    };
    let significant: Vec<bool> = match risk_model {
        Some((expected, alpha)) if opts.fdr && steps > 0 => {
            screened_significance(cube, expected, *alpha, weights, &gi, opts.alpha)
        }
        _ if opts.fdr => benjamini_hochberg(&gi.iter().map(|g| g.p).collect::<Vec<_>>(), opts.alpha),
        _ => gi.iter().map(|g| g.p < opts.alpha).collect(),
    };
    let mut states: Vec<BinState> = gi
        .iter()
        .zip(&significant)
        .map(|(g, &sig)| match (sig, g.z > 0.0) {
            (true, true) => BinState::Hot,
            (true, false) if g.z < 0.0 => BinState::Cold,
            _ => BinState::NotSignificant,
        })
        .collect();
    if let Some((expected, alpha)) = risk_model {
        keep_locations_that_carry_the_excess(&mut states, cube, expected, *alpha, weights, opts);
    }
    Bins {
        gi,
        significant,
        states,
    }
}

/// One row per location: its pattern, series, trends and last statistic.
fn location_rows(
    region: &Region,
    cube: &Cube,
    bins: &Bins,
    classes: &[(MannKendall, Pattern)],
    count_trends: &[MannKendall],
) -> Vec<LocationTrend> {
    let steps = cube.steps();
    let places = describe_locations(region, &cube.locations);
    cube.locations
        .iter()
        .enumerate()
        .map(|(i, location)| {
            let series = cube.series(i);
            let states = &bins.states[i * steps..(i + 1) * steps];
            let (mk, pattern) = classes[i];
            let last = bins.gi.get((i + 1) * steps - 1).filter(|_| steps > 0);
            let place = &places[i];
            LocationTrend {
                location: location.key(region),
                name: place.name.clone(),
                county_code: place.county.clone(),
                township_code: place.township.clone(),
                village_code: place.village.clone(),
                pattern,
                counts: series.to_vec(),
                total: series.iter().map(|&n| u64::from(n)).sum(),
                hot_steps: states.iter().filter(|&&b| b == BinState::Hot).count(),
                cold_steps: states.iter().filter(|&&b| b == BinState::Cold).count(),
                mk_s: mk.s,
                mk_z: mk.z,
                mk_tau: mk.tau,
                mk_p: mk.p,
                count_mk_s: count_trends[i].s,
                count_mk_tau: count_trends[i].tau,
                count_mk_p: count_trends[i].p,
                count_trend: count_trends[i].trend,
                gi_z_last: last.map_or(0.0, |g| g.z),
                gi_p_last: last.map_or(1.0, |g| g.p),
                gi_z: bins.gi[i * steps..(i + 1) * steps].iter().map(|g| g.z).collect(),
            }
        })
        .collect()
}

/// The typical-rate scale and the dispersion of the locations' totals around their expected totals.
fn location_scale_and_dispersion(cube: &Cube, expected: &[f64], opts: &EmergingOptions) -> (f64, f64) {
    let steps = cube.steps().max(1);
    let observed: Vec<u64> = (0..cube.locations.len())
        .map(|i| cube.series(i).iter().map(|&n| u64::from(n)).sum())
        .collect();
    let totals: Vec<f64> = (0..cube.locations.len())
        .map(|i| expected[i * steps..(i + 1) * steps].iter().sum())
        .collect();
    let people_proxy = totals.clone();
    crate::hotspot::scale_and_dispersion(opts.risk.dispersion, &observed, &totals, &people_proxy)
}

/// Each bin's standardised excess over its expected count.
fn standardised_excess(cube: &Cube, expected: &[f64], alpha: f64, opts: &EmergingOptions) -> Vec<f64> {
    let floor = crate::risk::expected_floor(expected);
    cube.counts
        .par_iter()
        .zip(expected)
        .map(|(&n, &e)| {
            if n == 0 && e <= 0.0 {
                return 0.0;
            }
            let mean = if e > 0.0 { e } else { floor };
            match opts.risk.residual {
                crate::measure::Residual::Quantile => risk::mid_quantile_residual(u64::from(n), mean, alpha),
                crate::measure::Residual::Pearson => risk::pearson_residual(f64::from(n), mean, alpha),
            }
        })
        .collect()
}

/// The risk measure's space-time statistic: each bin's neighbourhood (its spatial neighbours over
/// the time window ending at the step) — its cases against their expected cases, as the normal
/// score of a negative binomial with the neighbourhood's mean and variance (see
/// [`risk::neighbourhood_scores`]). Seasons are in the expected counts, so no step's own mean and
/// variance are needed.
fn space_time_neighbourhood_scores(
    cube: &Cube,
    expected: &[f64],
    alpha: f64,
    spatial: &Weights,
    time_window: usize,
) -> Vec<GiStar> {
    let steps = cube.steps();
    let floor = crate::risk::expected_floor(expected);
    let mut window = vec![(0u64, 0.0f64, 0.0f64); cube.counts.len()];
    for i in 0..cube.locations.len() {
        let mut sum = (0u64, 0.0, 0.0);
        for t in 0..steps {
            let k = i * steps + t;
            let e = if expected[k] > 0.0 { expected[k] } else { floor };
            sum = (sum.0 + u64::from(cube.counts[k]), sum.1 + e, sum.2 + e * e);
            if t > time_window {
                let old = k - time_window - 1;
                let e = if expected[old] > 0.0 { expected[old] } else { floor };
                sum = (sum.0 - u64::from(cube.counts[old]), sum.1 - e, sum.2 - e * e);
            }
            window[k] = sum;
        }
    }
    (0..cube.locations.len())
        .into_par_iter()
        .with_min_len(64)
        .flat_map_iter(|i| {
            let window = &window;
            (0..steps).map(move |t| {
                let (mut o, mut e, mut e2) = (0u64, 0.0, 0.0);
                for &j in spatial.neighbours(i) {
                    let w = window[j as usize * steps + t];
                    o += w.0;
                    e += w.1;
                    e2 += w.2;
                }
                let z = if e > 0.0 {
                    risk::mid_quantile_residual(o, e, alpha * e2 / (e * e))
                } else {
                    0.0
                };
                GiStar { z, p: two_sided_p(z) }
            })
        })
        .collect()
}

/// Risk measures: which bins are significant, in two stages (screen, then test): first each
/// location's neighbourhood over the whole cube (its cases against its expected cases, Benjamini–
/// Hochberg at `q` over the locations), then, for each location that passes, which of its steps
/// (Benjamini–Hochberg over its own steps at Benjamini and Bogomolov's q × R / m, R of m locations
/// selected; a step passing only at `q` counts when it adjoins such steps through steps passing at
/// `q`). A place whose neighbourhood is not in excess over the period has no hot weeks by chance; a
/// hot spot keeps the weaker weeks of its rise or decline, and a new hot spot of a few strong weeks
/// is not joined by a chance week months before it.
fn screened_significance(
    cube: &Cube,
    expected: &[f64],
    alpha: f64,
    weights: &Weights,
    gi: &[GiStar],
    q: f64,
) -> Vec<bool> {
    let steps = cube.steps();
    let floor = crate::risk::expected_floor(expected);
    let totals: Vec<(u64, f64, f64)> = (0..cube.locations.len())
        .map(|i| {
            (i * steps..(i + 1) * steps).fold((0u64, 0.0, 0.0), |acc, k| {
                let e = if expected[k] > 0.0 { expected[k] } else { floor };
                (acc.0 + u64::from(cube.counts[k]), acc.1 + e, acc.2 + e * e)
            })
        })
        .collect();
    let located: Vec<f64> = (0..cube.locations.len())
        .map(|i| {
            let (mut o, mut e, mut e2) = (0u64, 0.0, 0.0);
            for &j in weights.neighbours(i) {
                let t = totals[j as usize];
                o += t.0;
                e += t.1;
                e2 += t.2;
            }
            let z = if e > 0.0 {
                risk::mid_quantile_residual(o, e, alpha * e2 / (e * e))
            } else {
                0.0
            };
            two_sided_p(z)
        })
        .collect();
    let screened = benjamini_hochberg(&located, q);
    // Benjamini–Bogomolov: each selected family is tested at q × R / m (R families selected of
    // m), which keeps the false discoveries among the steps of the selected locations at q on
    // average; weeks that pass only at q itself count when they adjoin such a week.
    let selected = screened.iter().filter(|&&s| s).count();
    let level = q * selected as f64 / cube.locations.len().max(1) as f64;
    let mut significant = vec![false; gi.len()];
    for i in (0..cube.locations.len()).filter(|&i| screened[i]) {
        let own: Vec<f64> = gi[i * steps..(i + 1) * steps].iter().map(|g| g.p).collect();
        let strong = benjamini_hochberg(&own, level);
        let weak = benjamini_hochberg(&own, q);
        significant[i * steps..(i + 1) * steps].copy_from_slice(&grow_in_time(&strong, &weak));
    }
    significant
}

/// The steps that are `strong`, and the `weak` ones joined to a strong step through weak steps
/// (hysteresis): a hot spot's weaker weeks next to its strong ones count, a lone weak week does not.
fn grow_in_time(strong: &[bool], weak: &[bool]) -> Vec<bool> {
    let mut out = strong.to_vec();
    for t in 1..out.len() {
        out[t] |= out[t - 1] && weak[t];
    }
    for t in (0..out.len().saturating_sub(1)).rev() {
        out[t] |= out[t + 1] && weak[t];
    }
    out
}

/// Observed minus expected cases over each bin's space-time neighbourhood (the cells Gi* sums, over
/// the time window ending at the step).
fn neighbourhood_excess(cube: &Cube, expected: &[f64], weights: &Weights, time_window: usize) -> Vec<f64> {
    let steps = cube.steps();
    let mut window = vec![0.0; cube.counts.len()];
    for i in 0..cube.locations.len() {
        let mut sum = 0.0;
        for t in 0..steps {
            let k = i * steps + t;
            sum += f64::from(cube.counts[k]) - expected[k];
            if t > time_window {
                let old = k - time_window - 1;
                sum -= f64::from(cube.counts[old]) - expected[old];
            }
            window[k] = sum;
        }
    }
    (0..cube.locations.len())
        .into_par_iter()
        .flat_map_iter(|i| {
            let window = &window;
            (0..steps).map(move |t| {
                weights
                    .neighbours(i)
                    .iter()
                    .map(|&j| window[j as usize * steps + t])
                    .sum()
            })
        })
        .collect()
}

/// Risk measures: a hot bin needs at least `min_cases` cases in its space-time neighbourhood, and
/// a location keeps its hot (cold) bins only when its own cases in them are significantly above
/// (below) its expected count there — Benjamini–Hochberg at `alpha` over the locations with such
/// bins — and, for hot bins, at least `min_cases` of them. Gi* alone also marks the ring around a
/// hot spot, and a single case where almost nobody lives.
fn keep_locations_that_carry_the_excess(
    states: &mut [BinState],
    cube: &Cube,
    expected: &[f64],
    alpha: f64,
    weights: &Weights,
    opts: &EmergingOptions,
) {
    let steps = cube.steps();
    let min = opts.risk.min_cases;
    // Cases of each location over the window ending at each step.
    let mut window = vec![0u64; cube.counts.len()];
    for i in 0..cube.locations.len() {
        let mut sum = 0u64;
        for t in 0..steps {
            sum += u64::from(cube.counts[i * steps + t]);
            if t > opts.time_window {
                sum -= u64::from(cube.counts[i * steps + t - opts.time_window - 1]);
            }
            window[i * steps + t] = sum;
        }
    }
    for i in 0..cube.locations.len() {
        for t in 0..steps {
            if states[i * steps + t] == BinState::Hot {
                let around: u64 = weights
                    .neighbours(i)
                    .iter()
                    .map(|&j| window[j as usize * steps + t])
                    .sum();
                if around < min {
                    states[i * steps + t] = BinState::NotSignificant;
                }
            }
        }
    }
    let floor = crate::risk::expected_floor(expected);
    for state in [BinState::Hot, BinState::Cold] {
        let mut candidates = Vec::new();
        let mut p = Vec::new();
        for i in 0..cube.locations.len() {
            let bins: Vec<usize> = (0..steps).filter(|&t| states[i * steps + t] == state).collect();
            if bins.is_empty() {
                continue;
            }
            let o: u64 = bins.iter().map(|&t| u64::from(cube.counts[i * steps + t])).sum();
            let e: f64 = bins
                .iter()
                .map(|&t| expected[i * steps + t])
                .map(|x| if x > 0.0 { x } else { floor })
                .sum();
            if state == BinState::Hot && o < min {
                candidates.push((i, false));
                p.push(1.0);
                continue;
            }
            candidates.push((i, true));
            p.push(if state == BinState::Hot {
                risk::upper_tail(o, e, alpha)
            } else {
                risk::cdf(o, e, alpha)
            });
        }
        let pass = benjamini_hochberg(&p, opts.alpha);
        for ((i, eligible), ok) in candidates.into_iter().zip(pass) {
            if !(eligible && ok) {
                for t in 0..steps {
                    if states[i * steps + t] == state {
                        states[i * steps + t] = BinState::NotSignificant;
                    }
                }
            }
        }
    }
}

fn spatial_weights(region: &Region, cube: &Cube, k: u32) -> Weights {
    let cells: Vec<CellIndex> = cube
        .locations
        .iter()
        .filter_map(|l| match l {
            Location::Cell(c) => Some(*c),
            Location::Unit(_) => None,
        })
        .collect();
    if cells.len() == cube.locations.len() {
        return crate::cells::k_ring_weights(&cells, k);
    }
    let units: Vec<u32> = cube
        .locations
        .iter()
        .filter_map(|l| match l {
            Location::Unit(u) => Some(*u),
            Location::Cell(_) => None,
        })
        .collect();
    let k = if k == 0 { DEFAULT_UNIT_NEIGHBOURS } else { k };
    nearest_unit_weights(region, &units, k as usize)
}

struct Described {
    name: String,
    county: String,
    township: String,
    village: String,
}

/// Name and enclosing units of each location.
fn describe_locations(region: &Region, locations: &[Location]) -> Vec<Described> {
    let cells: Vec<CellIndex> = locations
        .iter()
        .filter_map(|l| match l {
            Location::Cell(c) => Some(*c),
            Location::Unit(_) => None,
        })
        .collect();
    let mut cell_places = cell_places(region, &cells).into_iter();
    let code = |id: u32| region.units[id as usize].code.clone();
    locations
        .iter()
        .map(|l| match l {
            Location::Cell(_) => {
                let p = cell_places.next().expect("one place per cell");
                Described {
                    name: region.units[p.village as usize].name.clone(),
                    county: code(p.county),
                    township: code(p.township),
                    village: code(p.village),
                }
            }
            Location::Unit(u) => {
                let unit = &region.units[*u as usize];
                let mut up = [String::new(), String::new(), String::new()];
                let mut at = Some(*u);
                while let Some(x) = at {
                    let slot = match region.units[x as usize].level {
                        AdminLevel::County => Some(0),
                        AdminLevel::Township => Some(1),
                        AdminLevel::Village => Some(2),
                        _ => None,
                    };
                    if let Some(slot) = slot {
                        up[slot] = code(x);
                    }
                    at = region.parent(x);
                }
                let [county, township, village] = up;
                Described {
                    name: unit.name.clone(),
                    county,
                    township,
                    village,
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::grow_in_time;

    #[test]
    fn weak_steps_count_only_next_to_strong_ones() {
        let f = false;
        let t = true;
        let strong = [f, f, f, f, f, t, f, f, f, f];
        let weak = [f, t, f, t, t, t, t, f, t, f];
        assert_eq!(grow_in_time(&strong, &weak), vec![f, f, f, t, t, t, t, f, f, f]);
        assert_eq!(grow_in_time(&[f; 4], &[t; 4]), vec![f; 4]);
    }
}
