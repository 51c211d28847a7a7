//! Mapping files: how one case system's export maps onto Fengqiao's columns (format:
//! `docs/input-format.md`, "Mapping files"). A mapping names, for the export's headers, the column
//! each one fills; for the coded columns, which source words mean which value (`调解成功` →
//! `resolved`); constant values for columns the export lacks; extra date formats; the sheet, header
//! row, encoding and default coordinate system.
//!
//! A mapping is checked whole when it is read — two headers for one column, an unknown column or
//! value, a bad date format — so that a wrong mapping fails before any row is read.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::coords::Crs;
use crate::read::Encoding;
use crate::schema::Column;

/// A mapping that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct MappingError {
    pub file: String,
    pub message: String,
}

/// A sheet of a workbook: by name or by 1-based position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SheetRef {
    Index(u32),
    Name(String),
}

impl std::str::FromStr for SheetRef {
    type Err = String;
    fn from_str(s: &str) -> Result<SheetRef, String> {
        match s.trim().parse::<u32>() {
            Ok(0) => Err("sheets are numbered from 1".into()),
            Ok(n) => Ok(SheetRef::Index(n)),
            Err(_) if s.trim().is_empty() => Err("an empty sheet name".into()),
            Err(_) => Ok(SheetRef::Name(s.trim().to_string())),
        }
    }
}

impl std::fmt::Display for SheetRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SheetRef::Index(n) => write!(f, "{n}"),
            SheetRef::Name(s) => f.write_str(s),
        }
    }
}

/// The file section of a mapping.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<SheetRef>,
    /// 1-based row of the headers (default: found among the first rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_row: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// The coordinate system of rows without a `crs` value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crs: Option<String>,
}

/// A mapping file as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    #[serde(default)]
    pub file: FileSection,
    /// Export header → column name (`reported_at`, …) or `ignore`.
    #[serde(default)]
    pub columns: toml::Table,
    /// Column name → constant value for rows of an export that lacks the column.
    #[serde(default)]
    pub defaults: toml::Table,
    #[serde(default)]
    pub dates: Dates,
    /// Column name → (source word → value).
    #[serde(default)]
    pub values: toml::Table,
}

/// Date formats tried before the built-in ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dates {
    /// chrono `strftime` formats, e.g. `"%Y%m%d %H%M"`; a format without a time reads midnight.
    #[serde(default)]
    pub formats: Vec<String>,
}

/// A checked mapping.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// Where it came from, for messages.
    pub file: String,
    pub sheet: Option<SheetRef>,
    pub header_row: Option<u32>,
    pub encoding: Option<Encoding>,
    pub crs: Option<Crs>,
    /// Normalized export header → column (`None`: ignore it).
    headers: HashMap<String, Option<Column>>,
    /// Constant values of columns, already mapped.
    defaults: Vec<(Column, String)>,
    pub date_formats: Vec<String>,
    /// Per column: source word (trimmed) → value code.
    values: HashMap<Column, HashMap<String, &'static str>>,
}

/// The codes and Chinese names of a coded column's values, when it is one ([`Column::vocabulary`]).
pub fn vocabulary(column: Column) -> Option<Vec<(&'static str, &'static str)>> {
    column.vocabulary().map(<[_]>::to_vec)
}

/// The value code of `word` in a column's vocabulary (its code, any case, or its Chinese name).
fn value_code(column: Column, word: &str) -> Option<&'static str> {
    let word = word.trim();
    vocabulary(column)?
        .into_iter()
        .find(|(code, zh)| code.eq_ignore_ascii_case(word) || *zh == word)
        .map(|(code, _)| code)
}

/// How headers are compared: trimmed, without a BOM, full-width brackets made ASCII.
pub fn header_key(header: &str) -> String {
    header
        .trim_start_matches('\u{feff}')
        .trim()
        .replace('（', "(")
        .replace('）', ")")
}

impl Mapping {
    /// Reads and checks a mapping file.
    pub fn load(path: &Path) -> Result<Mapping, MappingError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| MappingError {
            file: file.clone(),
            message: e.to_string(),
        })?;
        Mapping::parse(&text, &file)
    }

    /// Parses and checks a mapping; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Mapping, MappingError> {
        let err = |message: String| MappingError {
            file: file.to_string(),
            message,
        };
        let raw: MappingFile = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let column_named = |section: &str, name: &str| column_named(file, section, name);
        let headers = header_columns(&raw.columns, file)?;
        let values = value_words(&raw.values, file)?;
        let mut defaults = Vec::new();
        for (name, value) in &raw.defaults {
            let column = column_named("defaults", name)?;
            let value = match value {
                toml::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let value = match vocabulary(column) {
                Some(_) => value_code(column, &value)
                    .or_else(|| values.get(&column).and_then(|w| w.get(value.trim()).copied()))
                    .map(str::to_string)
                    .ok_or_else(|| err(format!("[defaults] {name} = {value:?}: not a {name}")))?,
                None => value,
            };
            defaults.push((column, value));
        }
        for format in &raw.dates.formats {
            let items: Vec<_> = chrono::format::StrftimeItems::new(format).collect();
            if items.iter().any(|i| matches!(i, chrono::format::Item::Error)) {
                return Err(err(format!(
                    "[dates] formats: {format:?} is not a chrono strftime format"
                )));
            }
        }
        let encoding = raw
            .file
            .encoding
            .as_deref()
            .map(str::parse::<Encoding>)
            .transpose()
            .map_err(|e| err(format!("[file] encoding: {e}")))?;
        let crs = raw
            .file
            .crs
            .as_deref()
            .map(str::parse::<Crs>)
            .transpose()
            .map_err(|e| err(format!("[file] crs: {e}")))?;
        if raw.file.header_row == Some(0) {
            return Err(err("[file] header_row: rows are numbered from 1".into()));
        }
        Ok(Mapping {
            file: file.to_string(),
            sheet: raw.file.sheet,
            header_row: raw.file.header_row,
            encoding,
            crs,
            headers,
            defaults,
            date_formats: raw.dates.formats,
            values,
        })
    }

    /// The column a header fills: the mapping's word for it, else the built-in headers. `Some(None)`
    /// when the mapping says to ignore it; `None` when the mapping does not name it.
    pub fn column_of(&self, header: &str) -> Option<Option<Column>> {
        self.headers.get(&header_key(header)).copied()
    }

    /// The headers the mapping names.
    pub fn headers(&self) -> impl Iterator<Item = (&str, Option<Column>)> {
        self.headers.iter().map(|(h, c)| (h.as_str(), *c))
    }

    /// The value code a source word stands for in `column`, when the mapping says.
    pub fn value(&self, column: Column, word: &str) -> Option<&'static str> {
        self.values.get(&column)?.get(word).copied()
    }

    /// Whether the mapping maps any word of `column`.
    pub fn maps_values(&self, column: Column) -> bool {
        self.values.contains_key(&column)
    }

    /// The constant value of a column the export lacks.
    pub fn default_of(&self, column: Column) -> Option<&str> {
        self.defaults
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, v)| v.as_str())
    }

    /// Columns that have a constant value.
    pub fn defaulted(&self) -> impl Iterator<Item = Column> + '_ {
        self.defaults.iter().map(|(c, _)| *c)
    }

    /// A date-time by the mapping's formats (a date-only format reads midnight).
    pub fn parse_date(&self, text: &str) -> Option<chrono::NaiveDateTime> {
        self.date_formats.iter().find_map(|f| {
            chrono::NaiveDateTime::parse_from_str(text, f).ok().or_else(|| {
                chrono::NaiveDate::parse_from_str(text, f)
                    .ok()
                    .map(|d| d.and_time(chrono::NaiveTime::MIN))
            })
        })
    }
}

/// The column a section names, or an error listing the columns.
fn column_named(file: &str, section: &str, name: &str) -> Result<Column, MappingError> {
    Column::from_name(name).ok_or_else(|| MappingError {
        file: file.to_string(),
        message: format!(
            "[{section}] {name:?} is not a column (expected one of: {}, or ignore)",
            Column::EVERY.map(Column::name).join(", ")
        ),
    })
}

/// `[columns]`: each export header's column (`None`: ignored); no column filled by two headers.
fn header_columns(columns: &toml::Table, file: &str) -> Result<HashMap<String, Option<Column>>, MappingError> {
    let err = |message: String| MappingError {
        file: file.to_string(),
        message,
    };
    let mut headers = HashMap::new();
    let mut target_of: HashMap<Column, String> = HashMap::new();
    for (header, target) in columns {
        let target = target
            .as_str()
            .ok_or_else(|| err(format!("[columns] {header:?}: the column must be a string")))?;
        let column = match target.trim() {
            "ignore" | "" => None,
            name => Some(column_named(file, "columns", name)?),
        };
        if let Some(c) = column {
            if let Some(first) = target_of.insert(c, header.clone()) {
                return Err(err(format!(
                    "[columns] headers {first:?} and {header:?} both map to {}: map one, and the other to \"ignore\"",
                    c.name()
                )));
            }
        }
        headers.insert(header_key(header), column);
    }
    Ok(headers)
}

/// `[values.COLUMN]`: the export's words for a coded column's values.
fn value_words(
    tables: &toml::Table,
    file: &str,
) -> Result<HashMap<Column, HashMap<String, &'static str>>, MappingError> {
    let err = |message: String| MappingError {
        file: file.to_string(),
        message,
    };
    let mut values: HashMap<Column, HashMap<String, &'static str>> = HashMap::new();
    for (name, table) in tables {
        let column = column_named(file, "values", name)?;
        if vocabulary(column).is_none() {
            let coded: Vec<&str> = Column::EVERY
                .into_iter()
                .filter(|c| c.vocabulary().is_some())
                .map(Column::name)
                .collect();
            return Err(err(format!(
                "[values.{name}]: {name} is not a coded column (coded: {})",
                coded.join(", ")
            )));
        }
        let table = table.as_table().ok_or_else(|| {
            err(format!(
                "[values.{name}] must be a table of \"source word\" = \"value\""
            ))
        })?;
        let words = values.entry(column).or_default();
        for (word, value) in table {
            let value = value.as_str().unwrap_or_default();
            let code = value_code(column, value).ok_or_else(|| {
                err(format!(
                    "[values.{name}] {word:?} = {value:?}: {value:?} is not a {name} (expected one of: {})",
                    vocabulary(column)
                        .unwrap_or_default()
                        .iter()
                        .map(|(c, z)| format!("{c} {z}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            words.insert(word.trim().to_string(), code);
        }
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[file]
sheet = "案件明细"
crs = "bd09"

[columns]
"登记日期" = "reported_at"
"所属村（社区）" = "village_name"
"备注" = "ignore"

[defaults]
class = "矛盾纠纷调解"
channel = "walk_in"

[dates]
formats = ["%Y%m%d"]

[values.status]
"调解成功" = "resolved"
"已结案" = "已办结"
"#;

    #[test]
    fn a_mapping_maps_headers_values_defaults_and_dates() {
        let m = Mapping::parse(GOOD, "m.toml").unwrap();
        assert_eq!(m.sheet, Some(SheetRef::Name("案件明细".into())));
        assert_eq!(m.crs, Some(Crs::Bd09));
        assert_eq!(m.column_of(" 登记日期"), Some(Some(Column::ReportedAt)));
        assert_eq!(m.column_of("所属村(社区)"), Some(Some(Column::VillageName)));
        assert_eq!(m.column_of("备注"), Some(None));
        assert_eq!(m.column_of("其他"), None);
        assert_eq!(m.value(Column::Status, "调解成功"), Some("resolved"));
        assert_eq!(m.value(Column::Status, "已结案"), Some("closed"));
        assert_eq!(m.default_of(Column::Class), Some("dispute"));
        assert_eq!(
            m.parse_date("20261031"),
            chrono::NaiveDate::from_ymd_opt(2026, 10, 31).map(|d| d.and_hms_opt(0, 0, 0).unwrap())
        );
    }

    #[test]
    fn bad_mappings_fail_whole_naming_the_key() {
        let cases = [
            (
                "[columns]\n\"登记日期\" = \"reported_at\"\n\"受理日期\" = \"reported_at\"\n",
                "both map to reported_at",
            ),
            (
                "[columns]\n\"登记日期\" = \"reported\"\n",
                "\"reported\" is not a column",
            ),
            (
                "[values.status]\n\"调解成功\" = \"resolvd\"\n",
                "\"resolvd\" is not a status",
            ),
            ("[values.summary]\n\"x\" = \"y\"\n", "not a coded column"),
            ("[defaults]\nseverity = \"huge\"\n", "not a severity"),
            ("[file]\ncrs = \"utm\"\n", "[file] crs"),
            ("[file]\nsheets = 2\n", "unknown field"),
        ];
        for (text, expected) in cases {
            let err = Mapping::parse(text, "bad.toml").unwrap_err().to_string();
            assert!(err.starts_with("bad.toml: ") && err.contains(expected), "{text}: {err}");
        }
    }
}
