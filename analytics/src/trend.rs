//! Mann–Kendall trend test — a pure function on one series, equal to pymannkendall's `original_test`.
//!
//! For a series `x_1 … x_n` in time order (Mann 1945; Kendall 1975; as implemented by Hussain &
//! Mahmud 2019, pyMannKendall, JOSS 4(39) 1556):
//!
//! ```text
//! S      = Σ_{i<j} sign(x_j − x_i)
//! Var(S) = ( n(n−1)(2n+5) − Σ_g t_g(t_g−1)(2t_g+5) ) / 18      t_g: size of tie group g (equal values)
//!          ⎧ (S − 1)/√Var(S)   S > 0
//! Z      = ⎨ 0                 S = 0
//!          ⎩ (S + 1)/√Var(S)   S < 0
//! p      = 2 (1 − Φ(|Z|)) = erfc(|Z|/√2)                         two-sided, normal approximation
//! τ      = S / (n(n−1)/2)                                          Kendall's tau-a
//! ```
//!
//! The trend is *increasing* when `Z > 0` and `|Z| > z_{1−α/2}`, *decreasing* when `Z < 0` and
//! `|Z| > z_{1−α/2}`, otherwise *no trend*, with α = [`ALPHA`] = 0.05. pymannkendall decides on
//! `|Z| > norm.ppf(1 − α/2)`; so does [`mann_kendall`], with that critical value as [`Z_CRIT`] (which
//! is mathematically the same as `p < α`; a unit test checks that the two never disagree).
//!
//! How it is computed: one pass over the `n(n−1)/2` pairs, branch-free (comparisons turned into
//! 0/1 and summed, which the compiler vectorises). For each `i` it counts the later values above
//! (`a_i`) and below (`b_i`) `x_i`; `S = Σ (a_i − b_i)`, and the later values equal to `x_i` number
//! `e_i = (n − 1 − i) − a_i − b_i`. Within a tie group of size `t` the `e_i` are `t−1, t−2, …, 0`, and
//! since `F(t) = t(t−1)(2t+5)` has `F(k+1) − F(k) = 6k(k+2)`, the tie correction is
//! `Σ_g F(t_g) = Σ_i 6 e_i (e_i + 2)`: no sort, no allocation, no hash map.
//!
//! Agreement with pymannkendall 1.4.3 (checked to 1e-9 on S, Var(S), Z, τ, p and the trend by
//! `analytics/tests/mann_kendall_reference.rs` against `analytics/tests/data/mann_kendall_pymk.json`,
//! made by `scripts/reference/mann_kendall_pymk.py`):
//!
//! - S, Var(S) and Z are the same floating-point numbers (exact integers, then one correctly
//!   rounded division and square root), so the trend decision is identical, also at the threshold.
//! - p: pymannkendall computes `2*(1 - norm.cdf(|z|))`, which cancels to exactly 0 beyond |z| ≈ 8.3;
//!   `erfc` keeps the tiny tail (differences below 1e-15 in absolute terms).
//! - NaN values are skipped, as pymannkendall does (`n` is then the number of the others).
//! - n = 2 follows the formulas as pymannkendall does (S = ±1, Var(S) = 1, Z = 0, p = 1, τ = ±1, or
//!   all zero for two equal values). A constant series gives S = 0, Var(S) = 0, Z = 0, p = 1, τ = 0,
//!   no trend, as pymannkendall does. For n < 2 (after skipping NaN) pymannkendall raises
//!   `ZeroDivisionError` computing τ; here everything is 0, p = 1 and there is no trend.

use serde::Serialize;

use crate::gistar::two_sided_p;

/// Significance level of the trend decision.
pub const ALPHA: f64 = 0.05;

/// The two-sided critical value for [`ALPHA`]: `scipy.stats.norm.ppf(1 - 0.05/2)`, the number
/// pymannkendall compares `|Z|` with.
pub const Z_CRIT: f64 = 1.959963984540054;

/// Direction of a Mann–Kendall trend at significance [`ALPHA`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    /// Significant upward trend (Z > 0).
    Increasing,
    /// Significant downward trend (Z < 0).
    Decreasing,
    /// No significant trend.
    NoTrend,
}

impl Trend {
    /// The stable English code, as serialised: `increasing`, `decreasing`, `no_trend`.
    pub fn code(self) -> &'static str {
        match self {
            Trend::Increasing => "increasing",
            Trend::Decreasing => "decreasing",
            Trend::NoTrend => "no_trend",
        }
    }

    /// The Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            Trend::Increasing => "上升",
            Trend::Decreasing => "下降",
            Trend::NoTrend => "无明显趋势",
        }
    }
}

impl std::fmt::Display for Trend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The Mann–Kendall test of one series (see the module documentation for the formulas).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MannKendall {
    /// The score S = Σ_{i<j} sign(x_j − x_i).
    pub s: f64,
    /// Var(S), tie-corrected.
    pub var_s: f64,
    /// The continuity-corrected normal score.
    pub z: f64,
    /// Kendall's τ = S / (n(n−1)/2).
    pub tau: f64,
    /// Two-sided p-value of `z`.
    pub p: f64,
    /// The decision at [`ALPHA`].
    pub trend: Trend,
}

/// The Mann–Kendall test of `series` (time order), skipping NaN values. Equal to
/// `pymannkendall.original_test(series, alpha=0.05)`; the edge cases are in the module documentation.
pub fn mann_kendall(series: &[f64]) -> MannKendall {
    if series.iter().any(|x| x.is_nan()) {
        // Rare: the only allocating path.
        let kept: Vec<f64> = series.iter().copied().filter(|x| !x.is_nan()).collect();
        return from_counts(kept.len(), pair_counts(&kept));
    }
    from_counts(series.len(), pair_counts(series))
}

/// `(S, Σ_g t_g(t_g−1)(2t_g+5))` of a NaN-free series, in one branch-free pass over the pairs.
fn pair_counts(x: &[f64]) -> (i64, i64) {
    let (mut s, mut ties) = (0i64, 0i64);
    for (i, &xi) in x.iter().enumerate() {
        let later = &x[i + 1..];
        let (mut above, mut below) = (0i64, 0i64);
        for &xj in later {
            above += i64::from(xj > xi);
            below += i64::from(xj < xi);
        }
        let equal = later.len() as i64 - above - below;
        s += above - below;
        ties += 6 * equal * (equal + 2);
    }
    (s, ties)
}

/// The statistics from the counts, in pymannkendall's floating-point order.
fn from_counts(n: usize, (s, ties): (i64, i64)) -> MannKendall {
    if n < 2 {
        return MannKendall {
            s: 0.0,
            var_s: 0.0,
            z: 0.0,
            tau: 0.0,
            p: 1.0,
            trend: Trend::NoTrend,
        };
    }
    let m = n as i128;
    // Exact in integers, then one rounding: the float pymannkendall gets from Python's true division.
    let var_s = (m * (m - 1) * (2 * m + 5) - i128::from(ties)) as f64 / 18.0;
    let s = s as f64;
    let z = if s > 0.0 && var_s > 0.0 {
        (s - 1.0) / var_s.sqrt()
    } else if s < 0.0 && var_s > 0.0 {
        (s + 1.0) / var_s.sqrt()
    } else {
        0.0
    };
    let trend = if z.abs() > Z_CRIT {
        if z > 0.0 {
            Trend::Increasing
        } else {
            Trend::Decreasing
        }
    } else {
        Trend::NoTrend
    };
    MannKendall {
        s,
        var_s,
        z,
        tau: s / (0.5 * n as f64 * (n - 1) as f64),
        p: two_sided_p(z),
        trend,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook definition: sign over all pairs, tie groups by sorting.
    fn slow(x: &[f64]) -> (f64, f64) {
        let n = x.len();
        let mut s = 0.0;
        for i in 0..n {
            for j in i + 1..n {
                s += (x[j] - x[i]).signum() * f64::from(u8::from(x[j] != x[i]));
            }
        }
        let mut sorted = x.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mut correction = 0.0;
        let mut k = 0;
        while k < n {
            let t = sorted[k..].iter().take_while(|&&v| v == sorted[k]).count() as f64;
            correction += t * (t - 1.0) * (2.0 * t + 5.0);
            k += t as usize;
        }
        let n = n as f64;
        (s, (n * (n - 1.0) * (2.0 * n + 5.0) - correction) / 18.0)
    }

    #[test]
    fn agrees_with_the_textbook_definition_on_tied_series() {
        let mut state = 12345u64;
        for n in 0..60 {
            for levels in [2u64, 3, 5, 1000] {
                let x: Vec<f64> = (0..n)
                    .map(|i| {
                        state = state
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        ((state >> 33) % levels) as f64 + 0.1 * i as f64 * f64::from(u8::from(levels == 5))
                    })
                    .collect();
                let r = mann_kendall(&x);
                let (s, var_s) = if n < 2 { (0.0, 0.0) } else { slow(&x) };
                assert_eq!((r.s, r.var_s), (s, var_s), "{x:?}");
            }
        }
    }

    #[test]
    fn a_worked_example() {
        // 1 2 3 5 4 5: pairs up 13, down 1, one tie (5,5): S = 12;
        // Var = (6·5·17 − 2·1·9)/18 = (510 − 18)/18 = 27.333…; Z = 11/√27.333 = 2.1040…
        let r = mann_kendall(&[1.0, 2.0, 3.0, 5.0, 4.0, 5.0]);
        assert_eq!(r.s, 12.0);
        assert!((r.var_s - 492.0 / 18.0).abs() < 1e-12);
        assert!((r.z - 11.0 / (492.0f64 / 18.0).sqrt()).abs() < 1e-12);
        assert!((r.tau - 12.0 / 15.0).abs() < 1e-15);
        assert!(r.p < 0.05 && r.p > 0.03, "{r:?}");
        assert_eq!(r.trend, Trend::Increasing);
        let down = mann_kendall(&[5.0, 4.0, 5.0, 3.0, 2.0, 1.0]);
        assert_eq!((down.s, down.z), (-12.0, -r.z));
        assert_eq!(down.trend, Trend::Decreasing);
    }

    #[test]
    fn edge_cases_follow_pymannkendall() {
        let none = |s: f64, var_s: f64, tau: f64| MannKendall {
            s,
            var_s,
            z: 0.0,
            tau,
            p: 1.0,
            trend: Trend::NoTrend,
        };
        assert_eq!(mann_kendall(&[]), none(0.0, 0.0, 0.0));
        assert_eq!(mann_kendall(&[3.0]), none(0.0, 0.0, 0.0));
        assert_eq!(mann_kendall(&[1.0, 2.0]), none(1.0, 1.0, 1.0));
        assert_eq!(mann_kendall(&[2.0, 1.0]), none(-1.0, 1.0, -1.0));
        assert_eq!(mann_kendall(&[3.0, 3.0]), none(0.0, 0.0, 0.0));
        assert_eq!(mann_kendall(&[5.0; 52]), none(0.0, 0.0, 0.0));
        // NaN is skipped: pymannkendall gives S = 6, Var = 8.666…, Z = 1.6984155512168937.
        let r = mann_kendall(&[1.0, f64::NAN, 2.0, 3.0, 4.0]);
        assert_eq!(r, mann_kendall(&[1.0, 2.0, 3.0, 4.0]));
        assert!((r.z - 1.6984155512168937).abs() < 1e-15);
        assert!((r.p - 0.08942935902899363).abs() < 1e-12);
        // ±0 are one tie group, as in numpy.
        assert_eq!(
            mann_kendall(&[0.0, -0.0, 1.0]).var_s,
            mann_kendall(&[0.0, 0.0, 1.0]).var_s
        );
    }

    #[test]
    fn the_critical_value_is_alpha() {
        assert!((two_sided_p(Z_CRIT) - ALPHA).abs() < 1e-15);
        assert!(two_sided_p(Z_CRIT * (1.0 + 1e-12)) < ALPHA);
        assert!(two_sided_p(Z_CRIT * (1.0 - 1e-12)) > ALPHA);
    }

    /// pymannkendall decides on |Z| > ppf(1 − α/2); `p < α` must give the same decision for every Z
    /// that can occur: all S for n up to 150 without ties and with one tie group of every size.
    #[test]
    fn deciding_on_z_is_deciding_on_p() {
        let mut checked = 0;
        for n in 2i64..=150 {
            for t in [0i64, 2, 3, n / 2, n - 1] {
                let max_s = n * (n - 1) / 2 - t * (t - 1) / 2;
                let ties = if t >= 2 {
                    6 * (0..t).map(|e| e * (e + 2)).sum::<i64>()
                } else {
                    0
                };
                for s in -max_s..=max_s {
                    let r = from_counts(n as usize, (s, ties));
                    let by_p = r.p < ALPHA;
                    assert_eq!(r.trend != Trend::NoTrend, by_p, "n={n} t={t} s={s}: {r:?}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 1_000_000);
    }

    #[test]
    fn codes_and_names() {
        assert_eq!(Trend::NoTrend.code(), "no_trend");
        assert_eq!(serde_json::to_string(&Trend::NoTrend).unwrap(), "\"no_trend\"");
        assert_eq!(serde_json::to_string(&Trend::Increasing).unwrap(), "\"increasing\"");
        assert_eq!(Trend::Decreasing.name_zh(), "下降");
        assert_eq!(Trend::Increasing.to_string(), "increasing");
    }
}
