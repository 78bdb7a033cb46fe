//! The embedded CJK font and the few metrics the poster layout needs.
//!
//! The font is `assets/fonts/NotoSansSC-subset.otf`: Noto Sans CJK SC Bold
//! (SIL OFL 1.1) cut down to GB2312, ASCII and common CJK punctuation; see
//! `assets/fonts/README.md`. It is compiled into the binary with
//! `include_bytes!` and parsed once, on first use. A parse failure is
//! reported as [`PosterError::Font`] every time the font is asked for; it
//! never panics.
//!
//! Sizes in this module are given as an *em size* in pixels: the side of
//! the square a CJK ideograph is designed in. `ab_glyph`'s [`PxScale`] is
//! instead the pixel height of the whole ascent-to-descent span, which for
//! Noto Sans CJK is 1.448 em, so [`px_scale`] converts between the two.

use std::sync::LazyLock;

use ab_glyph::{Font, FontRef, InvalidFont, PxScale};

use super::PosterError;

/// The raw bytes of the embedded font file (OpenType/CFF).
pub(crate) const FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/NotoSansSC-subset.otf");

/// The parsed font, or the parse error, built on first use.
static FONT: LazyLock<Result<FontRef<'static>, InvalidFont>> =
    LazyLock::new(|| FontRef::try_from_slice(FONT_BYTES));

/// Distance from the baseline up to the top of the ideographic em box, in
/// em (the OS/2 typo ascender of Noto Sans CJK: 880 of 1000 units).
pub(crate) const EM_BOX_TOP: f32 = 0.88;

/// Distance from the baseline down to the bottom of the ideographic em box,
/// in em (the OS/2 typo descender of Noto Sans CJK: 120 of 1000 units).
pub(crate) const EM_BOX_BOTTOM: f32 = 0.12;

/// The embedded font.
///
/// # Errors
/// [`PosterError::Font`] when the embedded bytes are not a font `ab_glyph` can
/// parse (a broken build, never a runtime condition).
pub(crate) fn font() -> Result<&'static FontRef<'static>, PosterError> {
    FONT.as_ref().map_err(|e| PosterError::Font(*e))
}

/// Font design units per em (1000 for Noto Sans CJK).
pub(crate) fn units_per_em(font: &FontRef<'_>) -> f32 {
    font.units_per_em().unwrap_or(1000.0)
}

/// The `ab_glyph` scale that draws ideographs `em_px` pixels tall.
pub(crate) fn px_scale(font: &FontRef<'_>, em_px: f32) -> PxScale {
    PxScale::from(em_px * font.height_unscaled() / units_per_em(font))
}

/// The distance in pixels, at em size `em_px`, from the `y` that imageproc's
/// `draw_text_mut` is given down to the baseline it draws on (the font's
/// ascent).
pub(crate) fn ascent_px(font: &FontRef<'_>, em_px: f32) -> f32 {
    font.ascent_unscaled() * em_px / units_per_em(font)
}

/// Horizontal advance of `c` in font design units (0 for a missing glyph).
pub(crate) fn advance_units(font: &FontRef<'_>, c: char) -> f32 {
    font.h_advance_unscaled(font.glyph_id(c))
}

/// Whether the font has a real glyph (not `.notdef`) for `c`.
pub(crate) fn has_glyph(font: &FontRef<'_>, c: char) -> bool {
    font.glyph_id(c).0 != 0
}
