//! The case schema: every column of a case declared once ([`CASES`]: name, Chinese headers and
//! aliases, value, whether a row needs it, whether it is personal data, how it is stored), and what is
//! derived from that declaration — the headers the ingest accepts ([`Column::from_header`]), the
//! generator's columns ([`Column::ALL`]), the coded values ([`Column::vocabulary`]), the store's
//! `cases` table ([`cases_ddl`], [`cases_arrow_schema`], [`content_columns`]) and the tables of
//! `docs/input-format.md` ([`doc`]; a test keeps the document in step). The store's other tables,
//! its schema version and the migrations of older stores are in [`crate::migrate`].

mod columns;
pub mod doc;

use std::sync::Arc;

use duckdb::arrow::datatypes::{DataType, Field, Schema, TimeUnit};

pub use columns::CASES;

/// One input column: the handle the reader, the mapping and validation use. Its properties are its
/// entry in [`CASES`] ([`Column::decl`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Column {
    CaseId,
    ReportedAt,
    Class,
    Category,
    Severity,
    Channel,
    Status,
    CountyCode,
    TownshipCode,
    VillageCode,
    GridCode,
    Lng,
    Lat,
    Crs,
    RepliedAt,
    ClosedAt,
    UpdatedAt,
    Satisfaction,
    RepeatOf,
    PartyName,
    PartyPhone,
    Summary,
    /// The county (县/区) by name, for exports that name places instead of coding them.
    CountyName,
    TownshipName,
    VillageName,
    GridName,
    /// A free-text address (`湖南省郴州市北湖区华塘镇石虎村3组`), matched against the region's names.
    Address,
}

/// A stored column the ingest computes (no file has it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Derived {
    GeoSource,
    H3,
    SourceFile,
    SourceLine,
    IngestedAt,
    GeoPrecision,
    PlaceMatch,
}

impl Derived {
    /// Where a record came from and when: not compared when deciding whether a record changed.
    pub fn is_provenance(self) -> bool {
        matches!(self, Derived::SourceFile | Derived::SourceLine | Derived::IngestedAt)
    }
}

/// Where a column's values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Read from the file (and written by the generator).
    Input(Column),
    /// Read from the file to find the row's place (names, addresses); the generator writes codes.
    Place(Column),
    /// Computed by the ingest.
    Derived(Derived),
}

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// Free text.
    Text,
    /// One of a closed list: (English code, Chinese name) pairs; either is accepted.
    Coded(&'static [(&'static str, &'static str)]),
    /// The code of one of the region's units.
    UnitCode,
    /// A date-time in China Standard Time.
    Time,
    /// Decimal degrees.
    Degrees,
    /// An H3 cell index.
    Cell,
    /// A line number.
    Line,
}

impl Value {
    /// The column's type in the store (and in the generator's Parquet files).
    pub fn sql_type(self) -> SqlType {
        match self {
            Value::Text | Value::Coded(_) | Value::UnitCode => SqlType::Varchar,
            Value::Time => SqlType::Timestamp,
            Value::Degrees => SqlType::Double,
            Value::Cell => SqlType::UBigInt,
            Value::Line => SqlType::BigInt,
        }
    }
}

/// The DuckDB types of the case columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    Varchar,
    Timestamp,
    Double,
    UBigInt,
    BigInt,
}

impl SqlType {
    pub fn sql(self) -> &'static str {
        match self {
            SqlType::Varchar => "VARCHAR",
            SqlType::Timestamp => "TIMESTAMP",
            SqlType::Double => "DOUBLE",
            SqlType::UBigInt => "UBIGINT",
            SqlType::BigInt => "BIGINT",
        }
    }

    /// The Arrow type the ingest appends (timestamps in microseconds, no zone: UTC+8 wall time).
    pub fn arrow(self) -> DataType {
        match self {
            SqlType::Varchar => DataType::Utf8,
            SqlType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            SqlType::Double => DataType::Float64,
            SqlType::UBigInt => DataType::UInt64,
            SqlType::BigInt => DataType::Int64,
        }
    }
}

/// Whether a row must have a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Every row; a file without the column is refused.
    Required,
    Optional,
    /// One of the place columns (or, in a region with village polygons, a point): a file without
    /// any is refused ([`crate::read::ColumnMap::missing_required`]).
    Place,
    /// Some rows, by a rule the validation applies (its text is what the documentation says).
    Sometimes(&'static str),
}

/// How a column is kept in `cases`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Read only (to find the place).
    No,
    Nullable,
    /// Always filled (`NOT NULL`).
    NotNull,
}

/// The declaration of one column of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseColumn {
    /// The English header, and the store's column name.
    pub name: &'static str,
    pub source: Source,
    /// The Chinese header (the generator's `--headers zh`), then aliases seen in exports of
    /// government systems; none for derived columns.
    pub headers: &'static [&'static str],
    pub value: Value,
    pub need: Need,
    /// Personal data (PIPL): stored, never shown to any role but `admin`.
    pub personal: bool,
    pub stored: Stored,
    /// What the value is, for the documentation.
    pub doc: &'static str,
}

impl CaseColumn {
    /// The input column this is, if it is read from files.
    pub const fn column(&self) -> Option<Column> {
        match self.source {
            Source::Input(c) | Source::Place(c) => Some(c),
            Source::Derived(_) => None,
        }
    }
}

/// The number of input columns, with the place columns or without.
const fn count_inputs(with_places: bool) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < CASES.len() {
        match CASES[i].source {
            Source::Input(_) => n += 1,
            Source::Place(_) if with_places => n += 1,
            _ => {}
        }
        i += 1;
    }
    n
}

/// The input columns in declaration order, with the place columns or without.
const fn inputs<const N: usize>(with_places: bool) -> [Column; N] {
    let mut out = [Column::CaseId; N];
    let (mut i, mut n) = (0, 0);
    while i < CASES.len() {
        match CASES[i].source {
            Source::Input(c) => {
                out[n] = c;
                n += 1;
            }
            Source::Place(c) if with_places => {
                out[n] = c;
                n += 1;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The position in [`CASES`] of each input column.
const fn positions<const N: usize>() -> [usize; N] {
    let mut out = [usize::MAX; N];
    let mut i = 0;
    while i < CASES.len() {
        if let Some(c) = CASES[i].column() {
            out[c as usize] = i;
        }
        i += 1;
    }
    out
}

const POSITION: [usize; Column::EVERY.len()] = positions();

impl Column {
    /// Every input column but the place columns, in the canonical order (the order the generator
    /// writes).
    pub const ALL: [Column; count_inputs(false)] = inputs(false);

    /// Every column the ingest reads: [`Column::ALL`], then the place-name and address columns
    /// (read to find a place; only `address` is stored).
    pub const EVERY: [Column; count_inputs(true)] = inputs(true);

    /// The column's declaration.
    pub fn decl(self) -> &'static CaseColumn {
        &CASES[POSITION[self as usize]]
    }

    /// The English header (also the store's column name).
    pub fn name(self) -> &'static str {
        self.decl().name
    }

    /// The Chinese header the generator writes with `--headers zh`.
    pub fn zh(self) -> &'static str {
        self.decl().headers[0]
    }

    /// Every header accepted for this column: the English name, the Chinese name, then aliases seen in
    /// exports of government systems.
    pub fn headers(self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name()).chain(self.decl().headers.iter().copied())
    }

    /// What the column holds.
    pub fn value(self) -> Value {
        self.decl().value
    }

    /// The (code, Chinese name) pairs of a coded column's values.
    pub fn vocabulary(self) -> Option<&'static [(&'static str, &'static str)]> {
        match self.value() {
            Value::Coded(words) => Some(words),
            _ => None,
        }
    }

    /// Whether every row must have a value here.
    pub fn required(self) -> bool {
        self.decl().need == Need::Required
    }

    /// Whether the column holds personal data (PIPL): only the `admin` role ever sees it.
    pub fn personal(self) -> bool {
        self.decl().personal
    }

    /// Whether the column is one of those of which a row must have one to be placed (village or
    /// grid code, village or grid name, address).
    pub fn names_a_place(self) -> bool {
        self.decl().need == Need::Place
    }

    /// Whether the column is read only to find the row's place (unit names and the address).
    pub fn finds_place(self) -> bool {
        matches!(self.decl().source, Source::Place(_))
    }

    /// The column an English name (`reported_at`, `village_name`, …) names.
    pub fn from_name(name: &str) -> Option<Column> {
        Column::EVERY.into_iter().find(|c| c.name() == name.trim())
    }

    /// The column a header names, English or Chinese, ignoring case, surrounding space, a BOM and
    /// the difference between full-width and ASCII brackets.
    pub fn from_header(header: &str) -> Option<Column> {
        let h = header
            .trim_start_matches('\u{feff}')
            .trim()
            .replace('（', "(")
            .replace('）', ")")
            .replace('，', "、");
        let h = h.as_str();
        Column::EVERY
            .into_iter()
            .find(|c| c.headers().any(|a| a.eq_ignore_ascii_case(h)))
    }
}

/// The stored columns of `cases`, in the table's order.
pub fn stored_columns() -> impl Iterator<Item = &'static CaseColumn> {
    CASES.iter().filter(|c| c.stored != Stored::No)
}

/// `CREATE TABLE cases`: one row per case (the input columns, with `lng`/`lat` in WGS84, plus the
/// derived columns).
pub fn cases_ddl() -> String {
    let columns: Vec<String> = stored_columns()
        .map(|c| {
            let not_null = if c.stored == Stored::NotNull { " NOT NULL" } else { "" };
            format!("    {:<14} {}{not_null}", c.name, c.value.sql_type().sql())
        })
        .collect();
    format!("CREATE TABLE IF NOT EXISTS cases (\n{}\n);\n", columns.join(",\n"))
}

/// The Arrow schema of `cases`, in the table's order (what the ingest appends).
pub fn cases_arrow_schema() -> Arc<Schema> {
    Arc::new(Schema::new(
        stored_columns()
            .map(|c| Field::new(c.name, c.value.sql_type().arrow(), c.stored == Stored::Nullable))
            .collect::<Vec<_>>(),
    ))
}

/// Columns of `cases` compared to decide whether an incoming record changes a stored one (all but the
/// key `case_id` and the provenance columns `source_file`, `source_line`, `ingested_at`).
pub fn content_columns() -> Vec<&'static str> {
    stored_columns()
        .filter(|c| match c.source {
            Source::Derived(d) => !d.is_provenance(),
            _ => c.column() != Some(Column::CaseId),
        })
        .map(|c| c.name)
        .collect()
}

/// The H3 resolution of the stored `h3` cell: the finest the analytics use; coarser cells are its
/// parents.
pub const H3_RESOLUTION: h3o::Resolution = h3o::Resolution::Ten;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_resolve_in_both_languages() {
        for c in Column::EVERY {
            assert_eq!(Column::from_header(c.name()), Some(c));
            assert_eq!(Column::from_header(c.zh()), Some(c));
        }
        assert_eq!(Column::from_header("\u{feff}案件编号"), Some(Column::CaseId));
        assert_eq!(Column::from_header(" LNG "), Some(Column::Lng));
        assert_eq!(Column::from_header("longitude"), Some(Column::Lng));
        assert_eq!(Column::from_header("备注"), None);
        assert_eq!(Column::from_header("所属村（社区）"), Some(Column::VillageName));
        assert_eq!(Column::from_header("县（市，区）"), Some(Column::CountyName));
        assert_eq!(Column::from_header("h3"), None, "derived columns are not read");
    }

    #[test]
    fn every_column_is_declared_once_in_enum_order() {
        for (i, c) in Column::EVERY.iter().enumerate() {
            assert_eq!(*c as usize, i);
        }
        assert_eq!(Column::EVERY.len(), Column::Address as usize + 1);
        for c in Column::EVERY {
            assert_eq!(CASES.iter().filter(|d| d.column() == Some(c)).count(), 1, "{c:?}");
            assert_eq!(c.decl().column(), Some(c));
        }
        let mut names = std::collections::HashSet::new();
        assert!(CASES.iter().all(|c| names.insert(c.name)), "a name declared twice");
    }

    #[test]
    fn headers_are_unambiguous() {
        let mut seen = std::collections::HashSet::new();
        for c in Column::EVERY {
            for h in c.headers() {
                assert!(seen.insert(h.to_lowercase()), "{h} names two columns");
            }
        }
    }

    #[test]
    fn the_generator_writes_the_case_columns_and_the_ingest_also_reads_places() {
        assert_eq!(Column::ALL.len(), 22);
        assert_eq!(Column::ALL[..], Column::EVERY[..22]);
        assert!(Column::EVERY[22..].iter().all(|c| c.finds_place()));
        assert!(Column::ALL.iter().all(|c| !c.finds_place()));
    }

    #[test]
    fn required_and_personal_columns() {
        let required: Vec<&str> = Column::EVERY
            .into_iter()
            .filter(|c| c.required())
            .map(Column::name)
            .collect();
        assert_eq!(
            required,
            [
                "case_id",
                "reported_at",
                "class",
                "category",
                "severity",
                "channel",
                "status"
            ]
        );
        let personal: Vec<&str> = Column::EVERY
            .into_iter()
            .filter(|c| c.personal())
            .map(Column::name)
            .collect();
        assert_eq!(personal, ["party_name", "party_phone", "summary", "address"]);
    }

    /// The store's `cases` table as the releases before this declaration created it (schema 2).
    const CASES_OF_SCHEMA_2: &str =
        "case_id VARCHAR NOT NULL, reported_at TIMESTAMP NOT NULL, class VARCHAR NOT NULL, \
        category VARCHAR NOT NULL, severity VARCHAR NOT NULL, channel VARCHAR NOT NULL, status VARCHAR NOT NULL, \
        county_code VARCHAR NOT NULL, township_code VARCHAR NOT NULL, village_code VARCHAR NOT NULL, \
        grid_code VARCHAR, lng DOUBLE NOT NULL, lat DOUBLE NOT NULL, crs VARCHAR, geo_source VARCHAR NOT NULL, \
        h3 UBIGINT NOT NULL, replied_at TIMESTAMP, closed_at TIMESTAMP, updated_at TIMESTAMP NOT NULL, \
        satisfaction VARCHAR, repeat_of VARCHAR, party_name VARCHAR, party_phone VARCHAR, summary VARCHAR, \
        source_file VARCHAR NOT NULL, source_line BIGINT NOT NULL, ingested_at TIMESTAMP NOT NULL, \
        geo_precision VARCHAR, place_match VARCHAR, address VARCHAR";

    #[test]
    fn the_derived_table_is_the_one_stores_have() {
        let ddl = cases_ddl();
        let body = ddl.split_once('(').unwrap().1.rsplit_once(')').unwrap().0;
        let columns: Vec<String> = body
            .split(",\n")
            .map(|c| c.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(columns.join(", "), CASES_OF_SCHEMA_2);
        let schema = cases_arrow_schema();
        assert_eq!(schema.fields().len(), columns.len());
        assert_eq!(schema.field(0).name(), "case_id");
        assert!(!schema.field(0).is_nullable() && schema.field(10).is_nullable());
        assert_eq!(schema.field_with_name("h3").unwrap().data_type(), &DataType::UInt64);
    }

    #[test]
    fn content_columns_leave_out_the_key_and_the_provenance() {
        let content = content_columns();
        assert_eq!(content.len(), stored_columns().count() - 4);
        assert_eq!(content[0], "reported_at");
        assert!(content.contains(&"address") && content.contains(&"geo_precision"));
        assert!(!content.contains(&"source_file") && !content.contains(&"case_id"));
    }
}
