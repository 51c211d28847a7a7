//! One day of cases: background cases drawn from the day's tables, plus the planted cases the plan
//! puts on that day, each with its life cycle as of the end of the period.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use fengqiao_ingest::coords::Crs;
use fengqiao_ingest::model::{close_deadline_days, CaseClass, Category, Channel, Satisfaction, Severity, Status};
use h3o::LatLng;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp};

use crate::names::Party;
use crate::plan::{Event, Period, Plan, Source, PLANT_RESOLUTION};
use crate::space::{jitter, uniform_in_disc, Places};
use crate::targets::{self, planted::HOTSPOT_POINT_RADIUS_M};
use crate::{rng_for, Stream};

/// One generated case (codes as indices; the writer turns them into text).
#[derive(Debug, Clone)]
pub struct Case {
    pub reported: NaiveDateTime,
    pub class: CaseClass,
    pub category: Category,
    pub severity: Severity,
    pub channel: Channel,
    pub status: Status,
    /// Index into [`Places::places`].
    pub place: u32,
    /// Whether the grid code is written (else only the village code).
    pub grid_recorded: bool,
    /// Coordinates as reported, in their CRS.
    pub coords: Option<(f64, f64, Crs)>,
    pub replied: Option<NaiveDateTime>,
    pub closed: Option<NaiveDateTime>,
    pub updated: NaiveDateTime,
    pub satisfaction: Option<Satisfaction>,
    pub party: Party,
    pub summary_variant: u8,
    /// Chain and position, for planted repeat cases.
    pub chain: Option<(u32, u8)>,
    /// Sequence number within the day (1-based), in order of reporting.
    pub seq: u32,
    /// The case this one repeats (day and sequence), filled in once the earlier case has an id.
    pub repeat_of: Option<(NaiveDate, u32)>,
}

/// Cumulative weights of a discrete distribution.
#[derive(Debug, Clone)]
pub struct Cumulative(Vec<f64>);

impl Cumulative {
    pub fn new(weights: impl IntoIterator<Item = f64>) -> Cumulative {
        let mut acc = 0.0;
        Cumulative(
            weights
                .into_iter()
                .map(|w| {
                    acc += w.max(0.0);
                    acc
                })
                .collect(),
        )
    }

    pub fn draw<R: Rng>(&self, rng: &mut R) -> usize {
        Cumulative::draw_from(&self.0, rng)
    }

    /// The probability of index `i`.
    pub fn probability(&self, i: usize) -> f64 {
        let total = *self.0.last().expect("non-empty distribution");
        let prev = if i == 0 { 0.0 } else { self.0[i - 1] };
        if total > 0.0 {
            (self.0[i] - prev) / total
        } else {
            0.0
        }
    }

    /// Draws an index from cumulative weights.
    pub fn draw_from<R: Rng>(cumulative: &[f64], rng: &mut R) -> usize {
        let total = *cumulative.last().expect("non-empty distribution");
        let x = rng.random::<f64>() * total;
        cumulative.partition_point(|&c| c <= x).min(cumulative.len() - 1)
    }
}

/// The distributions cases are drawn from.
#[derive(Debug, Clone)]
pub struct Tables {
    /// Class of a background case (`CaseClass::ALL` order), adjusted for the planted disputes.
    pub class: Cumulative,
    /// Category of a background case per day and class (`Category::ALL` order).
    pub category: Vec<[Cumulative; 5]>,
    pub severity: Cumulative,
    pub channel: Cumulative,
    pub crs: Cumulative,
    pub satisfaction: Cumulative,
    pub office_hours: Cumulative,
    pub round_the_clock: Cumulative,
    /// Probability that a non-hot-spot case has no coordinates / only a village code (adjusted
    /// because hot-spot cases always carry both).
    pub no_coordinates: f64,
    pub village_only: f64,
    /// Background cases of each day.
    pub background: Vec<u64>,
}

/// What the generation of a day needs.
pub struct DayContext<'a> {
    pub places: &'a Places,
    /// Relative risks of the villages' background, when the data are over-dispersed.
    pub risk: Option<&'a crate::dispersion::BackgroundRisk>,
    pub period: &'a Period,
    pub plan: &'a Plan,
    pub tables: &'a Tables,
    /// The end of the period (23:59:59 of the last day): the "now" of the life cycles.
    pub now: NaiveDateTime,
    pub seed: u64,
}

/// Generates the cases of day `index`, sorted by reporting time and numbered.
pub fn generate_day(ctx: &DayContext<'_>, index: usize) -> Vec<Case> {
    let date = ctx.period.days[index];
    let mut rng = rng_for(ctx.seed, Stream::Day, date.num_days_from_ce() as u64);
    let background = ctx.tables.background[index] as usize;
    let planted: u32 = ctx.plan.by_day[index].iter().map(|e| e.count).sum();
    let mut cases = Vec::with_capacity(background + planted as usize);
    let class_tables = &ctx.tables.category[index];
    for _ in 0..background {
        let class = CaseClass::ALL[ctx.tables.class.draw(&mut rng)];
        let category = Category::ALL[class_tables[class as usize].draw(&mut rng)];
        let place = match ctx.risk {
            Some(risk) => risk.draw(ctx.places, index, &mut rng),
            None => ctx.places.draw(&mut rng),
        };
        cases.push(make_case(ctx, &mut rng, date, class, category, place, None, None));
    }
    for event in &ctx.plan.by_day[index] {
        for _ in 0..event.count {
            cases.push(planted_case(ctx, &mut rng, date, event));
        }
    }
    cases.sort_by_key(|c| c.reported);
    for (i, c) in cases.iter_mut().enumerate() {
        c.seq = i as u32 + 1;
    }
    cases
}

fn planted_case(ctx: &DayContext<'_>, rng: &mut ChaCha8Rng, date: NaiveDate, event: &Event) -> Case {
    let plan = ctx.plan;
    match event.source {
        Source::Hotspot(h) => {
            let hp = &plan.hotspots[h as usize];
            let category = hp.categories[Cumulative::draw_from(&hp.category_cumulative, rng)];
            let k = rng.random_range(0..hp.cells.len());
            let (cx, cy) = hp.cell_centres[k];
            let mut point = (cx, cy);
            for _ in 0..16 {
                let (x, y) = uniform_in_disc(cx, cy, HOTSPOT_POINT_RADIUS_M, rng);
                if LatLng::new(y, x).is_ok_and(|ll| ll.to_cell(PLANT_RESOLUTION) == hp.cells[k]) {
                    point = (x, y);
                    break;
                }
            }
            let mut case = make_case(
                ctx,
                rng,
                date,
                CaseClass::Dispute,
                category,
                hp.place,
                Some(point),
                None,
            );
            case.grid_recorded = ctx.places.places[hp.place as usize].grid.is_some();
            case
        }
        Source::Recurring(r) => {
            let rp = &plan.recurring[r as usize];
            let place = ctx.places.draw_in_village(rp.village, rng);
            make_case(ctx, rng, date, CaseClass::Dispute, rp.category, place, None, None)
        }
        Source::Spike => {
            let sp = plan.spike.as_ref().expect("spike events only exist with a spike");
            let place = ctx.places.draw_in_village(sp.village, rng);
            make_case(ctx, rng, date, CaseClass::Dispute, sp.category, place, None, None)
        }
        Source::Chain { chain, pos } => {
            let cp = &plan.chains[chain as usize];
            let mut case = make_case(
                ctx,
                rng,
                date,
                CaseClass::Dispute,
                cp.category,
                cp.place,
                None,
                Some(cp.party),
            );
            case.chain = Some((chain, pos));
            case
        }
    }
}

/// A case of `class` and `category` at `place` on `date`. `point` forces coordinates (WGS84) for
/// hot-spot cases; `party` fixes the party for chains.
#[allow(clippy::too_many_arguments)]
fn make_case(
    ctx: &DayContext<'_>,
    rng: &mut ChaCha8Rng,
    date: NaiveDate,
    class: CaseClass,
    category: Category,
    place: u32,
    point: Option<(f64, f64)>,
    party: Option<Party>,
) -> Case {
    let t = ctx.tables;
    let severity = Severity::ALL[t.severity.draw(rng)];
    let channel = Channel::ALL[t.channel.draw(rng)];
    let hours = if targets::office_channel(channel) {
        &t.office_hours
    } else {
        &t.round_the_clock
    };
    let hour = hours.draw(rng) as u32;
    let second_of_hour = rng.random_range(0..3600u32);
    let time = NaiveTime::from_num_seconds_from_midnight_opt(hour * 3600 + second_of_hour, 0).expect("valid time");
    let reported = date.and_time(time);

    let pl = &ctx.places.places[place as usize];
    let (grid_recorded, wgs84) = match point {
        Some(p) => (pl.grid.is_some(), Some(p)),
        None => {
            let grid_recorded = pl.grid.is_some() && !rng.random_bool(t.village_only);
            let with_coords = !rng.random_bool(t.no_coordinates);
            (grid_recorded, with_coords.then(|| jitter(pl.lng, pl.lat, rng)))
        }
    };
    let coords = wgs84.map(|(lng, lat)| {
        let crs = targets::CRS_SHARES[t.crs.draw(rng)].0;
        let (x, y) = crs.from_wgs84(lng, lat);
        (x, y, crs)
    });

    let life = life_cycle(rng, t, class, severity, reported, ctx.now);
    Case {
        reported,
        class,
        category,
        severity,
        channel,
        status: life.status,
        place,
        grid_recorded,
        coords,
        replied: life.replied,
        closed: life.closed,
        updated: life.updated,
        satisfaction: life.satisfaction,
        party: party.unwrap_or_else(|| Party::draw(rng)),
        summary_variant: rng.random_range(0..2),
        chain: None,
        seq: 0,
        repeat_of: None,
    }
}

/// The state of a case at `now`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LifeCycle {
    pub status: Status,
    pub replied: Option<NaiveDateTime>,
    pub closed: Option<NaiveDateTime>,
    pub updated: NaiveDateTime,
    pub satisfaction: Option<Satisfaction>,
}

fn secs(s: f64) -> TimeDelta {
    TimeDelta::seconds(s.round() as i64)
}

const HOUR: f64 = 3600.0;
const DAY: f64 = 86_400.0;

/// Seconds from report to closing: mostly within the deadline of the class and severity (a Beta
/// share of it), the rest late by up to three deadlines more.
fn time_to_close<R: Rng>(rng: &mut R, class: CaseClass, severity: Severity) -> f64 {
    let deadline = f64::from(close_deadline_days(class, severity)) * DAY;
    if rng.random_bool(targets::WITHIN_DEADLINE_SHARE) {
        // Consultations are mostly answered on the spot; other items take a good part of their time.
        let (a, b) = if class == CaseClass::Consultation {
            (0.7, 4.0)
        } else {
            (1.4, 2.2)
        };
        let f: f64 = Beta::new(a, b).expect("valid shape").sample(rng);
        (f * deadline).clamp(900.0, deadline - 60.0)
    } else {
        let over: f64 = Exp::new(2.0).expect("valid rate").sample(rng);
        deadline * (1.0 + over.min(3.0)) + 60.0
    }
}

/// Seconds from report to the first reply: fast (within a day), slow (4–48 h) or late (2–6 days).
fn time_to_reply<R: Rng>(rng: &mut R) -> f64 {
    let u: f64 = rng.random();
    if u < targets::REPLY_FAST_SHARE {
        let e: f64 = Exp::new(1.0 / (targets::REPLY_FAST_MEAN_H * HOUR))
            .expect("valid rate")
            .sample(rng);
        e.clamp(300.0, 24.0 * HOUR)
    } else if u < targets::REPLY_FAST_SHARE + targets::REPLY_SLOW_SHARE {
        rng.random_range(4.0 * HOUR..48.0 * HOUR)
    } else {
        rng.random_range(2.0 * DAY..6.0 * DAY)
    }
}

/// Draws how a case reported at `reported` has gone by `now`: the first reply, the closing (≈87 %
/// within the deadline of its class and severity), the status, the call-back.
pub fn life_cycle<R: Rng>(
    rng: &mut R,
    t: &Tables,
    class: CaseClass,
    severity: Severity,
    reported: NaiveDateTime,
    now: NaiveDateTime,
) -> LifeCycle {
    let duration = time_to_close(rng, class, severity);
    let closed_at = reported + secs(duration);

    let delay = time_to_reply(rng);
    let replied_at = (reported + secs(delay)).min(closed_at);
    let replied = (replied_at <= now).then_some(replied_at);

    if closed_at <= now {
        let status = if class == CaseClass::Dispute {
            if rng.random_bool(targets::UNRESOLVED_SHARE) {
                Status::Unresolved
            } else {
                Status::Resolved
            }
        } else {
            Status::Closed
        };
        let mut updated = closed_at;
        let mut satisfaction = None;
        if rng.random_bool(targets::SATISFACTION_RESPONSE_SHARE) {
            let callback = closed_at + secs(rng.random_range(HOUR..72.0 * HOUR));
            if callback <= now {
                satisfaction = Some(Satisfaction::ALL[t.satisfaction.draw(rng)]);
                updated = callback;
            }
        }
        return LifeCycle {
            status,
            replied,
            closed: Some(closed_at),
            updated,
            satisfaction,
        };
    }
    let (status, updated) = match replied {
        None => (Status::Received, reported),
        Some(r) if now - reported < TimeDelta::days(2) => (Status::Assigned, r),
        Some(r) => {
            let span = (now - r).num_seconds().max(0) as f64;
            (Status::InProgress, r + secs(rng.random::<f64>() * span))
        }
    };
    LifeCycle {
        status,
        replied,
        closed: None,
        updated,
        satisfaction: None,
    }
}
