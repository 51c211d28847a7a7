//! The calendar: the period, its Monday-based weeks, China's public holidays and the seasonality of
//! the categories.

use chrono::{Datelike, Months, NaiveDate, Weekday};
use fengqiao_ingest::model::Category;

use crate::targets::{HOLIDAY_FACTOR, WEEKEND_FACTOR};

/// A public holiday as the State Council announces it: its days off, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holiday {
    pub name: &'static str,
    pub first: NaiveDate,
    pub last: NaiveDate,
}

const fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(d) => d,
        None => panic!("invalid date"),
    }
}

const fn holiday(name: &'static str, first: NaiveDate, last: NaiveDate) -> Holiday {
    Holiday { name, first, last }
}

/// The official schedules of 2025 (国办发明电〔2024〕12号) and 2026 (State Council notice of
/// 2025-11-04). Other years use [`approximate_holidays`].
pub const OFFICIAL_HOLIDAYS: &[Holiday] = &[
    holiday("元旦", ymd(2025, 1, 1), ymd(2025, 1, 1)),
    holiday("春节", ymd(2025, 1, 28), ymd(2025, 2, 4)),
    holiday("清明节", ymd(2025, 4, 4), ymd(2025, 4, 6)),
    holiday("劳动节", ymd(2025, 5, 1), ymd(2025, 5, 5)),
    holiday("端午节", ymd(2025, 5, 31), ymd(2025, 6, 2)),
    holiday("国庆节、中秋节", ymd(2025, 10, 1), ymd(2025, 10, 8)),
    holiday("元旦", ymd(2026, 1, 1), ymd(2026, 1, 3)),
    holiday("春节", ymd(2026, 2, 15), ymd(2026, 2, 23)),
    holiday("清明节", ymd(2026, 4, 4), ymd(2026, 4, 6)),
    holiday("劳动节", ymd(2026, 5, 1), ymd(2026, 5, 5)),
    holiday("端午节", ymd(2026, 6, 19), ymd(2026, 6, 21)),
    holiday("中秋节", ymd(2026, 9, 25), ymd(2026, 9, 27)),
    holiday("国庆节", ymd(2026, 10, 1), ymd(2026, 10, 7)),
];

/// Weekend days that are working days (调休上班) in the official schedules.
pub const MAKEUP_WORKDAYS: &[NaiveDate] = &[
    ymd(2025, 1, 26),
    ymd(2025, 2, 8),
    ymd(2025, 4, 27),
    ymd(2025, 9, 28),
    ymd(2025, 10, 11),
    ymd(2026, 1, 4),
    ymd(2026, 2, 14),
    ymd(2026, 2, 28),
    ymd(2026, 5, 9),
    ymd(2026, 9, 20),
    ymd(2026, 10, 10),
];

/// Years with an official schedule in [`OFFICIAL_HOLIDAYS`].
pub const OFFICIAL_YEARS: [i32; 2] = [2025, 2026];

/// Spring Festival (农历正月初一) 2020–2032.
pub const SPRING_FESTIVALS: &[NaiveDate] = &[
    ymd(2020, 1, 25),
    ymd(2021, 2, 12),
    ymd(2022, 2, 1),
    ymd(2023, 1, 22),
    ymd(2024, 2, 10),
    ymd(2025, 1, 29),
    ymd(2026, 2, 17),
    ymd(2027, 2, 6),
    ymd(2028, 1, 26),
    ymd(2029, 2, 13),
    ymd(2030, 2, 3),
    ymd(2031, 1, 23),
    ymd(2032, 2, 11),
];

/// Holidays of a year without an official schedule: New Year's Day, Spring Festival (eve to the
/// 7th day, where [`SPRING_FESTIVALS`] knows the date), Labour Day 1–5 May, National Day 1–7 October.
/// The lunar Qingming, Dragon Boat and Mid-Autumn holidays are left out.
pub fn approximate_holidays(year: i32) -> Vec<Holiday> {
    let mut out = vec![holiday("元旦", ymd(year, 1, 1), ymd(year, 1, 1))];
    if let Some(&sf) = SPRING_FESTIVALS.iter().find(|d| d.year() == year) {
        out.push(holiday("春节", sf.pred_opt().unwrap_or(sf), sf + chrono::Days::new(6)));
    }
    out.push(holiday("劳动节", ymd(year, 5, 1), ymd(year, 5, 5)));
    out.push(holiday("国庆节", ymd(year, 10, 1), ymd(year, 10, 7)));
    out
}

/// The holiday `date` falls in, if any.
pub fn holiday_of(date: NaiveDate) -> Option<Holiday> {
    let inside = |h: &Holiday| h.first <= date && date <= h.last;
    if OFFICIAL_YEARS.contains(&date.year()) {
        OFFICIAL_HOLIDAYS.iter().copied().find(inside)
    } else {
        approximate_holidays(date.year()).into_iter().find(inside)
    }
}

/// What kind of day `date` is for the centres.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    Workday,
    Weekend,
    Holiday,
}

/// Working day, weekend or public holiday (a weekend make-up day counts as a working day).
pub fn day_kind(date: NaiveDate) -> DayKind {
    if holiday_of(date).is_some() {
        DayKind::Holiday
    } else if MAKEUP_WORKDAYS.contains(&date) {
        DayKind::Workday
    } else if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
        DayKind::Weekend
    } else {
        DayKind::Workday
    }
}

/// Expected volume of `date` relative to a working day.
pub fn volume_factor(date: NaiveDate) -> f64 {
    match day_kind(date) {
        DayKind::Workday => 1.0,
        DayKind::Weekend => WEEKEND_FACTOR,
        DayKind::Holiday => HOLIDAY_FACTOR,
    }
}

/// The first day of a period of `months` calendar months that ends on `end` (inclusive).
pub fn period_start(end: NaiveDate, months: u32) -> Option<NaiveDate> {
    end.with_day(1)?.checked_sub_months(Months::new(months.checked_sub(1)?))
}

/// The Monday of the week `date` is in.
pub fn monday_of(date: NaiveDate) -> NaiveDate {
    date - chrono::Days::new(u64::from(date.weekday().num_days_from_monday()))
}

/// The index of `date`'s week counted from the week that starts on `origin` (a Monday).
pub fn week_index(origin: NaiveDate, date: NaiveDate) -> i64 {
    (date - origin).num_days().div_euclid(7)
}

/// The ISO week label of `date`, e.g. `2026-W14`.
pub fn iso_label(date: NaiveDate) -> String {
    let w = date.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

/// Days from `date` to the next Spring Festival (0 on the day), if the table knows it.
fn days_to_spring_festival(date: NaiveDate) -> Option<i64> {
    SPRING_FESTIVALS
        .iter()
        .find(|&&sf| sf >= date)
        .map(|&sf| (sf - date).num_days())
}

/// Days since the last Spring Festival (0 on the day), if the table knows it.
fn days_since_spring_festival(date: NaiveDate) -> Option<i64> {
    SPRING_FESTIVALS
        .iter()
        .rev()
        .find(|&&sf| sf <= date)
        .map(|&sf| (date - sf).num_days())
}

/// Month factors (January first) of the categories with a plain monthly season.
fn monthly(category: Category) -> Option<[f64; 12]> {
    Some(match category {
        // Summer: open windows, noise, water and drains, children at home.
        Category::Neighbour => [0.8, 0.8, 0.9, 0.95, 1.1, 1.35, 1.5, 1.4, 1.1, 0.95, 0.9, 0.8],
        // Spring ploughing and Qingming (grave sites on the hills).
        Category::ForestLand => [0.8, 1.0, 1.8, 2.0, 1.1, 0.8, 0.7, 0.7, 0.8, 0.9, 1.0, 0.9],
        // Spring ploughing and house building after the festival.
        Category::HousingLand => [0.9, 0.9, 1.5, 1.5, 1.1, 0.9, 0.9, 0.9, 0.9, 1.0, 1.0, 1.0],
        // Hot months: smells, noise, water.
        Category::Environment => [0.85, 0.85, 0.9, 1.0, 1.1, 1.2, 1.25, 1.2, 1.05, 0.95, 0.9, 0.85],
        // 15 March (consumer day) and the November shopping festivals.
        Category::Consumer => [1.0, 1.0, 1.3, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.1],
        // Air conditioning, water supply, lifts in the heat.
        Category::PropertyMgmt => [1.0, 1.0, 1.0, 1.0, 1.0, 1.05, 1.15, 1.15, 1.0, 1.0, 1.0, 1.0],
        _ => return None,
    })
}

/// The raw seasonal factor of `category` on `date` (before normalising to a mean of 1 over the
/// period; see `docs/generator.md`).
pub fn seasonal_factor(category: Category, date: NaiveDate) -> f64 {
    let month = date.month0() as usize;
    match category {
        // Wage arrears peak in the weeks before Spring Festival, when migrant workers go home.
        Category::Labour => match (days_to_spring_festival(date), days_since_spring_festival(date)) {
            (Some(d), _) if (1..=75).contains(&d) => 1.0 + 1.6 * ((75 - d) as f64 / 50.0).min(1.0),
            (_, Some(s)) if s <= 20 => 0.7,
            _ => 0.9,
        },
        // Holidays, weekends and the summer travel season.
        Category::Tourism => {
            let day = match day_kind(date) {
                DayKind::Holiday => 3.0,
                DayKind::Weekend => 1.7,
                DayKind::Workday => 1.0,
            };
            day * if matches!(month, 6 | 7) { 1.4 } else { 1.0 }
        }
        // Family quarrels after the reunion of Spring Festival.
        Category::MarriageFamily => match days_since_spring_festival(date) {
            Some(s) if s <= 30 => 1.3,
            _ => 1.0,
        },
        // Spring Festival travel (春运) and holiday traffic.
        Category::Traffic => {
            let chunyun = days_to_spring_festival(date).is_some_and(|d| d <= 15)
                || days_since_spring_festival(date).is_some_and(|s| s <= 25);
            if chunyun {
                1.3
            } else if day_kind(date) == DayKind::Holiday {
                1.2
            } else {
                1.0
            }
        }
        _ => monthly(category).map_or(1.0, |m| m[month]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_whole_calendar_months_ending_on_end() {
        assert_eq!(period_start(ymd(2026, 10, 31), 12), Some(ymd(2025, 11, 1)));
        assert_eq!(period_start(ymd(2026, 10, 15), 1), Some(ymd(2026, 10, 1)));
        assert_eq!(period_start(ymd(2026, 3, 31), 3), Some(ymd(2026, 1, 1)));
        assert_eq!(period_start(ymd(2026, 3, 31), 0), None);
    }

    #[test]
    fn weeks_are_monday_based_and_labelled_iso() {
        let origin = monday_of(ymd(2025, 11, 1));
        assert_eq!(origin, ymd(2025, 10, 27));
        assert_eq!(week_index(origin, ymd(2025, 11, 2)), 0);
        assert_eq!(week_index(origin, ymd(2025, 11, 3)), 1);
        assert_eq!(week_index(origin, ymd(2026, 10, 31)), 52);
        assert_eq!(iso_label(ymd(2026, 3, 30)), "2026-W14");
        assert_eq!(iso_label(ymd(2025, 12, 29)), "2026-W01");
    }

    #[test]
    fn holidays_follow_the_official_schedules() {
        assert_eq!(day_kind(ymd(2026, 2, 17)), DayKind::Holiday);
        assert_eq!(day_kind(ymd(2026, 2, 14)), DayKind::Workday, "make-up Saturday");
        assert_eq!(day_kind(ymd(2026, 9, 25)), DayKind::Holiday, "Mid-Autumn 2026");
        assert_eq!(day_kind(ymd(2026, 10, 8)), DayKind::Workday);
        assert_eq!(day_kind(ymd(2025, 10, 8)), DayKind::Holiday);
        assert_eq!(day_kind(ymd(2026, 3, 7)), DayKind::Weekend);
        assert_eq!(day_kind(ymd(2026, 3, 9)), DayKind::Workday);
        assert_eq!(day_kind(ymd(2027, 10, 5)), DayKind::Holiday, "approximated year");
        assert_eq!(day_kind(ymd(2027, 2, 5)), DayKind::Holiday, "Spring Festival eve 2027");
        let days: i64 = OFFICIAL_HOLIDAYS
            .iter()
            .map(|h| (h.last - h.first).num_days() + 1)
            .sum();
        assert_eq!(days, 28 + 33, "2025 has 28 days off in these blocks, 2026 has 33");
    }

    #[test]
    fn seasons_point_the_right_way() {
        let jan = ymd(2026, 1, 20);
        let jul = ymd(2026, 7, 15);
        assert!(seasonal_factor(Category::Labour, jan) > 1.5 * seasonal_factor(Category::Labour, jul));
        assert!(seasonal_factor(Category::Neighbour, jul) > 1.5 * seasonal_factor(Category::Neighbour, jan));
        assert!(
            seasonal_factor(Category::ForestLand, ymd(2026, 4, 1)) > 2.0 * seasonal_factor(Category::ForestLand, jul)
        );
        assert!(
            seasonal_factor(Category::Tourism, ymd(2026, 10, 2))
                > 2.5 * seasonal_factor(Category::Tourism, ymd(2026, 10, 13))
        );
        assert_eq!(seasonal_factor(Category::Medical, jan), 1.0);
    }
}
