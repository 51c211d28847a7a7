//! Who is responsible for a category of dispute: the lead department (牵头部门) and the supporting
//! ones (配合部门), read from a TOML table — by default the shipped
//! `analytics/config/departments.toml`, which documents its reasoning.

use std::collections::BTreeMap;
use std::path::Path;

use fengqiao_ingest::model::Category;
use serde::{Deserialize, Serialize};

/// The shipped table.
pub const DEFAULT_DEPARTMENTS: &str = include_str!("../config/departments.toml");

/// The departments of one category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    pub lead: String,
    #[serde(default)]
    pub support: Vec<String>,
}

/// The category → department table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Departments {
    by_category: Vec<Department>,
}

/// A table that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DepartmentsError {
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    categories: BTreeMap<String, Department>,
}

impl Departments {
    /// Parses a table; `file` names it in errors. Every category must be present, once, by its code
    /// or Chinese name, with a non-empty lead.
    pub fn parse(text: &str, file: &str) -> Result<Departments, DepartmentsError> {
        let invalid = |message: String| DepartmentsError::Invalid {
            file: file.to_string(),
            message,
        };
        let table: Table = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        Departments::from_table(table.categories).map_err(invalid)
    }

    /// The table from its `[categories]` entries, checked as [`Departments::parse`] says.
    fn from_table(categories: BTreeMap<String, Department>) -> Result<Departments, String> {
        let mut by_category: Vec<Option<Department>> = vec![None; Category::ALL.len()];
        for (key, department) in categories {
            let category: Category = key.parse().map_err(|e| format!("[categories] {key}: {e}"))?;
            if department.lead.trim().is_empty() {
                return Err(format!("[categories] {key}: the lead department is empty"));
            }
            let slot = &mut by_category[category_index(category)];
            if slot.is_some() {
                return Err(format!("[categories] {key}: {} is listed twice", category.code()));
            }
            *slot = Some(department);
        }
        let missing: Vec<&str> = Category::ALL
            .iter()
            .zip(&by_category)
            .filter(|(_, d)| d.is_none())
            .map(|(c, _)| c.code())
            .collect();
        if !missing.is_empty() {
            return Err(format!("[categories] lacks {}", missing.join(", ")));
        }
        Ok(Departments {
            by_category: by_category.into_iter().flatten().collect(),
        })
    }

    /// Reads a table from a file.
    pub fn load(path: &Path) -> Result<Departments, DepartmentsError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| DepartmentsError::Io {
            file: file.clone(),
            source,
        })?;
        Departments::parse(&text, &file)
    }

    /// The department responsible for `category`.
    pub fn of(&self, category: Category) -> &Department {
        &self.by_category[category_index(category)]
    }
}

/// A table as a section of another file (`[departments]` of `fengqiao.toml`: its `categories`),
/// checked as [`Departments::parse`] says.
impl<'de> Deserialize<'de> for Departments {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let table = Table::deserialize(deserializer)?;
        Departments::from_table(table.categories).map_err(serde::de::Error::custom)
    }
}

impl Default for Departments {
    fn default() -> Self {
        Departments::parse(DEFAULT_DEPARTMENTS, "analytics/config/departments.toml")
            .expect("the shipped table is valid (tested)")
    }
}

/// Index of a category in `Category::ALL`.
pub fn category_index(category: Category) -> usize {
    Category::ALL
        .iter()
        .position(|&c| c == category)
        .expect("every category is in ALL")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_names_a_lead_for_every_category() {
        let d = Departments::default();
        assert_eq!(d.of(Category::Labour).lead, "人社局");
        assert_eq!(d.of(Category::PropertyMgmt).lead, "住建局");
        assert!(Category::ALL.iter().all(|&c| !d.of(c).lead.is_empty()));
    }

    #[test]
    fn a_table_missing_a_category_or_naming_an_unknown_one_is_refused() {
        let one = "[categories]\nlabour = { lead = \"人社局\" }\n";
        let err = Departments::parse(one, "d.toml").unwrap_err().to_string();
        assert!(err.starts_with("d.toml: [categories] lacks marriage_family"), "{err}");
        let unknown = DEFAULT_DEPARTMENTS.replace("tourism ", "fishing ");
        let err = Departments::parse(&unknown, "d.toml").unwrap_err().to_string();
        assert!(err.contains("fishing"), "{err}");
        let twice = DEFAULT_DEPARTMENTS.replace("tourism          =", "\"劳动争议\" =");
        let err = Departments::parse(&twice, "d.toml").unwrap_err().to_string();
        assert!(err.contains("twice"), "{err}");
    }
}
