//! The content of a leaders' briefing — the weekly hot-spot briefing (周研判) and the monthly
//! 《矛盾纠纷研判预警专报》 — as one plain value, [`Briefing`], built by [`briefing`] from the store.
//!
//! Every figure comes from the same function the API uses for the same question, called with the
//! options the API would use (`docs/briefing.md` lists the equivalent API calls):
//! headline figures from [`kpi::summary_of`] (this period, the one before, the same period a year
//! earlier); hot-spot clusters from [`hotspot::heatmap`] (res 8, k = 1, the shipped rules); emerging
//! hot spots from [`cube::cube`] + [`emerging::emerging_hot_spots`]; recurring problems from
//! [`recurring::recurring`]; alerts from [`warning::alerts`]; category trends from
//! [`kpi::summary_of`] per step. Two figures exist only here: overdue cases by county at the period's
//! end ([`overdue_by_county`]) and the call-back sample ([`callback_sample`]).
//!
//! Only aggregates and case ids leave this module: no party, phone, address or case text.

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime};
use duckdb::Connection;
use fengqiao_ingest::model::{AdminLevel, Category, Satisfaction};
use fengqiao_ingest::Region;
use serde::Serialize;

use crate::aggregate::SeverityWeights;
use crate::cube::{cube, periods, CubeOptions, Space, Step};
use crate::departments::{Department, Departments};
use crate::emerging::{emerging_hot_spots, EmergingOptions, LocationTrend};
use crate::filter::Filter;
use crate::hotspot::{heatmap, Cluster, HeatmapOptions};
use crate::kpi::{deadline_days_sql, summary_of, Summary};
use crate::measure::Measure;
use crate::pattern::Pattern;
use crate::recurring::{recurring, RecurringOptions, RecurringProblem};
use crate::response::Rules;
use crate::warning::{alerts, Alert, AlertOptions};
use crate::AnalyticsError;

/// Weekly or monthly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    Week,
    Month,
}

/// The period a briefing covers: an ISO week (`2026-W44`, Monday to Sunday) or a calendar month
/// (`2026-10`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportPeriod {
    pub kind: PeriodKind,
    /// `2026-W44` or `2026-10`.
    pub id: String,
    pub first_day: NaiveDate,
    /// Inclusive.
    pub last_day: NaiveDate,
}

impl ReportPeriod {
    /// The ISO week `id` (`2026-W44`, also `2026W44`, `2026-w44`).
    pub fn week(id: &str) -> Result<ReportPeriod, AnalyticsError> {
        let bad = || AnalyticsError::Period(format!("{id:?} is not an ISO week like 2026-W44"));
        let upper = id.trim().to_ascii_uppercase();
        let (year, week) = upper.split_once('W').ok_or_else(bad)?;
        let year: i32 = year.trim_end_matches('-').parse().map_err(|_| bad())?;
        let week: u32 = week.parse().map_err(|_| bad())?;
        ReportPeriod::iso_week(year, week).ok_or_else(bad)
    }

    fn iso_week(year: i32, week: u32) -> Option<ReportPeriod> {
        let first_day = NaiveDate::from_isoywd_opt(year, week, chrono::Weekday::Mon)?;
        Some(ReportPeriod {
            kind: PeriodKind::Week,
            id: format!("{year}-W{week:02}"),
            first_day,
            last_day: first_day + Duration::days(6),
        })
    }

    /// The calendar month `id` (`2026-10`).
    pub fn month(id: &str) -> Result<ReportPeriod, AnalyticsError> {
        let bad = || AnalyticsError::Period(format!("{id:?} is not a month like 2026-10"));
        let (year, month) = id.trim().split_once('-').ok_or_else(bad)?;
        let year: i32 = year.parse().map_err(|_| bad())?;
        let month: u32 = month.parse().map_err(|_| bad())?;
        ReportPeriod::calendar_month(year, month).ok_or_else(bad)
    }

    fn calendar_month(year: i32, month: u32) -> Option<ReportPeriod> {
        let first_day = NaiveDate::from_ymd_opt(year, month, 1)?;
        Some(ReportPeriod {
            kind: PeriodKind::Month,
            id: format!("{year}-{month:02}"),
            first_day,
            last_day: first_day + Months::new(1) - Duration::days(1),
        })
    }

    /// The period just before (last week, last month).
    pub fn previous(&self) -> ReportPeriod {
        let day = self.first_day - Duration::days(1);
        match self.kind {
            PeriodKind::Week => {
                let iso = day.iso_week();
                ReportPeriod::iso_week(iso.year(), iso.week()).expect("an existing week")
            }
            PeriodKind::Month => ReportPeriod::calendar_month(day.year(), day.month()).expect("an existing month"),
        }
    }

    /// The same period a year earlier: the same ISO week number (week 52 for a week 53 in a year
    /// without one), or the same month.
    pub fn year_before(&self) -> ReportPeriod {
        match self.kind {
            PeriodKind::Week => {
                let iso = self.first_day.iso_week();
                ReportPeriod::iso_week(iso.year() - 1, iso.week())
                    .or_else(|| ReportPeriod::iso_week(iso.year() - 1, 52))
                    .expect("week 52 exists every year")
            }
            PeriodKind::Month => ReportPeriod::calendar_month(self.first_day.year() - 1, self.first_day.month())
                .expect("an existing month"),
        }
    }

    /// The first moment of the period.
    pub fn from(&self) -> NaiveDateTime {
        self.first_day.and_hms_opt(0, 0, 0).expect("midnight")
    }

    /// The first moment after the period (the filter's exclusive end).
    pub fn to(&self) -> NaiveDateTime {
        (self.last_day + Duration::days(1))
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
    }

    /// The cases reported in the period, in `unit` when given.
    pub fn filter(&self, unit: Option<&str>) -> Filter {
        Filter {
            from: Some(self.from()),
            to: Some(self.to()),
            unit: unit.map(str::to_string),
            ..Filter::default()
        }
    }

    /// The step of the period's trend series.
    pub fn step(&self) -> Step {
        match self.kind {
            PeriodKind::Week => Step::Week,
            PeriodKind::Month => Step::Month,
        }
    }

    /// `2026年第44周（10月26日至11月1日）` or `2026年10月`.
    pub fn title_zh(&self) -> String {
        match self.kind {
            PeriodKind::Week => {
                let iso = self.first_day.iso_week();
                format!(
                    "{}年第{}周（{}月{}日至{}月{}日）",
                    iso.year(),
                    iso.week(),
                    self.first_day.month(),
                    self.first_day.day(),
                    self.last_day.month(),
                    self.last_day.day()
                )
            }
            PeriodKind::Month => format!("{}年{}月", self.first_day.year(), self.first_day.month()),
        }
    }
}

/// What to build.
#[derive(Debug, Clone)]
pub struct BriefingOptions {
    pub period: ReportPeriod,
    /// The unit reported on (county, township, …); the whole region when `None`.
    pub unit: Option<String>,
    /// Rows of the cluster, emerging, recurring and alert tables.
    pub top: usize,
    /// Steps of the category trend charts.
    pub trend_steps: usize,
    /// Seed of the call-back sample's order.
    pub seed: u64,
    pub rules: Rules,
    pub departments: Departments,
    /// What the hot-spot, emerging and 类案 sections measure: risk (the default) or workload.
    pub measure: Measure,
}

impl BriefingOptions {
    pub fn new(period: ReportPeriod) -> BriefingOptions {
        BriefingOptions {
            period,
            unit: None,
            top: 10,
            trend_steps: 12,
            seed: 0,
            rules: Rules::default(),
            departments: Departments::default(),
            measure: Measure::default(),
        }
    }
}

/// A hot or cold cell of the period's heat map (for the map figure).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapCell {
    pub h3: String,
    /// ArcGIS bin, ±1..±3.
    pub confidence: i8,
    /// The `id` of its cluster.
    pub cluster: Option<usize>,
}

impl MapCell {
    fn of(c: &crate::hotspot::HeatCell) -> MapCell {
        MapCell {
            h3: c.h3.clone(),
            confidence: c.confidence,
            cluster: c.cluster,
        }
    }
}

/// What the briefing adds to a hot-spot cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterNote {
    /// Cases in the cluster's cells in the last [`CLUSTER_STEPS`] steps up to the period (oldest
    /// first; the last equals the cluster's cases).
    pub recent: Vec<u64>,
    /// Who leads on the cluster's main category, and who supports.
    pub department: Department,
}

/// Steps of a cluster's recent series.
pub const CLUSTER_STEPS: usize = 4;

/// Overdue cases of one county under the "137+2030" limits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CountyOverdue {
    pub code: String,
    pub name: String,
    /// Cases reported before the period's end whose deadline passed by then and that were not
    /// finished by then (逾期未办结).
    pub overdue_open: u64,
    /// Cases finished within the period after their deadline (超期办结).
    pub closed_late: u64,
    /// Cases finished within the period.
    pub closed: u64,
}

/// Intake per category over the trend steps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryTrend {
    /// Step labels (`2026-W44`, `2026-10`), oldest first.
    pub labels: Vec<String>,
    /// Intake per step.
    pub totals: Vec<u64>,
    /// The categories with most cases over the steps, largest first, with their counts per step.
    pub series: Vec<(Category, Vec<u64>)>,
    /// 办结率 per step.
    pub closure_rate: Vec<f64>,
}

/// The call-back sample of one satisfaction level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallbackStratum {
    pub satisfaction: Satisfaction,
    /// Share drawn: 1% very satisfied, 5% satisfied, 10% basic, 20% dissatisfied.
    pub rate: f64,
    /// Cases finished in the period with this answer.
    pub population: u64,
    /// The drawn cases' ids, sorted.
    pub case_ids: Vec<String>,
}

/// The sampling rate of each satisfaction level: the less satisfied, the more is checked.
pub fn callback_rate(level: Satisfaction) -> f64 {
    match level {
        Satisfaction::VerySatisfied => 0.01,
        Satisfaction::Satisfied => 0.05,
        Satisfaction::Basic => 0.10,
        Satisfaction::Dissatisfied => 0.20,
    }
}

/// The patterns the briefing reports as new or intensifying emerging hot spots.
pub const EMERGING_PATTERNS: [Pattern; 3] = [
    Pattern::NewHotSpot,
    Pattern::ConsecutiveHotSpot,
    Pattern::IntensifyingHotSpot,
];

/// Everything a briefing says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Briefing {
    pub period: ReportPeriod,
    pub previous: ReportPeriod,
    pub year_before: ReportPeriod,
    /// The unit reported on (the region's code when none was given).
    pub unit_code: String,
    pub unit_name: String,
    pub region_name: String,
    /// What the hot-spot clusters, the map, the emerging hot spots and the 类案 measure (the
    /// KPIs, the overdue table and the trend chart are counts; alerts compare with expected counts).
    pub measure: Measure,
    /// The heat map's figures of risk (residents, the region's rate, dispersion), risk measures only.
    pub risk: Option<crate::hotspot::RiskSummary>,
    /// First and last day with cases in the unit.
    pub data_first_day: Option<NaiveDate>,
    pub data_last_day: Option<NaiveDate>,
    pub current: Summary,
    pub last_period: Summary,
    /// `None` unless the store's cases span the whole of the same period a year earlier.
    pub last_year: Option<Summary>,
    /// The period's hot-spot clusters with cases, hottest first: `/api/hotspots` for the period
    /// (`fengqiao hotspots` also lists clusters without cases).
    pub clusters: Vec<Cluster>,
    /// Per cluster, in the same order.
    pub cluster_notes: Vec<ClusterNote>,
    /// Weeks the heat map spans.
    pub heat_weeks: f64,
    /// Hot and cold cells of the heat map (res 8).
    pub map_cells: Vec<MapCell>,
    /// Locations with an [`EMERGING_PATTERNS`] pattern, most cases first (at most `top`).
    pub emerging: Vec<LocationTrend>,
    /// Steps of the emerging analysis.
    pub emerging_periods: Vec<String>,
    pub recurring: Vec<RecurringProblem>,
    pub alerts: Vec<Alert>,
    pub overdue: Vec<CountyOverdue>,
    pub trend: CategoryTrend,
    pub callback: Vec<CallbackStratum>,
    /// The seed the call-back sample was drawn with.
    pub callback_seed: u64,
    /// The name of the response rules the clusters were levelled by.
    pub rules_name: String,
}

/// What a briefing directory holds, as its `manifest.json` says: written by the report writer, read
/// by the server's `/briefings/` listing (which decides access by `unit_code`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Manifest {
    /// `week` or `month`.
    pub kind: String,
    /// `2026-W44` or `2026-10`.
    pub period: String,
    pub title: String,
    /// The unit reported on (the region's code for the whole region).
    pub unit_code: String,
    pub unit_name: String,
    /// The files of the directory, PDF first.
    pub files: Vec<String>,
}

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";

/// The heat map's resolution and neighbourhood: the API's defaults.
pub const HEAT_RES: h3o::Resolution = h3o::Resolution::Eight;

/// Builds the briefing of `opts.period`.
pub fn briefing(conn: &Connection, region: &Region, opts: &BriefingOptions) -> Result<Briefing, AnalyticsError> {
    let period = &opts.period;
    let unit = opts.unit.as_deref();
    let unit_ref = briefing_unit(region, opts)?;
    let (data_first_day, data_last_day) = data_days(conn, region, unit)?;

    let filter = period.filter(unit);
    let (previous, year_before) = (period.previous(), period.year_before());
    let current = summary_of(conn, region, &filter)?;
    let last_period = summary_of(conn, region, &previous.filter(unit))?;
    // The year before only when the data cover it.
    let covered = data_first_day
        .zip(data_last_day)
        .is_some_and(|(first, last)| first <= year_before.first_day && last >= year_before.last_day);
    let last_year = if covered {
        Some(summary_of(conn, region, &year_before.filter(unit))?)
    } else {
        None
    };

    let map = hot_spot_map(conn, region, opts, &filter)?;
    let map_cells = map
        .cells
        .iter()
        .filter(|c| c.confidence != 0)
        .map(MapCell::of)
        .collect();

    // Trends up to the period's end: the filter keeps the unit and the end, not the start.
    let history = Filter {
        from: None,
        ..filter.clone()
    };
    let cube = trend_cube(conn, region, opts, &history)?;
    let notes = cluster_notes(&map.clusters, &cube, &opts.departments);
    // As `/api/hotspots` lists them: clusters with cases (one hot only through its neighbours has no
    // village and no case; `fengqiao hotspots` lists those too).
    let (clusters, cluster_notes): (Vec<Cluster>, Vec<ClusterNote>) = map
        .clusters
        .into_iter()
        .zip(notes)
        .filter(|(c, _)| !c.villages.is_empty())
        .unzip();
    let (emerging, emerging_periods) = emerging_in(region, &cube, opts.top);

    let (recurring_problems, alert_list) = recurring_and_alerts(conn, region, opts, history)?;

    Ok(Briefing {
        period: period.clone(),
        previous,
        year_before,
        unit_code: unit_ref.code.clone(),
        unit_name: unit_ref.name.clone(),
        region_name: region.name.clone(),
        measure: opts.measure,
        risk: map.risk.clone(),
        data_first_day,
        data_last_day,
        current,
        last_period,
        last_year,
        clusters,
        cluster_notes,
        heat_weeks: map.weeks,
        map_cells,
        emerging,
        emerging_periods,
        recurring: recurring_problems,
        alerts: alert_list,
        overdue: overdue_by_county(conn, region, period, unit)?,
        trend: category_trend(conn, region, period, unit, opts.trend_steps)?,
        callback: callback_sample(conn, region, period, unit, opts.seed)?,
        callback_seed: opts.seed,
        rules_name: opts.rules.name.clone(),
    })
}

/// The unit a briefing reports on (the region's root without `opts.unit`).
fn briefing_unit<'r>(
    region: &'r Region,
    opts: &BriefingOptions,
) -> Result<&'r fengqiao_ingest::region::AdminUnit, AnalyticsError> {
    let id = Filter {
        unit: opts.unit.clone(),
        ..Filter::default()
    }
    .unit_id(region)?;
    Ok(&region.units[id.unwrap_or(0) as usize])
}

/// The top 类案 and early-warning alerts up to the period's end.
fn recurring_and_alerts(
    conn: &Connection,
    region: &Region,
    opts: &BriefingOptions,
    history: Filter,
) -> Result<(Vec<RecurringProblem>, Vec<Alert>), AnalyticsError> {
    let mut report = recurring(
        conn,
        region,
        &opts.departments,
        &RecurringOptions {
            last_day: Some(opts.period.last_day),
            filter: history.clone(),
            measure: opts.measure,
            ..RecurringOptions::default()
        },
    )?;
    report.problems.truncate(opts.top);
    let mut alert_opts = AlertOptions::new(opts.period.last_day);
    alert_opts.limit = Some(opts.top);
    alert_opts.filter = history;
    Ok((report.problems, alerts(conn, region, &opts.departments, &alert_opts)?))
}

/// Hot spots: the API's heat map for the period, judged at its end.
fn hot_spot_map(
    conn: &Connection,
    region: &Region,
    opts: &BriefingOptions,
    filter: &Filter,
) -> Result<crate::hotspot::Heatmap, AnalyticsError> {
    heatmap(
        conn,
        region,
        &HeatmapOptions {
            res: HEAT_RES,
            k: 1,
            kernel: false,
            filter: filter.clone(),
            weights: SeverityWeights::default(),
            as_of: opts.period.to(),
            rules: opts.rules.clone(),
            measure: opts.measure,
            risk: crate::measure::RiskOptions::default(),
        },
    )
}

/// The res-8 cube of the two years (by month) or the year (by week) up to the period's end.
fn trend_cube(
    conn: &Connection,
    region: &Region,
    opts: &BriefingOptions,
    history: &Filter,
) -> Result<crate::cube::Cube, AnalyticsError> {
    let step = opts.period.step();
    let steps = match step {
        Step::Month => 24,
        _ => 52,
    };
    cube(
        conn,
        region,
        &CubeOptions {
            space: Space::Cells(HEAT_RES),
            step,
            steps,
            last_day: Some(opts.period.last_day),
            filter: history.clone(),
            measure: opts.measure,
        },
    )
}

/// The `top` emerging locations (new, intensifying, … in that order, then by cases) and the
/// periods they were judged over.
fn emerging_in(region: &Region, cube: &crate::cube::Cube, top: usize) -> (Vec<LocationTrend>, Vec<String>) {
    let result = emerging_hot_spots(region, cube, &EmergingOptions::default());
    let mut emerging: Vec<LocationTrend> = result
        .locations
        .into_iter()
        .filter(|l| EMERGING_PATTERNS.contains(&l.pattern))
        .collect();
    emerging.sort_by(|a, b| {
        let rank = |p: Pattern| EMERGING_PATTERNS.iter().position(|&q| q == p);
        rank(a.pattern)
            .cmp(&rank(b.pattern))
            .then(b.total.cmp(&a.total))
            .then(a.location.cmp(&b.location))
    });
    emerging.truncate(top);
    (emerging, result.periods)
}

/// Each cluster's recent series (from the cube's res-8 cells) and department.
fn cluster_notes(clusters: &[Cluster], cube: &crate::cube::Cube, departments: &Departments) -> Vec<ClusterNote> {
    let position: std::collections::HashMap<u64, usize> = cube
        .locations
        .iter()
        .enumerate()
        .filter_map(|(i, l)| match l {
            crate::cube::Location::Cell(c) => Some((u64::from(*c), i)),
            crate::cube::Location::Unit(_) => None,
        })
        .collect();
    let steps = cube.steps();
    let first = steps.saturating_sub(CLUSTER_STEPS);
    clusters
        .iter()
        .map(|cluster| {
            let mut recent = vec![0u64; steps - first];
            for h3 in &cluster.cells {
                let cell = h3.parse::<h3o::CellIndex>().map(u64::from);
                if let Some(&i) = cell.ok().and_then(|c| position.get(&c)) {
                    for (r, &n) in recent.iter_mut().zip(&cube.series(i)[first..]) {
                        *r += u64::from(n);
                    }
                }
            }
            let main = cluster.top_categories.first().map_or(Category::Other, |&(c, _)| c);
            ClusterNote {
                recent,
                department: departments.of(main).clone(),
            }
        })
        .collect()
}

fn query_err(what: &'static str) -> impl Fn(duckdb::Error) -> AnalyticsError {
    move |source| AnalyticsError::Query { what, source }
}

/// The first and last day with cases in `unit`.
fn data_days(
    conn: &Connection,
    region: &Region,
    unit: Option<&str>,
) -> Result<(Option<NaiveDate>, Option<NaiveDate>), AnalyticsError> {
    let filter = Filter {
        unit: unit.map(str::to_string),
        ..Filter::default()
    };
    let (clause, params) = filter.where_clause(region)?;
    let (first, last): (Option<String>, Option<String>) = conn
        .query_row(
            &format!(
                "SELECT CAST(CAST(min(reported_at) AS DATE) AS VARCHAR), CAST(CAST(max(reported_at) AS DATE) AS VARCHAR)
                 FROM cases WHERE {clause}"
            ),
            duckdb::params_from_iter(params.iter()),
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(query_err("the days with cases"))?;
    let day = |s: Option<String>| s.and_then(|s| s.parse::<NaiveDate>().ok());
    Ok((day(first), day(last)))
}

/// Overdue cases per county of `unit` (every county of the region without one), at the end of
/// `period`: still unfinished past their "137+2030" deadline then, and finished late within it.
///
/// A case is unfinished at the end when it has no closing time or closed after the end, so the
/// figure is the same whenever the briefing is produced.
pub fn overdue_by_county(
    conn: &Connection,
    region: &Region,
    period: &ReportPeriod,
    unit: Option<&str>,
) -> Result<Vec<CountyOverdue>, AnalyticsError> {
    let filter = Filter {
        unit: unit.map(str::to_string),
        ..Filter::default()
    };
    let (clause, mut params) = filter.where_clause(region)?;
    let deadline = format!("reported_at + to_days(CAST({} AS INTEGER))", deadline_days_sql());
    let sql = format!(
        "SELECT county_code,
                count(*) FILTER (WHERE reported_at < CAST($1 AS TIMESTAMP) AND {deadline} < CAST($1 AS TIMESTAMP)
                                 AND (closed_at IS NULL OR closed_at >= CAST($1 AS TIMESTAMP))),
                count(*) FILTER (WHERE closed_at >= CAST($2 AS TIMESTAMP) AND closed_at < CAST($1 AS TIMESTAMP)
                                 AND closed_at > {deadline}),
                count(*) FILTER (WHERE closed_at >= CAST($2 AS TIMESTAMP) AND closed_at < CAST($1 AS TIMESTAMP))
         FROM cases WHERE ({clause}) AND reported_at < CAST($1 AS TIMESTAMP) GROUP BY 1"
    );
    // $1 and $2 first; the filter's own `?` placeholders follow as $3….
    let renumbered = renumber_placeholders(&sql, 2);
    let mut binds = vec![
        fengqiao_ingest::time::format_datetime(period.to()),
        fengqiao_ingest::time::format_datetime(period.from()),
    ];
    binds.append(&mut params);
    let mut stmt = conn.prepare(&renumbered).map_err(query_err("overdue by county"))?;
    let rows = stmt
        .query_map(duckdb::params_from_iter(binds.iter()), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
                r.get::<_, i64>(3)? as u64,
            ))
        })
        .map_err(query_err("overdue by county"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(query_err("overdue by county"))?;
    let scope = unit.and_then(|u| region.id(u));
    let mut out: Vec<CountyOverdue> = region
        .level(AdminLevel::County)
        .filter(|&(id, _)| match scope {
            None => true,
            Some(s) => crate::cube::is_within(region, id, s) || crate::cube::is_within(region, s, id),
        })
        .map(|(_, county)| {
            let found = rows.iter().find(|r| r.0 == county.code);
            CountyOverdue {
                code: county.code.clone(),
                name: county.name.clone(),
                overdue_open: found.map_or(0, |r| r.1),
                closed_late: found.map_or(0, |r| r.2),
                closed: found.map_or(0, |r| r.3),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (b.overdue_open + b.closed_late)
            .cmp(&(a.overdue_open + a.closed_late))
            .then(a.code.cmp(&b.code))
    });
    Ok(out)
}

/// Rewrites the `?` placeholders of `sql` as `$N`, numbered after `skip` explicit `$1`… ones.
fn renumber_placeholders(sql: &str, skip: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = skip;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

/// Intake per category and closure rate over the `steps` periods ending with `period`, each from
/// [`summary_of`] (so each step equals `/api/kpis` for it).
pub fn category_trend(
    conn: &Connection,
    region: &Region,
    period: &ReportPeriod,
    unit: Option<&str>,
    steps: usize,
) -> Result<CategoryTrend, AnalyticsError> {
    let step = period.step();
    let mut labels = Vec::new();
    let mut summaries = Vec::new();
    for p in periods(step, steps.max(1), period.last_day) {
        labels.push(p.label(step));
        let filter = Filter {
            from: Some(p.start.and_hms_opt(0, 0, 0).expect("midnight")),
            to: Some((p.end + Duration::days(1)).and_hms_opt(0, 0, 0).expect("midnight")),
            unit: unit.map(str::to_string),
            ..Filter::default()
        };
        summaries.push(summary_of(conn, region, &filter)?);
    }
    let count = |s: &Summary, category: Category| {
        s.by_category
            .iter()
            .find(|(code, _)| code == category.code())
            .map_or(0, |(_, n)| *n)
    };
    let mut totals: Vec<(Category, u64)> = Category::ALL
        .iter()
        .map(|&c| (c, summaries.iter().map(|s| count(s, c)).sum()))
        .filter(|&(_, n)| n > 0)
        .collect();
    totals.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    totals.truncate(6);
    Ok(CategoryTrend {
        labels,
        totals: summaries.iter().map(|s| s.cases).collect(),
        series: totals
            .iter()
            .map(|&(c, _)| (c, summaries.iter().map(|s| count(s, c)).collect()))
            .collect(),
        closure_rate: summaries.iter().map(|s| s.closure_rate).collect(),
    })
}

/// FNV-1a, 64 bits: a stable order for the call-back sample (the same on every machine and version).
fn fnv1a(bytes: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = fnv::FnvHasher::default();
    h.write(bytes);
    h.finish()
}

/// The call-back sample (回访抽查名单): of the cases finished within `period` (in `unit`) whose
/// call-back answer is recorded, per answer, the first ⌈rate × n⌉ in the order of
/// FNV-1a(`seed:period:case_id`), with the rates of [`callback_rate`]. Case ids only.
pub fn callback_sample(
    conn: &Connection,
    region: &Region,
    period: &ReportPeriod,
    unit: Option<&str>,
    seed: u64,
) -> Result<Vec<CallbackStratum>, AnalyticsError> {
    let mut params = vec![
        fengqiao_ingest::time::format_datetime(period.from()),
        fengqiao_ingest::time::format_datetime(period.to()),
    ];
    let mut clause = String::from("closed_at >= CAST(? AS TIMESTAMP) AND closed_at < CAST(? AS TIMESTAMP)");
    if let Some(code) = unit {
        let (within, mut unit_params) = Filter {
            unit: Some(code.to_string()),
            ..Filter::default()
        }
        .where_clause(region)?;
        clause.push_str(&format!(" AND {within}"));
        params.append(&mut unit_params);
    }
    let mut stmt = conn
        .prepare(&format!(
            "SELECT satisfaction, case_id FROM cases WHERE {clause} AND satisfaction IS NOT NULL"
        ))
        .map_err(query_err("the call-back population"))?;
    let rows = stmt
        .query_map(duckdb::params_from_iter(params.iter()), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(query_err("the call-back population"))?;
    let mut by_level: Vec<Vec<(u64, String)>> = vec![Vec::new(); Satisfaction::ALL.len()];
    for row in rows {
        let (level, id) = row.map_err(query_err("the call-back population"))?;
        let Some(i) = Satisfaction::ALL.iter().position(|s| s.code() == level) else {
            return Err(AnalyticsError::Store(format!("satisfaction {level:?}")));
        };
        let key = fnv1a(format!("{seed}:{}:{id}", period.id).as_bytes());
        by_level[i].push((key, id));
    }
    Ok(Satisfaction::ALL
        .iter()
        .zip(by_level)
        .map(|(&satisfaction, mut cases)| {
            let rate = callback_rate(satisfaction);
            let population = cases.len() as u64;
            let take = (population as f64 * rate).ceil() as usize;
            cases.sort_unstable();
            let mut case_ids: Vec<String> = cases.into_iter().take(take).map(|(_, id)| id).collect();
            case_ids.sort_unstable();
            CallbackStratum {
                satisfaction,
                rate,
                population,
                case_ids,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use fengqiao_ingest::Store;

    #[test]
    fn weeks_and_months_parse_and_step_back() {
        let w = ReportPeriod::week("2026-W44").unwrap();
        assert_eq!(w.first_day, NaiveDate::from_ymd_opt(2026, 10, 26).unwrap());
        assert_eq!(w.last_day, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
        assert_eq!(w.previous().id, "2026-W43");
        assert_eq!(w.year_before().id, "2025-W44");
        assert_eq!(w.title_zh(), "2026年第44周（10月26日至11月1日）");
        assert_eq!(ReportPeriod::week("2026-W01").unwrap().previous().id, "2025-W52");
        // 2026 has a week 53; 2025 does not.
        assert_eq!(ReportPeriod::week("2026-W53").unwrap().year_before().id, "2025-W52");
        assert!(ReportPeriod::week("2025-W53").is_err());
        assert!(ReportPeriod::week("2026-44").is_err());
        let m = ReportPeriod::month("2026-03").unwrap();
        assert_eq!(m.last_day, NaiveDate::from_ymd_opt(2026, 3, 31).unwrap());
        assert_eq!(m.previous().id, "2026-02");
        assert_eq!(m.previous().last_day, NaiveDate::from_ymd_opt(2026, 2, 28).unwrap());
        assert_eq!(ReportPeriod::month("2026-01").unwrap().previous().id, "2025-12");
        assert_eq!(m.year_before().id, "2025-03");
        assert!(ReportPeriod::month("2026-13").is_err());
        assert_eq!(m.title_zh(), "2026年3月");
    }

    #[test]
    fn placeholders_are_numbered_after_the_explicit_ones() {
        assert_eq!(
            renumber_placeholders("a < $1 AND b = ? AND c = $2 AND d = ?", 2),
            "a < $1 AND b = $3 AND c = $2 AND d = $4"
        );
    }

    /// id, reported, class, severity, closed, satisfaction.
    type Row<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, Option<&'a str>);

    fn store_with(rows: &[Row<'_>]) -> Store {
        let store = Store::open_in_memory().unwrap();
        for (id, reported, severity, closed, satisfaction) in rows {
            let status = if closed.is_some() { "closed" } else { "in_progress" };
            store
                .conn()
                .execute(
                    "INSERT INTO cases (case_id, reported_at, class, category, severity, channel, status,
                        county_code, township_code, village_code, lng, lat, geo_source, h3, closed_at,
                        updated_at, satisfaction, source_file, source_line, ingested_at)
                     VALUES (?, CAST(? AS TIMESTAMP), 'dispute', 'neighbour', ?, 'walk_in', ?, '431002',
                        '431002001', '431002001001', 113.0, 25.8, 'village', 0, CAST(? AS TIMESTAMP),
                        TIMESTAMP '2026-11-01 09:00:00', ?, 'test', 1, TIMESTAMP '2026-11-01 09:00:00')",
                    duckdb::params![id, reported, severity, status, closed, satisfaction],
                )
                .unwrap();
        }
        store
    }

    #[test]
    fn overdue_is_judged_at_the_end_of_the_period() {
        // Week 2026-W43: Mon 10-19 .. Sun 10-25; the end is 10-26 00:00.
        let store = store_with(&[
            // Simple disputes: 3 days.
            ("open-late", "2026-10-20 09:00:00", "simple", None, None), // deadline 10-23: overdue
            ("open-in-time", "2026-10-24 09:00:00", "simple", None, None), // deadline 10-27: not yet
            (
                "closed-after-end",
                "2026-10-10 09:00:00",
                "simple",
                Some("2026-10-28 09:00:00"),
                None,
            ), // overdue at the end
            (
                "closed-late",
                "2026-10-15 09:00:00",
                "simple",
                Some("2026-10-20 09:00:00"),
                Some("basic"),
            ), // late, in the week
            (
                "closed-on-time",
                "2026-10-19 09:00:00",
                "serious",
                Some("2026-10-21 09:00:00"),
                Some("satisfied"),
            ),
            (
                "closed-before",
                "2026-10-01 09:00:00",
                "simple",
                Some("2026-10-09 09:00:00"),
                None,
            ), // late, before the week
            ("reported-after", "2026-10-27 09:00:00", "simple", None, None),
        ]);
        let region = Region::chenzhou();
        let week = ReportPeriod::week("2026-W43").unwrap();
        let rows = overdue_by_county(store.conn(), &region, &week, None).unwrap();
        let beihu = rows.iter().find(|r| r.code == "431002").unwrap();
        assert_eq!((beihu.overdue_open, beihu.closed_late, beihu.closed), (2, 1, 2));
        assert_eq!(rows[0].code, "431002", "the county with most overdue cases first");
        assert!(rows[1..].iter().all(|r| r.overdue_open + r.closed_late + r.closed == 0));
        let scoped = overdue_by_county(store.conn(), &region, &week, Some("431002001")).unwrap();
        assert_eq!(scoped.len(), 1, "a township's briefing shows its own county only");
    }

    #[test]
    fn the_callback_order_is_the_published_fnv1a_64() {
        // Test vectors of FNV-1a 64 (Fowler–Noll–Vo): the sample must not move with a library.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn the_callback_sample_takes_the_rate_of_each_level_rounded_up_and_is_repeatable() {
        let mut rows = Vec::new();
        let ids: Vec<String> = (0..60).map(|i| format!("C{i:03}")).collect();
        for (i, id) in ids.iter().enumerate() {
            let satisfaction = if i < 40 { "very_satisfied" } else { "dissatisfied" };
            rows.push((
                id.as_str(),
                "2026-10-19 09:00:00",
                "simple",
                Some("2026-10-20 09:00:00"),
                Some(satisfaction),
            ));
        }
        rows.push((
            "outside",
            "2026-10-01 09:00:00",
            "simple",
            Some("2026-10-02 09:00:00"),
            Some("dissatisfied"),
        ));
        let store = store_with(&rows);
        let region = Region::chenzhou();
        let week = ReportPeriod::week("2026-W43").unwrap();
        let sample = callback_sample(store.conn(), &region, &week, None, 7).unwrap();
        let very = &sample[0];
        assert_eq!(
            (very.population, very.case_ids.len()),
            (40, 1),
            "1% of 40 rounds up to 1"
        );
        let dissatisfied = &sample[3];
        assert_eq!(
            (dissatisfied.population, dissatisfied.case_ids.len()),
            (20, 4),
            "20% of 20"
        );
        assert!(dissatisfied.case_ids.iter().all(|id| id.as_str() >= "C040"));
        assert_eq!((sample[1].population, sample[1].case_ids.len()), (0, 0));
        assert_eq!(sample, callback_sample(store.conn(), &region, &week, None, 7).unwrap());
        let other_seeds: Vec<_> = (8..20)
            .map(|seed| {
                callback_sample(store.conn(), &region, &week, None, seed).unwrap()[3]
                    .case_ids
                    .clone()
            })
            .collect();
        assert!(
            other_seeds.iter().any(|ids| *ids != dissatisfied.case_ids),
            "the seed changes the draw"
        );
    }
}
