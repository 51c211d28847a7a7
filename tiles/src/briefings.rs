//! `/briefings/`: the briefings `fengqiao briefing` wrote into the server's briefings directory
//! (one subdirectory per briefing, described by its `manifest.json`), listed and served under the
//! API's rules: the analyst role or above (the call-back list carries case ids, like `/api/cases`),
//! and a unit-scoped token sees only briefings of units inside its scope. Only the files a manifest
//! lists are served, from directories named by a plain name, so no path leaves the directory.
//! `POST /briefings/` makes one with the server's own store connection (see [`make`]).

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use fengqiao_analytics::briefing::{briefing, BriefingOptions, Manifest, ReportPeriod, MANIFEST};
use fengqiao_analytics::cube::is_within;
use fengqiao_analytics::filter::Filter;

use crate::error::ApiError;
use crate::params::{scoped, Params};
use crate::state::{AppState, Principal};

/// A briefing directory the caller may see.
struct Listed {
    name: String,
    manifest: Manifest,
}

/// Whether `name` is a plain file or directory name: no separators, no `..`, not hidden.
fn plain(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn read_manifest(dir: &FsPath) -> Option<Manifest> {
    let text = std::fs::read(dir.join(MANIFEST)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Whether the token may see a briefing of `unit_code`.
fn visible(state: &AppState, who: &Principal, unit_code: &str) -> bool {
    match who.scope {
        None => true,
        Some(scope) => state
            .region
            .id(unit_code)
            .is_some_and(|id| is_within(&state.region, id, scope)),
    }
}

fn briefings_dir(state: &AppState) -> Option<&PathBuf> {
    state.config.briefings_dir.as_ref()
}

/// The briefings the caller may see, newest period first.
fn listed(state: &AppState, who: &Principal) -> Result<Vec<Listed>, ApiError> {
    let Some(dir) = briefings_dir(state) else {
        return Ok(Vec::new());
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ApiError::Internal(format!("{}: {e}", dir.display()))),
    };
    let mut out: Vec<Listed> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_string();
            if !plain(&name) || !entry.file_type().ok()?.is_dir() {
                return None;
            }
            let manifest = read_manifest(&entry.path())?;
            visible(state, who, &manifest.unit_code).then_some(Listed { name, manifest })
        })
        .collect();
    out.sort_by(|a, b| b.manifest.period.cmp(&a.manifest.period).then(a.name.cmp(&b.name)));
    Ok(out)
}

/// `?access_token=…` carried into links when the caller used it (browsers cannot send headers).
fn token_suffix(uri: &Uri) -> String {
    uri.query()
        .and_then(|q| q.split('&').find(|kv| kv.starts_with("access_token=")))
        .map_or_else(String::new, |kv| format!("?{kv}"))
}

/// `GET /briefings/`: JSON, or an HTML page for browsers (`Accept: text/html`).
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let items = {
        let state = Arc::clone(&state);
        tokio::task::spawn_blocking(move || listed(&state, &who))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))??
    };
    let suffix = token_suffix(&uri);
    let html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if html {
        let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        let mut page = String::from(
            "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>研判报告</title></head>\
             <body style=\"font-family:sans-serif;max-width:50rem;margin:2rem auto\"><h1>研判报告</h1><ul>\n",
        );
        for item in &items {
            let links: Vec<String> = item
                .manifest
                .files
                .iter()
                .map(|f| format!("<a href=\"/briefings/{}/{}{suffix}\">{}</a>", item.name, f, escape(f)))
                .collect();
            page.push_str(&format!(
                "<li><strong>{}</strong> — {}</li>\n",
                escape(&item.manifest.title),
                links.join(" · ")
            ));
        }
        page.push_str("</ul></body></html>\n");
        return Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response());
    }
    let rows: Vec<serde_json::Value> = items
        .iter()
        .map(|item| {
            serde_json::json!({
                "name": item.name,
                "kind": item.manifest.kind,
                "period": item.manifest.period,
                "title": item.manifest.title,
                "unit_code": item.manifest.unit_code,
                "unit_name": item.manifest.unit_name,
                "files": item.manifest.files.iter().map(|f| serde_json::json!({
                    "name": f, "url": format!("/briefings/{}/{f}", item.name)
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(axum::Json(serde_json::json!({ "briefings": rows })).into_response())
}

fn content_type(file: &str) -> &'static str {
    match file.rsplit_once('.').map(|(_, e)| e) {
        Some("pdf") => "application/pdf",
        Some("html") => "text/html; charset=utf-8",
        Some("png") => "image/png",
        Some("csv") => "text/csv; charset=utf-8",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// `GET /briefings/{name}/{file}`: one file a visible briefing's manifest lists.
pub async fn file(
    State(state): State<Arc<AppState>>,
    Extension(who): Extension<Principal>,
    Path((name, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let wanted = format!("{name}/{file}");
    let not_found = || ApiError::NotFound(format!("no briefing file {wanted}"));
    if !plain(&name) || !plain(&file) {
        return Err(not_found());
    }
    let dir = briefings_dir(&state).ok_or_else(not_found)?.join(&name);
    let state2 = Arc::clone(&state);
    let (manifest, bytes) = tokio::task::spawn_blocking(move || {
        let manifest = read_manifest(&dir)?;
        let bytes = if file != MANIFEST && !manifest.files.contains(&file) {
            None
        } else {
            std::fs::read(dir.join(&file)).ok()
        };
        Some((manifest, bytes.map(|b| (file, b))))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .ok_or_else(not_found)?;
    if !visible(&state2, &who, &manifest.unit_code) {
        return Err(ApiError::Forbidden(format!(
            "briefing {name} is about {} ({}), outside this token's area",
            manifest.unit_name, manifest.unit_code
        )));
    }
    let (file, bytes) = bytes.ok_or_else(not_found)?;
    let mut response = ([(header::CONTENT_TYPE, content_type(&file))], bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-cache"),
    );
    if file.ends_with(".html") {
        // The page may show its own (embedded) figures and styles, nothing else.
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static("default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"),
        );
    }
    Ok(response)
}

/// `POST /briefings/?week=2026-W44` (or `month=2026-10`; `unit`, `top`, `seed` as the CLI's): makes
/// the briefing on the server's own store connection — the store a running server holds cannot be
/// opened by `fengqiao briefing` meanwhile (DuckDB locks its file) — and writes it into the briefings
/// directory as `<period>` or `<unit>-<period>`, replacing an earlier one. A scoped token makes
/// briefings of its own area only (its unit when none is given). 201 with the name and file URLs.
pub async fn make(
    State(state): State<Arc<AppState>>,
    Extension(who): Extension<Principal>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let params = Params::new(query);
    params.allow(false, &["week", "month", "unit", "top", "seed"])?;
    let period = match (params.get("week"), params.get("month")) {
        (Some(week), None) => ReportPeriod::week(week)?,
        (None, Some(month)) => ReportPeriod::month(month)?,
        _ => return Err(ApiError::BadRequest("give week=2026-W44 or month=2026-10".into())),
    };
    let dir = briefings_dir(&state)
        .cloned()
        .ok_or_else(|| ApiError::NotFound("this server has no briefings directory".into()))?;
    let place = Filter {
        unit: params.get("unit").map(str::to_string),
        ..Filter::default()
    };
    let unit = scoped(place, &state.region, &who)?.unit;
    let mut opts = state.config.briefing_options(period);
    opts.top = params.number_in("top", opts.top, 1..=100)?;
    opts.seed = params.number_in("seed", 0u64, 0..=u64::MAX)?;
    let name = match &unit {
        Some(code) if *code != state.region.code => format!("{code}-{}", opts.period.id),
        _ => opts.period.id.clone(),
    };
    opts.unit = unit.filter(|code| *code != state.region.code);
    let written = write(&state, opts, dir.join(&name)).await?;
    let files: Vec<serde_json::Value> = written
        .manifest
        .files
        .iter()
        .map(|f| serde_json::json!({ "name": f, "url": format!("/briefings/{name}/{f}") }))
        .collect();
    tracing::info!(briefing = %name, pages = written.pdf_pages, "briefing made");
    let body = serde_json::json!({ "name": name, "title": written.manifest.title, "pages": written.pdf_pages, "files": files });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// Makes a briefing on a reader connection and writes it into `target` (replacing an earlier one):
/// for `POST /briefings/` and the scheduled briefings ([`crate::watch`]).
pub async fn write(
    state: &Arc<AppState>,
    opts: BriefingOptions,
    target: PathBuf,
) -> Result<fengqiao_report::Written, ApiError> {
    state
        .read(move |conn, state| {
            let content = briefing(conn, &state.region, &opts)?;
            // Written beside the listing under a hidden name (never listed: names starting with a
            // dot are not plain), then swapped in: a reader never sees half a briefing.
            let internal = |e: std::io::Error| ApiError::Internal(format!("writing a briefing: {e}"));
            let dir = target.parent().map(FsPath::to_path_buf).unwrap_or_default();
            std::fs::create_dir_all(&dir).map_err(internal)?;
            let partial = tempfile::Builder::new()
                .prefix(&format!(
                    ".{}-",
                    target.file_name().and_then(|n| n.to_str()).unwrap_or("briefing")
                ))
                .tempdir_in(&dir)
                .map_err(internal)?;
            let written = fengqiao_report::write_briefing(&content, &state.region, partial.path())
                .map_err(|e| ApiError::Internal(format!("writing a briefing: {e}")))?;
            if target.exists() {
                std::fs::remove_dir_all(&target).map_err(internal)?;
            }
            std::fs::rename(partial.keep(), &target).map_err(internal)?;
            Ok(written)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_pass() {
        for ok in ["2026-W44", "briefing-2026-W44.pdf", "map.png", "431002_2026-10"] {
            assert!(plain(ok), "{ok}");
        }
        for bad in ["", "..", ".hidden", "../etc", "a/b", "a\\b", "%2e%2e", "a b"] {
            assert!(!plain(bad), "{bad}");
        }
    }
}
