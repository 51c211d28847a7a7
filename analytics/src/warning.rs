//! Early warning (未诉先办 / 研判预警): per admin unit × category, the cases of the last 7 days against
//! what the unit's history leads one to expect, an alert when the excess is too large to be chance.
//!
//! The method is a proportional baseline with a quasi-Poisson tail — in the spirit of Farrington et
//! al. (1996) and EARS (Hutwagner et al. 2003), adapted to a year of history and to thousands of
//! small series:
//!
//! 1. **Windows.** The current window is the 7 days ending on `as_of`; the baseline is the
//!    `baseline_windows` (12) windows before it, skipping `guard_windows` (1) so that a rise under
//!    way does not raise its own baseline (the EARS C2/C3 guard band).
//! 2. **Expected count with seasonality** — the shared expected counts of [`crate::risk`]: the
//!    unit's residents' share `s` of the region times the category's count in the rest of the study
//!    area in the current window, times the unit's own relative risk over the baseline shrunk towards
//!    1: `μ = (own_baseline + ½) / (s × rest_baseline + ½) × s × rest_current`
//!    ([`expected_count_with_population`]). Seasons, holidays (春节) and city-wide campaigns move
//!    `rest_current` and with it `μ`; a local excess does not (the unit itself is left out of the
//!    rest). A long history makes this the unit's share of the baseline; no history, the
//!    population's expectation (a hamlet expects less than a town). Without residents in the region
//!    files: `μ = (own_baseline + ½) / (rest_baseline + 1) × rest_current` ([`expected_count`]).
//! 3. **Over-dispersion.** The count is negative binomial with mean μ and variance `μ + αμ²`
//!    ([`crate::risk`]'s model; Poisson when α = 0). Per category, α is the median of the units'
//!    `(s² − m)/m²` over their baseline windows, over the units with at least a case a window (pooled
//!    moments when fewer than 10 have), within 0 … 2 — a hot spot's onset in the baseline of one
//!    unit does not make every other unit's excess look ordinary, and a unit that expects a fraction
//!    of a case keeps a nearly Poisson tail (a variance `φμ` would give it a tail as heavy as a
//!    town's).
//! 4. **Alert** when the observed count `y ≥ min_cases` and `p = P(Y ≥ y) ≤ 7 / (365.25 ×
//!    min_recurrence_years)`: an excess that chance alone would bring to this unit and category less
//!    than once in that many years. The **recurrence interval** reported is `7 / (365.25 p)` years
//!    (at most 1,000,000).
//! 5. **Severity**: red (红色) at a recurrence of 1,000 years or more with at least 10 cases, orange
//!    (橙色) at 100 years, yellow (黄色) otherwise. **New or ongoing**: ongoing when the window
//!    ending 7 days earlier alerted too.
//! 6. **Ranking**: severity, then `ln p` (smallest first: it keeps its order where `p` underflows),
//!    then excess cases; the list is cut at `limit`.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use duckdb::Connection;
use fengqiao_ingest::model::{AdminLevel, Category};
use fengqiao_ingest::Region;
use serde::Serialize;

use crate::cube::{count_rows, locations, periods, Location, Space, Step};
use crate::departments::{Department, Departments};
use crate::filter::Filter;
use crate::population::PopulationSurface;
use crate::recurring::UnitCategory;
use crate::risk;
use crate::AnalyticsError;

/// Days in a window.
pub const WINDOW_DAYS: i64 = 7;

/// What to watch and how strict to be.
#[derive(Debug, Clone)]
pub struct AlertOptions {
    pub level: AdminLevel,
    /// Last day of the current window.
    pub as_of: NaiveDate,
    pub baseline_windows: usize,
    pub guard_windows: usize,
    pub min_cases: u32,
    pub min_recurrence_years: f64,
    /// Longest list returned (`None`: all).
    pub limit: Option<usize>,
    /// Which cases count (its `from`/`to` are ignored: the windows set the time).
    pub filter: Filter,
}

impl AlertOptions {
    /// The defaults for a day.
    pub fn new(as_of: NaiveDate) -> AlertOptions {
        AlertOptions {
            level: AdminLevel::Village,
            as_of,
            baseline_windows: 12,
            guard_windows: 1,
            min_cases: 3,
            min_recurrence_years: 20.0,
            limit: Some(50),
            filter: Filter::default(),
        }
    }
}

/// How grave an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSeverity {
    Yellow,
    Orange,
    Red,
}

impl AlertSeverity {
    pub fn code(self) -> &'static str {
        match self {
            AlertSeverity::Yellow => "yellow",
            AlertSeverity::Orange => "orange",
            AlertSeverity::Red => "red",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            AlertSeverity::Yellow => "黄色预警",
            AlertSeverity::Orange => "橙色预警",
            AlertSeverity::Red => "红色预警",
        }
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub rank: usize,
    #[serde(flatten)]
    pub place: UnitCategory,
    pub window_start: NaiveDate,
    pub window_end: NaiveDate,
    pub observed: u32,
    pub expected: f64,
    /// Observed over expected.
    pub ratio: f64,
    /// The smallest count that would have alerted.
    pub threshold: u32,
    /// P(Y ≥ observed) under the baseline.
    pub p: f64,
    /// Its natural logarithm (the ranking uses it: tiny p-values keep their order).
    pub ln_p: f64,
    pub recurrence_years: f64,
    pub severity: AlertSeverity,
    pub severity_zh: String,
    /// The window before alerted too.
    pub ongoing: bool,
    /// The unit × category's cases in the baseline windows, oldest first.
    pub baseline: Vec<u32>,
    /// The category's dispersion α (variance μ + αμ²).
    pub dispersion: f64,
    pub department: Department,
}

/// The expected count of a unit in the current window (step 2 of the method) when the region gives
/// no residents: the unit's share of the baseline, with half a case of prior weight.
pub fn expected_count(own_baseline: u64, rest_baseline: u64, rest_current: u64) -> f64 {
    (own_baseline as f64 + 0.5) / (rest_baseline as f64 + 1.0) * rest_current as f64
}

/// Prior weight, in cases, of the population's expectation against the unit's own history.
pub const PRIOR_CASES: f64 = 0.5;

/// The expected count of a unit in the current window from the shared expected counts
/// ([`crate::risk`]): its residents' share `share` of the region times the rest of the region's
/// cases now, times its own relative risk over the baseline shrunk towards 1 —
/// `θ = (own + a) / (share × rest_baseline + a)`, `μ = θ × share × rest_current`, a =
/// [`PRIOR_CASES`]. With a long history this is the unit's share of the baseline (as
/// [`expected_count`]); without one, the population's expectation rather than a flat half case.
pub fn expected_count_with_population(own_baseline: u64, rest_baseline: u64, rest_current: u64, share: f64) -> f64 {
    if share <= 0.0 {
        return expected_count(own_baseline, rest_baseline, rest_current);
    }
    let history = risk::history_factor(own_baseline as f64, share * rest_baseline as f64, 1.0 / PRIOR_CASES);
    history * share * rest_current as f64
}

/// `ln P(Y ≥ y)` under the alert's model, which keeps its order where `p` itself underflows.
pub fn ln_upper_tail(y: u32, mean: f64, alpha: f64) -> f64 {
    risk::ln_upper_tail(u64::from(y), mean.max(1e-9), alpha)
}

/// `P(Y ≥ y)` for a count with mean `mean` and dispersion `alpha`: negative binomial with variance
/// `mean + alpha × mean²` ([`crate::risk`]'s model; Poisson when `alpha` is 0).
pub fn upper_tail(y: u32, mean: f64, alpha: f64) -> f64 {
    risk::upper_tail(u64::from(y), mean.max(1e-9), alpha)
}

/// Series needed for the median in [`dispersion`].
const DISPERSION_SERIES: usize = 10;

/// Largest dispersion used.
pub const MAX_DISPERSION: f64 = 2.0;

/// Dispersion α of baseline series around their own means (step 3), the negative binomial's
/// `variance = μ + α μ²`: the median of the series' `(s² − m) / m²` (`m` its mean, `s²` its
/// variance) over the series with at least a case a window on average — so that one hot spot's
/// onset in a category does not make every other unit's excess in it look ordinary — else the
/// pooled moments of all series with cases; within 0 … [`MAX_DISPERSION`]. Being relative to μ², it
/// leaves a unit that expects a fraction of a case nearly Poisson, as its counts are.
pub fn dispersion<'a>(baselines: impl Iterator<Item = &'a [u32]>) -> f64 {
    let (mut excess, mut squares) = (0.0, 0.0);
    let mut per_series = Vec::new();
    for series in baselines {
        let n = series.len();
        let total: u32 = series.iter().sum();
        if n < 2 || total == 0 {
            continue;
        }
        let mean = f64::from(total) / n as f64;
        let variance = series.iter().map(|&y| (f64::from(y) - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        excess += variance - mean;
        squares += mean * mean;
        if mean >= 1.0 {
            per_series.push((variance - mean) / (mean * mean));
        }
    }
    let alpha = if per_series.len() >= DISPERSION_SERIES {
        let mid = per_series.len() / 2;
        per_series.select_nth_unstable_by(mid, f64::total_cmp);
        per_series[mid]
    } else if squares > 0.0 {
        excess / squares
    } else {
        0.0
    };
    alpha.clamp(0.0, MAX_DISPERSION)
}

/// The largest p-value that alerts.
fn p_limit(min_recurrence_years: f64) -> f64 {
    WINDOW_DAYS as f64 / (365.25 * min_recurrence_years)
}

/// Longest recurrence interval reported (years): beyond it the figure only says "never by chance".
pub const MAX_RECURRENCE_YEARS: f64 = 1e6;

/// Recurrence interval in years of a window p-value, at most [`MAX_RECURRENCE_YEARS`].
pub fn recurrence_years(p: f64) -> f64 {
    if p <= 0.0 {
        MAX_RECURRENCE_YEARS
    } else {
        (WINDOW_DAYS as f64 / (365.25 * p)).min(MAX_RECURRENCE_YEARS)
    }
}

/// Alerts for the window ending on `opts.as_of`, ranked.
pub fn alerts(
    conn: &Connection,
    region: &Region,
    departments: &Departments,
    opts: &AlertOptions,
) -> Result<Vec<Alert>, AnalyticsError> {
    let detector = Detector::new(conn, region, opts)?;
    let mut out: Vec<Alert> = Vec::new();
    for ((location, category), counts) in &detector.series {
        let Location::Unit(unit) = *location else { continue };
        let c = *category as usize;
        let Some(test) = detector.evaluate(location, counts, c, 0) else {
            continue;
        };
        let ongoing = detector.evaluate(location, counts, c, 1).is_some();
        let recurrence = recurrence_years(test.p);
        let severity = if recurrence >= 1000.0 && test.observed >= 10 {
            AlertSeverity::Red
        } else if recurrence >= 100.0 {
            AlertSeverity::Orange
        } else {
            AlertSeverity::Yellow
        };
        let category = Category::ALL[c];
        let (range, current) = detector.baseline_range(0);
        let phi = detector.phi[c];
        out.push(Alert {
            rank: 0,
            place: UnitCategory::new(region, unit, category),
            window_start: detector.windows[current].start,
            window_end: detector.windows[current].end,
            observed: test.observed,
            expected: test.expected,
            ratio: f64::from(test.observed) / test.expected.max(1e-9),
            threshold: test.threshold,
            p: test.p,
            ln_p: ln_upper_tail(test.observed, test.expected, phi),
            recurrence_years: recurrence,
            severity,
            severity_zh: severity.zh().to_string(),
            ongoing,
            baseline: counts[range].to_vec(),
            dispersion: phi,
            department: departments.of(category).clone(),
        });
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.ln_p.total_cmp(&b.ln_p))
            .then((b.observed as f64 - b.expected).total_cmp(&(a.observed as f64 - a.expected)))
            .then(a.place.unit_code.cmp(&b.place.unit_code))
            .then(a.place.category.cmp(&b.place.category))
    });
    if let Some(limit) = opts.limit {
        out.truncate(limit);
    }
    for (i, a) in out.iter_mut().enumerate() {
        a.rank = i + 1;
    }
    Ok(out)
}

/// The weekly series the alerts are judged on and what judging them needs.
struct Detector<'a> {
    opts: &'a AlertOptions,
    /// Windows oldest first; the current one last, the one before it (for "ongoing") second last.
    windows: Vec<crate::cube::Period>,
    span: usize,
    series: HashMap<(Location, u8), Vec<u32>>,
    /// The study area's cases per category and window.
    totals: Vec<Vec<u64>>,
    /// Each category's over-dispersion over the baseline windows.
    phi: Vec<f64>,
    /// Each unit's share of the residents (empty when the region gives no populations: the flat
    /// prior then).
    share: HashMap<Location, f64>,
    limit: f64,
}

/// One window's test of a unit and category.
struct WindowTest {
    observed: u32,
    expected: f64,
    p: f64,
    /// The fewest cases that would have raised the alert.
    threshold: u32,
}

impl<'a> Detector<'a> {
    fn new(conn: &Connection, region: &Region, opts: &'a AlertOptions) -> Result<Detector<'a>, AnalyticsError> {
        let span = opts.baseline_windows + opts.guard_windows + 2;
        let windows = periods(Step::Week, span, opts.as_of);
        let space = Space::Units(opts.level);
        let mut filter = opts.filter.clone();
        filter.from = None;
        filter.to = None;
        let units = locations(region, space, &filter)?;
        let inside: std::collections::HashSet<Location> = units.iter().copied().collect();
        let rows = count_rows(conn, region, space, Step::Week, &windows, &filter, true)?;
        let mut series: HashMap<(Location, u8), Vec<u32>> = HashMap::new();
        let mut totals = vec![vec![0u64; span]; Category::ALL.len()];
        for row in rows {
            if !inside.contains(&row.location) {
                continue;
            }
            let category = row.category.expect("counted by category");
            series.entry((row.location, category)).or_insert_with(|| vec![0; span])[row.step] += row.n;
            totals[category as usize][row.step] += u64::from(row.n);
        }
        let share: HashMap<Location, f64> = match PopulationSurface::of(region, &crate::source::CaseSource::Store(conn))
        {
            Ok(surface) => units
                .iter()
                .map(|&l| match l {
                    Location::Unit(u) => (l, surface.unit(u) / surface.total()),
                    Location::Cell(_) => (l, 0.0),
                })
                .collect(),
            Err(_) => HashMap::new(),
        };
        let mut detector = Detector {
            opts,
            windows,
            span,
            series,
            totals,
            phi: Vec::new(),
            share,
            limit: p_limit(opts.min_recurrence_years),
        };
        let (range, _) = detector.baseline_range(0);
        detector.phi = (0..Category::ALL.len())
            .map(|c| {
                dispersion(
                    detector
                        .series
                        .iter()
                        .filter(|((_, cat), _)| *cat as usize == c)
                        .map(|(_, s)| &s[range.clone()]),
                )
            })
            .collect();
        Ok(detector)
    }

    /// The baseline windows and the window judged, `back` windows before the current one.
    fn baseline_range(&self, back: usize) -> (std::ops::Range<usize>, usize) {
        let current = self.span - 1 - back;
        let end = current - self.opts.guard_windows;
        (end - self.opts.baseline_windows..end, current)
    }

    /// The test of the window `back` windows before the current one; `None` when it raises no
    /// alert.
    fn evaluate(&self, location: &Location, counts: &[u32], category: usize, back: usize) -> Option<WindowTest> {
        let (range, current) = self.baseline_range(back);
        let observed = counts[current];
        if observed < self.opts.min_cases {
            return None;
        }
        let totals = &self.totals[category];
        let own: u64 = counts[range.clone()].iter().map(|&n| u64::from(n)).sum();
        let all: u64 = totals[range].iter().sum();
        let rest_current = totals[current] - u64::from(observed);
        let unit_share = self.share.get(location).copied().unwrap_or(0.0);
        let expected = expected_count_with_population(own, all - own, rest_current, unit_share);
        let phi = self.phi[category];
        let p = upper_tail(observed, expected, phi);
        if p > self.limit {
            return None;
        }
        let mut threshold = self.opts.min_cases.max(expected.ceil() as u32);
        while upper_tail(threshold, expected, phi) > self.limit {
            threshold += 1;
        }
        Some(WindowTest {
            observed,
            expected,
            p,
            threshold,
        })
    }
}

/// The first day of the window ending on `as_of`.
pub fn window_start(as_of: NaiveDate) -> NaiveDate {
    as_of - Duration::days(WINDOW_DAYS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_match_closed_forms() {
        // Poisson(2): P(Y ≥ 1) = 1 − e^-2; P(Y ≥ 3) = 1 − e^-2 (1 + 2 + 2).
        assert!((upper_tail(1, 2.0, 0.0) - (1.0 - (-2.0f64).exp())).abs() < 1e-12);
        assert!((upper_tail(3, 2.0, 0.0) - (1.0 - 5.0 * (-2.0f64).exp())).abs() < 1e-12);
        assert_eq!(upper_tail(0, 2.0, 0.0), 1.0);
        // Negative binomial with mean 2, α = 1/2 (size 2, p = 1/2): P(Y = 0) = 1/4.
        assert!((upper_tail(1, 2.0, 0.5) - 0.75).abs() < 1e-12);
        // Over-dispersion fattens the tail.
        assert!(upper_tail(10, 2.0, 1.0) > upper_tail(10, 2.0, 0.0) * 10.0);
        // Tiny tails keep their precision (no 1 − (1 − ε)).
        let tiny = upper_tail(30, 0.1, 0.0);
        assert!(tiny > 0.0 && tiny < 1e-50, "{tiny}");
    }

    #[test]
    fn expectation_follows_the_rest_of_the_city() {
        // 10 of 1,000 baseline cases here; the city doubles → so does μ.
        let quiet = expected_count(10, 990, 500);
        let busy = expected_count(10, 990, 1000);
        assert!((busy / quiet - 2.0).abs() < 1e-12);
        assert!(expected_count(0, 1000, 100) > 0.0, "no history is not μ = 0");
        assert!((recurrence_years(7.0 / 365.25) - 1.0).abs() < 1e-12);
        assert_eq!(recurrence_years(1e-60), MAX_RECURRENCE_YEARS);
        assert_eq!(recurrence_years(0.0), MAX_RECURRENCE_YEARS);
    }

    #[test]
    fn the_population_prior_replaces_the_flat_half_case() {
        // A long history: the unit's share of the baseline, as without residents.
        let with = expected_count_with_population(300, 9_700, 1_000, 0.03);
        let without = expected_count(300, 9_700, 1_000);
        assert!((with / without - 1.0).abs() < 0.01, "{with} {without}");
        // No history where little was expected: about the population's expectation (not a flat
        // half case); no history where much was expected: much less than that.
        let hamlet = expected_count_with_population(0, 10_000, 1_000, 0.000_005);
        assert!((hamlet / (0.000_005 * 1_000.0) - 0.5 / 0.55).abs() < 0.01, "{hamlet}");
        let big = expected_count_with_population(0, 10_000, 1_000, 0.01);
        assert!(big < 0.01 * 1_000.0 / 50.0, "{big}");
        assert_eq!(
            expected_count_with_population(2, 100, 10, 0.0),
            expected_count(2, 100, 10)
        );
        // The log tail orders what p cannot.
        let (a, b) = (ln_upper_tail(400, 0.01, 0.0), ln_upper_tail(300, 0.01, 0.0));
        assert!(a.is_finite() && a < b, "{a} {b}");
        assert_eq!(upper_tail(400, 0.01, 0.0), 0.0);
    }

    #[test]
    fn dispersion_is_zero_for_even_series_and_larger_for_bursty_ones() {
        let even = [[2u32, 2, 2, 2], [1, 1, 1, 1]];
        assert_eq!(dispersion(even.iter().map(|s| &s[..])), 0.0);
        let bursty = [[0u32, 0, 0, 8], [5, 0, 0, 0]];
        assert!(dispersion(bursty.iter().map(|s| &s[..])) > 0.5);
        // Many ordinary series and one onset: the median is not moved.
        let mut series: Vec<[u32; 4]> = (0..20).map(|i| [2 + i % 2, 2, 3 - i % 2, 2]).collect();
        series.push([0, 0, 40, 45]);
        assert_eq!(dispersion(series.iter().map(|s| &s[..])), 0.0);
    }
}
