//! The briefings' font, compiled in: Noto Sans SC Regular and Bold (SIL Open Font License 1.1,
//! `data/fonts/OFL.txt`; fetched by `scripts/vendor-fonts.sh`; the one copy, in `fengqiao-assets`).
//! Registered with plotters under the family `sans-serif`, embedded (subset) in the PDF, and measured
//! here for the PDF's line breaks.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef};

pub use fengqiao_assets::fonts::{BOLD, REGULAR};

/// The family name the figures draw with.
pub const FAMILY: &str = "sans-serif";

/// Registers both weights with plotters (once).
pub fn register_with_plotters() -> Result<(), crate::ReportError> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        use plotters::style::{register_font, FontStyle};
        register_font(FAMILY, FontStyle::Normal, REGULAR).is_ok()
            && register_font(FAMILY, FontStyle::Bold, BOLD).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(crate::ReportError::Font)
    }
}

fn parsed(bold: bool) -> Option<&'static FontRef<'static>> {
    static FONTS: OnceLock<Option<(FontRef<'static>, FontRef<'static>)>> = OnceLock::new();
    let fonts = FONTS.get_or_init(|| {
        Some((
            FontRef::try_from_slice(REGULAR).ok()?,
            FontRef::try_from_slice(BOLD).ok()?,
        ))
    });
    fonts.as_ref().map(|(r, b)| if bold { b } else { r })
}

/// Width of `text` at `size` (points), by the glyphs' advances.
pub fn text_width(text: &str, size: f32, bold: bool) -> f32 {
    let Some(font) = parsed(bold) else {
        return text.chars().count() as f32 * size;
    };
    let em = font.units_per_em().unwrap_or(1000.0);
    text.chars()
        .map(|c| font.h_advance_unscaled(font.glyph_id(c)))
        .sum::<f32>()
        / em
        * size
}

/// Whether the font has a glyph for every character of `text` (no tofu).
pub fn covers(text: &str) -> bool {
    parsed(false).is_some_and(|font| {
        text.chars()
            .filter(|c| !c.is_whitespace())
            .all(|c| font.glyph_id(c).0 != 0)
    })
}

/// Breaks `text` into lines no wider than `width` at `size`: between any two CJK characters, at
/// spaces otherwise; explicit newlines kept.
pub fn wrap(text: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        // Tokens: a CJK character alone, or a run of other characters up to a space (kept with it).
        let mut tokens: Vec<String> = Vec::new();
        let mut word = String::new();
        for c in paragraph.chars() {
            if c > '\u{2e80}' {
                if !word.is_empty() {
                    tokens.push(std::mem::take(&mut word));
                }
                tokens.push(c.to_string());
            } else {
                word.push(c);
                if c == ' ' {
                    tokens.push(std::mem::take(&mut word));
                }
            }
        }
        if !word.is_empty() {
            tokens.push(word);
        }
        for token in tokens {
            let candidate = format!("{line}{token}");
            if !line.is_empty() && text_width(candidate.trim_end(), size, bold) > width {
                lines.push(line.trim_end().to_string());
                line = token.trim_start().to_string();
            } else {
                line = candidate;
            }
            // A single token wider than the line: cut it by characters.
            while text_width(&line, size, bold) > width && line.chars().count() > 1 {
                let mut cut = String::new();
                for c in line.chars() {
                    if text_width(&format!("{cut}{c}"), size, bold) > width && !cut.is_empty() {
                        break;
                    }
                    cut.push(c);
                }
                line = line[cut.len()..].to_string();
                lines.push(cut);
            }
        }
        lines.push(line.trim_end().to_string());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_font_covers_the_chinese_of_the_briefings() {
        assert!(covers(
            "矛盾纠纷研判预警专报 办结率 按时办结率 满意度 郴州市 北湖区 苏仙区 桂阳县"
        ));
        assert!(!covers("\u{e000}"), "a private-use character has no glyph");
        let w = text_width("办结率", 10.0, false);
        assert!((25.0..35.0).contains(&w), "three ideographs are about 3 em: {w}");
    }

    #[test]
    fn lines_break_between_ideographs_and_at_spaces_and_fit() {
        let text = "本周全市共受理矛盾纠纷和民生诉求事项一千二百件，较上周有所上升。 Hot spots in 5 counties.";
        let lines = wrap(text, 10.0, false, 120.0);
        assert!(lines.len() > 2);
        assert!(
            lines.iter().all(|l| text_width(l, 10.0, false) <= 120.0 + 0.01),
            "{lines:?}"
        );
        assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""));
        assert_eq!(wrap("a\nb", 10.0, false, 100.0), ["a", "b"]);
    }
}
