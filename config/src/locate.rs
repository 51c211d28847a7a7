//! Lines and keys in a TOML text, for problems that name where they are: the line of a key path,
//! and the key path at a position (where the TOML parser's error points).

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::Problem;

/// One step of a key path: a key of a table, or an element of an array (from 0).
#[derive(Debug, Clone, Copy)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// The key path as problems show it: `rules.rule#3.min_confidence` (elements counted from 1).
pub fn dotted(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("#{}", i + 1)),
        }
    }
    out
}

/// The line (from 1) of a byte offset.
pub fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The line of the key at `path` (of the element, for a last step that is an index), when the
/// text has it.
pub fn line_of(text: &str, path: &[Seg]) -> Option<usize> {
    let root = DeTable::parse(text).ok()?;
    let mut table: &DeTable = root.get_ref();
    let mut value: Option<&Spanned<DeValue>> = None;
    for (i, seg) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        match *seg {
            Seg::Key(k) => {
                if let Some(v) = value {
                    table = as_table(v)?;
                }
                let (key, v) = table.iter().find(|(key, _)| key.get_ref().as_ref() == k)?;
                if last {
                    return Some(line_at(text, key.span().start));
                }
                value = Some(v);
            }
            Seg::Index(n) => {
                let DeValue::Array(items) = value?.get_ref() else {
                    return None;
                };
                let item = items.get(n)?;
                if last {
                    return Some(line_at(text, item.span().start));
                }
                value = Some(item);
            }
        }
    }
    None
}

fn as_table<'a, 'i>(value: &'a Spanned<DeValue<'i>>) -> Option<&'a DeTable<'i>> {
    match value.get_ref() {
        DeValue::Table(t) => Some(t),
        _ => None,
    }
}

/// The deepest key path whose key or value holds the byte `offset` (empty when none does, or the
/// text is not TOML).
pub fn key_at(text: &str, offset: usize) -> String {
    let Ok(root) = DeTable::parse(text) else {
        return String::new();
    };
    let mut path = Vec::new();
    walk_table(root.get_ref(), offset, &mut path);
    path.join("")
}

// A table's span may be its header only (`[rules]`, `[[rules.rule]]`), so a key inside it is
// looked for in its entries too.
fn holds(value: &Spanned<DeValue>, offset: usize) -> bool {
    value.span().contains(&offset)
        || match value.get_ref() {
            DeValue::Table(t) => t.iter().any(|(k, v)| k.span().contains(&offset) || holds(v, offset)),
            DeValue::Array(items) => items.iter().any(|item| holds(item, offset)),
            _ => false,
        }
}

fn walk_table(table: &DeTable, offset: usize, path: &mut Vec<String>) {
    if let Some((key, value)) = table
        .iter()
        .find(|(k, v)| k.span().contains(&offset) || holds(v, offset))
    {
        let k = key.get_ref().as_ref();
        path.push(if path.is_empty() {
            k.to_string()
        } else {
            format!(".{k}")
        });
        walk_value(value, offset, path);
    }
}

fn walk_value(value: &Spanned<DeValue>, offset: usize, path: &mut Vec<String>) {
    match value.get_ref() {
        DeValue::Table(t) => walk_table(t, offset, path),
        DeValue::Array(items) => {
            if let Some(i) = items.iter().position(|item| holds(item, offset)) {
                path.push(format!("#{}", i + 1));
                walk_value(&items[i], offset, path);
            }
        }
        _ => {}
    }
}

/// A TOML parser's (or deserializer's) error as a problem: its line and key when it points at one.
pub fn toml_problem(error: &toml::de::Error, text: &str, file: &str) -> Problem {
    let span = error.span();
    Problem {
        file: file.to_string(),
        line: span.as_ref().map(|s| line_at(text, s.start)),
        key: span.map(|s| key_at(text, s.start)).unwrap_or_default(),
        message: error.message().trim().to_string(),
    }
}
