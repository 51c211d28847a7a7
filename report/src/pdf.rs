//! The briefing as an A4 PDF (krilla): the blocks are laid out into pages first (line breaks by
//! the font's advances, tables split across pages with their header repeated, figures kept whole),
//! then drawn. Text is real text in the embedded, subset Noto Sans SC, so it can be selected and
//! searched.

use std::path::Path;

use krilla::color::rgb;
use krilla::destination::XyzDestination;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::metadata::Metadata;
use krilla::outline::{Outline, OutlineNode};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use krilla::Document;

use crate::document::{Block, Table};
use crate::fonts::{text_width, wrap};
use crate::ReportError;

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN_X: f32 = 56.0;
const TOP: f32 = 64.0;
const BOTTOM: f32 = PAGE_H - 60.0;
const WIDTH: f32 = PAGE_W - 2.0 * MARGIN_X;

const BODY: f32 = 10.5;
const TABLE: f32 = 8.0;
const NOTE: f32 = 8.0;

type Colour = (u8, u8, u8);
const INK: Colour = (0x11, 0x18, 0x27);
const GREY: Colour = (0x4b, 0x55, 0x63);
const RED: Colour = (0xb9, 0x1c, 0x1c);
const RULE: Colour = (0xd1, 0xd5, 0xdb);
const HEAD_FILL: Colour = (0xf3, 0xf4, 0xf6);

/// One drawing operation on a page.
#[derive(Debug, Clone)]
enum Op {
    Text {
        x: f32,
        baseline: f32,
        size: f32,
        bold: bool,
        colour: Colour,
        text: String,
    },
    Fill {
        rect: (f32, f32, f32, f32),
        colour: Colour,
    },
    Line {
        from: (f32, f32),
        to: (f32, f32),
        width: f32,
        colour: Colour,
    },
    Image {
        file: String,
        rect: (f32, f32, f32, f32),
    },
}

/// The pages being laid out, and where the next block goes.
struct Layout {
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Layout {
    fn new() -> Layout {
        Layout {
            pages: vec![Vec::new()],
            y: TOP,
        }
    }

    fn push(&mut self, op: Op) {
        self.pages.last_mut().expect("a page").push(op);
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Starts a new page unless `height` fits below the cursor.
    fn need(&mut self, height: f32) {
        if self.y + height > BOTTOM && self.y > TOP {
            self.new_page();
        }
    }

    fn text(&mut self, x: f32, baseline: f32, size: f32, bold: bool, colour: Colour, text: &str) {
        if text.is_empty() {
            return;
        }
        self.push(Op::Text {
            x,
            baseline,
            size,
            bold,
            colour,
            text: text.to_string(),
        });
    }

    /// Wrapped text across the width, from `indent` on the first line; moves the cursor.
    fn lines(&mut self, text: &str, size: f32, bold: bool, colour: Colour, leading: f32, first_indent: f32) {
        let lines = wrap_with_indent(text, size, bold, WIDTH, first_indent);
        for (i, line) in lines.iter().enumerate() {
            self.need(size * leading);
            let x = MARGIN_X + if i == 0 { first_indent } else { 0.0 };
            self.text(x, self.y + size, size, bold, colour, line);
            self.y += size * leading;
        }
    }

    fn centred(&mut self, text: &str, size: f32, bold: bool, colour: Colour) {
        let w = text_width(text, size, bold);
        self.text(MARGIN_X + (WIDTH - w) / 2.0, self.y + size, size, bold, colour, text);
        self.y += size * 1.6;
    }

    fn table(&mut self, t: &Table) {
        let total: f32 = t.widths.iter().sum();
        let widths: Vec<f32> = t.widths.iter().map(|w| w / total * WIDTH).collect();
        let pad = 3.0;
        let leading = TABLE * 1.35;
        let cells = |row: &[String], bold: bool| -> Vec<Vec<String>> {
            row.iter()
                .zip(&widths)
                .map(|(text, w)| wrap(text, TABLE, bold, w - 2.0 * pad))
                .collect()
        };
        let height = |cells: &[Vec<String>]| cells.iter().map(Vec::len).max().unwrap_or(1) as f32 * leading + 2.0 * pad;
        let header = cells(&t.header, true);
        let header_h = height(&header);
        let draw_row = |layout: &mut Layout, cells: &[Vec<String>], h: f32, bold: bool, fill: Option<Colour>| {
            let top = layout.y;
            if let Some(colour) = fill {
                layout.push(Op::Fill {
                    rect: (MARGIN_X, top, WIDTH, h),
                    colour,
                });
            }
            let mut x = MARGIN_X;
            for (lines, w) in cells.iter().zip(&widths) {
                for (i, line) in lines.iter().enumerate() {
                    layout.text(
                        x + pad,
                        top + pad + TABLE + i as f32 * leading - 1.0,
                        TABLE,
                        bold,
                        INK,
                        line,
                    );
                }
                x += w;
            }
            layout.push(Op::Line {
                from: (MARGIN_X, top + h),
                to: (MARGIN_X + WIDTH, top + h),
                width: 0.5,
                colour: RULE,
            });
            layout.y += h;
        };
        let rows: Vec<Vec<Vec<String>>> = t.rows.iter().map(|r| cells(r, false)).collect();
        let first_h = rows.first().map_or(0.0, |r| height(r));
        self.need(header_h + first_h);
        self.push(Op::Line {
            from: (MARGIN_X, self.y),
            to: (MARGIN_X + WIDTH, self.y),
            width: 0.8,
            colour: GREY,
        });
        draw_row(self, &header, header_h, true, Some(HEAD_FILL));
        for row in &rows {
            let h = height(row);
            if self.y + h > BOTTOM {
                self.new_page();
                draw_row(self, &header, header_h, true, Some(HEAD_FILL));
            }
            draw_row(self, row, h, false, None);
        }
        self.y += 8.0;
    }
}

/// [`wrap`] with the first line `first_indent` narrower.
fn wrap_with_indent(text: &str, size: f32, bold: bool, width: f32, first_indent: f32) -> Vec<String> {
    if first_indent <= 0.0 {
        return wrap(text, size, bold, width);
    }
    // Lay out with a placeholder of the indent's width, then drop it.
    let em = text_width("\u{3000}", size, bold).max(1.0);
    let n = (first_indent / em).round() as usize;
    let mut lines = wrap(&format!("{}{text}", "\u{3000}".repeat(n)), size, bold, width);
    if let Some(first) = lines.first_mut() {
        *first = first.trim_start_matches('\u{3000}').to_string();
    }
    lines
}

/// A heading's place, for the PDF's outline (bookmarks).
#[derive(Debug, Clone, PartialEq)]
struct Anchor {
    text: String,
    page: usize,
    y: f32,
}

/// Lays the blocks out into pages, with the headings' places.
fn layout(blocks: &[Block]) -> (Vec<Vec<Op>>, Vec<Anchor>) {
    let mut l = Layout::new();
    let mut anchors = Vec::new();
    for block in blocks {
        match block {
            Block::Title { title, lines } => {
                l.y += 10.0;
                l.centred(title, 22.0, true, RED);
                l.y += 4.0;
                for line in lines {
                    l.centred(line, 10.5, false, GREY);
                }
                l.push(Op::Line {
                    from: (MARGIN_X, l.y + 2.0),
                    to: (MARGIN_X + WIDTH, l.y + 2.0),
                    width: 2.0,
                    colour: RED,
                });
                l.y += 16.0;
            }
            Block::Heading(text) => {
                l.need(14.0 + 13.0 * 1.6 + BODY * 1.7 * 3.0);
                l.y += 10.0;
                anchors.push(Anchor {
                    text: text.clone(),
                    page: l.pages.len() - 1,
                    y: l.y,
                });
                l.lines(text, 13.0, true, INK, 1.7, 0.0);
            }
            Block::Paragraph(text) => {
                l.lines(text, BODY, false, INK, 1.75, 2.0 * BODY);
                l.y += 4.0;
            }
            Block::Note(text) => {
                l.lines(text, NOTE, false, GREY, 1.5, 0.0);
                l.y += 3.0;
            }
            Block::Table(t) => l.table(t),
            Block::Figure(f) => {
                let h = WIDTH * f.height as f32 / f.width as f32;
                l.need(h + 24.0);
                l.push(Op::Image {
                    file: f.name.to_string(),
                    rect: (MARGIN_X, l.y, WIDTH, h),
                });
                l.y += h + 4.0;
                l.centred(&f.caption, 9.0, false, GREY);
                l.y += 4.0;
            }
        }
    }
    (l.pages, anchors)
}

fn fill(colour: Colour) -> Fill {
    Fill {
        paint: rgb::Color::new(colour.0, colour.1, colour.2).into(),
        ..Fill::default()
    }
}

/// Renders the blocks into a PDF (figures read from `dir`); returns its bytes and page count.
pub fn render(title: &str, blocks: &[Block], dir: &Path) -> Result<(Vec<u8>, usize), ReportError> {
    let fonts = Fonts {
        regular: Font::new(crate::fonts::REGULAR.into(), 0).ok_or(ReportError::Font)?,
        bold: Font::new(crate::fonts::BOLD.into(), 0).ok_or(ReportError::Font)?,
    };
    let (pages, anchors) = layout(blocks);
    let count = pages.len();
    let mut images = std::collections::HashMap::new();
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(title.to_string())
            .language("zh-CN".to_string())
            .creator("fengqiao".to_string()),
    );
    for (number, ops) in pages.iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| ReportError::Pdf("page size".into()))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        for op in ops {
            draw_op(&mut surface, op, &fonts, &mut images, dir)?;
        }
        draw_page_marks(&mut surface, &fonts.regular, title, number, count);
        surface.finish();
        page.finish();
    }
    // Bookmarks: one per section.
    let mut outline = Outline::new();
    for a in &anchors {
        outline.push_child(OutlineNode::new(
            a.text.clone(),
            XyzDestination::new(a.page, Point::from_xy(MARGIN_X, a.y)),
        ));
    }
    document.set_outline(outline);
    let bytes = document.finish().map_err(|e| ReportError::Pdf(format!("{e:?}")))?;
    Ok((bytes, count))
}

/// The briefing's two faces.
struct Fonts {
    regular: Font,
    bold: Font,
}

/// Draws one laid-out operation; figures are read from `dir` once each.
fn draw_op(
    surface: &mut krilla::surface::Surface<'_>,
    op: &Op,
    fonts: &Fonts,
    images: &mut std::collections::HashMap<String, Image>,
    dir: &Path,
) -> Result<(), ReportError> {
    let (regular, bold) = (&fonts.regular, &fonts.bold);
    match op {
        Op::Text {
            x,
            baseline,
            size,
            bold: is_bold,
            colour,
            text,
        } => {
            surface.set_fill(Some(fill(*colour)));
            let font = if *is_bold { bold.clone() } else { regular.clone() };
            surface.draw_text(
                Point::from_xy(*x, *baseline),
                font,
                *size,
                text,
                false,
                TextDirection::Auto,
            );
        }
        Op::Fill { rect, colour } => {
            let mut pb = PathBuilder::new();
            if let Some(r) = Rect::from_xywh(rect.0, rect.1, rect.2, rect.3) {
                pb.push_rect(r);
            }
            if let Some(path) = pb.finish() {
                surface.set_fill(Some(fill(*colour)));
                surface.set_stroke(None);
                surface.draw_path(&path);
            }
        }
        Op::Line {
            from,
            to,
            width,
            colour,
        } => {
            let mut pb = PathBuilder::new();
            pb.move_to(from.0, from.1);
            pb.line_to(to.0, to.1);
            if let Some(path) = pb.finish() {
                surface.set_fill(None);
                surface.set_stroke(Some(Stroke {
                    paint: rgb::Color::new(colour.0, colour.1, colour.2).into(),
                    width: *width,
                    ..Stroke::default()
                }));
                surface.draw_path(&path);
                surface.set_stroke(None);
            }
        }
        Op::Image { file, rect } => {
            if !images.contains_key(file) {
                let path = dir.join(file);
                let bytes = std::fs::read(&path).map_err(crate::io_error(&path))?;
                let image =
                    Image::from_png(bytes.into(), true).map_err(|e| ReportError::Pdf(format!("{file}: {e}")))?;
                images.insert(file.clone(), image);
            }
            let size = Size::from_wh(rect.2, rect.3).ok_or_else(|| ReportError::Pdf("image size".into()))?;
            surface.push_transform(&Transform::from_translate(rect.0, rect.1));
            surface.draw_image(images[file].clone(), size);
            surface.pop();
        }
    }
    Ok(())
}

/// Running head (from page 2), the classification mark and the page number.
fn draw_page_marks(
    surface: &mut krilla::surface::Surface<'_>,
    regular: &Font,
    title: &str,
    number: usize,
    count: usize,
) {
    surface.set_fill(Some(fill(GREY)));
    if number > 0 {
        surface.draw_text(
            Point::from_xy(MARGIN_X, 40.0),
            regular.clone(),
            8.0,
            title,
            false,
            TextDirection::Auto,
        );
    }
    let mark = "内部资料 注意保密";
    surface.draw_text(
        Point::from_xy(MARGIN_X + WIDTH - text_width(mark, 8.0, false), 40.0),
        regular.clone(),
        8.0,
        mark,
        false,
        TextDirection::Auto,
    );
    let footer = format!("— {} / {} —", number + 1, count);
    surface.draw_text(
        Point::from_xy((PAGE_W - text_width(&footer, 9.0, false)) / 2.0, PAGE_H - 30.0),
        regular.clone(),
        9.0,
        &footer,
        false,
        TextDirection::Auto,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_tables_continue_on_new_pages_with_their_header_and_headings_are_bookmarked() {
        let table = Table {
            header: vec!["序号".into(), "地点".into()],
            widths: vec![1.0, 4.0],
            rows: (0..120).map(|i| vec![i.to_string(), "北湖区".repeat(3)]).collect(),
        };
        let (pages, anchors) = layout(&[
            Block::Heading("四、类案".into()),
            Block::Table(table),
            Block::Heading("五、预警提示".into()),
        ]);
        assert_eq!(anchors.len(), 2, "a bookmark per heading");
        assert_eq!((anchors[0].page, anchors[1].page), (0, pages.len() - 1));
        for a in &anchors {
            let on_page = pages[a.page].iter().any(
                |op| matches!(op, Op::Text { text, bold: true, baseline, .. } if *text == a.text && *baseline > a.y),
            );
            assert!(on_page, "{} is drawn just below its bookmark", a.text);
        }
        assert!(pages.len() >= 3, "{} pages", pages.len());
        for page in &pages {
            let header = page
                .iter()
                .filter(|op| matches!(op, Op::Text { text, bold: true, .. } if text == "序号"))
                .count();
            let rows = page
                .iter()
                .filter(|op| matches!(op, Op::Text { bold: false, .. }))
                .count();
            if rows > 0 {
                assert_eq!(header, 1, "each page of the table repeats its header once");
            }
            for op in page {
                if let Op::Text { baseline, .. } = op {
                    assert!(
                        *baseline <= BOTTOM + 1.0 && *baseline >= TOP,
                        "inside the margins: {baseline}"
                    );
                }
            }
        }
    }
}
