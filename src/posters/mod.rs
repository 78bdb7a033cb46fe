//! Printable QR check-in posters.
//!
//! [`render_png`] draws one poster for one gate of a venue: a portrait A4
//! page at 150 dpi (1240 x 1754 px, 8-bit greyscale PNG tagged 150 dpi,
//! white background) showing, from top to bottom, the venue name in large
//! type (shrunk or wrapped onto more lines when long, never clipped), the
//! gate, the QR code with its 4-module quiet zone, the human-readable code
//! id, the instruction line and, in small type at the bottom, the community
//! and the address. [`render_svg`] lays out the same page as a standalone
//! SVG with the text as vector outlines, for printing at any size, and
//! [`render_pdf`] puts any number of posters into one A4 PDF, a page each,
//! with real (embedded, subset) text and a vector QR code, for batch
//! printing.
//!
//! The QR code encodes [`PosterSpec::code`] byte for byte at error
//! correction level Q (25 % of the symbol may be damaged), falling back to
//! level M only when Q would make the modules narrower than 6 px
//! (1 mm) and M makes them wider.
//!
//! Text is set in an embedded subset of Noto Sans CJK SC Bold covering
//! GB2312 (6,763 hanzi and its symbols), ASCII and common CJK punctuation
//! (see `assets/fonts/README.md`). A character outside it is never drawn
//! as a box: rendering fails with [`PosterError::MissingGlyphs`], and
//! [`missing_glyphs`] lets callers check names up front (for example when
//! a venue is created).

mod font;
mod layout;
mod pdf;
mod png;
mod svg;

use ab_glyph::FontRef;

/// What a poster shows.
///
/// Every text field may mix Chinese, Latin letters, digits and punctuation;
/// runs of whitespace are drawn as one space and leading/trailing whitespace
/// is dropped. Empty fields (and `None`) are left out of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PosterSpec<'a> {
    /// Venue name, e.g. "瑞祥小区", set largest at the top. Set on one line
    /// at 124 down to 88 px em size, else on two lines (96 to 56 px), else
    /// three (60 to 40 px).
    pub venue_name: &'a str,
    /// Gate, e.g. "北门", under the venue name.
    pub gate: &'a str,
    /// Instruction under the QR code, e.g. "扫码进入 / 扫码离开 · 手机相机扫码也可以".
    pub instruction: &'a str,
    /// Community (residents' committee) the venue belongs to, in small type
    /// at the bottom.
    pub community: Option<&'a str>,
    /// Postal address, in small type at the very bottom.
    pub address: Option<&'a str>,
    /// The exact text the QR code encodes (typically a check-in URL of about
    /// 200 characters). Encoded as bytes; it is not drawn as text, so it is
    /// not checked against the font.
    pub code: &'a str,
    /// Short human-readable id printed under the QR code, e.g. "GC-C001·北门·v1".
    pub code_id: &'a str,
}

/// Why a poster could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PosterError {
    /// `text` (one field of the [`PosterSpec`], the first one in page order
    /// that has any) contains characters the embedded font has no glyph for;
    /// `missing` lists each of them once, in order of first appearance.
    #[error("the poster font has no glyph for {missing:?} (in {text:?})")]
    MissingGlyphs {
        /// The field text containing the characters.
        text: String,
        /// The missing characters, each once.
        missing: String,
    },
    /// A text field is too long to be set in its area even at its smallest
    /// size and largest number of lines (e.g. the venue name beyond about 80
    /// CJK characters).
    #[error("the {field} text is too long to fit on the poster: {text:?}")]
    TextTooLong {
        /// Name of the [`PosterSpec`] field, e.g. `"venue_name"`.
        field: &'static str,
        /// Its text.
        text: String,
    },
    /// [`PosterSpec::code`] cannot be encoded as a QR code at all (longer
    /// than a version 40 symbol holds at level M, about 2,300 bytes).
    #[error("the code cannot be encoded as a QR code: {0}")]
    Qr(#[from] qrcode::types::QrError),
    /// [`PosterSpec::code`] encodes, but into so many modules that, in the
    /// room the text leaves, they would be narrower than 4 px (0.68 mm), too
    /// small to scan reliably from print. Only a code of well over a thousand
    /// bytes together with text filling much of the page gets here.
    #[error("the code ({len} bytes, {modules}x{modules} modules) is too long to print legibly")]
    CodeTooLong {
        /// Length of the code in bytes.
        len: usize,
        /// Modules across the symbol, quiet zone excluded.
        modules: u32,
    },
    /// [`render_pdf`] was given no posters (a PDF needs at least one page).
    #[error("no posters to put in the PDF")]
    NoPosters,
    /// The PDF writer failed; the text is its message. Not expected with
    /// the embedded font (it would mean a broken build).
    #[error("PDF writing failed: {0}")]
    Pdf(String),
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    Encode(#[from] image::ImageError),
    /// The embedded font could not be parsed (a broken build, not a runtime
    /// condition).
    #[error("the embedded poster font could not be loaded: {0}")]
    Font(#[source] ab_glyph::InvalidFont),
}

/// Renders the poster as PNG bytes.
///
/// The image is 1240 x 1754 px (portrait A4 at 150 dpi; the PNG's `pHYs`
/// chunk says 150 dpi so it prints at A4 size), 8-bit greyscale, white
/// background, typically 40 to 80 kB. The QR code is drawn with a whole
/// number of pixels per module (12 px, i.e. 2 mm, for a 200-character URL)
/// and is as large as the text leaves room for, up to 940 px including its
/// quiet zone. CPU-bound: about 15-25 ms in a release build, about 300 ms in
/// a debug build (call it off the async executor, e.g. in
/// `actix_web::web::block`); the font is parsed once, on first use.
///
/// # Errors
/// - [`PosterError::MissingGlyphs`] when a drawn field has characters the
///   font lacks (checked before anything is drawn);
/// - [`PosterError::TextTooLong`] when a field cannot be set without
///   clipping;
/// - [`PosterError::Qr`] or [`PosterError::CodeTooLong`] when the code cannot
///   be encoded, or not legibly;
/// - [`PosterError::Encode`] or [`PosterError::Font`] on internal failures.
pub fn render_png(spec: &PosterSpec<'_>) -> Result<Vec<u8>, PosterError> {
    let font = font::font()?;
    check_glyphs(font, spec)?;
    let plan = layout::plan(spec, font)?;
    let page = png::rasterize(&plan, font);
    png::encode(&page)
}

/// Renders the same poster as [`render_png`] as a standalone SVG document.
///
/// The page is `210mm` x `297mm` with a `0 0 1240 1754` viewBox (the PNG's
/// pixels); text is drawn as glyph outlines (no fonts needed to view or
/// print it) and the QR modules as one crisp-edged path.
///
/// # Errors
/// The same as [`render_png`], except that there is no encoding step.
pub fn render_svg(spec: &PosterSpec<'_>) -> Result<String, PosterError> {
    let font = font::font()?;
    check_glyphs(font, spec)?;
    let plan = layout::plan(spec, font)?;
    Ok(svg::render(&plan, font))
}

/// Renders one poster per spec, in order, as the pages of one PDF document.
///
/// Every page is portrait A4 (595.28 x 841.89 pt) and shows exactly the
/// layout of [`render_png`], its 1240 x 1754 px scaled uniformly to the page
/// (1 px = 0.48 pt). Text is real text in the embedded font, which the PDF
/// carries once, subset to the glyphs all pages use together (so it can be
/// searched and copied, and prints sharp); the QR code is vector
/// rectangles, one per run of dark modules. About 12 kB per page (mostly
/// the QR path) plus a few kB for the font subset: 5.5 MB for 459 posters.
///
/// CPU-bound, about 5 ms per page plus the font subsetting once at the end
/// (459 pages: 2.6 s in a debug build with optimised dependencies): call it
/// off the async executor. The whole document is built in memory.
///
/// # Errors
/// - [`PosterError::NoPosters`] when `specs` is empty;
/// - for the first spec that cannot be laid out, the same errors as
///   [`render_png`] ([`PosterError::MissingGlyphs`],
///   [`PosterError::TextTooLong`], [`PosterError::Qr`],
///   [`PosterError::CodeTooLong`]); use [`render_pdf_with_progress`] to
///   learn which spec it was;
/// - [`PosterError::Pdf`] or [`PosterError::Font`] on internal failures.
pub fn render_pdf(specs: &[PosterSpec<'_>]) -> Result<Vec<u8>, PosterError> {
    render_pdf_with_progress(specs, &mut |_, _| {})
}

/// [`render_pdf`], calling `on_page(done, total)` after each page is laid
/// out and drawn, with `done` going from 1 to `total` (= `specs.len()`),
/// e.g. to drive a progress bar.
///
/// The call with `done == total` comes before the last step, writing the
/// document out (font subsetting and compression: for 459 pages, about
/// 60 ms in a debug build with optimised dependencies). When rendering
/// fails on a spec, `on_page` has been called for exactly the specs before
/// it, so the failing one is `specs[d]` where `d` is the last `done` seen
/// (0 if none).
///
/// # Errors
/// The same as [`render_pdf`].
pub fn render_pdf_with_progress(
    specs: &[PosterSpec<'_>],
    on_page: &mut dyn FnMut(usize, usize),
) -> Result<Vec<u8>, PosterError> {
    if specs.is_empty() {
        return Err(PosterError::NoPosters);
    }
    let font = font::font()?;
    let mut document = pdf::PdfPosters::new()?;
    for (index, spec) in specs.iter().enumerate() {
        check_glyphs(font, spec)?;
        let plan = layout::plan(spec, font)?;
        document.add_page(&plan, font)?;
        on_page(index + 1, specs.len());
    }
    document.finish()
}

/// Characters of `text` the embedded font has no glyph for, each once, in
/// order of first appearance; empty when all of `text` can be drawn.
///
/// Whitespace is never reported (it is drawn as a plain space). If the
/// embedded font could not be loaded at all, every other character is
/// reported.
#[must_use]
pub fn missing_glyphs(text: &str) -> String {
    match font::font() {
        Ok(font) => missing_in(font, text),
        Err(_) => {
            let mut out = String::new();
            for c in text.chars().filter(|c| !c.is_whitespace()) {
                if !out.contains(c) {
                    out.push(c);
                }
            }
            out
        }
    }
}

fn missing_in(font: &FontRef<'_>, text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if !c.is_whitespace() && !font::has_glyph(font, c) && !out.contains(c) {
            out.push(c);
        }
    }
    out
}

/// Fails on the first drawn field, in page order, that has missing glyphs.
fn check_glyphs(font: &FontRef<'_>, spec: &PosterSpec<'_>) -> Result<(), PosterError> {
    let fields = [
        Some(spec.venue_name),
        Some(spec.gate),
        Some(spec.code_id),
        Some(spec.instruction),
        spec.community,
        spec.address,
    ];
    for text in fields.into_iter().flatten() {
        let missing = missing_in(font, text);
        if !missing.is_empty() {
            return Err(PosterError::MissingGlyphs {
                text: text.to_owned(),
                missing,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A realistic check-in URL: a compact JWS of 193 characters.
    fn code() -> String {
        format!(
            "http://127.0.0.1:8080/s/{}.{}.{}",
            "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0",
            "eyJ2IjoiR0MtQzAwMSIsImciOiLljJfpl6giLCJuIjoxfQ",
            "CzBVep_E6Q4zWH2ix-wRNluApcrvFDleg6jN8hc8YYar0PUaP2SJrtP4HUJnjLHW-yBFao-02f4jSG2St9wBJg"
        )
    }

    fn spec(code: &str) -> PosterSpec<'_> {
        PosterSpec {
            venue_name: "瑞祥小区",
            gate: "北门",
            instruction: "扫码进入 / 扫码离开 · 手机相机扫码也可以",
            community: Some("瑞祥社区居民委员会"),
            address: Some("北京市朝阳区瑞祥路18号（近地铁6号线）"),
            code,
            code_id: "GC-C001·北门·v1",
        }
    }

    fn decode_all(png: &[u8]) -> Vec<String> {
        let img = image::load_from_memory(png).expect("the poster is a readable PNG");
        let mut prepared = rqrr::PreparedImage::prepare(img.to_luma8());
        prepared
            .detect_grids()
            .into_iter()
            .map(|grid| grid.decode().expect("the QR code decodes").1)
            .collect()
    }

    #[test]
    fn a_rendered_poster_decodes_back_to_its_exact_code() {
        let code = code();
        assert_eq!(code.len(), 24 + 35 + 1 + 46 + 1 + 86);
        let png = render_png(&spec(&code)).expect("renders");
        assert_eq!(decode_all(&png), vec![code]);
    }

    #[test]
    fn a_poster_is_an_a4_page_at_150_dpi_on_a_white_background() {
        let code = code();
        let png = render_png(&spec(&code)).expect("renders");
        let img = image::load_from_memory(&png).expect("PNG").to_luma8();
        assert_eq!(img.dimensions(), (1240, 1754));
        assert_eq!(img.get_pixel(5, 5).0, [255]);
        assert_eq!(img.get_pixel(1234, 1748).0, [255]);
        // pHYs: 5906 px/m (150 dpi) both ways, unit metre, right after IHDR.
        assert_eq!(&png[37..41], b"pHYs");
        assert_eq!(&png[41..50], &[0, 0, 0x17, 0x12, 0, 0, 0x17, 0x12, 1]);
    }

    #[test]
    fn the_qr_code_uses_level_q_with_a_four_module_quiet_zone_and_crisp_modules() {
        let code = code();
        let font = font::font().expect("font");
        let plan = layout::plan(&spec(&code), font).expect("lays out");
        assert_eq!(plan.qr.code.error_correction_level(), qrcode::EcLevel::Q);
        assert!(plan.qr.module_px >= 10, "module px {}", plan.qr.module_px);
        // Nothing else is drawn inside the QR image (quiet zone included).
        let (x0, y0, side) = (plan.qr.x as f32, plan.qr.y as f32, plan.qr.side() as f32);
        for line in &plan.texts {
            assert!(
                line.bottom() <= y0 || line.top() >= y0 + side,
                "{line:?} overlaps the QR code"
            );
        }
        assert!(x0 >= 0.0 && x0 + side <= 1240.0 && y0 + side <= 1754.0);
    }

    #[test]
    fn a_long_mixed_name_is_laid_out_without_error() {
        let code = code();
        let spec = PosterSpec {
            venue_name:
                "瑞祥小区东区 Building 12 号楼（北京市朝阳区 Ruixiang Garden Phase II 二期）",
            gate: "北门 North Gate 3号岗",
            instruction:
                "扫码进入 / 扫码离开 · 手机相机扫码也可以 · 请出示健康码并配合测温，谢谢合作！",
            community: Some("朝阳区瑞祥街道瑞祥社区居民委员会 Community Committee"),
            address: Some(
                "北京市朝阳区瑞祥路188号院东区12号楼1单元（近地铁6号线瑞祥站B口）邮编100020",
            ),
            ..spec(&code)
        };
        let font = font::font().expect("font");
        let plan = layout::plan(&spec, font).expect("lays out");
        assert_all_lines_fit_and_do_not_overlap(&plan);
        let title_em = plan.texts[0].em;
        let title: Vec<_> = plan.texts.iter().take_while(|t| t.em == title_em).collect();
        assert!(title.len() >= 2, "a long name wraps: {title:?}");
        assert!(
            plan.texts[title.len()].em < title_em,
            "the gate is set smaller than the name"
        );
        // Latin words are not split across lines.
        for line in &plan.texts {
            assert!(
                !line.text.ends_with("Buil") && !line.text.starts_with("ding"),
                "{line:?}"
            );
            // No line starts with closing punctuation or ends with opening.
            assert!(
                !line.text.starts_with(['·', '，', '。', '、', '）', '！']),
                "{line:?}"
            );
            assert!(!line.text.ends_with(['（', '《']), "{line:?}");
        }
        let png = render_png(&spec).expect("renders");
        assert_eq!(decode_all(&png), vec![code]);
    }

    #[test]
    fn a_short_name_stays_on_one_large_line() {
        let code = code();
        let font = font::font().expect("font");
        let plan = layout::plan(&spec(&code), font).expect("lays out");
        assert_all_lines_fit_and_do_not_overlap(&plan);
        let first = plan.texts.first().expect("title");
        assert_eq!(first.text, "瑞祥小区");
        assert!(first.em >= 120.0);
        assert_eq!(plan.texts.iter().filter(|t| t.em == first.em).count(), 1);
    }

    #[test]
    fn optional_and_empty_fields_are_left_out() {
        let code = code();
        let spec = PosterSpec {
            community: None,
            address: None,
            instruction: "  ",
            ..spec(&code)
        };
        let font = font::font().expect("font");
        let plan = layout::plan(&spec, font).expect("lays out");
        let texts: Vec<&str> = plan.texts.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["瑞祥小区", "北门", "GC-C001·北门·v1"]);
        assert_eq!(decode_all(&render_png(&spec).expect("renders")), vec![code]);
    }

    #[test]
    fn a_character_missing_from_the_font_is_reported() {
        let code = code();
        assert_eq!(missing_glyphs("瑞祥小区𠀀㐀 北门𠀀"), "𠀀㐀");
        let spec = PosterSpec {
            gate: "㐀门",
            address: Some("𠀀路1号"),
            ..spec(&code)
        };
        match render_png(&spec) {
            Err(PosterError::MissingGlyphs { text, missing }) => {
                assert_eq!(text, "㐀门");
                assert_eq!(missing, "㐀");
            }
            other => panic!("expected MissingGlyphs, got {other:?}"),
        }
        assert!(matches!(
            render_svg(&spec),
            Err(PosterError::MissingGlyphs { .. })
        ));
    }

    #[test]
    fn common_chinese_latin_and_punctuation_are_all_in_the_font() {
        let text = "瑞祥小区北门扫码进入离开手机相机也可以社区居民委员会省市区县路街道号楼单元室 \
                    ABCXYZabcxyz0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ \
                    ·、，。：；！？（）／《》“”‘’【】—…～￥";
        assert_eq!(missing_glyphs(text), "");
        assert_eq!(missing_glyphs(" \t\n\u{3000}"), "");
    }

    #[test]
    fn a_name_too_long_for_the_page_is_an_error_not_clipped() {
        let code = code();
        let name = "瑞祥".repeat(100);
        let spec = PosterSpec {
            venue_name: &name,
            ..spec(&code)
        };
        assert!(matches!(
            render_png(&spec),
            Err(PosterError::TextTooLong {
                field: "venue_name",
                ..
            })
        ));
    }

    #[test]
    fn a_code_too_long_for_any_qr_code_is_an_error() {
        let too_long = "x".repeat(5000);
        assert!(matches!(
            render_png(&spec(&too_long)),
            Err(PosterError::Qr(_))
        ));
    }

    #[test]
    fn a_longer_code_still_decodes() {
        let code = format!("{}?{}", code(), "a".repeat(300));
        let png = render_png(&spec(&code)).expect("renders");
        assert_eq!(decode_all(&png), vec![code]);
    }

    #[test]
    fn the_svg_poster_has_the_page_size_the_qr_path_and_text_outlines() {
        let code = code();
        let svg = render_svg(&spec(&code)).expect("renders");
        assert!(svg.starts_with("<?xml"));
        assert!(svg.contains(r#"width="210mm" height="297mm" viewBox="0 0 1240 1754""#));
        assert!(svg.contains("<use "));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(!svg.contains("NaN"));
    }

    /// Every line lies within the page's text area and no two lines' em
    /// boxes (or a line and the QR image) overlap.
    fn assert_all_lines_fit_and_do_not_overlap(plan: &layout::Plan) {
        for line in &plan.texts {
            assert!(
                line.x >= 99.0 && line.x + line.width <= 1141.0,
                "{line:?} runs off the text area"
            );
            assert!(
                line.top() >= 100.0 && line.bottom() <= 1754.0 - 100.0,
                "{line:?} runs off the page"
            );
        }
        let mut boxes: Vec<(f32, f32)> = plan.texts.iter().map(|t| (t.top(), t.bottom())).collect();
        boxes.push((plan.qr.y as f32, (plan.qr.y + plan.qr.side()) as f32));
        boxes.sort_by(|a, b| a.0.total_cmp(&b.0));
        for pair in boxes.windows(2) {
            assert!(
                pair[0].1 <= pair[1].0,
                "overlap between {:?} and {:?}",
                pair[0],
                pair[1]
            );
        }
    }
}
