//! The PNG poster after print-like damage: each kind alone must still
//! decode to the exact code.

use checkin::posters::render_png;
use image::imageops::{self, FilterType};
use image::{GrayImage, Luma};
use imageproc::geometric_transformations::{rotate_about_center, Border, Interpolation};

use crate::helpers::{code, decode_all, spec};

/// The poster for [`code`], as a 1240 x 1754 greyscale image.
fn poster() -> (String, GrayImage) {
    let code = code();
    let png = render_png(&spec(&code)).expect("renders");
    let image = image::load_from_memory(&png).expect("PNG").to_luma8();
    (code, image)
}

#[test]
fn a_png_poster_scaled_to_a_quarter_still_decodes() {
    let (code, image) = poster();
    let small = imageops::resize(&image, 620, 877, FilterType::Triangle);
    assert_eq!(decode_all(small), vec![code]);
}

#[test]
fn a_blurred_png_poster_still_decodes() {
    let (code, image) = poster();
    let blurred = imageops::blur(&image, 1.5);
    assert_eq!(decode_all(blurred), vec![code]);
}

#[test]
fn a_png_poster_saved_as_a_low_quality_jpeg_still_decodes() {
    let (code, image) = poster();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 30)
        .encode_image(&image)
        .expect("JPEG encodes");
    let decoded = image::load_from_memory(&jpeg)
        .expect("JPEG decodes")
        .to_luma8();
    assert_eq!(decode_all(decoded), vec![code]);
}

#[test]
fn a_png_poster_rotated_four_degrees_still_decodes() {
    let (code, image) = poster();
    let rotated = rotate_about_center(
        &image,
        4f32.to_radians(),
        Interpolation::Bilinear,
        Border::Constant(Luma([255])),
    );
    assert_eq!(decode_all(rotated), vec![code]);
}
