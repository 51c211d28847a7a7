//! The truth file (`FILE.truth.json`): what the generator planted, so that tests and outside checks
//! can prove the analytics right. Every field is documented in `docs/generator.md`.
//!
//! Weeks are Monday-based and counted from [`Truth::week_origin`] (the Monday of the week that holds
//! the first day of the period): week 0 may hold fewer than 7 days of the period, and so may the last.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use fengqiao_ingest::model::Category;
use serde::{Deserialize, Serialize};

/// The version of the format below.
pub const FORMAT_VERSION: u32 = 1;

/// The whole truth file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    pub format_version: u32,
    pub seed: u64,
    /// Code and English name of the region.
    pub region_code: String,
    pub region_name: String,
    /// First and last day of the period (inclusive).
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// Rows written.
    pub total_cases: u64,
    /// Rows that belong to planted patterns (hot spots, recurring problems, spike, chains).
    pub planted_cases: u64,
    /// Resolution of the H3 cells named below.
    pub h3_resolution: u8,
    /// Monday of week 0.
    pub week_origin: NaiveDate,
    /// Number of weeks (indices 0 ..= weeks - 1).
    pub weeks: u32,
    /// Every week: index, Monday, ISO label and days of the period it holds.
    pub week_list: Vec<Week>,
    /// Whether planted patterns are in the data (off when the data set is too small to carry them).
    pub planting: bool,
    /// Scale of the planted rates relative to the nominal volume of the period (1 without `cases`).
    pub planted_scale: f64,
    /// Over-dispersion α of the background (0: Poisson given the population).
    #[serde(default)]
    pub dispersion: f64,
    pub targets: Targets,
    pub hotspots: Vec<Hotspot>,
    /// Res-8 cells (H3 strings) in which nothing is planted.
    pub quiet_cells: Vec<String>,
    /// Quiet cells are at least this far (metres) from every hot-spot centre, recurring village and
    /// the spike village.
    pub quiet_min_distance_m: f64,
    pub recurring: Vec<Recurring>,
    pub spike: Option<Spike>,
    pub repeat_chains: Vec<RepeatChain>,
}

impl Truth {
    /// Reads a truth file.
    pub fn read(path: &Path) -> Result<Truth, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The index of the week `date` is in (negative before week 0).
    pub fn week_of(&self, date: NaiveDate) -> i64 {
        crate::calendar::week_index(self.week_origin, date)
    }
}

/// One Monday-based week of the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Week {
    pub index: u32,
    pub monday: NaiveDate,
    /// ISO label of the week, e.g. `2026-W14`.
    pub iso: String,
    /// Days of the period in this week (7 except perhaps the first and the last).
    pub days: u32,
}

/// The shares the data are built to match (expectations over the period, planted cases included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    pub cases_per_month: f64,
    pub class: BTreeMap<String, f64>,
    /// Overall category shares.
    pub category: BTreeMap<String, f64>,
    /// Category shares within each class.
    pub category_by_class: BTreeMap<String, BTreeMap<String, f64>>,
    pub severity: BTreeMap<String, f64>,
    pub channel: BTreeMap<String, f64>,
    /// Among rows with coordinates.
    pub crs: BTreeMap<String, f64>,
    pub no_coordinates: f64,
    pub village_only: f64,
    pub within_deadline: f64,
    pub unresolved_of_finished_disputes: f64,
    pub satisfaction_response: f64,
    pub satisfaction: BTreeMap<String, f64>,
    pub weekend_factor: f64,
    pub holiday_factor: f64,
}

/// How a hot spot develops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HotspotKind {
    /// Elevated in every week.
    Persistent,
    /// Nothing planted before `start_week`, elevated from then on.
    New,
    /// Elevated throughout with a rising rate.
    Intensifying,
    /// Elevated throughout with a falling rate, still elevated in the last week.
    Diminishing,
}

impl HotspotKind {
    pub const ALL: [HotspotKind; 4] = [
        HotspotKind::Persistent,
        HotspotKind::New,
        HotspotKind::Intensifying,
        HotspotKind::Diminishing,
    ];

    pub fn code(self) -> &'static str {
        match self {
            HotspotKind::Persistent => "persistent",
            HotspotKind::New => "new",
            HotspotKind::Intensifying => "intensifying",
            HotspotKind::Diminishing => "diminishing",
        }
    }
}

/// A planted hot spot: extra dispute cases spread uniformly over 7 res-8 cells around a village.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hotspot {
    /// `HS01` ….
    pub id: String,
    pub kind: HotspotKind,
    pub county_code: String,
    pub township_code: String,
    pub village_code: String,
    pub village_name: String,
    /// The grid whose codes the planted cases carry (the village's grid nearest the centre).
    pub grid_code: Option<String>,
    /// The village point, WGS84 `[lng, lat]`.
    pub centre: [f64; 2],
    /// The res-8 cell of the centre first, then its ring of 6.
    pub cells: Vec<String>,
    pub categories: Vec<Category>,
    /// First and last week with planted cases (indices), with their Mondays and ISO labels.
    pub start_week: u32,
    pub start_monday: NaiveDate,
    pub start_iso: String,
    pub end_week: u32,
    pub end_monday: NaiveDate,
    pub end_iso: String,
    /// Mean planted cases a (full) week at the first and the last week.
    pub rate_start: f64,
    pub rate_end: f64,
    /// Planted cases in each week, by week index (length `weeks`).
    pub weekly_planted: Vec<u32>,
}

/// A recurring village × category problem (类案).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recurring {
    pub county_code: String,
    pub township_code: String,
    pub village_code: String,
    pub village_name: String,
    pub category: Category,
    /// Week indices with planted cases (at least 4 in every window of 8 consecutive weeks).
    pub weeks: Vec<u32>,
    /// Planted cases in each week, by week index (length `weeks`).
    pub weekly_planted: Vec<u32>,
}

/// The sudden spike: many cases of one category in one village within a few days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spike {
    pub county_code: String,
    pub township_code: String,
    pub village_code: String,
    pub village_name: String,
    pub category: Category,
    pub week: u32,
    pub week_monday: NaiveDate,
    pub week_iso: String,
    /// The consecutive days with spike cases.
    pub days: Vec<NaiveDate>,
    /// Spike cases on each of `days`.
    pub daily: Vec<u32>,
    /// Spike cases in all.
    pub count: u32,
    /// Expected background cases of this village × category in a full week (before the spike).
    pub background_weekly_mean: f64,
}

/// Cases by the same (fake) party about the same matter, each later one's `repeat_of` naming the
/// one before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepeatChain {
    pub village_code: String,
    pub grid_code: Option<String>,
    pub category: Category,
    pub party_name: String,
    pub party_phone: String,
    /// Case ids in order of reporting.
    pub case_ids: Vec<String>,
    /// Reporting days, in the same order.
    pub days: Vec<NaiveDate>,
}
