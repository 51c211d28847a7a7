//! CSV → Parquet through an in-memory DuckDB: the one path by which the project turns a CSV file it
//! wrote (generated cases, the CLI's heat map) into Parquet.
//!
//! Inputs: a CSV file with a header row, and either its columns' DuckDB types or none (DuckDB then
//! detects them). Output: the Parquet file (zstd), rows in the CSV's order.

use std::path::Path;

/// DuckDB's memory limit for the conversion (it spills to disk beyond it).
pub const MEMORY_LIMIT: &str = "512MB";

/// An SQL string literal.
fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Converts the CSV at `csv` to Parquet at `parquet`. With `columns` (header → DuckDB type, in the
/// file's order) the CSV is read strictly as written by this project (RFC 4180 quoting, timestamps
/// `%Y-%m-%d %H:%M:%S`); without, DuckDB detects the dialect and the types.
pub fn csv_to_parquet(csv: &Path, parquet: &Path, columns: Option<&[(&str, &str)]>) -> Result<(), duckdb::Error> {
    let options = match columns {
        Some(columns) => {
            let columns = columns
                .iter()
                .map(|(name, ty)| format!("{}: '{ty}'", sql_string(name)))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "auto_detect = false, delim = ',', quote = '\"', escape = '\"', \
                 timestampformat = '%Y-%m-%d %H:%M:%S', columns = {{{columns}}}"
            )
        }
        None => "all_varchar = false".to_string(),
    };
    let sql = format!(
        "COPY (SELECT * FROM read_csv({}, header = true, {options})) TO {} (FORMAT parquet, COMPRESSION zstd)",
        sql_string(&csv.to_string_lossy()),
        sql_string(&parquet.to_string_lossy()),
    );
    let conn = duckdb::Connection::open_in_memory()?;
    // Keep the rows in file order (the output is deterministic) and the memory bounded.
    conn.execute_batch(&format!(
        "SET preserve_insertion_order = true; SET memory_limit = '{MEMORY_LIMIT}'; {sql}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_back(parquet: &Path) -> Vec<(String, String)> {
        let conn = duckdb::Connection::open_in_memory().unwrap();
        let file = sql_string(&parquet.to_string_lossy());
        let mut stmt = conn
            .prepare(&format!(
                "SELECT name, typeof(when_) || '/' || CAST(n AS VARCHAR) FROM read_parquet({file})"
            ))
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn typed_and_detected_columns_keep_rows_in_order_and_quotes() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("it's.csv");
        std::fs::write(
            &csv,
            "name,when_,n\n\"b, \"\"quoted\"\"\",2026-01-02 03:04:05,2\na,2026-01-01 00:00:00,1\n",
        )
        .unwrap();
        let typed = dir.path().join("typed.parquet");
        let columns = [("name", "VARCHAR"), ("when_", "TIMESTAMP"), ("n", "INTEGER")];
        csv_to_parquet(&csv, &typed, Some(&columns)).unwrap();
        let rows = read_back(&typed);
        assert_eq!(rows[0], ("b, \"quoted\"".to_string(), "TIMESTAMP/2".to_string()));
        assert_eq!(rows[1], ("a".to_string(), "TIMESTAMP/1".to_string()));
        let detected = dir.path().join("detected.parquet");
        csv_to_parquet(&csv, &detected, None).unwrap();
        assert_eq!(read_back(&detected), rows);
    }

    #[test]
    fn a_row_against_its_declared_type_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("bad.csv");
        std::fs::write(&csv, "n\nnot a number\n").unwrap();
        let out = dir.path().join("bad.parquet");
        assert!(csv_to_parquet(&csv, &out, Some(&[("n", "INTEGER")])).is_err());
    }
}
