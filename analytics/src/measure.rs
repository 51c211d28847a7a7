//! What a map, a level, a trend or a 类案 list measures: **volume** (the workload: cases as they
//! are) or **risk** (cases beyond what the residents and the season explain), and how risk is
//! computed. Every analysis takes a [`Measure`]; the risk ones also take [`RiskOptions`].

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// The quantity the hot-spot statistics run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Cases as counted: where the workload is (工作量). A map of it follows the population.
    Count,
    /// Cases per 10,000 residents, empirical-Bayes smoothed (Marshall 1991) so that a village of 50
    /// people with one case does not top the map.
    Rate,
    /// Cases beyond the expected count (population × the region's rate for the filter and period),
    /// as a normal score under a negative binomial with the region's dispersion: risk (风险).
    #[default]
    Excess,
}

impl Measure {
    pub const ALL: [Measure; 3] = [Measure::Count, Measure::Rate, Measure::Excess];

    pub fn code(self) -> &'static str {
        match self {
            Measure::Count => "count",
            Measure::Rate => "rate",
            Measure::Excess => "excess",
        }
    }

    /// Whether the measure compares cases with residents (everything but the count).
    pub fn is_risk(self) -> bool {
        self != Measure::Count
    }

    /// The label a reader sees.
    pub fn zh(self) -> &'static str {
        match self {
            Measure::Count => "工作量（案件数）",
            Measure::Rate => "风险（万人发案率，经验贝叶斯平滑）",
            Measure::Excess => "风险（超出人口与时段预期）",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            Measure::Count => "workload (cases)",
            Measure::Rate => "risk (cases per 10,000 residents, empirical Bayes)",
            Measure::Excess => "risk (cases beyond what population and season explain)",
        }
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Measure {
    type Err = String;

    fn from_str(s: &str) -> Result<Measure, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "count" | "volume" | "workload" | "cases" | "工作量" | "案件数" => Ok(Measure::Count),
            "rate" | "per10k" | "发案率" | "万人发案率" => Ok(Measure::Rate),
            "excess" | "risk" | "风险" | "超额" => Ok(Measure::Excess),
            other => Err(format!(
                "unknown measure {other:?}: use count (workload), rate (per 10,000 residents) or excess (risk)"
            )),
        }
    }
}

/// How the dispersion of the negative binomial is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dispersion {
    /// [`crate::risk::robust_scale_and_dispersion`] of the analysis's own places (default): the
    /// region's typical rate (not inflated by the hot spots' own cases) and the spread around it.
    Robust,
    /// Assunção & Reis's moments ([`crate::risk::moment_dispersion`]) around the mean rate, as PySAL
    /// computes it.
    Moments,
    /// Poisson (α = 0).
    Poisson,
    /// A given α.
    Fixed(f64),
}

impl FromStr for Dispersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Dispersion, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "robust" => Ok(Dispersion::Robust),
            "moments" | "assuncao-reis" => Ok(Dispersion::Moments),
            "poisson" => Ok(Dispersion::Poisson),
            other => other
                .parse::<f64>()
                .ok()
                .filter(|a| a.is_finite() && *a >= 0.0)
                .map(Dispersion::Fixed)
                .ok_or_else(|| format!("unknown dispersion {other:?}: use robust, moments, poisson or a number ≥ 0")),
        }
    }
}

/// How an excess is standardised for the neighbourhood statistic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Residual {
    /// The normal score of the count ([`crate::risk::mid_quantile_residual`]): bounded, about
    /// standard normal even where the expected count is a fraction of a case (default).
    #[default]
    Quantile,
    /// `(O − E) / √(E + αE²)`: with moment dispersion, Assunção & Reis's EB index.
    Pearson,
}

impl FromStr for Residual {
    type Err = String;

    fn from_str(s: &str) -> Result<Residual, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "quantile" => Ok(Residual::Quantile),
            "pearson" => Ok(Residual::Pearson),
            other => Err(format!("unknown residual {other:?}: use quantile or pearson")),
        }
    }
}

/// Expected counts from the population alone, or also from the place's own history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Baseline {
    /// Population × the region's rate (default).
    #[default]
    Population,
    /// Also × the place's own relative risk over this many weeks before the period (shrunk towards 1):
    /// a stable local excess is then "known", and only what is new stands out.
    History { weeks: u32 },
}

/// The choices of the risk measures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RiskOptions {
    pub dispersion: Dispersion,
    pub residual: Residual,
    pub baseline: Baseline,
    /// Sparse-data safety: no place is hot, warned about or given a level with fewer cases than this
    /// of its own, nor with fewer in the neighbourhood its statistic sums.
    pub min_cases: u64,
}

impl Default for RiskOptions {
    fn default() -> Self {
        RiskOptions {
            dispersion: Dispersion::Robust,
            residual: Residual::Quantile,
            baseline: Baseline::Population,
            min_cases: 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_parse_in_both_languages() {
        for m in Measure::ALL {
            assert_eq!(m.code().parse::<Measure>(), Ok(m));
        }
        assert_eq!("风险".parse::<Measure>(), Ok(Measure::Excess));
        assert_eq!("workload".parse::<Measure>(), Ok(Measure::Count));
        assert!("heat".parse::<Measure>().is_err());
        assert_eq!("0.05".parse::<Dispersion>(), Ok(Dispersion::Fixed(0.05)));
        assert!("-1".parse::<Dispersion>().is_err());
        assert_eq!(Measure::default(), Measure::Excess);
    }
}
