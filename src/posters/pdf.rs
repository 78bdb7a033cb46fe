//! Writing laid-out posters as the pages of one PDF document, with `krilla`.
//!
//! Each page is portrait A4 ([`PAGE_WIDTH_PT`] x [`PAGE_HEIGHT_PT`] points)
//! and shows one [`Plan`] in the layout's own pixel coordinates, scaled by
//! 72/150 (1 px = 0.48 pt, the PNG's 150 dpi) and centred on the page (the
//! layout is 595.20 x 841.92 pt: 0.04 pt of white margin is added left and
//! right, 0.015 pt of white margin cut top and bottom), so the PDF, the PNG
//! and the SVG are the same poster.
//!
//! - Text is real PDF text in the embedded Noto Sans SC subset: each line
//!   is drawn as the font's glyphs with the font's own advances (the same
//!   positions `ab_glyph` gives the PNG), and carries its characters, so it
//!   can be searched and copied. `krilla` embeds the font once per document
//!   as a subset of the glyphs used on all pages together (a CFF CID font).
//! - The QR code is vector: one path of module-aligned rectangles (the dark
//!   runs of each row), quiet zone left white, filled black.
//! - The cut frame and the footer rule are grey filled rectangles.
//!
//! Content streams are compressed; greys are DeviceGray.

use ab_glyph::{Font as _, FontRef};
use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect, Transform};
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use krilla::{Data, Document};
use qrcode::Color;

use super::font::{units_per_em, FONT_BYTES};
use super::layout::{Plan, QrPlacement, TextLine, DPI, PAGE_HEIGHT, PAGE_WIDTH};
use super::PosterError;

/// Width of an A4 page, in PDF points (1/72 inch).
pub(crate) const PAGE_WIDTH_PT: f32 = 595.28;
/// Height of an A4 page, in PDF points (1/72 inch).
pub(crate) const PAGE_HEIGHT_PT: f32 = 841.89;
/// Points per layout pixel: 72/150, so a page prints at the same size as
/// the PNG at its 150 dpi.
const PT_PER_PX: f32 = 72.0 / DPI as f32;

/// A PDF document being filled with poster pages.
pub(crate) struct PdfPosters {
    document: Document,
    font: Font,
    pages: usize,
}

impl PdfPosters {
    /// Starts an empty document using the embedded poster font.
    ///
    /// # Errors
    /// [`PosterError::Pdf`] when `krilla` cannot read the embedded font (a
    /// broken build, not a runtime condition).
    pub(crate) fn new() -> Result<Self, PosterError> {
        let font = Font::new(Data::from(FONT_BYTES), 0)
            .ok_or_else(|| PosterError::Pdf("the PDF writer cannot read the font".to_owned()))?;
        Ok(PdfPosters {
            document: Document::new(),
            font,
            pages: 0,
        })
    }

    /// Appends one A4 page showing `plan`; `font` is the same embedded font,
    /// parsed by `ab_glyph`, that the layout was measured with.
    ///
    /// # Errors
    /// [`PosterError::Pdf`] if the page size is rejected (never for A4).
    pub(crate) fn add_page(&mut self, plan: &Plan, font: &FontRef<'_>) -> Result<(), PosterError> {
        let settings = PageSettings::from_wh(PAGE_WIDTH_PT, PAGE_HEIGHT_PT)
            .ok_or_else(|| PosterError::Pdf("invalid page size".to_owned()))?;
        let mut page = self.document.start_page_with(settings);
        let mut surface = page.surface();
        surface.push_transform(&page_transform());
        for rule in &plan.rules {
            if let Some(rect) =
                Rect::from_xywh(rule.x as f32, rule.y as f32, rule.w as f32, rule.h as f32)
            {
                let mut path = PathBuilder::new();
                path.push_rect(rect);
                if let Some(path) = path.finish() {
                    surface.set_fill(Some(grey(rule.shade)));
                    surface.draw_path(&path);
                }
            }
        }
        draw_qr(&mut surface, &plan.qr);
        for line in &plan.texts {
            draw_line(&mut surface, &self.font, font, line);
        }
        surface.pop();
        surface.finish();
        page.finish();
        self.pages += 1;
        Ok(())
    }

    /// Writes the document out: the font subset, then every page.
    ///
    /// # Errors
    /// [`PosterError::NoPosters`] when no page was added, and
    /// [`PosterError::Pdf`] when `krilla` fails (e.g. cannot subset the
    /// font).
    pub(crate) fn finish(self) -> Result<Vec<u8>, PosterError> {
        if self.pages == 0 {
            return Err(PosterError::NoPosters);
        }
        self.document
            .finish()
            .map_err(|e| PosterError::Pdf(e.to_string()))
    }
}

/// Maps layout pixels to page points: [`PT_PER_PX`] both ways, the layout
/// centred on the page.
fn page_transform() -> Transform {
    let dx = (PAGE_WIDTH_PT - PAGE_WIDTH as f32 * PT_PER_PX) / 2.0;
    let dy = (PAGE_HEIGHT_PT - PAGE_HEIGHT as f32 * PT_PER_PX) / 2.0;
    Transform::from_row(PT_PER_PX, 0.0, 0.0, PT_PER_PX, dx, dy)
}

/// A solid grey fill (DeviceGray; 0 black, 255 white).
fn grey(shade: u8) -> Fill {
    Fill {
        paint: luma::Color::new(shade).into(),
        ..Fill::default()
    }
}

/// The dark modules as one black path, one rectangle per horizontal run.
fn draw_qr(surface: &mut Surface<'_>, qr: &QrPlacement) {
    let width = qr.code.width().max(1);
    let colors = qr.code.to_colors();
    let m = qr.module_px as f32;
    let origin_x = (qr.x + QrPlacement::QUIET_ZONE * qr.module_px) as f32;
    let origin_y = (qr.y + QrPlacement::QUIET_ZONE * qr.module_px) as f32;
    let mut path = PathBuilder::new();
    for (row, modules) in colors.chunks(width).enumerate() {
        let mut col = 0;
        while col < modules.len() {
            if modules[col] != Color::Dark {
                col += 1;
                continue;
            }
            let start = col;
            while col < modules.len() && modules[col] == Color::Dark {
                col += 1;
            }
            if let Some(rect) = Rect::from_xywh(
                origin_x + start as f32 * m,
                origin_y + row as f32 * m,
                (col - start) as f32 * m,
                m,
            ) {
                path.push_rect(rect);
            }
        }
    }
    if let Some(path) = path.finish() {
        surface.set_fill(Some(grey(0)));
        surface.draw_path(&path);
    }
}

/// Draws one line as text: every character (spaces included) as its glyph
/// with the font's own advance, starting at the line's left edge on its
/// baseline.
fn draw_line(surface: &mut Surface<'_>, pdf_font: &Font, font: &FontRef<'_>, line: &TextLine) {
    let upem = units_per_em(font);
    let glyphs: Vec<KrillaGlyph> = line
        .text
        .char_indices()
        .map(|(at, c)| {
            let id = font.glyph_id(c);
            KrillaGlyph::new(
                GlyphId::new(u32::from(id.0)),
                font.h_advance_unscaled(id) / upem,
                0.0,
                0.0,
                0.0,
                at..at + c.len_utf8(),
                None,
            )
        })
        .collect();
    surface.set_fill(Some(grey(line.shade)));
    surface.draw_glyphs(
        Point::from_xy(line.x, line.baseline),
        &glyphs,
        pdf_font.clone(),
        &line.text,
        line.em,
        false,
    );
}
