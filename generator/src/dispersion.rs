//! Over-dispersion: real registers vary more than Poisson, because places differ in ways no
//! population figure records (a market, a factory, a quarrelsome lineage) and because those
//! differences drift. With `--dispersion α`, each village's background cases are drawn in
//! proportion to its population times a relative risk of mean 1: a stable part (gamma, variance
//! 2α/3) fixed for the whole period and a monthly part (gamma, variance α/3) drawn anew for every
//! calendar month, so that a village's count has variance ≈ μ + α μ² (negative binomial) instead of
//! μ. Planted patterns are unchanged. With α = 0 nothing is drawn and the output is as without it.

use std::collections::HashMap;

use chrono::Datelike;
use fengqiao_ingest::region::UnitId;
use rand::Rng;
use rand_distr::{Distribution, Gamma};

use crate::plan::Period;
use crate::space::Places;
use crate::{rng_for, Stream};

/// Where background cases fall when the data are over-dispersed.
pub struct BackgroundRisk {
    /// One weighted table of places per calendar month of the period.
    tables: Vec<(Vec<f64>, f64)>,
    table_of_day: Vec<u16>,
}

/// A gamma relative risk of mean 1 and variance `variance`.
fn relative_risk<R: Rng>(variance: f64, rng: &mut R) -> f64 {
    if variance <= 0.0 {
        return 1.0;
    }
    Gamma::new(1.0 / variance, variance).map_or(1.0, |g| g.sample(rng))
}

impl BackgroundRisk {
    /// The relative risks for dispersion `alpha` (`None` when it is 0).
    pub fn new(places: &Places, period: &Period, alpha: f64, seed: u64) -> Option<BackgroundRisk> {
        if alpha <= 0.0 {
            return None;
        }
        let villages: Vec<UnitId> = places.villages().collect();
        let mut rng = rng_for(seed, Stream::Dispersion, 0);
        let stable: HashMap<UnitId, f64> = villages
            .iter()
            .map(|&v| (v, relative_risk(2.0 * alpha / 3.0, &mut rng)))
            .collect();
        let month = |d: chrono::NaiveDate| (d.year() * 12 + d.month0() as i32) as i64;
        let first = month(period.start);
        let table_of_day: Vec<u16> = period.days.iter().map(|&d| (month(d) - first) as u16).collect();
        let months = table_of_day.last().map_or(0, |&m| m as usize + 1);
        let tables = (0..months)
            .map(|m| {
                let mut rng = rng_for(seed, Stream::Dispersion, 1 + m as u64);
                let risk: HashMap<UnitId, f64> = villages
                    .iter()
                    .map(|&v| (v, stable[&v] * relative_risk(alpha / 3.0, &mut rng)))
                    .collect();
                places.weighted_table(&risk)
            })
            .collect();
        Some(BackgroundRisk { tables, table_of_day })
    }

    /// A background case's place on day `day` (index into the period).
    pub fn draw<R: Rng>(&self, places: &Places, day: usize, rng: &mut R) -> u32 {
        places.draw_from_table(&self.tables[self.table_of_day[day] as usize], rng)
    }
}
