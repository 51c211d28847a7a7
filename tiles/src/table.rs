//! Response formats of the API: JSON (the whole structured result), and for the tabular part of a
//! result CSV and Arrow IPC streams (`application/vnd.apache.arrow.stream`), plus GeoJSON for heat-map
//! cells. The format comes from `format=` or, failing that, the `Accept` header.

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use h3o::CellIndex;
use serde_json::Value;

use crate::error::ApiError;
use crate::params::Params;

/// The Arrow IPC stream media type.
pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

/// A response format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    GeoJson,
    Csv,
    Arrow,
}

/// The format asked for: `format=json|geojson|csv|arrow`, else the `Accept` header, else JSON.
pub fn negotiate(params: &Params, headers: &HeaderMap, geojson: bool) -> Result<Format, ApiError> {
    let format = match params.get("format") {
        Some("json") => Format::Json,
        Some("geojson") => Format::GeoJson,
        Some("csv") => Format::Csv,
        Some("arrow") => Format::Arrow,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "format={other}: use json, csv, arrow{}",
                if geojson { " or geojson" } else { "" }
            )))
        }
        None => {
            let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
            if accept.contains(ARROW_STREAM) {
                Format::Arrow
            } else if accept.contains("text/csv") {
                Format::Csv
            } else if accept.contains("application/geo+json") && geojson {
                Format::GeoJson
            } else {
                Format::Json
            }
        }
    };
    if format == Format::GeoJson && !geojson {
        return Err(ApiError::BadRequest("GeoJSON is offered for the heat map only".into()));
    }
    Ok(format)
}

/// `whole` as JSON, or `rows` (objects with the same keys) as CSV or Arrow; the number of rows
/// goes to the audit log.
pub fn respond(format: Format, whole: &Value, rows: &[Value]) -> Result<Response, ApiError> {
    let mut response = match format {
        Format::Json | Format::GeoJson => axum::Json(whole).into_response(),
        Format::Csv => ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv(rows)?).into_response(),
        Format::Arrow => ([(header::CONTENT_TYPE, ARROW_STREAM)], arrow(rows)?).into_response(),
    };
    response.extensions_mut().insert(crate::audit::Rows(rows.len() as u64));
    Ok(response)
}

/// The columns of a table: the keys of its first row, in order.
fn columns(rows: &[Value]) -> Vec<String> {
    rows.first()
        .and_then(Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// A cell as text: strings as they are, arrays of scalars `;`-joined, objects as JSON.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(_) | Value::Number(_) => Some(v.to_string()),
        Value::Array(items) if items.iter().all(|i| !i.is_array() && !i.is_object()) => Some(
            items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(";"),
        ),
        other => Some(other.to_string()),
    }
}

/// A text cell a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, a tab or a carriage
/// return first), prefixed with `'` so it stays text (OWASP's CSV injection advice). Numbers are
/// written as they are.
fn defuse(v: &Value, text: String) -> String {
    let risky = matches!(text.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r'));
    if risky && !v.is_number() {
        format!("'{text}")
    } else {
        text
    }
}

/// Rows as CSV with a header.
pub fn csv(rows: &[Value]) -> Result<Vec<u8>, ApiError> {
    let columns = columns(rows);
    let mut w = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| ApiError::Internal(format!("CSV: {e}"));
    w.write_record(&columns).map_err(internal)?;
    for row in rows {
        w.write_record(
            columns
                .iter()
                .map(|c| defuse(&row[c], text(&row[c]).unwrap_or_default())),
        )
        .map_err(internal)?;
    }
    w.into_inner().map_err(|e| ApiError::Internal(format!("CSV: {e}")))
}

/// Rows as one Arrow record batch in an IPC stream: integer columns Int64, other numbers Float64,
/// booleans Boolean, everything else UTF-8 (as [`text`] writes it); nulls kept.
pub fn arrow(rows: &[Value]) -> Result<Vec<u8>, ApiError> {
    let columns = columns(rows);
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for c in &columns {
        let values: Vec<&Value> = rows.iter().map(|r| &r[c]).collect();
        let present = || values.iter().filter(|v| !v.is_null());
        let (data_type, array): (DataType, ArrayRef) = if present().count() > 0 && present().all(|v| v.is_i64()) {
            (
                DataType::Int64,
                Arc::new(values.iter().map(|v| v.as_i64()).collect::<Int64Array>()),
            )
        } else if present().count() > 0 && present().all(|v| v.is_number()) {
            (
                DataType::Float64,
                Arc::new(values.iter().map(|v| v.as_f64()).collect::<Float64Array>()),
            )
        } else if present().count() > 0 && present().all(|v| v.is_boolean()) {
            (
                DataType::Boolean,
                Arc::new(values.iter().map(|v| v.as_bool()).collect::<BooleanArray>()),
            )
        } else {
            (
                DataType::Utf8,
                Arc::new(values.iter().map(|v| text(v)).collect::<StringArray>()),
            )
        };
        fields.push(Field::new(c, data_type, true));
        arrays.push(array);
    }
    let schema = Arc::new(Schema::new(fields));
    let internal = |e: arrow_schema::ArrowError| ApiError::Internal(format!("Arrow: {e}"));
    let mut out = Vec::new();
    {
        let mut writer = arrow_ipc::writer::StreamWriter::try_new(&mut out, &schema).map_err(internal)?;
        if !columns.is_empty() {
            let batch = RecordBatch::try_new(Arc::clone(&schema), arrays).map_err(internal)?;
            writer.write(&batch).map_err(internal)?;
        }
        writer.finish().map_err(internal)?;
    }
    Ok(out)
}

/// Heat-map cell rows (with an `h3` field) as an RFC 7946 FeatureCollection of hexagons
/// (counter-clockwise, closed), each row its feature's properties.
pub fn geojson_rows(rows: &[Value]) -> Response {
    let cells = rows.iter().filter_map(|row| {
        let cell: CellIndex = row.get("h3")?.as_str()?.parse().ok()?;
        Some((cell, row))
    });
    let mut body = Vec::new();
    if let Err(e) = fengqiao_analytics::geojson::write_cells(&mut body, cells) {
        return ApiError::Internal(format!("writing GeoJSON: {e}")).into_response();
    }
    let mut response = ([(header::CONTENT_TYPE, "application/geo+json")], body).into_response();
    response.extensions_mut().insert(crate::audit::Rows(rows.len() as u64));
    response
}

/// Runs a query and returns its rows as JSON objects (column name → value).
pub fn query_rows(conn: &duckdb::Connection, sql: &str, binds: &[String]) -> Result<Vec<Value>, ApiError> {
    use duckdb::types::ValueRef;
    let internal = |e: duckdb::Error| ApiError::Internal(format!("query: {e}"));
    let mut stmt = conn.prepare(sql).map_err(internal)?;
    let mut rows = stmt.query(duckdb::params_from_iter(binds.iter())).map_err(internal)?;
    let names: Vec<String> = rows.as_ref().map(|s| s.column_names()).unwrap_or_default();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(internal)? {
        let mut object = serde_json::Map::new();
        for (i, name) in names.iter().enumerate() {
            let value = match row.get_ref(i).map_err(internal)? {
                ValueRef::Null => Value::Null,
                ValueRef::Boolean(b) => Value::Bool(b),
                ValueRef::TinyInt(n) => n.into(),
                ValueRef::SmallInt(n) => n.into(),
                ValueRef::Int(n) => n.into(),
                ValueRef::BigInt(n) => n.into(),
                ValueRef::UTinyInt(n) => n.into(),
                ValueRef::USmallInt(n) => n.into(),
                ValueRef::UInt(n) => n.into(),
                // H3 cells as their usual hexadecimal strings, other large unsigned numbers as text.
                ValueRef::UBigInt(n) if name == "h3" => format!("{n:x}").into(),
                ValueRef::UBigInt(n) => n.to_string().into(),
                ValueRef::Float(x) => f64::from(x).into(),
                ValueRef::Double(x) => x.into(),
                ValueRef::Text(bytes) => String::from_utf8_lossy(bytes).into_owned().into(),
                other => format!("{other:?}").into(),
            };
            object.insert(name.clone(), value);
        }
        out.push(Value::Object(object));
    }
    Ok(out)
}
