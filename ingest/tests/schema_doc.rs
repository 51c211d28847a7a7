//! `docs/input-format.md` shows the columns as the schema declares them: its generated tables are
//! rendered from `fengqiao_ingest::schema::CASES` and must match. After changing the declaration,
//! `FENGQIAO_BLESS_DOCS=1 cargo test -p fengqiao-ingest --test schema_doc` rewrites them.

use std::path::Path;

use fengqiao_ingest::schema::doc;

#[test]
fn the_input_format_document_matches_the_declared_columns() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/input-format.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let synced = doc::sync(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if std::env::var_os("FENGQIAO_BLESS_DOCS").is_some() {
        std::fs::write(&path, &synced).unwrap();
        return;
    }
    if synced != text {
        let first = text
            .lines()
            .zip(synced.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(text.lines().count().min(synced.lines().count()));
        panic!(
            "{} is out of step with fengqiao_ingest::schema::CASES (first difference at line {}):\n  document: {}\n  schema:   {}\n\
             rewrite its generated tables with FENGQIAO_BLESS_DOCS=1 cargo test -p fengqiao-ingest --test schema_doc",
            path.display(),
            first + 1,
            text.lines().nth(first).unwrap_or("(end)"),
            synced.lines().nth(first).unwrap_or("(end)")
        );
    }
}
