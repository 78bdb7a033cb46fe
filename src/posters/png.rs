//! Drawing a laid-out poster into an 8-bit greyscale image and encoding it
//! as PNG.
//!
//! The PNG carries a `pHYs` chunk saying 150 dpi, so printing it "at actual
//! size" fills an A4 page; image 0.25's encoder cannot write that chunk, so
//! it is spliced in after `IHDR` here.

use ab_glyph::FontRef;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, GrayImage, ImageEncoder, Luma};
use imageproc::drawing::draw_text_mut;

use super::font::{ascent_px, px_scale};
use super::layout::{Plan, DPI, PAGE_HEIGHT, PAGE_WIDTH};
use super::PosterError;

/// Draws `plan` on a white [`PAGE_WIDTH`] x [`PAGE_HEIGHT`] page.
pub(crate) fn rasterize(plan: &Plan, font: &FontRef<'_>) -> GrayImage {
    let mut page = GrayImage::from_pixel(PAGE_WIDTH, PAGE_HEIGHT, Luma([255]));

    for rule in &plan.rules {
        let x_end = (rule.x + rule.w).min(PAGE_WIDTH);
        let y_end = (rule.y + rule.h).min(PAGE_HEIGHT);
        for y in rule.y..y_end {
            for x in rule.x..x_end {
                page.put_pixel(x, y, Luma([rule.shade]));
            }
        }
    }

    let qr = &plan.qr;
    let qr_image = qr
        .code
        .render::<Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(qr.module_px, qr.module_px)
        .build();
    image::imageops::replace(&mut page, &qr_image, i64::from(qr.x), i64::from(qr.y));

    for line in &plan.texts {
        let top = (line.baseline - ascent_px(font, line.em)).round() as i32;
        draw_text_mut(
            &mut page,
            Luma([line.shade]),
            line.x.round() as i32,
            top,
            px_scale(font, line.em),
            font,
            &line.text,
        );
    }
    page
}

/// Encodes `page` as a greyscale PNG tagged as [`DPI`] dots per inch.
///
/// # Errors
/// [`PosterError::Encode`] if the PNG encoder fails.
pub(crate) fn encode(page: &GrayImage) -> Result<Vec<u8>, PosterError> {
    let mut png = Vec::new();
    PngEncoder::new_with_quality(&mut png, CompressionType::Default, FilterType::Adaptive)
        .write_image(
            page.as_raw(),
            page.width(),
            page.height(),
            ExtendedColorType::L8,
        )?;
    Ok(with_phys(png, DPI))
}

/// Returns `png` with a `pHYs` chunk (`dpi` in pixels per metre) inserted
/// right after `IHDR`; returns it unchanged if it does not start with the
/// PNG signature and an `IHDR` chunk.
fn with_phys(png: Vec<u8>, dpi: u32) -> Vec<u8> {
    // 8-byte signature, then IHDR: length(4) type(4) data(13) crc(4).
    const IHDR_END: usize = 8 + 4 + 4 + 13 + 4;
    if png.len() < IHDR_END || png.get(12..16) != Some(b"IHDR".as_slice()) {
        return png;
    }
    let ppm = (f64::from(dpi) / 0.0254).round() as u32;
    let mut chunk = Vec::with_capacity(21);
    chunk.extend_from_slice(&9u32.to_be_bytes());
    chunk.extend_from_slice(b"pHYs");
    chunk.extend_from_slice(&ppm.to_be_bytes());
    chunk.extend_from_slice(&ppm.to_be_bytes());
    chunk.push(1); // unit: metre
    let crc = crc32(&chunk[4..]);
    chunk.extend_from_slice(&crc.to_be_bytes());

    let mut out = Vec::with_capacity(png.len() + chunk.len());
    out.extend_from_slice(&png[..IHDR_END]);
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&png[IHDR_END..]);
    out
}

/// CRC-32 (ISO 3309, as PNG uses) of `bytes`.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_png_specification_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }
}
