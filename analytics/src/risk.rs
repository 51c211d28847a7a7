//! Risk statistics — pure functions on plain data: how far an observed count is above (or below) what
//! a place's residents and the season explain.
//!
//! * **Expected count** (indirect standardisation): `E_i = P_i × N / P`, the place's residents times
//!   the region's rate for the same filter and period (`N` cases among `P` residents), so seasons,
//!   holidays and city-wide campaigns move every expected count with the observed ones.
//! * **Over-dispersion**: real registers vary more than Poisson (places differ in ways no population
//!   figure records). Counts are modelled as negative binomial with mean `E` and variance
//!   `E + α E²` (NB2, a Poisson–gamma mixture: relative risks spread with variance α around 1);
//!   α = 0 is Poisson. [`robust_dispersion`] estimates α so that the median squared standardised
//!   excess equals its null median — a real hot spot (up to half of the places) does not inflate it.
//! * **Standardised excess**: the normal score of a count under its model, [`mid_quantile_residual`]
//!   (the mid-p quantile residual of Dunn & Smyth, 1996, without randomisation), or the Pearson
//!   residual `(O − E) / √(E + α E²)` — with α from [`moment_dispersion`] this is exactly
//!   Assunção & Reis's (1999) EB index ([`assuncao_reis`], checked against PySAL).
//! * **Smoothed rates**: Marshall's (1991) global empirical Bayes rates ([`marshall_eb_rates`],
//!   checked against PySAL `esda.smoothing.Empirical_Bayes`).
//! * **Tails**: `P(Y ≥ y)` and `P(Y ≤ y)` under the model, in logarithms where they underflow.
//!
//! References: R. J. Marshall, "Mapping disease and mortality rates using empirical Bayes
//! estimators", *Applied Statistics* 40(2), 1991; R. M. Assunção and E. A. Reis, "A new proposal to
//! adjust Moran's I for population density", *Statistics in Medicine* 18, 1999; P. K. Dunn and
//! G. K. Smyth, "Randomized quantile residuals", *J. Comput. Graph. Stat.* 5(3), 1996.

use crate::gistar::{benjamini_hochberg, GiStar};
use statrs::distribution::{ContinuousCDF, DiscreteCDF, NegativeBinomial, Normal, Poisson};
use statrs::function::gamma::ln_gamma;

/// The median of a χ²₁ variable: the null median of a squared standard normal score.
pub const CHI2_1_MEDIAN: f64 = 0.454_936_423_119_572_7;

/// Pairs with at least this expected count estimate the dispersion (smaller ones are too discrete).
pub const DISPERSION_MIN_EXPECTED: f64 = 2.0;

/// Fewer pairs than this leave the dispersion at 0 (Poisson).
pub const DISPERSION_MIN_PAIRS: usize = 30;

/// Largest standardised excess reported (a normal score beyond it carries no more information).
pub const MAX_SCORE: f64 = 38.0;

/// Expected counts by indirect standardisation: `people_i × cases / people_total`.
pub fn expected_counts(people: &[f64], cases: f64, people_total: f64) -> Vec<f64> {
    let rate = if people_total > 0.0 { cases / people_total } else { 0.0 };
    people.iter().map(|p| p * rate).collect()
}

/// The mean a place expected to have no cases is tested with: the smallest positive expected count
/// (1 when there is none), so that a case there is unlikely under the null, not impossible.
pub fn expected_floor(expected: &[f64]) -> f64 {
    let floor = expected
        .iter()
        .copied()
        .filter(|&e| e > 0.0)
        .fold(f64::INFINITY, f64::min);
    if floor.is_finite() {
        floor
    } else {
        1.0
    }
}

/// `ln P(Y = k)` for Y negative binomial with mean `mean` and variance `mean + alpha mean²`
/// (Poisson when `alpha` is 0).
pub fn ln_pmf(k: u64, mean: f64, alpha: f64) -> f64 {
    let k_f = k as f64;
    if mean <= 0.0 {
        return if k == 0 { 0.0 } else { f64::NEG_INFINITY };
    }
    if alpha <= 0.0 {
        return k_f * mean.ln() - mean - ln_gamma(k_f + 1.0);
    }
    let r = 1.0 / alpha;
    ln_gamma(k_f + r) - ln_gamma(r) - ln_gamma(k_f + 1.0) + r * (r / (r + mean)).ln() + k_f * (mean / (r + mean)).ln()
}

/// `P(Y < y)` and `P(Y = y)` by the recurrence of the probabilities from 0 (a few multiplications
/// a count: the statistics evaluate this for every cell), where it cannot underflow; `None` beyond.
fn below_and_at(y: u64, mean: f64, alpha: f64) -> Option<(f64, f64)> {
    if !(mean > 0.0 && mean <= 500.0 && y <= 5_000) {
        return None;
    }
    let r = if alpha > 0.0 { 1.0 / alpha } else { f64::INFINITY };
    let q = mean / (r + mean);
    let mut pmf = if alpha <= 0.0 {
        (-mean).exp()
    } else {
        (r * (r / (r + mean)).ln()).exp()
    };
    if pmf <= 1e-300 {
        return None;
    }
    let mut below = 0.0;
    for k in 0..y {
        below += pmf;
        let k = k as f64;
        pmf *= if alpha <= 0.0 {
            mean / (k + 1.0)
        } else {
            (k + r) / (k + 1.0) * q
        };
    }
    Some((below.min(1.0), pmf))
}

/// `P(Y ≤ y)` under the model.
pub fn cdf(y: u64, mean: f64, alpha: f64) -> f64 {
    if mean <= 0.0 {
        return 1.0;
    }
    if let Some((below, at)) = below_and_at(y, mean, alpha) {
        return (below + at).min(1.0);
    }
    if alpha <= 0.0 {
        Poisson::new(mean).map_or(1.0, |d| d.cdf(y))
    } else {
        let r = 1.0 / alpha;
        NegativeBinomial::new(r, r / (r + mean)).map_or(1.0, |d| d.cdf(y))
    }
}

/// `ln P(Y ≥ y)` under the model, accurate far into the tail (where `P` itself underflows).
pub fn ln_upper_tail(y: u64, mean: f64, alpha: f64) -> f64 {
    if y == 0 {
        return 0.0;
    }
    if mean <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if y as f64 > mean {
        return ln_far_tail(y, mean, alpha);
    }
    if let Some((below, _)) = below_and_at(y, mean, alpha) {
        return (1.0 - below).max(f64::MIN_POSITIVE).ln();
    }
    let sf = if alpha <= 0.0 {
        Poisson::new(mean).map_or(0.0, |d| d.sf(y - 1))
    } else {
        let r = 1.0 / alpha;
        NegativeBinomial::new(r, r / (r + mean)).map_or(0.0, |d| d.sf(y - 1))
    };
    if sf > 1e-280 {
        return sf.ln();
    }
    ln_far_tail(y, mean, alpha)
}

/// `ln Σ_{k ≥ y} P(Y = k)` for `y` above the mean: the terms fall geometrically, summed relative to
/// the first in logarithms.
fn ln_far_tail(y: u64, mean: f64, alpha: f64) -> f64 {
    let first = ln_pmf(y, mean, alpha);
    let r = if alpha > 0.0 { 1.0 / alpha } else { f64::INFINITY };
    let (mut total, mut term) = (1.0f64, 1.0f64);
    for k in y..y + 1_000_000 {
        let k = k as f64;
        term *= if alpha <= 0.0 {
            mean / (k + 1.0)
        } else {
            (k + r) / (k + 1.0) * mean / (r + mean)
        };
        total += term;
        if term < 1e-17 * total {
            break;
        }
    }
    first + total.ln()
}

/// `P(Y ≥ y)` under the model (0 where it underflows; [`ln_upper_tail`] keeps the figure).
pub fn upper_tail(y: u64, mean: f64, alpha: f64) -> f64 {
    ln_upper_tail(y, mean, alpha).exp()
}

/// The normal score of a count: `Φ⁻¹(P(Y < y) + ½ P(Y = y))`, within ±[`MAX_SCORE`]. About standard
/// normal when the model holds (exactly so for the randomised version), positive for an excess.
pub fn mid_quantile_residual(y: u64, mean: f64, alpha: f64) -> f64 {
    if mean <= 0.0 {
        return if y == 0 { 0.0 } else { MAX_SCORE };
    }
    let (below, half_pmf) = match below_and_at(y, mean, alpha) {
        Some((below, at)) => (below, 0.5 * at),
        None => (
            if y == 0 { 0.0 } else { cdf(y - 1, mean, alpha) },
            0.5 * ln_pmf(y, mean, alpha).exp(),
        ),
    };
    let lower = below + half_pmf;
    if lower <= 0.5 {
        return normal_quantile_of_tail(lower.max(0.0)).map_or(-MAX_SCORE, |z| -z);
    }
    // The upper side: P(Y > y) + ½ P(Y = y), from the log tail where it is tiny.
    let above = 1.0 - below - 2.0 * half_pmf;
    let ln_above = if above > 1e-9 {
        above.ln()
    } else {
        ln_upper_tail(y + 1, mean, alpha)
    };
    let upper = ln_above.exp() + half_pmf;
    let ln_upper = if upper > 0.0 { upper.ln() } else { ln_above };
    normal_quantile_of_ln_tail(ln_upper).min(MAX_SCORE)
}

/// `z` with `P(Z > z) = tail` (for tail ≤ ½), `None` for a zero tail.
fn normal_quantile_of_tail(tail: f64) -> Option<f64> {
    if tail <= 0.0 {
        return None;
    }
    Some(normal_quantile_of_ln_tail(tail.ln()).min(MAX_SCORE))
}

/// `z` with `ln P(Z > z) = ln_tail`, by the normal quantile where it is representable and the
/// asymptotic `z² ≈ −2 ln t − ln(−2 ln t) − ln 2π` (refined once by Newton) beyond.
fn normal_quantile_of_ln_tail(ln_tail: f64) -> f64 {
    let normal = Normal::standard();
    if ln_tail > -700.0 {
        let t = ln_tail.exp().clamp(1e-300, 0.5);
        return -normal.inverse_cdf(t);
    }
    let l = -2.0 * ln_tail;
    let mut z = (l - l.ln() - (2.0 * std::f64::consts::PI).ln()).max(1.0).sqrt();
    // ln P(Z > z) ≈ −z²/2 − ln z − ½ ln 2π; Newton on that.
    let f = |z: f64| -0.5 * z * z - z.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln() - ln_tail;
    let df = |z: f64| -z - 1.0 / z;
    z -= f(z) / df(z);
    z
}

/// Expected counts at or above this have normal scores of mean 0 and variance 1 to well within a
/// percent; below it [`ScoreMoments`] tabulates them.
const NORMAL_ENOUGH: f64 = 10.0;

/// The exact mean and variance of [`mid_quantile_residual`] under its own model, as a function of
/// the expected count (for one dispersion). Where a place expects a fraction of a case its normal
/// score is nearly always a little below 0 and rarely large: its variance is far below 1, and a
/// statistic that standardises all places alike (Gi*'s global variance) would call ordinary
/// fluctuations of populated places significant in a region of empty cells. Tabulated on a log
/// grid and interpolated.
#[derive(Debug, Clone)]
pub struct ScoreMoments {
    alpha: f64,
    ln_mean: Vec<f64>,
    moments: Vec<(f64, f64)>,
}

impl ScoreMoments {
    const GRID: usize = 320;
    const LOWEST: f64 = 1e-7;

    pub fn new(alpha: f64) -> ScoreMoments {
        let (lo, hi) = (Self::LOWEST.ln(), NORMAL_ENOUGH.ln());
        let ln_mean: Vec<f64> = (0..Self::GRID)
            .map(|i| lo + (hi - lo) * i as f64 / (Self::GRID - 1) as f64)
            .collect();
        let moments = ln_mean.iter().map(|&l| exact_score_moments(l.exp(), alpha)).collect();
        ScoreMoments {
            alpha,
            ln_mean,
            moments,
        }
    }

    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// `(mean, variance)` of the normal score of a count expected to be `mean`.
    pub fn of(&self, mean: f64) -> (f64, f64) {
        if mean >= NORMAL_ENOUGH {
            return (0.0, 1.0);
        }
        let l = mean.max(Self::LOWEST).ln();
        let step = (self.ln_mean[Self::GRID - 1] - self.ln_mean[0]) / (Self::GRID - 1) as f64;
        let x = ((l - self.ln_mean[0]) / step).clamp(0.0, (Self::GRID - 1) as f64);
        let i = (x.floor() as usize).min(Self::GRID - 2);
        let f = x - i as f64;
        let (a, b) = (self.moments[i], self.moments[i + 1]);
        (a.0 + f * (b.0 - a.0), a.1 + f * (b.1 - a.1))
    }
}

/// Mean and variance of the normal score by summing over the counts.
fn exact_score_moments(mean: f64, alpha: f64) -> (f64, f64) {
    let (mut m1, mut m2, mut mass) = (0.0, 0.0, 0.0);
    let mut k = 0u64;
    while mass < 1.0 - 1e-12 && k < 10_000 {
        let p = ln_pmf(k, mean, alpha).exp();
        let z = mid_quantile_residual(k, mean, alpha);
        m1 += p * z;
        m2 += p * z * z;
        mass += p;
        k += 1;
    }
    (m1, (m2 - m1 * m1).max(1e-12))
}

/// The neighbourhood statistic of the risk measure: for each place, `Σ w (s − μ) / √(Σ w² v)`
/// over its neighbours' normal scores `s` with their exact means `μ` and variances `v`
/// ([`ScoreMoments`]) — Gi*'s weighted sum, standardised by the model instead of by one global
/// variance. About standard normal where the expected counts explain the cases.
pub fn model_gi(scores: &[f64], moments: &[(f64, f64)], weights: &crate::gistar::Weights) -> Vec<GiStar> {
    (0..weights.len())
        .map(|i| {
            let (mut sum, mut var) = (0.0, 0.0);
            for (j, w) in weights.row(i) {
                sum += w * (scores[j] - moments[j].0);
                var += w * w * moments[j].1;
            }
            let z = if var > 0.0 { sum / var.sqrt() } else { 0.0 };
            GiStar {
                z,
                p: crate::gistar::two_sided_p(z),
            }
        })
        .collect()
}

/// The neighbourhood test of the risk measure with binary weights: for each place, the cases of
/// the places its statistic sums (Gi*'s neighbourhood, itself included) against their expected
/// cases, as a normal score ([`mid_quantile_residual`]) under a negative binomial with the
/// neighbourhood's mean `ΣE` and variance `Σ(E + αE²)` — exact for a handful of cases, where a
/// normal approximation would call one case in an empty valley a hot spot. Two-sided p.
pub fn neighbourhood_scores(
    counts: &[u64],
    expected: &[f64],
    alpha: f64,
    weights: &crate::gistar::Weights,
) -> Vec<GiStar> {
    (0..weights.len())
        .map(|i| {
            let (mut o, mut e, mut e2) = (0u64, 0.0, 0.0);
            for &j in weights.neighbours(i) {
                o += counts[j as usize];
                e += expected[j as usize];
                e2 += expected[j as usize] * expected[j as usize];
            }
            let z = if e > 0.0 {
                mid_quantile_residual(o, e, alpha * e2 / (e * e))
            } else {
                0.0
            };
            GiStar {
                z,
                p: crate::gistar::two_sided_p(z),
            }
        })
        .collect()
}

/// `(y − mean) / √(mean + alpha mean²)`; 0 where `mean` is 0.
pub fn pearson_residual(y: f64, mean: f64, alpha: f64) -> f64 {
    let variance = mean + alpha * mean * mean;
    if variance > 0.0 {
        (y - mean) / variance.sqrt()
    } else {
        0.0
    }
}

/// The NB2 dispersion α at which the median of the squared normal scores
/// ([`mid_quantile_residual`]) of the pairs with an expected count of at least
/// [`DISPERSION_MIN_EXPECTED`] equals [`CHI2_1_MEDIAN`]; 0 when Poisson already explains them or
/// when fewer than [`DISPERSION_MIN_PAIRS`] pairs qualify. A median, not a mean: a few places with a
/// real excess (up to half of them) do not make the others look ordinary.
pub fn robust_dispersion(observed: &[u64], expected: &[f64]) -> f64 {
    let pairs = dispersion_pairs(observed, expected);
    if pairs.len() < DISPERSION_MIN_PAIRS {
        return 0.0;
    }
    let median_square = |alpha: f64| {
        let mut z2: Vec<f64> = pairs
            .iter()
            .map(|&(o, e)| mid_quantile_residual(o, e, alpha).powi(2))
            .collect();
        let mid = z2.len() / 2;
        z2.select_nth_unstable_by(mid, f64::total_cmp);
        z2[mid]
    };
    if median_square(0.0) <= CHI2_1_MEDIAN {
        return 0.0;
    }
    let mut hi = 0.01;
    while median_square(hi) > CHI2_1_MEDIAN && hi < 100.0 {
        hi *= 4.0;
    }
    let mut lo = 0.0;
    for _ in 0..40 {
        let mid = 0.5 * (lo + hi);
        if median_square(mid) > CHI2_1_MEDIAN {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-3 * hi {
            break;
        }
    }
    hi
}

/// The region's *typical* rate relative to its mean, and the dispersion around it: `(k, α)` such
/// that, over the pairs with an expected count of at least [`DISPERSION_MIN_EXPECTED`], the normal
/// scores of `observed` under `k × expected` have median 0 and squared median [`CHI2_1_MEDIAN`].
/// The mean rate counts the hot spots' own cases, so it overstates what an ordinary place should
/// expect (by a fifth when a fifth of the cases are in hot spots); the median does not. `(1, 0)`
/// with too few pairs.
pub fn robust_scale_and_dispersion(observed: &[u64], expected: &[f64]) -> (f64, f64) {
    let pairs = dispersion_pairs(observed, expected);
    if pairs.len() < DISPERSION_MIN_PAIRS {
        return (1.0, 0.0);
    }
    let median_score = |k: f64, alpha: f64| {
        let mut z: Vec<f64> = pairs
            .iter()
            .map(|&(o, e)| mid_quantile_residual(o, k * e, alpha))
            .collect();
        let mid = z.len() / 2;
        z.select_nth_unstable_by(mid, f64::total_cmp);
        z[mid]
    };
    let (mut k, mut alpha) = (1.0, 0.0);
    for _ in 0..3 {
        // The score falls as k grows: bisect for a median of 0.
        let (mut lo, mut hi): (f64, f64) = (0.05, 20.0);
        for _ in 0..40 {
            let mid = (lo * hi).sqrt();
            if median_score(mid, alpha) > 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
            if hi / lo < 1.0 + 1e-3 {
                break;
            }
        }
        k = (lo * hi).sqrt();
        let scaled: Vec<f64> = pairs.iter().map(|&(_, e)| k * e).collect();
        let counts: Vec<u64> = pairs.iter().map(|&(o, _)| o).collect();
        alpha = robust_dispersion(&counts, &scaled);
    }
    (k, alpha)
}

/// The pairs the robust estimates use (a deterministic subsample of at most 3,000).
fn dispersion_pairs(observed: &[u64], expected: &[f64]) -> Vec<(u64, f64)> {
    let pairs: Vec<(u64, f64)> = observed
        .iter()
        .zip(expected)
        .filter(|&(_, &e)| e >= DISPERSION_MIN_EXPECTED && e.is_finite())
        .map(|(&o, &e)| (o, e))
        .collect();
    if pairs.len() <= 3_000 {
        return pairs;
    }
    let step = pairs.len() as f64 / 3_000.0;
    (0..3_000).map(|i| pairs[(i as f64 * step) as usize]).collect()
}

/// Assunção & Reis's method-of-moments dispersion expressed as NB2's α: with the region's rate
/// `b = ΣO / ΣP`, `s² = Σ P_i (O_i/P_i − b)² / ΣP` and `a = s² − b / P̄`, `α = max(a, 0) / b²`
/// (places without residents left out).
pub fn moment_dispersion(observed: &[f64], population: &[f64]) -> f64 {
    let (a, b) = assuncao_reis_moments(observed, population);
    if b > 0.0 {
        a.max(0.0) / (b * b)
    } else {
        0.0
    }
}

/// `(a, b)` of Assunção & Reis: the between-place variance of the rates and the region's rate.
fn assuncao_reis_moments(observed: &[f64], population: &[f64]) -> (f64, f64) {
    let (mut cases, mut people, mut n) = (0.0, 0.0, 0usize);
    for (&o, &p) in observed.iter().zip(population) {
        if p > 0.0 {
            cases += o;
            people += p;
            n += 1;
        }
    }
    if people <= 0.0 {
        return (0.0, 0.0);
    }
    let b = cases / people;
    let s2: f64 = observed
        .iter()
        .zip(population)
        .filter(|&(_, &p)| p > 0.0)
        .map(|(&o, &p)| p * (o / p - b).powi(2))
        .sum::<f64>()
        / people;
    (s2 - b / (people / n as f64), b)
}

/// Assunção & Reis's empirical Bayes index of each place: `(y_i − b) / √v_i` with `y_i = O_i/P_i`,
/// `v_i = a + b/P_i`, or `b/P_i` where that is negative — PySAL's `esda.smoothing.assuncao_rate`.
/// Places without residents get 0 (their variance is infinite).
pub fn assuncao_reis(observed: &[f64], population: &[f64]) -> Vec<f64> {
    let (a, b) = assuncao_reis_moments(observed, population);
    observed
        .iter()
        .zip(population)
        .map(|(&o, &p)| {
            if p <= 0.0 {
                return 0.0;
            }
            let raw = a + b / p;
            let v = if raw < 0.0 { b / p } else { raw };
            if v > 0.0 {
                (o / p - b) / v.sqrt()
            } else {
                0.0
            }
        })
        .collect()
}

/// Marshall's global empirical Bayes rates: each place's rate `O_i/P_i` shrunk towards the region's
/// rate `b` with weight `a / (a + b/P_i)` (`a` as in [`assuncao_reis`], at least 0) — PySAL's
/// `esda.smoothing.Empirical_Bayes`. Places without residents get the region's rate.
pub fn marshall_eb_rates(observed: &[f64], population: &[f64]) -> Vec<f64> {
    let (a, b) = assuncao_reis_moments(observed, population);
    let a = a.max(0.0);
    observed
        .iter()
        .zip(population)
        .map(|(&o, &p)| {
            if p <= 0.0 {
                return b;
            }
            let weight = if a + b / p > 0.0 { a / (a + b / p) } else { 0.0 };
            weight * (o / p) + (1.0 - weight) * b
        })
        .collect()
}

/// Moran's I of `values` with row-standardised weights over each place's neighbours (itself left
/// out): `I = (n / S₀) Σᵢ Σⱼ wᵢⱼ zᵢ zⱼ / Σᵢ zᵢ²`, `z = x − x̄` — PySAL's `esda.Moran` with
/// `transformation='r'`; of the Assunção–Reis index it is `esda.Moran_Rate`. Places without
/// neighbours weigh nothing (as PySAL's islands). `None` when the values do not vary.
pub fn morans_i(values: &[f64], weights: &crate::gistar::Weights) -> Option<f64> {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let z: Vec<f64> = values.iter().map(|x| x - mean).collect();
    let denominator: f64 = z.iter().map(|x| x * x).sum();
    if denominator <= 0.0 {
        return None;
    }
    let (mut s0, mut numerator) = (0.0, 0.0);
    for i in 0..weights.len() {
        let others: Vec<usize> = weights.row(i).map(|(j, _)| j).filter(|&j| j != i).collect();
        if others.is_empty() {
            continue;
        }
        let w = 1.0 / others.len() as f64;
        s0 += 1.0;
        numerator += others.iter().map(|&j| w * z[i] * z[j]).sum::<f64>();
    }
    (s0 > 0.0).then(|| n / s0 * numerator / denominator)
}

/// A place's own relative risk from its history, shrunk towards 1 by the gamma prior of the
/// dispersion: `(O + 1/α) / (E + 1/α)` (the posterior mean of a Poisson–gamma model). With α = 0
/// (no spread of risks) it is 1.
pub fn history_factor(observed: f64, expected: f64, alpha: f64) -> f64 {
    if alpha <= 0.0 {
        return 1.0;
    }
    let prior = 1.0 / alpha;
    (observed + prior) / (expected + prior)
}

/// What the risk bins of a map are decided from, per place.
pub struct CoreTest<'a> {
    /// The neighbourhood statistic.
    pub gi: &'a [GiStar],
    /// `P(Y ≥ own)` and `P(Y ≤ own)` of the place's own count under its expected count.
    pub upper_p: &'a [f64],
    pub lower_p: &'a [f64],
    /// The place's own cases and the cases of the neighbourhood its statistic sums.
    pub own: &'a [u64],
    pub neighbourhood: &'a [u64],
    /// Sparse-data safety: fewest cases, own and in the neighbourhood, of a hot place.
    pub min_cases: u64,
}

/// ArcGIS-style bins (±3/±2/±1 for 99/95/90 %) of a risk map. At each level α a place is **hot**
/// when it and its neighbourhood hold at least `min_cases` cases, its neighbourhood statistic is
/// positive, and either
/// 1. its neighbourhood statistic passes Benjamini–Hochberg at α over all places, and its own count
///    is significantly above its expected count: Benjamini–Hochberg at α over the places that pass
///    so far; or
/// 2. its own count alone passes Benjamini–Hochberg at α over **all** places — it needs no
///    neighbourhood to be found. The neighbourhood test pools weak cells into a cluster; it must not
///    veto a strong one: next to a dense cell, whose relative risk alone spreads the neighbourhood's
///    sum by `α E²`, twenty cases where one was expected are drowned in the sum.
///
/// **Cold** by (1) with z < 0 and its own count significantly below. The neighbourhood finds the
/// cluster; the place's own count decides whether it belongs to it, so the ring of cells around a
/// hot spot, which Gi* marks too, stays out.
pub fn core_bins(t: &CoreTest<'_>) -> Vec<i8> {
    let n = t.gi.len();
    let p: Vec<f64> = t.gi.iter().map(|g| g.p).collect();
    let enough = |i: usize| t.own[i] >= t.min_cases && t.neighbourhood[i] >= t.min_cases;
    let mut bins = vec![0i8; n];
    for (level, alpha) in [(1i8, 0.10), (2, 0.05), (3, 0.01)] {
        let neighbourhood = benjamini_hochberg(&p, alpha);
        for hot in [true, false] {
            let candidates: Vec<usize> = (0..n)
                .filter(|&i| neighbourhood[i] && (t.gi[i].z > 0.0) == hot && t.gi[i].z != 0.0)
                .filter(|&i| !hot || enough(i))
                .collect();
            let own_p: Vec<f64> = candidates
                .iter()
                .map(|&i| if hot { t.upper_p[i] } else { t.lower_p[i] })
                .collect();
            for (&i, pass) in candidates.iter().zip(benjamini_hochberg(&own_p, alpha)) {
                if pass {
                    bins[i] = if hot { level } else { -level };
                }
            }
        }
        for (i, alone) in benjamini_hochberg(t.upper_p, alpha).into_iter().enumerate() {
            if alone && t.gi[i].z > 0.0 && enough(i) {
                bins[i] = level;
            }
        }
    }
    bins
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_agree_with_closed_forms_and_reach_far() {
        // Poisson(2): P(Y ≥ 3) = 1 − e^-2 (1 + 2 + 2).
        assert!((upper_tail(3, 2.0, 0.0) - (1.0 - 5.0 * (-2.0f64).exp())).abs() < 1e-12);
        // NB2 with mean 2, α = 0.5 (size 2, p = 1/2): P(Y = 0) = 1/4.
        assert!((upper_tail(1, 2.0, 0.5) - 0.75).abs() < 1e-12);
        assert!((ln_pmf(0, 2.0, 0.5) - 0.25f64.ln()).abs() < 1e-12);
        assert_eq!(upper_tail(0, 1.0, 0.0), 1.0);
        // Far beyond underflow the logarithm is still right: ln P(Y ≥ 400 | 1) ≈ ln P(Y = 400).
        let ln = ln_upper_tail(400, 1.0, 0.0);
        let direct = ln_pmf(400, 1.0, 0.0);
        assert!(ln.is_finite() && (ln - direct).abs() < 0.01, "{ln} {direct}");
        assert!(ln_upper_tail(400, 1.0, 0.2) > ln, "over-dispersion fattens the tail");
        assert!((cdf(2, 2.0, 0.0) - 5.0 * (-2.0f64).exp()).abs() < 1e-12);
    }

    #[test]
    fn normal_scores_are_signed_and_monotone() {
        assert!(mid_quantile_residual(0, 5.0, 0.0) < -1.5);
        assert!(mid_quantile_residual(5, 5.0, 0.0).abs() < 0.2);
        assert!(mid_quantile_residual(15, 5.0, 0.0) > 3.0);
        let mut last = f64::NEG_INFINITY;
        for y in 0..200 {
            let z = mid_quantile_residual(y, 5.0, 0.1);
            assert!(z >= last, "{y}: {z} < {last}");
            last = z;
        }
        assert!(mid_quantile_residual(500, 1.0, 0.0) > 30.0);
        assert_eq!(mid_quantile_residual(3, 0.0, 0.0), MAX_SCORE);
        // A big count under the normal approximation: (O − E)/√E.
        let z = mid_quantile_residual(1_100, 1_000.0, 0.0);
        assert!((z - 100.0 / 1_000f64.sqrt()).abs() < 0.1, "{z}");
    }

    /// Deterministic Poisson–gamma draws.
    fn nb_sample(mean: f64, alpha: f64, seed: u64) -> u64 {
        use rand::{Rng, SeedableRng};
        use rand_distr::{Distribution, Gamma, Poisson as P};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let lambda = if alpha > 0.0 {
            mean * Gamma::new(1.0 / alpha, alpha).unwrap().sample(&mut rng)
        } else {
            mean
        };
        let _ = rng.random::<u8>();
        P::new(lambda.max(1e-12)).unwrap().sample(&mut rng) as u64
    }

    #[test]
    fn dispersion_is_found_and_resists_a_real_excess() {
        for &alpha in &[0.0, 0.05, 0.3] {
            let expected: Vec<f64> = (0..3_000).map(|i| 2.0 + (i % 97) as f64 * 1.5).collect();
            let mut observed: Vec<u64> = expected
                .iter()
                .enumerate()
                .map(|(i, &e)| nb_sample(e, alpha, i as u64 * 7 + 1))
                .collect();
            let clean = robust_dispersion(&observed, &expected);
            // 10 % of the places with a tenfold excess barely move it.
            for (o, e) in observed.iter_mut().zip(&expected).step_by(10) {
                *o = (10.0 * e) as u64;
            }
            let contaminated = robust_dispersion(&observed, &expected);
            assert!((clean - alpha).abs() <= 0.02 + 0.2 * alpha, "α {alpha}: {clean}");
            assert!(
                contaminated <= clean + 0.03 + 0.3 * alpha,
                "α {alpha}: {clean} → {contaminated}"
            );
        }
        assert_eq!(robust_dispersion(&[1, 2], &[3.0, 3.0]), 0.0, "too few pairs");
        // The typical rate: a fifth of the cases in a few hot places do not raise it.
        let expected: Vec<f64> = (0..2_000).map(|i| 3.0 + (i % 50) as f64).collect();
        let mut observed: Vec<u64> = expected
            .iter()
            .enumerate()
            .map(|(i, &e)| nb_sample(0.8 * e, 0.05, i as u64 + 99))
            .collect();
        let (k, alpha) = robust_scale_and_dispersion(&observed, &expected);
        assert!((k - 0.8).abs() < 0.03 && (alpha - 0.05).abs() < 0.03, "{k} {alpha}");
        for o in observed.iter_mut().step_by(40) {
            *o *= 12;
        }
        let (k2, _) = robust_scale_and_dispersion(&observed, &expected);
        assert!((k2 - k).abs() < 0.05, "{k} → {k2}");
    }

    #[test]
    fn core_bins_keep_the_cells_that_carry_the_excess() {
        let z = |z: f64| GiStar {
            z,
            p: crate::gistar::two_sided_p(z),
        };
        // 0: a hot spot's own cell; 1: its neighbour with ordinary counts; 2: a lone case where
        // nobody lives; 3: a deficit; 4: nothing; 5: twenty cases where one was expected, next to
        // a dense cell whose spread drowns the neighbourhood's sum; 6: the same without enough
        // cases; 7: a strong own count in a neighbourhood below expectation; 8..: ordinary places.
        let mut gi = vec![z(8.0), z(6.0), z(5.0), z(-4.0), z(0.1), z(1.5), z(1.5), z(-0.5)];
        let mut upper_p: Vec<f64> = vec![1e-12, 0.4, 1e-4, 1.0, 0.5, 1e-9, 1e-9, 1e-9];
        let mut lower_p = vec![1.0, 0.7, 1.0, 1e-6, 0.6, 1.0, 1.0, 1.0];
        let mut own = vec![40, 3, 1, 0, 2, 20, 2, 20];
        let mut neighbourhood = vec![60, 45, 41, 0, 2, 60, 42, 30];
        for i in 0..92 {
            gi.push(z(0.02 * i as f64 - 1.0));
            upper_p.push(0.3 + 0.005 * i as f64);
            lower_p.push(0.5);
            own.push(5);
            neighbourhood.push(30);
        }
        let t = CoreTest {
            gi: &gi,
            upper_p: &upper_p,
            lower_p: &lower_p,
            own: &own,
            neighbourhood: &neighbourhood,
            min_cases: 3,
        };
        let bins = core_bins(&t);
        assert_eq!(bins[..8], [3, 0, 0, -3, 0, 3, 0, 0]);
        assert!(bins[8..].iter().all(|&b| b == 0));
        // Alone, a cell must pass at the whole map's multiplicity: p = 1e-3, fifth smallest of 100,
        // is not enough at 99 % (BH: 0.01 × 5 / 100 = 5e-4), but it is at 95 % (2.5e-3).
        let mut weaker = upper_p.clone();
        weaker[5] = 1e-3;
        let t = CoreTest { upper_p: &weaker, ..t };
        assert_eq!(core_bins(&t)[5], 2);
    }

    #[test]
    fn score_moments_are_exact_and_tabulated() {
        let table = ScoreMoments::new(0.1);
        for mean in [1e-5, 0.01, 0.3, 2.0, 9.0] {
            let exact = exact_score_moments(mean, 0.1);
            let tabled = table.of(mean);
            assert!(
                (exact.0 - tabled.0).abs() < 2e-3 && (exact.1 - tabled.1).abs() < 5e-3 * exact.1.max(0.1),
                "{mean}: {exact:?} {tabled:?}"
            );
        }
        // A place that expects a hundredth of a case has a score of small variance.
        assert!(table.of(0.01).1 < 0.1);
        assert!((table.of(9.9).1 - 1.0).abs() < 0.1);
        // With its moments, a single case where almost nobody lives is not a hot spot on its own,
        // but several are.
        let w = crate::gistar::Weights::binary(vec![vec![0, 1, 2], vec![0, 1, 2], vec![0, 1, 2]]);
        let tiny = [0.01, 0.01, 0.01];
        let moments: Vec<(f64, f64)> = tiny.iter().map(|&e| table.of(e)).collect();
        let one: Vec<f64> = [1u64, 0, 0]
            .iter()
            .zip(&tiny)
            .map(|(&o, &e)| mid_quantile_residual(o, e, 0.1))
            .collect();
        let many: Vec<f64> = [4u64, 3, 5]
            .iter()
            .zip(&tiny)
            .map(|(&o, &e)| mid_quantile_residual(o, e, 0.1))
            .collect();
        assert!(model_gi(&many, &moments, &w)[0].z > model_gi(&one, &moments, &w)[0].z + 3.0);
    }

    #[test]
    fn eb_helpers_follow_their_definitions() {
        let observed = [2.0, 10.0, 0.0, 30.0, 5.0];
        let population = [100.0, 400.0, 50.0, 600.0, 0.0];
        let ar = assuncao_reis(&observed, &population);
        let eb = marshall_eb_rates(&observed, &population);
        let b = 42.0 / 1_150.0;
        assert_eq!(ar[4], 0.0);
        assert!((eb[4] - b).abs() < 1e-15);
        // A rate above the region's gives a positive index, shrunk rates lie between.
        assert!(ar[3] > 0.0 && ar[2] < 0.0);
        for i in 0..4 {
            let raw = observed[i] / population[i];
            assert!((eb[i] - b) * (raw - b) >= 0.0 && (eb[i] - b).abs() <= (raw - b).abs() + 1e-15);
        }
        assert_eq!(history_factor(10.0, 5.0, 0.0), 1.0);
        assert!((history_factor(10.0, 5.0, 0.1) - 20.0 / 15.0).abs() < 1e-12);
        let e = expected_counts(&[10.0, 30.0], 8.0, 40.0);
        assert_eq!(e, vec![2.0, 6.0]);
    }
}
