//! Timestamps. The store keeps times as naive `TIMESTAMP`s in China Standard Time (UTC+8, no DST),
//! the way case systems export them; inputs with an explicit offset are converted to it.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};

/// China Standard Time, UTC+8.
pub fn china_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// The current time in China Standard Time.
pub fn now_china() -> NaiveDateTime {
    chrono::Utc::now().with_timezone(&china_offset()).naive_local()
}

const NAIVE_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
];

const DATE_FORMATS: &[&str] = &["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y%m%d"];

/// Parses a timestamp as exports write them: `2026-10-31 14:23:05`, `2026-10-31T14:23`, `2026/10/31
/// 14:23`, `2026年10月31日 14:23`, a bare date (midnight), or RFC 3339 with an offset (converted to
/// China Standard Time).
pub fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Some(t) = parse_canonical(s.as_bytes()) {
        return Some(t);
    }
    for f in NAIVE_FORMATS {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&china_offset()).naive_local());
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Some(t.with_timezone(&china_offset()).naive_local());
    }
    DATE_FORMATS
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
        .map(|d| d.and_time(NaiveTime::MIN))
}

/// The common form `YYYY-MM-DD HH:MM:SS` (or with `T`), without chrono's format interpreter: it is
/// most of what the ingest parses.
fn parse_canonical(b: &[u8]) -> Option<NaiveDateTime> {
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b' ' | b'T') || b[13] != b':' || b[16] != b':'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range]
            .iter()
            .try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)
}

/// The form the generator writes and the store prints: `2026-10-31 14:23:05`.
pub fn format_datetime(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_exports_use() {
        let want = NaiveDate::from_ymd_opt(2026, 10, 31)
            .unwrap()
            .and_hms_opt(14, 23, 0)
            .unwrap();
        for s in [
            "2026-10-31 14:23:00",
            "2026-10-31T14:23:00",
            "2026-10-31 14:23",
            "2026/10/31 14:23:00",
            "2026年10月31日 14:23",
            "2026-10-31T06:23:00Z",
            "2026-10-31T14:23:00+08:00",
            " 2026-10-31 14:23:00.000 ",
        ] {
            assert_eq!(parse_datetime(s), Some(want), "{s}");
        }
        assert_eq!(
            parse_datetime("2026-10-31"),
            NaiveDate::from_ymd_opt(2026, 10, 31).unwrap().and_hms_opt(0, 0, 0)
        );
        for bad in [
            "",
            "31/10/2026",
            "2026-13-01 00:00:00",
            "yesterday",
            "2026-02-30",
            "2026-02-30 10:00:00",
            "2026-10-31 24:00:00",
            "2026-1a-31 10:00:00",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
        assert_eq!(format_datetime(want), "2026-10-31 14:23:00");
    }
}
