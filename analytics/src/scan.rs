//! Kulldorff's scan statistic, Poisson model, on H3 cells (or admin units): the spatial scan and the
//! prospective space-time scan — pure functions on plain data.
//!
//! **Windows.** Around every location, the sets made of it and its nearest neighbours: for cells the
//! k-rings k = 0, 1, … (H3's circles), for units the nearest unit points one by one; a window grows
//! until it holds more than [`ScanOptions::max_share`] of the expected cases (or reaches
//! `max_rings` rings / `max_units` units). The prospective space-time scan crosses each window with
//! every time interval that ends at the last step and lasts 1 … `max_steps` steps (cylinders), as
//! SaTScan's prospective analysis does.
//!
//! **Likelihood ratio.** With `N` cases in all, `c` observed and `e` expected inside a window (the
//! expected counts scaled so that they add up to `N`), a window with `c > e` scores
//!
//! ```text
//! LLR = c ln(c/e) + (N − c) ln((N − c)/(N − e))
//! ```
//!
//! (Kulldorff 1997; for cylinders Kulldorff 2001, with the space-time expected counts). With
//! over-dispersion α (a register more variable than Poisson) a window scores the smaller of that
//! LLR and the negative-binomial Wald statistic `(c − e)² / 2v`, `v = Σ_j (e_j + α e_j²)` over its
//! places: a town centre whose ordinary spread is wide cannot outscore a village's real excess by
//! its size alone (Zhang, Zhang and Lin (2012) divide the LLR by a dispersion for the same reason;
//! here the dispersion is the window's own). With α = 0 the Wald term is never the smaller (for
//! `c > e`, LLR ≤ (c − e)²/2e), so the score is Kulldorff's LLR. The most likely cluster is the
//! window with the largest score; further clusters are the next best windows
//! that share no location with a cluster already reported (SaTScan's "no geographical overlap").
//!
//! **Significance.** Monte Carlo: `replications` data sets drawn under the null — the `N` cases
//! spread multinomially in proportion to the expected counts, or, with over-dispersion α > 0,
//! in proportion to expected counts times independent gamma relative risks of mean 1 and variance
//! α (a Poisson–gamma null: a register more variable than Poisson does not make ordinary
//! variation look like clusters). The p-value of a window is `(1 + #replications whose largest LLR
//! ≥ its LLR) / (1 + replications)`; replications run in parallel, each from its own seeded
//! stream, so the result does not depend on the number of threads. For the prospective scan the
//! recurrence interval is SaTScan's: `step / p` — with one analysis per step, a cluster this
//! strong would arise by chance once in that long.
//!
//! References: T. Zhang, Z. Zhang and G. Lin, "Spatial scan statistics with overdispersion",
//! *Statistics in Medicine* 31(8), 2012; M. Kulldorff, "A spatial scan statistic", *Communications in Statistics — Theory
//! and Methods* 26(6), 1997; M. Kulldorff, "Prospective time periodic geographical disease
//! surveillance using a scan statistic", *JRSS A* 164(1), 2001; M. Kulldorff, *SaTScan User Guide*
//! (v10), "Recurrence interval".

use h3o::CellIndex;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution, Gamma};
use rayon::prelude::*;
use serde::Serialize;

/// The choices of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScanOptions {
    /// Largest share of all expected cases a window may hold.
    pub max_share: f64,
    /// Largest k-ring of a cell window.
    pub max_rings: u32,
    /// Largest number of units of a unit window.
    pub max_units: usize,
    /// Longest time interval of a cylinder (prospective scan), in steps.
    pub max_steps: usize,
    /// Monte Carlo replications (SaTScan's default is 999).
    pub replications: u32,
    pub seed: u64,
    /// Over-dispersion α of the null (0: Poisson).
    pub dispersion: f64,
    /// Clusters reported: at most this many …
    pub max_clusters: usize,
    /// … with a p-value at most this.
    pub max_p: f64,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            max_share: 0.05,
            max_rings: 8,
            max_units: 30,
            max_steps: 8,
            replications: 999,
            seed: 20_261_201,
            dispersion: 0.0,
            max_clusters: 50,
            max_p: 0.05,
        }
    }
}

/// Candidate windows: for each centre, its locations in order of distance and the prefix lengths
/// that are windows.
#[derive(Debug, Clone, PartialEq)]
pub struct Windows {
    order: Vec<u32>,
    order_offsets: Vec<usize>,
    /// Prefix lengths (windows) of each centre, increasing.
    cuts: Vec<u32>,
    cut_offsets: Vec<usize>,
}

impl Windows {
    /// k-ring windows of `cells` (sorted, the study area) up to `max_rings` rings and `max_share`
    /// of the expected cases.
    pub fn rings(cells: &[CellIndex], expected: &[f64], max_rings: u32, max_share: f64) -> Windows {
        let index: std::collections::HashMap<CellIndex, u32> =
            cells.iter().enumerate().map(|(i, &c)| (c, i as u32)).collect();
        let total: f64 = expected.iter().sum();
        let limit = max_share * total;
        let per_centre: Vec<(Vec<u32>, Vec<u32>)> = cells
            .par_iter()
            .map(|&centre| {
                let mut order = Vec::new();
                let mut cuts = Vec::new();
                let mut mass = 0.0;
                let mut by_ring: Vec<Vec<u32>> = vec![Vec::new(); max_rings as usize + 1];
                for (cell, d) in centre.grid_disk_distances::<Vec<_>>(max_rings) {
                    if let Some(&j) = index.get(&cell) {
                        by_ring[d as usize].push(j);
                    }
                }
                for mut ring in by_ring {
                    ring.sort_unstable();
                    let ring_mass: f64 = ring.iter().map(|&j| expected[j as usize]).sum();
                    if !order.is_empty() && mass + ring_mass > limit {
                        break;
                    }
                    mass += ring_mass;
                    order.extend(ring);
                    if cuts.last() != Some(&(order.len() as u32)) {
                        cuts.push(order.len() as u32);
                    }
                }
                (order, cuts)
            })
            .collect();
        Windows::from_lists(per_centre)
    }

    /// Nearest-unit windows of units at `points` (lng, lat): each unit and its nearest others, one
    /// at a time, up to `max_units` units and `max_share` of the expected cases.
    pub fn nearest(points: &[(f64, f64)], expected: &[f64], max_units: usize, max_share: f64) -> Windows {
        let total: f64 = expected.iter().sum();
        let limit = max_share * total;
        let per_centre: Vec<(Vec<u32>, Vec<u32>)> = (0..points.len())
            .into_par_iter()
            .map(|i| {
                let (x0, y0) = points[i];
                let shrink = y0.to_radians().cos();
                let mut others: Vec<(f64, u32)> = points
                    .iter()
                    .enumerate()
                    .map(|(j, &(x, y))| (((x - x0) * shrink).powi(2) + (y - y0).powi(2), j as u32))
                    .collect();
                others.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                // The centre itself first.
                if let Some(pos) = others.iter().position(|o| o.1 == i as u32) {
                    let me = others.remove(pos);
                    others.insert(0, me);
                }
                let (mut order, mut cuts, mut mass) = (Vec::new(), Vec::new(), 0.0);
                for (_, j) in others.into_iter().take(max_units.max(1)) {
                    let m = expected[j as usize];
                    if !order.is_empty() && mass + m > limit {
                        break;
                    }
                    mass += m;
                    order.push(j);
                    cuts.push(order.len() as u32);
                }
                (order, cuts)
            })
            .collect();
        Windows::from_lists(per_centre)
    }

    fn from_lists(per_centre: Vec<(Vec<u32>, Vec<u32>)>) -> Windows {
        let mut w = Windows {
            order: Vec::new(),
            order_offsets: vec![0],
            cuts: Vec::new(),
            cut_offsets: vec![0],
        };
        for (order, cuts) in per_centre {
            w.order.extend(order);
            w.order_offsets.push(w.order.len());
            w.cuts.extend(cuts);
            w.cut_offsets.push(w.cuts.len());
        }
        w
    }

    /// Number of centres.
    pub fn centres(&self) -> usize {
        self.order_offsets.len() - 1
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.cuts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cuts.is_empty()
    }

    /// The locations of centre `c`'s window of `size` locations.
    pub fn members(&self, centre: usize, size: u32) -> &[u32] {
        let start = self.order_offsets[centre];
        &self.order[start..start + size as usize]
    }

    /// Location `j` and the locations it touches: its own first window beyond itself (its k-ring
    /// of 1, or itself and its nearest unit), or itself alone when it has none.
    pub fn touching(&self, j: usize) -> &[u32] {
        let (order, cuts) = self.lists(j);
        let size = cuts.get(1).or(cuts.first()).copied().unwrap_or(0) as usize;
        &order[..size.min(order.len())]
    }

    /// Centre `c`'s locations in order and its window sizes.
    fn lists(&self, centre: usize) -> (&[u32], &[u32]) {
        (
            &self.order[self.order_offsets[centre]..self.order_offsets[centre + 1]],
            &self.cuts[self.cut_offsets[centre]..self.cut_offsets[centre + 1]],
        )
    }
}

/// The scan's score of a window with `c` cases, `e` expected and `e2 = Σ e_j²` over its places:
/// [`poisson_llr`], or the negative-binomial Wald statistic `(c − e)² / 2(e + α e2)` when smaller.
pub fn window_llr(c: f64, e: f64, e2: f64, n: f64, alpha: f64) -> f64 {
    let llr = poisson_llr(c, e, n);
    if alpha <= 0.0 || llr == 0.0 {
        return llr;
    }
    llr.min((c - e).powi(2) / (2.0 * (e + alpha * e2)))
}

/// Kulldorff's Poisson log-likelihood ratio of a window with `c` of `n` cases and `e` of them
/// expected (0 unless the window has more cases than expected).
pub fn poisson_llr(c: f64, e: f64, n: f64) -> f64 {
    if c <= e || e <= 0.0 || n <= 0.0 {
        return 0.0;
    }
    let inside = c * (c / e).ln();
    let outside = if n - c > 0.0 {
        (n - c) * ((n - c) / (n - e)).ln()
    } else {
        0.0
    };
    inside + outside
}

/// One window scored on the data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub centre: usize,
    /// Locations in the window.
    pub size: u32,
    /// Steps of the cylinder (1 for the purely spatial scan).
    pub steps: usize,
    pub observed: f64,
    pub expected: f64,
    pub llr: f64,
}

/// A reported cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanCluster {
    pub rank: usize,
    /// Index of the centre location.
    pub centre: usize,
    /// Indices of the window's locations, nearest first.
    pub locations: Vec<u32>,
    /// Steps of the cylinder, ending at the last one (1 for the spatial scan).
    pub steps: usize,
    pub observed: u64,
    pub expected: f64,
    /// Relative risk inside against outside: `(c/e) / ((N − c)/(N − e))`.
    pub relative_risk: f64,
    /// The window's score: Kulldorff's LLR (or, under over-dispersion, the negative-binomial Wald
    /// statistic when smaller).
    pub llr: f64,
    pub p: f64,
}

/// Data of a scan: counts and expected counts per location and step (location-major, `steps` per
/// location; 1 step for the spatial scan).
#[derive(Debug, Clone, Copy)]
pub struct ScanData<'a> {
    pub observed: &'a [u64],
    pub expected: &'a [f64],
    pub steps: usize,
}

/// The result: the clusters and the Monte Carlo distribution's size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanResult {
    pub total_cases: u64,
    pub windows: usize,
    pub replications: u32,
    /// The largest LLR of each replication, sorted (the null distribution).
    #[serde(skip)]
    pub null_max: Vec<f64>,
    pub clusters: Vec<ScanCluster>,
}

/// Runs the scan: the purely spatial one when `data.steps` is 1, else the prospective space-time
/// scan over cylinders ending at the last step.
pub fn scan(windows: &Windows, data: ScanData<'_>, opts: &ScanOptions) -> ScanResult {
    let locations = windows.centres();
    let steps = data.steps.max(1);
    assert_eq!(
        data.observed.len(),
        locations * steps,
        "one count per location and step"
    );
    assert_eq!(
        data.expected.len(),
        locations * steps,
        "one expectation per location and step"
    );
    let total: u64 = data.observed.iter().sum();
    let durations = opts.max_steps.clamp(1, steps);
    let expected = scaled(data.expected, total as f64);
    let observed: Vec<f64> = data.observed.iter().map(|&n| n as f64).collect();
    let scored = score_all(
        windows,
        &observed,
        &expected,
        steps,
        durations,
        total as f64,
        opts.dispersion,
    );

    let null_max = null_maxima(windows, &expected, steps, durations, total, opts);
    let p_of = |llr: f64| {
        let at_least = null_max.len() - null_max.partition_point(|&m| m < llr);
        (1 + at_least) as f64 / (1 + null_max.len()) as f64
    };
    let clusters = non_overlapping(windows, scored, locations, usize::MAX)
        .into_iter()
        .map(|s| (s, p_of(s.llr)))
        .take_while(|&(_, p)| p <= opts.max_p)
        .enumerate()
        .map(|(rank, (s, p))| cluster_of(windows, rank, &s, p, total as f64))
        .collect();
    let mut clusters = merge_touching(windows, clusters, total as f64);
    clusters.truncate(opts.max_clusters);
    ScanResult {
        total_cases: total,
        windows: windows.len() * durations,
        replications: opts.replications,
        null_max,
        clusters,
    }
}

/// The largest log-likelihood ratio of each replication under the null, sorted: Monte Carlo
/// replications in parallel, each from its own seeded stream.
fn null_maxima(
    windows: &Windows,
    expected: &[f64],
    steps: usize,
    durations: usize,
    total: u64,
    opts: &ScanOptions,
) -> Vec<f64> {
    let mut m: Vec<f64> = (0..opts.replications)
        .into_par_iter()
        .map(|r| {
            let mut rng = ChaCha8Rng::seed_from_u64(opts.seed ^ (u64::from(r) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let sample = null_sample(expected, steps, durations, total, opts.dispersion, &mut rng);
            best_llr(
                windows,
                &sample,
                expected,
                steps,
                durations,
                total as f64,
                opts.dispersion,
            )
        })
        .collect();
    m.sort_by(f64::total_cmp);
    m
}

/// A significant window as a cluster, with its relative risk inside against outside.
fn cluster_of(windows: &Windows, rank: usize, s: &Scored, p: f64, n: f64) -> ScanCluster {
    let outside = if n - s.expected > 0.0 {
        (n - s.observed) / (n - s.expected)
    } else {
        0.0
    };
    ScanCluster {
        rank: rank + 1,
        centre: s.centre,
        locations: windows.members(s.centre, s.size).to_vec(),
        steps: s.steps,
        observed: s.observed.round() as u64,
        expected: s.expected,
        relative_risk: if outside > 0.0 {
            (s.observed / s.expected) / outside
        } else {
            f64::INFINITY
        },
        llr: s.llr,
        p,
    }
}

/// Expected counts scaled to add up to `total`; places expected to have none get the smallest
/// positive expectation (so that a case there is unlikely under the null, not impossible).
fn scaled(expected: &[f64], total: f64) -> Vec<f64> {
    let floor = crate::risk::expected_floor(expected);
    let lifted: Vec<f64> = expected.iter().map(|&e| if e > 0.0 { e } else { floor }).collect();
    let sum: f64 = lifted.iter().sum();
    let k = if sum > 0.0 { total / sum } else { 0.0 };
    lifted.into_iter().map(|e| e * k).collect()
}

/// Sums of each location's last `d` steps, d = 1 ..= durations: `[location][d − 1]`.
fn recent_sums(values: &[f64], steps: usize, durations: usize) -> Vec<f64> {
    let locations = values.len() / steps;
    let mut out = vec![0.0; locations * durations];
    for i in 0..locations {
        let mut sum = 0.0;
        for d in 1..=durations {
            sum += values[i * steps + steps - d];
            out[i * durations + d - 1] = sum;
        }
    }
    out
}

/// Every window × duration with its score (those with more cases than expected).
fn score_all(
    windows: &Windows,
    observed: &[f64],
    expected: &[f64],
    steps: usize,
    durations: usize,
    n: f64,
    alpha: f64,
) -> Vec<Scored> {
    let (obs, exp) = (
        recent_sums(observed, steps, durations),
        recent_sums(expected, steps, durations),
    );
    (0..windows.centres())
        .into_par_iter()
        .flat_map_iter(|centre| {
            let mut out = Vec::new();
            let mut sums = WindowSums::new(durations);
            let (order, cuts) = windows.lists(centre);
            let mut at = 0usize;
            for &cut in cuts {
                while at < cut as usize {
                    sums.add(order[at] as usize, &obs, &exp);
                    at += 1;
                }
                for d in 0..durations {
                    let llr = window_llr(sums.c[d], sums.e[d], sums.e2[d], n, alpha);
                    if llr > 0.0 {
                        out.push(Scored {
                            centre,
                            size: cut,
                            steps: d + 1,
                            observed: sums.c[d],
                            expected: sums.e[d],
                            llr,
                        });
                    }
                }
            }
            out
        })
        .collect()
}

/// Running sums of a growing window, per duration: cases, expected cases, and expected cases
/// squared by place (for the negative-binomial variance).
struct WindowSums {
    c: Vec<f64>,
    e: Vec<f64>,
    e2: Vec<f64>,
}

impl WindowSums {
    fn new(durations: usize) -> WindowSums {
        WindowSums {
            c: vec![0.0; durations],
            e: vec![0.0; durations],
            e2: vec![0.0; durations],
        }
    }

    fn clear(&mut self) {
        for v in [&mut self.c, &mut self.e, &mut self.e2] {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
    }

    /// Adds place `j` (its sums over the last 1 … durations steps).
    fn add(&mut self, j: usize, obs: &[f64], exp: &[f64]) {
        let durations = self.c.len();
        for d in 0..durations {
            let e = exp[j * durations + d];
            self.c[d] += obs[j * durations + d];
            self.e[d] += e;
            self.e2[d] += e * e;
        }
    }
}

/// The largest score over all windows × durations.
fn best_llr(
    windows: &Windows,
    observed: &[f64],
    expected: &[f64],
    steps: usize,
    durations: usize,
    n: f64,
    alpha: f64,
) -> f64 {
    let (obs, exp) = (
        recent_sums(observed, steps, durations),
        recent_sums(expected, steps, durations),
    );
    let mut best = 0.0f64;
    let mut sums = WindowSums::new(durations);
    for centre in 0..windows.centres() {
        let (order, cuts) = windows.lists(centre);
        sums.clear();
        let mut at = 0usize;
        for &cut in cuts {
            while at < cut as usize {
                sums.add(order[at] as usize, &obs, &exp);
                at += 1;
            }
            for d in 0..durations {
                if sums.c[d] > sums.e[d] {
                    best = best.max(window_llr(sums.c[d], sums.e[d], sums.e2[d], n, alpha));
                }
            }
        }
    }
    best
}

/// A data set under the null: `total` cases spread multinomially over all bins in proportion to
/// the expected counts (times gamma relative risks per location when `alpha` > 0). Only the last
/// `durations` steps are drawn one by one; the earlier steps are one bin, as the scan sums them
/// nowhere.
fn null_sample(
    expected: &[f64],
    steps: usize,
    durations: usize,
    total: u64,
    alpha: f64,
    rng: &mut ChaCha8Rng,
) -> Vec<f64> {
    let locations = expected.len() / steps;
    let risk: Vec<f64> = if alpha > 0.0 {
        let gamma = Gamma::new(1.0 / alpha, alpha).expect("α > 0");
        (0..locations).map(|_| gamma.sample(rng)).collect()
    } else {
        vec![1.0; locations]
    };
    let mut out = vec![0.0; expected.len()];
    let mass_of = |i: usize, t: usize| expected[i * steps + t] * risk[i];
    let mut remaining_mass: f64 = (0..locations)
        .map(|i| (0..steps).map(|t| mass_of(i, t)).sum::<f64>())
        .sum();
    let mut remaining = total;
    for i in 0..locations {
        for t in steps - durations..steps {
            if remaining == 0 || remaining_mass <= 0.0 {
                return out;
            }
            let m = mass_of(i, t);
            let p = (m / remaining_mass).clamp(0.0, 1.0);
            let k = if p >= 1.0 {
                remaining
            } else if p > 0.0 {
                Binomial::new(remaining, p).map_or(0, |b| b.sample(rng))
            } else {
                0
            };
            out[i * steps + t] = k as f64;
            remaining -= k;
            remaining_mass -= m;
        }
    }
    out
}

/// The best window, then the best that shares no location with any reported, and so on.
fn non_overlapping(windows: &Windows, mut scored: Vec<Scored>, locations: usize, max: usize) -> Vec<Scored> {
    scored.sort_by(|a, b| {
        b.llr
            .total_cmp(&a.llr)
            .then(a.centre.cmp(&b.centre))
            .then(a.size.cmp(&b.size))
            .then(a.steps.cmp(&b.steps))
    });
    let mut taken = vec![false; locations];
    let mut out = Vec::new();
    for s in scored {
        if out.len() >= max {
            break;
        }
        let members = windows.members(s.centre, s.size);
        if members.iter().any(|&j| taken[j as usize]) {
            continue;
        }
        for &j in members {
            taken[j as usize] = true;
        }
        out.push(s);
    }
    out
}

/// Significant windows that touch (one holds a location the other's touches), merged: the best
/// window's centre, score, p and steps; the union of the locations (the best window's first) and
/// the sums of the cases and expected cases. In order of the best windows.
fn merge_touching(windows: &Windows, clusters: Vec<ScanCluster>, n: f64) -> Vec<ScanCluster> {
    let mut group: Vec<usize> = (0..clusters.len()).collect();
    fn root(group: &mut [usize], mut i: usize) -> usize {
        while group[i] != i {
            group[i] = group[group[i]];
            i = group[i];
        }
        i
    }
    let mut owner: std::collections::HashMap<u32, usize> = Default::default();
    for (i, c) in clusters.iter().enumerate() {
        for &j in &c.locations {
            owner.insert(j, i);
        }
    }
    for (i, c) in clusters.iter().enumerate() {
        for &j in &c.locations {
            for k in windows.touching(j as usize) {
                if let Some(&other) = owner.get(k) {
                    let (a, b) = (root(&mut group, i), root(&mut group, other));
                    if a != b {
                        group[a.max(b)] = a.min(b);
                    }
                }
            }
        }
    }
    let mut merged: Vec<ScanCluster> = Vec::new();
    let mut slot: std::collections::HashMap<usize, usize> = Default::default();
    for (i, c) in clusters.into_iter().enumerate() {
        let r = root(&mut group, i);
        match slot.get(&r) {
            Some(&m) => {
                let into = &mut merged[m];
                into.locations.extend(c.locations);
                into.observed += c.observed;
                into.expected += c.expected;
            }
            None => {
                slot.insert(r, merged.len());
                merged.push(c);
            }
        }
    }
    for (rank, c) in merged.iter_mut().enumerate() {
        c.rank = rank + 1;
        let outside = if n - c.expected > 0.0 {
            (n - c.observed as f64) / (n - c.expected)
        } else {
            0.0
        };
        c.relative_risk = if outside > 0.0 {
            (c.observed as f64 / c.expected) / outside
        } else {
            f64::INFINITY
        };
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use h3o::{LatLng, Resolution};

    fn patch(k: u32) -> Vec<CellIndex> {
        let centre = LatLng::new(25.77, 113.015).unwrap().to_cell(Resolution::Eight);
        let mut cells = centre.grid_disk::<Vec<_>>(k);
        cells.sort_unstable();
        cells
    }

    /// The definition, window by window: every centre, every ring, the sums taken directly.
    fn brute_force_best(
        cells: &[CellIndex],
        observed: &[u64],
        expected: &[f64],
        rings: u32,
        share: f64,
    ) -> (f64, usize, u32) {
        let n: f64 = observed.iter().map(|&c| c as f64).sum();
        let e_total: f64 = expected.iter().sum();
        let mut best = (0.0, 0, 0);
        for (ci, centre) in cells.iter().enumerate() {
            let mut last_size = 0;
            for k in 0..=rings {
                let members: Vec<usize> = (0..cells.len())
                    .filter(|&j| centre.grid_distance(cells[j]).is_ok_and(|d| d as u32 <= k))
                    .collect();
                let e: f64 = members.iter().map(|&j| expected[j]).sum::<f64>() * n / e_total;
                if k > 0 && e > share * n {
                    break;
                }
                if members.len() == last_size {
                    continue;
                }
                last_size = members.len();
                let c: f64 = members.iter().map(|&j| observed[j] as f64).sum();
                let llr = poisson_llr(c, e, n);
                if llr > best.0 {
                    best = (llr, ci, members.len() as u32);
                }
            }
        }
        best
    }

    #[test]
    fn the_best_window_is_the_brute_force_best() {
        let cells = patch(6);
        let expected: Vec<f64> = (0..cells.len()).map(|i| 1.0 + (i % 5) as f64).collect();
        for seed in 0..5u64 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut observed: Vec<u64> = expected
                .iter()
                .map(|&e| rand_distr::Poisson::new(e).unwrap().sample(&mut rng) as u64)
                .collect();
            // A planted excess around one cell.
            let hot = cells[(seed as usize * 17) % cells.len()];
            for (j, c) in cells.iter().enumerate() {
                if hot.grid_distance(*c).is_ok_and(|d| d <= 1) {
                    observed[j] += 6;
                }
            }
            let windows = Windows::rings(&cells, &expected, 4, 0.3);
            let data = ScanData {
                observed: &observed,
                expected: &expected,
                steps: 1,
            };
            let opts = ScanOptions {
                max_share: 0.3,
                max_rings: 4,
                replications: 19,
                max_p: 1.0,
                ..ScanOptions::default()
            };
            let result = scan(&windows, data, &opts);
            let (llr, centre, size) = brute_force_best(&cells, &observed, &expected, 4, 0.3);
            let top = &result.clusters[0];
            assert!(
                (top.llr - llr).abs() < 1e-9 * llr.max(1.0),
                "seed {seed}: {} vs {llr}",
                top.llr
            );
            assert_eq!(top.centre, centre, "seed {seed}");
            assert_eq!(
                &top.locations[..size as usize],
                windows.members(centre, size),
                "seed {seed}"
            );
            // Reported clusters never share a location, nor touch.
            for (i, a) in result.clusters.iter().enumerate() {
                for b in &result.clusters[i + 1..] {
                    assert!(a
                        .locations
                        .iter()
                        .all(|&j| windows.touching(j as usize).iter().all(|k| !b.locations.contains(k))));
                }
            }
        }
    }

    #[test]
    fn p_values_are_calibrated_under_the_null_and_small_for_a_cluster() {
        let cells = patch(5);
        let expected: Vec<f64> = (0..cells.len()).map(|i| 2.0 + (i % 3) as f64).collect();
        let windows = Windows::rings(&cells, &expected, 3, 0.2);
        let opts = ScanOptions {
            max_share: 0.2,
            max_rings: 3,
            replications: 99,
            max_p: 1.0,
            max_clusters: 1,
            ..ScanOptions::default()
        };
        let mut small = 0;
        let trials = 60;
        for seed in 0..trials {
            let mut rng = ChaCha8Rng::seed_from_u64(1_000 + seed);
            let observed: Vec<u64> = expected
                .iter()
                .map(|&e| rand_distr::Poisson::new(e).unwrap().sample(&mut rng) as u64)
                .collect();
            let data = ScanData {
                observed: &observed,
                expected: &expected,
                steps: 1,
            };
            let r = scan(&windows, data, &ScanOptions { seed, ..opts });
            if r.clusters.first().is_some_and(|c| c.p <= 0.1) {
                small += 1;
            }
        }
        // About 10 % of null data sets reach p ≤ 0.1 (binomial 60 × 0.1: at most 14 in 99.9 %).
        assert!(small <= 14, "{small} of {trials}");
        let mut observed: Vec<u64> = expected.iter().map(|&e| e as u64).collect();
        observed[10] += 25;
        let data = ScanData {
            observed: &observed,
            expected: &expected,
            steps: 1,
        };
        let r = scan(&windows, data, &opts);
        assert_eq!(r.clusters[0].p, 0.01, "{:?}", r.clusters[0]);
        assert!(r.clusters[0].locations.contains(&10));
    }

    #[test]
    fn the_prospective_scan_finds_a_recent_excess_and_ignores_an_old_one() {
        let cells = patch(5);
        let steps = 12;
        let expected: Vec<f64> = (0..cells.len() * steps).map(|_| 1.0).collect();
        let mut observed: Vec<u64> = vec![1; cells.len() * steps];
        // An old burst at location 3 (steps 0–2) and a recent one at location 40 (last 2 steps).
        for t in 0..3 {
            observed[3 * steps + t] += 15;
        }
        for t in steps - 2..steps {
            observed[40 * steps + t] += 12;
        }
        let totals: Vec<f64> = (0..cells.len())
            .map(|i| expected[i * steps..(i + 1) * steps].iter().sum())
            .collect();
        let windows = Windows::rings(&cells, &totals, 2, 0.1);
        let data = ScanData {
            observed: &observed,
            expected: &expected,
            steps,
        };
        let opts = ScanOptions {
            max_share: 0.1,
            max_rings: 2,
            max_steps: 4,
            replications: 99,
            ..ScanOptions::default()
        };
        let r = scan(&windows, data, &opts);
        let top = &r.clusters[0];
        assert!(top.locations.contains(&40) && top.steps <= 2, "{top:?}");
        assert!(r.clusters.iter().all(|c| !c.locations.contains(&3) || c.p > 0.05));
    }

    #[test]
    fn unit_windows_grow_by_nearest_points() {
        let points = [(0.0, 0.0), (0.001, 0.0), (0.01, 0.0), (0.1, 0.0)];
        let w = Windows::nearest(&points, &[1.0; 4], 3, 1.0);
        assert_eq!(w.members(0, 3), &[0, 1, 2]);
        assert_eq!(w.members(3, 2), &[3, 2]);
        assert_eq!(w.len(), 12);
        assert_eq!(poisson_llr(5.0, 5.0, 100.0), 0.0);
        assert!(poisson_llr(20.0, 5.0, 100.0) > 10.0);
        // Without dispersion the score is the LLR; with it, a big ordinary window scores little.
        assert_eq!(window_llr(20.0, 5.0, 25.0, 100.0, 0.0), poisson_llr(20.0, 5.0, 100.0));
        assert!(window_llr(1_300.0, 1_000.0, 1e6, 1e5, 0.04) < 2.0);
        assert!(window_llr(1_300.0, 1_000.0, 1e6, 1e5, 0.0) > 30.0);
    }
}

/// What to scan: the filter and resolution of a heat map, or the cube of the prospective scan.
#[derive(Debug, Clone)]
pub struct ScanRequest {
    pub res: h3o::Resolution,
    pub filter: crate::filter::Filter,
    /// `Some((step, steps))`: the prospective space-time scan over that many steps ending on the
    /// filter's last day (else the last day with cases); `None`: the purely spatial scan of the
    /// filter's period.
    pub prospective: Option<(crate::cube::Step, usize)>,
    pub options: ScanOptions,
    pub risk: crate::measure::RiskOptions,
}

/// A cluster, named for people.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedCluster {
    #[serde(flatten)]
    pub cluster: ScanCluster,
    /// The window's cells (H3 strings), nearest the centre first.
    pub cells: Vec<String>,
    pub centre_cell: String,
    /// The villages the cells belong to (nearest village of each cell), most cells first.
    pub villages: Vec<crate::hotspot::Place>,
    /// First and last day of the cluster's time interval.
    pub start: chrono::NaiveDate,
    pub end: chrono::NaiveDate,
    /// SaTScan's recurrence interval of the prospective scan, in days: a cluster this strong would
    /// arise by chance once in this long with one analysis per step.
    pub recurrence_days: Option<f64>,
}

/// The scan's result with its clusters named.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanReport {
    pub res: u8,
    pub prospective: bool,
    pub steps: usize,
    pub windows: usize,
    pub replications: u32,
    pub total_cases: u64,
    pub dispersion: f64,
    pub clusters: Vec<NamedCluster>,
}

/// Runs a scan on the store: cells of the study area at `request.res`, observed and expected counts
/// as the risk heat map has them (per step for the prospective scan), the null over-dispersed with
/// the map's dispersion unless the options fix it.
pub fn scan_store(
    conn: &duckdb::Connection,
    region: &fengqiao_ingest::Region,
    request: &ScanRequest,
) -> Result<ScanReport, crate::AnalyticsError> {
    use crate::cube::{cube, CubeOptions, Location, Space};
    use crate::measure::Measure;
    let (step, steps) = request.prospective.unwrap_or((crate::cube::Step::Week, 0));
    // The prospective scan needs whole steps; the spatial one sums the filter's period (one step of
    // the cube over the same last day would not honour `from`).
    let (cells, observed, expected, periods, step_count) = if request.prospective.is_some() {
        let c = cube(
            conn,
            region,
            &CubeOptions {
                space: Space::Cells(request.res),
                step,
                steps,
                last_day: request.filter.last_day(),
                filter: request.filter.clone(),
                measure: Measure::Excess,
            },
        )?;
        let cells: Vec<CellIndex> = c
            .locations
            .iter()
            .filter_map(|l| match l {
                Location::Cell(x) => Some(*x),
                Location::Unit(_) => None,
            })
            .collect();
        let expected = c.expected.clone().unwrap_or_default();
        let observed: Vec<u64> = c.counts.iter().map(|&n| u64::from(n)).collect();
        let periods: Vec<(chrono::NaiveDate, chrono::NaiveDate)> = c.periods.iter().map(|p| (p.start, p.end)).collect();
        let n = c.steps();
        (cells, observed, expected, periods, n)
    } else {
        let map = crate::hotspot::heatmap(
            conn,
            region,
            &crate::hotspot::HeatmapOptions {
                res: request.res,
                k: 0,
                kernel: false,
                filter: request.filter.clone(),
                weights: Default::default(),
                as_of: fengqiao_ingest::time::now_china(),
                rules: Default::default(),
                measure: Measure::Excess,
                risk: request.risk,
            },
        )?;
        let cells: Vec<CellIndex> = map.cells.iter().filter_map(|c| c.h3.parse().ok()).collect();
        let observed = map.cells.iter().map(|c| c.count.unwrap_or(0)).collect();
        let expected = map.cells.iter().map(|c| c.expected.unwrap_or(0.0)).collect();
        let first_case: Option<String> = {
            let (clause, params) = request.filter.where_clause(region)?;
            conn.query_row(
                &format!("SELECT CAST(CAST(min(reported_at) AS DATE) AS VARCHAR) FROM cases WHERE {clause}"),
                duckdb::params_from_iter(params.iter()),
                |r| r.get(0),
            )
            .map_err(|source| crate::AnalyticsError::Query {
                what: "the first day with cases",
                source,
            })?
        };
        let first_case = first_case.and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
        let last = crate::cube::last_case_day(conn, region, &request.filter)?.unwrap_or_default();
        let first = request.filter.from.map(|f| f.date()).or(first_case).unwrap_or(last);
        (cells, observed, expected, vec![(first, last)], 1)
    };
    let totals: Vec<f64> = (0..cells.len())
        .map(|i| expected[i * step_count..(i + 1) * step_count].iter().sum())
        .collect();
    let observed_totals: Vec<u64> = (0..cells.len())
        .map(|i| observed[i * step_count..(i + 1) * step_count].iter().sum())
        .collect();
    let dispersion = if request.options.dispersion > 0.0 {
        request.options.dispersion
    } else {
        crate::hotspot::scale_and_dispersion(request.risk.dispersion, &observed_totals, &totals, &totals).1
    };
    let windows = Windows::rings(&cells, &totals, request.options.max_rings, request.options.max_share);
    let opts = ScanOptions {
        dispersion,
        ..request.options
    };
    let result = scan(
        &windows,
        ScanData {
            observed: &observed,
            expected: &expected,
            steps: step_count,
        },
        &opts,
    );
    let places = crate::places::cell_places(region, &cells);
    let step_days = periods.last().map_or(1, |p| (p.1 - p.0).num_days() + 1) as f64;
    let clusters = result
        .clusters
        .into_iter()
        .map(|c| {
            let mut villages: std::collections::BTreeMap<u32, u64> = Default::default();
            for &j in &c.locations {
                *villages.entry(places[j as usize].village).or_default() += 1;
            }
            let mut villages: Vec<crate::hotspot::Place> = villages
                .into_iter()
                .map(|(v, n)| crate::hotspot::Place {
                    code: region.units[v as usize].code.clone(),
                    name: region.units[v as usize].name.clone(),
                    cases: Some(n),
                })
                .collect();
            villages.sort_by(|a, b| b.cases.cmp(&a.cases).then(a.code.cmp(&b.code)));
            let first = periods.len().saturating_sub(c.steps);
            NamedCluster {
                cells: c.locations.iter().map(|&j| cells[j as usize].to_string()).collect(),
                centre_cell: cells[c.centre].to_string(),
                villages,
                start: periods.get(first).map_or_else(Default::default, |p| p.0),
                end: periods.last().map_or_else(Default::default, |p| p.1),
                recurrence_days: request.prospective.map(|_| step_days / c.p),
                cluster: c,
            }
        })
        .collect();
    Ok(ScanReport {
        res: u8::from(request.res),
        prospective: request.prospective.is_some(),
        steps: step_count,
        windows: result.windows,
        replications: result.replications,
        total_cases: result.total_cases,
        dispersion,
        clusters,
    })
}
