//! Assets: files compiled into the binary that more than one crate uses, one copy each.
//!
//! Inputs: `data/fonts/` at build time (fetched by `scripts/vendor-fonts.sh`). Outputs: [`fonts`],
//! the bytes of Noto Sans SC Regular and Bold and their licence — the pages' fallback CJK font
//! (served by `fengqiao-web`) and the briefings' font (drawn and embedded by `fengqiao-report`).

/// Noto Sans SC Regular and Bold (SIL Open Font License 1.1, [`fonts::LICENCE`]).
pub mod fonts {
    pub static REGULAR: &[u8] = include_bytes!("../../data/fonts/NotoSansSC-Regular.ttf");
    pub static BOLD: &[u8] = include_bytes!("../../data/fonts/NotoSansSC-Bold.ttf");
    /// The fonts' licence (`OFL.txt`), served beside them.
    pub static LICENCE: &[u8] = include_bytes!("../../data/fonts/OFL.txt");
}

#[cfg(test)]
mod tests {
    use super::fonts;

    #[test]
    fn the_fonts_are_truetype_and_the_licence_is_the_ofl() {
        for font in [fonts::REGULAR, fonts::BOLD] {
            assert!(font.len() > 1 << 20, "a full CJK font, not a pointer file");
            assert_eq!(&font[..4], &[0, 1, 0, 0], "a TrueType outline font");
        }
        let licence = std::str::from_utf8(fonts::LICENCE).unwrap();
        assert!(licence.contains("SIL OPEN FONT LICENSE"));
    }
}
