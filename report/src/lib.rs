//! Briefings for leaders: the weekly hot-spot briefing (周研判) and the monthly
//! 《矛盾纠纷研判预警专报》, written as a PDF, an HTML page and PNG figures.
//!
//! Input: a [`fengqiao_analytics::briefing::Briefing`] (every number, computed by the analytics with
//! the API's functions) and the region (names and boundaries). Output: a directory holding
//! `briefing-<period>.pdf` (selectable text, Noto Sans SC embedded and subset), `briefing-<period>.html`
//! (figures inside as `data:` URIs),
//! the figures ([`figures`]: hot-spot map, category trends, overdue by county, print resolution),
//! `callback-sample.csv` (case ids only), `briefing.json` (the content) and `manifest.json` (what the
//! server lists). The text is laid out once ([`document`]) and rendered twice ([`html`], [`pdf`]).
//! The font is compiled in ([`fonts`]): nothing is looked up on the machine.

pub mod document;
pub mod figures;
pub mod fonts;
pub mod html;
pub mod pdf;

use std::path::{Path, PathBuf};

use fengqiao_analytics::briefing::{Briefing, Manifest, PeriodKind, MANIFEST};
use fengqiao_ingest::Region;

/// Errors while writing a briefing.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("drawing {figure}: {message}")]
    Figure { figure: &'static str, message: String },
    #[error("writing the PDF: {0}")]
    Pdf(String),
    #[error("the embedded font cannot be read")]
    Font,
    #[error("serialising {what}: {source}")]
    Json {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The document title of a briefing.
pub fn title(b: &Briefing) -> &'static str {
    match b.period.kind {
        PeriodKind::Week => "矛盾纠纷热点周研判",
        PeriodKind::Month => "矛盾纠纷研判预警专报",
    }
}

/// What [`write_briefing`] wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub dir: PathBuf,
    pub pdf: PathBuf,
    pub html: PathBuf,
    pub figures: Vec<figures::FigureFile>,
    pub pdf_pages: usize,
    pub manifest: Manifest,
}

/// Writes the briefing into `dir` (created if missing).
pub fn write_briefing(b: &Briefing, region: &Region, dir: &Path) -> Result<Written, ReportError> {
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let figures = figures::draw_all(b, region, dir)?;
    let blocks = document::document(b, region, &figures);
    let stem = format!("briefing-{}", b.period.id);
    let html_path = dir.join(format!("{stem}.html"));
    std::fs::write(&html_path, html::render(title(b), &blocks, dir)?).map_err(io_error(&html_path))?;
    let pdf_path = dir.join(format!("{stem}.pdf"));
    let (bytes, pdf_pages) = pdf::render(title(b), &blocks, dir)?;
    std::fs::write(&pdf_path, bytes).map_err(io_error(&pdf_path))?;
    let csv_path = dir.join(CALLBACK_CSV);
    std::fs::write(&csv_path, callback_csv(b)).map_err(io_error(&csv_path))?;
    let json_path = dir.join("briefing.json");
    let json = serde_json::to_vec_pretty(b).map_err(|source| ReportError::Json {
        what: "the briefing",
        source,
    })?;
    std::fs::write(&json_path, json).map_err(io_error(&json_path))?;
    let mut files = vec![format!("{stem}.pdf"), format!("{stem}.html")];
    files.extend(figures.iter().map(|f| f.name.to_string()));
    files.extend([CALLBACK_CSV.to_string(), "briefing.json".to_string()]);
    let manifest = Manifest {
        kind: match b.period.kind {
            PeriodKind::Week => "week".into(),
            PeriodKind::Month => "month".into(),
        },
        period: b.period.id.clone(),
        title: format!("{}{}{}", b.unit_name, b.period.title_zh(), title(b)),
        unit_code: b.unit_code.clone(),
        unit_name: b.unit_name.clone(),
        files,
    };
    let manifest_path = dir.join(MANIFEST);
    let json = serde_json::to_vec_pretty(&manifest).map_err(|source| ReportError::Json {
        what: "the manifest",
        source,
    })?;
    std::fs::write(&manifest_path, json).map_err(io_error(&manifest_path))?;
    Ok(Written {
        dir: dir.to_path_buf(),
        pdf: pdf_path,
        html: html_path,
        figures,
        pdf_pages,
        manifest,
    })
}

/// The call-back sample's file.
pub const CALLBACK_CSV: &str = "callback-sample.csv";

/// `satisfaction,case_id` rows: the whole call-back sample (the PDF lists the first ones).
fn callback_csv(b: &Briefing) -> String {
    let mut out = String::from("satisfaction,satisfaction_zh,rate,case_id\n");
    for stratum in &b.callback {
        for id in &stratum.case_ids {
            // Case ids are codes; quote anyway so a comma could not split a row.
            out.push_str(&format!(
                "{},{},{},\"{}\"\n",
                stratum.satisfaction.code(),
                stratum.satisfaction.zh(),
                stratum.rate,
                id.replace('"', "\"\"")
            ));
        }
    }
    out
}
