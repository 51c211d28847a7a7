//! Web: the static files of the wall display and the analyst pages, embedded in the binary so that
//! the server needs no network and no files beside it (government intranets are offline).
//!
//! Inputs: the files under `web/static/` at build time. Outputs: [`asset`], which maps a request
//! path to its bytes and content type. Pages join as they are built (issue 6); today it serves
//! `robots.txt` (a case-data server is never to be indexed) and the data licences.

/// An embedded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    pub bytes: &'static [u8],
    pub content_type: &'static str,
}

const ASSETS: &[(&str, &[u8])] = &[
    ("robots.txt", include_bytes!("../static/robots.txt")),
    ("licenses/data.md", include_bytes!("../../data/chenzhou/LICENSES.md")),
];

/// The content type served for a file name.
pub fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "md" => "text/markdown; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "pbf" => "application/x-protobuf",
        _ => "application/octet-stream",
    }
}

/// The embedded file at `path` (leading `/` ignored).
pub fn asset(path: &str) -> Option<Asset> {
    let path = path.trim_start_matches('/');
    ASSETS.iter().find(|(p, _)| *p == path).map(|(p, bytes)| Asset {
        bytes,
        content_type: content_type(p),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_embedded_files_with_their_type() {
        let robots = asset("/robots.txt").unwrap();
        assert_eq!(robots.content_type, "text/plain; charset=utf-8");
        assert!(std::str::from_utf8(robots.bytes).unwrap().contains("Disallow: /"));
        let licences = asset("licenses/data.md").unwrap();
        assert!(std::str::from_utf8(licences.bytes).unwrap().contains("Clarmy"));
        assert_eq!(asset("../Cargo.toml"), None);
        assert_eq!(content_type("a/b.js"), "text/javascript; charset=utf-8");
    }
}
