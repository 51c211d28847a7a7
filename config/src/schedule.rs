//! Weekly times (`[briefing] schedule = "MON 08:00"`): parsing, the next run, the week before.

use chrono::{Datelike, NaiveDateTime, NaiveTime, Weekday};
use serde::{Deserialize, Deserializer};

/// A weekly time: `MON 08:00` (also `周一 08:00`, `monday 8:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weekly {
    pub weekday: Weekday,
    pub at: NaiveTime,
}

impl std::str::FromStr for Weekly {
    type Err = String;
    fn from_str(s: &str) -> Result<Weekly, String> {
        let bad = || format!("{s:?} is not a weekly time like \"MON 08:00\"");
        let (day, time) = s.trim().split_once(char::is_whitespace).ok_or_else(bad)?;
        let weekday = match day.trim().to_lowercase().as_str() {
            "周一" | "星期一" => Weekday::Mon,
            "周二" | "星期二" => Weekday::Tue,
            "周三" | "星期三" => Weekday::Wed,
            "周四" | "星期四" => Weekday::Thu,
            "周五" | "星期五" => Weekday::Fri,
            "周六" | "星期六" => Weekday::Sat,
            "周日" | "星期日" | "周天" => Weekday::Sun,
            d => d.parse::<Weekday>().map_err(|_| bad())?,
        };
        let at = NaiveTime::parse_from_str(time.trim(), "%H:%M").map_err(|_| bad())?;
        Ok(Weekly { weekday, at })
    }
}

impl Weekly {
    /// The first time of this schedule strictly after `now`.
    pub fn next_after(&self, now: NaiveDateTime) -> NaiveDateTime {
        let mut day = now.date();
        loop {
            let candidate = day.and_time(self.at);
            if day.weekday() == self.weekday && candidate > now {
                return candidate;
            }
            day = day.succ_opt().expect("a next day");
        }
    }

    /// The ISO week (`2026-W44`) of the last full week (Monday–Sunday) before `run`.
    pub fn week_before(run: NaiveDateTime) -> String {
        let monday = run.date() - chrono::Duration::days(run.date().weekday().num_days_from_monday() as i64);
        let last_week = (monday - chrono::Duration::days(7)).iso_week();
        format!("{}-W{:02}", last_week.year(), last_week.week())
    }
}

/// An optional weekly time from its text, the error naming what is wrong.
pub(crate) fn deserialize_optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Weekly>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    text.map(|t| t.parse().map_err(serde::de::Error::custom)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    #[test]
    fn weekly_times_parse_and_come_round() {
        let w: Weekly = "MON 08:00".parse().unwrap();
        assert_eq!(w, "周一 08:00".parse().unwrap());
        assert!("someday 8".parse::<Weekly>().is_err());
        // 2026-10-26 is a Monday.
        assert_eq!(w.next_after(at(2026, 10, 26, 7, 59)), at(2026, 10, 26, 8, 0));
        assert_eq!(w.next_after(at(2026, 10, 26, 8, 0)), at(2026, 11, 2, 8, 0));
        assert_eq!(w.next_after(at(2026, 10, 28, 12, 0)), at(2026, 11, 2, 8, 0));
        // Run on Monday 26 October: the week of 19–25 October, ISO week 43.
        assert_eq!(Weekly::week_before(at(2026, 10, 26, 8, 0)), "2026-W43");
        assert_eq!(Weekly::week_before(at(2027, 1, 4, 8, 0)), "2026-W53");
    }
}
