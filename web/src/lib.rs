//! Web: the command-centre wall display and the analyst explorer, embedded in the binary so that the
//! server needs no network and no files beside it (government intranets are offline).
//!
//! Inputs: the files under `web/static/` at build time. Outputs: [`asset`], which maps a request
//! path to its bytes and content type: the wall (`wall.html`, `.css`, `.js`, served at `/`), the
//! explorer (`explore.*`, at `/explore`), what both share (`common.js`: API calls with the token,
//! names of coded values, the map style), `robots.txt` (a case-data server is never to be indexed),
//! the data licences, and the front-end libraries vendored from npm by `scripts/vendor-web.sh`
//! (MapLibre GL JS and Apache ECharts, with their licences) under `vendor/`. docs/web.md describes the
//! pages; `tests/browser.rs` drives them in headless Chromium.

// The pages' fallback CJK font: Noto Sans SC from `fengqiao-assets` (the one copy in the binary,
// which the briefings draw with too).
use fengqiao_assets::fonts;

/// An embedded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    pub bytes: &'static [u8],
    pub content_type: &'static str,
}

const ASSETS: &[(&str, &[u8])] = &[
    ("robots.txt", include_bytes!("../static/robots.txt")),
    ("wall.html", include_bytes!("../static/wall.html")),
    ("wall.css", include_bytes!("../static/wall.css")),
    ("wall.js", include_bytes!("../static/wall.js")),
    ("common.js", include_bytes!("../static/common.js")),
    ("fonts.css", include_bytes!("../static/fonts.css")),
    ("explore.html", include_bytes!("../static/explore.html")),
    ("explore.css", include_bytes!("../static/explore.css")),
    ("explore.js", include_bytes!("../static/explore.js")),
    ("favicon.svg", include_bytes!("../static/favicon.svg")),
    ("licenses/data.md", include_bytes!("../../data/chenzhou/LICENSES.md")),
    // The pages' fallback font where the machine has no CJK font.
    ("fonts/NotoSansSC-Regular.ttf", fonts::REGULAR),
    ("fonts/NotoSansSC-Bold.ttf", fonts::BOLD),
    ("fonts/OFL.txt", fonts::LICENCE),
    (
        "vendor/maplibre-gl/maplibre-gl.mjs",
        include_bytes!("../static/vendor/maplibre-gl/maplibre-gl.mjs"),
    ),
    (
        "vendor/maplibre-gl/maplibre-gl-worker.mjs",
        include_bytes!("../static/vendor/maplibre-gl/maplibre-gl-worker.mjs"),
    ),
    (
        "vendor/maplibre-gl/maplibre-gl.css",
        include_bytes!("../static/vendor/maplibre-gl/maplibre-gl.css"),
    ),
    (
        "vendor/maplibre-gl/LICENSE.txt",
        include_bytes!("../static/vendor/maplibre-gl/LICENSE.txt"),
    ),
    (
        "vendor/maplibre-gl/VERSION",
        include_bytes!("../static/vendor/maplibre-gl/VERSION"),
    ),
    (
        "vendor/echarts/echarts.min.js",
        include_bytes!("../static/vendor/echarts/echarts.min.js"),
    ),
    (
        "vendor/echarts/LICENSE",
        include_bytes!("../static/vendor/echarts/LICENSE"),
    ),
    (
        "vendor/echarts/NOTICE",
        include_bytes!("../static/vendor/echarts/NOTICE"),
    ),
    (
        "vendor/echarts/VERSION",
        include_bytes!("../static/vendor/echarts/VERSION"),
    ),
];

/// Every embedded path.
pub fn paths() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|(p, _)| *p)
}

/// The content type served for a file name.
pub fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "md" => "text/markdown; charset=utf-8",
        "txt" | "" => "text/plain; charset=utf-8",
        "png" => "image/png",
        "ttf" => "font/ttf",
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

    #[test]
    fn the_vendored_libraries_are_embedded_whole_with_their_licences() {
        let maplibre = asset("vendor/maplibre-gl/maplibre-gl.mjs").unwrap();
        assert_eq!(maplibre.content_type, "text/javascript; charset=utf-8");
        let head = std::str::from_utf8(&maplibre.bytes[..200]).unwrap();
        assert!(head.contains("MapLibre GL JS") && head.contains("v6.17.0"), "{head}");
        assert!(maplibre.bytes.len() > 1_000_000);
        // The main module loads its worker from beside it: that file must be here too.
        assert!(std::str::from_utf8(maplibre.bytes)
            .unwrap()
            .contains("maplibre-gl-worker.mjs"));
        assert!(asset("vendor/maplibre-gl/maplibre-gl-worker.mjs").unwrap().bytes.len() > 100_000);
        let echarts = asset("vendor/echarts/echarts.min.js").unwrap();
        assert!(echarts.bytes.len() > 1_000_000);
        for licence in ["vendor/maplibre-gl/LICENSE.txt", "vendor/echarts/LICENSE"] {
            let text = std::str::from_utf8(asset(licence).unwrap().bytes).unwrap();
            assert!(text.contains("Copyright") || text.contains("License"), "{licence}");
        }
        // No file refers to a CDN.
        for path in paths().filter(|p| p.ends_with(".mjs") || p.ends_with(".css")) {
            let text = String::from_utf8_lossy(asset(path).unwrap().bytes);
            assert!(!text.contains("unpkg.com") && !text.contains("cdn.jsdelivr"), "{path}");
        }
    }
}
