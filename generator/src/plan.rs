//! The plan: the period's days and weeks, and every planted pattern (where, what, how many cases in
//! which week and on which day), decided from the seed before any case is generated.

use std::collections::HashSet;

use chrono::NaiveDate;
use fengqiao_ingest::model::{AdminLevel, Category};
use fengqiao_ingest::region::UnitId;
use fengqiao_ingest::Region;
use h3o::{CellIndex, LatLng, Resolution};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Poisson};

use crate::calendar;
use crate::names::Party;
use crate::space::{distance_m, Places};
use crate::targets::planted as p;
use crate::targets::DAILY_NOISE_SIGMA;
use crate::truth::HotspotKind;
use crate::{rng_for, Stream};

/// Resolution of the planted hot-spot cells and the quiet cells.
pub const PLANT_RESOLUTION: Resolution = Resolution::Eight;

/// The days and weeks of the period.
#[derive(Debug, Clone)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub days: Vec<NaiveDate>,
    /// Expected volume of each day relative to a working day, with day-to-day noise.
    pub weights: Vec<f64>,
    /// Monday of week 0.
    pub week_origin: NaiveDate,
    /// Day indices of each week.
    pub week_days: Vec<Vec<u32>>,
}

impl Period {
    pub fn new(start: NaiveDate, end: NaiveDate, seed: u64) -> Period {
        let days: Vec<NaiveDate> = start.iter_days().take_while(|d| *d <= end).collect();
        let mut rng = rng_for(seed, Stream::DailyNoise, 0);
        let noise = LogNormal::new(0.0, DAILY_NOISE_SIGMA).expect("valid sigma");
        let weights = days
            .iter()
            .map(|&d| calendar::volume_factor(d) * noise.sample(&mut rng))
            .collect();
        let week_origin = calendar::monday_of(start);
        let weeks = calendar::week_index(week_origin, end) as usize + 1;
        let mut week_days = vec![Vec::new(); weeks];
        for (i, &d) in days.iter().enumerate() {
            week_days[calendar::week_index(week_origin, d) as usize].push(i as u32);
        }
        Period {
            start,
            end,
            days,
            weights,
            week_origin,
            week_days,
        }
    }

    pub fn weeks(&self) -> u32 {
        self.week_days.len() as u32
    }

    /// The Monday of week `w`.
    pub fn monday(&self, w: u32) -> NaiveDate {
        self.week_origin + chrono::Days::new(7 * u64::from(w))
    }

    /// The days of week `w` that also lie in the 7-day step, counted back from the last day, that
    /// holds the week's Thursday (most of the week). An analyst looks back "the last 8 weeks" from
    /// the last day, so a recurring problem's cases of one Monday week stay in one of those steps:
    /// its weeks with cases are the same in both frames. A partial week whose Thursday lies outside
    /// the period keeps all its days.
    pub fn recurrence_days(&self, w: u32) -> Vec<u32> {
        let step_of = |d: NaiveDate| (self.end - d).num_days().div_euclid(7);
        let thursday = self.monday(w) + chrono::Days::new(3);
        let days = &self.week_days[w as usize];
        if thursday < self.start || thursday > self.end {
            return days.clone();
        }
        days.iter()
            .copied()
            .filter(|&d| step_of(self.days[d as usize]) == step_of(thursday))
            .collect()
    }
}

/// What a planted case belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Hotspot(u16),
    Recurring(u16),
    Spike,
    /// Case `pos` of chain `chain`.
    Chain {
        chain: u32,
        pos: u8,
    },
}

/// Planted cases of one source on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub source: Source,
    pub count: u32,
}

#[derive(Debug, Clone)]
pub struct HotspotPlan {
    pub id: String,
    pub kind: HotspotKind,
    pub village: UnitId,
    /// The place (grid) whose codes the cases carry.
    pub place: u32,
    pub centre: (f64, f64),
    /// The centre's cell first, then its ring.
    pub cells: Vec<CellIndex>,
    /// WGS84 centres of `cells`.
    pub cell_centres: Vec<(f64, f64)>,
    pub categories: Vec<Category>,
    /// Cumulative weights over `categories`.
    pub category_cumulative: Vec<f64>,
    pub start_week: u32,
    pub end_week: u32,
    pub rate_start: f64,
    pub rate_end: f64,
    pub weekly: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct RecurringPlan {
    pub village: UnitId,
    pub category: Category,
    pub weekly: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct SpikePlan {
    pub village: UnitId,
    pub category: Category,
    pub week: u32,
    /// Day indices of the spike's days.
    pub days: Vec<u32>,
    pub daily: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct ChainPlan {
    pub village: UnitId,
    pub place: u32,
    pub category: Category,
    pub party: Party,
    /// Day index of each case.
    pub days: Vec<u32>,
}

/// Everything planted.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub enabled: bool,
    pub hotspots: Vec<HotspotPlan>,
    pub recurring: Vec<RecurringPlan>,
    pub spike: Option<SpikePlan>,
    pub chains: Vec<ChainPlan>,
    pub quiet_cells: Vec<CellIndex>,
    pub quiet_min_distance_m: f64,
    /// Planted events of each day.
    pub by_day: Vec<Vec<Event>>,
    /// Planted cases in all, and those in hot spots.
    pub total: u64,
    pub hotspot_total: u64,
    /// Planted cases by category (`Category::ALL` order); all planted cases are disputes.
    pub by_category: [u64; 18],
}

/// A village that may anchor a pattern.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    id: UnitId,
    county: UnitId,
    township: UnitId,
    lng: f64,
    lat: f64,
}

fn candidates(region: &Region, places: &Places, min_population: u64) -> Vec<Candidate> {
    region
        .level(AdminLevel::Village)
        .filter(|(id, _)| !places.of_village(*id).is_empty())
        .filter_map(|(id, v)| {
            let lineage = region.lineage(id)?;
            let population = v.population.unwrap_or(places.village_population(id) as u64);
            (population >= min_population).then_some(Candidate {
                id,
                county: lineage.county,
                township: lineage.township,
                lng: v.lng,
                lat: v.lat,
            })
        })
        .collect()
}

fn cell_of(lng: f64, lat: f64) -> Option<CellIndex> {
    LatLng::new(lat, lng).ok().map(|ll| ll.to_cell(PLANT_RESOLUTION))
}

/// Every village's point and population: `(lng, lat, people)`.
fn village_points(region: &Region) -> Vec<(f64, f64, u64)> {
    region
        .level(AdminLevel::Village)
        .map(|(_, v)| (v.lng, v.lat, v.population.unwrap_or(0)))
        .collect()
}

/// People living in the villages within `QUIET_NEIGHBOURHOOD_M` of a candidate (its own included).
fn people_around(villages: &[(f64, f64, u64)], c: &Candidate) -> u64 {
    people_within(villages, c, p::QUIET_NEIGHBOURHOOD_M)
}

/// People living in the villages within `radius_m` of a candidate (its own included).
fn people_within(villages: &[(f64, f64, u64)], c: &Candidate, radius_m: f64) -> u64 {
    villages
        .iter()
        .filter(|&&(lng, lat, _)| distance_m(c.lng, c.lat, lng, lat) <= radius_m)
        .map(|&(_, _, population)| population)
        .sum()
}

/// The weakest weekly rate of a hot spot of `kind` (at the nominal volume).
fn weakest_rate(kind: HotspotKind) -> f64 {
    let (a, b) = rate(kind, 1.0);
    a.min(b)
}

/// Whether a hot spot of `kind` at candidate `c` is abnormal for the people who live there in its
/// weakest week: at least [`p::HOTSPOT_MIN_RISK_RATIO`] times the background its cells expect (the
/// residents within [`p::HOTSPOT_AREA_M`] at the region's weekly rate per person). A hot spot that
/// adds four cases a week to a downtown's hundred is a hot spot in no risk statistic.
fn abnormal_enough(villages: &[(f64, f64, u64)], c: &Candidate, kind: HotspotKind) -> bool {
    let weekly_per_person = crate::targets::CASES_PER_MONTH / crate::targets::REFERENCE_POPULATION * 12.0
        / (crate::targets::DAYS_PER_MONTH * 12.0 / 7.0);
    let background = people_within(villages, c, p::HOTSPOT_AREA_M) as f64 * weekly_per_person;
    weakest_rate(kind) >= (p::HOTSPOT_MIN_RISK_RATIO - 1.0) * background
}

/// Whether a recurring problem planted in village `c` is abnormal for the people who live there:
/// its mean weekly cases at least [`p::RECURRING_MIN_RISK_RATIO`] − 1 times what the village's
/// residents bring of the commonest recurring category at the region's weekly rate. Two cases a
/// week in a community of 14,000 are that community's usual disputes, not a 类案.
fn recurring_abnormal_enough(region: &Region, c: &Candidate) -> bool {
    let weekly_per_person = crate::targets::CASES_PER_MONTH / crate::targets::REFERENCE_POPULATION * 12.0
        / (crate::targets::DAYS_PER_MONTH * 12.0 / 7.0);
    let shares = crate::targets::overall_category_shares();
    let share = p::RECURRING_CATEGORIES
        .iter()
        .filter_map(|cat| shares.iter().find(|(c, _)| c == cat).map(|(_, s)| *s))
        .fold(0.0, f64::max);
    let background = region.units[c.id as usize].population.unwrap_or(0) as f64 * weekly_per_person * share;
    // At the nominal volume (planted rates and the background scale alike).
    let planted = p::RECURRING_WEEKLY_PROBABILITY * 2.0;
    planted >= (p::RECURRING_MIN_RISK_RATIO - 1.0) * background
}

fn far_from(c: &Candidate, anchors: &[(f64, f64)], min_m: f64) -> bool {
    anchors
        .iter()
        .all(|&(lng, lat)| distance_m(c.lng, c.lat, lng, lat) >= min_m)
}

/// Draws a Poisson count with mean `lambda`, at least 1 when `lambda` ≥ 1.
fn poisson<R: Rng>(lambda: f64, rng: &mut R) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    let n = Poisson::new(lambda).expect("positive mean").sample(rng) as u32;
    if lambda >= 1.0 {
        n.max(1)
    } else {
        n
    }
}

/// Rounds `x` up or down at random so that the mean is `x`.
fn stochastic_round<R: Rng>(x: f64, rng: &mut R) -> u32 {
    let floor = x.floor();
    floor as u32 + u32::from(rng.random::<f64>() < x - floor)
}

/// An index drawn in proportion to `weights`.
pub fn draw_weighted<R: Rng>(weights: &[f64], rng: &mut R) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, &w) in weights.iter().enumerate() {
        x -= w;
        if x < 0.0 {
            return i;
        }
    }
    weights.len() - 1
}

/// Spreads `count` cases over `days` in proportion to the days' volume.
fn spread<R: Rng>(count: u32, days: &[u32], period: &Period, rng: &mut R) -> Vec<(u32, u32)> {
    let weights: Vec<f64> = days.iter().map(|&d| period.weights[d as usize]).collect();
    let mut per_day = vec![0u32; days.len()];
    for _ in 0..count {
        per_day[draw_weighted(&weights, rng)] += 1;
    }
    days.iter()
        .zip(per_day)
        .filter(|(_, n)| *n > 0)
        .map(|(&d, n)| (d, n))
        .collect()
}

impl Plan {
    /// Plans every pattern. `scale` multiplies the planted rates (1 at the nominal volume);
    /// `total_cases` is the size of the data set (planting is switched off when the planted cases
    /// would exceed [`p::MAX_PLANTED_SHARE`] of it).
    pub fn build(region: &Region, places: &Places, period: &Period, scale: f64, total_cases: u64, seed: u64) -> Plan {
        let mut plan = Plan {
            by_day: vec![Vec::new(); period.days.len()],
            ..Plan::default()
        };
        plan.hotspots = choose_hotspots(region, places, period, scale, seed);
        let hotspot_centres: Vec<(f64, f64)> = plan.hotspots.iter().map(|h| h.centre).collect();
        let (recurring, recurring_points) =
            choose_recurring(region, places, period.weeks(), scale, seed, &plan.hotspots);
        plan.recurring = recurring;
        let anchors: Vec<(f64, f64)> = hotspot_centres.iter().chain(&recurring_points).copied().collect();
        let spike = choose_spike(region, places, period, scale, seed, &plan, &anchors);
        let anchors: Vec<(f64, f64)> = anchors.into_iter().chain(spike.as_ref().map(|s| s.1)).collect();
        plan.spike = spike.map(|s| s.0);
        let (quiet_cells, quiet_min_distance_m) = choose_quiet_cells(region, places, seed, &anchors, &plan.hotspots);
        plan.quiet_cells = quiet_cells;
        plan.quiet_min_distance_m = quiet_min_distance_m;
        let quiet_centres: Vec<(f64, f64)> = plan
            .quiet_cells
            .iter()
            .map(|&c| {
                let ll = LatLng::from(c);
                (ll.lng(), ll.lat())
            })
            .collect();

        plan.chains = choose_chains(region, places, period, scale, seed, &plan, &quiet_centres);
        plan.schedule(period, seed);
        if plan.total as f64 > p::MAX_PLANTED_SHARE * total_cases as f64 {
            return Plan {
                by_day: vec![Vec::new(); period.days.len()],
                ..Plan::default()
            };
        }
        plan.enabled = true;
        plan
    }

    /// Puts every planted case on a day and counts them.
    fn schedule(&mut self, period: &Period, seed: u64) {
        let mut rng = rng_for(seed, Stream::Schedule, 0);
        let mut events: Vec<(u32, Event)> = Vec::new();
        let weekly_events = self
            .hotspots
            .iter()
            .enumerate()
            .map(|(i, h)| (Source::Hotspot(i as u16), &h.weekly))
            .chain(
                self.recurring
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (Source::Recurring(i as u16), &r.weekly)),
            );
        for (source, weekly) in weekly_events {
            for (w, &n) in weekly.iter().enumerate() {
                let days = match source {
                    Source::Recurring(_) => period.recurrence_days(w as u32),
                    _ => period.week_days[w].clone(),
                };
                for (day, count) in spread(n, &days, period, &mut rng) {
                    events.push((day, Event { source, count }));
                }
            }
        }
        if let Some(s) = &self.spike {
            for (&day, &count) in s.days.iter().zip(&s.daily) {
                if count > 0 {
                    events.push((
                        day,
                        Event {
                            source: Source::Spike,
                            count,
                        },
                    ));
                }
            }
        }
        for (i, c) in self.chains.iter().enumerate() {
            for (pos, &day) in c.days.iter().enumerate() {
                let source = Source::Chain {
                    chain: i as u32,
                    pos: pos as u8,
                };
                events.push((day, Event { source, count: 1 }));
            }
        }
        for (day, event) in events {
            let category = match event.source {
                Source::Hotspot(_) => None,
                Source::Recurring(i) => Some(self.recurring[i as usize].category),
                Source::Spike => self.spike.as_ref().map(|s| s.category),
                Source::Chain { chain, .. } => Some(self.chains[chain as usize].category),
            };
            match (category, event.source) {
                (Some(c), _) => self.by_category[c as usize] += u64::from(event.count),
                (None, Source::Hotspot(h)) => {
                    // Expected split over the hot spot's categories (the draw happens per case).
                    let hp = &self.hotspots[h as usize];
                    let total = *hp.category_cumulative.last().expect("at least one category");
                    let mut prev = 0.0;
                    for (c, &cum) in hp.categories.iter().zip(&hp.category_cumulative) {
                        let share = (cum - prev) / total;
                        prev = cum;
                        self.by_category[*c as usize] += (f64::from(event.count) * share).round() as u64;
                    }
                    self.hotspot_total += u64::from(event.count);
                }
                (None, _) => {}
            }
            self.total += u64::from(event.count);
            self.by_day[day as usize].push(event);
        }
    }
}

fn rate(kind: HotspotKind, scale: f64) -> (f64, f64) {
    let (a, b) = match kind {
        HotspotKind::Persistent => (p::PERSISTENT_PER_WEEK, p::PERSISTENT_PER_WEEK),
        HotspotKind::New => (p::NEW_PER_WEEK, p::NEW_PER_WEEK),
        HotspotKind::Intensifying => p::INTENSIFYING,
        HotspotKind::Diminishing => p::DIMINISHING,
    };
    (a * scale, b * scale)
}

/// Recurring problems: distinct townships, away from the hot spots, where they are abnormal for
/// the residents; with their villages' points.
fn choose_recurring(
    region: &Region,
    places: &Places,
    weeks: u32,
    scale: f64,
    seed: u64,
    hotspots: &[HotspotPlan],
) -> (Vec<RecurringPlan>, Vec<(f64, f64)>) {
    let hotspot_centres: Vec<(f64, f64)> = hotspots.iter().map(|h| h.centre).collect();
    let hotspot_villages: HashSet<UnitId> = hotspots.iter().map(|h| h.village).collect();
    let mut rng = rng_for(seed, Stream::Recurring, 0);
    let mut pool = candidates(region, places, p::RECURRING_MIN_POPULATION);
    pool.shuffle(&mut rng);
    let mut townships = HashSet::new();
    let (mut recurring, mut points) = (Vec::new(), Vec::new());
    for c in &pool {
        if recurring.len() == p::RECURRING {
            break;
        }
        if hotspot_villages.contains(&c.id)
            || !far_from(c, &hotspot_centres, p::HOTSPOT_MIN_SPACING_M)
            || !recurring_abnormal_enough(region, c)
            || !townships.insert(c.township)
        {
            continue;
        }
        let category = p::RECURRING_CATEGORIES[rng.random_range(0..p::RECURRING_CATEGORIES.len())];
        let weekly = recurring_weeks(weeks, scale, &mut rng);
        points.push((c.lng, c.lat));
        recurring.push(RecurringPlan {
            village: c.id,
            category,
            weekly,
        });
    }
    (recurring, points)
}

/// The spike: a village away from the hot spots and recurring villages (`anchors`), in the week
/// before the last; with its village's point.
fn choose_spike(
    region: &Region,
    places: &Places,
    period: &Period,
    scale: f64,
    seed: u64,
    plan: &Plan,
    anchors: &[(f64, f64)],
) -> Option<(SpikePlan, (f64, f64))> {
    let hotspot_villages: HashSet<UnitId> = plan.hotspots.iter().map(|h| h.village).collect();
    let recurring_villages: HashSet<UnitId> = plan.recurring.iter().map(|r| r.village).collect();
    let mut rng = rng_for(seed, Stream::Spike, 0);
    let mut pool = candidates(region, places, p::HOTSPOT_MIN_POPULATION);
    pool.shuffle(&mut rng);
    let c = pool.iter().find(|c| {
        !hotspot_villages.contains(&c.id)
            && !recurring_villages.contains(&c.id)
            && far_from(c, anchors, p::HOTSPOT_MIN_SPACING_M)
    })?;
    let week = period.weeks().saturating_sub(2);
    let week_days = &period.week_days[week as usize];
    let len = p::SPIKE_DAYS.min(week_days.len());
    let first = rng.random_range(0..=week_days.len() - len);
    let days = week_days[first..first + len].to_vec();
    let count = (p::SPIKE_CASES * scale).round().max(len as f64) as u32;
    let mut daily = vec![0u32; len];
    for _ in 0..count {
        daily[draw_weighted(&p::SPIKE_DAY_WEIGHTS[..len], &mut rng)] += 1;
    }
    let spike = SpikePlan {
        village: c.id,
        category: p::SPIKE_CATEGORIES[rng.random_range(0..p::SPIKE_CATEGORIES.len())],
        week,
        days,
        daily,
    };
    Some((spike, (c.lng, c.lat)))
}

/// Quiet cells: far from every hot spot, recurring village and the spike (`anchors`), at the
/// largest of a few distances that still finds them all; with that distance.
fn choose_quiet_cells(
    region: &Region,
    places: &Places,
    seed: u64,
    anchors: &[(f64, f64)],
    hotspots: &[HotspotPlan],
) -> (Vec<CellIndex>, f64) {
    let mut rng = rng_for(seed, Stream::Quiet, 0);
    // A quiet cell must also be quiet by nature: a small village (not a dense community) with
    // few people around it, so that no real concentration of background cases is there either.
    let villages = village_points(region);
    let mut pool: Vec<Candidate> = candidates(region, places, p::QUIET_MIN_POPULATION)
        .into_iter()
        .filter(|c| region.units[c.id as usize].population.unwrap_or(0) <= p::QUIET_MAX_POPULATION)
        .filter(|c| people_around(&villages, c) <= p::QUIET_MAX_NEIGHBOURHOOD_POPULATION)
        .collect();
    pool.shuffle(&mut rng);
    let hot_cells: HashSet<CellIndex> = hotspots.iter().flat_map(|h| h.cells.iter().copied()).collect();
    let mut found = (Vec::new(), p::QUIET_MIN_DISTANCE_M);
    for min_m in [p::QUIET_MIN_DISTANCE_M, 8_000.0, 6_000.0, 4_000.0] {
        let mut cells = Vec::new();
        for c in pool.iter().filter(|c| far_from(c, anchors, min_m)) {
            if cells.len() == p::QUIET_CELLS {
                break;
            }
            if let Some(cell) = cell_of(c.lng, c.lat) {
                if !hot_cells.contains(&cell) && !cells.contains(&cell) {
                    cells.push(cell);
                }
            }
        }
        found = (cells, min_m);
        if found.0.len() == p::QUIET_CELLS {
            break;
        }
    }
    found
}

fn choose_hotspots(region: &Region, places: &Places, period: &Period, scale: f64, seed: u64) -> Vec<HotspotPlan> {
    let mut rng = rng_for(seed, Stream::Hotspots, 0);
    hotspot_places(region, places, &mut rng)
        .into_iter()
        .enumerate()
        .map(|(i, (c, kind))| plan_hotspot(i, c, kind, places, period, scale, &mut rng))
        .collect()
}

/// The hot spots' villages, by kind: spaced apart, in distinct counties where possible, on cells of
/// their own, and abnormal for their places even in their weakest weeks.
fn hotspot_places(region: &Region, places: &Places, rng: &mut ChaCha8Rng) -> Vec<(Candidate, HotspotKind)> {
    let mut pool = candidates(region, places, p::HOTSPOT_MIN_POPULATION);
    pool.shuffle(rng);
    let mut small_pool = candidates(region, places, p::NEW_MIN_POPULATION);
    small_pool.shuffle(rng);
    let villages = village_points(region);
    let sparse = |c: &Candidate| people_around(&villages, c) <= p::NEW_MAX_NEIGHBOURHOOD_POPULATION;
    let mut chosen: Vec<(Candidate, HotspotKind)> = Vec::new();
    let mut cells_taken: HashSet<CellIndex> = HashSet::new();
    for kind in HotspotKind::ALL {
        for _ in 0..p::HOTSPOTS_PER_KIND {
            let ok = |c: &Candidate, fresh_county: bool| {
                let spaced = chosen
                    .iter()
                    .all(|(o, _)| distance_m(c.lng, c.lat, o.lng, o.lat) >= p::HOTSPOT_MIN_SPACING_M);
                let county_ok = if fresh_county {
                    chosen.iter().all(|(o, _)| o.county != c.county)
                } else {
                    chosen.iter().all(|(o, k)| *k != kind || o.county != c.county)
                };
                let cells_free = cell_of(c.lng, c.lat)
                    .is_some_and(|cell| cell.grid_disk::<Vec<_>>(1).iter().all(|x| !cells_taken.contains(x)));
                // A new hot spot must be new: not on top of an existing concentration; every hot spot
                // abnormal for its place even in its weakest week.
                let background_ok = (kind != HotspotKind::New || sparse(c)) && abnormal_enough(&villages, c, kind);
                spaced && county_ok && cells_free && background_ok
            };
            let pool = if kind == HotspotKind::New { &small_pool } else { &pool };
            let pick = pool
                .iter()
                .find(|c| ok(c, true))
                .or_else(|| pool.iter().find(|c| ok(c, false)))
                .copied();
            if let Some(c) = pick {
                let cell = cell_of(c.lng, c.lat).expect("checked above");
                cells_taken.extend(cell.grid_disk::<Vec<_>>(1));
                chosen.push((c, kind));
            }
        }
    }
    chosen
}

/// The plan of hot spot `i` of `kind` at `c`: its cells, categories, start and weekly counts.
fn plan_hotspot(
    i: usize,
    c: Candidate,
    kind: HotspotKind,
    places: &Places,
    period: &Period,
    scale: f64,
    rng: &mut ChaCha8Rng,
) -> HotspotPlan {
    let weeks = period.weeks();
    let centre_cell = cell_of(c.lng, c.lat).expect("checked above");
    let mut cells = vec![centre_cell];
    cells.extend(
        centre_cell
            .grid_disk::<Vec<_>>(1)
            .into_iter()
            .filter(|&x| x != centre_cell),
    );
    let cell_centres = cells
        .iter()
        .map(|&x| {
            let ll = LatLng::from(x);
            (ll.lng(), ll.lat())
        })
        .collect();
    let n_categories = rng.random_range(1..=3);
    let mut categories = p::HOTSPOT_CATEGORIES.to_vec();
    categories.shuffle(rng);
    categories.truncate(n_categories);
    let weights: &[f64] = match n_categories {
        1 => &[1.0],
        2 => &[0.6, 0.4],
        _ => &[0.5, 0.3, 0.2],
    };
    let category_cumulative = weights
        .iter()
        .scan(0.0, |acc, w| {
            *acc += w;
            Some(*acc)
        })
        .collect();
    let last = weeks - 1;
    let start_week = match kind {
        HotspotKind::New => {
            let earliest = weeks.saturating_sub(p::NEW_START_WINDOW);
            let latest = weeks.saturating_sub(p::NEW_MIN_WEEKS).max(earliest);
            rng.random_range(earliest..=latest)
        }
        _ => 0,
    };
    let (rate_start, rate_end) = rate(kind, scale);
    let weekly = (0..weeks)
        .map(|w| {
            if w < start_week {
                return 0;
            }
            let t = if last > 0 { f64::from(w) / f64::from(last) } else { 1.0 };
            let full_week_rate = rate_start + (rate_end - rate_start) * t;
            let days = period.week_days[w as usize].len() as f64;
            poisson(full_week_rate * days / 7.0, rng)
        })
        .collect();
    HotspotPlan {
        id: format!("HS{:02}", i + 1),
        kind,
        village: c.id,
        place: places.nearest_in_village(c.id, c.lng, c.lat),
        centre: (c.lng, c.lat),
        cells,
        cell_centres,
        categories,
        category_cumulative,
        start_week,
        end_week: last,
        rate_start,
        rate_end,
        weekly,
    }
}

/// Weekly planted counts of a recurring problem: present with probability 0.75 a week, then topped
/// up so that every 8-week window holds at least 4 present weeks.
fn recurring_weeks<R: Rng>(weeks: u32, scale: f64, rng: &mut R) -> Vec<u32> {
    let n = weeks as usize;
    let mut present: Vec<bool> = (0..n)
        .map(|_| rng.random_bool(p::RECURRING_WEEKLY_PROBABILITY))
        .collect();
    let window = p::RECURRING_WINDOW.min(n);
    let need = p::RECURRING_MIN_PRESENT.min(window.div_ceil(2).max(1));
    for s in 0..=(n - window) {
        while present[s..s + window].iter().filter(|&&x| x).count() < need {
            let absent: Vec<usize> = (s..s + window).filter(|&w| !present[w]).collect();
            present[absent[rng.random_range(0..absent.len())]] = true;
        }
    }
    present
        .into_iter()
        .map(|on| {
            if on {
                let cases = f64::from(rng.random_range(1..=3u32)) * scale;
                stochastic_round(cases, rng).max(1)
            } else {
                0
            }
        })
        .collect()
}

fn choose_chains(
    region: &Region,
    places: &Places,
    period: &Period,
    scale: f64,
    seed: u64,
    plan: &Plan,
    quiet_centres: &[(f64, f64)],
) -> Vec<ChainPlan> {
    let mut rng = rng_for(seed, Stream::Chains, 0);
    let eligible = chain_villages(region, places, plan, quiet_centres);
    if eligible.is_empty() {
        return Vec::new();
    }
    let weights: Vec<f64> = eligible.iter().map(|&id| places.village_population(id)).collect();
    let category_weights: Vec<f64> = p::CHAIN_CATEGORIES.iter().map(|e| e.1).collect();
    let length_weights: Vec<f64> = p::CHAIN_LENGTH_WEIGHTS.iter().map(|e| e.1).collect();
    let n_days = period.days.len() as i64;
    let n = (p::CHAINS * scale).round() as usize;
    let mut parties = HashSet::new();
    let mut chains = Vec::with_capacity(n);
    for _ in 0..n {
        let village = eligible[draw_weighted(&weights, &mut rng)];
        let place = places.draw_in_village(village, &mut rng);
        let category = p::CHAIN_CATEGORIES[draw_weighted(&category_weights, &mut rng)].0;
        let party = loop {
            let party = Party::draw(&mut rng);
            if parties.insert((party.surname, party.number)) {
                break party;
            }
        };
        let Some(days) = chain_days(&length_weights, n_days, &mut rng) else {
            continue;
        };
        chains.push(ChainPlan {
            village,
            place,
            category,
            party,
            days,
        });
    }
    chains
}

/// Villages a repeat chain may be in: not a hot spot's or the spike's, with places of their own, all
/// of them away from the quiet cells and the hot spots.
fn chain_villages(region: &Region, places: &Places, plan: &Plan, quiet_centres: &[(f64, f64)]) -> Vec<UnitId> {
    let excluded: HashSet<UnitId> = plan
        .hotspots
        .iter()
        .map(|h| h.village)
        .chain(plan.spike.as_ref().map(|s| s.village))
        .collect();
    let hotspot_centres: Vec<(f64, f64)> = plan.hotspots.iter().map(|h| h.centre).collect();
    region
        .level(AdminLevel::Village)
        .map(|(id, _)| id)
        .filter(|id| !excluded.contains(id))
        .filter(|&id| {
            let pts = places.of_village(id);
            !pts.is_empty()
                && pts.iter().all(|&i| {
                    let pl = &places.places[i as usize];
                    quiet_centres
                        .iter()
                        .all(|&(x, y)| distance_m(pl.lng, pl.lat, x, y) >= 2_000.0)
                        && hotspot_centres
                            .iter()
                            .all(|&(x, y)| distance_m(pl.lng, pl.lat, x, y) >= 3_000.0)
                })
        })
        .collect()
}

/// The days of one chain: a drawn length and gaps, shortened to fit the period (`None` when even
/// two cases do not fit).
fn chain_days(length_weights: &[f64], n_days: i64, rng: &mut ChaCha8Rng) -> Option<Vec<u32>> {
    let mut len = p::CHAIN_LENGTH_WEIGHTS[draw_weighted(length_weights, rng)].0;
    let gaps: Vec<i64> = (1..len)
        .map(|_| rng.random_range(p::CHAIN_GAP_DAYS.0..=p::CHAIN_GAP_DAYS.1))
        .collect();
    let mut span: i64 = gaps.iter().sum();
    while len > 2 && span >= n_days {
        len -= 1;
        span = gaps[..len - 1].iter().sum();
    }
    if span >= n_days {
        return None;
    }
    let first = rng.random_range(0..n_days - span);
    let mut days = vec![first as u32];
    for g in &gaps[..len - 1] {
        days.push(days.last().expect("non-empty") + *g as u32);
    }
    Some(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> (&'static Region, Places, Period, Plan) {
        let region = crate::test_region();
        let places = Places::new(region).unwrap();
        let end = NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
        let period = Period::new(calendar::period_start(end, 12).unwrap(), end, 42);
        let plan = Plan::build(region, &places, &period, 1.0, 240_000, 42);
        (region, places, period, plan)
    }

    #[test]
    fn period_has_53_weeks_from_a_monday() {
        let (_, _, period, _) = plan();
        assert_eq!(period.days.len(), 365);
        assert_eq!(period.weeks(), 53);
        assert_eq!(period.week_days[0].len(), 2, "Sat 1 and Sun 2 November 2025");
        assert_eq!(period.week_days[52].len(), 6);
        assert_eq!(period.monday(1), NaiveDate::from_ymd_opt(2025, 11, 3).unwrap());
    }

    #[test]
    fn hot_spots_are_spread_out_and_disjoint() {
        let (region, _, _, plan) = plan();
        assert!(plan.enabled);
        assert_eq!(plan.hotspots.len(), 12);
        let counties: HashSet<UnitId> = plan
            .hotspots
            .iter()
            .map(|h| region.lineage(h.village).unwrap().county)
            .collect();
        assert!(counties.len() >= 11, "{}", counties.len());
        let mut cells = HashSet::new();
        for (i, a) in plan.hotspots.iter().enumerate() {
            assert_eq!(a.cells.len(), 7);
            assert!(a.cells.iter().all(|c| cells.insert(*c)), "cells shared");
            let minimum = if a.kind == HotspotKind::New {
                p::NEW_MIN_POPULATION
            } else {
                p::HOTSPOT_MIN_POPULATION
            };
            assert!(region.units[a.village as usize].population.unwrap() >= minimum);
            for b in &plan.hotspots[i + 1..] {
                assert!(distance_m(a.centre.0, a.centre.1, b.centre.0, b.centre.1) >= p::HOTSPOT_MIN_SPACING_M);
            }
            for kind_mate in plan.hotspots.iter().filter(|b| b.kind == a.kind && b.id != a.id) {
                assert_ne!(
                    region.lineage(a.village).unwrap().county,
                    region.lineage(kind_mate.village).unwrap().county
                );
            }
        }
        for c in &plan.quiet_cells {
            assert!(!cells.contains(c));
        }
        assert_eq!(plan.quiet_cells.len(), p::QUIET_CELLS);
        assert_eq!(plan.quiet_min_distance_m, p::QUIET_MIN_DISTANCE_M);
    }

    #[test]
    fn a_recurring_weeks_cases_stay_in_one_step_counted_back_from_the_last_day() {
        let first_end = NaiveDate::from_ymd_opt(2026, 10, 26).unwrap();
        for end in first_end.iter_days().take(7) {
            let period = Period::new(calendar::period_start(end, 3).unwrap(), end, 1);
            let step_of = |d: u32| (end - period.days[d as usize]).num_days() / 7;
            let mut steps_seen = HashSet::new();
            for w in 0..period.weeks() {
                let days = period.recurrence_days(w);
                assert!(!days.is_empty(), "end {end}, week {w}");
                assert!(days.iter().all(|d| period.week_days[w as usize].contains(d)));
                if period.week_days[w as usize].len() == 7 {
                    let steps: HashSet<i64> = days.iter().map(|&d| step_of(d)).collect();
                    assert_eq!(steps.len(), 1, "end {end}, week {w}: {steps:?}");
                    assert!(steps_seen.insert(steps.into_iter().next()), "end {end}, week {w}");
                    assert!(days.len() >= 4, "end {end}, week {w}: most of the week");
                }
            }
        }
    }

    #[test]
    fn recurring_problems_hold_four_of_every_eight_weeks() {
        let (_, _, _, plan) = plan();
        assert!(plan.recurring.len() >= 10);
        for r in &plan.recurring {
            for w in r.weekly.windows(8) {
                assert!(w.iter().filter(|&&n| n > 0).count() >= 4, "{:?}", r.weekly);
            }
        }
    }

    #[test]
    fn chains_are_spaced_and_the_schedule_adds_up() {
        let (_, _, period, plan) = plan();
        assert!(plan.chains.len() >= 40);
        for c in &plan.chains {
            assert!((2..=5).contains(&c.days.len()));
            for w in c.days.windows(2) {
                assert!((3..=30).contains(&(w[1] - w[0])), "{:?}", c.days);
            }
            assert!((*c.days.last().unwrap() as usize) < period.days.len());
        }
        let scheduled: u64 = plan.by_day.iter().flatten().map(|e| u64::from(e.count)).sum();
        assert_eq!(scheduled, plan.total);
        let hot: u64 = plan
            .hotspots
            .iter()
            .flat_map(|h| &h.weekly)
            .map(|&n| u64::from(n))
            .sum();
        assert_eq!(hot, plan.hotspot_total);
        let spike = plan.spike.as_ref().unwrap();
        assert_eq!(spike.week, period.weeks() - 2);
        assert_eq!(spike.daily.iter().sum::<u32>(), 30);
        assert_eq!(spike.days.len(), 3);
        assert!(spike.days.windows(2).all(|w| w[1] == w[0] + 1));
    }

    #[test]
    fn tiny_data_sets_carry_no_patterns() {
        let region = crate::test_region();
        let places = Places::new(region).unwrap();
        let end = NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
        let period = Period::new(calendar::period_start(end, 12).unwrap(), end, 1);
        let plan = Plan::build(region, &places, &period, 100.0 / 240_000.0, 100, 1);
        assert!(!plan.enabled);
        assert_eq!(plan.total, 0);
        assert!(plan.by_day.iter().all(|d| d.is_empty()));
    }
}
