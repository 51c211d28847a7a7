//! Emerging hot-spot patterns: the 17 classes of ArcGIS Pro's *Emerging Hot Spot Analysis*
//! (新兴热点分析), from each location's series of Gi* results over time — pure functions.
//!
//! Input per location: one [`BinState`] per time step (a significant Gi* hot spot, a significant cold
//! spot, or neither) and the Mann–Kendall trend ([`crate::trend`]) of its Gi* z-score series.
//! With `n` time steps, "final" the last one, and ≥ 90 % meaning `count as f64 >= 0.9 * n as f64`
//! ([`PERSISTENCE_SHARE`]), the classes say, in ArcGIS's sense:
//!
//! | class | ArcGIS name | 中文 | meaning |
//! |---|---|---|---|
//! | `new_hot_spot` | New Hot Spot | 新增的热点 | hot at the final step and never hot before |
//! | `consecutive_hot_spot` | Consecutive Hot Spot | 连续的热点 | one unbroken run of ≥ 2 hot steps ending at the final step, never hot before that run, hot in < 90 % of steps |
//! | `intensifying_hot_spot` | Intensifying Hot Spot | 加强的热点 | hot in ≥ 90 % of steps including the final one, and the z-scores rise significantly |
//! | `persistent_hot_spot` | Persistent Hot Spot | 持续的热点 | hot in ≥ 90 % of steps including the final one, no significant trend in the z-scores |
//! | `diminishing_hot_spot` | Diminishing Hot Spot | 逐渐减少的热点 | hot in ≥ 90 % of steps including the final one, and the z-scores fall significantly |
//! | `sporadic_hot_spot` | Sporadic Hot Spot | 分散的热点 | hot at the final step, on and off before, in < 90 % of steps, never cold |
//! | `oscillating_hot_spot` | Oscillating Hot Spot | 振荡的热点 | hot at the final step, cold at some earlier step, hot in < 90 % of steps |
//! | `historical_hot_spot` | Historical Hot Spot | 历史的热点 | not significant at the final step, but hot in ≥ 90 % of steps |
//! | `new_cold_spot` … `historical_cold_spot` | … Cold Spot | …的冷点 | the mirror images (cold for hot) |
//! | `no_pattern` | No Pattern Detected | 未检测到任何模式 | none of the above |
//!
//! For cold spots "intensifying" means getting colder: a significant *decreasing* z trend; a
//! *diminishing* cold spot has a significant *increasing* trend.
//!
//! The rules, applied in this fixed order ([`classify`]); `h` and `c` count the hot and cold steps:
//!
//! 1. Empty series → no pattern.
//! 2. Final step hot:
//!    1. no hot step before the final one → new hot spot;
//!    2. `h ≥ 0.9 n` → intensifying (trend increasing), diminishing (decreasing), else persistent;
//!    3. the final run of consecutive hot steps has length ≥ 2 and no hot step precedes it →
//!       consecutive hot spot;
//!    4. some earlier step is cold → oscillating hot spot;
//!    5. otherwise → sporadic hot spot.
//! 3. Final step cold: the mirror image (new; `c ≥ 0.9 n` → intensifying when decreasing,
//!    diminishing when increasing, else persistent; consecutive; oscillating when some earlier step
//!    is hot; sporadic).
//! 4. Final step not significant: `h ≥ 0.9 n` → historical hot spot; `c ≥ 0.9 n` → historical cold
//!    spot (both cannot hold); otherwise no pattern.
//!
//! The one decision that differs from a literal reading of ArcGIS's table: a location cold earlier
//! and hot for the last ≥ 2 steps (never hot before that run) matches both *consecutive* and
//! *oscillating* as ArcGIS words them; here consecutive is tested first, so it is a consecutive hot
//! spot (and likewise a consecutive cold spot in the mirror case). Where ArcGIS's own wording is
//! exclusive the order above reproduces it: "new" needs no history, the ≥ 90 % classes take
//! precedence over consecutive/oscillating/sporadic (which ArcGIS defines as "less than 90 %"), and
//! sporadic is what remains when the location was never significant on the other side.
//!
//! Reference: Esri, *How Emerging Hot Spot Analysis works* (ArcGIS Pro, Space Time Pattern Mining
//! toolbox), the table of pattern definitions.

use std::str::FromStr;

use rayon::prelude::*;
use serde::Serialize;

use crate::trend::{mann_kendall, MannKendall, Trend};

/// Share of time steps (hot or cold) that makes a location persistent, intensifying, diminishing or
/// historical.
pub const PERSISTENCE_SHARE: f64 = 0.9;

/// One of ArcGIS's 17 emerging hot-spot classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    /// Hot at the final step only.
    NewHotSpot,
    /// One final run of ≥ 2 hot steps, never hot before it, < 90 % hot.
    ConsecutiveHotSpot,
    /// ≥ 90 % hot including the final step, z-scores rising significantly.
    IntensifyingHotSpot,
    /// ≥ 90 % hot including the final step, no significant z trend.
    PersistentHotSpot,
    /// ≥ 90 % hot including the final step, z-scores falling significantly.
    DiminishingHotSpot,
    /// Hot at the final step, on and off before, < 90 % hot, never cold.
    SporadicHotSpot,
    /// Hot at the final step, cold at some earlier step, < 90 % hot.
    OscillatingHotSpot,
    /// Not significant at the final step, ≥ 90 % hot.
    HistoricalHotSpot,
    /// Cold at the final step only.
    NewColdSpot,
    /// One final run of ≥ 2 cold steps, never cold before it, < 90 % cold.
    ConsecutiveColdSpot,
    /// ≥ 90 % cold including the final step, z-scores falling significantly (getting colder).
    IntensifyingColdSpot,
    /// ≥ 90 % cold including the final step, no significant z trend.
    PersistentColdSpot,
    /// ≥ 90 % cold including the final step, z-scores rising significantly.
    DiminishingColdSpot,
    /// Cold at the final step, on and off before, < 90 % cold, never hot.
    SporadicColdSpot,
    /// Cold at the final step, hot at some earlier step, < 90 % cold.
    OscillatingColdSpot,
    /// Not significant at the final step, ≥ 90 % cold.
    HistoricalColdSpot,
    /// None of the above.
    NoPattern,
}

impl Pattern {
    /// Every class, hot ones first, in declaration order.
    pub const ALL: [Pattern; 17] = [
        Pattern::NewHotSpot,
        Pattern::ConsecutiveHotSpot,
        Pattern::IntensifyingHotSpot,
        Pattern::PersistentHotSpot,
        Pattern::DiminishingHotSpot,
        Pattern::SporadicHotSpot,
        Pattern::OscillatingHotSpot,
        Pattern::HistoricalHotSpot,
        Pattern::NewColdSpot,
        Pattern::ConsecutiveColdSpot,
        Pattern::IntensifyingColdSpot,
        Pattern::PersistentColdSpot,
        Pattern::DiminishingColdSpot,
        Pattern::SporadicColdSpot,
        Pattern::OscillatingColdSpot,
        Pattern::HistoricalColdSpot,
        Pattern::NoPattern,
    ];

    /// The stable code, as serialised: `new_hot_spot` … `no_pattern`.
    pub fn code(self) -> &'static str {
        match self {
            Pattern::NewHotSpot => "new_hot_spot",
            Pattern::ConsecutiveHotSpot => "consecutive_hot_spot",
            Pattern::IntensifyingHotSpot => "intensifying_hot_spot",
            Pattern::PersistentHotSpot => "persistent_hot_spot",
            Pattern::DiminishingHotSpot => "diminishing_hot_spot",
            Pattern::SporadicHotSpot => "sporadic_hot_spot",
            Pattern::OscillatingHotSpot => "oscillating_hot_spot",
            Pattern::HistoricalHotSpot => "historical_hot_spot",
            Pattern::NewColdSpot => "new_cold_spot",
            Pattern::ConsecutiveColdSpot => "consecutive_cold_spot",
            Pattern::IntensifyingColdSpot => "intensifying_cold_spot",
            Pattern::PersistentColdSpot => "persistent_cold_spot",
            Pattern::DiminishingColdSpot => "diminishing_cold_spot",
            Pattern::SporadicColdSpot => "sporadic_cold_spot",
            Pattern::OscillatingColdSpot => "oscillating_cold_spot",
            Pattern::HistoricalColdSpot => "historical_cold_spot",
            Pattern::NoPattern => "no_pattern",
        }
    }

    /// The name ArcGIS Pro gives the class (its `PATTERN` field).
    pub fn name_en(self) -> &'static str {
        match self {
            Pattern::NewHotSpot => "New Hot Spot",
            Pattern::ConsecutiveHotSpot => "Consecutive Hot Spot",
            Pattern::IntensifyingHotSpot => "Intensifying Hot Spot",
            Pattern::PersistentHotSpot => "Persistent Hot Spot",
            Pattern::DiminishingHotSpot => "Diminishing Hot Spot",
            Pattern::SporadicHotSpot => "Sporadic Hot Spot",
            Pattern::OscillatingHotSpot => "Oscillating Hot Spot",
            Pattern::HistoricalHotSpot => "Historical Hot Spot",
            Pattern::NewColdSpot => "New Cold Spot",
            Pattern::ConsecutiveColdSpot => "Consecutive Cold Spot",
            Pattern::IntensifyingColdSpot => "Intensifying Cold Spot",
            Pattern::PersistentColdSpot => "Persistent Cold Spot",
            Pattern::DiminishingColdSpot => "Diminishing Cold Spot",
            Pattern::SporadicColdSpot => "Sporadic Cold Spot",
            Pattern::OscillatingColdSpot => "Oscillating Cold Spot",
            Pattern::HistoricalColdSpot => "Historical Cold Spot",
            Pattern::NoPattern => "No Pattern Detected",
        }
    }

    /// The name the Chinese edition of ArcGIS Pro gives the class.
    pub fn name_zh(self) -> &'static str {
        match self {
            Pattern::NewHotSpot => "新增的热点",
            Pattern::ConsecutiveHotSpot => "连续的热点",
            Pattern::IntensifyingHotSpot => "加强的热点",
            Pattern::PersistentHotSpot => "持续的热点",
            Pattern::DiminishingHotSpot => "逐渐减少的热点",
            Pattern::SporadicHotSpot => "分散的热点",
            Pattern::OscillatingHotSpot => "振荡的热点",
            Pattern::HistoricalHotSpot => "历史的热点",
            Pattern::NewColdSpot => "新增的冷点",
            Pattern::ConsecutiveColdSpot => "连续的冷点",
            Pattern::IntensifyingColdSpot => "加强的冷点",
            Pattern::PersistentColdSpot => "持续的冷点",
            Pattern::DiminishingColdSpot => "逐渐减少的冷点",
            Pattern::SporadicColdSpot => "分散的冷点",
            Pattern::OscillatingColdSpot => "振荡的冷点",
            Pattern::HistoricalColdSpot => "历史的冷点",
            Pattern::NoPattern => "未检测到任何模式",
        }
    }

    /// Whether this is one of the eight hot-spot classes.
    pub fn is_hot(self) -> bool {
        self < Pattern::NewColdSpot
    }

    /// Whether this is one of the eight cold-spot classes.
    pub fn is_cold(self) -> bool {
        self >= Pattern::NewColdSpot && self != Pattern::NoPattern
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Pattern {
    type Err = String;

    /// Accepts the code or the ArcGIS English name (both case-insensitive) or the Chinese name.
    fn from_str(s: &str) -> Result<Pattern, String> {
        let t = s.trim();
        Pattern::ALL
            .into_iter()
            .find(|p| t.eq_ignore_ascii_case(p.code()) || t.eq_ignore_ascii_case(p.name_en()) || t == p.name_zh())
            .ok_or_else(|| {
                let codes: Vec<&str> = Pattern::ALL.iter().map(|p| p.code()).collect();
                format!(
                    "unknown emerging hot-spot pattern {s:?} (expected one of: {})",
                    codes.join(", ")
                )
            })
    }
}

/// One time step of one location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinState {
    /// Significant Gi* with z > 0.
    Hot,
    /// Significant Gi* with z < 0.
    Cold,
    /// Not significant.
    NotSignificant,
}

/// The classes of one side: hot spots seen from `Hot`, cold spots seen from `Cold`.
struct Side {
    this: BinState,
    new: Pattern,
    consecutive: Pattern,
    intensifying: Pattern,
    persistent: Pattern,
    diminishing: Pattern,
    sporadic: Pattern,
    oscillating: Pattern,
    /// The z trend that makes this side intensifying (the opposite one makes it diminishing).
    intensifying_trend: Trend,
}

const HOT: Side = Side {
    this: BinState::Hot,
    new: Pattern::NewHotSpot,
    consecutive: Pattern::ConsecutiveHotSpot,
    intensifying: Pattern::IntensifyingHotSpot,
    persistent: Pattern::PersistentHotSpot,
    diminishing: Pattern::DiminishingHotSpot,
    sporadic: Pattern::SporadicHotSpot,
    oscillating: Pattern::OscillatingHotSpot,
    intensifying_trend: Trend::Increasing,
};

const COLD: Side = Side {
    this: BinState::Cold,
    new: Pattern::NewColdSpot,
    consecutive: Pattern::ConsecutiveColdSpot,
    intensifying: Pattern::IntensifyingColdSpot,
    persistent: Pattern::PersistentColdSpot,
    diminishing: Pattern::DiminishingColdSpot,
    sporadic: Pattern::SporadicColdSpot,
    oscillating: Pattern::OscillatingColdSpot,
    intensifying_trend: Trend::Decreasing,
};

/// Whether `count` of `n` steps is at least [`PERSISTENCE_SHARE`] of them.
fn persistent(count: usize, n: usize) -> bool {
    count as f64 >= PERSISTENCE_SHARE * n as f64
}

/// The emerging hot-spot class of one location from its per-step states (time order) and the
/// Mann–Kendall trend of its Gi* z-scores, by the rules in the module documentation.
pub fn classify(states: &[BinState], z_trend: Trend) -> Pattern {
    let Some(&last) = states.last() else {
        return Pattern::NoPattern;
    };
    let n = states.len();
    // One branch-free tally; every rule below is a comparison of these counts.
    let (mut hot, mut cold) = (0usize, 0usize);
    for &s in states {
        hot += usize::from(s == BinState::Hot);
        cold += usize::from(s == BinState::Cold);
    }
    let (side, this, other) = match last {
        BinState::Hot => (HOT, hot, cold),
        BinState::Cold => (COLD, cold, hot),
        BinState::NotSignificant => {
            return if persistent(hot, n) {
                Pattern::HistoricalHotSpot
            } else if persistent(cold, n) {
                Pattern::HistoricalColdSpot
            } else {
                Pattern::NoPattern
            };
        }
    };
    // The final step is one of `this`, so: none before it ⇔ it is the only one.
    if this == 1 {
        return side.new;
    }
    if persistent(this, n) {
        return if z_trend == side.intensifying_trend {
            side.intensifying
        } else if z_trend == Trend::NoTrend {
            side.persistent
        } else {
            side.diminishing
        };
    }
    // None before the final run ⇔ the run holds them all; every `other` step is an earlier one.
    let run = states.iter().rev().take_while(|&&s| s == side.this).count();
    if run >= 2 && run == this {
        side.consecutive
    } else if other > 0 {
        side.oscillating
    } else {
        side.sporadic
    }
}

/// Mann–Kendall on each location's z-series and classification, in parallel (rayon) over locations.
/// `z` and `states` are location-major: location i's series is `z[i*steps .. (i+1)*steps]`, its
/// states `states[i*steps .. (i+1)*steps]`. Panics when the lengths differ or are not a multiple of
/// `steps`; `steps == 0` (no time steps) gives no locations.
pub fn classify_all(z: &[f64], states: &[BinState], steps: usize) -> Vec<(MannKendall, Pattern)> {
    assert_eq!(z.len(), states.len(), "one state per z-score");
    if steps == 0 {
        assert!(z.is_empty(), "z-scores without time steps");
        return Vec::new();
    }
    assert_eq!(z.len() % steps, 0, "whole series of {steps} steps");
    z.par_chunks(steps)
        .zip(states.par_chunks(steps))
        .with_min_len(256)
        .map(|(z, states)| {
            let mk = mann_kendall(z);
            (mk, classify(states, mk.trend))
        })
        .collect()
}

/// As [`classify_all`], but a z trend counts only when its Mann–Kendall p-value passes
/// Benjamini–Hochberg at false discovery rate `q` over the locations whose class the trend decides
/// (final step hot — or cold — and hot — or cold — in ≥ 90 % of the steps): with hundreds of
/// persistent hot spots, 5 % of them would otherwise be called intensifying or diminishing by chance
/// (their z drifting with the seasons). The returned Mann–Kendall results keep their own
/// per-location trend; the pattern uses the corrected one.
pub fn classify_all_fdr(z: &[f64], states: &[BinState], steps: usize, q: f64) -> Vec<(MannKendall, Pattern)> {
    assert_eq!(z.len(), states.len(), "one state per z-score");
    if steps == 0 {
        assert!(z.is_empty(), "z-scores without time steps");
        return Vec::new();
    }
    assert_eq!(z.len() % steps, 0, "whole series of {steps} steps");
    let trends: Vec<MannKendall> = z.par_chunks(steps).with_min_len(256).map(mann_kendall).collect();
    let decides: Vec<usize> = states
        .chunks(steps)
        .enumerate()
        .filter(|(_, s)| trend_decides(s))
        .map(|(i, _)| i)
        .collect();
    let passed = crate::gistar::benjamini_hochberg(&decides.iter().map(|&i| trends[i].p).collect::<Vec<_>>(), q);
    let mut significant = vec![false; trends.len()];
    for (&i, passed) in decides.iter().zip(passed) {
        significant[i] = passed;
    }
    trends
        .into_par_iter()
        .zip(states.par_chunks(steps))
        .zip(significant)
        .with_min_len(256)
        .map(|((mk, states), significant)| {
            let trend = if significant { mk.trend } else { Trend::NoTrend };
            (mk, classify(states, trend))
        })
        .collect()
}

/// Whether the z trend decides the class of a location with these states: the final step is hot
/// (cold), it is not the only one, and ≥ 90 % of the steps are hot (cold).
pub fn trend_decides(states: &[BinState]) -> bool {
    let Some(&last) = states.last() else { return false };
    if last == BinState::NotSignificant {
        return false;
    }
    let same = states.iter().filter(|&&s| s == last).count();
    same > 1 && persistent(same, states.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `H` hot, `C` cold, `.` not significant; spaces are ignored.
    fn states(s: &str) -> Vec<BinState> {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| match c {
                'H' => BinState::Hot,
                'C' => BinState::Cold,
                '.' => BinState::NotSignificant,
                other => panic!("state {other:?}"),
            })
            .collect()
    }

    fn class(s: &str, trend: Trend) -> Pattern {
        classify(&states(s), trend)
    }

    use Trend::{Decreasing as Down, Increasing as Up, NoTrend as Flat};

    #[test]
    fn each_hot_class_from_a_hand_made_series() {
        assert_eq!(class(".... .... .H", Flat), Pattern::NewHotSpot);
        assert_eq!(
            class("CCCC CCCC CH", Up),
            Pattern::NewHotSpot,
            "new even after a cold history"
        );
        assert_eq!(class(".... ...H HH", Flat), Pattern::ConsecutiveHotSpot);
        assert_eq!(class("HHHH .HHH HH", Up), Pattern::IntensifyingHotSpot, "9 of 10 hot");
        assert_eq!(class("HHHH .HHH HH", Flat), Pattern::PersistentHotSpot);
        assert_eq!(class("HHHH .HHH HH", Down), Pattern::DiminishingHotSpot);
        assert_eq!(class(".H.. H... .H", Flat), Pattern::SporadicHotSpot);
        assert_eq!(
            class(".HH. .... HH", Flat),
            Pattern::SporadicHotSpot,
            "a run, but hot before it"
        );
        assert_eq!(class("..C. H... .H", Flat), Pattern::OscillatingHotSpot);
        assert_eq!(class("HHHH HHHH H.", Flat), Pattern::HistoricalHotSpot, "9 of 10 hot");
    }

    #[test]
    fn each_cold_class_from_a_hand_made_series() {
        assert_eq!(class(".... .... .C", Flat), Pattern::NewColdSpot);
        assert_eq!(class(".... ...C CC", Flat), Pattern::ConsecutiveColdSpot);
        assert_eq!(
            class("CCCC .CCC CC", Down),
            Pattern::IntensifyingColdSpot,
            "getting colder"
        );
        assert_eq!(class("CCCC .CCC CC", Flat), Pattern::PersistentColdSpot);
        assert_eq!(class("CCCC .CCC CC", Up), Pattern::DiminishingColdSpot);
        assert_eq!(class(".C.. C... .C", Flat), Pattern::SporadicColdSpot);
        assert_eq!(class("..H. C... .C", Flat), Pattern::OscillatingColdSpot);
        assert_eq!(class("CCCC CCCC C.", Flat), Pattern::HistoricalColdSpot);
        assert_eq!(class("..H. C... ..", Flat), Pattern::NoPattern);
        assert_eq!(class("", Up), Pattern::NoPattern);
        assert_eq!(
            class("..........", Up),
            Pattern::NoPattern,
            "a trend alone is no pattern"
        );
    }

    #[test]
    fn the_rule_order_at_its_boundaries() {
        // 8 of 10 hot is below 90 %: the trend no longer matters.
        assert_eq!(class("HH.H .HHH HH", Up), Pattern::SporadicHotSpot);
        assert_eq!(class("HH.C .HHH HH", Up), Pattern::OscillatingHotSpot);
        // Exactly 90 % counts (9 of 10), also for history: 18 of 20 hot, final not significant.
        assert_eq!(class("HHHHHHHHH. HHHHHHHHH.", Flat), Pattern::HistoricalHotSpot);
        assert_eq!(class("HHHHHHHH.. HHHHHHHHH.", Flat), Pattern::NoPattern, "17 of 20");
        // Consecutive before oscillating: cold earlier, hot for the last two steps.
        assert_eq!(class("CC.. .... HH", Flat), Pattern::ConsecutiveHotSpot);
        assert_eq!(class("HH.. .... CC", Flat), Pattern::ConsecutiveColdSpot);
        // A run of one after a cold history is oscillating, not consecutive.
        assert_eq!(class("CH.. .... .H", Flat), Pattern::OscillatingHotSpot);
        // Short series: everything hot is persistent once there was an earlier hot step.
        assert_eq!(class("H", Up), Pattern::NewHotSpot);
        assert_eq!(class("HH", Flat), Pattern::PersistentHotSpot);
        assert_eq!(class("HH", Down), Pattern::DiminishingHotSpot);
        assert_eq!(class(".HH", Flat), Pattern::ConsecutiveHotSpot, "2 of 3 < 90 %");
        // The trend of the other direction on the ≥ 90 % rule of each side.
        assert_eq!(class("CCCC CCCC CC", Up), Pattern::DiminishingColdSpot);
        assert_eq!(class("HHHH HHHH HH", Down), Pattern::DiminishingHotSpot);
    }

    #[test]
    fn every_class_is_reached_and_named() {
        let mut seen = std::collections::BTreeSet::new();
        for s in [
            "....H",
            "...HH",
            "HHHHH",
            "H..HH",
            "C..HH",
            "HHHHHHHHH.",
            "....C",
            "...CC",
            "CCCCC",
            "C..CC",
            "H.C.C",
            "CCCCCCCCC.",
            ".....",
            "HH.CH",
            "CC.HC",
        ] {
            for t in [Up, Down, Flat] {
                seen.insert(class(s, t));
            }
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), Pattern::ALL.to_vec());
        for p in Pattern::ALL {
            assert_eq!(p.code().parse::<Pattern>(), Ok(p));
            assert_eq!(p.name_en().to_uppercase().parse::<Pattern>(), Ok(p));
            assert_eq!(p.name_zh().parse::<Pattern>(), Ok(p));
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{}\"", p.code()));
            assert_eq!(p.is_hot(), p.code().contains("hot"), "{p:?}");
            assert_eq!(p.is_cold(), p.code().contains("cold"), "{p:?}");
        }
        let err = "warm spot".parse::<Pattern>().unwrap_err();
        assert!(
            err.contains("warm spot") && err.contains("oscillating_cold_spot"),
            "{err}"
        );
    }

    /// The rules read literally, step by step, as the module documentation states them.
    fn literal(states: &[BinState], trend: Trend) -> Pattern {
        let n = states.len();
        let Some((&last, earlier)) = states.split_last() else {
            return Pattern::NoPattern;
        };
        let count = |state: BinState| states.iter().filter(|&&s| s == state).count();
        let at_least_90 = |k: usize| k as f64 >= 0.9 * n as f64;
        let (this, other, intensifying, p) = match last {
            BinState::Hot => (BinState::Hot, BinState::Cold, Trend::Increasing, &Pattern::ALL[..8]),
            BinState::Cold => (BinState::Cold, BinState::Hot, Trend::Decreasing, &Pattern::ALL[8..16]),
            BinState::NotSignificant if at_least_90(count(BinState::Hot)) => return Pattern::HistoricalHotSpot,
            BinState::NotSignificant if at_least_90(count(BinState::Cold)) => return Pattern::HistoricalColdSpot,
            BinState::NotSignificant => return Pattern::NoPattern,
        };
        // p: new, consecutive, intensifying, persistent, diminishing, sporadic, oscillating, historical.
        if !earlier.contains(&this) {
            return p[0];
        }
        if at_least_90(count(this)) {
            return match trend {
                t if t == intensifying => p[2],
                Trend::NoTrend => p[3],
                _ => p[4],
            };
        }
        let mut start = n;
        while start > 0 && states[start - 1] == this {
            start -= 1;
        }
        if n - start >= 2 && !states[..start].contains(&this) {
            return p[1];
        }
        if earlier.contains(&other) {
            p[6]
        } else {
            p[5]
        }
    }

    #[test]
    fn classify_equals_the_literal_rules_on_every_short_series() {
        let all = [BinState::Hot, BinState::Cold, BinState::NotSignificant];
        let mut compared = 0;
        for n in 0..=10u32 {
            for code in 0..3usize.pow(n) {
                let series: Vec<BinState> = (0..n).map(|k| all[code / 3usize.pow(k) % 3]).collect();
                for trend in [Up, Down, Flat] {
                    assert_eq!(
                        classify(&series, trend),
                        literal(&series, trend),
                        "{series:?} {trend:?}"
                    );
                    compared += 1;
                }
            }
        }
        assert!(compared > 250_000);
    }

    #[test]
    fn classify_all_feeds_the_z_trend_into_the_class() {
        let steps = 20;
        // Location 0: hot throughout, z rising 2.5 → 4.4: intensifying.
        // Location 1: hot throughout, z falling 4.4 → 2.5: diminishing.
        // Location 2: hot throughout, z alternating: persistent.
        // Location 3: cold throughout, z falling −2.5 → −4.4: intensifying cold (getting colder).
        // Location 4: cold throughout, z rising towards −2.5: diminishing cold.
        // Location 5: not significant, z rising: no pattern, but the trend is reported.
        let mut z = Vec::new();
        let mut st = Vec::new();
        for loc in 0..6 {
            for t in 0..steps as u32 {
                let t = f64::from(t);
                let (value, state) = match loc {
                    0 => (2.5 + 0.1 * t, BinState::Hot),
                    1 => (4.4 - 0.1 * t, BinState::Hot),
                    2 => (3.0 + 0.5 * (t % 2.0), BinState::Hot),
                    3 => (-2.5 - 0.1 * t, BinState::Cold),
                    4 => (-4.4 + 0.1 * t, BinState::Cold),
                    _ => (-1.0 + 0.1 * t, BinState::NotSignificant),
                };
                z.push(value);
                st.push(state);
            }
        }
        let out = classify_all(&z, &st, steps);
        let classes: Vec<Pattern> = out.iter().map(|(_, p)| *p).collect();
        assert_eq!(
            classes,
            [
                Pattern::IntensifyingHotSpot,
                Pattern::DiminishingHotSpot,
                Pattern::PersistentHotSpot,
                Pattern::IntensifyingColdSpot,
                Pattern::DiminishingColdSpot,
                Pattern::NoPattern,
            ]
        );
        let trends: Vec<Trend> = out.iter().map(|(mk, _)| mk.trend).collect();
        assert_eq!(trends, [Up, Down, Flat, Down, Up, Up]);
        assert_eq!(out[0].0, mann_kendall(&z[..steps]));
        assert_eq!(out[0].0.s, 190.0, "strictly increasing: every pair up");
        assert!(classify_all(&[], &[], 0).is_empty());
        assert!(classify_all(&[], &[], 52).is_empty());
    }

    #[test]
    #[should_panic(expected = "whole series")]
    fn classify_all_rejects_a_partial_series() {
        classify_all(&[1.0; 5], &[BinState::Hot; 5], 2);
    }
}
