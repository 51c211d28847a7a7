//! The tables of `docs/input-format.md`, rendered from the declaration ([`super::CASES`]).
//!
//! The document holds each table between a pair of marker comments; [`sync`] replaces what is
//! between them. `ingest/tests/schema_doc.rs` fails when the document differs from the declaration
//! (`FENGQIAO_BLESS_DOCS=1 cargo test -p fengqiao-ingest --test schema_doc` rewrites it).

use super::{stored_columns, CaseColumn, Column, Need, Source, Stored, Value};

/// A generated block: its name in the markers and how it is rendered.
pub struct Block {
    pub name: &'static str,
    pub render: fn() -> String,
}

/// The blocks of `docs/input-format.md`.
pub const BLOCKS: &[Block] = &[
    Block {
        name: "input columns",
        render: input_table,
    },
    Block {
        name: "cases table",
        render: store_table,
    },
];

/// The opening marker of a block.
pub fn begin_marker(name: &str) -> String {
    format!("<!-- BEGIN {name}: generated from fengqiao_ingest::schema, do not edit by hand -->")
}

/// The closing marker of a block.
pub fn end_marker(name: &str) -> String {
    format!("<!-- END {name} -->")
}

/// A block marker the document lacks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the document has no {marker:?}")]
pub struct MissingMarker {
    pub marker: String,
}

/// The document with every block rendered afresh between its markers.
pub fn sync(document: &str) -> Result<String, MissingMarker> {
    let mut out = document.to_string();
    for block in BLOCKS {
        let (begin, end) = (begin_marker(block.name), end_marker(block.name));
        let missing = |marker: &str| MissingMarker {
            marker: marker.to_string(),
        };
        let start = out.find(&begin).ok_or_else(|| missing(&begin))? + begin.len();
        let stop = start + out[start..].find(&end).ok_or_else(|| missing(&end))?;
        out.replace_range(start..stop, &format!("\n{}", (block.render)()));
    }
    Ok(out)
}

/// The table of input columns, in the order the ingest reads them.
pub fn input_table() -> String {
    let mut out = String::from(
        "| column | Chinese headers (aliases) | required | personal | value | stored as |\n|---|---|---|---|---|---|\n",
    );
    for column in Column::EVERY {
        let c = column.decl();
        let required = match c.need {
            Need::Required => "yes",
            Need::Optional => "no",
            Need::Place => "a place (below)",
            Need::Sometimes(when) => when,
        };
        let personal = if c.personal { "**yes** (PIPL)" } else { "no" };
        out.push_str(&format!(
            "| `{}` | {} | {required} | {personal} | {} | {} |\n",
            c.name,
            c.headers.join(", "),
            value_text(c),
            stored_as(c)
        ));
    }
    out
}

/// The table of the store's `cases` columns, in the table's order.
pub fn store_table() -> String {
    let mut out = String::from("| column | type | from |\n|---|---|---|\n");
    for c in stored_columns() {
        let from = match c.source {
            Source::Input(_) | Source::Place(_) => "the input column".to_string(),
            Source::Derived(_) => c.doc.to_string(),
        };
        out.push_str(&format!("| `{}` | {} | {from} |\n", c.name, stored_as(c)));
    }
    out
}

/// "`simple` 简易, `general` 一般, … — doc": a column's values and what they mean.
fn value_text(c: &CaseColumn) -> String {
    let kind = match c.value {
        Value::Coded(words) => words
            .iter()
            .map(|(code, zh)| {
                if code == zh {
                    format!("`{code}`")
                } else {
                    format!("`{code}` {zh}")
                }
            })
            .collect::<Vec<_>>()
            .join(", "),
        Value::Text => "text".into(),
        Value::UnitCode => "unit code".into(),
        Value::Time => "date-time".into(),
        Value::Degrees => "number".into(),
        Value::Cell => "H3 cell".into(),
        Value::Line => "line number".into(),
    };
    match (c.value, c.doc) {
        (_, "") => kind,
        (Value::Coded(_), doc) => format!("{kind} — {doc}"),
        (_, doc) => doc.to_string(),
    }
}

/// `VARCHAR NOT NULL`, or "not stored".
fn stored_as(c: &CaseColumn) -> String {
    let sql = c.value.sql_type().sql();
    match c.stored {
        Stored::No => "not stored".into(),
        Stored::Nullable => format!("`{sql}`"),
        Stored::NotNull => format!("`{sql} NOT NULL`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_replaces_only_between_the_markers() {
        let doc = format!(
            "intro\n{}\nstale\n{}\nmiddle\n{}\n{}\nend\n",
            begin_marker("input columns"),
            end_marker("input columns"),
            begin_marker("cases table"),
            end_marker("cases table")
        );
        let synced = sync(&doc).unwrap();
        assert!(!synced.contains("stale"));
        assert!(synced.starts_with("intro\n") && synced.ends_with("end\n") && synced.contains("\nmiddle\n"));
        assert!(synced
            .contains("| `case_id` | 案件编号, 事项编号, 编号 | yes | no | unique per case | `VARCHAR NOT NULL` |"));
        assert!(synced.contains("| `h3` | `UBIGINT NOT NULL` |"));
        assert_eq!(sync(&synced).unwrap(), synced, "syncing twice changes nothing");
        let err = sync("no markers").unwrap_err();
        assert!(err.marker.contains("BEGIN input columns"), "{err}");
    }

    #[test]
    fn coded_columns_list_their_values() {
        let table = input_table();
        let severity = table.lines().find(|l| l.starts_with("| `severity`")).unwrap();
        assert!(
            severity.contains("`simple` 简易, `general` 一般, `major` 较大, `serious` 重大疑难 — "),
            "{severity}"
        );
        let crs = table.lines().find(|l| l.starts_with("| `crs`")).unwrap();
        assert!(crs.contains("`wgs84`, `gcj02`, `bd09` — "), "{crs}");
        let county = table.lines().find(|l| l.starts_with("| `county_name`")).unwrap();
        assert!(county.ends_with("| not stored |"), "{county}");
    }
}
