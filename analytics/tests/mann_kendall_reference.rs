//! Mann–Kendall against pymannkendall's `original_test` on the committed reference file made by
//! `scripts/reference/mann_kendall_pymk.py`; and, when Python with pymannkendall is at hand, against a
//! fresh run. Then the emerging hot-spot classes fed by the Mann–Kendall trend of z-score series.

use std::path::Path;

use fengqiao_analytics::pattern::{classify_all, BinState, Pattern};
use fengqiao_analytics::trend::{mann_kendall, Trend};

mod support;

#[derive(serde::Deserialize)]
struct Reference {
    series: Vec<Series>,
}

#[derive(serde::Deserialize)]
struct Series {
    kind: String,
    /// `null` for a missing value (NaN), which pymannkendall skips.
    x: Vec<Option<f64>>,
    s: f64,
    var_s: f64,
    z: f64,
    tau: f64,
    p: f64,
    /// "increasing", "decreasing" or "no trend".
    trend: String,
}

fn check(path: &Path) {
    let reference: Reference = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(reference.series.len() >= 150, "the reference holds ~200 series");
    let mut trends = [0usize; 3];
    for (i, expected) in reference.series.iter().enumerate() {
        let x: Vec<f64> = expected.x.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
        let r = mann_kendall(&x);
        let what = format!("series {i} ({}, n = {}): ours {r:?}", expected.kind, x.len());
        for (name, ours, theirs) in [
            ("s", r.s, expected.s),
            ("var_s", r.var_s, expected.var_s),
            ("z", r.z, expected.z),
            ("tau", r.tau, expected.tau),
            ("p", r.p, expected.p),
        ] {
            assert!(
                (ours - theirs).abs() <= 1e-9,
                "{what}: {name} {ours} vs pymannkendall {theirs}"
            );
        }
        let trend = match expected.trend.as_str() {
            "increasing" => Trend::Increasing,
            "decreasing" => Trend::Decreasing,
            "no trend" => Trend::NoTrend,
            other => panic!("{what}: pymannkendall trend {other:?}"),
        };
        assert_eq!(r.trend, trend, "{what}");
        trends[trend as usize] += 1;
    }
    assert!(
        trends.iter().all(|&k| k >= 10),
        "the reference covers all three outcomes: {trends:?}"
    );
}

#[test]
fn mann_kendall_equals_pymannkendall_on_the_committed_reference() {
    check(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mann_kendall_pymk.json"));
}

/// Regenerates the reference with the Python in `FENGQIAO_PYREF` (default: the venv that
/// `scripts/reference/mann_kendall_pymk.py` describes, else `python3`) and checks it too. Where no
/// Python with pymannkendall exists the committed file above is the check, and this says so.
#[test]
fn mann_kendall_equals_a_live_pymannkendall_run_when_python_has_it() {
    if let Some((_dir, live)) = support::run_reference_script("pymannkendall, numpy, scipy", "mann_kendall_pymk.py") {
        check(&live);
    }
}

/// Location-major z-scores and states for `locations` series of `steps` steps each, from
/// `f(location, step) -> z`; a step is hot/cold when |z| > 1.96 (p < 0.05).
fn cube(locations: usize, steps: usize, f: impl Fn(usize, usize) -> f64) -> (Vec<f64>, Vec<BinState>) {
    let z: Vec<f64> = (0..locations * steps).map(|k| f(k / steps, k % steps)).collect();
    let states = z
        .iter()
        .map(|&v| {
            if v > 1.96 {
                BinState::Hot
            } else if v < -1.96 {
                BinState::Cold
            } else {
                BinState::NotSignificant
            }
        })
        .collect();
    (z, states)
}

/// Small deterministic wiggle in [−0.3, 0.3], so the series are not perfectly monotone.
fn wiggle(location: usize, step: usize) -> f64 {
    let h = (location as u64 * 7919 + step as u64 * 104_729).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    (h % 601) as f64 / 1000.0 - 0.3
}

#[test]
fn weekly_z_series_with_built_in_trends_get_their_classes() {
    let steps = 52;
    let (z, states) = cube(8, steps, |loc, t| {
        let t = t as f64;
        let w = wiggle(loc, t as usize);
        match loc {
            // Hot all year and heating up: 2.6 → 5.1.
            0 => 2.6 + 0.05 * t + w,
            // Hot all year and cooling down: 5.1 → 2.6.
            1 => 5.1 - 0.05 * t + w,
            // Hot all year, level: persistent.
            2 => 3.5 + w,
            // Cold all year and getting colder.
            3 => -2.6 - 0.05 * t + w,
            // Cold all year and warming.
            4 => -5.1 + 0.05 * t + w,
            // Rising through the threshold: hot for the last weeks only (z > 1.96 from week ~45).
            5 => -0.5 + 0.055 * t + w * 0.1,
            // Hot for 50 weeks while cooling (4.6 → 2.6), quiet for the last two: historical.
            6 => {
                if t < 50.0 {
                    4.6 - 0.04 * t + w
                } else {
                    0.5
                }
            }
            // Noise: nothing.
            _ => w,
        }
    });
    let out = classify_all(&z, &states, steps);
    let got: Vec<(Trend, Pattern)> = out.iter().map(|(mk, p)| (mk.trend, *p)).collect();
    assert_eq!(
        got,
        [
            (Trend::Increasing, Pattern::IntensifyingHotSpot),
            (Trend::Decreasing, Pattern::DiminishingHotSpot),
            (Trend::NoTrend, Pattern::PersistentHotSpot),
            (Trend::Decreasing, Pattern::IntensifyingColdSpot),
            (Trend::Increasing, Pattern::DiminishingColdSpot),
            (Trend::Increasing, Pattern::ConsecutiveHotSpot),
            (Trend::Decreasing, Pattern::HistoricalHotSpot),
            (Trend::NoTrend, Pattern::NoPattern),
        ]
    );
    for (i, (mk, _)) in out.iter().enumerate() {
        assert_eq!(*mk, mann_kendall(&z[i * steps..(i + 1) * steps]), "location {i}");
    }
}

#[test]
fn the_same_states_change_class_with_the_z_trend() {
    // Identical states (hot all 26 weeks); only the z-series differs: the trend decides.
    let steps = 26;
    let (z, _) = cube(3, steps, |loc, t| {
        let t = t as f64;
        3.0 + [0.04 * t, -0.04 * t, 0.0][loc] + wiggle(loc, t as usize) * 0.5
    });
    let states = vec![BinState::Hot; z.len()];
    let classes: Vec<Pattern> = classify_all(&z, &states, steps).into_iter().map(|(_, p)| p).collect();
    assert_eq!(
        classes,
        [
            Pattern::IntensifyingHotSpot,
            Pattern::DiminishingHotSpot,
            Pattern::PersistentHotSpot
        ]
    );
}
