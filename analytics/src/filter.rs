//! Which cases a figure counts: a period, value lists for the coded columns, and an admin unit,
//! turned into a SQL condition over the `cases` table.

use chrono::NaiveDateTime;
use fengqiao_ingest::model::{AdminLevel, CaseClass, Category, Channel, Severity, Status};
use fengqiao_ingest::Region;

use crate::AnalyticsError;

/// A selection of cases. Every part left empty (`None`, an empty list) selects everything; the
/// parts combine with AND, the values of one list with OR.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Filter {
    /// Reported at or after this time (China time, like the store).
    pub from: Option<NaiveDateTime>,
    /// Reported strictly before this time: the period is half-open, `[from, to)`.
    pub to: Option<NaiveDateTime>,
    pub categories: Vec<Category>,
    pub classes: Vec<CaseClass>,
    pub channels: Vec<Channel>,
    pub statuses: Vec<Status>,
    pub severities: Vec<Severity>,
    /// The code of any unit of the region: the city (no restriction), a county, township, village or
    /// grid.
    pub unit: Option<String>,
}

impl Filter {
    /// The filter's SQL condition over the columns of `cases`, with the values of its `?`
    /// placeholders in order (bind them with `duckdb::params_from_iter`). `"TRUE"` and no parameters
    /// when the filter selects everything.
    ///
    /// Times are bound as strings and cast (`CAST(? AS TIMESTAMP)`); the coded values are the
    /// model's fixed English codes and are written into the SQL; the unit code is bound, and compared
    /// with the column of its level (`county_code`, `township_code`, `village_code`, `grid_code`).
    ///
    /// Fails with [`AnalyticsError::UnknownUnit`] when `unit` is not a unit of `region`.
    pub fn where_clause(&self, region: &Region) -> Result<(String, Vec<String>), AnalyticsError> {
        let mut parts: Vec<String> = Vec::new();
        let mut params: Vec<String> = Vec::new();
        if let Some(from) = self.from {
            parts.push("reported_at >= CAST(? AS TIMESTAMP)".into());
            params.push(fengqiao_ingest::time::format_datetime(from));
        }
        if let Some(to) = self.to {
            parts.push("reported_at < CAST(? AS TIMESTAMP)".into());
            params.push(fengqiao_ingest::time::format_datetime(to));
        }
        in_list(&mut parts, "category", self.categories.iter().map(|v| v.code()));
        in_list(&mut parts, "class", self.classes.iter().map(|v| v.code()));
        in_list(&mut parts, "channel", self.channels.iter().map(|v| v.code()));
        in_list(&mut parts, "status", self.statuses.iter().map(|v| v.code()));
        in_list(&mut parts, "severity", self.severities.iter().map(|v| v.code()));
        if let Some(code) = &self.unit {
            let id = region
                .id(code)
                .ok_or_else(|| AnalyticsError::UnknownUnit(code.clone()))?;
            let unit = &region.units[id as usize];
            match unit_column(unit.level) {
                _ if region.is_root(id) => {}
                Some(column) => {
                    parts.push(format!("{column} = ?"));
                    params.push(unit.code.clone());
                }
                // A city of a province: the counties in it.
                None => {
                    let counties: Vec<String> = region
                        .level(AdminLevel::County)
                        .filter(|&(c, _)| region.ancestor(c, unit.level) == Some(id))
                        .map(|(_, c)| c.code.clone())
                        .collect();
                    if counties.is_empty() {
                        parts.push("FALSE".into());
                    } else {
                        parts.push(format!("county_code IN ({})", vec!["?"; counties.len()].join(", ")));
                        params.extend(counties);
                    }
                }
            }
        }
        if parts.is_empty() {
            return Ok(("TRUE".into(), params));
        }
        Ok((parts.join(" AND "), params))
    }
}

impl Filter {
    /// The last day the period includes (`to` is exclusive), if it has an end.
    pub fn last_day(&self) -> Option<chrono::NaiveDate> {
        self.to.map(|t| (t - chrono::Duration::microseconds(1)).date())
    }

    /// The index of the filter's unit in `region` (`None` without a unit); fails with
    /// [`AnalyticsError::UnknownUnit`] when the region has no such unit.
    pub fn unit_id(&self, region: &Region) -> Result<Option<fengqiao_ingest::region::UnitId>, AnalyticsError> {
        match &self.unit {
            Some(code) => region
                .id(code)
                .map(Some)
                .ok_or_else(|| AnalyticsError::UnknownUnit(code.clone())),
            None => Ok(None),
        }
    }
}

/// The column of `cases` holding the code of the unit of `level` a case belongs to (`None` for a
/// province or city: the store keeps the county, which lies in one).
pub fn unit_column(level: AdminLevel) -> Option<&'static str> {
    match level {
        AdminLevel::Province | AdminLevel::City => None,
        AdminLevel::County => Some("county_code"),
        AdminLevel::Township => Some("township_code"),
        AdminLevel::Village => Some("village_code"),
        AdminLevel::Grid => Some("grid_code"),
    }
}

/// Appends `column IN ('a', 'b')` for a non-empty list of codes. The codes are the model's constant
/// identifiers (lower-case ASCII and `_`), never user text, so they are safe to write into SQL.
fn in_list<'a>(parts: &mut Vec<String>, column: &str, codes: impl Iterator<Item = &'a str>) {
    let mut codes: Vec<&str> = codes.collect();
    if codes.is_empty() {
        return;
    }
    codes.sort_unstable();
    codes.dedup();
    debug_assert!(codes
        .iter()
        .all(|c| c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')));
    let list: Vec<String> = codes.iter().map(|c| format!("'{c}'")).collect();
    parts.push(format!("{column} IN ({})", list.join(", ")));
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn an_empty_filter_selects_everything() {
        let region = Region::chenzhou();
        assert_eq!(
            Filter::default().where_clause(&region).unwrap(),
            ("TRUE".to_string(), vec![])
        );
        let city = Filter {
            unit: Some(region.code.clone()),
            ..Filter::default()
        };
        assert_eq!(city.where_clause(&region).unwrap().0, "TRUE");
    }

    #[test]
    fn parts_combine_with_and_and_bind_times_and_units() {
        let region = Region::chenzhou();
        let day = |d| {
            NaiveDate::from_ymd_opt(2026, 10, d)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
        };
        let filter = Filter {
            from: Some(day(1)),
            to: Some(day(8)),
            categories: vec![Category::Neighbour, Category::MarriageFamily, Category::Neighbour],
            severities: vec![Severity::Serious],
            unit: Some("431002001".into()),
            ..Filter::default()
        };
        let (sql, params) = filter.where_clause(&region).unwrap();
        assert_eq!(
            sql,
            "reported_at >= CAST(? AS TIMESTAMP) AND reported_at < CAST(? AS TIMESTAMP) \
             AND category IN ('marriage_family', 'neighbour') AND severity IN ('serious') \
             AND township_code = ?"
        );
        assert_eq!(params, ["2026-10-01 00:00:00", "2026-10-08 00:00:00", "431002001"]);
    }

    #[test]
    fn the_unit_picks_the_column_of_its_level() {
        let region = Region::chenzhou();
        for level in [
            AdminLevel::County,
            AdminLevel::Township,
            AdminLevel::Village,
            AdminLevel::Grid,
        ] {
            let (_, unit) = region.level(level).next().unwrap();
            let filter = Filter {
                unit: Some(unit.code.clone()),
                ..Filter::default()
            };
            let (sql, params) = filter.where_clause(&region).unwrap();
            assert_eq!(sql, format!("{} = ?", unit_column(level).unwrap()));
            assert_eq!(params, std::slice::from_ref(&unit.code));
        }
        let unknown = Filter {
            unit: Some("999999".into()),
            ..Filter::default()
        };
        assert!(matches!(unknown.where_clause(&region), Err(AnalyticsError::UnknownUnit(c)) if c == "999999"));
    }
}
