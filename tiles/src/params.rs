//! Query parameters: the heat map's filters (`from`, `to`, `category`, `class`, `channel`, `status`,
//! `severity`, `unit`), each route's own, and the token's scope applied to them. Unknown parameters,
//! unknown values, malformed dates and huge ranges are refused with a 400 that says which.

use std::str::FromStr;

use chrono::{Duration, NaiveDateTime};
use fengqiao_analytics::cube::is_within;
use fengqiao_analytics::filter::Filter;
use fengqiao_ingest::region::UnitId;
use fengqiao_ingest::Region;

use crate::error::ApiError;
use crate::state::Principal;

/// The filter parameters, accepted by every data route.
pub const FILTER_KEYS: [&str; 8] = [
    "from", "to", "category", "class", "channel", "status", "severity", "unit",
];
/// Accepted everywhere: the data version (for caches), a token for clients that cannot send headers,
/// and the response format.
pub const COMMON_KEYS: [&str; 3] = ["v", "access_token", "format"];
/// Longest period a filter may span.
pub const MAX_PERIOD_DAYS: i64 = 3653;

/// A request's query parameters, in order (repeated keys allowed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    pub fn new(pairs: Vec<(String, String)>) -> Params {
        Params { pairs }
    }

    /// Refuses parameters that are neither common, filters (when `filters`), nor in `own`.
    pub fn allow(&self, filters: bool, own: &[&str]) -> Result<(), ApiError> {
        for (key, _) in &self.pairs {
            let known = COMMON_KEYS.contains(&key.as_str())
                || own.contains(&key.as_str())
                || (filters && FILTER_KEYS.contains(&key.as_str()));
            if !known {
                let mut valid: Vec<&str> = COMMON_KEYS.iter().chain(own).copied().collect();
                if filters {
                    valid.extend(FILTER_KEYS);
                }
                return Err(ApiError::BadRequest(format!(
                    "unknown parameter {key:?}; this route takes {}",
                    valid.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The last value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// All values of `key`, repeated or comma-separated, parsed.
    pub fn list<T: FromStr>(&self, key: &str) -> Result<Vec<T>, ApiError>
    where
        T::Err: std::fmt::Display,
    {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<T>()
                    .map_err(|e| ApiError::BadRequest(format!("{key}={v}: {e}")))
            })
            .collect()
    }

    /// `key` parsed, or `default` when absent.
    pub fn parse_or<T: FromStr>(&self, key: &str, default: T) -> Result<T, ApiError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|e| ApiError::BadRequest(format!("{key}={v}: {e}"))),
        }
    }

    /// A number in `range`, or `default`.
    pub fn number_in<T>(&self, key: &str, default: T, range: std::ops::RangeInclusive<T>) -> Result<T, ApiError>
    where
        T: FromStr + PartialOrd + std::fmt::Display + Copy,
        T::Err: std::fmt::Display,
    {
        let value = self.parse_or(key, default)?;
        if !range.contains(&value) {
            return Err(ApiError::BadRequest(format!(
                "{key}={value} is out of range {}..={}",
                range.start(),
                range.end()
            )));
        }
        Ok(value)
    }

    /// A date or date-time; `end_of_day` turns a bare date into the next midnight (an inclusive
    /// last day becomes an exclusive end).
    pub fn time(&self, key: &str, end_of_day: bool) -> Result<Option<NaiveDateTime>, ApiError> {
        let Some(v) = self.get(key) else { return Ok(None) };
        let bad = || ApiError::BadRequest(format!("{key}={v} is not a date like 2026-10-31 (years 1900 to 2199)"));
        let t = fengqiao_ingest::time::parse_datetime(v).ok_or_else(bad)?;
        if !(1900..2200).contains(&chrono::Datelike::year(&t)) {
            return Err(bad());
        }
        Ok(Some(if end_of_day && !v.contains(':') {
            t + Duration::days(1)
        } else {
            t
        }))
    }

    /// The period and unit of a display-token request (docs/api.md, threat model): dates only,
    /// whole weeks ending on the last day with cases (or that day alone), and no filter but the
    /// unit — two differently filtered figures could be subtracted to give a hidden one.
    pub fn display_period(
        &self,
        region: &Region,
        who: &Principal,
        projection: &crate::display::Projection,
    ) -> Result<(crate::display::Window, Option<UnitId>), ApiError> {
        for key in ["category", "class", "channel", "status", "severity"] {
            if self.get(key).is_some() {
                return Err(ApiError::Forbidden(format!(
                    "{key}=: a display token filters by period and unit only (filtered figures could be \
                     subtracted from unfiltered ones)"
                )));
            }
        }
        let (from, to) = (self.time("from", false)?, self.time("to", true)?);
        if let (Some(from), Some(to)) = (from, to) {
            if to <= from {
                return Err(ApiError::BadRequest(format!("to ({to}) is not after from ({from})")));
            }
        }
        let place = Filter {
            unit: self.get("unit").map(str::to_string),
            ..Filter::default()
        };
        let unit = scoped(place, region, who)?.unit_id(region)?;
        let window = crate::display::window(from, to, projection.last_day_or_today())?;
        Ok((window, unit))
    }

    /// The filter the parameters describe, limited to the principal's scope.
    pub fn filter(&self, region: &Region, who: &Principal) -> Result<Filter, ApiError> {
        let filter = Filter {
            from: self.time("from", false)?,
            to: self.time("to", true)?,
            categories: self.list("category")?,
            classes: self.list("class")?,
            channels: self.list("channel")?,
            statuses: self.list("status")?,
            severities: self.list("severity")?,
            unit: self.get("unit").map(str::to_string),
        };
        if let (Some(from), Some(to)) = (filter.from, filter.to) {
            if to <= from {
                return Err(ApiError::BadRequest(format!("to ({to}) is not after from ({from})")));
            }
            if (to - from).num_days() > MAX_PERIOD_DAYS {
                return Err(ApiError::BadRequest(format!(
                    "the period from {from} to {to} is longer than {MAX_PERIOD_DAYS} days"
                )));
            }
        }
        scoped(filter, region, who)
    }
}

/// A filter in one form whatever the order or repetition of its list values (for cache keys).
pub fn canonical(mut filter: Filter) -> Filter {
    fn tidy<T: Ord>(v: &mut Vec<T>) {
        v.sort_unstable();
        v.dedup();
    }
    tidy(&mut filter.categories);
    tidy(&mut filter.classes);
    tidy(&mut filter.channels);
    tidy(&mut filter.statuses);
    tidy(&mut filter.severities);
    filter
}

/// The filter limited to the principal's unit: no unit → the scope; a unit outside it → 403.
pub fn scoped(mut filter: Filter, region: &Region, who: &Principal) -> Result<Filter, ApiError> {
    if let Some(code) = &filter.unit {
        if region.unit(code).is_none() {
            return Err(ApiError::BadRequest(format!(
                "unit={code}: no such unit in {}",
                region.code
            )));
        }
    }
    let Some(scope) = who.scope else { return Ok(filter) };
    match &filter.unit {
        None => filter.unit = Some(region.units[scope as usize].code.clone()),
        Some(code) => {
            let id = region.id(code).expect("checked above");
            if !is_within(region, id, scope) {
                return Err(ApiError::Forbidden(format!(
                    "unit {code} is outside this token's area ({})",
                    region.units[scope as usize].code
                )));
            }
        }
    }
    Ok(filter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Role;
    use fengqiao_ingest::model::Category;

    fn params(q: &[(&str, &str)]) -> Params {
        Params::new(q.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    fn admin() -> Principal {
        Principal {
            name: "t".into(),
            role: Role::Admin,
            scope: None,
        }
    }

    #[test]
    fn filters_parse_and_bad_values_say_which() {
        let region = Region::chenzhou();
        let p = params(&[
            ("category", "labour,邻里关系"),
            ("category", "other"),
            ("to", "2026-10-31"),
        ]);
        let f = p.filter(&region, &admin()).unwrap();
        assert_eq!(
            f.categories,
            vec![Category::Labour, Category::Neighbour, Category::Other]
        );
        assert_eq!(f.to.unwrap().to_string(), "2026-11-01 00:00:00");
        let bad = |q: &[(&str, &str)]| params(q).filter(&region, &admin()).unwrap_err().to_string();
        assert!(bad(&[("category", "fishing")]).contains("fishing"));
        assert!(bad(&[("from", "yesterday")]).contains("from=yesterday"));
        assert!(bad(&[("from", "2026-10-02"), ("to", "2026-10-01")]).contains("not after"));
        assert!(bad(&[("from", "2000-01-01"), ("to", "2026-10-01")]).contains("longer than"));
        assert!(bad(&[("unit", "999")]).contains("no such unit"));
        assert!(bad(&[("to", "+262142-12-31")]).contains("years 1900"));
        assert!(bad(&[("from", "1000-01-01")]).contains("years 1900"));
        let a = params(&[("category", "other,labour"), ("category", "labour")])
            .filter(&region, &admin())
            .unwrap();
        let b = params(&[("category", "labour,other")])
            .filter(&region, &admin())
            .unwrap();
        assert_ne!(a, b);
        assert_eq!(canonical(a), canonical(b));
        assert!(params(&[("colour", "red")])
            .allow(true, &["res"])
            .unwrap_err()
            .to_string()
            .contains("colour"));
        assert!(params(&[("res", "8"), ("v", "3")]).allow(false, &["res"]).is_ok());
        assert!(params(&[("res", "12")]).number_in("res", 8u8, 5..=10).is_err());
    }

    #[test]
    fn a_scoped_token_is_kept_inside_its_unit() {
        let region = Region::chenzhou();
        let county = Principal {
            name: "c".into(),
            role: Role::Analyst,
            scope: region.id("431002"),
        };
        let f = params(&[]).filter(&region, &county).unwrap();
        assert_eq!(f.unit.as_deref(), Some("431002"));
        let township = region.children(region.id("431002").unwrap())[0];
        let code = region.units[township as usize].code.clone();
        assert_eq!(
            params(&[("unit", &code)]).filter(&region, &county).unwrap().unit,
            Some(code)
        );
        let err = params(&[("unit", "431003")]).filter(&region, &county).unwrap_err();
        assert!(matches!(err, ApiError::Forbidden(_)), "{err:?}");
    }
}
