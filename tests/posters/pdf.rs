//! The PDF poster, checked with poppler as a print shop's RIP would read it.

use checkin::posters::{render_pdf, render_pdf_with_progress, render_png, PosterError, PosterSpec};

use crate::helpers::{code, decode_all, poppler, spec, write_pdf};

/// Rasterises page 1 of `pdf` at 150 dpi with `pdftoppm` (greyscale).
fn rasterise_first_page(pdf: &[u8]) -> image::GrayImage {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_pdf(dir.path(), "poster.pdf", pdf);
    let out = dir.path().join("page");
    let out = out.to_str().expect("temporary paths are UTF-8");
    let first_page_only = ["-f", "1", "-l", "1", "-singlefile"];
    poppler(
        "pdftoppm",
        &[&["-r", "150", "-png"], &first_page_only[..], &[&path, out]].concat(),
    );
    image::open(dir.path().join("page.png"))
        .expect("pdftoppm wrote a PNG")
        .to_luma8()
}

/// Twelve posters for different gates of different venues.
fn gates<'a>(code: &'a str, names: &'a [(String, String)]) -> Vec<PosterSpec<'a>> {
    names
        .iter()
        .map(|(venue, gate)| PosterSpec {
            venue_name: venue,
            gate,
            ..spec(code)
        })
        .collect()
}

fn twelve_names() -> Vec<(String, String)> {
    let venues = ["瑞祥小区", "和平里三区", "金台路菜市场"];
    let gates = ["北门", "南门", "东门", "西门"];
    venues
        .iter()
        .flat_map(|v| gates.iter().map(move |g| (v.to_string(), g.to_string())))
        .collect()
}

#[test]
fn a_pdf_poster_decodes_to_the_exact_code_after_rasterising() {
    let code = code();
    let pdf = render_pdf(&[spec(&code)]).expect("renders");
    assert!(pdf.starts_with(b"%PDF-"));
    let page = rasterise_first_page(&pdf);
    assert_eq!(decode_all(page), vec![code]);
}

#[test]
fn the_pdf_page_is_the_png_poster_scaled_to_a4() {
    let code = code();
    let pdf = render_pdf(&[spec(&code)]).expect("renders");
    let page = rasterise_first_page(&pdf);
    // 595.28 pt at 150 dpi is 1240.2 px, which pdftoppm rounds up.
    let (width, height) = page.dimensions();
    assert!((1240..=1241).contains(&width) && (1754..=1755).contains(&height));
    let png = render_png(&spec(&code)).expect("renders");
    let png = image::load_from_memory(&png).expect("PNG").to_luma8();
    // The two rasterisers place glyphs up to a pixel apart (poppler snaps
    // glyph origins to whole pixels) and anti-alias edges differently: a PNG
    // pixel matches if a PDF pixel within one pixel of it is of the same
    // colour (black or white, 128 apart at most).
    let matches = |x: u32, y: u32, v: u8| {
        (x.saturating_sub(1)..=x + 1).any(|px| {
            (y.saturating_sub(1)..=y + 1).any(|py| {
                page.get_pixel_checked(px, py)
                    .is_some_and(|q| q.0[0].abs_diff(v) <= 128)
            })
        })
    };
    let differing = png
        .enumerate_pixels()
        .filter(|(x, y, p)| !matches(*x, *y, p.0[0]))
        .count();
    assert!(differing < 50, "{differing} pixels differ from the PNG");
}

#[test]
fn the_pdf_embeds_its_font() {
    let code = code();
    let names = twelve_names();
    let pdf = render_pdf(&gates(&code, &names[..3])).expect("renders");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_pdf(dir.path(), "posters.pdf", &pdf);
    let listing = poppler("pdffonts", &[&path]);
    let mut lines = listing.lines();
    let header = lines.next().expect("pdffonts prints a header");
    let emb = header.find("emb").expect("an emb column");
    let fonts: Vec<&str> = lines.skip(1).filter(|l| !l.trim().is_empty()).collect();
    // One font for the whole document, not one per page.
    assert_eq!(fonts.len(), 1, "{listing}");
    let row = fonts[0];
    assert_eq!(
        row.get(emb..emb + 3),
        Some("yes"),
        "not embedded:\n{listing}"
    );
    assert!(row.contains("NotoSans"), "{listing}");
}

#[test]
fn a_batch_pdf_has_one_page_per_poster() {
    let code = code();
    let names = twelve_names();
    let specs = gates(&code, &names);
    let mut seen = Vec::new();
    let pdf = render_pdf_with_progress(&specs, &mut |done, total| seen.push((done, total)))
        .expect("renders");
    assert_eq!(seen, (1..=12).map(|d| (d, 12)).collect::<Vec<_>>());
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_pdf(dir.path(), "posters.pdf", &pdf);
    let info = poppler("pdfinfo", &[&path]);
    assert!(
        info.lines()
            .any(|l| l.split_whitespace().eq(["Pages:", "12"])),
        "{info}"
    );
    assert!(info.contains("595.28 x 841.89 pts (A4)"), "{info}");
}

#[test]
fn the_pdf_text_is_real_text_that_can_be_searched() {
    let code = code();
    let names = twelve_names();
    let pdf = render_pdf(&gates(&code, &names[4..6])).expect("renders");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_pdf(dir.path(), "posters.pdf", &pdf);
    let text = poppler("pdftotext", &["-layout", &path, "-"]);
    for expected in [
        "和平里三区",
        "北门",
        "南门",
        "GC-C001·北门·v1",
        "瑞祥社区居民委员会",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} not found in:\n{text}"
        );
    }
}

#[test]
fn an_empty_batch_is_an_error() {
    assert!(matches!(render_pdf(&[]), Err(PosterError::NoPosters)));
}

#[test]
fn a_failing_poster_in_a_batch_can_be_found_from_the_progress() {
    let code = code();
    let mut specs = vec![spec(&code); 5];
    specs[2].gate = "㐀门";
    let mut last_done = 0;
    let result = render_pdf_with_progress(&specs, &mut |done, _| last_done = done);
    assert!(
        matches!(result, Err(PosterError::MissingGlyphs { .. })),
        "{result:?}"
    );
    assert_eq!(last_done, 2, "specs[2] is the failing one");
}
