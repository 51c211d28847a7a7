//! Validation: one raw record in, one typed [`CaseRow`] or one [`Rejection`] out.
//!
//! Every check names the field it failed on and a stable reason code (the `rejected.reason` column;
//! the list is in `docs/input-format.md`). Coordinates are converted to WGS84 and indexed in H3 here,
//! so that this — the per-row CPU work — runs in parallel.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use h3o::LatLng;

use crate::coords::Crs;
use crate::gazetteer::{Gazetteer, NotFound, PlaceMatch};
use crate::mapping::Mapping;
use crate::model::{AdminLevel, CaseClass, Category, Channel, Satisfaction, Severity, Status};
use crate::read::{ColumnMap, Encoding, RawRecord};
use crate::region::{Lineage, Region, UnitId};
use crate::schema::{Column, H3_RESOLUTION};
use crate::time::parse_datetime;

/// Where a stored position came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GeoSource {
    /// The record's own coordinates (converted to WGS84).
    Point,
    /// The record had none: its grid's point (the grid named by code).
    Grid,
    /// The record had none and no grid: its village's point (the village named by code).
    Village,
    /// The record had none: the point of the unit its unit-name columns name.
    Name,
    /// The record had none: the point of the unit its address names.
    Address,
}

impl GeoSource {
    pub fn code(self) -> &'static str {
        match self {
            GeoSource::Point => "point",
            GeoSource::Grid => "grid",
            GeoSource::Village => "village",
            GeoSource::Name => "name",
            GeoSource::Address => "address",
        }
    }
}

/// How precise a stored position is: the case's own point, or only its grid's or its village's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Precision {
    Point,
    Grid,
    Village,
}

impl Precision {
    /// The stored code (`cases.geo_precision`).
    pub fn code(self) -> &'static str {
        match self {
            Precision::Point => "point",
            Precision::Grid => "grid",
            Precision::Village => "village",
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
    pub precision: Precision,
    pub place_match: PlaceMatch,
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
    pub address: Option<String>,
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
#[derive(Clone, Copy)]
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
    /// The export's mapping (value words, constants, date formats), if any.
    pub mapping: Option<&'a Mapping>,
    /// The region's names, when the file names places or gives addresses.
    pub gazetteer: Option<&'a Gazetteer>,
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
            mapping: None,
            gazetteer: None,
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
    /// The trimmed value of `column`, `None` if absent or empty: a source word the mapping maps is
    /// its value code, and an absent or empty value the mapping's constant for the column. An empty
    /// value of a column the schema declares required is rejected (`missing_field`).
    fn get(&self, column: Column) -> Result<Option<std::borrow::Cow<'_, str>>, Rejection> {
        let value = self.raw(column)?;
        let mapping = self.ctx.mapping;
        let value = match (value, mapping) {
            (None, Some(m)) => m.default_of(column).map(std::borrow::Cow::Borrowed),
            (Some(v), Some(m)) => Some(match m.value(column, &v) {
                Some(code) => std::borrow::Cow::Borrowed(code),
                None => v,
            }),
            (v, None) => v,
        };
        if value.is_none() && column.required() {
            return Err(self.missing(column));
        }
        Ok(value)
    }

    fn missing(&self, column: Column) -> Rejection {
        reject(
            self.record.line,
            column,
            "missing_field",
            format!("{} is required", self.label(column)),
        )
    }

    /// "登记日期 (reported_at)": the column as messages name it.
    fn label(&self, column: Column) -> String {
        self.ctx.columns.label(column)
    }

    /// The trimmed text of `column` as the file has it.
    fn raw(&self, column: Column) -> Result<Option<std::borrow::Cow<'_, str>>, Rejection> {
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
                format!("{} is not valid {:?} text", self.label(column), self.ctx.encoding),
            )
        })?;
        Ok(match text {
            std::borrow::Cow::Borrowed(s) => Some(s.trim()).filter(|s| !s.is_empty()).map(std::borrow::Cow::Borrowed),
            std::borrow::Cow::Owned(s) => Some(s.trim().to_string())
                .filter(|s| !s.is_empty())
                .map(std::borrow::Cow::Owned),
        })
    }

    /// The value of a column this row must have (a required column's emptiness [`Fields::get`]
    /// rejects by the schema).
    fn required(&self, column: Column) -> Result<std::borrow::Cow<'_, str>, Rejection> {
        self.get(column)?.ok_or_else(|| self.missing(column))
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
                    format!("{}: {e}", self.label(column)),
                )
            }),
        }
    }

    fn enumeration<T: std::str::FromStr>(&self, column: Column) -> Result<T, Rejection>
    where
        T::Err: std::fmt::Display,
    {
        self.parse(column)?.ok_or_else(|| self.missing(column))
    }

    fn time(&self, column: Column) -> Result<Option<NaiveDateTime>, Rejection> {
        match self.get(column)? {
            None => Ok(None),
            Some(s) => self
                .ctx
                .mapping
                .and_then(|m| m.parse_date(&s))
                .or_else(|| parse_datetime(&s))
                .map(Some)
                .ok_or_else(|| {
                    reject(
                        self.record.line,
                        column,
                        "invalid_date",
                        format!(
                            "{}: {s:?} is not a date-time like 2026-10-31 14:23:05",
                            self.label(column)
                        ),
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
    let reported_at = f
        .time(Column::ReportedAt)?
        .ok_or_else(|| f.missing(Column::ReportedAt))?;
    let class: CaseClass = f.enumeration(Column::Class)?;
    let category: Category = f.enumeration(Column::Category)?;
    let severity: Severity = f.enumeration(Column::Severity)?;
    let channel: Channel = f.enumeration(Column::Channel)?;
    let status: Status = f.enumeration(Column::Status)?;
    let satisfaction: Option<Satisfaction> = f.parse(Column::Satisfaction)?;

    let times = check_times(&f, line, ctx, reported_at, status)?;
    let point = own_point(&f, line, ctx)?;
    let (units, found_by, place_match) = resolve_place(&f, line, ctx, point)?;
    let (units, lng, lat, crs, geo_source, precision) = position(ctx, units, found_by, point);
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
        precision,
        place_match,
        h3,
        replied_at: times.replied_at,
        closed_at: times.closed_at,
        updated_at: times.updated_at,
        satisfaction,
        repeat_of: f.owned(Column::RepeatOf)?,
        party_name: f.owned(Column::PartyName)?,
        party_phone: f.owned(Column::PartyPhone)?,
        summary: f.owned(Column::Summary)?,
        address: f.owned(Column::Address)?,
    })
}

/// A record's later times, checked.
struct Times {
    replied_at: Option<NaiveDateTime>,
    closed_at: Option<NaiveDateTime>,
    /// The record's own `updated_at`, else its latest time.
    updated_at: NaiveDateTime,
}

/// Times in range and in order: none in the future or before 2000, none before `reported_at`, and a
/// closing time for a final status.
fn check_times(
    f: &Fields<'_>,
    line: u64,
    ctx: &Context<'_>,
    reported_at: NaiveDateTime,
    status: Status,
) -> Result<Times, Rejection> {
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
    Ok(Times {
        replied_at,
        closed_at,
        updated_at,
    })
}

/// How a record's unit was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FoundBy {
    GridCode,
    VillageCode,
    Name,
    Address,
    Point,
}

/// A record's own point: (WGS84 lng, lat, the system it was given in), checked to lie in the region.
type OwnPoint = Option<(f64, f64, Crs)>;

/// The village (and grid) a record belongs to: by its codes, else its unit names, else its address,
/// else the polygon its own point lies in.
fn resolve_place(
    f: &Fields<'_>,
    line: u64,
    ctx: &Context<'_>,
    point: OwnPoint,
) -> Result<(Lineage, FoundBy, PlaceMatch), Rejection> {
    let region = ctx.region;
    let unit_of = |column: Column, level: AdminLevel| -> Result<Option<(UnitId, bool)>, Rejection> {
        let Some(code) = f.get(column)? else { return Ok(None) };
        match region.id(&code) {
            Some(id) if region.units[id as usize].level == level => Ok(Some((id, region.is_former_code(&code)))),
            _ => Err(reject(
                line,
                column,
                "unknown_code",
                format!(
                    "{} {code:?} is not a {} of {}",
                    f.label(column),
                    level.code(),
                    region.name
                ),
            )),
        }
    };
    let grid = unit_of(Column::GridCode, AdminLevel::Grid)?;
    let village = unit_of(Column::VillageCode, AdminLevel::Village)?;
    let township = unit_of(Column::TownshipCode, AdminLevel::Township)?;
    let county = unit_of(Column::CountyCode, AdminLevel::County)?;
    let former = [grid, village, township, county]
        .iter()
        .flatten()
        .any(|&(_, former)| former);
    let code_match = if former { PlaceMatch::Alias } else { PlaceMatch::Exact };
    let (lineage, found_by, place_match) = match (grid, village) {
        (Some((g, _)), _) => (region.lineage(g), FoundBy::GridCode, code_match),
        (None, Some((v, _))) => (region.lineage(v), FoundBy::VillageCode, code_match),
        (None, None) => {
            let within: Vec<UnitId> = [county, township].iter().flatten().map(|&(u, _)| u).collect();
            let (unit, found_by, quality) = by_name_or_address(f, line, ctx, &within, point)?;
            (region.lineage(unit), found_by, quality)
        }
    };
    let lineage = lineage.expect("grids and villages always have a lineage");
    if !matches!(found_by, FoundBy::GridCode | FoundBy::VillageCode) {
        return Ok((lineage, found_by, place_match));
    }
    let stated = [
        (Column::VillageCode, village, lineage.village),
        (Column::TownshipCode, township, lineage.township),
        (Column::CountyCode, county, lineage.county),
    ];
    for (column, stated, actual) in stated {
        if let Some((stated, _)) = stated.filter(|&(s, _)| s != actual) {
            return Err(reject(
                line,
                column,
                "code_mismatch",
                format!(
                    "{} {} does not contain {} {}",
                    f.label(column),
                    region.units[stated as usize].code,
                    if grid.is_some() { "grid" } else { "village" },
                    region.units[grid.map_or(lineage.village, |(g, _)| g) as usize].code
                ),
            ));
        }
    }
    Ok((lineage, found_by, place_match))
}

/// The most candidates a rejection lists.
const MAX_CANDIDATES: usize = 10;

/// The village or grid of a record without village and grid codes.
fn by_name_or_address(
    f: &Fields<'_>,
    line: u64,
    ctx: &Context<'_>,
    within: &[UnitId],
    point: OwnPoint,
) -> Result<(UnitId, FoundBy, PlaceMatch), Rejection> {
    let region = ctx.region;
    let name_columns = [
        (Column::CountyName, AdminLevel::County),
        (Column::TownshipName, AdminLevel::Township),
        (Column::VillageName, AdminLevel::Village),
        (Column::GridName, AdminLevel::Grid),
    ];
    let mut names: Vec<(AdminLevel, Column, std::borrow::Cow<'_, str>)> = Vec::new();
    for (column, level) in name_columns {
        if let Some(name) = f.get(column)? {
            names.push((level, column, name));
        }
    }
    let address = f.get(Column::Address)?;
    let names_a_place = names
        .iter()
        .any(|(l, _, _)| matches!(l, AdminLevel::Village | AdminLevel::Grid));
    let failed = |column: Column, e: NotFound| not_found(f, line, region, column, e);
    if let Some(gazetteer) = ctx.gazetteer.filter(|_| names_a_place || address.is_some()) {
        let pairs: Vec<(AdminLevel, &str)> = names.iter().map(|(l, _, n)| (*l, n.as_ref())).collect();
        if names_a_place {
            let last = names.last().map_or(Column::VillageName, |n| n.1);
            return match gazetteer.by_names(region, &pairs, within) {
                Ok(found) => Ok((found.unit, FoundBy::Name, found.quality)),
                // The address may say what the names leave open.
                Err(e) => match address.as_deref().map(|a| gazetteer.by_address(region, a, within)) {
                    Some(Ok(found)) => Ok((found.unit, FoundBy::Address, found.quality)),
                    _ => Err(failed(last, e)),
                },
            };
        }
        // County and township names narrow the address's candidates.
        let mut scope = within.to_vec();
        if !pairs.is_empty() {
            let named = gazetteer.named(pairs[pairs.len() - 1].0, pairs[pairs.len() - 1].1);
            if let [(unit, _)] = named[..] {
                scope.push(unit);
            }
        }
        let address = address.expect("checked above");
        return gazetteer
            .by_address(region, &address, &scope)
            .map(|found| (found.unit, FoundBy::Address, found.quality))
            .map_err(|e| failed(Column::Address, e));
    }
    if let Some((lng, lat, _)) = point {
        return by_point(region, line, within, lng, lat);
    }
    Err(missing_place(line))
}

/// The rejection of a place not found: unknown, or ambiguous with its candidates listed.
fn not_found(f: &Fields<'_>, line: u64, region: &Region, column: Column, e: NotFound) -> Rejection {
    match e {
        NotFound::Unknown(message) => reject(line, column, "unknown_place", format!("{}: {message}", f.label(column))),
        NotFound::Ambiguous { what, candidates } => {
            let mut listed: Vec<String> = candidates
                .iter()
                .take(MAX_CANDIDATES)
                .map(|&u| Gazetteer::describe(region, u))
                .collect();
            if candidates.len() > MAX_CANDIDATES {
                listed.push(format!("… {} more", candidates.len() - MAX_CANDIDATES));
            }
            reject(
                line,
                column,
                "ambiguous_place",
                format!(
                    "{}: {what} fits {} units; candidates: {}",
                    f.label(column),
                    candidates.len(),
                    listed.join("; ")
                ),
            )
        }
    }
}

/// The grid or village polygon a record's own point lies in (within `within`); a rejection when
/// the region has village polygons and none holds it, else the missing place.
fn by_point(
    region: &Region,
    line: u64,
    within: &[UnitId],
    lng: f64,
    lat: f64,
) -> Result<(UnitId, FoundBy, PlaceMatch), Rejection> {
    let contained = region
        .locate(AdminLevel::Grid, lng, lat)
        .or_else(|| region.locate(AdminLevel::Village, lng, lat));
    if let Some(unit) = contained.filter(|&u| {
        within
            .iter()
            .all(|&w| region.ancestor(u, region.units[w as usize].level) == Some(w))
    }) {
        return Ok((unit, FoundBy::Point, PlaceMatch::Contained));
    }
    if region.has_polygons(AdminLevel::Village) {
        return Err(reject(
            line,
            Column::Lng,
            "unknown_place",
            format!(
                "({lng:.6}, {lat:.6}) lies in no village polygon of {} (and the row names no village)",
                region.name
            ),
        ));
    }
    Err(missing_place(line))
}

fn missing_place(line: u64) -> Rejection {
    reject(
        line,
        Column::VillageCode,
        "missing_field",
        "a place is required: village_code, grid_code, village_name or address".into(),
    )
}

type Position = (Lineage, f64, f64, Option<Crs>, GeoSource, Precision);

/// The record's WGS84 position: its own point (which also finds its grid by containment, where the
/// region has grid polygons and the record names none), else its grid's or village's point.
fn position(ctx: &Context<'_>, mut units: Lineage, found_by: FoundBy, point: OwnPoint) -> Position {
    let region = ctx.region;
    if let Some((lng, lat, crs)) = point {
        if units.grid.is_none() {
            units.grid = region
                .locate(AdminLevel::Grid, lng, lat)
                .filter(|&g| region.parent(g) == Some(units.village));
        }
        return (units, lng, lat, Some(crs), GeoSource::Point, Precision::Point);
    }
    let (id, precision) = match units.grid {
        Some(g) => (g, Precision::Grid),
        None => (units.village, Precision::Village),
    };
    let source = match found_by {
        FoundBy::Name => GeoSource::Name,
        FoundBy::Address => GeoSource::Address,
        _ if units.grid.is_some() => GeoSource::Grid,
        _ => GeoSource::Village,
    };
    let unit = &region.units[id as usize];
    (units, unit.lng, unit.lat, None, source, precision)
}

/// The record's own coordinates, converted to WGS84 and checked to lie in the region.
fn own_point(f: &Fields<'_>, line: u64, ctx: &Context<'_>) -> Result<OwnPoint, Rejection> {
    let number = |column: Column| -> Result<Option<f64>, Rejection> {
        match f.get(column)? {
            None => Ok(None),
            Some(s) => match s.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Some(v)),
                _ => Err(reject(
                    line,
                    column,
                    "invalid_coordinate",
                    format!("{}: {s:?} is not a number", f.label(column)),
                )),
            },
        }
    };
    let (lng, lat) = (number(Column::Lng)?, number(Column::Lat)?);
    let (x, y) = match (lng, lat) {
        (Some(x), Some(y)) => (x, y),
        (None, None) => return Ok(None),
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
        return Ok(Some((w_lng, w_lat, crs)));
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
