//! The briefing as one HTML page: the figures inside it as `data:` URIs, no scripts, no external
//! files — it opens the same from disk, from `/briefings/` behind a token, or as an attachment.

use crate::document::Block;

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:'Noto Sans SC','Source Han Sans SC','PingFang SC','Microsoft YaHei',sans-serif;\
max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111827;line-height:1.7}\
h1{text-align:center;color:#b91c1c;font-size:1.9rem;margin-bottom:.3rem}\
.sub{text-align:center;color:#374151;margin:.1rem 0}hr.red{border:0;border-top:3px solid #b91c1c;margin:1rem 0 1.5rem}\
h2{font-size:1.25rem;margin-top:2rem;border-left:5px solid #b91c1c;padding-left:.6rem}\
p{text-indent:2em}table{border-collapse:collapse;width:100%;font-size:.85rem;margin:.6rem 0}\
th,td{border:1px solid #d1d5db;padding:.25rem .4rem;vertical-align:top}th{background:#f3f4f6}\
figure{margin:1rem 0;text-align:center}figure img{max-width:100%}figcaption{font-size:.9rem;color:#374151}\
.note{font-size:.8rem;color:#4b5563;word-break:break-all}";

/// Renders the blocks as a standalone page titled `title`, reading the figures from `dir`.
pub fn render(title: &str, blocks: &[Block], dir: &std::path::Path) -> Result<String, crate::ReportError> {
    use base64::Engine;
    let mut out = format!(
        "<!doctype html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(title)
    );
    for block in blocks {
        match block {
            Block::Title { title, lines } => {
                out.push_str(&format!("<h1>{}</h1>\n", escape(title)));
                for line in lines {
                    out.push_str(&format!("<p class=\"sub\">{}</p>\n", escape(line)));
                }
                out.push_str("<hr class=\"red\">\n");
            }
            Block::Heading(text) => out.push_str(&format!("<h2>{}</h2>\n", escape(text))),
            Block::Paragraph(text) => out.push_str(&format!("<p>{}</p>\n", escape(text))),
            Block::Note(text) => out.push_str(&format!("<p class=\"note\">{}</p>\n", escape(text))),
            Block::Figure(f) => {
                let path = dir.join(f.name);
                let png = std::fs::read(&path).map_err(crate::io_error(&path))?;
                out.push_str(&format!(
                    "<figure><img src=\"data:image/png;base64,{}\" width=\"{}\" height=\"{}\" alt=\"{}\" \
                     style=\"height:auto\"><figcaption>{}</figcaption></figure>\n",
                    base64::engine::general_purpose::STANDARD.encode(png),
                    f.width,
                    f.height,
                    escape(&f.caption),
                    escape(&f.caption)
                ))
            }
            Block::Table(t) => {
                out.push_str("<table>\n<thead><tr>");
                for h in &t.header {
                    out.push_str(&format!("<th>{}</th>", escape(h)));
                }
                out.push_str("</tr></thead>\n<tbody>\n");
                for row in &t.rows {
                    out.push_str("<tr>");
                    for cell in row {
                        out.push_str(&format!("<td>{}</td>", escape(cell)));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody>\n</table>\n");
            }
        }
    }
    out.push_str("</body>\n</html>\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Table;

    #[test]
    fn text_is_escaped_and_every_block_is_rendered() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("map.png"), b"\x89PNG").unwrap();
        let html = render(
            "标题<x>",
            &[
                Block::Heading("一、总体态势".into()),
                Block::Paragraph("a & b".into()),
                Block::Table(Table {
                    header: vec!["指标".into()],
                    widths: vec![1.0],
                    rows: vec![vec!["<script>".into()]],
                }),
                Block::Figure(crate::figures::FigureFile {
                    name: "map.png",
                    caption: "图1".into(),
                    width: 2,
                    height: 1,
                }),
            ],
            dir.path(),
        )
        .unwrap();
        assert!(
            html.contains("<img src=\"data:image/png;base64,iVBORw==\""),
            "the figure inside the page"
        );
        assert!(html.contains("<title>标题&lt;x&gt;</title>"));
        assert!(html.contains("<h2>一、总体态势</h2>"));
        assert!(html.contains("<p>a &amp; b</p>"));
        assert!(html.contains("<td>&lt;script&gt;</td>"));
        assert!(!html.contains("<script>"));
    }
}
