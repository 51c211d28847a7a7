//! Validation: one raw record in, one typed [`CaseRow`] or one [`Rejection`] out.
//!
//! Every check names the field it failed on and a stable reason code (the `rejected.reason` column;
//! the list is in `docs/input-format.md`). Coordinates are converted to WGS84 and indexed in H3 here,
//! so that this — the per-row CPU work — runs in parallel.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use h3o::LatLng;

use crate::coords::Crs;
use crate::model::{AdminLevel, CaseClass, Category, Channel, Satisfaction, Severity, Status};
use crate::read::{ColumnMap, Encoding, RawRecord};
use crate::region::{Lineage, Region};
use crate::schema::{Column, H3_RESOLUTION};
use crate::time::parse_datetime;

/// Where a stored position came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeoSource {
    /// The record's own coordinates (converted to WGS84).
    Point,
    /// The record had none: its grid's point.
    Grid,
    /// The record had none and no grid: its village's point.
    Village,
}

impl GeoSource {
    pub fn code(self) -> &'static str {
        match self {
            GeoSource::Point => "point",
            GeoSource::Grid => "grid",
            GeoSource::Village => "village",
        }
    }
}

/// A valid case, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRow {
    pub line: u64,
    pub case_id: String,
    pub reported_at: NaiveDateTime,
    pub class: CaseClass,
    pub category: Category,
    pub severity: Severity,
    pub channel: Channel,
    pub status: Status,
    pub units: Lineage,
    pub lng: f64,
    pub lat: f64,
    /// The system the input coordinates were in; `None` when the record had none.
    pub crs: Option<Crs>,
    pub geo_source: GeoSource,
    pub h3: u64,
    pub replied_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    /// The record's own update time, else its latest event time.
    pub updated_at: NaiveDateTime,
    pub satisfaction: Option<Satisfaction>,
    pub repeat_of: Option<String>,
    pub party_name: Option<String>,
    pub party_phone: Option<String>,
    pub summary: Option<String>,
}

/// Why a line was not loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub line: u64,
    /// The input column (English name) at fault, if one is.
    pub field: Option<&'static str>,
    /// A stable reason code.
    pub reason: &'static str,
    pub message: String,
}

/// What validation needs besides the record.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub region: &'a Region,
    pub columns: &'a ColumnMap,
    pub encoding: Encoding,
    /// The system of coordinates whose row has no `crs` (default GCJ-02, what mini-programs report).
    pub default_crs: Crs,
    /// Reports later than this are "in the future" (now plus a day of clock skew).
    pub latest: NaiveDateTime,
    /// Reports earlier than this are taken for typos.
    pub earliest: NaiveDateTime,
}

impl<'a> Context<'a> {
    pub fn new(region: &'a Region, columns: &'a ColumnMap, encoding: Encoding, now: NaiveDateTime) -> Self {
        Context {
            region,
            columns,
            encoding,
            default_crs: Crs::Gcj02,
            latest: now + Duration::days(1),
            earliest: NaiveDate::from_ymd_opt(2000, 1, 1)
                .expect("valid date")
                .and_time(chrono::NaiveTime::MIN),
        }
    }
}

fn reject(line: u64, field: Column, reason: &'static str, message: String) -> Rejection {
    Rejection {
        line,
        field: Some(field.name()),
        reason,
        message,
    }
}

/// The text fields of one record, decoded.
struct Fields<'r> {
    record: &'r RawRecord,
    ctx: &'r Context<'r>,
    /// The whole record as text, when it is valid UTF-8 (or plain ASCII in a GB18030 file): then a
    /// field is a slice of it, and one check served all fields.
    text: Option<&'r str>,
}

impl<'r> Fields<'r> {
    fn new(record: &'r RawRecord, ctx: &'r Context<'r>) -> Self {
        let bytes = record.fields.as_slice();
        let text = match ctx.encoding {
            Encoding::Utf8 => std::str::from_utf8(bytes).ok(),
            Encoding::Gb18030 => bytes.is_ascii().then(|| std::str::from_utf8(bytes).ok()).flatten(),
        };
        Fields { record, ctx, text }
    }
}

impl Fields<'_> {
    /// The trimmed value of `column`, `None` if absent or empty.
    fn get(&self, column: Column) -> Result<Option<std::borrow::Cow<'_, str>>, Rejection> {
        let Some(i) = self.ctx.columns.get(column) else {
            return Ok(None);
        };
        // A field of a valid record is a slice of it (unless a character straddles two fields, which
        // only invalid fields can make: those are decoded one by one below and rejected).
        if let Some(field) = self.text.zip(self.record.fields.range(i)).and_then(|(t, r)| t.get(r)) {
            let field = field.trim();
            return Ok((!field.is_empty()).then_some(std::borrow::Cow::Borrowed(field)));
        }
        let bytes = self.record.fields.get(i).unwrap_or_default();
        let text = self.ctx.encoding.decode(bytes).ok_or_else(|| {
            reject(
                self.record.line,
                column,
                "bad_encoding",
                format!("{} is not valid {:?} text", column.name(), self.ctx.encoding),
            )
        })?;
        Ok(match text {
            std::borrow::Cow::Borrowed(s) => Some(s.trim()).filter(|s| !s.is_empty()).map(std::borrow::Cow::Borrowed),
            std::borrow::Cow::Owned(s) => Some(s.trim().to_string())
                .filter(|s| !s.is_empty())
                .map(std::borrow::Cow::Owned),
        })
    }

    fn required(&self, column: Column) -> Result<std::borrow::Cow<'_, str>, Rejection> {
        self.get(column)?.ok_or_else(|| {
            reject(
                self.record.line,
                column,
                "missing_field",
                format!("{} is required", column.name()),
            )
        })
    }

    fn parse<T: std::str::FromStr>(&self, column: Column) -> Result<Option<T>, Rejection>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(column)? {
            None => Ok(None),
            Some(s) => s.parse().map(Some).map_err(|e| {
                reject(
                    self.record.line,
                    column,
                    "invalid_value",
                    format!("{}: {e}", column.name()),
                )
            }),
        }
    }

    fn enumeration<T: std::str::FromStr>(&self, column: Column) -> Result<T, Rejection>
    where
        T::Err: std::fmt::Display,
    {
        self.parse(column)?.ok_or_else(|| {
            reject(
                self.record.line,
                column,
                "missing_field",
                format!("{} is required", column.name()),
            )
        })
    }

    fn time(&self, column: Column) -> Result<Option<NaiveDateTime>, Rejection> {
        match self.get(column)? {
            None => Ok(None),
            Some(s) => parse_datetime(&s).map(Some).ok_or_else(|| {
                reject(
                    self.record.line,
                    column,
                    "invalid_date",
                    format!("{}: {s:?} is not a date-time like 2026-10-31 14:23:05", column.name()),
                )
            }),
        }
    }

    fn owned(&self, column: Column) -> Result<Option<String>, Rejection> {
        Ok(self.get(column)?.map(|s| s.into_owned()))
    }
}

/// Validates one record.
pub fn validate(record: &RawRecord, ctx: &Context<'_>) -> Result<CaseRow, Rejection> {
    let line = record.line;
    let f = Fields::new(record, ctx);
    let case_id = f.required(Column::CaseId)?.into_owned();
    let reported_at = f.time(Column::ReportedAt)?.ok_or_else(|| {
        reject(
            line,
            Column::ReportedAt,
            "missing_field",
            "reported_at is required".into(),
        )
    })?;
    let class: CaseClass = f.enumeration(Column::Class)?;
    let category: Category = f.enumeration(Column::Category)?;
    let severity: Severity = f.enumeration(Column::Severity)?;
    let channel: Channel = f.enumeration(Column::Channel)?;
    let status: Status = f.enumeration(Column::Status)?;
    let satisfaction: Option<Satisfaction> = f.parse(Column::Satisfaction)?;

    // Times: in range, and in order.
    if reported_at > ctx.latest {
        return Err(reject(
            line,
            Column::ReportedAt,
            "future_date",
            format!("reported_at {reported_at} is in the future"),
        ));
    }
    if reported_at < ctx.earliest {
        return Err(reject(
            line,
            Column::ReportedAt,
            "invalid_date",
            format!("reported_at {reported_at} is before 2000"),
        ));
    }
    let replied_at = f.time(Column::RepliedAt)?;
    let closed_at = f.time(Column::ClosedAt)?;
    let updated_at = f.time(Column::UpdatedAt)?;
    for (column, t) in [
        (Column::RepliedAt, replied_at),
        (Column::ClosedAt, closed_at),
        (Column::UpdatedAt, updated_at),
    ] {
        let Some(t) = t else { continue };
        if t < reported_at {
            let reason = if column == Column::ClosedAt {
                "closed_before_reported"
            } else {
                "time_order"
            };
            return Err(reject(
                line,
                column,
                reason,
                format!("{} {t} is before reported_at {reported_at}", column.name()),
            ));
        }
        if t > ctx.latest {
            return Err(reject(
                line,
                column,
                "future_date",
                format!("{} {t} is in the future", column.name()),
            ));
        }
    }
    if status.is_final() && closed_at.is_none() {
        return Err(reject(
            line,
            Column::ClosedAt,
            "missing_field",
            format!("closed_at is required when status is {}", status.code()),
        ));
    }
    let updated_at = updated_at
        .into_iter()
        .chain([Some(reported_at), replied_at, closed_at].into_iter().flatten())
        .max()
        .expect("reported_at is always there");

    let units = resolve_units(&f, line, ctx.region)?;
    let (lng, lat, crs, geo_source) = position(&f, line, ctx, &units)?;
    let h3 = LatLng::new(lat, lng)
        .map(|ll| u64::from(ll.to_cell(H3_RESOLUTION)))
        .map_err(|e| reject(line, Column::Lat, "invalid_coordinate", format!("({lng}, {lat}): {e}")))?;

    Ok(CaseRow {
        line,
        case_id,
        reported_at,
        class,
        category,
        severity,
        channel,
        status,
        units,
        lng,
        lat,
        crs,
        geo_source,
        h3,
        replied_at,
        closed_at,
        updated_at,
        satisfaction,
        repeat_of: f.owned(Column::RepeatOf)?,
        party_name: f.owned(Column::PartyName)?,
        party_phone: f.owned(Column::PartyPhone)?,
        summary: f.owned(Column::Summary)?,
    })
}

/// The grid/village a record names, checked against the region, and its township and county.
fn resolve_units(f: &Fields<'_>, line: u64, region: &Region) -> Result<Lineage, Rejection> {
    let unit_of = |column: Column, level: AdminLevel| -> Result<Option<u32>, Rejection> {
        let Some(code) = f.get(column)? else { return Ok(None) };
        match region.id(&code) {
            Some(id) if region.units[id as usize].level == level => Ok(Some(id)),
            _ => Err(reject(
                line,
                column,
                "unknown_code",
                format!(
                    "{} {code:?} is not a {} of {}",
                    column.name(),
                    level.code(),
                    region.name
                ),
            )),
        }
    };
    let grid = unit_of(Column::GridCode, AdminLevel::Grid)?;
    let village = unit_of(Column::VillageCode, AdminLevel::Village)?;
    let lineage = match (grid, village) {
        (Some(g), _) => region.lineage(g),
        (None, Some(v)) => region.lineage(v),
        (None, None) => {
            return Err(reject(
                line,
                Column::VillageCode,
                "missing_field",
                "village_code or grid_code is required".into(),
            ))
        }
    }
    .expect("grids and villages always have a lineage");
    let stated = [
        (Column::VillageCode, village, lineage.village),
        (
            Column::TownshipCode,
            unit_of(Column::TownshipCode, AdminLevel::Township)?,
            lineage.township,
        ),
        (
            Column::CountyCode,
            unit_of(Column::CountyCode, AdminLevel::County)?,
            lineage.county,
        ),
    ];
    for (column, stated, actual) in stated {
        if let Some(stated) = stated.filter(|&s| s != actual) {
            return Err(reject(
                line,
                column,
                "code_mismatch",
                format!(
                    "{} {} does not contain {} {}",
                    column.name(),
                    region.units[stated as usize].code,
                    if grid.is_some() { "grid" } else { "village" },
                    region.units[grid.unwrap_or(lineage.village) as usize].code
                ),
            ));
        }
    }
    Ok(lineage)
}

type Position = (f64, f64, Option<Crs>, GeoSource);

/// The record's WGS84 position: its own coordinates converted, else its grid's or village's point.
fn position(f: &Fields<'_>, line: u64, ctx: &Context<'_>, units: &Lineage) -> Result<Position, Rejection> {
    let number = |column: Column| -> Result<Option<f64>, Rejection> {
        match f.get(column)? {
            None => Ok(None),
            Some(s) => match s.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Some(v)),
                _ => Err(reject(
                    line,
                    column,
                    "invalid_coordinate",
                    format!("{}: {s:?} is not a number", column.name()),
                )),
            },
        }
    };
    let (lng, lat) = (number(Column::Lng)?, number(Column::Lat)?);
    let (x, y) = match (lng, lat) {
        (Some(x), Some(y)) => (x, y),
        (None, None) => {
            let (id, source) = match units.grid {
                Some(g) => (g, GeoSource::Grid),
                None => (units.village, GeoSource::Village),
            };
            let unit = &ctx.region.units[id as usize];
            return Ok((unit.lng, unit.lat, None, source));
        }
        (Some(_), None) => {
            return Err(reject(
                line,
                Column::Lat,
                "missing_field",
                "lng is given but lat is not".into(),
            ))
        }
        (None, Some(_)) => {
            return Err(reject(
                line,
                Column::Lng,
                "missing_field",
                "lat is given but lng is not".into(),
            ))
        }
    };
    let crs = f.parse::<Crs>(Column::Crs)?.unwrap_or(ctx.default_crs);
    let (w_lng, w_lat) = crs.to_wgs84(x, y);
    if ctx.region.contains(w_lng, w_lat) {
        return Ok((w_lng, w_lat, Some(crs), GeoSource::Point));
    }
    let (s_lng, s_lat) = crs.to_wgs84(y, x);
    if ctx.region.contains(s_lng, s_lat) {
        return Err(reject(
            line,
            Column::Lat,
            "lat_lng_swapped",
            format!(
                "lng {x} / lat {y} lie outside {} but swapped they lie inside",
                ctx.region.name
            ),
        ));
    }
    Err(reject(
        line,
        Column::Lng,
        "outside_region",
        format!(
            "({x}, {y}) {crs} is outside {} (converted to WGS84: {w_lng:.6}, {w_lat:.6})",
            ctx.region.name
        ),
    ))
}
