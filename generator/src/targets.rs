//! The generator's targets: every share, rate and factor the generated data is built to match.
//!
//! Shares are expectations over the generated period (planted cases included); `docs/generator.md`
//! gives the same tables with their sources and reasons. Tests read these constants rather than
//! repeating the numbers.

use fengqiao_ingest::coords::Crs;
use fengqiao_ingest::model::{CaseClass, Category, Channel, Satisfaction, Severity};

/// Items a month for a region of [`REFERENCE_POPULATION`] (the Chenzhou report: ~20,000 a month).
pub const CASES_PER_MONTH: f64 = 20_000.0;

/// The population [`CASES_PER_MONTH`] refers to (Chenzhou, 4.67 M); other regions scale by theirs.
pub const REFERENCE_POPULATION: f64 = 4_670_000.0;

/// Mean days of a calendar month (365.2425 / 12): the volume is per day, so partial months count.
pub const DAYS_PER_MONTH: f64 = 365.2425 / 12.0;

/// Share of each class among all items (the Chenzhou report).
pub const CLASS_SHARES: [(CaseClass, f64); 5] = [
    (CaseClass::Dispute, 0.553),
    (CaseClass::Livelihood, 0.257),
    (CaseClass::Complaint, 0.034),
    (CaseClass::Consultation, 0.150),
    (CaseClass::LegalAid, 0.006),
];

use Category as C;

/// Category shares within disputes (矛盾纠纷调解).
pub const DISPUTE_CATEGORIES: &[(Category, f64)] = &[
    (C::MarriageFamily, 0.170),
    (C::Neighbour, 0.180),
    (C::HousingLand, 0.120),
    (C::Contract, 0.090),
    (C::Damages, 0.090),
    (C::Labour, 0.100),
    (C::ForestLand, 0.050),
    (C::LandAcquisition, 0.040),
    (C::Business, 0.030),
    (C::Traffic, 0.050),
    (C::Medical, 0.020),
    (C::Consumer, 0.020),
    (C::Tourism, 0.010),
    (C::PropertyMgmt, 0.010),
    (C::Environment, 0.005),
    (C::IntellectualProperty, 0.005),
    (C::Other, 0.010),
];

/// Category shares within livelihood requests (民生诉求服务).
pub const LIVELIHOOD_CATEGORIES: &[(Category, f64)] = &[
    (C::PropertyMgmt, 0.220),
    (C::UrbanPlanning, 0.140),
    (C::Environment, 0.150),
    (C::Consumer, 0.120),
    (C::Traffic, 0.050),
    (C::Labour, 0.060),
    (C::HousingLand, 0.050),
    (C::LandAcquisition, 0.040),
    (C::Medical, 0.040),
    (C::Tourism, 0.030),
    (C::Business, 0.030),
    (C::Other, 0.070),
];

/// Category shares within complaints and reports (投诉举报反映).
pub const COMPLAINT_CATEGORIES: &[(Category, f64)] = &[
    (C::Environment, 0.250),
    (C::Consumer, 0.200),
    (C::PropertyMgmt, 0.100),
    (C::UrbanPlanning, 0.100),
    (C::Business, 0.080),
    (C::Medical, 0.060),
    (C::Labour, 0.060),
    (C::LandAcquisition, 0.050),
    (C::Tourism, 0.040),
    (C::Other, 0.060),
];

/// Category shares within consultations (信息咨询服务).
pub const CONSULTATION_CATEGORIES: &[(Category, f64)] = &[
    (C::Labour, 0.120),
    (C::MarriageFamily, 0.120),
    (C::HousingLand, 0.080),
    (C::Contract, 0.100),
    (C::LandAcquisition, 0.060),
    (C::PropertyMgmt, 0.080),
    (C::Consumer, 0.080),
    (C::Traffic, 0.060),
    (C::Medical, 0.040),
    (C::UrbanPlanning, 0.050),
    (C::Business, 0.050),
    (C::IntellectualProperty, 0.030),
    (C::Tourism, 0.020),
    (C::Other, 0.110),
];

/// Category shares within legal-aid applications (法律援助申请).
pub const LEGAL_AID_CATEGORIES: &[(Category, f64)] = &[
    (C::Labour, 0.350),
    (C::MarriageFamily, 0.200),
    (C::Traffic, 0.120),
    (C::Damages, 0.100),
    (C::Contract, 0.080),
    (C::Medical, 0.050),
    (C::HousingLand, 0.050),
    (C::Other, 0.050),
];

/// Category shares within `class` (each table sums to 1).
pub fn category_shares(class: CaseClass) -> &'static [(Category, f64)] {
    match class {
        CaseClass::Dispute => DISPUTE_CATEGORIES,
        CaseClass::Livelihood => LIVELIHOOD_CATEGORIES,
        CaseClass::Complaint => COMPLAINT_CATEGORIES,
        CaseClass::Consultation => CONSULTATION_CATEGORIES,
        CaseClass::LegalAid => LEGAL_AID_CATEGORIES,
    }
}

/// Share of each category among all items: Σ over classes of class share × category share within
/// the class. In `Category::ALL` order; categories no class uses have share 0.
pub fn overall_category_shares() -> Vec<(Category, f64)> {
    Category::ALL
        .iter()
        .map(|&c| {
            let share = CLASS_SHARES
                .iter()
                .map(|&(class, s)| s * category_shares(class).iter().find(|e| e.0 == c).map_or(0.0, |e| e.1))
                .sum();
            (c, share)
        })
        .collect()
}

/// Severity shares (the same in every class).
pub const SEVERITY_SHARES: [(Severity, f64); 4] = [
    (Severity::Simple, 0.45),
    (Severity::General, 0.35),
    (Severity::Major, 0.15),
    (Severity::Serious, 0.05),
];

/// Channel shares.
pub const CHANNEL_SHARES: [(Channel, f64); 7] = [
    (Channel::WalkIn, 0.30),
    (Channel::Hotline12345, 0.22),
    (Channel::MiniProgram, 0.15),
    (Channel::GridPatrol, 0.15),
    (Channel::Department, 0.08),
    (Channel::Police110, 0.05),
    (Channel::Online, 0.05),
];

/// Share of rows with no coordinates at all (codes only).
pub const NO_COORDINATES_SHARE: f64 = 0.10;

/// Share of background rows that carry the village code but no grid code.
pub const VILLAGE_ONLY_SHARE: f64 = 0.15;

/// How rows with coordinates report them: GCJ-02 (WeChat mini-program, AMap), WGS84 (GPS devices),
/// BD-09 (Baidu).
pub const CRS_SHARES: [(Crs, f64); 3] = [(Crs::Gcj02, 0.85), (Crs::Wgs84, 0.08), (Crs::Bd09, 0.07)];

/// Standard deviation (metres) of the Gaussian jitter of a background case around its grid point.
pub const JITTER_SIGMA_M: f64 = 150.0;

/// Largest jitter (metres): farther draws are pulled back to this distance.
pub const JITTER_CAP_M: f64 = 600.0;

/// Decimals of the written coordinates (6 ≈ 0.1 m).
pub const COORDINATE_DECIMALS: usize = 6;

/// Share of finished cases that close within their deadline (`close_deadline_days`).
pub const WITHIN_DEADLINE_SHARE: f64 = 0.87;

/// Share of finished disputes that end as `unresolved` (调解失败).
pub const UNRESOLVED_SHARE: f64 = 0.04;

/// Share of finished cases with a call-back answer (满意度).
pub const SATISFACTION_RESPONSE_SHARE: f64 = 0.80;

/// Call-back answers.
pub const SATISFACTION_SHARES: [(Satisfaction, f64); 4] = [
    (Satisfaction::VerySatisfied, 0.58),
    (Satisfaction::Satisfied, 0.30),
    (Satisfaction::Basic, 0.09),
    (Satisfaction::Dissatisfied, 0.03),
];

/// First-reply delay mixture: share answered within hours (exponential, mean [`REPLY_FAST_MEAN_H`]).
pub const REPLY_FAST_SHARE: f64 = 0.70;
/// Mean of the fast reply delay, hours.
pub const REPLY_FAST_MEAN_H: f64 = 3.0;
/// Share answered between 4 and 48 hours (uniform); the rest take 2 to 6 days.
pub const REPLY_SLOW_SHARE: f64 = 0.25;

/// Volume of a Saturday or Sunday relative to a working day.
pub const WEEKEND_FACTOR: f64 = 0.45;

/// Volume of a public holiday relative to a working day.
pub const HOLIDAY_FACTOR: f64 = 0.35;

/// Standard deviation of the day-to-day log-normal noise on the daily volume.
pub const DAILY_NOISE_SIGMA: f64 = 0.08;

/// Hour-of-day weights for channels staffed in office hours (walk-in, department, grid patrol).
pub const OFFICE_HOURS: [f64; 24] = [
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 4.0, 10.0, 11.0, 8.0, 2.0, 3.0, 8.0, 10.0, 9.0, 5.0, 0.5, 0.0, 0.0, 0.0,
    0.0, 0.0,
];

/// Hour-of-day weights for round-the-clock channels (12345, mini-program, online, 110).
pub const ROUND_THE_CLOCK_HOURS: [f64; 24] = [
    0.6, 0.3, 0.2, 0.15, 0.15, 0.3, 0.8, 2.0, 5.0, 9.0, 10.0, 8.0, 4.0, 4.5, 8.0, 9.0, 8.5, 6.0, 4.0, 3.5, 3.5, 2.8,
    1.8, 1.1,
];

/// Whether a channel only takes items in office hours.
pub fn office_channel(channel: Channel) -> bool {
    matches!(channel, Channel::WalkIn | Channel::Department | Channel::GridPatrol)
}

/// Planted patterns at the nominal volume; with `--cases N` every rate scales with N over the
/// nominal volume of the period.
pub mod planted {
    use fengqiao_ingest::model::Category;

    /// Hot spots of each kind.
    pub const HOTSPOTS_PER_KIND: usize = 3;
    /// Extra cases a week in a persistent hot spot.
    pub const PERSISTENT_PER_WEEK: f64 = 20.0;
    /// Extra cases a week in a new hot spot from its start week.
    pub const NEW_PER_WEEK: f64 = 25.0;
    /// A new hot spot starts in one of the last [`NEW_START_WINDOW`] weeks (but at least
    /// [`NEW_MIN_WEEKS`] weeks before the end, so that it has weeks to be seen in, and two weeks
    /// before the spike's, so that the early warning's window of the spike and the guard week before
    /// it hold no onset: a new hot spot's first week would alert as sharply as the spike).
    pub const NEW_START_WINDOW: u32 = 6;
    /// See [`NEW_START_WINDOW`].
    pub const NEW_MIN_WEEKS: u32 = 4;
    /// A new hot spot appears where there was none: on a village of at least this many people (not
    /// [`HOTSPOT_MIN_POPULATION`]: a new construction site or factory can come to a small village) …
    pub const NEW_MIN_POPULATION: u64 = 500;
    /// … with at most this many people in all villages within `QUIET_NEIGHBOURHOOD_M` of it, so that
    /// its background is about the region's average and not already a concentration that chance
    /// makes significant now and then (which would make it "sporadic", not "new").
    pub const NEW_MAX_NEIGHBOURHOOD_POPULATION: u64 = 2_000;
    /// Weekly rate of an intensifying hot spot in its first and last week (linear in between).
    pub const INTENSIFYING: (f64, f64) = (6.0, 30.0);
    /// Weekly rate of a diminishing hot spot in its first and last week (linear in between).
    pub const DIMINISHING: (f64, f64) = (30.0, 10.0);
    /// Hot-spot villages have at least this population.
    pub const HOTSPOT_MIN_POPULATION: u64 = 1_500;
    /// A hot spot's cells and their surroundings: residents within this distance (metres) of its
    /// centre make the background it must stand out from.
    pub const HOTSPOT_AREA_M: f64 = 1_300.0;
    /// In its weakest week a hot spot's cases are at least this many times the background of its
    /// area (planted + background ≥ ratio × background), so that it is a hot spot for the people
    /// who live there, not only a busy place.
    pub const HOTSPOT_MIN_RISK_RATIO: f64 = 2.0;
    /// Hot-spot centres are at least this far apart (metres).
    pub const HOTSPOT_MIN_SPACING_M: f64 = 5_000.0;
    /// Planted points lie within this distance (metres) of the centre of their res-8 cell.
    pub const HOTSPOT_POINT_RADIUS_M: f64 = 250.0;
    /// Categories hot spots draw 1–3 of.
    pub const HOTSPOT_CATEGORIES: &[Category] = &[
        Category::HousingLand,
        Category::LandAcquisition,
        Category::Labour,
        Category::Neighbour,
        Category::ForestLand,
        Category::Contract,
        Category::Damages,
        Category::Business,
    ];

    /// Quiet cells listed in the truth file.
    pub const QUIET_CELLS: usize = 20;
    /// Quiet cells are cells of villages with at least this population.
    pub const QUIET_MIN_POPULATION: u64 = 800;
    /// … and at most this population (a village 村, not a dense community 社区) …
    pub const QUIET_MAX_POPULATION: u64 = 2_500;
    /// … with at most this many people living in villages within `QUIET_NEIGHBOURHOOD_M` of it
    /// (itself included), so that its background is low as well.
    pub const QUIET_MAX_NEIGHBOURHOOD_POPULATION: u64 = 6_000;
    pub const QUIET_NEIGHBOURHOOD_M: f64 = 2_000.0;
    /// Quiet cells are at least this far (metres) from every hot-spot centre, recurring village and
    /// the spike village.
    pub const QUIET_MIN_DISTANCE_M: f64 = 10_000.0;

    /// Recurring village × category problems (类案).
    pub const RECURRING: usize = 12;
    /// Probability that a recurring problem has planted cases in a given week.
    pub const RECURRING_WEEKLY_PROBABILITY: f64 = 0.75;
    /// A recurring problem is present in at least this many weeks of every window of
    /// [`RECURRING_WINDOW`] weeks.
    pub const RECURRING_MIN_PRESENT: usize = 4;
    /// See [`RECURRING_MIN_PRESENT`].
    pub const RECURRING_WINDOW: usize = 8;
    /// Recurring villages have at least this population.
    pub const RECURRING_MIN_POPULATION: u64 = 1_000;
    /// … and at most as many residents as make the planted cases this many times their background
    /// in the commonest recurring category (see `plan::recurring_abnormal_enough`).
    pub const RECURRING_MIN_RISK_RATIO: f64 = 3.0;
    /// Categories recurring problems are drawn from.
    pub const RECURRING_CATEGORIES: &[Category] = &[
        Category::HousingLand,
        Category::Neighbour,
        Category::ForestLand,
        Category::Labour,
        Category::Contract,
        Category::LandAcquisition,
        Category::MarriageFamily,
        Category::Damages,
    ];

    /// Cases of the sudden spike.
    pub const SPIKE_CASES: f64 = 30.0;
    /// Consecutive days the spike lasts.
    pub const SPIKE_DAYS: usize = 3;
    /// Share of the spike's cases on each of its days.
    pub const SPIKE_DAY_WEIGHTS: [f64; SPIKE_DAYS] = [0.3, 0.45, 0.25];
    /// Categories the spike is drawn from (a wage-arrears walk-out, a compensation dispute, a forest
    /// boundary quarrel: events that bring many parties at once).
    pub const SPIKE_CATEGORIES: &[Category] = &[Category::Labour, Category::LandAcquisition, Category::ForestLand];

    /// Repeat chains.
    pub const CHAINS: f64 = 45.0;
    /// Cases in a chain: 2 to 5 with these weights.
    pub const CHAIN_LENGTH_WEIGHTS: [(usize, f64); 4] = [(2, 0.45), (3, 0.30), (4, 0.15), (5, 0.10)];
    /// Days between consecutive cases of a chain (inclusive).
    pub const CHAIN_GAP_DAYS: (i64, i64) = (3, 30);
    /// Categories of chains and their weights.
    pub const CHAIN_CATEGORIES: &[(Category, f64)] = &[
        (Category::MarriageFamily, 0.45),
        (Category::Neighbour, 0.40),
        (Category::HousingLand, 0.06),
        (Category::Labour, 0.05),
        (Category::Contract, 0.04),
    ];

    /// Planting is switched off when the planted cases would exceed this share of all cases (a
    /// data set too small to carry the patterns).
    pub const MAX_PLANTED_SHARE: f64 = 0.4;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(shares: impl IntoIterator<Item = f64>) -> f64 {
        shares.into_iter().sum()
    }

    #[test]
    fn every_table_sums_to_one() {
        assert!((sum(CLASS_SHARES.map(|e| e.1)) - 1.0).abs() < 1e-9);
        for class in CaseClass::ALL {
            let shares = category_shares(*class);
            assert!((sum(shares.iter().map(|e| e.1)) - 1.0).abs() < 1e-9, "{class}");
            let mut seen: Vec<Category> = shares.iter().map(|e| e.0).collect();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), shares.len(), "{class} lists a category twice");
        }
        assert!((sum(overall_category_shares().into_iter().map(|e| e.1)) - 1.0).abs() < 1e-9);
        assert!((sum(SEVERITY_SHARES.map(|e| e.1)) - 1.0).abs() < 1e-9);
        assert!((sum(CHANNEL_SHARES.map(|e| e.1)) - 1.0).abs() < 1e-9);
        assert!((sum(CRS_SHARES.map(|e| e.1)) - 1.0).abs() < 1e-9);
        assert!((sum(SATISFACTION_SHARES.map(|e| e.1)) - 1.0).abs() < 1e-9);
        assert!((sum(planted::CHAIN_CATEGORIES.iter().map(|e| e.1)) - 1.0).abs() < 1e-9);
        assert!((sum(planted::SPIKE_DAY_WEIGHTS) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn disputes_lead_with_the_everyday_categories() {
        let top: Vec<Category> = {
            let mut d = DISPUTE_CATEGORIES.to_vec();
            d.sort_by(|a, b| b.1.total_cmp(&a.1));
            d.iter().take(6).map(|e| e.0).collect()
        };
        for c in [C::Neighbour, C::MarriageFamily, C::HousingLand, C::Labour] {
            assert!(top.contains(&c), "{c} should be among the top dispute categories");
        }
        assert!(OFFICE_HOURS[..7].iter().all(|&w| w == 0.0));
    }
}
