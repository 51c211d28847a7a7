//! Getis-Ord Gi* local hot-spot statistic, Benjamini–Hochberg false discovery rate, and the ArcGIS
//! confidence bins — pure functions on plain data.
//!
//! For a value `x_j` at each of `n` locations and weights `w_ij` that include the location itself
//! (`w_ii > 0`, hence the star), Getis & Ord (1992) and Ord & Getis (1995):
//!
//! ```text
//!        Σ_j w_ij x_j − x̄ Σ_j w_ij
//! z_i = ───────────────────────────────────────────────,  x̄ = Σx/n,  S² = Σx²/n − x̄²
//!        S · sqrt( (n Σ_j w_ij² − (Σ_j w_ij)²) / (n − 1) )
//! ```
//!
//! This is the z-score ArcGIS's Hot Spot Analysis reports and, for binary weights, exactly PySAL
//! `esda.G_Local(y, w, transform='B', star=True).Zs` (checked against a committed reference file,
//! `analytics/tests/data/gistar_esda.json`, made by `scripts/reference/gistar_esda.py`). p-values are
//! two-sided under the normal approximation (esda's `p_norm` is the one-sided half).

use rayon::prelude::*;

/// Sparse spatial weights in compressed-row form: row `i` lists its neighbours (itself included)
/// and, for kernel weights, their weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    offsets: Vec<usize>,
    neighbours: Vec<u32>,
    /// `None` for binary weights (all 1).
    values: Option<Vec<f64>>,
}

impl Weights {
    /// Binary weights from neighbour lists (each must include the location itself).
    pub fn binary(rows: impl IntoIterator<Item = Vec<u32>>) -> Weights {
        let mut offsets = vec![0];
        let mut neighbours = Vec::new();
        for row in rows {
            neighbours.extend(row);
            offsets.push(neighbours.len());
        }
        Weights {
            offsets,
            neighbours,
            values: None,
        }
    }

    /// Weighted neighbour lists: `(neighbour, weight)` per row, the location itself included.
    pub fn weighted(rows: impl IntoIterator<Item = Vec<(u32, f64)>>) -> Weights {
        let mut offsets = vec![0];
        let (mut neighbours, mut values) = (Vec::new(), Vec::new());
        for row in rows {
            for (j, w) in row {
                neighbours.push(j);
                values.push(w);
            }
            offsets.push(neighbours.len());
        }
        Weights {
            offsets,
            neighbours,
            values: Some(values),
        }
    }

    /// Binary weights from their parts as [`Weights::binary_parts`] gives them.
    pub fn from_binary_parts(offsets: Vec<usize>, neighbours: Vec<u32>) -> Weights {
        Weights {
            offsets,
            neighbours,
            values: None,
        }
    }

    /// The offsets of each location's neighbours and the neighbours, of binary weights (`None` for
    /// kernel weights).
    pub fn binary_parts(&self) -> Option<(&[usize], &[u32])> {
        self.values.is_none().then_some((&self.offsets, &self.neighbours))
    }

    /// Number of locations.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether there are no locations.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Neighbours of location `i` (itself included).
    pub fn neighbours(&self, i: usize) -> &[u32] {
        &self.neighbours[self.offsets[i]..self.offsets[i + 1]]
    }

    /// Location `i`'s neighbours (itself included) with their weights (1 for binary weights).
    pub fn row(&self, i: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let range = self.offsets[i]..self.offsets[i + 1];
        let values = self.values.as_deref();
        range.map(move |k| (self.neighbours[k] as usize, values.map_or(1.0, |v| v[k])))
    }
}

/// Gi* of one location.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GiStar {
    pub z: f64,
    /// Two-sided p-value under the normal approximation.
    pub p: f64,
}

/// Gi* for every location. A constant field (S = 0) gives z = 0, p = 1 everywhere.
pub fn gi_star(values: &[f64], weights: &Weights) -> Vec<GiStar> {
    assert_eq!(values.len(), weights.len(), "one value per location");
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let s2 = (values.iter().map(|x| x * x).sum::<f64>() / n - mean * mean).max(0.0);
    let s = s2.sqrt();
    // Each location is independent: split them over the cores (the erfc of the p-value is most of
    // the cost).
    (0..values.len())
        .into_par_iter()
        .with_min_len(4096)
        .map(|i| {
            let (mut wx, mut w, mut w2) = (0.0, 0.0, 0.0);
            for (j, wij) in weights.row(i) {
                wx += wij * values[j];
                w += wij;
                w2 += wij * wij;
            }
            let denominator = s * ((n * w2 - w * w) / (n - 1.0)).max(0.0).sqrt();
            if denominator > 0.0 && denominator.is_finite() {
                let z = (wx - mean * w) / denominator;
                GiStar { z, p: two_sided_p(z) }
            } else {
                GiStar { z: 0.0, p: 1.0 }
            }
        })
        .collect()
}

/// Two-sided p-value of a standard normal z-score: `erfc(|z|/√2)`.
pub fn two_sided_p(z: f64) -> f64 {
    libm::erfc(z.abs() / std::f64::consts::SQRT_2)
}

/// Benjamini–Hochberg: which of the hypotheses with p-values `p` are rejected at false discovery
/// rate `q` (the largest k with p_(k) ≤ k q / m, and every p at or below it).
pub fn benjamini_hochberg(p: &[f64], q: f64) -> Vec<bool> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let cutoff = order
        .iter()
        .enumerate()
        .filter(|&(k, &i)| p[i] <= (k + 1) as f64 * q / m as f64)
        .map(|(_, &i)| p[i])
        .next_back();
    match cutoff {
        Some(c) => p.iter().map(|&x| x <= c).collect(),
        None => vec![false; m],
    }
}

/// ArcGIS's Gi_Bin: +3/+2/+1 for hot spots at 99/95/90% confidence, −3/−2/−1 for cold spots, 0 not
/// significant. With `fdr`, each level is reached only by cells significant under
/// Benjamini–Hochberg at that level's α over all locations, as ArcGIS's "Apply False Discovery Rate
/// (FDR) Correction" does.
pub fn confidence_bins(results: &[GiStar], fdr: bool) -> Vec<i8> {
    let levels = [(3i8, 0.01), (2, 0.05), (1, 0.10)];
    let p: Vec<f64> = results.iter().map(|r| r.p).collect();
    let passes: Vec<Vec<bool>> = levels
        .iter()
        .map(|&(_, alpha)| {
            if fdr {
                benjamini_hochberg(&p, alpha)
            } else {
                p.iter().map(|&x| x < alpha).collect()
            }
        })
        .collect();
    results
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let level = levels
                .iter()
                .zip(&passes)
                .find(|(_, pass)| pass[i])
                .map_or(0, |((l, _), _)| *l);
            if r.z < 0.0 {
                -level
            } else {
                level
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct definition: the sum over a location's neighbourhood compared with what the global
    /// mean predicts, in units of its standard deviation under randomisation.
    fn slow_gi_star(x: &[f64], rows: &[Vec<u32>]) -> Vec<f64> {
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        rows.iter()
            .map(|row| {
                let w = row.len() as f64;
                let sum: f64 = row.iter().map(|&j| x[j as usize]).sum();
                (sum - mean * w) / (var.sqrt() * ((n * w - w * w) / (n - 1.0)).sqrt())
            })
            .collect()
    }

    fn path_rows(n: u32) -> Vec<Vec<u32>> {
        (0..n)
            .map(|i| (i.saturating_sub(1)..=(i + 1).min(n - 1)).collect())
            .collect()
    }

    #[test]
    fn matches_the_esda_docstring_example() {
        // esda's G_Local docstring: points (10,10) (20,10) (40,10) (15,20) (30,20) (30,30),
        // DistanceBand(threshold=15), y = [2, 3, 3.2, 5, 8, 7], transform='B', star=True.
        let rows = vec![
            vec![0, 1, 3],
            vec![1, 0, 3, 4],
            vec![2, 4],
            vec![3, 0, 1, 4],
            vec![4, 1, 2, 3, 5],
            vec![5, 4],
        ];
        let y = [2.0, 3.0, 3.2, 5.0, 8.0, 7.0];
        let z: Vec<f64> = gi_star(&y, &Weights::binary(rows)).iter().map(|r| r.z).collect();
        let esda = [
            -1.39727626,
            -0.28917762,
            0.65064964,
            -0.28917762,
            1.23452088,
            2.02424331,
        ];
        for (a, b) in z.iter().zip(esda) {
            assert!((a - b).abs() < 1e-8, "{z:?}");
        }
    }

    #[test]
    fn agrees_with_the_definition_and_with_unit_kernel_weights() {
        let x: Vec<f64> = (0..40)
            .map(|i| f64::from((i * 37) % 11) + if (15..20).contains(&i) { 30.0 } else { 0.0 })
            .collect();
        let rows = path_rows(40);
        let fast = gi_star(&x, &Weights::binary(rows.clone()));
        let kernel = gi_star(
            &x,
            &Weights::weighted(rows.iter().map(|r| r.iter().map(|&j| (j, 1.0)).collect())),
        );
        for ((f, k), s) in fast.iter().zip(&kernel).zip(slow_gi_star(&x, &rows)) {
            assert!((f.z - s).abs() < 1e-10 && (k.z - s).abs() < 1e-10);
        }
        assert!(
            fast[17].z > 3.0 && fast[17].p < 0.01,
            "the planted run is hot: {:?}",
            fast[17]
        );
    }

    #[test]
    fn constant_fields_are_not_significant() {
        let r = gi_star(&[4.0; 5], &Weights::binary(path_rows(5)));
        assert!(r.iter().all(|g| g.z == 0.0 && g.p == 1.0));
    }

    #[test]
    fn two_sided_p_values_are_normal_tail_areas() {
        assert!((two_sided_p(1.959963984540054) - 0.05).abs() < 1e-12);
        assert!((two_sided_p(-2.5758293035489) - 0.01).abs() < 1e-12);
        assert_eq!(two_sided_p(0.0), 1.0);
    }

    #[test]
    fn benjamini_hochberg_step_up() {
        // m = 5, q = 0.05: thresholds 0.01, 0.02, 0.03, 0.04, 0.05 against the sorted p-values
        // 0.001, 0.019, 0.025, 0.035, 0.5: the largest k with p_(k) ≤ kq/m is 4.
        let p = [0.035, 0.001, 0.5, 0.025, 0.019];
        assert_eq!(benjamini_hochberg(&p, 0.05), [true, true, false, true, true]);
        assert_eq!(benjamini_hochberg(&[0.2, 0.3], 0.05), [false, false]);
        assert!(benjamini_hochberg(&[], 0.05).is_empty());
    }

    #[test]
    fn confidence_bins_follow_arcgis() {
        let r = [
            GiStar { z: 3.0, p: 0.002 },
            GiStar { z: 2.1, p: 0.03 },
            GiStar { z: -1.7, p: 0.08 },
            GiStar { z: 0.5, p: 0.6 },
        ];
        assert_eq!(confidence_bins(&r, false), [3, 2, -1, 0]);
        // With FDR over these four: at α = 0.01 and 0.05 only p = 0.002 passes (0.03 > 2·0.05/4);
        // at α = 0.10, 0.03 ≤ 2·0.10/4 passes too, 0.08 > 3·0.10/4 does not.
        assert_eq!(confidence_bins(&r, true), [3, 1, 0, 0]);
    }
}
